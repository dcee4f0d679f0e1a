//! A WSC API simulator: a real HTTP server that behaves like WSC behind NCP's API Gateway.
//! It checks signatures, runs a job state machine on a simulated clock, injects faults, and
//! records every request so tests can assert what reached it.
//!
//! Control routes under `/_sim/` (unsigned, for tests and demos; bind to loopback):
//! `GET|DELETE /_sim/requests`, `GET|POST /_sim/jobs`, `PUT /_sim/faults/{op}`,
//! `DELETE /_sim/faults`, `POST /_sim/advance`, `PUT /_sim/settings`, `PUT /_sim/keys`,
//! `GET /_sim/billing` (createJob calls carried out, each billed, and their bodies).

pub mod faults;
pub mod jobs;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub use faults::{Fault, FaultError};
pub use jobs::{Lang, Phase, SeedJob};

use super::{sign, Operation};
use faults::{gateway_status, wsc_message};
use jobs::SimJob;

/// NCP refuses timestamps this far or farther from its clock.
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
/// The newest requests the log keeps by default: in `--demo` the simulator lives as long as the
/// bot, so the log must not grow with it.
pub const REQUEST_LOG_LIMIT: usize = 10_000;
/// The `oversized` fault's body: far more than any client should hold in memory.
pub const OVERSIZED_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct SimSettings {
    /// The one key pair the gateway accepts.
    pub access_key: String,
    pub secret_key: SecretString,
    /// Simulated job time runs this many times faster than real time.
    pub speed: f64,
    /// Shifts the gateway's clock (its `Date` header and its timestamp check).
    pub clock_offset_ms: i64,
    /// HTTP status sent with WSC's own errors (901…): older docs say 200, newer 400.
    pub wsc_error_status: u16,
    pub lang: Lang,
    pub seed: Vec<SeedJob>,
    pub faults: Vec<(Operation, Fault)>,
    /// The request log keeps the newest this many requests.
    pub request_log_limit: usize,
    /// Sent as `total_page_cnt` in list and search answers instead of the real count, verbatim
    /// (hostile numbers such as `"1e20"`, for tests).
    pub total_page_cnt: Option<Value>,
    /// Whether createJob's answer names the new job (NCP does not document it): `false` sends
    /// the bare wrapper with `resources: null`.
    pub create_answer_number: bool,
}

impl SimSettings {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: SecretString::from(secret_key.into()),
            speed: 1.0,
            clock_offset_ms: 0,
            wsc_error_status: 200,
            lang: Lang::En,
            seed: jobs::default_seed(),
            faults: Vec::new(),
            request_log_limit: REQUEST_LOG_LIMIT,
            total_page_cnt: None,
            create_answer_number: true,
        }
    }
}

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path_and_query: String,
    /// `None` for a path that is no WSC operation.
    pub operation: Option<Operation>,
    pub instance_no: Option<u64>,
    pub signature_valid: bool,
    /// Why the gateway refused it, if it did.
    pub auth_error: Option<String>,
}

/// A job as tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSnapshot {
    pub instance_no: u64,
    pub phase: Phase,
    pub start_url: String,
}

/// Settings that can change while the simulator runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub clock_offset_secs: Option<i64>,
    pub wsc_error_status: Option<u16>,
    pub lang: Option<Lang>,
    pub speed: Option<f64>,
    pub create_answer_number: Option<bool>,
}

/// The key pair the gateway accepts from now on (`PUT /_sim/keys`): NCP after a key rotation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysPatch {
    pub access_key: String,
    pub secret_key: String,
}

