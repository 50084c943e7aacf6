//! A provider's rate limit, played per client address: sliding windows of
//! "at most N requests in any span of T", as [`crate::RateLimit`] describes
//! them, counted when a request arrives. A request past any window is
//! answered 429 in the provider's words (Magnific documents
//! `{"message":"Too many requests"}`), with `Retry-After` only when asked
//! for: no provider documents it.
//!
//! Bounded: at most [`MAX_ADDRESSES`] addresses are tracked, each keeping
//! no more arrivals than its largest window counts; past that, addresses
//! idle for a whole window are forgotten, and a new one shares one bucket.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Provider, RateLimit};

/// Client addresses tracked at once.
pub const MAX_ADDRESSES: usize = 1024;

/// What a mock enforces: a limit per provider, and whether 429s say when to
/// come back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimits {
    /// Each provider's windows (a provider not listed is not limited).
    pub limits: Vec<(Provider, RateLimit)>,
    /// Send `Retry-After` (whole seconds until the window has room) with a 429.
    pub retry_after: bool,
}

impl RateLimits {
    /// Parses `PROVIDER` (its documented limit, where it documents one) or
    /// `PROVIDER=N/SECS[,N/SECS...]`, the form of `--rate-limit`.
    pub fn parse_one(spec: &str) -> Result<(Provider, RateLimit), String> {
        let (name, windows) = match spec.split_once('=') {
            Some((name, windows)) => (name, Some(windows)),
            None => (spec, None),
        };
        let provider: Provider = name
            .trim()
            .parse()
            .map_err(|_| format!("`{name}` is not a provider ({})", Provider::names()))?;
        let Some(windows) = windows else {
            return if provider.spec().rate_limit.is_empty() {
                Err(format!(
                    "{provider} documents no limit: give one, such as `{provider}=20/1,1200/60` (requests/seconds)"
                ))
            } else {
                Ok((provider, RateLimit::documented(provider)))
            };
        };
        let mut limit = RateLimit::new();
        for window in windows.split(',') {
            let parsed = window.split_once('/').and_then(|(n, secs)| {
                let n: u32 = n.trim().parse().ok().filter(|n| *n > 0)?;
                let secs: f64 = secs
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())?;
                Some((n, Duration::from_secs_f64(secs)))
            });
            let Some((n, per)) = parsed else {
                return Err(format!(
                    "`{window}` is not REQUESTS/SECONDS with both above zero (such as 50/1)"
                ));
            };
            limit = limit.window(n, per);
        }
        Ok((provider, limit))
    }
}

/// The arrivals of one address for one provider.
#[derive(Debug, Default)]
struct Arrivals(VecDeque<Instant>);

/// The state of a mock's limits.
#[derive(Debug)]
pub(crate) struct Limits {
    config: RateLimits,
    seen: Mutex<HashMap<(Provider, IpAddr), Arrivals>>,
}

