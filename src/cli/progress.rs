//! Progress while waiting and downloading: an indicatif spinner and bar on
//! stderr, hidden when stderr is not a terminal, with `--quiet`, or with
//! `--json`; and a batch's lines, one per running job, with a total bar.

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// stderr, three columns narrower than it is. indicatif pads each line to the
/// terminal's width and leaves the cursor at the edge; the `^C` a terminal
/// echoes on Ctrl-C then wraps to a new line, and indicatif's clear misses
/// the spinner's text. With a margin the echo stays on the spinner's line.
#[derive(Debug)]
struct Margin(console::Term);

impl TermLike for Margin {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(3).max(20)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Where a visible single-line bar draws: stderr with a margin, at most 15
/// times a second.
fn stderr_target() -> ProgressDrawTarget {
    ProgressDrawTarget::term_like_with_hz(Box::new(Margin(console::Term::stderr())), 15)
}

use crate::Task;

/// The bars on screen now, so that a log line is written above them
/// instead of through them.
static SCREEN: std::sync::Mutex<Option<MultiProgress>> = std::sync::Mutex::new(None);

fn show(screen: MultiProgress) {
    *SCREEN.lock().unwrap_or_else(|p| p.into_inner()) = Some(screen);
}

/// Where log lines go: stderr, with the bars on screen cleared while a line
/// is written and drawn again after it (no spinner debris under `-v`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let screen = SCREEN.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let write = || std::io::stderr().lock().write_all(buf);
        match screen {
            Some(screen) => screen.suspend(write),
            None => write(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// Shows what is going on, or nothing.
pub struct Progress {
    visible: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            visible: !quiet && std::io::stderr().is_terminal(),
        }
    }

    fn bar(&self, style: &str, len: Option<u64>) -> ProgressBar {
        let bar = match len {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let bar = if self.visible {
            // In a screen of its own, which log lines step around.
            let screen = MultiProgress::with_draw_target(stderr_target());
            let bar = screen.add(bar);
            show(screen);
            bar
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
            bar
        };
        bar.set_style(
            ProgressStyle::with_template(style).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A spinner while a create is on its way.
    pub fn submitting(&self, provider: crate::Provider) -> ProgressBar {
        let bar = self.bar("{spinner} {msg} [{elapsed}]", None);
        bar.set_message(format!("submitting to {provider}…"));
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

    /// A download bar that appears only when the first bytes arrive.
    pub fn downloading_later(&self) -> LazyBar {
        LazyBar {
            cell: Arc::new(OnceLock::new()),
            visible: self.visible,
        }
    }

    /// Lines for a batch: a total bar of `total` jobs, and one line per job.
    pub fn batch(&self, total: u64) -> (MultiProgress, ProgressBar) {
        // Several lines rely on the terminal's own wrap at its full width, so
        // the batch view draws on plain stderr (no margin).
        let multi = if self.visible {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            show(multi.clone());
            multi
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        let bar = multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} jobs [{elapsed}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        (multi, bar)
    }

    /// One job's line in a batch.
    pub fn job_line(multi: &MultiProgress, name: &str) -> ProgressBar {
        let line = multi.insert(0, ProgressBar::new_spinner());
        line.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        line.enable_steady_tick(Duration::from_millis(120));
        line.set_message(name.to_string());
        line
    }
}

/// A bar made on first use.
#[derive(Clone)]
pub struct LazyBar {
    cell: Arc<OnceLock<ProgressBar>>,
    visible: bool,
}

impl LazyBar {
    /// The bar, made now if it is not yet.
    pub fn get_or_init(&self) -> &ProgressBar {
        self.cell.get_or_init(|| {
            Progress {
                visible: self.visible,
            }
            .downloading()
        })
    }

    /// Shows `got` of `total` bytes (a download's progress callback).
    pub fn report(&self, got: u64, total: Option<u64>) {
        let bar = self.get_or_init();
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(got);
    }

    /// Removes the bar, if it was made.
    pub fn clear(&self) {
        if let Some(bar) = self.cell.get() {
            bar.finish_and_clear();
        }
    }
}
