//! Error kinds a caller can act on, decided on the response body as well as the status
//! (WSC's 901 may come with HTTP 200).

use std::time::SystemTime;

use serde_json::Value;

use super::Operation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Gateway 401/200: wrong key, wrong signature, or a clock 5 minutes or more off.
    Credentials,
    /// Gateway 210/230 or WSC 169201: the key lacks the WSC policy.
    Permission,
    /// WSC 169202: NCP could not verify the account.
    Account,
    /// WSC 901: the job is not in a state that allows the action (or is unknown).
    NotApplicable,
    /// Gateway 429 (400/410/420).
    RateLimited,
    /// 5xx, gateway 500/900: WSC or the gateway is down.
    Unavailable,
    /// No answer in time (ours, or the gateway's 510).
    Timeout,
    /// The host could not be reached at all (DNS, refused connection, TLS).
    Unreachable,
    /// A request WSC considers malformed (gateway 100/300/430, WSC 1603xx, other 4xx).
    Rejected,
    /// A 2xx answer the bot cannot read.
    Decode,
}

impl ErrorKind {
    /// A plain sentence that says what happened and what to do.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::Credentials => "NCP refused the API credentials: check NCP_ACCESS_KEY and NCP_SECRET_KEY, and that this machine's clock is right (NCP refuses requests 5 minutes or more off).",
            Self::Permission => "The NCP API key lacks permission for Web Security Checker: attach the policy NCP_WEB_SECURITY_CHECKER_MANAGER to its sub-account.",
            Self::Account => "NCP could not verify the account behind the API key: check the account in the NCP console.",
            Self::NotApplicable => "WSC refused the action: the job is not in a state that allows it (already started, already ended, or unknown).",
            Self::RateLimited => "NCP is limiting the rate of requests: wait a minute, then try again.",
            Self::Unavailable => "Web Security Checker is unavailable right now: try again in a few minutes.",
            Self::Timeout => "Web Security Checker did not answer in time: try again, and for cancel or stop look at the job's state first.",
            Self::Unreachable => "The WSC API host could not be reached: check WSC_API_BASE and this machine's network.",
            Self::Rejected => "WSC rejected the request as invalid: check WSC_API_BASE; if it goes on, report it to the bot's maintainers.",
            Self::Decode => "WSC answered with something the bot could not read: try again; if it goes on, report it to the bot's maintainers.",
        }
    }

    /// Whether trying a read again later can help.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable | Self::Timeout)
    }

    /// Whether a cancel or stop that failed this way may still have been carried out: the
    /// request may have reached WSC before the answer was lost, cut or unreadable.
    pub fn outcome_unknown(self) -> bool {
        matches!(self, Self::Timeout | Self::Unavailable | Self::Decode)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Permission => "permission",
            Self::Account => "account",
            Self::NotApplicable => "not_applicable",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
            Self::Rejected => "rejected",
            Self::Decode => "decode",
        }
    }
}

/// A failed WSC call. `Display` is for logs (it names no secret); users get `kind.sentence()`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} failed ({}): {detail}", operation.name(), kind.name())]
pub struct WscError {
    pub kind: ErrorKind,
    pub operation: Operation,
    pub http_status: Option<u16>,
    /// NCP's `errorCode` (gateway or WSC) or a non-zero `returnCode`, as text.
    pub code: Option<String>,
    /// NCP's `x-ncp-request-id`.
    pub request_id: Option<String>,
    /// The server's `Date` header, when it sent one: lets `check` measure clock skew.
    pub server_time: Option<SystemTime>,
    /// Internal detail for the log only.
    pub detail: String,
}

/// What an error body said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: ErrorKind,
    pub code: Option<String>,
    pub message: String,
}

