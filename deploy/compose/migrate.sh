#!/bin/sh
# Waits for Postgres, creates the app's database if it is missing and applies the
# migrations (each is idempotent, so a second run changes nothing). $1: the server's URL
# without a database, $2: the database.
set -eu
server="$1" db="$2"
for _ in $(seq 1 120); do
  pg_isready -q -d "$server/postgres" && break
  sleep 0.5
done
pg_isready -d "$server/postgres"
if [ -z "$(psql -At "$server/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
  psql -q "$server/postgres" -c "CREATE DATABASE \"$db\""
fi
for f in migrations/postgres/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$server/$db" -f "$f" >/dev/null
done
echo "migrations applied to $db"
