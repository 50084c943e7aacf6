//! HTTPS with the crate's own TLS set-up (rustls with *ring*; reqwest is
//! built without a provider): a server whose certificate chains to a CA the
//! platform trusts is reached, by a plain reqwest client from
//! `http_client_builder` and by a `Client`; one signed by a stranger is
//! refused. The certificates are made with the `openssl` command.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use seedance_mini::{Client, Error, Provider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a `localhost` certificate it signs, as `<name>-ca.pem`,
/// `<name>.pem` and `<name>.key`.
fn make_chain(dir: &Path, name: &str) {
    let (ca_key, ca) = (format!("{name}-ca.key"), format!("{name}-ca.pem"));
    let (key, csr, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let subject = format!("/CN={name} test CA");
    // A new P-256 key, unencrypted.
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    #[rustfmt::skip]
    let ca_args = [
        "-keyout", &ca_key, "-out", &ca, "-days", "2", "-subj", &subject,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign",
    ];
    openssl(dir, &[&["req", "-x509"][..], &new_key, &ca_args].concat());
    let csr_args = ["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"];
    openssl(dir, &[&["req"][..], &new_key, &csr_args].concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    #[rustfmt::skip]
    let sign_args = [
        "x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial",
        "-out", &cert, "-days", "2", "-extfile", "ext.cnf",
    ];
    openssl(dir, &sign_args);
}

/// An HTTPS server on localhost presenting `<name>.pem`, answering every
/// request with Magnific's 401 problem body. Returns its port.
async fn serve(dir: &Path, name: &str) -> u16 {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join(format!("{name}.pem")))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"over TLS"}"#;
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn https_reaches_a_trusted_server_and_refuses_a_strangers() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), "trusted");
    make_chain(dir.path(), "stranger");
    // The platform's roots, as rustls-native-certs reads them on Linux: only
    // the trusted CA. (This file's one test; nothing else reads it.)
    std::env::set_var("SSL_CERT_FILE", dir.path().join("trusted-ca.pem"));
    std::env::remove_var("SSL_CERT_DIR");

    let trusted = serve(dir.path(), "trusted").await;
    let stranger = serve(dir.path(), "stranger").await;
    let http = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap();

    let answer = http
        .get(format!("https://localhost:{trusted}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.text().await.unwrap().contains("over TLS"));

    let refused = http
        .get(format!("https://localhost:{stranger}/"))
        .send()
        .await
        .unwrap_err();
    let chain = format!("{:?}", refused);
    assert!(chain.contains("UnknownIssuer"), "{chain}");

    // The crate's own client, over the same TLS: the server's answer comes
    // back with its status and body kept.
    let client = Client::builder(Provider::Magnific)
        .api_key("k")
        .base_url(format!("https://localhost:{trusted}"))
        .build()
        .unwrap();
    match client.get("11111111-2222-3333-4444-555555555555").await {
        Err(Error::Unauthorized { status, body, .. }) => {
            assert_eq!(status, 401);
            assert!(body.contains("over TLS"), "{body}");
        }
        other => panic!("expected the server's 401 over TLS, got {other:?}"),
    }
}
