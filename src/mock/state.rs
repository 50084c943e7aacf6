//! Mock tasks: where each one is in its life, and forgetting old ones.
//!
//! A task's phase is derived from its creation time (or its read count) and
//! the lifecycle, never stored, so it cannot drift; only what was last
//! announced by webhook, and when completion was first seen, are kept.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::config::Lifecycle;
use super::video::VideoSpec;
use crate::{Provider, Resolution};

/// Where a mock task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Accepted.
    Created,
    /// Being "generated".
    InProgress,
    /// Done; the video is served.
    Completed,
    /// Done badly.
    Failed,
}

/// How a task will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Completes (the default).
    Complete,
    /// Fails (prompt marker `[mock:fail]`, or the admin API).
    Fail,
    /// Never finishes (prompt marker `[mock:stuck]`, or the admin API).
    Stuck,
}

impl Outcome {
    /// The outcome a prompt asks for with a marker, if any.
    pub fn from_prompt(prompt: &str) -> Self {
        if prompt.contains("[mock:fail]") {
            Outcome::Fail
        } else if prompt.contains("[mock:stuck]") {
            Outcome::Stuck
        } else {
            Outcome::Complete
        }
    }
}

/// One task.
#[derive(Debug, Clone)]
pub(crate) struct TaskRecord {
    /// The mock's address as the creating request reached it, for the URLs
    /// in webhooks: empty for a task without a `webhook_url`.
    pub base_url: String,
    pub provider: Provider,
    /// Shared with the task table's key and creation order.
    pub id: Arc<str>,
    pub resolution: Resolution,
    pub video: VideoSpec,
    /// Anyfast's `action`.
    pub action: &'static str,
    pub created: Instant,
    pub created_unix: u64,
    /// On a clock lifecycle, how much later than `done_after` this task
    /// finishes (drawn from the seed when the mock spreads completions).
    pub late: Duration,
    pub reads: u32,
    pub outcome: Outcome,
    /// Set by the admin API: the phase to report from now on.
    pub forced: Option<Phase>,
    pub completed_at: Option<(Instant, u64)>,
    pub webhook_url: Option<String>,
    pub announced: Phase,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl TaskRecord {
    /// A task just created; its outcome follows any marker in `prompt`.
    /// Anyfast sets `action`, Magnific `webhook_url`, and the engine
    /// `base_url` for a task that has one.
    pub fn new(
        provider: Provider,
        id: &str,
        resolution: Resolution,
        video: VideoSpec,
        prompt: Option<&str>,
    ) -> Self {
        TaskRecord {
            base_url: String::new(),
            provider,
            id: Arc::from(id),
            resolution,
            video,
            action: "generate",
            created: Instant::now(),
            created_unix: unix_now(),
            late: Duration::ZERO,
            reads: 0,
            outcome: Outcome::from_prompt(prompt.unwrap_or_default()),
            forced: None,
            completed_at: None,
            webhook_url: None,
            announced: Phase::Created,
        }
    }

    /// The phase now, by the lifecycle; records when completion is first seen.
    pub fn phase(&mut self, lifecycle: Lifecycle) -> Phase {
        let natural = match lifecycle {
            Lifecycle::Clock {
                in_progress_after,
                done_after,
            } => {
                let age = self.created.elapsed();
                if age >= done_after + self.late {
                    Phase::Completed
                } else if age >= in_progress_after {
                    Phase::InProgress
                } else {
                    Phase::Created
                }
            }
            Lifecycle::Polls {
                in_progress_after,
                done_after,
            } => {
                if self.reads >= done_after {
                    Phase::Completed
                } else if self.reads >= in_progress_after {
                    Phase::InProgress
                } else {
                    Phase::Created
                }
            }
        };
        let phase = match (self.forced, natural, self.outcome) {
            (Some(forced), _, _) => forced,
            (None, Phase::Completed, Outcome::Fail) => Phase::Failed,
            (None, Phase::Completed, Outcome::Stuck) => Phase::InProgress,
            (None, natural, _) => natural,
        };
        // A failed task ended too: it has a time it ended.
        if matches!(phase, Phase::Completed | Phase::Failed) && self.completed_at.is_none() {
            self.completed_at = Some((Instant::now(), unix_now()));
        }
        phase
    }

    /// Whether the result URL has outlived `ttl`.
    pub fn expired(&self, ttl: Duration) -> bool {
        self.completed_at.is_some_and(|(at, _)| at.elapsed() > ttl)
    }
}

/// Tasks an insert looks at, at most, for a finished one to forget.
const SCAN: usize = 64;

/// Why the store did not take a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// It holds twice its cap in unfinished tasks and takes no more.
    Full { unfinished: usize },
    /// Another task has the id (the task held is kept).
    IdTaken,
}

