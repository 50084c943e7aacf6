//! Each provider's behaviour in the mock, one file each, mirroring
//! `src/providers/`: how it refuses a request, the shape of its errors, its
//! task ids, what a create stores and answers, and how it renders a task in
//! its own vocabulary. The engine does the rest the same way for all three.
//!
//! [`Behaviour`] is the one list of what a provider must decide; [`of`] is
//! made from the provider table, so adding a provider makes the compiler ask
//! for its file, and the file for every answer.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

pub(crate) use super::proxy::KnownFault;
use super::state::{Phase, TaskRecord};
use super::validate::Problem;
use crate::{Provider, Resolution};

/// What an operation does, whichever provider serves it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Creates a task; the resolution when the path fixes it.
    Create(Option<Resolution>),
    /// Lists tasks (of one resolution, if given).
    List(Option<Resolution>),
    /// Reads one task.
    Get(String),
    /// Streams a task's video.
    Content(String),
}

/// A provider as the mock plays it.
pub(crate) trait Behaviour: Sync {
    /// What `operation_id` (one of this provider's) does, with its path
    /// parameter; `None` for an operation the mock does not know.
    fn op(&self, operation_id: &str, param: Option<String>) -> Option<Op>;

    /// The 401 for a missing or unknown key, `None` when `known` accepts it.
    fn refusal(
        &self,
        headers: &HeaderMap,
        known: &dyn Fn(&str) -> bool,
    ) -> Option<http::Response<Bytes>>;

    /// The provider's error body for `status`.
    fn error(&self, status: u16, message: &str) -> http::Response<Bytes>;

    /// What the provider says for `status` where its document gives no
    /// example for the operation (an injected fault): its own words, when
    /// known, else `None` for the status's standard reason.
    fn status_message(&self, _status: u16) -> Option<&'static str> {
        None
    }

    /// The 400 naming every field that broke the document's rules.
    fn invalid(&self, problems: &[Problem], accepts_problem_json: bool) -> http::Response<Bytes>;

    /// A fresh task id in the provider's style.
    fn new_id(&self, rng: &mut fastrand::Rng) -> String;

    /// The task a valid create `body` describes (the path's resolution, if
    /// it fixes one), and the create's answer, serialised (from a typed
    /// shape: the busiest answer the mock gives).
    fn create(
        &self,
        resolution: Option<Resolution>,
        body: &Value,
        id: &str,
    ) -> (TaskRecord, Vec<u8>);

    /// The answer for an id no task has.
    fn unknown_task(&self) -> http::Response<Bytes>;

    /// A task, in the provider's get-answer shape.
    fn task(&self, task: &TaskRecord, phase: Phase, base: &str) -> Value;

    /// A task's status word for `phase`, in the provider's vocabulary.
    fn status_word(&self, phase: Phase) -> &'static str;

    /// The answer when a task's video is asked for before it is done.
    fn not_ready(&self, phase: Phase) -> http::Response<Bytes>;

    /// Faults the provider's document is known to have (FACTS.md), so that
    /// the proxy labels the deviations they explain.
    fn known_faults(&self) -> &'static [KnownFault];

    /// The webhook payload announcing `phase`, for providers that send them.
    fn announcement(&self, task: &TaskRecord, phase: Phase) -> Option<Value>;
}

macro_rules! behaviours {
    ($($module:ident $variant:ident $file:literal $summary:literal;)*) => {
        $(mod $module;)*

        /// The behaviour of `provider`: the unit struct its file names after it.
        pub(crate) fn of(provider: Provider) -> &'static dyn Behaviour {
            match provider {
                $(Provider::$variant => &$module::$variant,)*
            }
        }
    };
}
for_each_provider!(behaviours);

/// The video object Anyfast and Powertokens both answer a create with
/// (fields in the order the answer has always had them).
#[derive(serde::Serialize)]
pub(crate) struct VideoCreated<'a> {
    pub created_at: u64,
    pub id: &'a str,
    pub model: &'static str,
    pub object: &'static str,
    pub progress: u8,
    pub status: &'static str,
    pub task_id: &'a str,
}

impl VideoCreated<'_> {
    /// Serialised.
    pub fn to_vec(&self) -> Vec<u8> {
        to_json(self)
    }
}

/// `value` serialised, into a buffer sized for a small answer.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    serde_json::to_writer(&mut out, value).expect("a plain struct serialises");
    out
}

/// `n` characters drawn evenly from `a-z0-9`, the alphabet of the gateways'
/// task ids.
pub(crate) fn lowercase_alphanumeric(rng: &mut fastrand::Rng, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect()
}

/// Every problem as `name: reason`, joined by `; `: the message of the
/// gateways' 400s, which have no field for a list.
pub(crate) fn problem_list(problems: &[Problem]) -> String {
    let all: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.name, p.reason))
        .collect();
    all.join("; ")
}

/// Where a result video lives on the mock.
pub(crate) fn video_url(base: &str, id: &str) -> String {
    format!("{base}/__mock/videos/{id}.mp4")
}

/// `(w, h)` for an aspect-ratio word in any provider's form; `adaptive` and
/// unknown words are 16:9.
pub(crate) fn ratio(word: Option<&str>) -> (u32, u32) {
    word.and_then(|w| w.parse::<crate::AspectRatio>().ok())
        .and_then(crate::AspectRatio::ratio)
        .unwrap_or((16, 9))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::OPERATIONS;

    #[test]
    fn gateway_ids_draw_every_character_of_their_alphabet() {
        let mut rng = fastrand::Rng::with_seed(1);
        let drawn = lowercase_alphanumeric(&mut rng, 3_600);
        assert_eq!(drawn.len(), 3_600);
        let mut seen: Vec<char> = drawn.chars().collect();
        seen.sort_unstable();
        seen.dedup();
        let alphabet: Vec<char> = ('0'..='9').chain('a'..='z').collect();
        assert_eq!(seen, alphabet);
        // Evenly: no character is drawn more than twice its share (100).
        assert!(alphabet
            .iter()
            .all(|c| drawn.chars().filter(|d| d == c).count() < 200));
    }

    #[test]
    fn every_documented_operation_has_a_behaviour() {
        for op in OPERATIONS {
            let param = op.path.contains('{').then(|| "x".to_string());
            assert!(
                of(op.provider).op(op.operation_id, param).is_some(),
                "{} has no behaviour in the mock",
                op.operation_id
            );
        }
    }
}
