//! TLS to Postgres the way Spin connects: the address's `sslmode` decides. `disable` is
//! plaintext; `prefer` (the default) and `require` use TLS verified against the
//! system's roots, host name included, and a failed check ends the connection attempt
//! (no fallback to plaintext); modes and options tokio-postgres does not take
//! (`verify-full`, `sslrootcert`, ...) refuse the address. So a server whose certificate
//! names `localhost` is reached as `localhost`, not as `127.0.0.1`.

use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector every pool uses; tokio-postgres applies it as `sslmode` says.
pub fn connector() -> anyhow::Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        // A system store may hold certificates rustls cannot use; the rest still count.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        anyhow::bail!(
            "no usable root certificates in the system store for Postgres TLS: {:?}",
            found.errors
        );
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
