//! Stop signals: Ctrl-C (SIGINT) and SIGTERM mean the same thing, "stop and
//! say how to resume". Both handlers are installed when a command starts, so
//! a signal never kills the process before it has said which task is paid for.

use tokio::sync::watch;

/// What a second stop signal hears.
pub const AGAIN: &str = "already stopping: the step under way ends first, so that no paid task's id is lost; this signal is ignored";

/// Resolves once a stop signal arrived.
pub struct Stop {
    stopped: watch::Receiver<Option<Signal>>,
}

/// Which signal stopped the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C: the terminal echoed `^C` where the cursor was.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Stop {
    /// Installs the handlers.
    pub fn listen() -> std::io::Result<Self> {
        let (tx, stopped) = watch::channel(None);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            tokio::spawn(async move {
                let which = tokio::select! {
                    _ = term.recv() => Signal::Terminate,
                    _ = int.recv() => Signal::Interrupt,
                };
                let _ = tx.send(Some(which));
                // The command is already stopping: it is saying which task
                // is paid for, or waiting for an answer that names one. A
                // further signal changes nothing, and is told so.
                loop {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                    eprintln!("{AGAIN}");
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(Some(Signal::Interrupt));
        });
        Ok(Stop { stopped })
    }

    /// Waits for a stop signal, and says which.
    pub async fn wait(&self) -> Signal {
        let mut stopped = self.stopped.clone();
        let which = match stopped.wait_for(|s| s.is_some()).await {
            Ok(which) => *which,
            Err(_) => None,
        };
        match which {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }
}
