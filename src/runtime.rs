//! What both front ends run on: the core, the background work (the watcher, the health
//! listener), and one shutdown. SIGTERM or Ctrl-C cancels a token; background work stops on it
//! at once, while in-flight interactions get a bounded drain. A front end only receives
//! interactions, hands each to `Runtime::admit` and the core, and sends the first answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

use crate::bot::Core;
use crate::config::Config;
use crate::discord::rest::Rest;
use crate::metrics::Metrics;

/// How often the store forgets what has expired.
const HOUSEKEEPING: Duration = Duration::from_secs(10 * 60);

/// How long in-flight interactions may take to finish at shutdown.
pub const DRAIN: Duration = Duration::from_secs(10);

pub struct Runtime {
    pub core: Arc<Core>,
    pub rest: Rest,
    stop: CancellationToken,
    background: TaskTracker,
    in_flight: TaskTracker,
}

impl Runtime {
    /// Starts what `config` asks for besides the front end: the watcher when a watch channel is
    /// set (posting through `rest`), and `/healthz`, `/readyz` and `/metrics` on `health` when
    /// given. Everything stops at SIGTERM or Ctrl-C.
    pub fn start(config: &Config, core: Core, rest: Rest, health: Option<TcpListener>) -> Self {
        let runtime = Self::new(core, rest, stop_on_signal());
        if let Some(channel) = config.watch_channel_id {
            let watcher = runtime.core.watcher(channel, config.watch_interval, config.warn_before);
            runtime.spawn_background(watcher.run(runtime.rest.clone()));
            tracing::info!(channel, interval_secs = config.watch_interval.as_secs(), "watching scan states");
        }
        let (core, rest) = (runtime.core.clone(), runtime.rest.clone());
        runtime.spawn_background(async move {
            loop {
                core.save_audit(None).await;
                core.settle(&rest).await;
                tokio::time::sleep(core.settle_interval()).await;
            }
        });
        let core = runtime.core.clone();
        let retention = config.audit_retention;
        runtime.spawn_background(async move {
            loop {
                core.housekeep(retention).await;
                tokio::time::sleep(HOUSEKEEPING).await;
            }
        });
        if let Some(listener) = health {
            let addr = listener.local_addr().ok();
            tracing::info!(?addr, "serving /healthz, /readyz and /metrics");
            let routes = crate::metrics::routes(runtime.metrics().clone());
            runtime.spawn_background(crate::http::serve(
                listener,
                routes,
                config.http_limits,
                runtime.stop.clone(),
            ));
        }
        runtime
    }

    /// A runtime with no background work yet, stopped by `stop`.
    fn new(core: Core, rest: Rest, stop: CancellationToken) -> Self {
        Self {
            core: Arc::new(core),
            rest,
            stop,
            background: TaskTracker::new(),
            in_flight: TaskTracker::new(),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        self.core.metrics()
    }

    /// Cancelled when the process is asked to stop.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Work that runs until shutdown and has nothing to finish then: it is dropped where it stands.
    fn spawn_background(&self, work: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.background.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = work => {}
            }
        });
    }

    /// Whether to handle interaction `id`: `None` for a repeat (a replayed request, an event
    /// delivered twice), counted and logged here. While the returned token lives, the
    /// interaction counts as in flight, and shutdown waits for it.
    pub async fn admit(&self, id: u64) -> Option<TaskTrackerToken> {
        if !self.core.first_delivery(id).await {
            self.metrics().refused("repeat");
            tracing::info!(id, "refused a repeated delivery of an interaction");
            return None;
        }
        Some(self.in_flight.token())
    }

    /// After the front end stopped taking work: stops the background work, then waits for the
    /// interactions in flight, at most `DRAIN`.
    pub async fn shutdown(&self) {
        self.metrics().set_discord_ready(false);
        self.stop.cancel();
        self.background.close();
        self.background.wait().await;
        tracing::info!("draining in-flight interactions");
        self.in_flight.close();
        if tokio::time::timeout(DRAIN, self.in_flight.wait()).await.is_err() {
            tracing::warn!("in-flight interactions did not finish in time");
        }
    }
}

/// A token cancelled at SIGTERM or Ctrl-C.
fn stop_on_signal() -> CancellationToken {
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    stop
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
    use crate::bot::CoreSettings;
    use crate::store::MemoryStore;
    use crate::wsc::{ClientSettings, RetryPolicy, WscClient};

    /// A runtime whose WSC and Discord are never called.
    fn runtime() -> Runtime {
        let metrics = Metrics::new();
        let settings = ClientSettings {
            base_url: "http://127.0.0.1:9".parse().unwrap(),
            access_key: "a".to_owned().into(),
            secret_key: "s".to_owned().into(),
            key_source: None,
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::none(),
        };
        let wsc = WscClient::new(settings, metrics.clone()).unwrap();
        let core = Core::new(wsc, CoreSettings::default(), Arc::new(MemoryStore::default()), metrics);
        let rest = Rest::new(Arc::new(serenity::all::Http::new("")));
        Runtime::new(core, rest, CancellationToken::new())
    }

    #[tokio::test]
    async fn background_work_that_never_ends_stops_when_asked() {
        let runtime = runtime();
        runtime.spawn_background(std::future::pending());
        let stopped = tokio::time::timeout(Duration::from_secs(1), runtime.shutdown()).await;
        assert!(stopped.is_ok() && runtime.stopping().is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_interactions_in_flight_but_not_for_ever() {
        let runtime = Arc::new(runtime());
        let in_flight = runtime.admit(1).await.expect("a first delivery");
        assert!(runtime.admit(1).await.is_none(), "a repeat is refused");
        let started = tokio::time::Instant::now();
        let finish = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            drop(in_flight);
        });
        runtime.shutdown().await;
        assert_eq!(started.elapsed(), Duration::from_secs(3), "until the interaction finished");
        finish.await.unwrap();

        let runtime = self::runtime();
        let _stuck = runtime.admit(2).await.expect("a first delivery");
        let started = tokio::time::Instant::now();
        runtime.shutdown().await;
        assert_eq!(started.elapsed(), DRAIN, "at most the drain");
    }
}
