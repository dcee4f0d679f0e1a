//! The WSC HTTP client: signs exactly what it sends, times out, retries reads only.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, DATE};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::error::{classify, ErrorKind, WscError};
use super::keys::{KeyPair, KeySource, Reload, SharedKeys};
use super::model::{
    decode_created, decode_job_page, decode_report, Job, JobPage, NewJob, Report, SearchField, SearchQuery,
};
use super::{sign, Operation};
use crate::metrics::Metrics;

/// The largest answer read from WSC: a page of 1,000 jobs is well under it. A bigger one is cut
/// off at this size, never held whole in memory, and is a decode error.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// `find_job` walks at most this many pages of this size when the search misses.
const FIND_PAGE_SIZE: u32 = 100;
const FIND_MAX_PAGES: u32 = 10;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all for a read, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(4) }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Full jitter: a random wait up to an exponentially growing cap.
    fn delay(&self, attempt: u32) -> Duration {
        let cap = self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub base_url: Url,
    pub access_key: SecretString,
    pub secret_key: SecretString,
    /// Where to read the keys again when they rotate (their files); `None` when they came from
    /// the environment.
    pub key_source: Option<KeySource>,
    /// Limit for one call, a read's retries included (`WSC_REQUEST_TIMEOUT_SECS`): whatever WSC
    /// does, the person waiting hears back within it.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// What a single call saw besides its body: for logs and for `check`'s clock comparison.
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    pub request_id: Option<String>,
    pub server_time: Option<SystemTime>,
}

#[derive(Debug, Clone)]
pub struct WscClient {
    http: reqwest::Client,
    settings: ClientSettings,
    /// Shared by every clone, so a rotated key reaches the core, the cache and the watcher.
    keys: SharedKeys,
    metrics: Arc<Metrics>,
}

