//! Finding the task an in-doubt create made, without guessing.
//!
//! A create whose answer never came may have made a paid task. Magnific's
//! per-resolution lists show every task of the account, so the task can
//! sometimes be found. It is adopted only when everything the provider
//! exposes agrees with the request: it is the only task in the job's
//! resolution list that the journal does not know, no other in-doubt job
//! asks for that list, and, once it has finished, its video has the frame
//! size and length the job asked for. Anything less is reported on the
//! job's row (its `error`), saying what did not match, and the job stays in
//! doubt: a task that merely happened to appear is never taken for it.

use serde_json::Value;

use super::Client;
use crate::download::{probe_mp4, VideoShape};
use crate::journal::JobRecord;
use crate::{AspectRatio, Error, Resolution, Task, TaskStatus};

/// What an in-doubt job asked for, as far as a finished video can show it.
#[derive(Debug, Clone, Copy)]
struct Asked {
    resolution: Resolution,
    ratio: Option<AspectRatio>,
    seconds: i64,
}

impl Asked {
    /// From the request as the journal recorded it. Fields it lacks are the
    /// provider's defaults (720p, 5 s); a ratio it lacks is not checked.
    fn from_record(request: &Value) -> Self {
        let word = |key: &str| request.get(key).and_then(Value::as_str);
        Asked {
            resolution: word("resolution")
                .and_then(|w| w.parse().ok())
                .unwrap_or_default(),
            ratio: word("aspect_ratio").and_then(|w| w.parse().ok()),
            seconds: request.get("duration").and_then(Value::as_i64).unwrap_or(5),
        }
    }

    /// Why `shape` is not what was asked for, if it is not. The short side
    /// may differ from the resolution's lines by 10%, the ratio by 3%, and
    /// the length by half a second.
    fn mismatch(&self, shape: &VideoShape) -> Option<String> {
        let (w, h) = (f64::from(shape.width), f64::from(shape.height));
        let lines = f64::from(self.resolution.height());
        let mut wrong = Vec::new();
        if (w.min(h) / lines - 1.0).abs() > 0.10 {
            wrong.push("its resolution");
        }
        if let Some((rw, rh)) = self.ratio.and_then(AspectRatio::ratio) {
            if ((w / h) / (f64::from(rw) / f64::from(rh)) - 1.0).abs() > 0.03 {
                wrong.push("its aspect ratio");
            }
        }
        if (shape.seconds - self.seconds as f64).abs() > 0.5 {
            wrong.push("its length");
        }
        if wrong.is_empty() {
            return None;
        }
        let ratio = self
            .ratio
            .map(|r| format!(" {}", r.as_str()))
            .unwrap_or_default();
        Some(format!(
            "{} differ: its video is {}x{}, {:.1} s, where the job asked for {}{ratio}, {} s",
            wrong.join(" and "),
            shape.width,
            shape.height,
            shape.seconds,
            self.resolution,
            self.seconds
        ))
    }
}

impl Client {
    /// Looks for the tasks this endpoint's in-doubt creates made, through
    /// Magnific's lists, and adopts each one that provably belongs to its
    /// job (see the module's rules); returns the jobs reconciled. The others
    /// keep their doubt, with the reason on their row. Nothing happens for
    /// the providers without a list endpoint, or without a journal.
    pub async fn reconcile_in_doubt(&self) -> Result<Vec<(i64, Task)>, Error> {
        let Some(journal) = self.journal() else {
            return Ok(Vec::new());
        };
        if !self.provider().spec().lists_tasks {
            return Ok(Vec::new());
        }
        let doubts: Vec<JobRecord> = journal
            .in_doubt(std::time::Duration::ZERO)?
            .into_iter()
            .filter(|j| j.provider == self.provider() && j.base_url == self.base_url())
            .collect();
        let mut adopted = Vec::new();
        for resolution in [Resolution::P480, Resolution::P720] {
            let here: Vec<(&JobRecord, Asked)> = doubts
                .iter()
                .map(|j| (j, Asked::from_record(&j.request)))
                .filter(|(_, asked)| asked.resolution == resolution)
                .collect();
            if here.is_empty() {
                continue;
            }
            let mut unknown = Vec::new();
            for task in self.list(Some(resolution)).await? {
                if journal.job_by_task(self.provider(), &task.id)?.is_none() {
                    unknown.push(task);
                }
            }
            for (job, asked) in &here {
                let verdict = match (here.len(), unknown.as_slice()) {
                    (1, [task]) => self.compare(asked, task).await.map(|()| task),
                    (1, []) => Err(format!(
                        "no task in the {resolution} list is unknown to the journal: the create probably made none"
                    )),
                    (1, many) => Err(format!(
                        "{} tasks in the {resolution} list are unknown to the journal; taking one would be a guess",
                        many.len()
                    )),
                    (n, _) => Err(format!(
                        "{n} in-doubt creates ask for the {resolution} list, so no task in it can be told as one's"
                    )),
                };
                match verdict {
                    Ok(task) => {
                        journal.reconcile(job.id, task)?;
                        tracing::info!(job = job.id, task_id = %task.id, "in-doubt create reconciled");
                        adopted.push((job.id, task.clone()));
                    }
                    Err(why) => {
                        tracing::warn!(job = job.id, reason = %why, "in-doubt create not reconciled");
                        journal.note(job.id, &format!("in doubt, not reconciled: {why}"))?;
                    }
                }
            }
        }
        Ok(adopted)
    }

    /// Whether the lone candidate's finished video is what `asked` wants:
    /// it is fetched to a temporary file, measured, and removed.
    async fn compare(&self, asked: &Asked, task: &Task) -> Result<(), String> {
        // A list entry holds the status alone: the task itself has the URLs.
        let task = self
            .get(&task.id)
            .await
            .map_err(|e| format!("task {} could not be read: {e}", task.id))?;
        if task.status != TaskStatus::Completed {
            return Err(format!(
                "the one unknown task, {}, is {}; it is compared with the request once it has finished",
                task.id, task.status
            ));
        }
        let probe = std::env::temp_dir().join(format!(
            ".seedance-mini-reconcile-{}.mp4",
            uuid::Uuid::new_v4().simple()
        ));
        let fetched = self.download(&task, &probe).await;
        let shape = fetched.as_ref().ok().and_then(|f| probe_mp4(&f.path));
        let _ = std::fs::remove_file(&probe);
        let shape = match (fetched, shape) {
            (Err(e), _) => {
                return Err(format!(
                    "the video of task {} could not be fetched: {e}",
                    task.id
                ))
            }
            (Ok(_), None) => {
                return Err(format!(
                    "the video of task {} is not a readable MP4",
                    task.id
                ))
            }
            (Ok(_), Some(shape)) => shape,
        };
        match asked.mismatch(&shape) {
            None => Ok(()),
            Some(why) => Err(format!("task {}: {why}", task.id)),
        }
    }
}
