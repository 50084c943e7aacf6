//! TLS for every connection this crate makes: rustls with the *ring*
//! provider, verifying against the platform's roots (as reqwest's own
//! rustls set-up does).
//!
//! reqwest is built with `rustls-no-provider`, so its default provider
//! (aws-lc, whose C and cmake build is the slowest part of a clean build)
//! is not compiled. Each client is handed its TLS configuration here rather
//! than through rustls's process-wide default, which an application may
//! have chosen for itself: this crate never installs one.

use std::sync::Arc;

use crate::Error;

/// The rustls configuration every client of this crate uses: *ring*, TLS
/// 1.2 and 1.3, the platform's verifier. Made for each HTTP client, as
/// reqwest makes its own: the platform's roots are read when it is made.
pub(crate) fn config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// For the mock's own deliveries (webhooks), which go to plain-HTTP
/// receivers far more often than not: this crate's TLS set-up, or, on a
/// machine with no CA certificates at all, one that trusts no server, so
/// that plain HTTP still works and HTTPS fails each delivery with the reason.
#[cfg(feature = "mock")]
pub(crate) fn builder_or_no_roots() -> reqwest::ClientBuilder {
    let config = config().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "no TLS roots: HTTPS deliveries will fail");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    });
    builder(config)
}

/// A `reqwest` client builder with this crate's TLS set-up (*ring*, the
/// platform's roots). Use it for a `reqwest::Client` of your own, such as
/// the one the generated bindings take (`magnific::Client::new_with_client`):
/// this crate's reqwest has no TLS provider of its own, so
/// `reqwest::Client::new()` panics unless the application installed one.
///
/// # Errors
/// [`Error::Setup`] when the platform's certificate verifier cannot be set
/// up.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, Error> {
    Ok(builder(setup()?))
}

/// [`config`], its failure as [`Error::Setup`].
pub(crate) fn setup() -> Result<rustls::ClientConfig, Error> {
    config().map_err(|e| Error::Setup {
        what: "TLS",
        message: e.to_string(),
    })
}

/// A `reqwest` client builder using `config` (one set-up can serve several
/// clients: `ClientConfig` clones share their parts).
pub(crate) fn builder(config: rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(config)
}
