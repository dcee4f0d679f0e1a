//! The REST adapter of both front ends and of the watcher: serenity's HTTP client, command
//! registration, and the core's `Discord` port with errors it can act on (status, Discord's
//! code, `retry_after`).
//!
//! Requests are built by serenity (its routes, headers and, against discord.com, its
//! ratelimiter) and their answers read here: serenity's own error keeps neither `retry_after`
//! nor the headers.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serenity::all::{
    ApplicationId, ChannelId, CreateInteractionResponse, CreateInteractionResponseFollowup, CreateMessage,
    EditInteractionResponse, EditMessage, GuildId, Http, HttpBuilder, InteractionId, LightMethod, Message,
    MessageId, Request, Route,
};

use crate::bot::commands;
use crate::bot::ports::{Discord, DiscordError};
use crate::config::{Config, ConfigError, DEFAULT_DISCORD_API_BASE};

/// One REST call's limit: well within an interaction token's 15 minutes.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The version of what `register` puts in `guilds`: the bot's version and a digest of the
/// command definitions and the guilds, so a change to either registers again.
pub fn registration_version(guilds: &[u64]) -> String {
    use sha2::Digest;
    let definitions = serde_json::to_vec(&commands::definitions()).unwrap_or_default();
    let digest = sha2::Sha256::new().chain_update(definitions).chain_update(format!("{guilds:?}")).finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", env!("CARGO_PKG_VERSION"))
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

/// The core's `Discord` port over serenity's HTTP client.
#[derive(Clone)]
pub struct Rest {
    pub http: Arc<Http>,
    client: reqwest::Client,
}

impl Rest {
    pub fn new(http: Arc<Http>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http, client }
    }

    fn application_id(&self) -> Result<ApplicationId, DiscordError> {
        self.http
            .application_id()
            .ok_or_else(|| DiscordError::unanswered("the application id is not known yet"))
    }

    /// Sends `request`; any status but 2xx is an error carrying Discord's code and wait.
    async fn send(&self, request: Request<'_>) -> Result<reqwest::Response, DiscordError> {
        let lost = |error: serenity::Error| DiscordError::unanswered(error.to_string());
        let response = match &self.http.ratelimiter {
            Some(ratelimiter) => ratelimiter.perform(request).await.map_err(lost)?,
            None => {
                let built = request
                    .build(&self.client, self.http.token(), self.http.proxy.as_deref())
                    .map_err(lost)?
                    .build()
                    .map_err(|e| DiscordError::unanswered(e.to_string()))?;
                self.client.execute(built).await.map_err(|e| DiscordError::unanswered(e.to_string()))?
            }
        };
        if response.status().is_success() {
            return Ok(response);
        }
        Err(refusal(response).await)
    }

    async fn send_json<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, DiscordError> {
        let response = self.send(request).await?;
        response.json().await.map_err(|e| DiscordError::unanswered(format!("an unreadable answer: {e}")))
    }
}

/// A request with a JSON body.
fn with_body<'a>(
    route: Route<'a>,
    method: LightMethod,
    body: &impl Serialize,
) -> Result<Request<'a>, DiscordError> {
    let bytes = serde_json::to_vec(body).map_err(|e| DiscordError::unanswered(e.to_string()))?;
    Ok(Request::new(route, method).body(Some(bytes)))
}

/// Discord's refusal, read from its answer: `{"code": 10062, "message": "…"}`, and for a 429
/// `retry_after` in seconds (or the `Retry-After` header).
async fn refusal(response: reqwest::Response) -> DiscordError {
    let status = response.status().as_u16();
    let header_wait = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok());
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let retry_after = body["retry_after"]
        .as_f64()
        .or(header_wait)
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(|secs| Duration::from_secs_f64(secs.min(3600.0)));
    let code = body["code"].as_i64();
    let text = body["message"].as_str().unwrap_or("no message");
    DiscordError {
        status: Some(status),
        code,
        retry_after,
        message: format!("Discord answered {status}: {text}"),
    }
}

impl Discord for Rest {
    async fn respond(
        &self,
        interaction_id: u64,
        token: &str,
        response: CreateInteractionResponse,
    ) -> Result<(), DiscordError> {
        let route = Route::InteractionResponse { interaction_id: InteractionId::new(interaction_id), token };
        self.send(with_body(route, LightMethod::Post, &response)?).await.map(drop)
    }

    async fn edit_original(&self, token: &str, edit: EditInteractionResponse) -> Result<(), DiscordError> {
        let route =
            Route::WebhookOriginalInteractionResponse { application_id: self.application_id()?, token };
        self.send(with_body(route, LightMethod::Patch, &edit)?).await.map(drop)
    }

    async fn follow_up(
        &self,
        token: &str,
        message: CreateInteractionResponseFollowup,
    ) -> Result<(), DiscordError> {
        let route = Route::WebhookFollowupMessages { application_id: self.application_id()?, token };
        self.send(with_body(route, LightMethod::Post, &message)?).await.map(drop)
    }

    async fn get_message(&self, channel_id: u64, message_id: u64) -> Result<Message, DiscordError> {
        let route = Route::ChannelMessage {
            channel_id: ChannelId::new(channel_id),
            message_id: MessageId::new(message_id),
        };
        self.send_json(Request::new(route, LightMethod::Get)).await
    }

    async fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        edit: EditMessage,
    ) -> Result<(), DiscordError> {
        let route = Route::ChannelMessage {
            channel_id: ChannelId::new(channel_id),
            message_id: MessageId::new(message_id),
        };
        self.send(with_body(route, LightMethod::Patch, &edit)?).await.map(drop)
    }

    async fn send_message(&self, channel_id: u64, message: CreateMessage) -> Result<u64, DiscordError> {
        let route = Route::ChannelMessages { channel_id: ChannelId::new(channel_id) };
        let sent: serde_json::Value = self.send_json(with_body(route, LightMethod::Post, &message)?).await?;
        sent["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| DiscordError::unanswered("the posted message has no id"))
    }

    async fn send_dm(&self, user_id: u64, message: CreateMessage) -> Result<u64, DiscordError> {
        let recipient = serde_json::json!({"recipient_id": user_id.to_string()});
        let channel: serde_json::Value =
            self.send_json(with_body(Route::UserMeDmChannels, LightMethod::Post, &recipient)?).await?;
        let channel_id = channel["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| DiscordError::unanswered("the DM channel has no id"))?;
        self.send_message(channel_id, message).await
    }

    async fn channel_locale(&self, channel_id: u64) -> Result<String, DiscordError> {
        // Raw JSON: only two fields are needed, and serenity's full models demand dozens.
        let route = Route::Channel { channel_id: ChannelId::new(channel_id) };
        let channel: serde_json::Value = self.send_json(Request::new(route, LightMethod::Get)).await?;
        let guild_id = channel["guild_id"]
            .as_str()
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| DiscordError::unanswered("the watch channel is not in a guild"))?;
        let route = Route::Guild { guild_id: GuildId::new(guild_id) };
        let guild: serde_json::Value = self.send_json(Request::new(route, LightMethod::Get)).await?;
        guild["preferred_locale"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DiscordError::unanswered("the guild has no preferred locale"))
    }
}
