# The Stripe-compatible payment simulator, playing the provider for the topology.
FROM careforall-base:local
COPY target/release/payment-simulator /usr/local/bin/payment-simulator
USER nobody
ENTRYPOINT ["payment-simulator"]
