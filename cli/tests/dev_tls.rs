//! `packyard dev --edge-tls-addr`: the edge serves HTTPS with the self-signed certificate it
//! makes in the data folder, negotiates HTTP/2 through ALPN, and keeps plain HTTP/1.1 beside it.

#![allow(clippy::unwrap_used)]

#[path = "support/dev.rs"]
mod dev;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_edge_speaks_http2_over_tls_with_its_own_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = dev::Dev::start(tmp.path(), &["--edge-tls-addr", "127.0.0.1:0"]);
    let data = &dev.data;
    let tls = dev.listener("edge-https");
    let edge = dev.edge.clone();
    let cert_path = data.join("tls").join("cert.pem");
    dev::wait_for(90, "a certificate made", &dev, || async {
        cert_path.exists()
    })
    .await;
    let cert = reqwest::Certificate::from_pem(&std::fs::read(&cert_path).unwrap()).unwrap();
    let port = tls.rsplit_once(':').unwrap().1;
    let trusted = reqwest::Client::builder()
        .add_root_certificate(cert)
        .resolve("localhost", tls.parse().unwrap())
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let response = dev::wait_for(90, "an HTTPS answer", &dev, || trusted.get(&url).send()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.version(),
        reqwest::Version::HTTP_2,
        "ALPN picks h2"
    );

    // A client that does not trust the certificate is refused by its own TLS check.
    let untrusted = reqwest::Client::builder()
        .resolve("localhost", tls.parse().unwrap())
        .build()
        .unwrap();
    assert!(untrusted.get(&url).send().await.is_err());

    // Plain HTTP stays available beside it.
    let plain = reqwest::get(format!("http://{edge}/healthz"))
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.version(), reqwest::Version::HTTP_11);
}
