//! The waiter, on paused tokio time or an injected clock: a ten-minute wait
//! finishes in milliseconds of real time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seedance_mini::wait::{wait_for, AcceptorState, Clock};
use seedance_mini::{Error, Provider, Task, TaskStatus, WaitOptions};

fn task(status: TaskStatus) -> Task {
    Task::new(Provider::Magnific, "t1", status)
}

/// Polls: in progress `n` times, then `last`.
fn script(
    n: u32,
    last: TaskStatus,
) -> (
    Arc<AtomicU32>,
    impl FnMut() -> std::future::Ready<Result<Task, Error>>,
) {
    let polls = Arc::new(AtomicU32::new(0));
    let counter = polls.clone();
    (polls, move || {
        let i = counter.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(task(if i < n {
            TaskStatus::InProgress
        } else {
            last.clone()
        })))
    })
}

#[tokio::test(start_paused = true)]
async fn a_ten_minute_wait_that_runs_out_takes_milliseconds() {
    let real = Instant::now();
    let (polls, poll) = script(u32::MAX, TaskStatus::Completed);
    let options = WaitOptions::new(Duration::from_secs(600))
        .delays(Duration::from_secs(2), Duration::from_secs(20));
    let err = wait_for(&options, poll).await.unwrap_err();
    match err {
        Error::ExceededMaxWait {
            elapsed,
            polls: n,
            last,
        } => {
            assert!(
                // It stops once less than min_delay (2 s) of the 600 s remains.
                elapsed > Duration::from_secs(598) && elapsed <= Duration::from_secs(600),
                "{elapsed:?}"
            );
            assert_eq!(n, polls.load(Ordering::SeqCst));
            // 2 s doubling to 20 s caps: at least 600/20 = 30 polls, at most 300.
            assert!((30..=300).contains(&n), "{n}");
            assert_eq!(last.unwrap().status, TaskStatus::InProgress);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        real.elapsed() < Duration::from_secs(2),
        "paused time was not used: {:?}",
        real.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn success_returns_the_final_task_and_reports_every_poll() {
    let (_, poll) = script(5, TaskStatus::Completed);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = WaitOptions::new(Duration::from_secs(600))
        .on_progress(move |t| log.lock().unwrap().push(t.status.clone()));
    let done = wait_for(&options, poll).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(seen.lock().unwrap().len(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_is_a_typed_error_carrying_the_task() {
    for end in [
        TaskStatus::Failed,
        TaskStatus::Cancelled,
        TaskStatus::Expired,
    ] {
        let (_, poll) = script(2, end.clone());
        match wait_for(&WaitOptions::new(Duration::from_secs(60)), poll)
            .await
            .unwrap_err()
        {
            Error::TaskFailed(t) => assert_eq!(t.status, end),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_transient_poll_failure_does_not_fail_the_job() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let poll = move || {
        let i = c.fetch_add(1, Ordering::SeqCst);
        std::future::ready(match i {
            0 => Err(Error::Api {
                provider: Provider::Magnific,
                status: 503,
                message: "down".into(),
                invalid_params: vec![],
                body: String::new(),
                headers: Default::default(),
            }),
            1 => Err(Error::RateLimited {
                provider: Provider::Magnific,
                retry_after: None,
            }),
            _ => Ok(task(TaskStatus::Completed)),
        })
    };
    assert_eq!(
        wait_for(&WaitOptions::new(Duration::from_secs(60)), poll)
            .await
            .unwrap()
            .status,
        TaskStatus::Completed
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_poll_failure_ends_the_wait() {
    let poll = || {
        std::future::ready(Err(Error::Unauthorized {
            provider: Provider::Anyfast,
            status: 401,
            message: "no".into(),
            body: String::new(),
        }))
    };
    assert!(matches!(
        wait_for(&WaitOptions::new(Duration::from_secs(60)), poll).await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn delays_stay_within_min_and_max() {
    let (_, poll) = script(40, TaskStatus::Completed);
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let s = stamps.clone();
    let options = WaitOptions::new(Duration::from_secs(3600))
        .delays(Duration::from_secs(1), Duration::from_secs(8))
        .on_progress(move |_| s.lock().unwrap().push(tokio::time::Instant::now()));
    wait_for(&options, poll).await.unwrap();
    let stamps = stamps.lock().unwrap();
    for pair in stamps.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(1) && gap <= Duration::from_secs(8),
            "{gap:?}"
        );
    }
}

/// A clock that advances only when slept on: no tokio pause needed.
#[derive(Default)]
struct FakeClock(Mutex<Duration>);

impl Clock for FakeClock {
    fn elapsed(&self) -> Duration {
        *self.0.lock().unwrap()
    }
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        *self.0.lock().unwrap() += d;
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn an_injected_clock_and_a_custom_acceptor_are_used() {
    let clock = Arc::new(FakeClock::default());
    let (_, poll) = script(3, TaskStatus::Completed);
    // Accept as soon as the task is in progress.
    let options = WaitOptions::new(Duration::from_secs(600))
        .clock(clock.clone())
        .acceptor(|t| {
            if t.status == TaskStatus::InProgress {
                AcceptorState::Success
            } else {
                AcceptorState::Retry
            }
        });
    assert_eq!(
        wait_for(&options, poll).await.unwrap().status,
        TaskStatus::InProgress
    );
    let real = Instant::now();
    let (_, poll) = script(u32::MAX, TaskStatus::Completed);
    let options = WaitOptions::new(Duration::from_secs(3600)).clock(clock.clone());
    assert!(matches!(
        wait_for(&options, poll).await,
        Err(Error::ExceededMaxWait { .. })
    ));
    // It stops once less than min_delay (2 s) of the 3600 s remains.
    assert!(
        clock.elapsed() > Duration::from_secs(3598) && clock.elapsed() <= Duration::from_secs(3600)
    );
    assert!(real.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_wait_shorter_than_the_poll_delay_still_polls_until_its_deadline() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let poll = move || {
        c.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(task(TaskStatus::InProgress)))
    };
    let started = tokio::time::Instant::now();
    // min_delay is 2 s by default: more than the whole wait.
    let err = wait_for(&WaitOptions::new(Duration::from_millis(800)), poll)
        .await
        .unwrap_err();
    match err {
        Error::ExceededMaxWait { elapsed, polls, .. } => {
            assert_eq!(polls, 2, "once at the start, once at the deadline");
            assert_eq!(elapsed, Duration::from_millis(800));
            assert_eq!(started.elapsed(), Duration::from_millis(800));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
