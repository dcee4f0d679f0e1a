//! `wsc-bot serve`: the bot as an HTTP Interactions Endpoint. Each request's Ed25519 signature
//! is checked before anything is parsed; the core's first answer goes back inline in the HTTP
//! response, everything after it over Discord's REST API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ed25519_dalek::{Signature, VerifyingKey};
use serenity::all::{
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse,
    EditMessage, Interaction, Message,
};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};

use super::rest::{http_client_lenient, Rest};
use crate::bot::ports::{Discord, DiscordError};
use crate::bot::{Core, Incoming};
use crate::config::Config;
use crate::runtime::Runtime;

/// Discord refuses requests whose timestamp is this far off; so do we.
const MAX_AGE_SECS: u64 = 5 * 60;
/// Interactions are small; anything bigger is not from Discord.
const MAX_BODY: usize = 64 * 1024;
/// Interactions handled at once; more get 503 rather than an unbounded queue.
const MAX_IN_FLIGHT: usize = 256;
/// The first answer must reach Discord within 3 s; the core gives it before any WSC call.
const FIRST_ANSWER: Duration = Duration::from_millis(2800);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    Stale,
    Invalid,
}

/// Checks `X-Signature-Ed25519` over `X-Signature-Timestamp` + body, and the timestamp's age.
pub fn verify(
    key: &VerifyingKey,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), SignatureError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).ok_or(SignatureError::Missing);
    let signature = header("x-signature-ed25519")?;
    let timestamp = header("x-signature-timestamp")?;
    let signature: [u8; 64] =
        decode_hex(signature).and_then(|b| b.try_into().ok()).ok_or(SignatureError::Malformed)?;
    let sent: u64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if now.abs_diff(sent) > MAX_AGE_SECS {
        return Err(SignatureError::Stale);
    }
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify_strict(&message, &Signature::from_bytes(&signature)).map_err(|_| SignatureError::Invalid)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[derive(Clone)]
struct App {
    key: VerifyingKey,
    runtime: Arc<Runtime>,
    limit: Arc<Semaphore>,
}

/// Serves until SIGTERM or Ctrl-C, then shuts the runtime down. Health and metrics go to
/// `metrics_listener` when given, else to `listener`. `DISCORD_PUBLIC_KEY` and
/// `DISCORD_APPLICATION_ID` were checked by the caller.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    core: Core,
) -> Result<(), String> {
    config.served_guilds().map_err(|e| e.to_string())?;
    let key = config.discord_public_key.ok_or("DISCORD_PUBLIC_KEY is not set")?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|_| "DISCORD_PUBLIC_KEY is not a valid Ed25519 public key")?;
    let rest = Rest::new(Arc::new(http_client_lenient(config)));
    let separate_health = metrics_listener.is_some();
    let runtime = Arc::new(Runtime::start(config, core, rest, metrics_listener));
    let app = App { key, runtime: runtime.clone(), limit: Arc::new(Semaphore::new(MAX_IN_FLIGHT)) };
    let endpoint = Router::new()
        .route("/interactions", post(interactions))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app);
    let router = if separate_health {
        endpoint
    } else {
        endpoint.merge(crate::metrics::routes(runtime.metrics().clone()))
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "serving the interactions endpoint");
    runtime.metrics().set_discord_ready(true);
    crate::http::serve(listener, router, config.http_limits, runtime.stopping()).await;
    runtime.shutdown().await;
    Ok(())
}

async fn interactions(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(error) = verify(&app.key, &headers, &body, SystemTime::now()) {
        tracing::debug!(?error, "refused an interaction request");
        return (StatusCode::UNAUTHORIZED, "invalid request signature\n").into_response();
    }
    let value = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => value,
        Err(error) => {
            app.runtime.metrics().refused("undecodable");
            tracing::warn!(
                bytes = body.len(),
                problem = ?error.classify(),
                line = error.line(),
                column = error.column(),
                "refused a signed interaction that is not JSON"
            );
            return (StatusCode::BAD_REQUEST, "not JSON\n").into_response();
        }
    };
    if value["type"] == 1 {
        return Json(serde_json::json!({"type": 1})).into_response();
    }
    // Only numbers from the body reach the log: any text in it may be the token.
    let id = value["id"].as_str().and_then(|id| id.parse::<u64>().ok());
    let kind = value["type"].as_u64();
    let interaction = match serde_json::from_value::<Interaction>(value) {
        Ok(interaction) => interaction,
        Err(error) => {
            app.runtime.metrics().refused("undecodable");
            tracing::warn!(
                id,
                kind,
                bytes = body.len(),
                problem = decode_problem(&error.to_string()),
                "refused a signed interaction that does not decode"
            );
            return (StatusCode::BAD_REQUEST, "not an interaction\n").into_response();
        }
    };
    let Some(incoming) = Incoming::from_interaction(&interaction) else {
        app.runtime.metrics().refused("unhandled");
        tracing::info!(id, kind, "refused a kind of interaction this bot does not handle");
        return (StatusCode::BAD_REQUEST, "not an interaction this bot handles\n").into_response();
    };
    let Ok(permit) = app.limit.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy\n").into_response();
    };
    // A replay of a captured request, or a repeat: nothing runs, and no answer that Discord
    // could take for a second callback.
    let Some(in_flight) = app.runtime.admit(incoming.id).await else {
        return (StatusCode::CONFLICT, "already received\n").into_response();
    };
    let (first, answer) = oneshot::channel();
    let port = EndpointDiscord { rest: app.runtime.rest.clone(), first: Mutex::new(Some(first)) };
    let runtime = app.runtime.clone();
    tokio::spawn(async move {
        runtime.core.handle(&port, incoming).await;
        drop((permit, in_flight));
    });
    match tokio::time::timeout(FIRST_ANSWER, answer).await {
        Ok(Ok(response)) => Json(response).into_response(),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "no answer\n").into_response(),
    }
}

