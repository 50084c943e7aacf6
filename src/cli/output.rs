//! What the command line prints: lines for people, or one JSON document.

use super::documents::{
    ErrorDoc, FileDoc, TaskDoc, TaskList, TaskResult, Version, WebhookVerified,
};
use crate::download::Downloaded;
use crate::webhook::WebhookEvent;
use crate::{Error, Task};

pub use super::documents::SCHEMA_VERSION;

/// Writes a line on stdout; a reader that has gone (`| head`) ends the
/// output quietly, as other command-line tools do, instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(crate) use say;

/// Prints one JSON document (one of [`super::documents`]) on stdout.
pub fn emit<T: serde::Serialize>(doc: &T) {
    match serde_json::to_string(doc) {
        Ok(text) => say!("{text}"),
        // A document is plain data; this cannot happen, and is not hidden.
        Err(e) => eprintln!("error: cannot write the JSON document: {e}"),
    }
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

impl Output {
    pub fn task(&self, task: &Task, asked: &Asked, file: Option<&Downloaded>) {
        if self.json {
            emit(&TaskResult {
                schema_version: Version,
                task: task.into(),
                resolution: asked.resolution.clone(),
                duration: asked.duration,
                file: file.map(FileDoc::from),
            });
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
            emit(&TaskList {
                schema_version: Version,
                tasks: tasks.iter().map(TaskDoc::from).collect(),
            });
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
            emit(&WebhookVerified::from(event));
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
            let (task, body) = match error {
                Error::TaskFailed(task) => (Some(TaskDoc::from(&**task)), None),
                Error::ExceededMaxWait {
                    last: Some(task), ..
                } => (Some(TaskDoc::from(&**task)), None),
                Error::Api { body, .. } | Error::Unauthorized { body, .. } => {
                    (None, Some(crate::error::excerpt(body)))
                }
                _ => (None, None),
            };
            emit(&ErrorDoc {
                schema_version: Version,
                error: error.to_string(),
                exit_code: code,
                task_id: error.task_id().map(String::from),
                status: error.status(),
                task,
                body,
            });
        } else if let Some(origin) = refused_at(error) {
            eprintln!(
                "error: nothing is listening at {origin}; is the mock running (`seedance-mini mock`), or is --base-url wrong?"
            );
        } else {
            eprintln!("error: {error}");
        }
    }
}
