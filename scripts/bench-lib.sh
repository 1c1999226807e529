# Helpers shared by the bench-* scripts (sourced after lib.sh): a scratch folder, hosts
# started in the background and stopped on exit, wrk runs reduced to figures.
# Expects THREADS, CONNECTIONS and DURATION for run_wrk.

WORK="$(mktemp -d)"
# start_host runs in a command substitution (a subshell), so pids go to files, not a variable.
cleanup() {
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  if [ -f "$WORK/pg-databases" ]; then
    while read -r db; do psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done <"$WORK/pg-databases"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# free_ports N: the first of N consecutive free ports (a base address and its instances),
# below Linux's ephemeral range so that no outgoing connection holds one meanwhile.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 32000 - n)
    sockets = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            sockets.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in sockets:
            s.close()
PY
}


# start_host NAME MANIFEST [ARGS...]: starts a host in the background, prints its base URL.
# Its state folder is $WORK/NAME, or $WORK/$STATE when STATE is set (to share data); it
# listens on $PORT when set.
start_host() {
  local name="$1" manifest="$2"; shift 2
  local port="${PORT:-$(free_port)}"
  target/release/spin-host up -f "$manifest" --listen "127.0.0.1:$port" --state-dir "$WORK/${STATE:-$name}" "$@" \
    >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/.well-known/spin/health" >/dev/null 2>&1 && { echo "http://127.0.0.1:$port"; return; }
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2; exit 1
}

# stop NAME: stops what was started under NAME (a host or the simulator).
stop() {
  [ -e "$WORK/$1.pid" ] && kill "$(cat "$WORK/$1.pid")" 2>/dev/null && rm -f "$WORK/$1.pid"
  return 0
}

# The backend under test: BACKEND=sqlite (the embedded default) or postgres (the local
# server; each run gets its own database).
PG_SERVER=postgres://postgres@127.0.0.1:5432
PG_ADMIN_URL=$PG_SERVER/test
check_backend() {
  case "$BACKEND" in
    sqlite) ;;
    postgres) command -v psql >/dev/null || apt_install postgresql-client ;;
    *) echo "--backend is sqlite or postgres, not $BACKEND" >&2; exit 2 ;;
  esac
}

# use_database NAME: on Postgres, creates and migrates a database for the hosts started
# next (dropped on exit) and points them at it. Prints where the data is (the SQLite file
# of state folder NAME, or the Postgres URL), for bench_query.
use_database() {
  if [ "$BACKEND" = sqlite ]; then
    unset SPIN_VARIABLE_DATABASE_BACKEND SPIN_VARIABLE_POSTGRES_URL
    export DB_TARGET="$WORK/$1/sqlite_db.db"
    return
  fi
  local db="cfa_bench_${1//-/_}_$$"
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  echo "$db" >>"$WORK/pg-databases"
  migrate_postgres "$PG_SERVER/$db"
  export SPIN_VARIABLE_DATABASE_BACKEND=postgres SPIN_VARIABLE_POSTGRES_URL="$PG_SERVER/$db?sslmode=disable"
  export DB_TARGET="$PG_SERVER/$db"
}

# Python for the bench scripts' read-outs: query(sql) on DB_TARGET (a SQLite file or a
# Postgres URL), rows as tuples of ints and strings.
BENCH_QUERY_PY='
import os, sqlite3, subprocess
def query(sql):
    target = os.environ["DB_TARGET"]
    if not target.startswith("postgres://"):
        return sqlite3.connect(target, timeout=30).execute(sql).fetchall()
    out = subprocess.run(["psql", "-At", "-F", "\t", target, "-c", sql], check=True, capture_output=True, text=True).stdout
    cell = lambda v: int(v) if v.lstrip("-").isdigit() else (None if v == "" else v)
    return [tuple(cell(v) for v in line.split("\t")) for line in out.splitlines()]
'

# run_wrk URL [WRK ARGS...]: prints "rps p50_ms p99_ms errors"
run_wrk() {
  local url="$1"; shift
  local out; out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")"
  echo "$out" >&2
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
def ms(label):
    m = re.search(r'^\s*' + label + r'%\s+([\d.]+)(us|ms|s)\s*$', text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == 'us' else v * 1000 if unit == 's' else v
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', text).group(1))
errors = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', text)
sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
err = (int(errors.group(1)) if errors else 0) + (sum(map(int, sock.groups())) if sock else 0)
print(f"{rps:.0f} {ms('50'):.3f} {ms('99'):.3f} {err}")
PY
}


# Every required variable of the app, with bench values (the simulator's provider secrets).
export SPIN_VARIABLE_ADMIN_TOKEN=bench-token SPIN_VARIABLE_DONOR_TOKEN_SECRET=bench-secret \
  SPIN_VARIABLE_PAYMENT_PROVIDER_API_KEY=sk_test_simulator SPIN_VARIABLE_WEBHOOK_SECRETS=whsec_simulator \
  SPIN_VARIABLE_RELAY_SECRET=bench-relay-secret

# new_campaign APP TITLE: creates a USD campaign on the app; prints its id.
new_campaign() {
  curl -fs -X POST "$1/api/v1/campaigns" -H "authorization: Bearer $SPIN_VARIABLE_ADMIN_TOKEN" \
    -H 'content-type: application/json' -d "{\"title\":\"$2\",\"goal_minor\":100000000000,\"currency\":\"USD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
