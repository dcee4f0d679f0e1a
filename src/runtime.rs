//! One shutdown for both modes: SIGTERM or Ctrl-C cancels a token; background work (the
//! watcher) stops on it at once, while in-flight interactions get a bounded drain.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long in-flight interactions may take to finish at shutdown.
pub const DRAIN: Duration = Duration::from_secs(10);

/// Work that runs until shutdown and has nothing to finish then: it is dropped where it stands.
pub struct Background {
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Background {
    pub fn new(stop: CancellationToken) -> Self {
        Self { stop, tasks: TaskTracker::new() }
    }

    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = work => {}
            }
        });
    }

    /// Cancels the work and waits until it has stopped.
    pub async fn stop(self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// A token cancelled at SIGTERM or Ctrl-C.
pub fn stop_on_signal() -> CancellationToken {
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    stop
}

/// Waits for the interactions in `tracker` to finish, at most `DRAIN`.
pub async fn drain(tracker: &TaskTracker) {
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!("in-flight interactions did not finish in time");
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_that_never_ends_stops_when_asked() {
        let stop = CancellationToken::new();
        let background = Background::new(stop.clone());
        background.spawn(std::future::pending());
        let stopped = tokio::time::timeout(Duration::from_secs(1), background.stop()).await;
        assert!(stopped.is_ok() && stop.is_cancelled());
    }
}