/// What serde says is wrong with a body, without the body's values (serde quotes them, and one
/// may be the token): "missing field `x`" names the schema's field; otherwise only the words
/// before the first quote or colon, such as "invalid type".
fn decode_problem(message: &str) -> &str {
    if message.starts_with("missing field `") || message.starts_with("duplicate field `") {
        if let Some(end) = message.match_indices('`').nth(1).map(|(at, _)| at + 1) {
            return &message[..end];
        }
    }
    let end = message.find([':', '`', '"', '\'']).unwrap_or(message.len()).min(60);
    let end = (0..=end).rev().find(|&at| message.is_char_boundary(at)).unwrap_or(0);
    message[..end].trim_end_matches([' ', ','])
}

/// The core's port in endpoint mode: the first answer goes into the HTTP response.
struct EndpointDiscord {
    rest: Rest,
    first: Mutex<Option<oneshot::Sender<serde_json::Value>>>,
}

impl Discord for EndpointDiscord {
    async fn respond(
        &self,
        interaction_id: u64,
        token: &str,
        response: CreateInteractionResponse,
    ) -> Result<(), DiscordError> {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        match first {
            Some(sender) => {
                let json =
                    serde_json::to_value(&response).map_err(|e| DiscordError::unanswered(e.to_string()))?;
                sender
                    .send(json)
                    .map_err(|_| DiscordError::unanswered("the HTTP request was gone before the answer"))
            }
            None => self.rest.respond(interaction_id, token, response).await,
        }
    }

    async fn edit_original(&self, token: &str, edit: EditInteractionResponse) -> Result<(), DiscordError> {
        self.rest.edit_original(token, edit).await
    }

    async fn follow_up(
        &self,
        token: &str,
        message: CreateInteractionResponseFollowup,
    ) -> Result<(), DiscordError> {
        self.rest.follow_up(token, message).await
    }

    async fn get_message(&self, channel_id: u64, message_id: u64) -> Result<Message, DiscordError> {
        self.rest.get_message(channel_id, message_id).await
    }

    async fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        edit: EditMessage,
    ) -> Result<(), DiscordError> {
        self.rest.edit_message(channel_id, message_id, edit).await
    }

    async fn send_message(&self, channel_id: u64, message: CreateMessage) -> Result<u64, DiscordError> {
        self.rest.send_message(channel_id, message).await
    }

    async fn send_dm(&self, user_id: u64, message: CreateMessage) -> Result<u64, DiscordError> {
        self.rest.send_dm(user_id, message).await
    }

    async fn channel_locale(&self, channel_id: u64) -> Result<String, DiscordError> {
        self.rest.channel_locale(channel_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(key: &SigningKey, timestamp: &str, body: &[u8]) -> HeaderMap {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        let signature: String = key.sign(&message).to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut headers = HeaderMap::new();
        headers.insert("x-signature-ed25519", signature.parse().unwrap());
        headers.insert("x-signature-timestamp", timestamp.parse().unwrap());
        headers
    }

    #[test]
    fn decode_problems_never_carry_the_bodys_values() {
        let cases = [
            (r#"invalid type: string "tok-1", expected u8"#, "invalid type"),
            ("missing field `message`", "missing field `message`"),
            ("unknown variant `tok-2`, expected one of `a`, `b`", "unknown variant"),
            ("invalid digit found in string", "invalid digit found in string"),
            ("missing field `tok", "missing field"),
            ("", ""),
        ];
        for (message, problem) in cases {
            assert_eq!(decode_problem(message), problem, "{message}");
        }
        assert!(decode_problem(&"é".repeat(100)).len() <= 60);
    }

    #[test]
    fn signatures_are_checked_before_anything_else() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let verifying = key.verifying_key();
        let now = SystemTime::now();
        let ts = now.duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
        let body = br#"{"type":1}"#;
        assert_eq!(verify(&verifying, &signed(&key, &ts, body), body, now), Ok(()));
        assert_eq!(
            verify(&verifying, &signed(&key, &ts, body), br#"{"type":2}"#, now),
            Err(SignatureError::Invalid)
        );
        let other = SigningKey::from_bytes(&[8; 32]);
        assert_eq!(verify(&verifying, &signed(&other, &ts, body), body, now), Err(SignatureError::Invalid));
        assert_eq!(verify(&verifying, &HeaderMap::new(), body, now), Err(SignatureError::Missing));
        let old = (now.duration_since(UNIX_EPOCH).unwrap().as_secs() - 301).to_string();
        assert_eq!(verify(&verifying, &signed(&key, &old, body), body, now), Err(SignatureError::Stale));
        let mut malformed = signed(&key, &ts, body);
        malformed.insert("x-signature-ed25519", "zz".parse().unwrap());
        assert_eq!(verify(&verifying, &malformed, body, now), Err(SignatureError::Malformed));
        let mut not_a_time = signed(&key, "soon", body);
        not_a_time.insert("x-signature-timestamp", "soon".parse().unwrap());
        assert_eq!(verify(&verifying, &not_a_time, body, now), Err(SignatureError::Malformed));
    }
}
