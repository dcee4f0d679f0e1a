//! `wsc-bot run`: the bot over Discord's gateway. Events go to the core; the core's replies go
//! out through the REST adapter.
//!
//! Replicas on one store: one holds the gateway's lease and is connected; the others wait and
//! connect when its lease lapses (a replica killed is replaced within `LEASE` + `RENEW`). Two
//! sessions on one token would each receive every interaction; one at a time keeps "answered
//! once" independent of how Discord spreads events over sessions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Ready, ResumedEvent};

use super::rest::{http_client, register, registration_version, Rest};
use crate::bot::{Core, Incoming};
use crate::config::Config;
use crate::runtime::Runtime;

/// How long the connected replica's lease lasts, and how often it is renewed (and a standby
/// looks).
const LEASE: Duration = Duration::from_secs(15);
const RENEW: Duration = Duration::from_secs(5);

/// Runs until Ctrl-C or SIGTERM: then closes the gateway, so no new work arrives, and shuts the
/// runtime down. Health and metrics are served only when an address is set.
pub async fn run(config: &Config, core: Core) -> Result<(), String> {
    let guilds = config.served_guilds().map_err(|e| e.to_string())?.to_vec();
    let health = match config.metrics_listen.or(config.http_listen) {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("could not listen on {addr}: {e}"))?,
        ),
        None => None,
    };
    let rest = Rest::new(Arc::new(http_client(config).map_err(|e| e.to_string())?));
    let runtime = Arc::new(Runtime::start(config, core, rest, health));
    let holder = format!("{}-{:08x}", std::process::id(), fastrand::u32(..));
    let stopping = runtime.stopping();
    let mut result = Ok(());
    while !stopping.is_cancelled() {
        if !wait_for_the_lease(&runtime, &holder).await {
            break;
        }
        result = connect(config, &runtime, &holder, &guilds).await;
        if result.is_err() {
            break;
        }
    }
    runtime.shutdown().await;
    result
}

/// Waits until this replica holds the gateway's lease; `false` when asked to stop first.
async fn wait_for_the_lease(runtime: &Runtime, holder: &str) -> bool {
    let (mut told, stopping) = (false, runtime.stopping());
    loop {
        if let Ok(true) = runtime.core.hold_gateway(holder, LEASE).await {
            return true;
        }
        if !told {
            tracing::info!("standing by: another replica is connected to the gateway");
            told = true;
        }
        tokio::select! {
            () = stopping.cancelled() => return false,
            () = tokio::time::sleep(RENEW) => {}
        }
    }
}

/// Connected to the gateway while this replica holds the lease and is not asked to stop.
async fn connect(
    config: &Config,
    runtime: &Arc<Runtime>,
    holder: &str,
    guilds: &[u64],
) -> Result<(), String> {
    let http = http_client(config).map_err(|e| e.to_string())?;
    let handler =
        Handler { runtime: runtime.clone(), guilds: guilds.to_vec(), registered: AtomicBool::new(false) };
    let mut client = serenity::all::ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(handler)
        .await
        .map_err(|e| format!("could not start the Discord client: {e}"))?;
    let shards = client.shard_manager.clone();
    let (runtime_, holder) = (runtime.clone(), holder.to_owned());
    let keeper = tokio::spawn(async move {
        let stopping = runtime_.stopping();
        loop {
            tokio::select! {
                () = stopping.cancelled() => break,
                () = tokio::time::sleep(RENEW) => {}
            }
            // A store that cannot say leaves the connection as it is: an outage never stops the bot.
            if let Ok(false) = runtime_.core.hold_gateway(&holder, LEASE).await {
                tracing::warn!("another replica holds the gateway's lease now; standing by");
                break;
            }
        }
        tracing::info!("closing the gateway");
        shards.shutdown_all().await;
    });
    let result = client.start().await.map_err(|e| format!("the Discord gateway connection failed: {e}"));
    keeper.abort();
    runtime.metrics().set_discord_ready(false);
    result
}

struct Handler {
    runtime: Arc<Runtime>,
    guilds: Vec<u64>,
    /// Commands are registered once per connection at most, not on every new session.
    registered: AtomicBool,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, application_id = ready.application.id.get(), "connected to Discord");
        self.runtime.metrics().set_discord_ready(true);
        if self.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        // Once per version of the commands, however many replicas start.
        let version = registration_version(&self.guilds);
        if !self.runtime.core.first_registration(&version).await {
            tracing::info!(%version, "the slash commands of this version are registered already");
            return;
        }
        match register(&ctx.http, &self.guilds).await {
            Ok(count) => {
                tracing::info!(count, guilds = ?self.guilds, %version, "registered the slash commands")
            }
            Err(error) => {
                self.registered.store(false, Ordering::SeqCst);
                self.runtime.core.registration_failed(&version).await;
                tracing::error!(%error, "could not register the slash commands");
            }
        }
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("resumed the Discord session");
        self.runtime.metrics().set_discord_ready(true);
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let Some(incoming) = Incoming::from_interaction(&interaction) else {
            return;
        };
        // A session resumed or replayed can deliver an event twice.
        let Some(_in_flight) = self.runtime.admit(incoming.id).await else {
            return;
        };
        self.runtime.core.handle(&self.runtime.rest, incoming).await;
    }
}
