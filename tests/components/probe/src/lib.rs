//! Host conformance probe. Each route exercises one interface and answers JSON that the
//! host tests assert on; errors are reported as the SDK's error variant, not hidden.

use serde_json::{json, Value as Json};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;
use spin_sdk::pg4;
use spin_sdk::sqlite::{Connection, Value};
use spin_sdk::variables;

fn query_param(req: &Request, name: &str) -> String {
    let query = req.query();
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.replace("%2F", "/").replace("%3A", ":"))
        .unwrap_or_default()
}

fn reply(status: u16, body: Json) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

fn err(e: impl std::fmt::Debug) -> Json {
    json!({ "error": format!("{e:?}") })
}

#[http_component]
async fn probe(req: Request) -> Response {
    let path = req.path().to_string();
    let op = path.rsplit('/').next().unwrap_or("").to_string();
    let result = match (path.split('/').nth(1).unwrap_or(""), op.as_str()) {
        ("sqlite", "crud") => sqlite_crud(&query_param(&req, "db")),
        ("sqlite", "transaction") => sqlite_transaction(),
        ("sqlite", "increment") => sqlite_increment(),
        ("sqlite", "counter") => sqlite_counter(),
        ("sqlite", "abandon") => sqlite_abandon(),
        ("sqlite", "commit") => sqlite_commit(),
        ("sqlite", "fresh") => sqlite_fresh(&query_param(&req, "leave")),
        ("kv", _) => key_value(&req, &op),
        ("vars", _) => Ok(match variables::get(&query_param(&req, "name")) {
            Ok(v) => json!({ "value": v }),
            Err(e) => err(e),
        }),
        ("outbound", _) => outbound(&query_param(&req, "url")).await,
        ("pg", "abandon") => pg_abandon(&query_param(&req, "address")),
        ("pg", "commit") => pg_commit(&query_param(&req, "address")),
        ("pg", "tls") => pg_tls(&query_param(&req, "address")),
        ("pg", _) => postgres(&query_param(&req, "address")),
        ("spin-headers", _) | ("params", _) => Ok(spin_headers(&req)),
        ("spin", _) | ("busy", _) => Ok(busy_loop()),
        ("sleep", _) => Ok(sleep(query_param(&req, "ms").parse().unwrap_or(0))),
        ("body", _) => Ok(json!({ "bytes": req.body().len() })),
        ("memory", _) => Ok(memory_left_behind()),
        _ => Ok(json!({ "component": "probe", "path": path })),
    };
    match result {
        Ok(body) => reply(200, body),
        Err(e) => reply(500, json!({ "error": format!("{e:#}") })),
    }
}

fn sqlite_crud(db: &str) -> anyhow::Result<Json> {
    let label = if db.is_empty() { "default" } else { db };
    let conn = match Connection::open(label) {
        Ok(c) => c,
        Err(e) => return Ok(err(e)),
    };
    conn.execute(
        "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, data BLOB)",
        &[],
    )?;
    conn.execute("DELETE FROM items", &[])?;
    conn.execute(
        "INSERT INTO items (id, name, data) VALUES (?, ?, ?), (?, ?, ?)",
        &[
            Value::Integer(1),
            Value::Text("one".into()),
            Value::Blob(vec![1, 2]),
            Value::Integer(2),
            Value::Text("two".into()),
            Value::Null,
        ],
    )?;
    conn.execute(
        "UPDATE items SET name = ? WHERE id = ?",
        &[Value::Text("uno".into()), Value::Integer(1)],
    )?;
    conn.execute("DELETE FROM items WHERE id = ?", &[Value::Integer(2)])?;
    let rows = conn.execute("SELECT id, name, data FROM items ORDER BY id", &[])?;
    let listed: Vec<Json> = rows
        .rows()
        .map(|r| json!({ "id": r.get::<i64>("id"), "name": r.get::<&str>("name"), "data": r.get::<&[u8]>("data") }))
        .collect();
    Ok(json!({ "columns": rows.columns, "rows": listed }))
}

