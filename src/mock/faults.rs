//! Faults injected on demand: per route, always, by probability, or on a
//! schedule. Written `ROUTE:KIND[:WHEN]`, for example
//! `create_video_seedance_2_mini_720p:503:every=2`, `*:latency=250:p=0.1`,
//! `getVideoTask:429=3:first=1`, `*:drop:p=0.05`, `video:latency=3000`.
//! ROUTE is an operation id, `video` (result URLs), a path prefix starting
//! with `/`, or `*`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::engine::lock;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// 429 with `Retry-After: secs`.
    RateLimited {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// This status (500 or 503, say) with the provider's body for it.
    Status(u16),
    /// The answer comes this much later.
    Latency(Duration),
    /// The connection is closed without an answer.
    Drop,
}

/// What a fired fault does to the answer; the engine applies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Effect {
    /// Answer this much later.
    Delay(Duration),
    /// Close the connection unanswered.
    Drop,
    /// Answer this status instead (with `Retry-After`, if given).
    Answer {
        /// The status.
        status: u16,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
}

impl FaultKind {
    /// What this fault does.
    pub(crate) fn effect(self) -> Effect {
        match self {
            FaultKind::RateLimited { retry_after_secs } => Effect::Answer {
                status: 429,
                retry_after: Some(retry_after_secs),
            },
            FaultKind::Status(status) => Effect::Answer {
                status,
                retry_after: None,
            },
            FaultKind::Latency(d) => Effect::Delay(d),
            FaultKind::Drop => Effect::Drop,
        }
    }
}

/// When it goes wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Each matching request with this probability (seeded).
    Probability(f64),
    /// Every n-th matching request.
    Every(u32),
    /// The first n matching requests.
    First(u32),
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// `*`, an operation id, or a path prefix.
    pub route: String,
    /// What goes wrong.
    pub kind: FaultKind,
    /// When.
    pub when: Trigger,
}

impl Fault {
    /// Whether this rule covers a request for `operation` at `path`.
    pub fn covers(&self, operation: &str, path: &str) -> bool {
        self.route == "*"
            || self.route == operation
            || (self.route.starts_with('/') && path.starts_with(&self.route))
    }

    /// Whether the `n`-th (1-based) matching request is hit, given a die roll in [0, 1).
    pub fn fires(&self, n: u32, roll: f64) -> bool {
        match self.when {
            Trigger::Probability(p) => roll < p,
            Trigger::Every(k) => k > 0 && n.is_multiple_of(k),
            Trigger::First(k) => n <= k,
        }
    }
}

/// The faults in force, each with how many requests it has covered.
///
/// Most mocks run with none, and every request asks: whether there are any
/// is a flag read without taking the lock.
pub(crate) struct FaultTable {
    any: AtomicBool,
    rules: Mutex<Vec<(Fault, u32)>>,
}

impl FaultTable {
    pub fn new(faults: &[Fault]) -> Self {
        FaultTable {
            any: AtomicBool::new(!faults.is_empty()),
            rules: Mutex::new(faults.iter().cloned().map(|f| (f, 0)).collect()),
        }
    }

    /// Adds rules after those in force.
    pub fn extend(&self, faults: Vec<Fault>) {
        let mut rules = lock(&self.rules);
        rules.extend(faults.into_iter().map(|f| (f, 0)));
        self.any.store(!rules.is_empty(), Ordering::Release);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = lock(&self.rules);
        rules.clear();
        self.any.store(false, Ordering::Release);
    }

    /// The rules in force, as written.
    pub fn rules(&self) -> Vec<String> {
        lock(&self.rules)
            .iter()
            .map(|(f, _)| f.to_string())
            .collect()
    }

    /// The effects of the rules that fire for this request, in order;
    /// `roll` throws a die in [0, 1) for a probability.
    pub fn fire(&self, operation: &str, path: &str, mut roll: impl FnMut() -> f64) -> Vec<Effect> {
        if !self.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        lock(&self.rules)
            .iter_mut()
            .filter(|(f, _)| f.covers(operation, path))
            .filter_map(|(f, seen)| {
                *seen += 1;
                f.fires(*seen, roll()).then_some(f.kind.effect())
            })
            .collect()
    }
}

