#!/bin/sh
# Prometheus for the topology: the business figures once through the edge (they come from
# the shared database), each instance's request figures from its own host, every 5 s.
#   PROMETHEUS_LISTEN  its address (host:port)
#   EDGE               the edge's address
#   INSTANCES          the instances' addresses, space-separated
set -eu
dir=/tmp/careforall-prometheus
mkdir -p "$dir/data"
instances=""
for addr in $INSTANCES; do
  instances="$instances\"$addr\", "
done
cat > "$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - /etc/careforall/alerts.yml
scrape_configs:
  - job_name: careforall
    metrics_path: /metrics
    static_configs:
      - targets: ["$EDGE"]
  - job_name: spin-host
    metrics_path: /.well-known/spin-host/metrics
    static_configs:
      - targets: [${instances%, }]
YAML
exec prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="$PROMETHEUS_LISTEN"
