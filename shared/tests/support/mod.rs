//! Native test support: the storage port on real SQLite files through rusqlite.
#![allow(dead_code)]

pub mod fixtures;

use careforall::storage::migrations::SQLITE;
use careforall::storage::{Backend, DbError, Rows, SqlExecutor, SqlValue};
use std::path::{Path, PathBuf};

pub struct Rusqlite(pub rusqlite::Connection);

impl Rusqlite {
    pub fn open(path: &Path) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        Rusqlite(conn)
    }
}

/// Which call a statement came through. The test adapters hold the app to the port's
/// contract: a statement without result rows sent through `query` (which hangs Spin
/// 4.0.0–4.0.2 on Postgres), or one with rows sent through `execute`, is an error.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Call {
    Query,
    Execute,
}

fn check_call(call: Call, has_columns: bool, sql: &str) -> Result<(), DbError> {
    match (call, has_columns) {
        (Call::Query, false) => Err(DbError::Other(format!(
            "port contract: a statement without result rows went through query: {sql}"
        ))),
        (Call::Execute, true) => Err(DbError::Other(format!(
            "port contract: a statement with result rows went through execute: {sql}"
        ))),
        _ => Ok(()),
    }
}

impl SqlExecutor for Rusqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        self.run(Call::Query, sql, params)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<(), DbError> {
        self.run(Call::Execute, sql, params).map(drop)
    }
}

impl Rusqlite {
    fn run(&self, call: Call, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        use rusqlite::types::{Value, ValueRef};
        let classify = |e: rusqlite::Error| {
            let m = e.to_string();
            if m.contains("constraint") || m.contains("UNIQUE") {
                DbError::Constraint(m)
            } else {
                DbError::Other(m)
            }
        };
        let mut stmt = self.0.prepare_cached(sql).map_err(classify)?;
        check_call(call, stmt.column_count() > 0, sql)?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
        let params: Vec<Value> = params
            .iter()
            .map(|p| match p {
                SqlValue::Integer(i) => Value::Integer(*i),
                SqlValue::Text(t) => Value::Text(t.clone()),
                SqlValue::Blob(b) => Value::Blob(b.clone()),
                SqlValue::Null => Value::Null,
            })
            .collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(classify)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            out.push(
                (0..columns.len())
                    .map(|i| match row.get_ref(i).unwrap() {
                        ValueRef::Integer(v) => SqlValue::Integer(v),
                        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into()),
                        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
                        ValueRef::Null => SqlValue::Null,
                        ValueRef::Real(r) => panic!("unexpected real {r}"),
                    })
                    .collect(),
            );
        }
        Ok(Rows { columns, rows: out })
    }
}

/// A throw-away folder holding a migrated database file.
pub struct TempDb {
    pub dir: PathBuf,
}

impl TempDb {
    pub fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("cfa-shared-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let conn = Rusqlite::open(&dir.join("t.db"));
        for (_, sql) in SQLITE {
            conn.0.execute_batch(sql).unwrap();
        }
        TempDb { dir }
    }

