//! `wsc-bot run`: the bot over Discord's gateway. Events go to the core; the core's replies go
//! out through serenity's HTTP client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use secrecy::ExposeSecret;
use serenity::all::{
    ChannelId, Context, CreateInteractionResponse, CreateInteractionResponseFollowup, CreateMessage,
    EditInteractionResponse, EditMessage, EventHandler, GatewayIntents, GuildId, Http, HttpBuilder,
    Interaction, InteractionId, LightMethod, Message, MessageId, Ready, Request, ResumedEvent, Route,
};

use tokio_util::task::TaskTracker;

use super::seen::SeenInteractions;
use crate::bot::{commands, Core, Discord, Incoming};
use crate::config::{Config, ConfigError, DEFAULT_DISCORD_API_BASE};
use crate::metrics::metrics;
use crate::runtime::{self, Background};

/// serenity's HTTP client for the configured token and REST base.
///
/// Against another base (a REST proxy or an emulator) serenity only rewrites routes with its
/// ratelimiter off, so then the bot relies on the proxy, or Discord's 429s, for rate limits.
pub fn http_client(config: &Config) -> Result<Http, ConfigError> {
    let token = config.discord_token.as_ref().ok_or(ConfigError {
        var: "DISCORD_TOKEN",
        problem: "is not set: put the bot token from the Developer Portal in the environment or .env".into(),
    })?;
    Ok(http_with_token(config, token.expose_secret()))
}

/// The same, with an empty token when none is set: interaction webhooks need none (serve mode).
pub fn http_client_lenient(config: &Config) -> Http {
    http_with_token(config, config.discord_token.as_ref().map_or("", |t| t.expose_secret()))
}

fn http_with_token(config: &Config, token: &str) -> Http {
    let mut builder = HttpBuilder::new(token);
    let base = config.discord_api_base.as_str().trim_end_matches('/');
    if base != DEFAULT_DISCORD_API_BASE {
        builder = builder.proxy(base).ratelimiter_disabled(true);
    }
    if let Some(id) = config.discord_application_id {
        builder = builder.application_id(id.into());
    }
    builder.build()
}

/// Overwrites the commands in each of `guilds` (never globally: the bot serves only them).
/// Needs the application id set on `http`. Returns how many commands each guild has.
pub async fn register(http: &Http, guilds: &[u64]) -> Result<usize, serenity::Error> {
    let definitions = commands::definitions();
    let mut count = 0;
    for guild in guilds {
        count = http.create_guild_commands(GuildId::new(*guild), &definitions).await?.len();
    }
    Ok(count)
}

/// Runs until Ctrl-C or SIGTERM: then closes the gateway, so no new work arrives, stops the
/// watcher and lets in-flight interactions finish (bounded).
pub async fn run(config: &Config, core: Core) -> Result<(), String> {
    let guilds = config.served_guilds().map_err(|e| e.to_string())?.to_vec();
    let http = http_client(config).map_err(|e| e.to_string())?;
    let core = Arc::new(core);
    let tracker = TaskTracker::new();
    let handler = Handler {
        core: core.clone(),
        guilds,
        registered: AtomicBool::new(false),
        tracker: tracker.clone(),
        seen: SeenInteractions::default(),
    };
    let mut client = serenity::all::ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(handler)
        .await
        .map_err(|e| format!("could not start the Discord client: {e}"))?;
    let stop = runtime::stop_on_signal();
    let background = Background::new(stop.clone());
    if let Some(channel) = config.watch_channel_id {
        let watcher = core.watcher(channel, config.watch_interval);
        background.spawn(watcher.run(GatewayDiscord { http: client.http.clone() }));
        tracing::info!(channel, interval_secs = config.watch_interval.as_secs(), "watching scan states");
    }
    // Health and metrics are served only when asked for, on either variable.
    if let Some(addr) = config.metrics_listen.or(config.http_listen) {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("could not listen on {addr}: {e}"))?;
        tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
        background.spawn(crate::http::serve(
            listener,
            crate::metrics::routes(),
            config.http_limits,
            stop.clone(),
        ));
    }
    let shards = client.shard_manager.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        tracing::info!("closing the gateway");
        shards.shutdown_all().await;
    });
    let result = client.start().await.map_err(|e| format!("the Discord gateway connection failed: {e}"));
    metrics().set_discord_ready(false);
    background.stop().await;
    runtime::drain(&tracker).await;
    result
}

struct Handler {
    core: Arc<Core>,
    guilds: Vec<u64>,
    /// Commands are registered once per process, not on every new session.
    registered: AtomicBool,
    /// In-flight interactions, waited for at shutdown.
    tracker: TaskTracker,
    /// A session resumed or replayed can deliver an event twice.
    seen: SeenInteractions,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, application_id = ready.application.id.get(), "connected to Discord");
        metrics().set_discord_ready(true);
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
        metrics().set_discord_ready(true);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Some(incoming) = Incoming::from_interaction(&interaction) else {
            return;
        };
        if !self.seen.first_delivery(incoming.id) {
            metrics().refused("repeat");
            tracing::info!(id = incoming.id, "ignored a repeated delivery of an interaction");
            return;
        }
        let _in_flight = self.tracker.token();
        self.core.handle(&GatewayDiscord { http: ctx.http.clone() }, incoming).await;
    }
}

/// The core's `Discord` port over serenity's HTTP client.
pub struct GatewayDiscord {
    pub http: Arc<Http>,
}

impl Discord for GatewayDiscord {
    async fn respond(
        &self,
        interaction_id: u64,
        token: &str,
        response: CreateInteractionResponse,
    ) -> Result<(), String> {
        self.http
            .create_interaction_response(InteractionId::new(interaction_id), token, &response, Vec::new())
            .await
            .map_err(|e| e.to_string())
    }

    async fn edit_original(&self, token: &str, edit: EditInteractionResponse) -> Result<(), String> {
        self.http
            .edit_original_interaction_response(token, &edit, Vec::new())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn follow_up(&self, token: &str, message: CreateInteractionResponseFollowup) -> Result<(), String> {
        self.http
            .create_followup_message(token, &message, Vec::new())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn get_message(&self, channel_id: u64, message_id: u64) -> Result<Message, String> {
        self.http
            .get_message(ChannelId::new(channel_id), MessageId::new(message_id))
            .await
            .map_err(|e| e.to_string())
    }

    async fn edit_message(&self, channel_id: u64, message_id: u64, edit: EditMessage) -> Result<(), String> {
        self.http
            .edit_message(ChannelId::new(channel_id), MessageId::new(message_id), &edit, Vec::new())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn send_message(&self, channel_id: u64, message: CreateMessage) -> Result<u64, String> {
        self.http
            .send_message(ChannelId::new(channel_id), Vec::new(), &message)
            .await
            .map(|sent| sent.id.get())
            .map_err(|e| e.to_string())
    }

    async fn channel_locale(&self, channel_id: u64) -> Result<String, String> {
        // Raw JSON: only two fields are needed, and serenity's full models demand dozens.
        let get = |route| self.http.fire::<serde_json::Value>(Request::new(route, LightMethod::Get));
        let channel = get(Route::Channel { channel_id: ChannelId::new(channel_id) })
            .await
            .map_err(|e| e.to_string())?;
        let guild_id = channel["guild_id"]
            .as_str()
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or("the watch channel is not in a guild")?;
        let guild =
            get(Route::Guild { guild_id: GuildId::new(guild_id) }).await.map_err(|e| e.to_string())?;
        guild["preferred_locale"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "the guild has no preferred locale".into())
    }
}