fn count(conn: &Connection) -> anyhow::Result<i64> {
    let rows = conn.execute("SELECT COUNT(*) AS n FROM tx_items", &[])?;
    let n = rows
        .rows()
        .next()
        .and_then(|r| r.get::<i64>("n"))
        .unwrap_or(-1);
    Ok(n)
}

fn sqlite_transaction() -> anyhow::Result<Json> {
    let conn = Connection::open_default()?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS tx_items (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)",
        &[],
    )?;
    conn.execute("DELETE FROM tx_items", &[])?;
    conn.execute("BEGIN", &[])?;
    conn.execute("INSERT INTO tx_items (v) VALUES ('a')", &[])?;
    conn.execute("INSERT INTO tx_items (v) VALUES ('b')", &[])?;
    let inside = count(&conn)?;
    conn.execute("ROLLBACK", &[])?;
    let after_rollback = count(&conn)?;
    conn.execute("BEGIN", &[])?;
    conn.execute("INSERT INTO tx_items (v) VALUES ('c')", &[])?;
    conn.execute("INSERT INTO tx_items (v) VALUES ('d')", &[])?;
    conn.execute("COMMIT", &[])?;
    let after_commit = count(&conn)?;
    Ok(json!({ "inside": inside, "after_rollback": after_rollback, "after_commit": after_commit }))
}

fn sqlite_increment() -> anyhow::Result<Json> {
    let conn = Connection::open_default()?;
    conn.execute("PRAGMA busy_timeout = 10000", &[])?;
    conn.execute("BEGIN IMMEDIATE", &[])?;
    conn.execute(
        "INSERT INTO counter (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1",
        &[],
    )?;
    conn.execute("COMMIT", &[])?;
    Ok(json!({ "ok": true }))
}

fn sqlite_counter() -> anyhow::Result<Json> {
    let conn = Connection::open_default()?;
    let rows = conn.execute("SELECT n FROM counter WHERE id = 1", &[])?;
    let n = rows
        .rows()
        .next()
        .and_then(|r| r.get::<i64>("n"))
        .unwrap_or(0);
    Ok(json!({ "n": n }))
}

/// What a new connection shows of its own state, read first; then the connection is
/// left dirty (`leave`: `pragmas`, `tx` for an open transaction holding a write, `temp`
/// for a TEMP table, `foreign-keys`) for whoever opens the database next.
fn sqlite_fresh(leave: &str) -> anyhow::Result<Json> {
    let conn = Connection::open_default()?;
    let one = |sql: &str| -> anyhow::Result<Json> {
        let rows = conn.execute(sql, &[])?;
        let row = rows
            .rows
            .first()
            .ok_or_else(|| anyhow::anyhow!("{sql}: no row"))?;
        Ok(row
            .values
            .iter()
            .map(|v| match v {
                Value::Integer(i) => json!(i),
                Value::Text(t) => json!(t),
                other => json!(format!("{other:?}")),
            })
            .collect())
    };
    let seen = json!({
        "counters": one("SELECT last_insert_rowid(), changes(), total_changes()")?,
        "synchronous": one("PRAGMA synchronous")?,
        "busy_timeout": one("PRAGMA busy_timeout")?,
        "foreign_keys": one("PRAGMA foreign_keys")?,
        "temp_objects": one("SELECT count(*) FROM sqlite_temp_master")?,
        "in_transaction_rows": one("SELECT count(*) FROM counter WHERE id = 99")?,
    });
    conn.execute("PRAGMA synchronous = OFF", &[])?;
    conn.execute("PRAGMA busy_timeout = 1", &[])?;
    conn.execute(
        "INSERT INTO counter (id, n) VALUES (7, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1",
        &[],
    )?;
    match leave {
        "tx" => {
            conn.execute("BEGIN IMMEDIATE", &[])?;
            conn.execute("INSERT INTO counter (id, n) VALUES (99, 1)", &[])?;
        }
        "temp" => {
            conn.execute("CREATE TEMP TABLE scratch (x)", &[])?;
        }
        "foreign-keys" => {
            conn.execute("PRAGMA foreign_keys = OFF", &[])?;
        }
        _ => {}
    }
    Ok(seen)
}