/// All tasks, in creation order (unfinished ones may be moved to the back
/// by eviction), at most `cap` of them while any is finished.
#[derive(Debug)]
pub(crate) struct Tasks {
    /// foldhash: the mock's own ids, so no need for SipHash's defence.
    by_id: HashMap<Arc<str>, TaskRecord, foldhash::fast::RandomState>,
    /// Ids shared with `by_id` (so a list copies a pointer per task), each
    /// with when it finishes if that is known from the clock alone.
    order: VecDeque<Slot>,
    cap: usize,
    /// Whether the admin API ever forced a phase (then only the task itself
    /// says whether it is finished).
    forced_any: bool,
    /// Whether clock tasks finish in a spread (then a younger task may be
    /// finished while an older one is not).
    pub spread: bool,
    pub evicted: u64,
}

/// A task's place in the creation order.
#[derive(Debug, Clone)]
struct Slot {
    id: Arc<str>,
    /// On a clock lifecycle, when the task finishes (completed or failed);
    /// `None` for one that never does or that finishes by being read.
    done_at: Option<Instant>,
}

impl Tasks {
    pub fn new(cap: usize) -> Self {
        Self {
            by_id: HashMap::default(),
            order: VecDeque::new(),
            cap: cap.max(1),
            forced_any: false,
            spread: false,
            evicted: 0,
        }
    }

    /// Adds a task. Past the cap, finished tasks are forgotten, oldest
    /// first; an unfinished one never is. Each insert looks at no more than
    /// [`SCAN`] tasks (unfinished ones move to the back, so the next insert
    /// looks at others): constant work, whatever the cap holds. Unfinished
    /// tasks may take the store up to twice the cap; past that,
    /// `Err(Refused::Full)`.
    /// A task whose id is taken is refused, and the one holding it kept.
    pub fn insert(&mut self, task: TaskRecord, lifecycle: Lifecycle) -> Result<(), Refused> {
        // The task was made a moment ago: no need to read the clock again.
        let now = task.created;
        let mut looked = 0;
        while self.by_id.len() >= self.cap && looked < SCAN.min(self.order.len()) {
            let slot = self.order.pop_front().expect("full, so not empty");
            // The clock alone decides, unless the admin API forced a phase:
            // no need to touch the task itself.
            match slot.done_at.filter(|_| !self.forced_any) {
                Some(done) if now >= done => {
                    self.by_id.remove(&slot.id);
                    self.evicted += 1;
                    continue;
                }
                // Unfinished on schedule: every younger task is unfinished
                // too, unless completions are spread.
                Some(_) if self.spread => {
                    self.order.push_back(slot);
                    looked += 1;
                    continue;
                }
                Some(_) => {
                    self.order.push_back(slot);
                    break;
                }
                None => {}
            }
            let (finished, on_schedule) = match self.by_id.get_mut(&slot.id) {
                None => (true, false),
                Some(t) => (
                    matches!(t.phase(lifecycle), Phase::Completed | Phase::Failed),
                    t.forced.is_none() && t.outcome != Outcome::Stuck,
                ),
            };
            if finished {
                self.by_id.remove(&slot.id);
                self.evicted += 1;
                continue;
            }
            self.order.push_back(slot);
            looked += 1;
            // On the clock, an unfinished task that keeps to its schedule
            // means every younger one is unfinished too: stop looking.
            if on_schedule && !self.spread && matches!(lifecycle, Lifecycle::Clock { .. }) {
                break;
            }
        }
        if self.by_id.len() >= self.cap.saturating_mul(2) {
            return Err(Refused::Full {
                unfinished: self.by_id.len(),
            });
        }
        let done_at = match lifecycle {
            Lifecycle::Clock { done_after, .. } if task.outcome != Outcome::Stuck => {
                Some(task.created + done_after + task.late)
            }
            _ => None,
        };
        let id = task.id.clone();
        match self.by_id.entry(id.clone()) {
            Entry::Occupied(_) => return Err(Refused::IdTaken),
            Entry::Vacant(place) => place.insert(task),
        };
        self.order.push_back(Slot { id, done_at });
        Ok(())
    }

