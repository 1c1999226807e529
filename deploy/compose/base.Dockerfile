# The OS under every CareForAll image: Debian bookworm made on this machine by debootstrap
# (scripts/compose imports it as careforall-rootfs; no image is pulled from a registry),
# with the servers the topology runs beside the app.
FROM careforall-rootfs:bookworm
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl nginx postgresql-15 postgresql-client-15 redis-server \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
RUN install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data
COPY deploy/compose/postgres.sh /usr/local/bin/careforall-postgres