struct SimState {
    access_key: String,
    secret_key: SecretString,
    lang: Lang,
    clock_offset_ms: i64,
    wsc_error_status: u16,
    /// Job clock: `job_epoch_ms + real elapsed × speed + advanced_ms`, rebased when speed changes.
    job_epoch_ms: i64,
    job_epoch: Instant,
    speed: f64,
    advanced_ms: i64,
    jobs: BTreeMap<u64, SimJob>,
    faults: HashMap<Operation, Fault>,
    /// The newest `request_log_limit` requests, oldest first.
    requests: VecDeque<RecordedRequest>,
    request_log_limit: usize,
    /// Requests received since the start or the last clear, the dropped ones included.
    requests_total: u64,
    total_page_cnt: Option<Value>,
    create_answer_number: bool,
    /// The bodies of the createJob calls carried out: each one billed.
    created: Vec<Value>,
}

/// What `GET /_sim/billing` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    pub create_job_calls: usize,
    pub bodies: Vec<Value>,
}

impl SimState {
    fn job_now(&self) -> i64 {
        self.job_epoch_ms
            + (self.job_epoch.elapsed().as_millis() as f64 * self.speed) as i64
            + self.advanced_ms
    }

    fn gateway_now(&self) -> i64 {
        epoch_ms() + self.clock_offset_ms
    }

    /// A list answer with the configured `total_page_cnt`, if any.
    fn page_count(&self, mut page: Value) -> Value {
        if let Some(count) = &self.total_page_cnt {
            page["resources"]["total_page_cnt"] = count.clone();
        }
        page
    }

    /// Brings every job up to the current simulated time.
    fn advance_jobs(&mut self) -> i64 {
        let now = self.job_now();
        for job in self.jobs.values_mut() {
            job.advance(now);
        }
        now
    }

    fn advance_by(&mut self, by: Duration) {
        self.advanced_ms = self.advanced_ms.saturating_add(by.as_millis() as i64);
        self.advance_jobs();
    }

    fn record(&mut self, request: RecordedRequest) {
        if self.requests.len() >= self.request_log_limit {
            self.requests.pop_front();
        }
        if self.request_log_limit > 0 {
            self.requests.push_back(request);
        }
        self.requests_total += 1;
    }

    fn clear_requests(&mut self) {
        self.requests.clear();
        self.requests_total = 0;
    }

    fn add_job(&mut self, seed: SeedJob) {
        let now = self.job_now();
        self.jobs.insert(seed.instance_no, SimJob::new(seed, now));
    }

    fn set_keys(&mut self, keys: KeysPatch) {
        self.access_key = keys.access_key;
        self.secret_key = SecretString::from(keys.secret_key);
    }

