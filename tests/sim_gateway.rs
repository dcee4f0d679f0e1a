//! The simulator's gateway: requests signed by an independent implementation of NCP's
//! algorithm (Python's hmac, as in NCP's own sample) are accepted; one changed byte is refused.

mod common;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{settings, start_sim, ACCESS_KEY, SECRET_KEY};
use serde_json::Value;
use wsc_bot::wsc::sim::{Phase, SettingsPatch};
use wsc_bot::wsc::Operation;

const PYTHON_SIGNER: &str = r#"
import base64, hashlib, hmac, sys
method, path, timestamp, access_key, secret_key = sys.argv[1:]
message = method + " " + path + "\n" + timestamp + "\n" + access_key
print(base64.b64encode(hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).digest()).decode())
"#;

fn python_signature(method: &str, path: &str, timestamp: u64, access_key: &str, secret_key: &str) -> String {
    let output = Command::new("python3")
        .args(["-c", PYTHON_SIGNER, method, path, &timestamp.to_string(), access_key, secret_key])
        .output()
        .expect("python3 runs (the independent signer)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// One request: what is sent, and what was signed.
#[derive(Clone)]
struct Signed {
    method: &'static str,
    path: String,
    timestamp: String,
    access_key: String,
    signature: String,
}

impl Signed {
    fn new(method: &'static str, path: &str, timestamp: u64) -> Self {
        Self {
            method,
            path: path.to_owned(),
            timestamp: timestamp.to_string(),
            access_key: ACCESS_KEY.to_owned(),
            signature: python_signature(method, path, timestamp, ACCESS_KEY, SECRET_KEY),
        }
    }

    async fn send(&self, base: &str, omit: Option<&str>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new().request(method, format!("{base}{}", self.path));
        for (name, value) in [
            ("x-ncp-apigw-timestamp", &self.timestamp),
            ("x-ncp-iam-access-key", &self.access_key),
            ("x-ncp-apigw-signature-v2", &self.signature),
        ] {
            if omit != Some(name) {
                request = request.header(name, value);
            }
        }
        if self.method == "POST" {
            request =
                request.body(r#"{"searchType":"","searchKeyword":"","statusCode":null,"limit":5,"page":1}"#);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn is_authentication_failure(reply: &(u16, Value)) -> bool {
    reply.0 == 401
        && reply.1["error"]["errorCode"] == "200"
        && reply.1["error"]["message"] == "Authentication Failed"
}

#[tokio::test]
async fn independently_signed_requests_are_accepted() {
    let sim = start_sim(settings()).await;
    let base = sim.base_url();
    let ts = now_ms();
    let (status, body) = Signed::new("GET", "/api/v1/jobs?limit=10&page=1", ts).send(&base, None).await;
    assert_eq!((status, body["resources"]["total_cnt"].as_u64()), (200, Some(8)));
    let (status, body) = Signed::new("POST", "/api/v1/jobs/search", ts).send(&base, None).await;
    assert_eq!((status, body["returnCode"].as_str()), (200, Some("0")));
    let (status, body) = Signed::new("PATCH", "/api/v1/jobs/1000000006/stop", ts).send(&base, None).await;
    assert_eq!((status, body["returnCode"].as_str()), (200, Some("0")));
    assert_eq!(sim.phase(1000000006), Some(Phase::Stopping));
}

#[tokio::test]
async fn one_changed_byte_anywhere_is_refused() {
    let sim = start_sim(settings()).await;
    let base = sim.base_url();
    let ts = now_ms();
    let stop = Signed::new("PATCH", "/api/v1/jobs/1000000006/stop", ts);
    let list = Signed::new("GET", "/api/v1/jobs?limit=10&page=1", ts);

    let mut tampered = Vec::new();
    tampered.push((
        "method",
        Signed { signature: python_signature("PUT", &list.path, ts, ACCESS_KEY, SECRET_KEY), ..list.clone() },
    ));
    tampered.push(("path", Signed { path: "/api/v1/jobs/1000000007/stop".into(), ..stop.clone() }));
    tampered.push(("query value", Signed { path: "/api/v1/jobs?limit=10&page=2".into(), ..list.clone() }));
    tampered.push(("query order", Signed { path: "/api/v1/jobs?page=1&limit=10".into(), ..list.clone() }));
    tampered.push(("timestamp", Signed { timestamp: (ts + 1).to_string(), ..stop.clone() }));
    tampered.push((
        "access key",
        Signed { access_key: format!("{}x", &ACCESS_KEY[..ACCESS_KEY.len() - 1]), ..stop.clone() },
    ));
    tampered.push((
        "secret key",
        Signed {
            signature: python_signature("PATCH", &stop.path, ts, ACCESS_KEY, "SK-wrong"),
            ..stop.clone()
        },
    ));
    let mut flipped = stop.signature.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    tampered.push(("signature", Signed { signature: String::from_utf8(flipped).unwrap(), ..stop.clone() }));
    tampered.push(("signature not base64", Signed { signature: "%%%".into(), ..stop.clone() }));
    let old = now_ms() - 5 * 60 * 1000;
    tampered.push(("timestamp 5 minutes old", Signed::new("PATCH", &stop.path, old)));
    tampered.push((
        "timestamp 5 minutes ahead",
        Signed::new("PATCH", &stop.path, now_ms() + 5 * 60 * 1000 + 60_000),
    ));
    tampered.push(("timestamp not a number", Signed { timestamp: "soon".into(), ..stop.clone() }));

    for (what, request) in &tampered {
        let reply = request.send(&base, None).await;
        assert!(is_authentication_failure(&reply), "{what}: {reply:?}");
    }
    for header in ["x-ncp-apigw-timestamp", "x-ncp-iam-access-key", "x-ncp-apigw-signature-v2"] {
        let reply = stop.send(&base, Some(header)).await;
        assert!(is_authentication_failure(&reply), "without {header}: {reply:?}");
    }
    assert_eq!(sim.phase(1000000006), Some(Phase::Scanning), "no tampered stop took effect");
    assert_eq!(sim.phase(1000000007), Some(Phase::Crawling));
    assert!(sim.requests_for(Operation::Stop).iter().all(|r| !r.signature_valid));

    let fresh = Signed::new("PATCH", &stop.path, now_ms() - 4 * 60 * 1000);
    assert_eq!(fresh.send(&base, None).await.0, 200, "four minutes off is still accepted");
}

#[tokio::test]
async fn unknown_paths_get_the_gateways_404() {
    let sim = start_sim(settings()).await;
    let (status, body) = Signed::new("GET", "/api/v1/search", now_ms()).send(&sim.base_url(), None).await;
    assert_eq!((status, body["error"]["errorCode"].as_str()), (404, Some("300")));
    let (status, _) =
        Signed::new("PATCH", "/api/v1/jobs/12abc/stop", now_ms()).send(&sim.base_url(), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_gateway_clock_can_be_shifted() {
    let sim = start_sim(settings()).await;
    sim.update(SettingsPatch { clock_offset_secs: Some(600), ..Default::default() }).unwrap();
    let reply = Signed::new("GET", "/api/v1/jobs?limit=1&page=1", now_ms()).send(&sim.base_url(), None).await;
    assert!(is_authentication_failure(&reply));
    let shifted = Signed::new("GET", "/api/v1/jobs?limit=1&page=1", now_ms() + 600_000);
    assert_eq!(shifted.send(&sim.base_url(), None).await.0, 200);
}