fn key_value(req: &Request, op: &str) -> anyhow::Result<Json> {
    let label = query_param(req, "store");
    let store = match Store::open(if label.is_empty() { "default" } else { &label }) {
        Ok(s) => s,
        Err(e) => return Ok(err(e)),
    };
    let key = query_param(req, "key");
    Ok(match op {
        "set" => match store.set(&key, req.body()) {
            Ok(()) => json!({ "ok": true }),
            Err(e) => err(e),
        },
        "get" => match store.get(&key) {
            Ok(v) => json!({ "value": v.map(|b| String::from_utf8_lossy(&b).into_owned()) }),
            Err(e) => err(e),
        },
        "delete" => match store.delete(&key) {
            Ok(()) => json!({ "ok": true }),
            Err(e) => err(e),
        },
        "exists" => match store.exists(&key) {
            Ok(v) => json!({ "exists": v }),
            Err(e) => err(e),
        },
        "keys" => match store.get_keys() {
            Ok(v) => json!({ "keys": v }),
            Err(e) => err(e),
        },
        other => json!({ "error": format!("unknown kv op {other}") }),
    })
}

async fn outbound(url: &str) -> anyhow::Result<Json> {
    let request = Request::builder().method(Method::Get).uri(url).build();
    Ok(match spin_sdk::http::send::<_, Response>(request).await {
        Ok(resp) => {
            json!({ "status": resp.status(), "body": String::from_utf8_lossy(resp.body()) })
        }
        Err(e) => err(e),
    })
}

fn postgres(address: &str) -> anyhow::Result<Json> {
    let conn = match pg4::Connection::open(address) {
        Ok(c) => c,
        Err(e) => return Ok(err(e)),
    };
    conn.execute("CREATE TABLE IF NOT EXISTS probe_items (id BIGINT PRIMARY KEY, name TEXT, flag BOOLEAN, data BYTEA)", &[])?;
    conn.execute("DELETE FROM probe_items", &[])?;
    let inserted = conn.execute(
        "INSERT INTO probe_items (id, name, flag, data) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
        &[
            pg4::ParameterValue::Int64(1),
            pg4::ParameterValue::Str("one".into()),
            pg4::ParameterValue::Boolean(true),
            pg4::ParameterValue::Binary(vec![7]),
            pg4::ParameterValue::Int64(2),
            pg4::ParameterValue::DbNull,
            pg4::ParameterValue::Boolean(false),
            pg4::ParameterValue::DbNull,
        ],
    )?;
    conn.execute("BEGIN", &[])?;
    conn.execute(
        "UPDATE probe_items SET name = 'rolled back' WHERE id = 1",
        &[],
    )?;
    conn.execute("ROLLBACK", &[])?;
    let rows = conn.query(
        "SELECT id, name, flag, data FROM probe_items ORDER BY id",
        &[],
    )?;
    let listed: Vec<Json> = rows
        .rows()
        .map(|r| json!({ "id": r.get::<i64>("id"), "name": r.get::<String>("name"), "flag": r.get::<bool>("flag"), "data": r.get::<Vec<u8>>("data") }))
        .collect();
    let missing = match conn.query("SELECT * FROM no_such_table", &[]) {
        Ok(_) => json!(null),
        Err(e) => json!(format!("{e:?}")),
    };
    Ok(json!({ "inserted": inserted, "rows": listed, "missing_table_error": missing }))
}

fn spin_headers(req: &Request) -> Json {
    let headers: serde_json::Map<String, Json> = req
        .headers()
        .filter(|(n, _)| n.starts_with("spin-"))
        .map(|(n, v)| (n.to_string(), json!(v.as_str().unwrap_or(""))))
        .collect();
    json!({ "headers": headers, "path": req.path(), "query": req.query() })
}

