//! Stop signals: Ctrl-C (SIGINT) and SIGTERM mean the same thing, "stop and
//! say how to resume". Both handlers are installed when a command starts, so
//! a signal never kills the process before it has said which task is paid for.

use tokio::sync::watch;

/// Resolves once a stop signal arrived.
pub struct Stop {
    stopped: watch::Receiver<bool>,
}

impl Stop {
    /// Installs the handlers.
    pub fn listen() -> std::io::Result<Self> {
        let (tx, stopped) = watch::channel(false);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            tokio::spawn(async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                let _ = tx.send(true);
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        });
        Ok(Stop { stopped })
    }

    /// Waits for a stop signal.
    pub async fn wait(&self) {
        let mut stopped = self.stopped.clone();
        if stopped.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