    fn apply(&mut self, patch: SettingsPatch) -> Result<(), String> {
        if let Some(status) = patch.wsc_error_status {
            if status != 200 && status != 400 {
                return Err("wsc_error_status must be 200 or 400".into());
            }
            self.wsc_error_status = status;
        }
        if let Some(speed) = patch.speed {
            if !(speed.is_finite() && speed >= 0.0) {
                return Err("speed must be a number of 0 or more".into());
            }
            self.job_epoch_ms = self.job_now() - self.advanced_ms;
            self.job_epoch = Instant::now();
            self.speed = speed;
        }
        if let Some(offset) = patch.clock_offset_secs {
            self.clock_offset_ms = offset.saturating_mul(1000);
        }
        if let Some(lang) = patch.lang {
            self.lang = lang;
        }
        if let Some(answer) = patch.create_answer_number {
            self.create_answer_number = answer;
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<SimState>>,
    /// Bytes of `oversized` bodies handed to the connection so far: what a client made the
    /// simulator produce before it hung up.
    oversized_sent: Arc<AtomicU64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic elsewhere must not take the simulator down with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running simulator. Dropping it shuts the server down.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give a WSC client (`WSC_API_BASE`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far, in order: the newest `request_log_limit` of them.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// How many requests were received since the start or the last clear, including those the
    /// log no longer holds.
    pub fn requests_total(&self) -> u64 {
        self.shared.lock().requests_total
    }

    /// Bytes of `oversized` answers the simulator produced, summed over every such answer.
    pub fn oversized_bytes_sent(&self) -> u64 {
        self.shared.oversized_sent.load(Ordering::Relaxed)
    }

    /// Accepts only this key pair from now on, as NCP does once a key is rotated.
    pub fn set_keys(&self, access_key: &str, secret_key: &str) {
        self.shared
            .lock()
            .set_keys(KeysPatch { access_key: access_key.to_owned(), secret_key: secret_key.to_owned() });
    }

    pub fn requests_for(&self, operation: Operation) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.operation == Some(operation)).collect()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().clear_requests();
    }

    pub fn set_fault(&self, operation: Operation, fault: Fault) {
        self.shared.lock().faults.insert(operation, fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    pub fn update(&self, patch: SettingsPatch) -> Result<(), String> {
        self.shared.lock().apply(patch)
    }

    /// Moves the job clock forward, as if `by` had passed.
    pub fn advance(&self, by: Duration) {
        self.shared.lock().advance_by(by);
    }

    pub fn add_job(&self, seed: SeedJob) {
        self.shared.lock().add_job(seed);
    }

    pub fn jobs(&self) -> Vec<JobSnapshot> {
        snapshot(&mut self.shared.lock())
    }

    /// The createJob calls carried out (each billed by NCP), with their bodies.
    pub fn billing(&self) -> Billing {
        let state = self.shared.lock();
        Billing { create_job_calls: state.created.len(), bodies: state.created.clone() }
    }

    pub fn phase(&self, instance_no: u64) -> Option<Phase> {
        let mut state = self.shared.lock();
        state.advance_jobs();
        state.jobs.get(&instance_no).map(|job| job.phase)
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `addr` (port 0 for any free port) and serves until the handle is dropped.
pub async fn start(settings: SimSettings, addr: SocketAddr) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let mut state = SimState {
        access_key: settings.access_key,
        secret_key: settings.secret_key,
        lang: settings.lang,
        clock_offset_ms: settings.clock_offset_ms,
        wsc_error_status: settings.wsc_error_status,
        job_epoch_ms: epoch_ms(),
        job_epoch: Instant::now(),
        speed: settings.speed,
        advanced_ms: 0,
        jobs: BTreeMap::new(),
        faults: settings.faults.into_iter().collect(),
        requests: VecDeque::new(),
        request_log_limit: settings.request_log_limit,
        requests_total: 0,
        total_page_cnt: settings.total_page_cnt,
        create_answer_number: settings.create_answer_number,
        created: Vec::new(),
    };
    for seed in settings.seed {
        state.add_job(seed);
    }
    let shared = Shared { state: Arc::new(Mutex::new(state)), oversized_sent: Arc::default() };
    let app = router(shared.clone());
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the simulator's server stopped");
        }
    });
    Ok(SimHandle { addr, shared, shutdown: Some(tx), task: Some(task) })
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/_sim/requests", get(control_requests).delete(control_clear_requests))
        .route("/_sim/jobs", get(control_jobs).post(control_add_job))
        .route("/_sim/faults/{op}", put(control_set_fault))
        .route("/_sim/faults", axum::routing::delete(control_clear_faults))
        .route("/_sim/advance", axum::routing::post(control_advance))
        .route("/_sim/settings", put(control_settings))
        .route("/_sim/keys", put(control_keys))
        .route("/_sim/billing", get(control_billing))
        .fallback(gateway)
        .with_state(shared)
}

/// Which operation a method and path name, and its instance number.
fn route(method: &Method, path: &str) -> Option<(Operation, Option<u64>)> {
    if method == Method::PUT && path == "/api/v1/job" {
        return Some((Operation::Create, None));
    }
    let rest = path.strip_prefix("/api/v1/jobs")?;
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let instance = |s: &str| s.parse::<u64>().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
    match (method.as_str(), rest, segments.as_slice()) {
        ("GET", "", _) => Some((Operation::List, None)),
        ("POST", "/search", _) => Some((Operation::Search, None)),
        ("PATCH", _, [id, "cancel"]) => Some((Operation::Cancel, Some(instance(id)?))),
        ("PATCH", _, [id, "stop"]) => Some((Operation::Stop, Some(instance(id)?))),
        ("GET", _, [id, "report"]) => Some((Operation::Report, Some(instance(id)?))),
        _ => None,
    }
}

async fn gateway(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let request_id = request_id();
    let routed = route(&method, uri.path());
    let (date, fault, verdict) = {
        let mut state = shared.lock();
        let verdict = authenticate(&state, &method, &path_and_query, &headers);
        state.record(RecordedRequest {
            method: method.to_string(),
            path_and_query: path_and_query.clone(),
            operation: routed.map(|(op, _)| op),
            instance_no: routed.and_then(|(_, id)| id),
            signature_valid: verdict.is_ok(),
            auth_error: verdict.as_ref().err().cloned(),
        });
        let fault = routed.and_then(|(op, _)| state.faults.get_mut(&op)).map(|fault| {
            let strikes = fault.strikes();
            (fault.clone(), strikes)
        });
        (state.gateway_now(), fault, verdict)
    };
    let reply = Reply { request_id, date };
    let Some((operation, instance_no)) = routed else {
        return reply.gateway_error(300, "no such resource");
    };
    if let Err(why) = verdict {
        return reply.gateway_error(200, &why);
    }
    // Malformed, truncated and dropped answers come after the operation was carried out, as a
    // real WSC's broken 200 would.
    let mut spoiled = None;
    let mut answer_latency = Duration::ZERO;
    if let Some((fault, strikes)) = fault {
        if fault.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
        }
        answer_latency = Duration::from_millis(fault.answer_latency_ms);
        if let Some(error) = fault.error.filter(|_| strikes) {
            match error {
                FaultError::Gateway(code) => return reply.gateway_error(code, "injected fault"),
                FaultError::RateLimited => return reply.gateway_error(420, "injected fault"),
                FaultError::Wsc(code) => return reply.wsc_error(shared.lock().wsc_error_status, code),
                FaultError::Html => {
                    return reply.raw(
                        StatusCode::BAD_GATEWAY,
                        "text/html",
                        "<html><body><h1>502 Bad Gateway</h1></body></html>",
                    )
                }
                FaultError::Status(code) => {
                    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let reason = status.canonical_reason().unwrap_or("Error");
                    return reply.raw(status, "text/plain", format!("{} {reason}\n", status.as_u16()));
                }
                FaultError::Malformed | FaultError::Truncated | FaultError::Drop | FaultError::Oversized => {
                    spoiled = Some(error)
                }
            }
        }
    }
    let body = {
        let mut state = shared.lock();
        let error_status = state.wsc_error_status;
        match operate(&mut state, operation, instance_no, uri.query().unwrap_or(""), &body) {
            Ok(value) => value.to_string(),
            Err(code) => return reply.wsc_error(error_status, code),
        }
    };
    if !answer_latency.is_zero() {
        tokio::time::sleep(answer_latency).await;
    }
    // Cut on bytes, not characters: the half may end inside a Korean label, as a cut-off
    // answer on the wire would.
    let half = Bytes::copy_from_slice(&body.as_bytes()[..body.len() / 2]);
    let json = "application/json";
    match spoiled {
        Some(FaultError::Malformed) => {
            reply.raw(StatusCode::OK, json, r#"{"resources": "surprise", "record_data": 7}"#)
        }
        Some(FaultError::Truncated) => reply.raw(StatusCode::OK, json, half),
        Some(FaultError::Oversized) => {
            reply.with_headers(StatusCode::OK, json, oversized_body(shared.oversized_sent.clone()))
        }
        Some(FaultError::Drop) => {
            let chunks = [Ok(half), Err(std::io::Error::other("connection dropped by fault injection"))];
            reply.with_headers(StatusCode::OK, json, Body::from_stream(futures_util::stream::iter(chunks)))
        }
        _ => reply.raw(StatusCode::OK, json, body),
    }
}

/// A list answer that decodes as an empty page, padded to `OVERSIZED_BYTES` and streamed
/// without a length, one MiB at a time as the client reads; `sent` counts what was produced.
fn oversized_body(sent: Arc<AtomicU64>) -> Body {
    const CHUNK: usize = 1024 * 1024;
    let head = r#"{"resources": {"total_cnt": 0, "total_page_cnt": "1", "record_data": null, "padding": ""#;
    let filler = Bytes::from(vec![b'x'; CHUNK]);
    let fillers = (OVERSIZED_BYTES - head.len() - 3) / CHUNK;
    let tail =
        Bytes::from(format!("{}\"}}}}", "x".repeat(OVERSIZED_BYTES - head.len() - 3 - fillers * CHUNK)));
    let chunks = std::iter::once(Bytes::from_static(head.as_bytes()))
        .chain(std::iter::repeat_n(filler, fillers))
        .chain(std::iter::once(tail));
    let stream = futures_util::stream::iter(chunks.map(move |chunk| {
        sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(chunk)
    }));
    Body::from_stream(stream)
}

/// The gateway's checks, in its order: headers present, timestamp fresh, key known, signature right.
fn authenticate(
    state: &SimState,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let (Some(timestamp), Some(access_key), Some(signature)) =
        (header(sign::HEADER_TIMESTAMP), header(sign::HEADER_ACCESS_KEY), header(sign::HEADER_SIGNATURE))
    else {
        return Err("missing authentication headers".into());
    };
    let timestamp: u64 = timestamp.parse().map_err(|_| "malformed timestamp".to_owned())?;
    if (state.gateway_now() - timestamp as i64).abs() >= MAX_SKEW_MS {
        return Err("timestamp outside the allowed window".into());
    }
    if access_key != state.access_key {
        return Err("unknown access key".into());
    }
    let valid = sign::verify(
        method.as_str(),
        path_and_query,
        timestamp,
        access_key,
        state.secret_key.expose_secret().as_bytes(),
        signature,
    );
    if !valid {
        return Err("signature mismatch".into());
    }
    Ok(())
}

/// Runs one WSC operation; `Err` is a WSC error code.
fn operate(
    state: &mut SimState,
    operation: Operation,
    instance_no: Option<u64>,
    query: &str,
    body: &[u8],
) -> Result<Value, u32> {
    let now = state.advance_jobs();
    let lang = state.lang;
    match (operation, instance_no) {
        (Operation::List, None) => {
            // Old docs give defaults of 20 and 1 when a parameter is missing.
            let param = |name: &str| {
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.parse::<u32>().map_err(|_| 901u32))
                    .transpose()
            };
            let (limit, page) = (param("limit")?.unwrap_or(20), param("page")?.unwrap_or(1));
            let all: Vec<&SimJob> = state.jobs.values().rev().collect();
            Ok(state.page_count(list_page(&all, page, limit, now, lang)))
        }
        (Operation::Search, _) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Search {
                search_type: Option<String>,
                search_keyword: Option<String>,
                status_code: Option<u16>,
                limit: Option<u32>,
                page: Option<u32>,
            }
            let search: Search = serde_json::from_slice(body).map_err(|_| 901u32)?;
            let search_type = search.search_type.unwrap_or_default();
            let keyword = search.search_keyword.unwrap_or_default();
            let matching: Vec<&SimJob> = state
                .jobs
                .values()
                .rev()
                .filter(|job| job.matches(&search_type, &keyword, search.status_code))
                .collect();
            let mut page =
                list_page(&matching, search.page.unwrap_or(1), search.limit.unwrap_or(20), now, lang);
            // Search answers carry the return fields; list answers do not (both seen in docs).
            page["returnCode"] = json!("0");
            page["returnMessage"] = json!("Success");
            Ok(state.page_count(page))
        }
        (Operation::Create, None) => create_job(state, body, now),
        (Operation::Cancel | Operation::Stop | Operation::Report, Some(id)) => {
            let job = state.jobs.get_mut(&id).ok_or(901u32)?;
            let done = match operation {
                Operation::Cancel => job.cancel(now),
                Operation::Stop => job.stop(now),
                _ if job.phase == Phase::Finished => return Ok(job.report()),
                _ => false,
            };
            if !done {
                return Err(901);
            }
            Ok(
                json!({"returnCode": "0", "returnDesc": "Request Success", "returnMessage": "Success", "resources": null}),
            )
        }
        _ => Err(901),
    }
}

