//! Fault injection: per operation, a latency, a rate, and what goes wrong.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::wsc::Operation;

/// What a faulty answer looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FaultError {
    /// An API Gateway error by its `errorCode` (e.g. 200, 210, 420, 500, 510), with its HTTP status.
    Gateway(u16),
    /// A WSC error body by its `errorCode` (e.g. 901, 169201), with HTTP 200 or 400 as configured.
    Wsc(u32),
    /// HTTP 429 with the gateway's "Rate Limited" body (`gateway:420`).
    RateLimited,
    /// HTTP 200 with JSON of the wrong shape, after the operation was carried out.
    Malformed,
    /// HTTP 200 with the real answer cut in half, after the operation was carried out.
    Truncated,
    /// HTTP 502 with an HTML page, as a proxy in front of the gateway sends.
    Html,
    /// The connection is dropped after the operation and part of the body.
    Drop,
    /// A bare HTTP status with a plain-text body, as a load balancer sends (e.g. 503).
    Status(u16),
    /// HTTP 200 with a well-formed list answer padded to 64 MiB and streamed, after the
    /// operation was carried out: a client must stop reading it.
    Oversized,
}

impl FromStr for FaultError {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, arg) = text.split_once(':').unwrap_or((text, ""));
        let number = || arg.parse::<u32>().map_err(|_| format!("`{text}`: `{arg}` is not an error code"));
        Ok(match name {
            "gateway" => Self::Gateway(
                number()?
                    .try_into()
                    .map_err(|_| format!("`{text}`: a gateway error code is a number from 0 to 65535"))?,
            ),
            "wsc" => Self::Wsc(number()?),
            "429" | "rate-limit" => Self::RateLimited,
            "malformed" => Self::Malformed,
            "truncated" => Self::Truncated,
            "html" => Self::Html,
            "drop" => Self::Drop,
            "oversized" => Self::Oversized,
            "status" => Self::Status(
                number()?.try_into().ok().filter(|c| (100..=599).contains(c)).ok_or_else(|| {
                    format!("`{text}`: an HTTP status is a number from 100 to 599")
                })?,
            ),
            _ => return Err(format!("`{text}` is not a fault: use gateway:CODE, wsc:CODE, status:CODE, 429, malformed, truncated, html, drop or oversized")),
        })
    }
}

impl TryFrom<String> for FaultError {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gateway(code) => write!(f, "gateway:{code}"),
            Self::Wsc(code) => write!(f, "wsc:{code}"),
            Self::RateLimited => f.write_str("429"),
            Self::Malformed => f.write_str("malformed"),
            Self::Truncated => f.write_str("truncated"),
            Self::Html => f.write_str("html"),
            Self::Drop => f.write_str("drop"),
            Self::Status(code) => write!(f, "status:{code}"),
            Self::Oversized => f.write_str("oversized"),
        }
    }
}

impl From<FaultError> for String {
    fn from(error: FaultError) -> Self {
        error.to_string()
    }
}

/// One operation's fault: wait `latency_ms`, then fail with `error` at probability `rate`, for
/// the next `times` requests only when set; an operation carried out is answered after
/// `answer_latency_ms` more (WSC acted, then answered late).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub error: Option<FaultError>,
    #[serde(default = "always")]
    pub rate: f64,
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub answer_latency_ms: u64,
}

fn always() -> f64 {
    1.0
}

impl Default for Fault {
    fn default() -> Self {
        Self { latency_ms: 0, error: None, rate: 1.0, times: None, answer_latency_ms: 0 }
    }
}

impl Fault {
    /// Whether this request gets the error; counts it against `times`.
    pub fn strikes(&mut self) -> bool {
        if self.error.is_none() || self.times == Some(0) || fastrand::f64() >= self.rate {
            return false;
        }
        if let Some(times) = &mut self.times {
            *times -= 1;
        }
        true
    }
}

