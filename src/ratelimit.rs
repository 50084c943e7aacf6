//! An optional client-side limit on request rate, so a busy program waits
//! instead of collecting 429s. Each window allows at most `requests` in any
//! span of `per`; a request waits until every window has room.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Limits on request rate: at most N requests in any span of T, for each window.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    windows: Vec<(u32, Duration)>,
}

impl RateLimit {
    /// No window yet; add some with [`RateLimit::window`].
    pub fn new() -> Self {
        Self {
            windows: Vec::new(),
        }
    }

    /// Adds a window: at most `requests` in any span of `per`.
    pub fn window(mut self, requests: u32, per: Duration) -> Self {
        self.windows.push((requests.max(1), per));
        self
    }

    /// The windows: (at most this many requests, in any span this long).
    pub fn windows(&self) -> &[(u32, Duration)] {
        &self.windows
    }

    /// Magnific's documented limits, per IP: bursts of up to 50 requests a
    /// second, and on average 10 a second over two minutes (1200 per 120 s).
    pub fn magnific() -> Self {
        Self::new()
            .window(50, Duration::from_secs(1))
            .window(1200, Duration::from_secs(120))
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new()
    }
}

/// The shared state of a [`RateLimit`]: when recent requests were sent.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    limit: RateLimit,
    sent: Arc<Mutex<VecDeque<Instant>>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            sent: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Waits until a request may be sent, and counts it.
    pub(crate) async fn acquire(&self) {
        let keep = self
            .limit
            .windows
            .iter()
            .map(|(n, _)| *n as usize)
            .max()
            .unwrap_or(0);
        loop {
            let mut sent = self.sent.lock().await;
            let now = Instant::now();
            let ready_at = self
                .limit
                .windows
                .iter()
                .filter_map(|(n, per)| {
                    let n = *n as usize;
                    (sent.len() >= n)
                        .then(|| sent[sent.len() - n] + *per)
                        .filter(|at| *at > now)
                })
                .max();
            match ready_at {
                None => {
                    sent.push_back(now);
                    while sent.len() > keep {
                        sent.pop_front();
                    }
                    return;
                }
                Some(at) => {
                    drop(sent);
                    tokio::time::sleep_until(at).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_window_spreads_requests_out() {
        let limiter = Limiter::new(RateLimit::new().window(3, Duration::from_secs(1)));
        let start = Instant::now();
        for _ in 0..7 {
            limiter.acquire().await;
        }
        // 3 at t=0, 3 at t=1s, the 7th at t=2s.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn magnific_preset_bursts_to_50_then_waits() {
        let limiter = Limiter::new(RateLimit::magnific());
        let start = Instant::now();
        for _ in 0..50 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_two_minute_window_caps_sustained_bursts() {
        let limiter = Limiter::new(RateLimit::magnific());
        let start = Instant::now();
        for _ in 0..1201 {
            limiter.acquire().await;
        }
        // 1200 fit in the first 24 s at 50/s; the 1201st waits for t=120s.
        assert_eq!(start.elapsed(), Duration::from_secs(120));
    }
}