/// Why a fault rule did not parse: the rule as written, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault `{input}`: {reason} (expected ROUTE:KIND[:WHEN]; ROUTE `*`, an operation id or a path prefix; KIND one of 429[=SECS], 500, 503, STATUS, latency=MS, drop; WHEN one of p=0.1, every=N, first=N)")]
pub struct FaultParseError {
    /// The rule, as written.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Fault {
    type Err = FaultParseError;
    fn from_str(s: &str) -> Result<Self, FaultParseError> {
        let bad = |why: &str| FaultParseError {
            input: s.to_string(),
            reason: why.to_string(),
        };
        let mut parts = s.splitn(3, ':');
        let route = parts
            .next()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| bad("no route"))?
            .to_string();
        let known = crate::fixtures::OPERATIONS
            .iter()
            .any(|o| o.operation_id == route);
        let known = known || route == super::engine::VIDEO_OPERATION;
        if route != "*" && !route.starts_with('/') && !known {
            return Err(bad(&format!(
                "`{route}` is no operation of the three documents (nor `*` or a path starting with `/`)"
            )));
        }
        let kind = parts.next().ok_or_else(|| bad("no kind"))?;
        let kind = match kind.split_once('=') {
            Some(("429", secs)) => FaultKind::RateLimited {
                retry_after_secs: secs
                    .parse()
                    .map_err(|_| bad("429=SECS needs whole seconds"))?,
            },
            None if kind == "429" => FaultKind::RateLimited {
                retry_after_secs: 1,
            },
            Some(("latency", ms)) => FaultKind::Latency(Duration::from_millis(
                ms.parse()
                    .map_err(|_| bad("latency=MS needs milliseconds"))?,
            )),
            None if kind == "drop" => FaultKind::Drop,
            None => match kind.parse::<u16>() {
                Ok(code) if (400..=599).contains(&code) => FaultKind::Status(code),
                _ => return Err(bad("unknown kind")),
            },
            Some(_) => return Err(bad("unknown kind")),
        };
        let when = match parts.next() {
            None => Trigger::Probability(1.0),
            Some(w) => match w.split_once('=') {
                Some(("p", p)) => Trigger::Probability(
                    p.parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| bad("p= needs 0..1"))?,
                ),
                Some(("every", n)) => Trigger::Every(
                    n.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad("every= needs N > 0"))?,
                ),
                Some(("first", n)) => Trigger::First(n.parse().map_err(|_| bad("first= needs N"))?),
                _ => return Err(bad("unknown WHEN")),
            },
        };
        Ok(Fault { route, kind, when })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FaultKind::RateLimited { retry_after_secs } => format!("429={retry_after_secs}"),
            FaultKind::Status(code) => code.to_string(),
            FaultKind::Latency(d) => format!("latency={}", d.as_millis()),
            FaultKind::Drop => "drop".into(),
        };
        let when = match self.when {
            Trigger::Probability(p) => format!("p={p}"),
            Trigger::Every(n) => format!("every={n}"),
            Trigger::First(n) => format!("first={n}"),
        };
        write!(f, "{}:{kind}:{when}", self.route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_print_back() {
        for s in [
            "*:503:every=2",
            "getVideoTask:429=3:first=1",
            "/v1/videos:latency=250:p=0.5",
            "*:drop:p=1",
        ] {
            assert_eq!(s.parse::<Fault>().unwrap().to_string(), s);
        }
        assert_eq!(
            "*:500".parse::<Fault>().unwrap().when,
            Trigger::Probability(1.0)
        );
        let err = "*:teapot".parse::<Fault>().unwrap_err();
        assert_eq!(
            (err.input.as_str(), err.reason.as_str()),
            ("*:teapot", "unknown kind")
        );
        assert!("*:503:p=2".parse::<Fault>().is_err());
        // A route that names nothing is refused, not accepted silently.
        let err = "nonexistent_op:503".parse::<Fault>().unwrap_err();
        assert!(err.reason.contains("no operation"), "{err}");
        assert!("getVideoTask:503".parse::<Fault>().is_ok());
        assert!("/__mock/videos:503:first=2".parse::<Fault>().is_ok());
    }

    #[test]
    fn schedules_fire_when_they_say() {
        let every = "*:503:every=3".parse::<Fault>().unwrap();
        assert_eq!(
            (1..=6).filter(|n| every.fires(*n, 0.9)).collect::<Vec<_>>(),
            [3, 6]
        );
        let first = "*:503:first=2".parse::<Fault>().unwrap();
        assert_eq!(
            (1..=4).filter(|n| first.fires(*n, 0.9)).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!("/v1/videos:503"
            .parse::<Fault>()
            .unwrap()
            .covers("x", "/v1/videos/abc"));
    }
}