    /// Forces `id`'s phase from now on (the admin API).
    pub fn force(&mut self, id: &str, phase: Phase) -> Option<&mut TaskRecord> {
        let task = self.by_id.get_mut(id)?;
        task.forced = Some(phase);
        self.forced_any = true;
        Some(task)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut TaskRecord> {
        self.by_id.get_mut(id)
    }

    /// Calls `f` with each task of `provider` (and `resolution`, if
    /// given), oldest first.
    pub fn each(
        &mut self,
        provider: Provider,
        resolution: Option<Resolution>,
        mut f: impl FnMut(&Arc<str>, &mut TaskRecord),
    ) {
        for Slot { id, .. } in &self.order {
            if let Some(t) = self.by_id.get_mut(id) {
                if t.provider == provider && resolution.is_none_or(|r| t.resolution == r) {
                    f(id, t);
                }
            }
        }
    }

    /// Ids of `provider`'s tasks (and `resolution`'s, if given), oldest first.
    #[cfg(test)]
    pub fn ids(&mut self, provider: Provider, resolution: Option<Resolution>) -> Vec<String> {
        let mut ids = Vec::new();
        self.each(provider, resolution, |id, _| ids.push(id.to_string()));
        ids
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Forgets every task, and the eviction count with them.
    pub fn clear(&mut self) {
        self.by_id.clear();
        self.order.clear();
        self.forced_any = false;
        self.evicted = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str) -> TaskRecord {
        let video = VideoSpec {
            width: 854,
            height: 480,
            seconds: 5,
            audio: false,
        };
        TaskRecord::new(Provider::Magnific, id, Resolution::P480, video, None)
    }

    const POLLS: Lifecycle = Lifecycle::Polls {
        in_progress_after: 1,
        done_after: 3,
    };

    #[test]
    fn phases_follow_reads_and_outcomes() {
        let mut t = task("a");
        let seen: Vec<Phase> = (0..4)
            .map(|_| {
                let p = t.phase(POLLS);
                t.reads += 1;
                p
            })
            .collect();
        assert_eq!(
            seen,
            [
                Phase::Created,
                Phase::InProgress,
                Phase::InProgress,
                Phase::Completed
            ]
        );
        let mut failing = task("b");
        failing.outcome = Outcome::Fail;
        failing.reads = 9;
        assert_eq!(failing.phase(POLLS), Phase::Failed);
        assert_eq!(Outcome::from_prompt("a cat [mock:stuck]"), Outcome::Stuck);
    }

    #[test]
    fn eviction_forgets_finished_tasks_first() {
        let mut tasks = Tasks::new(2);
        let mut done = task("done");
        done.reads = 5;
        tasks.insert(task("running"), POLLS).unwrap();
        tasks.insert(done, POLLS).unwrap();
        tasks.insert(task("new"), POLLS).unwrap();
        assert_eq!(tasks.ids(Provider::Magnific, None), ["running", "new"]);
        // Nothing finished: an unfinished task is never forgotten; the store
        // grows to twice its cap, then refuses.
        tasks.insert(task("newer"), POLLS).unwrap();
        assert_eq!(tasks.len(), 3);
        tasks.insert(task("newest"), POLLS).unwrap();
        assert_eq!(
            tasks.insert(task("one more"), POLLS),
            Err(Refused::Full { unfinished: 4 })
        );
        assert_eq!(tasks.evicted, 1);
    }

    #[test]
    fn a_task_whose_id_is_taken_is_refused_and_the_holder_kept() {
        // Anyfast's ids are a second's timestamp and five characters, so two
        // creates in one second can draw the same one; the second used to
        // replace the first, whose client then read another task.
        let mut tasks = Tasks::new(10);
        let mut first = task("cgt-1-abcde");
        first.outcome = Outcome::Fail;
        tasks.insert(first, POLLS).unwrap();
        assert_eq!(
            tasks.insert(task("cgt-1-abcde"), POLLS),
            Err(Refused::IdTaken)
        );
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            tasks.get_mut("cgt-1-abcde").map(|t| t.outcome),
            Some(Outcome::Fail)
        );
        assert_eq!(tasks.ids(Provider::Magnific, None), ["cgt-1-abcde"]);
    }

    #[test]
    fn on_the_clock_one_unfinished_task_on_schedule_ends_the_look() {
        // Tasks finish in creation order on the clock, so the oldest being
        // unfinished says the rest are: an insert past the cap looks at that
        // one alone (it used to look at 64, each a clock read and a hash).
        let clock = Lifecycle::Clock {
            in_progress_after: Duration::from_secs(60),
            done_after: Duration::from_secs(120),
        };
        let mut tasks = Tasks::new(100);
        for i in 0..100 {
            tasks.insert(task(&format!("t{i}")), clock).unwrap();
        }
        tasks.insert(task("new"), clock).unwrap();
        let ids = tasks.ids(Provider::Magnific, None);
        assert_eq!(&ids[..2], ["t1", "t2"]);
        assert_eq!(&ids[99..], ["t0", "new"]);
    }

    #[test]
    fn a_task_forced_unfinished_is_kept_although_the_clock_says_done() {
        let instant = Lifecycle::Clock {
            in_progress_after: Duration::ZERO,
            done_after: Duration::ZERO,
        };
        let mut tasks = Tasks::new(2);
        tasks.insert(task("forced"), instant).unwrap();
        tasks.force("forced", Phase::InProgress).unwrap();
        tasks.insert(task("done"), instant).unwrap();
        tasks.insert(task("new"), instant).unwrap();
        let ids = tasks.ids(Provider::Magnific, None);
        assert!(ids.contains(&"forced".to_string()), "{ids:?}");
        assert!(!ids.contains(&"done".to_string()), "{ids:?}");
    }

    #[test]
    fn a_cap_full_of_stuck_tasks_costs_each_insert_a_bounded_look() {
        let mut tasks = Tasks::new(10_000);
        for i in 0..10_000 {
            tasks.insert(task(&format!("stuck-{i}")), POLLS).unwrap();
        }
        // Each insert past the cap looks at SCAN tasks at most: 10,000 more
        // inserts would be 10^8 looks if each scanned the whole store.
        let mut done = task("done");
        done.reads = 5;
        tasks.insert(done, POLLS).unwrap();
        for i in 0..5_000 {
            tasks.insert(task(&format!("more-{i}")), POLLS).unwrap();
        }
        assert!(tasks.len() <= 20_000);
        assert!(tasks
            .ids(Provider::Magnific, None)
            .iter()
            .any(|id| id == "stuck-0"));
    }
}
