# One CareForAll instance: the project's Spin-compatible host, the components it serves,
# both manifests and the Postgres migrations. The same .wasm files run on `spin up`.
FROM careforall-base:local
WORKDIR /app
COPY target/release/spin-host /usr/local/bin/spin-host
COPY target/wasm32-wasip2/release/*.wasm target/wasm32-wasip2/release/
COPY spin.toml spin-cron.toml ./
COPY migrations/postgres migrations/postgres
COPY deploy/compose/runtime-config.toml deploy/compose/migrate.sh ./
USER nobody
ENTRYPOINT ["spin-host", "up", "--runtime-config-file", "runtime-config.toml"]