/// Decides whether a response to `operation` is an error, from its body first and its status
/// second. `None`: a success whose body is `parsed` (the caller decodes it).
pub fn classify(operation: Operation, status: u16, parsed: Option<&Value>) -> Option<Classified> {
    let kind_for_code = |code: &str| kind_for_code(operation, code);
    let by_status = kind_for_status(status);
    let Some(body) = parsed else {
        // HTML error pages, truncated or malformed JSON.
        return Some(Classified {
            kind: by_status.unwrap_or(ErrorKind::Decode),
            code: None,
            message: format!("HTTP {status} with a body that is not JSON"),
        });
    };
    if let Some(error) = body.get("error").filter(|e| e.is_object()) {
        let code = code_text(error.get("errorCode"));
        let message = [error.get("message"), error.get("details")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(": ");
        let kind = code.as_deref().and_then(kind_for_code).or(by_status).unwrap_or(ErrorKind::Rejected);
        return Some(Classified { kind, code, message });
    }
    if let Some(code) = code_text(body.get("returnCode")).filter(|c| c != "0") {
        let message = body.get("returnMessage").and_then(Value::as_str).unwrap_or("").to_owned();
        let kind = kind_for_code(&code).or(by_status).unwrap_or(ErrorKind::Rejected);
        return Some(Classified { kind, code: Some(code), message });
    }
    by_status.map(|kind| Classified { kind, code: None, message: format!("HTTP {status}") })
}

fn kind_for_status(status: u16) -> Option<ErrorKind> {
    Some(match status {
        200..=299 => return None,
        401 => ErrorKind::Credentials,
        403 => ErrorKind::Permission,
        429 => ErrorKind::RateLimited,
        504 => ErrorKind::Timeout,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Rejected,
    })
}

/// Gateway codes (strings) and WSC codes (numbers) share one space without collisions.
fn kind_for_code(operation: Operation, code: &str) -> Option<ErrorKind> {
    Some(match code {
        // 901 speaks of a job's state for cancel, stop and report; on a list it is a plain failure.
        "901" if matches!(operation, Operation::List | Operation::Search) => ErrorKind::Unavailable,
        "200" => ErrorKind::Credentials,
        "210" | "230" | "169201" => ErrorKind::Permission,
        "169202" => ErrorKind::Account,
        "901" => ErrorKind::NotApplicable,
        "400" | "410" | "420" => ErrorKind::RateLimited,
        "500" | "900" => ErrorKind::Unavailable,
        "510" => ErrorKind::Timeout,
        "100" | "300" | "430" | "160331" | "160332" | "160351" | "160353" => ErrorKind::Rejected,
        _ => return None,
    })
}

fn code_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(status: u16, body: Value) -> Option<ErrorKind> {
        classify(Operation::Stop, status, Some(&body)).map(|c| c.kind)
    }

    #[test]
    fn wsc_901_is_an_error_with_200_and_with_400() {
        let body = json!({"error": {"errorCode": 901, "message": "API Call Fail"}});
        assert_eq!(kind(200, body.clone()), Some(ErrorKind::NotApplicable));
        assert_eq!(kind(400, body.clone()), Some(ErrorKind::NotApplicable));
        let on = |operation| classify(operation, 200, Some(&body)).map(|c| c.kind);
        assert_eq!(on(Operation::Report), Some(ErrorKind::NotApplicable), "the report's job state");
        assert_eq!(on(Operation::List), Some(ErrorKind::Unavailable), "a list has no job state");
        assert_eq!(on(Operation::Search), Some(ErrorKind::Unavailable));
    }

    #[test]
    fn gateway_codes_as_strings_or_numbers() {
        let gateway =
            |code: Value, status| kind(status, json!({"error": {"errorCode": code, "message": "m"}}));
        assert_eq!(gateway(json!("200"), 401), Some(ErrorKind::Credentials));
        assert_eq!(gateway(json!(200), 401), Some(ErrorKind::Credentials));
        assert_eq!(gateway(json!("210"), 401), Some(ErrorKind::Permission));
        assert_eq!(gateway(json!("420"), 429), Some(ErrorKind::RateLimited));
        assert_eq!(gateway(json!("500"), 503), Some(ErrorKind::Unavailable));
        assert_eq!(gateway(json!("510"), 504), Some(ErrorKind::Timeout));
        assert_eq!(gateway(json!("300"), 404), Some(ErrorKind::Rejected));
        assert_eq!(gateway(json!(169201), 200), Some(ErrorKind::Permission));
        assert_eq!(gateway(json!(169202), 200), Some(ErrorKind::Account));
        assert_eq!(gateway(json!("77777"), 503), Some(ErrorKind::Unavailable));
    }

    #[test]
    fn success_bodies_are_not_errors() {
        assert_eq!(kind(200, json!({"returnCode": "0", "resources": null})), None);
        assert_eq!(kind(200, json!({"resources": {}})), None);
        assert_eq!(
            kind(200, json!({"returnCode": "901", "returnMessage": "x"})),
            Some(ErrorKind::NotApplicable)
        );
    }

    #[test]
    fn bodies_that_are_not_json() {
        assert_eq!(classify(Operation::List, 200, None).map(|c| c.kind), Some(ErrorKind::Decode));
        assert_eq!(classify(Operation::List, 502, None).map(|c| c.kind), Some(ErrorKind::Unavailable));
        assert_eq!(classify(Operation::List, 429, None).map(|c| c.kind), Some(ErrorKind::RateLimited));
    }
}