/// createJob by NCP's body rules: a URL, the vulnerability list, a known browser and the speed
/// as a string; a rescan names a finished job. The new job starts at once and is billed.
fn create_job(state: &mut SimState, body: &[u8], now: i64) -> Result<Value, u32> {
    const PARAM: u32 = 160332;
    let body: Value = serde_json::from_slice(body).map_err(|_| PARAM)?;
    let field = |name: &str| body.get(name).filter(|v| !v.is_null());
    let start_url = field("StartUrl").and_then(Value::as_str).ok_or(PARAM)?;
    let url = reqwest::Url::parse(start_url).map_err(|_| 160331u32)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(160331);
    }
    let strings = |value: &Value| value.as_array().is_some_and(|items| items.iter().all(Value::is_string));
    let vuln_items = field("VulnItems").ok_or(PARAM)?;
    if !strings(vuln_items) || vuln_items.as_array().is_some_and(Vec::is_empty) {
        return Err(PARAM);
    }
    if field("ExcludeUrl").is_some_and(|v| !strings(v)) {
        return Err(PARAM);
    }
    let agent = field("UserAgent").and_then(Value::as_str).ok_or(PARAM)?;
    if !["Android", "iPhone", "PC Chrome", "PC IE"].contains(&agent) {
        return Err(PARAM);
    }
    // The speed is a string: the number 1 is refused, as the docs' type says.
    if !matches!(field("Speed").and_then(Value::as_str), Some("1" | "2" | "3")) {
        return Err(PARAM);
    }
    let memo = match field("Memo") {
        None => None,
        Some(Value::String(memo)) => Some(memo.clone()),
        Some(_) => return Err(PARAM),
    };
    if let Some(master) = field("MasterInstanceNo") {
        let id = master.as_str().filter(|s| s.bytes().all(|b| b.is_ascii_digit())).ok_or(PARAM)?;
        let finished = id.parse::<u64>().ok().and_then(|id| state.jobs.get(&id)).map(|job| job.phase);
        if finished != Some(Phase::Finished) {
            return Err(901);
        }
    }
    let instance_no = state.jobs.keys().next_back().map_or(1_000_000_001, |last| last + 1);
    let seed = SeedJob {
        instance_no,
        start_url: start_url.to_owned(),
        memo,
        phase: Phase::Crawling,
        phase_percent: 0,
        starts_in_secs: 0,
        crawl_secs: 120,
        scan_secs: 600,
        outcome: jobs::Outcome::Success,
        crawled_urls: 12,
        risk: [1, 2, 3],
        status_label: None,
    };
    state.jobs.insert(instance_no, SimJob::new(seed, now));
    state.created.push(body);
    let resources =
        if state.create_answer_number { json!({"instanceNo": instance_no.to_string()}) } else { Value::Null };
    Ok(
        json!({"returnCode": "0", "returnDesc": "Request Success", "returnMessage": "Success", "resources": resources}),
    )
}