    /// Another connection to the same file (as another instance would have).
    pub fn connect(&self) -> Rusqlite {
        Rusqlite::open(&self.dir.join("t.db"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn db() -> (TempDb, Rusqlite) {
    let temp = TempDb::new();
    let conn = temp.connect();
    (temp, conn)
}

/// The storage port on the local Postgres server through the `postgres` crate.
pub struct Pg(std::cell::RefCell<postgres::Client>);

#[derive(Debug)]
struct AnyNull;

impl postgres::types::ToSql for AnyNull {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        _: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(postgres::types::IsNull::Yes)
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

impl SqlExecutor for Pg {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        self.run(Call::Query, sql, params)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<(), DbError> {
        self.run(Call::Execute, sql, params).map(drop)
    }
}

impl Pg {
    fn run(&self, call: Call, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        use postgres::types::{ToSql, Type};
        let classify = |e: postgres::Error| match e.code() {
            Some(c) if c.code().starts_with("23") => DbError::Constraint(e.to_string()),
            _ => DbError::Other(e.to_string()),
        };
        let bound: Vec<Box<dyn ToSql + Sync>> = params
            .iter()
            .map(|p| -> Box<dyn ToSql + Sync> {
                match p {
                    SqlValue::Integer(i) => Box::new(*i),
                    SqlValue::Text(t) => Box::new(t.clone()),
                    SqlValue::Blob(b) => Box::new(b.clone()),
                    SqlValue::Null => Box::new(AnyNull),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        let mut client = self.0.borrow_mut();
        let statement = client
            .prepare(&careforall::storage::postgres_placeholders(sql))
            .map_err(classify)?;
        check_call(call, !statement.columns().is_empty(), sql)?;
        let rows = client.query(&statement, &refs).map_err(classify)?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let rows = rows
            .iter()
            .map(|row| {
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match *c.type_() {
                        Type::INT8 => row
                            .get::<_, Option<i64>>(i)
                            .map_or(SqlValue::Null, SqlValue::Integer),
                        Type::INT4 => row
                            .get::<_, Option<i32>>(i)
                            .map_or(SqlValue::Null, |v| SqlValue::Integer(v.into())),
                        Type::BOOL => row
                            .get::<_, Option<bool>>(i)
                            .map_or(SqlValue::Null, |v| SqlValue::Integer(v.into())),
                        Type::BYTEA => row
                            .get::<_, Option<Vec<u8>>>(i)
                            .map_or(SqlValue::Null, SqlValue::Blob),
                        _ => row
                            .get::<_, Option<String>>(i)
                            .map_or(SqlValue::Null, SqlValue::Text),
                    })
                    .collect()
            })
            .collect();
        Ok(Rows { columns, rows })
    }
}

const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

/// A database created on the local Postgres for one test, migrated, dropped after.
pub struct TempPg {
    pub name: String,
}

impl TempPg {
    pub fn new() -> Self {
        let name = format!("cfa_shared_{}", uuid::Uuid::new_v4().simple());
        let mut admin = postgres::Client::connect(PG_ADMIN, postgres::NoTls)
            .expect("the local Postgres at 127.0.0.1:5432 (user postgres)");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let temp = TempPg { name };
        let conn = temp.connect();
        for (_, sql) in careforall::storage::migrations::POSTGRES {
            conn.0.borrow_mut().batch_execute(sql).unwrap();
        }
        temp
    }

    pub fn connect(&self) -> Pg {
        let url = format!(
            "host=127.0.0.1 port=5432 user=postgres dbname={}",
            self.name
        );
        Pg(std::cell::RefCell::new(
            postgres::Client::connect(&url, postgres::NoTls).unwrap(),
        ))
    }
}

impl Drop for TempPg {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(PG_ADMIN, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A migrated throw-away database on either backend.
pub enum TestDb {
    Sqlite(TempDb),
    Postgres(TempPg),
}

impl TestDb {
    pub fn sqlite() -> Self {
        TestDb::Sqlite(TempDb::new())
    }

    pub fn postgres() -> Self {
        TestDb::Postgres(TempPg::new())
    }

    pub fn connect(&self) -> Box<dyn SqlExecutor + Send> {
        match self {
            TestDb::Sqlite(t) => Box::new(t.connect()),
            TestDb::Postgres(t) => Box::new(t.connect()),
        }
    }

    /// The statements of one migration script of this backend, comments dropped.
    pub fn migration_statements(&self, name: &str) -> Vec<String> {
        let scripts = match self {
            TestDb::Sqlite(_) => careforall::storage::migrations::SQLITE,
            TestDb::Postgres(_) => careforall::storage::migrations::POSTGRES,
        };
        let (_, script) = scripts
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no migration {name}"));
        let code: String = script
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        code.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Runs a test body once per backend: `fn name(db: &TestDb)` becomes `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(fn $name:ident($db:ident: &TestDb) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn run($db: &TestDb) $body
                #[test]
                fn sqlite() { run(&TestDb::sqlite()) }
                #[test]
                fn postgres() { run(&TestDb::postgres()) }
            }
        )*
    };
}
