//! The AWS SDK configuration both functions build their clients from, with one HTTPS
//! client: the SDK's default (rustls on aws-lc, the same cipher suites, proxy settings
//! from the environment) except for whom it trusts. AWS service endpoints (SSM, Secrets
//! Manager, Lambda, KMS, STS; VPC endpoints too) present certificates that chain to the
//! Amazon Trust Services roots, so those five roots are the whole trust store.
//!
//! Why: the default client reads and parses every certificate in the system's store
//! (about 150 on Amazon Linux) when it builds its first connection, several
//! milliseconds of every cold start (`docs/performance.md`). Five compiled-in roots
//! cost a fraction of that, and a certificate from any other authority is refused.
//! The token endpoint (Orange) is not an AWS endpoint: its client
//! (`endpoint::TokenEndpointClient`) keeps the platform's verifier.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder, HttpClientError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1-4 and Starfield Services Root Certificate Authority - G2, PEM.
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// The SDK configuration from the environment (region, credentials, endpoint URL), with
/// [`https_client`] as its HTTP client.
pub async fn load_sdk_config() -> Result<SdkConfig, HttpClientError> {
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client()?)
        .load()
        .await)
}

/// The SDK's default HTTPS client, trusting only [`AMAZON_TRUST_SERVICES_ROOTS`].
/// Plain `http://` endpoints (the local emulator) work as with the default client.
pub fn https_client() -> Result<SharedHttpClient, HttpClientError> {
    https_client_trusting(AMAZON_TRUST_SERVICES_ROOTS)
}

/// The SDK's default HTTPS client, trusting only the PEM certificates `roots`. A TLS
/// context that cannot be built is an error, never a fall-back to the default context
/// (which trusts the system's whole store).
fn https_client_trusting(roots: &str) -> Result<SharedHttpClient, HttpClientError> {
    let tls_context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(roots))
        .build()?;
    Ok(
        Builder::new().build_with_connector_fn(move |settings, runtime_components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(tls_context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = runtime_components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}

/// What an SDK call's failure is called where AWS's own message (which may name roles,
/// ARNs and keys) must not go: AWS's error code, [`NO_ANSWER`] when the call got no
/// answer (timeout, connection, a request that could not be built), or `unnamed service
/// error` when the service answered without a code. `SdkError` and the trait are the
/// smithy runtime's, shared by every SDK crate (re-exported by each).
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> String {
    match (error.code(), error) {
        (Some(code), _) => code.to_owned(),
        (None, SdkError::ServiceError(_)) => "unnamed service error".to_owned(),
        (None, _) => NO_ANSWER.to_owned(),
    }
}

/// [`error_code`] of a call that got no answer.
pub const NO_ANSWER: &str = "no answer";

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::*;

    fn bundled_roots() -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_trust_store_is_the_five_amazon_trust_services_roots_as_mozilla_ships_them() {
        let roots = bundled_roots();
        assert_eq!(roots.len(), 5);
        for root in &roots {
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.contains(root),
                "a bundled root is not one of Mozilla's trusted roots"
            );
        }
        // Each is a distinct certificate naming Amazon or Starfield as its issuer.
        for (index, root) in roots.iter().enumerate() {
            assert!(!roots[..index].contains(root));
            let der = root.as_ref();
            let names_amazon = der.windows(6).any(|window| window == b"Amazon");
            let names_starfield = der.windows(9).any(|window| window == b"Starfield");
            assert!(names_amazon || names_starfield);
        }
    }

    /// A TLS server on loopback presenting `localhost`'s self-signed certificate to one
    /// connection; answers how the handshake ended (`Ok` once the client sent a request).
    fn one_tls_handshake() -> (u16, std::thread::JoinHandle<Result<(), rustls::Error>>) {
        use std::io::Read;

        let certificate = CertificateDer::pem_slice_iter(LOCALHOST_CERTIFICATE.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key =
            rustls_pki_types::PrivateKeyDer::from_pem_slice(LOCALHOST_KEY.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificate, key)
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut tls = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
            while tls.is_handshaking() {
                match tls.complete_io(&mut socket) {
                    Ok(_) => {}
                    Err(error) => {
                        return Err(error
                            .into_inner()
                            .and_then(|inner| inner.downcast::<rustls::Error>().ok())
                            .map(|error| *error)
                            .unwrap_or(rustls::Error::HandshakeNotComplete));
                    }
                }
            }
            let mut request = [0u8; 16];
            let read = rustls::Stream::new(&mut tls, &mut socket).read(&mut request);
            assert!(read.is_ok_and(|count| count > 0));
            Ok(())
        });
        (port, server)
    }

    async fn get_parameter_over_tls(http_client: SharedHttpClient, port: u16) {
        let config = aws_sdk_ssm::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::for_tests())
            .endpoint_url(format!("https://localhost:{port}"))
            .http_client(http_client)
            .retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled())
            .build();
        let answer = aws_sdk_ssm::Client::from_conf(config)
            .get_parameter()
            .name("/orange/token")
            .send()
            .await;
        // The server answers nothing after the handshake: the call fails either way.
        assert!(answer.is_err());
    }

    const LOCALHOST_CERTIFICATE: &str = include_str!("../testdata/localhost-cert.pem");
    const LOCALHOST_KEY: &str = include_str!("../testdata/localhost-key.pem");

    #[tokio::test]
    async fn a_certificate_from_any_other_authority_is_refused() {
        let (port, server) = one_tls_handshake();
        get_parameter_over_tls(https_client().unwrap(), port).await;
        let handshake = server.join().unwrap();
        assert_eq!(
            handshake,
            Err(rustls::Error::AlertReceived(
                rustls::AlertDescription::UnknownCA
            ))
        );
    }

    #[tokio::test]
    async fn the_same_client_completes_the_handshake_when_it_trusts_the_certificate() {
        let (port, server) = one_tls_handshake();
        get_parameter_over_tls(https_client_trusting(LOCALHOST_CERTIFICATE).unwrap(), port).await;
        assert_eq!(server.join().unwrap(), Ok(()));
    }
}
