//! An optional client-side limit on request rate, so a busy program waits
//! instead of collecting 429s. Each window allows at most `requests` in any
//! span of `per`; a request waits until every window has room.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;
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
        Self::documented(crate::Provider::Magnific)
    }

    /// The limit a provider documents (none: no window).
    pub fn documented(provider: crate::Provider) -> Self {
        Self {
            windows: provider.spec().rate_limit.to_vec(),
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new()
    }
}

/// What a server's window and ours may disagree by: a request is counted
/// when it is sent here and when it arrives there, and arrivals jitter.
fn margin(per: Duration) -> Duration {
    (per / 50).min(Duration::from_millis(250))
}

/// The shared state of a [`RateLimit`]: when recent requests were sent, and
/// the pace learned from 429s.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    limit: RateLimit,
    state: Arc<Mutex<State>>,
}

/// Additive increase, multiplicative decrease: a 429 halves the pace (at
/// most once a second, since the requests already on their way were sent
/// at the old pace), and every second without one adds a request a second,
/// until the pace is back above the windows' own and is dropped.
#[derive(Debug)]
struct State {
    sent: VecDeque<Instant>,
    /// Requests a second, while slowed by 429s.
    pace: Option<f64>,
    /// No request before this (a `Retry-After`).
    hold_until: Option<Instant>,
    changed: Instant,
    /// 429s seen in all.
    limited: u64,
}

/// Requests kept to measure the recent rate when no window is set.
const RECENT: usize = 256;
/// The least pace a run of 429s brings it down to, in requests a second.
const SLOWEST: f64 = 0.2;
/// The longest `Retry-After` obeyed for all calls (a longer one is a
/// failure of that call, by the retry policy).
const LONGEST_HOLD: Duration = Duration::from_secs(60);

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            state: Arc::new(Mutex::new(State {
                sent: VecDeque::new(),
                pace: None,
                hold_until: None,
                changed: Instant::now(),
                limited: 0,
            })),
        }
    }

    /// The windows' own sustained pace, in requests a second (none: no cap).
    fn ceiling(&self) -> f64 {
        self.limit
            .windows
            .iter()
            .map(|(n, per)| f64::from(*n) / per.as_secs_f64())
            .fold(f64::INFINITY, f64::min)
    }

    /// Waits until a request may be sent, and counts it.
    pub(crate) async fn acquire(&self) {
        while let Some(at) = self.take() {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Counts a request if one may be sent now (`None`); else when one may.
    /// The lock is a plain one, held for a few comparisons and never
    /// across a wait.
    fn take(&self) -> Option<Instant> {
        let keep = self
            .limit
            .windows
            .iter()
            .map(|(n, _)| *n as usize)
            .max()
            .unwrap_or(0)
            .max(RECENT);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let sent = &state.sent;
        let by_windows = self.limit.windows.iter().filter_map(|(n, per)| {
            let n = *n as usize;
            (sent.len() >= n).then(|| sent[sent.len() - n] + *per + margin(*per))
        });
        let by_pace = state
            .pace
            .zip(sent.back())
            .map(|(pace, last)| *last + Duration::from_secs_f64(1.0 / pace));
        let ready_at = by_windows
            .chain(by_pace)
            .chain(state.hold_until)
            .filter(|at| *at > now)
            .max();
        if ready_at.is_none() {
            state.sent.push_back(now);
            while state.sent.len() > keep {
                state.sent.pop_front();
            }
        }
        ready_at
    }

    /// A call was answered 429: slow down, and hold every call for
    /// `retry_after` when the server said so.
    pub(crate) async fn limited(&self, retry_after: Option<Duration>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        state.limited += 1;
        if let Some(wait) = retry_after {
            let until = now + wait.min(LONGEST_HOLD);
            state.hold_until = Some(state.hold_until.map_or(until, |h| h.max(until)));
        }
        if state.pace.is_some() && now.duration_since(state.changed) < Duration::from_secs(1) {
            return;
        }
        let second_ago = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        let recent = state
            .sent
            .iter()
            .filter(|at| **at >= second_ago)
            .count()
            .max(1) as f64;
        let pace = state.pace.map_or(recent, |p| p.min(recent));
        state.pace = Some((pace / 2.0).max(SLOWEST));
        state.changed = now;
        tracing::warn!(pace = state.pace, "429: slowing down");
    }

    /// A call was answered without a 429: the pace recovers.
    pub(crate) async fn answered(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(pace) = state.pace else {
            return;
        };
        let now = Instant::now();
        let seconds = now.duration_since(state.changed).as_secs_f64();
        if seconds < 1.0 {
            return;
        }
        let pace = pace + seconds;
        state.pace = (pace < self.ceiling()).then_some(pace);
        state.changed = now;
    }

    /// 429s seen so far.
    pub(crate) async fn limited_count(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).limited
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
        // 3 at t=0, 3 at t=1s, the 7th at t=2s, each second padded by the
        // margin for arrival jitter (20 ms).
        assert_eq!(start.elapsed(), Duration::from_millis(2040));
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
        assert_eq!(start.elapsed(), Duration::from_millis(1020));
    }

    #[tokio::test(start_paused = true)]
    async fn the_two_minute_window_caps_sustained_bursts() {
        let limiter = Limiter::new(RateLimit::magnific());
        let start = Instant::now();
        for _ in 0..1201 {
            limiter.acquire().await;
        }
        // 1200 fit in the first 24.5 s at 50/s; the 1201st waits for
        // t=120s, and the margin (250 ms).
        assert_eq!(start.elapsed(), Duration::from_millis(120_250));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_halves_the_pace_and_quiet_seconds_bring_it_back() {
        let limiter = Limiter::new(RateLimit::new());
        for _ in 0..20 {
            limiter.acquire().await;
        }
        limiter.limited(None).await;
        // A second 429 within the second (sent at the old pace) changes nothing more.
        limiter.limited(None).await;
        // 20 sent in the last second: the pace is now 10 a second.
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(30)).await;
        limiter.answered().await;
        // 10 + about 30 a second now: the first of 40 goes at once, 39
        // follow at that pace.
        let start = Instant::now();
        for _ in 0..40 {
            limiter.acquire().await;
        }
        let (fast, slow) = (39.0 / 41.0, 39.0 / 40.0);
        let took = start.elapsed().as_secs_f64();
        assert!(took >= fast - 0.002 && took <= slow + 0.002, "{took}");
        assert_eq!(limiter.limited_count().await, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_call() {
        let limiter = Limiter::new(RateLimit::new());
        limiter.acquire().await;
        limiter.limited(Some(Duration::from_secs(3))).await;
        let start = Instant::now();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }
}