fn list_page(jobs: &[&SimJob], page: u32, limit: u32, now: i64, lang: Lang) -> Value {
    let limit = limit.clamp(1, 1000) as usize;
    let page = page.max(1) as usize;
    let records: Vec<Value> = jobs
        .iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .map(|job| job.record(now, lang))
        .collect();
    let total_pages = jobs.len().div_ceil(limit);
    let block_start = (page - 1) / 10 * 10 + 1;
    json!({"resources": {
        "total_cnt": jobs.len(),
        "total_page_cnt": total_pages.to_string(),
        "current_start_page": block_start.to_string(),
        "current_end_page": (block_start + 9).to_string(),
        "record_data": if records.is_empty() { Value::Null } else { Value::Array(records) },
    }})
}

struct Reply {
    request_id: String,
    date: i64,
}

impl Reply {
    fn with_headers(&self, status: StatusCode, content_type: &'static str, body: Body) -> Response {
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(self.date.max(0) as u64));
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type.parse().expect("static content type"));
        if let Ok(date) = date.parse() {
            headers.insert(header::DATE, date);
        }
        if let Ok(id) = self.request_id.parse() {
            headers.insert("x-ncp-request-id", id);
        }
        response
    }

    fn raw(&self, status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
        self.with_headers(status, content_type, body.into())
    }

    fn gateway_error(&self, code: u16, details: &str) -> Response {
        let (status, message) = gateway_status(code);
        let body = json!({"error": {"errorCode": code.to_string(), "message": message, "details": details}});
        self.raw(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "application/json",
            body.to_string(),
        )
    }

    fn wsc_error(&self, status: u16, code: u32) -> Response {
        let body = json!({"error": {"errorCode": code, "message": wsc_message(code)}});
        self.raw(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), "application/json", body.to_string())
    }
}

