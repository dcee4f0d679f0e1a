//! Discord's side of serve mode: an endpoint started in this process, and signed deliveries.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;
use wsc_bot::config::Config;
use wsc_bot::wsc::sim::SimHandle;

use super::bot::bot_vars;
use super::fake_discord::{FakeDiscord, APPLICATION_ID};

/// The application's key pair; the bot is given the public half.
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn public_key_hex() -> String {
    hex(&signing_key().verifying_key().to_bytes())
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// `X-Signature-Ed25519` over the timestamp and body, as Discord computes it.
pub fn signature(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    hex(&key.sign(&message).to_bytes())
}

/// The test bot's configuration plus what serve mode needs.
pub fn serve_vars(discord: &FakeDiscord, sim: &SimHandle) -> HashMap<&'static str, String> {
    let mut vars = bot_vars(discord, sim);
    vars.insert("DISCORD_APPLICATION_ID", APPLICATION_ID.to_string());
    vars.insert("DISCORD_PUBLIC_KEY", public_key_hex());
    vars
}

/// One `serve` replica's configuration: the test bot's, on the shared database `database`,
/// listening on a free port, with a WSC timeout of 5 s.
pub fn replica_vars(discord: &FakeDiscord, sim: &SimHandle, database: &str) -> HashMap<&'static str, String> {
    let mut vars = serve_vars(discord, sim);
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", "5".to_owned());
    vars.insert("WSC_DATABASE_URL", database.to_owned());
    vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".to_owned());
    vars
}

/// A `wsc-bot serve` process; returns it and its base URL.
pub fn spawn_replica(vars: &HashMap<&'static str, String>) -> (super::process::BotProcess, String) {
    let process = super::process::BotProcess::spawn(&["serve"], vars);
    let url = process.next_url();
    (process, url)
}

/// One serve instance in this process with `vars`; returns its base URL and its task.
pub async fn start_serve_with(vars: &HashMap<&'static str, String>) -> (String, tokio::task::JoinHandle<()>) {
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let core = super::core_for(&config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        if let Err(error) = wsc_bot::discord::endpoint::serve(&config, listener, None, core).await {
            panic!("the endpoint stopped: {error}");
        }
    });
    (base, task)
}

/// Discord delivering `interaction` to the endpoint: sign, POST, and hand the HTTP answer to the
/// fake Discord, which takes a 200 as the interaction's callback (checked like any callback: in
/// time, once, a valid type and payload) and records anything else as a breach for the verdict.
/// Returns the HTTP status (0 when the request failed) and the answer.
pub async fn post(discord: &FakeDiscord, server: &str, interaction: &Value) -> (u16, Value) {
    discord.deliver_inline(interaction);
    let (status, answer) = post_unjudged(server, interaction).await;
    if interaction["type"] != 1 {
        let id: u64 = interaction["id"].as_str().unwrap().parse().unwrap();
        discord.answered_inline(id, interaction["token"].as_str().unwrap(), status, &answer);
    }
    (status, answer)
}

/// The signed POST alone, with no fake Discord to judge the answer: for an answer other than 200
/// that a test expects (Discord would show "This interaction failed").
pub async fn post_unjudged(server: &str, interaction: &Value) -> (u16, Value) {
    // One client for every delivery, as Discord keeps its connections.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let body = interaction.to_string();
    let timestamp = now_secs().to_string();
    let response = CLIENT
        .get_or_init(reqwest::Client::new)
        .post(format!("{server}/interactions"))
        .header("x-signature-ed25519", signature(&signing_key(), &timestamp, body.as_bytes()))
        .header("x-signature-timestamp", &timestamp)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let (status, answer) = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        }
        Err(error) => (0, Value::String(error.to_string())),
    };
    (status, answer)
}

/// `body` signed at `timestamp`, as Discord delivers it, not yet sent: the same request can be
/// sent again (replays) or to another replica.
pub fn signed_post(server: &str, body: &str, timestamp: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{server}/interactions"))
        .header("x-signature-ed25519", signature(&signing_key(), timestamp, body.as_bytes()))
        .header("x-signature-timestamp", timestamp)
        .header("content-type", "application/json")
        .body(body.to_owned())
}
