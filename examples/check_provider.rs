//! Checks a provider's live answers against its document: a mock in front
//! of the provider forwards each call (with your key) and records every
//! deviation from the vendored document.
//!
//! With `MAGNIFIC_API_KEY` set it reads your task list from the real
//! Magnific API (a free call); without it, a second mock stands in for the
//! provider, so the example runs offline and finds nothing.
//!
//! `cargo run --features mock --example check_provider`

use seedance_mini::mock::MockServer;
use seedance_mini::Provider;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("MAGNIFIC_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let (upstream_url, key, _stand_in) = match key {
        Some(key) => (Provider::Magnific.spec().base_url.to_string(), key, None),
        None => {
            let stand_in = MockServer::start().await?;
            let key = seedance_mini::mock::DEFAULT_API_KEY.to_string();
            (stand_in.url().to_string(), key, Some(stand_in))
        }
    };
    let proxy = MockServer::builder()
        .upstream(Provider::Magnific, &upstream_url)
        .start()
        .await?;
    println!("checking {upstream_url} through {}", proxy.url());

    let listed = seedance_mini::http_client_builder()?
        .build()?
        .get(format!("{}/v1/ai/video/seedance-2-mini", proxy.url()))
        .header("x-magnific-api-key", key)
        .send()
        .await?;
    println!("list: HTTP {}", listed.status());

    let deviations = proxy.engine().deviations();
    if deviations.is_empty() {
        println!("no deviation from the document");
    }
    for d in deviations {
        let known = d
            .known_fault
            .map(|k| format!(" (known: {k})"))
            .unwrap_or_default();
        println!(
            "{} {} {} at `{}`: {} [{}]{known}",
            d.operation,
            d.direction,
            d.status.map(|s| s.to_string()).unwrap_or_default(),
            d.pointer,
            d.message,
            d.rule
        );
    }
    Ok(())
}