/// `--fault OP=latency=500,error=wsc:901,rate=0.5`, where OP is an operation or `all`.
pub fn parse_fault_flag(flag: &str) -> Result<(Vec<Operation>, Fault), String> {
    let (op, spec) =
        flag.split_once('=').ok_or_else(|| format!("`{flag}`: expected OP=SPEC, e.g. stop=error=wsc:901"))?;
    let ops = if op == "all" {
        Operation::ALL.to_vec()
    } else {
        vec![Operation::parse(op).ok_or_else(|| {
            format!("`{op}` is not an operation: use list, search, cancel, stop, report, create or all")
        })?]
    };
    let mut fault = Fault::default();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| format!("`{part}`: expected KEY=VALUE"))?;
        match key {
            "latency" | "latency_ms" => {
                fault.latency_ms =
                    value.parse().map_err(|_| format!("`{value}` is not a number of milliseconds"))?
            }
            "error" => fault.error = Some(value.parse()?),
            "times" => {
                fault.times =
                    Some(value.parse().map_err(|_| format!("`{value}` is not a number of requests"))?)
            }
            "answer-latency" | "answer_latency_ms" => {
                fault.answer_latency_ms =
                    value.parse().map_err(|_| format!("`{value}` is not a number of milliseconds"))?
            }
            "rate" => {
                fault.rate = value
                    .parse()
                    .ok()
                    .filter(|r: &f64| (0.0..=1.0).contains(r))
                    .ok_or_else(|| format!("`{value}` is not a rate between 0 and 1"))?
            }
            _ => {
                return Err(format!(
                    "`{key}` is not a fault setting: use latency, error, rate, times or answer-latency"
                ))
            }
        }
    }
    Ok((ops, fault))
}

/// The HTTP status NCP's gateway sends with each of its error codes.
pub fn gateway_status(code: u16) -> (u16, &'static str) {
    match code {
        100 => (400, "Bad Request Exception"),
        200 => (401, "Authentication Failed"),
        210 => (401, "Permission Denied"),
        230 => (403, "Forbidden"),
        300 => (404, "Not Found Exception"),
        430 => (413, "Request Entity Too Large"),
        400 => (429, "Quota Exceeded"),
        410 => (429, "Throttle Limited"),
        420 => (429, "Rate Limited"),
        500 => (503, "Endpoint Error"),
        510 => (504, "Endpoint Timeout"),
        _ => (500, "Unexpected Error"),
    }
}

/// The message WSC sends with each of its error codes.
pub fn wsc_message(code: u32) -> &'static str {
    match code {
        901 => "API Call Fail",
        169201 => "Auth Check Error",
        169202 => "User Check Error",
        160331 => "ActionURL Check Error",
        160332 => "Param Check Error",
        160351 => "Login Check Error",
        160353 => "URL Connection Error",
        _ => "Unknown Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let (ops, fault) = parse_fault_flag("stop=latency=500,error=wsc:901,rate=0.5").unwrap();
        assert_eq!(ops, [Operation::Stop]);
        assert_eq!(
            fault,
            Fault { latency_ms: 500, error: Some(FaultError::Wsc(901)), rate: 0.5, ..Fault::default() }
        );
        let (_, fault) = parse_fault_flag("list=error=429,times=2,answer-latency=3000").unwrap();
        assert_eq!((fault.times, fault.answer_latency_ms), (Some(2), 3000));
        let (ops, fault) = parse_fault_flag("all=error=gateway:503").unwrap();
        assert_eq!(ops.len(), 6, "createJob too");
        assert_eq!(fault.error, Some(FaultError::Gateway(503)));
        assert_eq!(parse_fault_flag("getJobs=error=429").unwrap().0, [Operation::List]);
        assert_eq!(parse_fault_flag("create=error=wsc:160331").unwrap().0, [Operation::Create]);
        for bad in [
            "stop",
            "nope=latency=1",
            "stop=latency=x",
            "stop=rate=2",
            "stop=error=boom",
            "stop=color=red",
            "stop=error=status:70000",
            "stop=error=status:99",
            "stop=error=gateway:70000",
            "stop=error=gateway:-1",
            "stop=times=-1",
            "stop=answer-latency=soon",
        ] {
            assert!(parse_fault_flag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_fault_with_times_strikes_that_many_requests_then_none() {
        let mut fault = Fault { error: Some(FaultError::RateLimited), times: Some(2), ..Fault::default() };
        let strikes: Vec<bool> = (0..4).map(|_| fault.strikes()).collect();
        assert_eq!(strikes, [true, true, false, false]);
        let mut latency_only = Fault { latency_ms: 10, ..Fault::default() };
        assert!(!latency_only.strikes(), "no error, nothing to strike with");
    }

    #[test]
    fn errors_round_trip_through_text() {
        for text in [
            "gateway:420",
            "wsc:901",
            "status:503",
            "429",
            "malformed",
            "truncated",
            "html",
            "drop",
            "oversized",
        ] {
            assert_eq!(text.parse::<FaultError>().unwrap().to_string(), text);
        }
    }
}
