# Prometheus beside the topology (Debian's package), with the project's alert rules; its
# config is rendered at start from the topology's ports (prometheus.sh).
FROM careforall-base:local
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/prometheus/alerts.yml /etc/careforall/alerts.yml
COPY deploy/compose/prometheus.sh /usr/local/bin/careforall-prometheus
ENTRYPOINT ["careforall-prometheus"]