fn epoch_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

fn request_id() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        fastrand::u16(..0x1000),
        fastrand::u64(..1 << 48)
    )
}

fn snapshot(state: &mut SimState) -> Vec<JobSnapshot> {
    state.advance_jobs();
    state
        .jobs
        .values()
        .rev()
        .map(|job| JobSnapshot {
            instance_no: job.seed.instance_no,
            phase: job.phase,
            start_url: job.seed.start_url.clone(),
        })
        .collect()
}

/// The log, with the total received (the dropped ones included) in `x-sim-requests-total`.
async fn control_requests(State(shared): State<Shared>) -> Response {
    let state = shared.lock();
    let log: Vec<&RecordedRequest> = state.requests.iter().collect();
    ([("x-sim-requests-total", state.requests_total.to_string())], Json(log)).into_response()
}

async fn control_clear_requests(State(shared): State<Shared>) -> StatusCode {
    shared.lock().clear_requests();
    StatusCode::NO_CONTENT
}

async fn control_jobs(State(shared): State<Shared>) -> Json<Vec<JobSnapshot>> {
    Json(snapshot(&mut shared.lock()))
}

async fn control_add_job(State(shared): State<Shared>, Json(seed): Json<SeedJob>) -> StatusCode {
    shared.lock().add_job(seed);
    StatusCode::CREATED
}

