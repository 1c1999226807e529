#!/bin/sh
# Postgres for the topology, on 127.0.0.1:55432 (the machine's own may hold 5432): a new
# cluster in the volume on first start, trust auth on loopback only.
set -eu
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
  initdb -D "$data" -U postgres --auth=trust >/dev/null
fi
exec postgres -D "$data" -c listen_addresses=127.0.0.1 -p 55432 -k /tmp \
  -c max_connections=200 -c synchronous_commit=on
