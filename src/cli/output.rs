//! What the command line prints: lines for people, or one JSON document.

use serde_json::{json, Value};

use crate::download::Downloaded;
use crate::webhook::WebhookEvent;
use crate::{Error, Task};

/// The version of every `--json` document's shape; documented in the README.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes a line on stdout; a reader that has gone (`| head`) ends the
/// output quietly, as other command-line tools do, instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(crate) use say;

/// Prints one JSON document on stdout, with its `schema_version`.
pub fn emit(mut doc: Value) {
    if let Value::Object(map) = &mut doc {
        map.insert("schema_version".into(), json!(SCHEMA_VERSION));
    }
    say!("{doc}");
}

/// Prints for people or for programs.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON document on stdout instead of lines.
    pub json: bool,
}

/// What the request asked for, to show beside the task.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub resolution: Option<String>,
    pub duration: Option<i64>,
}

/// The origin a refused connection was aimed at.
fn refused_at(error: &Error) -> Option<String> {
    let Error::Transport(e) = error else {
        return None;
    };
    let url = e.url().filter(|_| e.is_connect())?;
    Some(url.origin().ascii_serialization())
}

pub fn task_json(task: &Task) -> Value {
    json!({
        "id": task.id,
        "provider": task.provider.name(),
        "status": task.status.as_word(),
        "progress": task.progress,
        "video_urls": task.video_urls,
        "error": task.error,
    })
}

impl Output {
    pub fn task(&self, task: &Task, asked: &Asked, file: Option<&Downloaded>) {
        if self.json {
            let mut doc = json!({ "task": task_json(task) });
            if let Some(r) = &asked.resolution {
                doc["resolution"] = json!(r);
            }
            if let Some(d) = asked.duration {
                doc["duration"] = json!(d);
            }
            if let Some(f) = file {
                doc["file"] = json!({ "path": f.path, "bytes": f.bytes, "sha256": f.sha256 });
            }
            emit(doc);
            return;
        }
        let mut line = format!("task {}  {}  {}", task.id, task.provider, task.status);
        if let Some(p) = task.progress.filter(|p| *p < 100) {
            line += &format!(" ({p}%)");
        }
        if let Some(r) = &asked.resolution {
            line += &format!("  {r}");
        }
        if let Some(d) = asked.duration {
            line += &format!("  {d} s");
        }
        say!("{line}");
        if let Some(e) = &task.error {
            say!("reason: {e}");
        }
        match file {
            Some(f) => say!("saved {} ({} bytes)", f.path.display(), f.bytes),
            None => task.video_urls.iter().for_each(|u| say!("video: {u}")),
        }
    }

    pub fn tasks(&self, tasks: &[Task]) {
        if self.json {
            emit(json!({ "tasks": tasks.iter().map(task_json).collect::<Vec<_>>() }));
        } else if tasks.is_empty() {
            say!("no tasks");
        } else {
            for t in tasks {
                say!("{}  {}", t.id, t.status);
            }
        }
    }

    pub fn event(&self, event: &WebhookEvent) {
        if self.json {
            emit(
                json!({ "valid": true, "id": event.id, "task_id": event.task_id, "status": event.status.as_word(), "generated": event.generated }),
            );
        } else {
            say!(
                "valid: delivery {} says task {} is {}",
                event.id,
                event.task_id,
                event.status
            );
            event.generated.iter().for_each(|u| say!("video: {u}"));
        }
    }

    /// An error, on stderr for people (one line, no trace) or stdout as JSON.
    pub fn error(&self, error: &Error, code: u8) {
        if self.json {
            let mut doc = json!({ "error": error.to_string(), "exit_code": code });
            if let Some(id) = error.task_id() {
                doc["task_id"] = json!(id);
            }
            if let Some(status) = error.status() {
                doc["status"] = json!(status);
            }
            match error {
                Error::TaskFailed(task) => doc["task"] = task_json(task),
                Error::ExceededMaxWait {
                    last: Some(task), ..
                } => doc["task"] = task_json(task),
                Error::Api { body, .. } | Error::Unauthorized { body, .. } => {
                    doc["body"] = json!(crate::error::excerpt(body));
                }
                _ => {}
            }
            emit(doc);
        } else if let Some(origin) = refused_at(error) {
            eprintln!(
                "error: nothing is listening at {origin}; is the mock running (`seedance-mini mock`), or is --base-url wrong?"
            );
        } else {
            eprintln!("error: {error}");
        }
    }
}
