//! `seedance-mini mock`: the mock server, until interrupted.

use std::io::Write;
use std::time::Duration;

use super::args::MockArgs;
use super::output::Output;
use super::{clear_line, documents, http_url, Cli};
use crate::mock::{Lifecycle, MockServer};
use crate::Error;

/// `HOST:PORT` (a name such as `localhost`, or an IP) as a socket address.
pub(super) async fn resolve_addr(addr: &str) -> Result<std::net::SocketAddr, Error> {
    let mut found = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| Error::validation("--addr", format!("`{addr}` is not HOST:PORT: {e}")))?;
    found
        .next()
        .ok_or_else(|| Error::validation("--addr", format!("`{addr}` resolves to no address")))
}

/// `--lifecycle-ms IN_PROGRESS DONE[..LATEST]` as (in progress, done, latest done).
fn lifecycle_ms(values: &[String]) -> Result<(u64, u64, u64), Error> {
    let number = |text: &str| {
        text.trim().parse::<u64>().map_err(|_| {
            Error::validation(
                "--lifecycle-ms",
                format!("`{text}` is not a whole number of milliseconds"),
            )
        })
    };
    let (Some(first), Some(second)) = (values.first(), values.get(1)) else {
        return Err(Error::validation("--lifecycle-ms", "takes two values"));
    };
    let in_progress = number(first)?;
    let (done, latest) = match second.split_once("..") {
        Some((low, high)) => (number(low)?, number(high)?),
        None => (number(second)?, number(second)?),
    };
    if latest < done {
        return Err(Error::validation(
            "--lifecycle-ms",
            format!("`{second}` ends before it starts"),
        ));
    }
    Ok((in_progress, done, latest))
}

pub(super) async fn serve_mock(cli: &Cli, args: &MockArgs, out: Output) -> Result<u8, Error> {
    let lifecycle = lifecycle_ms(&args.lifecycle_ms)?;
    let mut builder = MockServer::builder()
        .addr(resolve_addr(&args.addr).await?)
        .video_ttl(Duration::from_secs(args.video_ttl))
        .max_tasks(args.max_tasks)
        .journal_size(args.journal_size)
        .lifecycle(Lifecycle::Clock {
            in_progress_after: Duration::from_millis(lifecycle.0),
            done_after: Duration::from_millis(lifecycle.1),
        })
        .lifecycle_spread(Duration::from_millis(lifecycle.2 - lifecycle.1))
        .rate_limit_retry_after(args.retry_after);
    for limit in &args.rate_limit {
        let (provider, limit) = crate::mock::RateLimits::parse_one(limit)
            .map_err(|e| Error::validation("--rate-limit", e))?;
        builder = builder.rate_limit(provider, limit);
    }
    for key in &cli.api_keys {
        builder = builder.api_key(key);
    }
    for fault in &args.fault {
        builder = builder.fault(fault.parse().map_err(|e: crate::mock::FaultParseError| {
            Error::validation("--fault", e.to_string())
        })?);
    }
    if let Some(secret) = &args.webhook_secret {
        builder = builder.webhook_secret(secret);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if let Some(url) = &args.public_url {
        builder = builder.public_url(url);
    }
    if let Some(key) = &args.admin_key {
        builder = builder.admin_key(key);
    }
    for upstream in &args.upstream {
        let (provider, url) = upstream.split_once('=').ok_or_else(|| {
            Error::validation(
                "--upstream",
                format!(
                    "`{upstream}` is not PROVIDER=URL (such as magnific=https://api.magnific.com)"
                ),
            )
        })?;
        let provider: crate::Provider = provider.parse().map_err(|_| {
            Error::validation(
                "--upstream",
                format!(
                    "`{provider}` is not a provider ({})",
                    crate::Provider::names()
                ),
            )
        })?;
        http_url("--upstream", url)?;
        builder = builder.upstream(provider, url);
    }
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::validation("--record", format!("cannot create {}: {e}", dir.display()))
        })?;
        builder = builder.record(dir);
    }
    if let Some(dir) = &args.replay {
        std::fs::read_dir(dir).map_err(|e| {
            Error::validation("--replay", format!("cannot read {}: {e}", dir.display()))
        })?;
        builder = builder.replay(dir);
    }
    builder = builder.limits(crate::mock::HostLimits {
        max_connections: args.max_connections,
        ..crate::mock::HostLimits::default()
    });
    let keys = builder.config().api_keys.clone();
    let seed = builder.config().seed;
    let secret = builder.config().webhook_secret.clone();
    let upstreams = builder.config().upstreams.clone();
    let mock = builder.start().await.map_err(|e| {
        // A cassette that does not parse is InvalidData (proxy.rs).
        let field = match e.kind() {
            std::io::ErrorKind::InvalidData if args.replay.is_some() => "--replay",
            _ => "--addr",
        };
        let what = match field {
            "--addr" => format!("cannot listen on {}: {e}", args.addr),
            _ => format!("cannot read the cassettes: {e}"),
        };
        Error::validation(field, what)
    })?;
    // A reader that went away (a closed pipe) must not bring the server down.
    let mut stdout = std::io::stdout().lock();
    let _ = if out.json {
        let started = documents::MockStarted {
            schema_version: documents::Version,
            url: mock.url().to_string(),
            api_keys: keys.clone(),
            webhook_secret: secret.clone(),
        };
        writeln!(
            stdout,
            "{}",
            serde_json::to_string(&started).unwrap_or_default()
        )
    } else {
        writeln!(stdout, "mock listening on {}", mock.url())
            .and_then(|_| {
                writeln!(
                    stdout,
                    "api key{}: {}",
                    if keys.len() > 1 { "s" } else { "" },
                    keys.join(", ")
                )
            })
            .and_then(|_| writeln!(stdout, "webhook secret: {secret}"))
            .and_then(|_| {
                writeln!(
                    stdout,
                    "tasks: in progress after {} ms, done after {} ms; ids from seed {seed}{}",
                    lifecycle.0,
                    match lifecycle.2 > lifecycle.1 {
                        true => format!("{}..{}", lifecycle.1, lifecycle.2),
                        false => lifecycle.1.to_string(),
                    },
                    if args.seed.is_some() { "" } else { " (fresh; --seed repeats a run)" }
                )?;
                for fault in &args.fault {
                    writeln!(stdout, "fault: {fault}")?;
                }
                for limit in &args.rate_limit {
                    writeln!(stdout, "rate limit: {limit}, per client address{}", match args.retry_after {
                        true => ", with Retry-After",
                        false => "",
                    })?;
                }
                for (provider, url) in &upstreams {
                    writeln!(stdout, "{provider}: forwarded to {url}, checked against its document (/__mock/deviations)")?;
                }
                match &args.replay {
                    Some(dir) => writeln!(stdout, "replaying cassettes from {}", dir.display()),
                    None => Ok(()),
                }
            })
            .and_then(|_| {
                writeln!(
                    stdout,
                    "admin: {}/__mock/health  (Ctrl-C stops)",
                    mock.url()
                )
            })
    };
    let _ = stdout.flush();
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    if !out.json {
        clear_line();
        eprintln!("mock stopped: its tasks and result URLs are gone");
    }
    Ok(0)
}
