//! The HTTP listeners against slow and idle clients and too many connections, and health and
//! metrics on an address of their own.

mod common;

use std::time::Duration;

use common::bot::{start_bot_in, start_process_in, Bot, Front};
use common::fake_discord::{FakeDiscord, APPLICATION_ID};
use common::serve::post;
use common::settings;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The request timeout these tests give the bot instead of the default 30 s.
const TIMEOUT: Duration = Duration::from_millis(600);

async fn serve_with(extra: &[(&'static str, String)]) -> Bot {
    start_bot_in(Front::Serve, FakeDiscord::start().await, settings(), 5, extra).await
}

async fn connect(bot: &Bot) -> TcpStream {
    TcpStream::connect(bot.endpoint.as_deref().unwrap().trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection: what it sent and when it closed, or `None`
/// while it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(started + limit, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => {
                return Some((String::from_utf8_lossy(&received).into(), started.elapsed()))
            }
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off_after_the_request_timeout() {
    let bot = serve_with(&[("WSC_TEST_HTTP_TIMEOUT_MS", TIMEOUT.as_millis().to_string())]).await;
    let cases: [(&str, &str, &str); 3] = [
        ("half a request line", "POST /interac", ""),
        (
            "a body trickling in",
            "POST /interactions HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\n{\"type\":",
            "HTTP/1.1 408",
        ),
        ("an idle kept-alive connection", "GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n", "HTTP/1.1 200"),
    ];
    for (what, sent, answer) in cases {
        let mut stream = connect(&bot).await;
        stream.write_all(sent.as_bytes()).await.unwrap();
        let (received, after) = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{what}: the connection is still open after 5 s"));
        assert!(received.starts_with(answer), "{what}: {received}");
        assert!(after >= TIMEOUT - Duration::from_millis(100), "{what}: closed after {after:?}, too soon");
    }
    bot.still_serves().await;
    bot.finish().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let bot = serve_with(&[
        ("WSC_TEST_HTTP_MAX_CONNECTIONS", "2".into()),
        ("WSC_TEST_HTTP_TIMEOUT_MS", "20000".into()),
    ])
    .await;
    let (first, _second) = (connect(&bot).await, connect(&bot).await);
    let mut third = connect(&bot).await;
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n").await.unwrap();
    assert!(
        read_until_closed(&mut third, Duration::from_millis(700)).await.is_none(),
        "the third connection is not served while two are open"
    );
    drop(first);
    let (received, _) =
        read_until_closed(&mut third, Duration::from_secs(5)).await.expect("served once one closed");
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    bot.finish().await;
}

#[tokio::test]
async fn health_and_metrics_move_to_their_own_address() {
    let extra = [("WSC_METRICS_LISTEN", "127.0.0.1:0".to_owned())];
    let (bot, process) =
        start_process_in(Front::Serve, FakeDiscord::start().await, settings(), 5, &extra).await;
    let public = bot.endpoint.clone().unwrap();
    let private = process.next_url();
    assert_ne!(public, private);
    let status = |url: String| async move { reqwest::get(url).await.unwrap().status().as_u16() };
    let ping = json!({"id": "1", "type": 1, "application_id": APPLICATION_ID.to_string(), "token": "t", "version": 1});
    assert_eq!(
        post(&bot.discord, &public, &ping).await,
        (200, json!({"type": 1})),
        "the endpoint stays public"
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(status(format!("{public}{path}")).await, 404, "{path} is not on the public listener");
        assert_eq!(status(format!("{private}{path}")).await, 200, "{path} is on the metrics listener");
    }
    let metrics = reqwest::get(format!("{private}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("wsc_bot_wsc_reachable"), "{metrics}");
    let interactions = reqwest::Client::new().post(format!("{private}/interactions")).send().await.unwrap();
    assert_eq!(interactions.status(), 404, "and the endpoint is not on the metrics listener");

    // `run` serves health and metrics on it too.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = [("WSC_METRICS_LISTEN", format!("127.0.0.1:{port}"))];
    let (gateway, _process) =
        start_process_in(Front::Gateway, FakeDiscord::start().await, settings(), 5, &extra).await;
    let ready = async {
        // READY reaches the bot's handler just after the fake sent it.
        while status(format!("http://127.0.0.1:{port}/readyz")).await != 200 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ready)
        .await
        .expect("/readyz turns 200 on the metrics address");
    bot.finish().await;
    gateway.finish().await;
}