/// Burns CPU without yielding to the host: only an epoch deadline can stop it.
/// Opens a transaction, writes a row, and never finishes: the deadline ends the guest.
fn pg_abandon(address: &str) -> anyhow::Result<Json> {
    let conn = pg4::Connection::open(address)?;
    conn.execute("CREATE TABLE IF NOT EXISTS abandoned (v TEXT)", &[])?;
    conn.execute("BEGIN", &[])?;
    conn.execute(
        "INSERT INTO abandoned (v) VALUES ('from the killed request')",
        &[],
    )?;
    Ok(busy_loop())
}

/// Whether the session reached the server over TLS (or why it could not connect).
fn pg_tls(address: &str) -> anyhow::Result<Json> {
    let conn = match pg4::Connection::open(address) {
        Ok(c) => c,
        Err(e) => return Ok(err(e)),
    };
    let rows = conn.query(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )?;
    let ssl = rows.rows().next().map(|r| r.get::<bool>("ssl"));
    Ok(json!({ "ssl": ssl }))
}

/// Commits one row in a transaction of its own and lists what the table holds.
fn pg_commit(address: &str) -> anyhow::Result<Json> {
    let conn = pg4::Connection::open(address)?;
    conn.execute("CREATE TABLE IF NOT EXISTS abandoned (v TEXT)", &[])?;
    conn.execute("BEGIN", &[])?;
    conn.execute("INSERT INTO abandoned (v) VALUES ('committed')", &[])?;
    conn.execute("COMMIT", &[])?;
    let rows = conn.query("SELECT v FROM abandoned ORDER BY v", &[])?;
    let values: Vec<Json> = rows.rows().map(|r| json!(r.get::<String>("v"))).collect();
    Ok(json!({ "rows": values }))
}

fn sqlite_abandon() -> anyhow::Result<Json> {
    let conn = Connection::open_default()?;
    conn.execute("CREATE TABLE IF NOT EXISTS abandoned (v TEXT)", &[])?;
    conn.execute("BEGIN IMMEDIATE", &[])?;
    conn.execute(
        "INSERT INTO abandoned (v) VALUES ('from the killed request')",
        &[],
    )?;
    Ok(busy_loop())
}

fn sqlite_commit() -> anyhow::Result<Json> {
    let conn = Connection::open_default()?;
    conn.execute("CREATE TABLE IF NOT EXISTS abandoned (v TEXT)", &[])?;
    conn.execute("BEGIN IMMEDIATE", &[])?;
    conn.execute("INSERT INTO abandoned (v) VALUES ('committed')", &[])?;
    conn.execute("COMMIT", &[])?;
    let rows = conn.execute("SELECT v FROM abandoned ORDER BY v", &[])?;
    let values: Vec<Json> = rows.rows().map(|r| json!(r.get::<&str>("v"))).collect();
    Ok(json!({ "rows": values }))
}

/// Zeroed memory the request dirties: a counter and a page-spread buffer (4 MiB, in the
/// instance's zero-initialised data). Every instance starts fresh, so both must read 0.
static SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static mut SCRATCH: [u8; 4 << 20] = [0; 4 << 20];

/// What an earlier request left in this instance's memory (nothing, on a fresh one),
/// then leaves its own mark.
fn memory_left_behind() -> Json {
    let before = SEEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: one request runs in an instance, single-threaded; no other reference exists.
    let scratch = unsafe { &mut *std::ptr::addr_of_mut!(SCRATCH) };
    let dirty = scratch.iter().step_by(4096).filter(|b| **b != 0).count();
    for page in scratch.chunks_mut(4096) {
        page[0] = 0xAB;
    }
    json!({ "counter_before": before, "dirty_pages_before": dirty })
}

fn busy_loop() -> Json {
    let mut x: u64 = 1;
    loop {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        if x == 0 {
            return json!({ "x": x });
        }
    }
}

/// Waits on the host clock, as a slow downstream call would.
fn sleep(ms: u64) -> Json {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    json!({ "slept_ms": ms })
}