impl WscClient {
    /// A client that records its calls and key reloads in `metrics`.
    pub fn new(settings: ClientSettings, metrics: Arc<Metrics>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("wsc-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let keys =
            KeyPair { access_key: settings.access_key.clone(), secret_key: settings.secret_key.clone() };
        let keys = SharedKeys::new(keys, settings.key_source.clone());
        Ok(Self { http, settings, keys, metrics })
    }

    /// Reads the key files again (on SIGHUP); the new keys serve every later call.
    pub fn reload_keys(&self) -> Reload {
        self.reload_keys_after(&self.keys.current())
    }

    /// The same, after NCP refused `used`.
    fn reload_keys_after(&self, used: &KeyPair) -> Reload {
        let outcome = self.keys.reload(used);
        if outcome != Reload::NoSource {
            self.metrics.key_reload(outcome.name());
        }
        outcome
    }

    pub fn base_url(&self) -> &Url {
        &self.settings.base_url
    }

    /// getJobs: one page (1-based) of `limit` jobs, newest first.
    pub async fn list_jobs(&self, page: u32, limit: u32) -> Result<JobPage, WscError> {
        self.list_jobs_with_info(page, limit).await.map(|(page, _)| page)
    }

    /// getJobs, also returning what the call saw (request id, server clock).
    pub async fn list_jobs_with_info(&self, page: u32, limit: u32) -> Result<(JobPage, CallInfo), WscError> {
        let path = format!("/api/v1/jobs?limit={limit}&page={page}");
        let (body, info) = self.call(Operation::List, Method::GET, &path, None).await?;
        let page = decode_job_page(&body).map_err(|detail| decode_error(Operation::List, &info, detail))?;
        Ok((page, info))
    }

    /// searchJobs: by URL, memo or any field, and by status code.
    pub async fn search_jobs(&self, query: &SearchQuery) -> Result<JobPage, WscError> {
        let (body, info) =
            self.call(Operation::Search, Method::POST, "/api/v1/jobs/search", Some(query.body())).await?;
        decode_job_page(&body).map_err(|detail| decode_error(Operation::Search, &info, detail))
    }

    /// One job by its number. WSC has no get-one call: search any field for the number first,
    /// then, since the search may not cover it, walk the newest pages of the list.
    pub async fn find_job(&self, instance_no: u64) -> Result<Option<Job>, WscError> {
        let query = SearchQuery {
            field: SearchField::Any,
            keyword: instance_no.to_string(),
            status_code: None,
            page: 1,
            limit: FIND_PAGE_SIZE,
        };
        let found = self.search_jobs(&query).await?;
        if let Some(job) = found.jobs.into_iter().find(|j| j.instance_no == instance_no) {
            return Ok(Some(job));
        }
        for page in 1..=FIND_MAX_PAGES {
            let listed = self.list_jobs(page, FIND_PAGE_SIZE).await?;
            let last = listed.total_pages;
            if let Some(job) = listed.jobs.into_iter().find(|j| j.instance_no == instance_no) {
                return Ok(Some(job));
            }
            if u64::from(page) >= last {
                break;
            }
        }
        Ok(None)
    }

    /// cancelJob: only for a job that has not started. Never retried.
    pub async fn cancel_job(&self, instance_no: u64) -> Result<CallInfo, WscError> {
        let path = format!("/api/v1/jobs/{instance_no}/cancel");
        self.call(Operation::Cancel, Method::PATCH, &path, None).await.map(|(_, info)| info)
    }

    /// stopJob: only for a running job. Never retried.
    pub async fn stop_job(&self, instance_no: u64) -> Result<CallInfo, WscError> {
        let path = format!("/api/v1/jobs/{instance_no}/stop");
        self.call(Operation::Stop, Method::PATCH, &path, None).await.map(|(_, info)| info)
    }

    /// createJob: starts a scan at once, billed per call. Never retried: after a timeout or a cut
    /// answer, look for the job with `find_created`. The new job's number when WSC's answer has it.
    pub async fn create_job(&self, job: &NewJob) -> Result<(Option<u64>, CallInfo), WscError> {
        let (body, info) = self.call(Operation::Create, Method::PUT, "/api/v1/job", Some(job.body())).await?;
        Ok((decode_created(&body), info))
    }

    /// The job `job` created, if WSC has it: the newest with its URL and memo (the memo carries
    /// the request's own id, so no other job has it).
    pub async fn find_created(&self, job: &NewJob) -> Result<Option<Job>, WscError> {
        let query = SearchQuery {
            field: SearchField::Memo,
            keyword: job.memo.clone(),
            status_code: None,
            page: 1,
            limit: FIND_PAGE_SIZE,
        };
        let found = self.search_jobs(&query).await?;
        Ok(found
            .jobs
            .into_iter()
            .filter(|j| {
                j.start_url.trim() == job.start_url.trim() && j.memo.as_deref() == Some(job.memo.as_str())
            })
            .max_by_key(|j| j.instance_no))
    }

    /// getReport: a finished job's report.
    pub async fn report(&self, instance_no: u64) -> Result<Report, WscError> {
        let path = format!("/api/v1/jobs/{instance_no}/report");
        let (body, info) = self.call(Operation::Report, Method::GET, &path, None).await?;
        decode_report(&body).map_err(|detail| decode_error(Operation::Report, &info, detail))
    }

    async fn call(
        &self,
        operation: Operation,
        method: Method,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Result<(Value, CallInfo), WscError> {
        let attempts = if operation.is_read() { self.settings.retry.max_attempts.max(1) } else { 1 };
        let deadline = Instant::now() + self.settings.timeout;
        let mut tries = 0;
        let mut reloaded = false;
        loop {
            let started = Instant::now();
            let budget = deadline.saturating_duration_since(started);
            let keys = self.keys.current();
            let result =
                self.attempt(operation, method.clone(), path_and_query, body.as_ref(), &keys, budget).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (outcome, reachable) = match &result {
                Ok(_) => ("ok", true),
                Err(error) => (error.kind.name(), error.kind != ErrorKind::Unreachable),
            };
            self.metrics.wsc_call(operation.name(), outcome, started.elapsed(), reachable);
            match result {
                Ok((value, info)) => {
                    tracing::debug!(
                        operation = operation.name(),
                        request_id = info.request_id.as_deref(),
                        elapsed_ms,
                        "wsc call succeeded"
                    );
                    return Ok((value, info));
                }
                Err(error) => {
                    // NCP refused the key: it may have been rotated, and its files rewritten.
                    // The gateway refused the call before WSC saw it, so even a stop may be
                    // sent again, once, with the new key.
                    if !reloaded && refused_key(&error) {
                        reloaded = true;
                        if self.reload_keys_after(&keys) == Reload::Changed {
                            tracing::info!(
                                operation = operation.name(),
                                request_id = error.request_id.as_deref(),
                                "NCP refused the key; trying again with the key now in its files"
                            );
                            continue;
                        }
                    }
                    tries += 1;
                    let delay = self.settings.retry.delay(tries);
                    // A retry needs time to succeed in; otherwise the real error beats a timeout.
                    let time_left = deadline.saturating_duration_since(Instant::now() + delay);
                    let retry = tries < attempts
                        && error.kind.is_transient()
                        && time_left >= self.settings.timeout / 4;
                    tracing::warn!(
                        operation = operation.name(),
                        kind = error.kind.name(),
                        http_status = error.http_status,
                        code = error.code.as_deref(),
                        request_id = error.request_id.as_deref(),
                        attempt = tries,
                        retry,
                        elapsed_ms,
                        detail = %error.detail,
                        "wsc call failed"
                    );
                    if !retry {
                        return Err(error);
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        operation: Operation,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        keys: &KeyPair,
        budget: Duration,
    ) -> Result<(Value, CallInfo), WscError> {
        let base = self.settings.base_url.as_str().trim_end_matches('/');
        let url = format!("{base}{path_and_query}");
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let mut request = request.build().map_err(|e| transport_error(operation, &e, CallInfo::default()))?;
        *request.timeout_mut() = Some(budget);

        // Sign what reqwest will put on the wire, after its own URL normalisation.
        let sent = request.url();
        let path_and_query = match sent.query() {
            Some(query) => format!("{}?{query}", sent.path()),
            None => sent.path().to_owned(),
        };
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        let signature = sign::signature(
            method.as_str(),
            &path_and_query,
            timestamp,
            keys.access_key.expose_secret(),
            keys.secret_key.expose_secret().as_bytes(),
        );
        let headers = request.headers_mut();
        headers.insert(sign::HEADER_TIMESTAMP, HeaderValue::from(timestamp));
        headers.insert(sign::HEADER_ACCESS_KEY, sensitive(keys.access_key.expose_secret(), operation)?);
        headers.insert(sign::HEADER_SIGNATURE, sensitive(&signature, operation)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| transport_error(operation, &e, CallInfo::default()))?;
        let status = response.status().as_u16();
        let info = call_info(response.headers());
        let bytes = read_capped(response, operation, status, &info).await?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if let Some(error) = classify(operation, status, parsed.as_ref()) {
            return Err(WscError {
                kind: error.kind,
                operation,
                http_status: Some(status),
                code: error.code,
                request_id: info.request_id,
                server_time: info.server_time,
                detail: if error.message.is_empty() { format!("HTTP {status}") } else { error.message },
            });
        }
        Ok((parsed.unwrap_or(Value::Null), info))
    }
}

/// The body, read chunk by chunk and abandoned as soon as it passes `MAX_ANSWER_BYTES`.
async fn read_capped(
    mut response: reqwest::Response,
    operation: Operation,
    status: u16,
    info: &CallInfo,
) -> Result<Vec<u8>, WscError> {
    let too_big = || WscError {
        kind: ErrorKind::Decode,
        operation,
        http_status: Some(status),
        code: None,
        request_id: info.request_id.clone(),
        server_time: info.server_time,
        detail: format!("the answer is larger than {} MiB; it was not read", MAX_ANSWER_BYTES >> 20),
    };
    if response.content_length().is_some_and(|length| length > MAX_ANSWER_BYTES as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| transport_error(operation, &e, info.clone()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The gateway's 401 with `errorCode` 200: wrong key, wrong signature or a skewed clock.
fn refused_key(error: &WscError) -> bool {
    error.kind == ErrorKind::Credentials
        && error.http_status == Some(401)
        && error.code.as_deref() == Some("200")
}

fn sensitive(value: &str, operation: Operation) -> Result<HeaderValue, WscError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| WscError {
        kind: ErrorKind::Rejected,
        operation,
        http_status: None,
        code: None,
        request_id: None,
        server_time: None,
        detail: "a credential holds characters that cannot go in an HTTP header".into(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

fn call_info(headers: &HeaderMap) -> CallInfo {
    CallInfo {
        request_id: headers
            .get("x-ncp-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(128).collect()),
        server_time: headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| httpdate::parse_http_date(s).ok()),
    }
}

fn transport_error(operation: Operation, error: &reqwest::Error, info: CallInfo) -> WscError {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_connect() {
        ErrorKind::Unreachable
    } else if error.is_builder() {
        ErrorKind::Rejected
    } else {
        // The connection dropped mid-response, or the body could not be read.
        ErrorKind::Unavailable
    };
    WscError {
        kind,
        operation,
        http_status: error.status().map(|s| s.as_u16()),
        code: None,
        request_id: info.request_id,
        server_time: info.server_time,
        detail: error_chain(error),
    }
}

/// reqwest's message plus its sources; URLs hold no secret (keys travel in headers).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn decode_error(operation: Operation, info: &CallInfo, detail: String) -> WscError {
    WscError {
        kind: ErrorKind::Decode,
        operation,
        http_status: Some(200),
        code: None,
        request_id: info.request_id.clone(),
        server_time: info.server_time,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_stay_under_their_cap() {
        let policy = RetryPolicy::default();
        for attempt in 0..40 {
            assert!(policy.delay(attempt) <= policy.max_delay);
        }
        assert!(policy.delay(1) <= policy.base_delay * 2);
    }
}