async fn control_set_fault(
    State(shared): State<Shared>,
    Path(op): Path<String>,
    Json(fault): Json<Fault>,
) -> Response {
    let ops = if op == "all" { Operation::ALL.to_vec() } else { Operation::parse(&op).into_iter().collect() };
    if ops.is_empty() {
        return (StatusCode::NOT_FOUND, format!("`{op}` is not an operation\n")).into_response();
    }
    let mut state = shared.lock();
    for op in ops {
        state.faults.insert(op, fault.clone());
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn control_clear_faults(State(shared): State<Shared>) -> StatusCode {
    shared.lock().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Advance {
    secs: u64,
}

async fn control_advance(State(shared): State<Shared>, Json(advance): Json<Advance>) -> StatusCode {
    shared.lock().advance_by(Duration::from_secs(advance.secs));
    StatusCode::NO_CONTENT
}

async fn control_settings(State(shared): State<Shared>, Json(patch): Json<SettingsPatch>) -> Response {
    match shared.lock().apply(patch) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response(),
    }
}

async fn control_billing(State(shared): State<Shared>) -> Json<Billing> {
    let state = shared.lock();
    Json(Billing { create_job_calls: state.created.len(), bodies: state.created.clone() })
}

async fn control_keys(State(shared): State<Shared>, Json(keys): Json<KeysPatch>) -> StatusCode {
    shared.lock().set_keys(keys);
    StatusCode::NO_CONTENT
}
