//! Signed webhook deliveries, as Magnific sends them: Standard Webhooks
//! headers signed with the configured secret, retried with backoff when the
//! receiver fails, and recorded for the admin API.
//!
//! Deliveries go through one bounded queue ([`QUEUE`]) served by a fixed
//! number of workers ([`WORKERS`]), so a burst of creates whose webhook
//! target never answers holds at most that many connections and that much
//! memory; a delivery that finds the queue full is dropped, and the delivery
//! log says so.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::journal::Ring;
use super::state::unix_now;

/// One delivery and what became of it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delivery {
    /// The `webhook-id` (the same on every attempt).
    pub id: String,
    /// Where it was sent.
    pub url: String,
    /// The task it is about.
    pub task_id: String,
    /// The status it announced.
    pub status: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// Whether a 2xx was received.
    pub delivered: bool,
    /// The last transport error, if any.
    pub error: Option<String>,
}

/// Deliveries waiting for a worker, at most.
pub const QUEUE: usize = 1024;

/// Workers sending deliveries at once.
pub const WORKERS: usize = 4;

/// One delivery to make.
struct Job {
    id: String,
    url: String,
    body: Vec<u8>,
}

/// Sends deliveries and remembers the last few.
#[derive(Clone)]
pub(crate) struct Webhooks {
    secret: String,
    retry_delays: Vec<Duration>,
    log: Arc<Mutex<Ring<Delivery>>>,
    http: reqwest::Client,
    /// The queue, made (with its workers) on the first delivery.
    queue: Arc<OnceLock<tokio::sync::mpsc::Sender<Job>>>,
}

impl Webhooks {
    pub fn new(secret: String, retry_delays: Vec<Duration>, keep: usize) -> Self {
        let http = crate::tls::builder_or_no_roots()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("seedance-mini-mock/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a plain client builds");
        Self {
            secret,
            retry_delays,
            log: Arc::new(Mutex::new(Ring::new(keep))),
            http,
            queue: Arc::new(OnceLock::new()),
        }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .snapshot()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Delivery)) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(delivery) = log.find_mut(|d| d.id == id) {
            f(delivery);
        }
    }

    /// Sends `payload` to `url` in the background, retrying on failure.
    pub fn send(&self, runtime: &tokio::runtime::Handle, url: String, payload: Value) {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let delivery = Delivery {
            id: id.clone(),
            url: url.clone(),
            task_id: payload["task_id"].as_str().unwrap_or_default().into(),
            status: payload["status"].as_str().unwrap_or_default().into(),
            attempts: 0,
            last_status: None,
            delivered: false,
            error: None,
        };
        let displaced = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(delivery);
        drop(displaced);
        let body = serde_json::to_vec(&payload).expect("JSON values serialise");
        let queue = self.queue.get_or_init(|| self.start_workers(runtime));
        if queue
            .try_send(Job {
                id: id.clone(),
                url,
                body,
            })
            .is_err()
        {
            self.update(&id, |d| {
                d.error = Some(format!(
                    "dropped: the delivery queue is full ({QUEUE} waiting)"
                ));
            });
        }
    }

    /// Starts the workers; returns the queue's sending end.
    fn start_workers(&self, runtime: &tokio::runtime::Handle) -> tokio::sync::mpsc::Sender<Job> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Job>(QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WORKERS {
            let (this, rx) = (self.clone(), rx.clone());
            runtime.spawn(async move {
                loop {
                    let job = rx.lock().await.recv().await;
                    match job {
                        Some(job) => this.deliver(job).await,
                        None => return,
                    }
                }
            });
        }
        tx
    }

    /// Makes one delivery, with its retries.
    async fn deliver(&self, job: Job) {
        let Job { id, url, body } = job;
        let mut delays = self.retry_delays.clone().into_iter();
        loop {
            let timestamp = unix_now();
            // The secret was checked when the server started.
            let signature =
                crate::webhook::sign(&self.secret, &id, timestamp, &body).unwrap_or_default();
            let result = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body.clone())
                .send()
                .await;
            let delivered = matches!(&result, Ok(r) if r.status().is_success());
            self.update(&id, |d| {
                d.attempts += 1;
                d.delivered = delivered;
                match &result {
                    Ok(r) => d.last_status = Some(r.status().as_u16()),
                    Err(e) => d.error = Some(e.to_string()),
                }
            });
            match delays.next() {
                Some(delay) if !delivered => tokio::time::sleep(delay).await,
                _ => break,
            }
        }
    }
}