/// Where addresses share a bucket once [`MAX_ADDRESSES`] are tracked.
const OVERFLOW: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl Limits {
    pub(crate) fn new(config: RateLimits) -> Self {
        Self {
            config,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a request from `peer` to `provider` arriving `now` is within
    /// the limit (and counts it); if not, how long until it would be.
    pub(crate) fn admit(
        &self,
        provider: Provider,
        peer: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Duration> {
        let Some((_, limit)) = self.config.limits.iter().find(|(p, _)| *p == provider) else {
            return Ok(());
        };
        let windows = limit.windows();
        let keep = windows.iter().map(|(n, _)| *n as usize).max().unwrap_or(0);
        let longest = windows
            .iter()
            .map(|(_, per)| *per)
            .max()
            .unwrap_or_default();
        let mut seen = super::engine::lock(&self.seen);
        let mut key = (provider, peer.unwrap_or(OVERFLOW));
        if !seen.contains_key(&key) && seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, a| {
                a.0.back()
                    .is_some_and(|last| now.duration_since(*last) < longest)
            });
            if seen.len() >= MAX_ADDRESSES {
                key.1 = OVERFLOW;
            }
        }
        let arrivals = &mut seen.entry(key).or_default().0;
        let wait = windows
            .iter()
            .filter_map(|(n, per)| {
                let n = *n as usize;
                let oldest = *arrivals.get(arrivals.len().checked_sub(n)?)?;
                let free_at = oldest + *per;
                (free_at > now).then(|| free_at - now)
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        arrivals.push_back(now);
        while arrivals.len() > keep {
            arrivals.pop_front();
        }
        Ok(())
    }

    /// Whether a 429 says when to come back.
    pub(crate) fn retry_after(&self) -> bool {
        self.config.retry_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn magnific() -> Limits {
        Limits::new(RateLimits {
            limits: vec![(Provider::Magnific, RateLimit::magnific())],
            retry_after: false,
        })
    }

    #[test]
    fn fifty_a_second_then_429_until_the_second_is_over() {
        let limits = magnific();
        let (t0, peer) = (Instant::now(), Some(IpAddr::from([10, 0, 0, 1])));
        for _ in 0..50 {
            assert_eq!(limits.admit(Provider::Magnific, peer, t0), Ok(()));
        }
        let refused = limits.admit(Provider::Magnific, peer, t0 + Duration::from_millis(400));
        assert_eq!(refused, Err(Duration::from_millis(600)));
        // Another address has its own windows; another provider none.
        assert_eq!(
            limits.admit(Provider::Magnific, Some(IpAddr::from([10, 0, 0, 2])), t0),
            Ok(())
        );
        assert_eq!(limits.admit(Provider::Anyfast, peer, t0), Ok(()));
        assert_eq!(
            limits.admit(Provider::Magnific, peer, t0 + Duration::from_secs(1)),
            Ok(())
        );
    }

    #[test]
    fn the_two_minute_average_holds_after_the_bursts() {
        let limits = magnific();
        let t0 = Instant::now();
        let mut admitted = 0;
        // 50 a second for 30 s: 1,500 asked, 1,200 fit in two minutes.
        for i in 0..1500u64 {
            let at = t0 + Duration::from_millis(i * 20);
            admitted += limits.admit(Provider::Magnific, None, at).is_ok() as u32;
        }
        assert_eq!(admitted, 1200);
        assert!(limits
            .admit(Provider::Magnific, None, t0 + Duration::from_secs(119))
            .is_err());
        assert!(limits
            .admit(Provider::Magnific, None, t0 + Duration::from_secs(121))
            .is_ok());
    }

    #[test]
    fn addresses_past_the_bound_share_one_bucket() {
        let limits = Limits::new(RateLimits {
            limits: vec![(
                Provider::Anyfast,
                RateLimit::new().window(1, Duration::from_secs(60)),
            )],
            retry_after: false,
        });
        let now = Instant::now();
        for i in 1..=MAX_ADDRESSES as u32 {
            let peer = Some(IpAddr::from(i.to_be_bytes()));
            assert!(limits.admit(Provider::Anyfast, peer, now).is_ok());
        }
        let late = Some(IpAddr::from([200, 0, 0, 1]));
        let later = Some(IpAddr::from([200, 0, 0, 2]));
        assert!(limits.admit(Provider::Anyfast, late, now).is_ok());
        assert!(
            limits.admit(Provider::Anyfast, later, now).is_err(),
            "the shared bucket is full"
        );
        assert_eq!(
            super::super::engine::lock(&limits.seen).len(),
            MAX_ADDRESSES + 1
        );
    }

    #[test]
    fn specs_parse_or_say_what_is_wrong() {
        assert_eq!(
            RateLimits::parse_one("magnific").unwrap().1,
            RateLimit::magnific()
        );
        let (p, l) = RateLimits::parse_one("anyfast=20/1,1200/60").unwrap();
        assert_eq!(p, Provider::Anyfast);
        assert_eq!(
            l,
            RateLimit::new()
                .window(20, Duration::from_secs(1))
                .window(1200, Duration::from_secs(60))
        );
        assert!(RateLimits::parse_one("anyfast")
            .unwrap_err()
            .contains("documents no limit"));
        assert!(RateLimits::parse_one("magnific=0/1")
            .unwrap_err()
            .contains("above zero"));
        assert!(RateLimits::parse_one("kling")
            .unwrap_err()
            .contains("not a provider"));
    }
}
