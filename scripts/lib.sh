# Shared helpers for the scripts in this folder. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Each step says when it began, so a CI log shows where its minutes go.
say() { printf '\033[1m==> %s %s\033[0m\n' "$(date +%T)" "$*" >&2; }

# The app's components: one crate per folder in functions/.
app_components() {
  for dir in functions/*/; do basename "$dir"; done
}

# Test components: one crate per folder in tests/components/.
test_components() {
  for dir in tests/components/*/; do basename "$dir"; done
}

# The pinned toolchain (rust-toolchain.toml) with its wasm32-wasip2 target, rustfmt and
# clippy. A toolchain that is already installed does not gain the file's target by
# itself, so the target is checked and added explicitly; nothing is fetched when all is
# there.
ensure_toolchain() {
  local channel installed
  channel="$(sed -n 's/^channel = "\(.*\)"$/\1/p' "$ROOT/rust-toolchain.toml")"
  installed="$(rustup component list --installed --toolchain "$channel" 2>/dev/null || true)"
  if grep -qx rust-std-wasm32-wasip2 <<<"$installed" && grep -q '^clippy-' <<<"$installed" &&
    grep -q '^rustfmt-' <<<"$installed"; then
    return 0
  fi
  say "installing Rust $channel with the wasm32-wasip2 target, rustfmt and clippy"
  rustup toolchain install "$channel" --profile minimal --component rustfmt,clippy --target wasm32-wasip2
}

# Builds the named component crates for wasm32-wasip2 in release mode.
build_components() {
  local args=()
  for c in "$@"; do args+=(-p "$c"); done
  say "building components for wasm32-wasip2: $*"
  cargo build --locked --target wasm32-wasip2 --release "${args[@]}"
}

build_host() {
  say "building the host (release)"
  cargo build --locked --release -p spin-host
}

build_simulator() {
  say "building the payment simulator (release)"
  cargo build --locked --release -p payment-simulator
}

# migrate_postgres URL: applies every migrations/postgres script, in order, to the
# database at URL (each is idempotent, so applying them again changes nothing).
migrate_postgres() {
  local f
  for f in "$ROOT"/migrations/postgres/*.sql; do
    PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$1" -f "$f" >/dev/null
  done
}

# `--sqlite @file` for every SQLite migration, in order (the flag spin up also takes).
sqlite_migration_flags() {
  local f
  for f in migrations/sqlite/*.sql; do printf -- '--sqlite\n@%s\n' "$ROOT/$f"; done
}

# Installs Debian packages that are missing (needs root; runs apt-get update once).
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ ! -f /var/lib/apt/periodic/cfa-updated ]; then
    apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/cfa-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# What the browser tests (tests/browser_pages.rs) drive: Debian's Chromium, and
# Playwright from the npm registry at the version tests/browser/package-lock.json pins,
# with the machine's Node.js (Debian's if it has none); Playwright downloads no browser.
browser_test_deps() {
  apt_install chromium
  command -v npm >/dev/null || apt_install nodejs npm
  say "npm ci in tests/browser (Playwright)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

# The release tools under target/tools/ship-venv, from PyPI: git-cliff (tools/ship runs
# it for each function's version and changelog; exported as GIT_CLIFF) and
# check-jsonschema (the workflow schema check).
SHIP_VENV="$ROOT/target/tools/ship-venv"
ship_tools() {
  if [ ! -x "$SHIP_VENV/bin/git-cliff" ] || [ ! -x "$SHIP_VENV/bin/check-jsonschema" ]; then
    apt_install python3-venv
    say "installing git-cliff 2.14.2 and check-jsonschema 0.39.0 under target/tools"
    python3 -m venv "$SHIP_VENV"
    "$SHIP_VENV/bin/pip" install --quiet "git-cliff==2.14.2" "check-jsonschema==0.39.0"
  fi
  export GIT_CLIFF="$SHIP_VENV/bin/git-cliff"
}

# The app's version: spin.toml's [application] version (tools/ship moves it).
app_version() {
  python3 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["application"]["version"])' "$ROOT/spin.toml"
}
