//! Progress while waiting and downloading: an indicatif spinner and bar,
//! hidden when stdout is not a terminal, with `--quiet`, or with `--json`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Task;

/// Shows what is going on, or nothing.
pub struct Progress {
    visible: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            visible: !quiet && std::io::stdout().is_terminal(),
        }
    }

    fn bar(&self, style: &str, len: Option<u64>) -> ProgressBar {
        let bar = match len {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        if !self.visible {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template(style).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A spinner that shows the task's status as it is polled.
    pub fn waiting(&self, id: &str) -> ProgressBar {
        let bar = self.bar("{spinner} {msg} [{elapsed}]", None);
        bar.set_message(format!("waiting for {id}"));
        bar
    }

    pub fn update(bar: &ProgressBar, task: &Task) {
        let pct = task.progress.map(|p| format!(" {p}%")).unwrap_or_default();
        bar.set_message(format!("{} {}{pct}", task.id, task.status));
    }

    /// A byte bar for a download.
    pub fn downloading(&self) -> ProgressBar {
        self.bar("{bar:30} {bytes}/{total_bytes} {bytes_per_sec}", Some(0))
    }
}
