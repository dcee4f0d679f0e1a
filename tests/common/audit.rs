//! The audit trail as the bot writes it (tracing target `audit`), captured in this test process
//! whatever `RUST_LOG` says, so tests can read the events the audit channel does not get.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Filter, Layer};

/// One audit event: its fields as text, and its place in the order of all events.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub seq: usize,
    pub fields: HashMap<String, String>,
}

impl AuditEvent {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

static EVENTS: Mutex<Vec<AuditEvent>> = Mutex::new(Vec::new());

/// The layer that records them.
pub struct Capture;

/// Only the `audit` target reaches it.
pub fn filter<S>() -> impl Filter<S> {
    Targets::new().with_target("audit", Level::INFO)
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(HashMap::new());
        event.record(&mut fields);
        let mut events = EVENTS.lock().unwrap_or_else(|p| p.into_inner());
        let seq = events.len();
        events.push(AuditEvent { seq, fields: fields.0 });
    }
}

struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// Every audit event so far, in order.
pub fn events() -> Vec<AuditEvent> {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The events with `field` equal to `value`, in order.
pub fn events_with(field: &str, value: &str) -> Vec<AuditEvent> {
    events().into_iter().filter(|e| e.get(field) == Some(value)).collect()
}

/// Waits up to `wait` for an event matching `pred`.
pub async fn wait_for(what: &str, wait: Duration, pred: impl Fn(&AuditEvent) -> bool) -> AuditEvent {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(event) = events().into_iter().find(&pred) {
            return event;
        }
        if Instant::now() >= deadline {
            panic!("no audit event {what}; events: {:#?}", events());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The audit events of one interaction, in order.
pub fn of_interaction(id: u64) -> Vec<AuditEvent> {
    events_with("interaction", &id.to_string())
}

/// Their outcomes, in order.
pub fn outcomes(events: &[AuditEvent]) -> Vec<String> {
    events.iter().map(|e| e.get("outcome").unwrap_or("?").to_owned()).collect()
}
