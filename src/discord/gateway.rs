//! `wsc-bot run`: the bot over Discord's gateway. Events go to the core; the core's replies go
//! out through the REST adapter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Ready, ResumedEvent};

use super::rest::{http_client, register, Rest};
use crate::bot::{Core, Incoming};
use crate::config::Config;
use crate::runtime::Runtime;

/// Runs until Ctrl-C or SIGTERM: then closes the gateway, so no new work arrives, and shuts the
/// runtime down. Health and metrics are served only when an address is set.
pub async fn run(config: &Config, core: Core) -> Result<(), String> {
    let guilds = config.served_guilds().map_err(|e| e.to_string())?.to_vec();
    let http = http_client(config).map_err(|e| e.to_string())?;
    let health = match config.metrics_listen.or(config.http_listen) {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("could not listen on {addr}: {e}"))?,
        ),
        None => None,
    };
    // The core's own client: serenity's serves the gateway and the registration.
    let rest = Rest::new(Arc::new(http_client(config).map_err(|e| e.to_string())?));
    let runtime = Arc::new(Runtime::start(config, core, rest, health));
    let handler = Handler { runtime: runtime.clone(), guilds, registered: AtomicBool::new(false) };
    let mut client = serenity::all::ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(handler)
        .await
        .map_err(|e| format!("could not start the Discord client: {e}"))?;
    let shards = client.shard_manager.clone();
    let stopping = runtime.stopping();
    tokio::spawn(async move {
        stopping.cancelled().await;
        tracing::info!("closing the gateway");
        shards.shutdown_all().await;
    });
    let result = client.start().await.map_err(|e| format!("the Discord gateway connection failed: {e}"));
    runtime.shutdown().await;
    result
}

struct Handler {
    runtime: Arc<Runtime>,
    guilds: Vec<u64>,
    /// Commands are registered once per process, not on every new session.
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
        match register(&ctx.http, &self.guilds).await {
            Ok(count) => tracing::info!(count, guilds = ?self.guilds, "registered the slash commands"),
            Err(error) => {
                self.registered.store(false, Ordering::SeqCst);
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
