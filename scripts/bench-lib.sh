# Helpers shared by the bench-* scripts (sourced after lib.sh): a scratch folder, hosts
# started in the background and stopped on exit, wrk runs reduced to figures.
# Expects THREADS, CONNECTIONS and DURATION for run_wrk.

WORK="$(mktemp -d)"
# start_host runs in a command substitution (a subshell), so pids go to files, not a variable.
cleanup() {
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
