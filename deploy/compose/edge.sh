#!/bin/sh
# Renders deploy/nginx/careforall.conf.template (the one scripts/up uses) from the
# environment and runs nginx in the foreground:
#   EDGE_LISTEN  the base address (host:port)
#   INSTANCES    the instances' addresses, space-separated
#   PLEDGE_RATE  pledges per second per client (bursts of twice as many)
set -eu
prefix=/tmp/careforall-edge
mkdir -p "$prefix/tmp"
upstreams=""
for addr in $INSTANCES; do
  upstreams="$upstreams        server $addr max_fails=1 fail_timeout=2s;
"
done
template="$(cat /etc/careforall/careforall.conf.template)"
render() {
  # awk, not sed: the upstream block spans lines.
  awk -v prefix="$prefix" -v listen="$EDGE_LISTEN" -v rate="$PLEDGE_RATE" \
      -v burst="$((PLEDGE_RATE * 2))" -v upstreams="$upstreams" '
    { gsub(/@PREFIX@/, prefix); gsub(/@LISTEN@/, listen); gsub(/@PLEDGE_RATE@/, rate);
      gsub(/@PLEDGE_BURST@/, burst) }
    /@UPSTREAMS@/ { printf "%s", upstreams; next }
    { print }'
}
printf '%s\n' "$template" | render > "$prefix/nginx.conf"
nginx -t -q -p "$prefix" -c "$prefix/nginx.conf"
exec nginx -p "$prefix" -c "$prefix/nginx.conf"
