//! Secrets never reach the logs: every client path and both front ends run with every target at
//! TRACE under the bot's own filter, the `log` crate's records bridged in (reqwest and tungstenite
//! log through it), logged as text and as JSON, and none of the tests' secret values appears.
//! `scripts/secret-scan` does the same for every test suite's output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::bot::{start_bot_in, viewer, Front, SCANNING};
use common::fake_discord::FakeDiscord;
use common::{client, client_with, settings, start_sim, ACCESS_KEY};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use wsc_bot::wsc::sim::{Fault, FaultError};
use wsc_bot::wsc::{Operation, SearchQuery};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_appears_in_trace_logs() {
    let captured = Captured::default();
    // `try_init` also installs the bridge from the `log` crate, as the binary's logging does.
    tracing_subscriber::registry()
        .with(wsc_bot::logging::filter(Some("trace")).unwrap())
        .with(tracing_subscriber::fmt::layer().with_writer(captured.clone()).with_ansi(false))
        .with(tracing_subscriber::fmt::layer().json().with_writer(captured.clone()))
        .try_init()
        .unwrap();

    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    wsc.list_jobs(1, 5).await.unwrap();
    wsc.search_jobs(&SearchQuery { keyword: "example".into(), page: 1, limit: 5, ..Default::default() })
        .await
        .unwrap();
    wsc.stop_job(1000000006).await.unwrap();
    wsc.report(1000000005).await.unwrap();
    wsc.cancel_job(1000000006).await.unwrap_err();
    client_with(&sim.base_url(), ACCESS_KEY, "wrong-secret", Duration::from_secs(2))
        .list_jobs(1, 1)
        .await
        .unwrap_err();
    for error in [FaultError::Drop, FaultError::Truncated, FaultError::Gateway(500)] {
        sim.set_fault(Operation::List, Fault { error: Some(error), ..Fault::default() });
        wsc.list_jobs(1, 5).await.unwrap_err();
    }
    tracing::info!(client = ?wsc, "the client's Debug output");

    // Both front ends with the bot token: the gateway's IDENTIFY, REST calls, a stop.
    for front in [Front::Gateway, Front::Serve] {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let list = bot.command(&viewer(), "jobs", json!([])).await;
        bot.original(list).await;
        let confirm = bot.confirm_stop(SCANNING).await;
        bot.follow_up(confirm).await;
        bot.audit_line("done", SCANNING).await;
        bot.finish().await;
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("wsc call failed") && logs.contains(r#""message":"wsc call failed""#),
        "text and JSON were captured"
    );
    assert!(logs.contains("TRACE"), "dependencies' trace events were captured");
    assert!(logs.contains("starting new connection"), "the `log` crate's records (reqwest's) were captured");
    assert!(logs.contains("serenity"), "the Discord client's events were captured");
    assert!(logs.contains("REDACTED"), "the client's Debug output was captured, redacted");
    for secret in common::secrets::ALL {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
}
