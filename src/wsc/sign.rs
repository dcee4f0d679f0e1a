//! NCP API Gateway signature v2, as a pure function: the clock and the keys are passed in.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER_TIMESTAMP: &str = "x-ncp-apigw-timestamp";
pub const HEADER_ACCESS_KEY: &str = "x-ncp-iam-access-key";
pub const HEADER_SIGNATURE: &str = "x-ncp-apigw-signature-v2";

/// `base64(HMAC-SHA256(secret, METHOD + " " + path_and_query + "\n" + timestamp + "\n" + access_key))`.
///
/// `path_and_query` must be the bytes sent on the wire: path from the host on, plus `?query`
/// when there is one. The caller uses the same `timestamp_ms` for the header.
pub fn signature(
    method: &str,
    path_and_query: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret_key: &[u8],
) -> String {
    let mac = keyed_message(method, path_and_query, timestamp_ms, access_key, secret_key);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Constant-time check of a received signature, for the simulator's gateway.
pub fn verify(
    method: &str,
    path_and_query: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret_key: &[u8],
    received: &str,
) -> bool {
    let Ok(received) = base64::engine::general_purpose::STANDARD.decode(received) else {
        return false;
    };
    keyed_message(method, path_and_query, timestamp_ms, access_key, secret_key)
        .verify_slice(&received)
        .is_ok()
}

fn keyed_message(
    method: &str,
    path_and_query: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret_key: &[u8],
) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC accepts keys of any length");
    let message = format!("{} {path_and_query}\n{timestamp_ms}\n{access_key}", method.to_ascii_uppercase());
    mac.update(message.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    // The two published vectors of wsc-api.md, checked there with two independent implementations.
    #[test]
    fn published_vector_post_with_query() {
        let sig = signature(
            "POST",
            "/vserver/v2/createServerInstances?regionCode=KR",
            1_700_000_000_000,
            "AK_TEST",
            b"SK_TEST",
        );
        assert_eq!(sig, "xBcE26XFU55BMjppdPT7ZY3oDrqoOedfPyAn3Cq4lUw=");
    }

    #[test]
    fn published_vector_get_jobs() {
        let sig = signature("GET", "/api/v1/jobs?limit=10&page=1", 1_700_000_000_000, "AK_TEST", b"SK_TEST");
        assert_eq!(sig, "HygpmNCEoGXq8coyu6hAn4rs2MZWDM7MfaxMN9HNJO0=");
    }

    #[test]
    fn verify_accepts_the_vector_and_refuses_any_change() {
        let good = "HygpmNCEoGXq8coyu6hAn4rs2MZWDM7MfaxMN9HNJO0=";
        let path = "/api/v1/jobs?limit=10&page=1";
        assert!(verify("GET", path, 1_700_000_000_000, "AK_TEST", b"SK_TEST", good));
        assert!(!verify("PUT", path, 1_700_000_000_000, "AK_TEST", b"SK_TEST", good));
        assert!(!verify(
            "GET",
            "/api/v1/jobs?limit=10&page=2",
            1_700_000_000_000,
            "AK_TEST",
            b"SK_TEST",
            good
        ));
        assert!(!verify(
            "GET",
            "/api/v1/jobs?page=1&limit=10",
            1_700_000_000_000,
            "AK_TEST",
            b"SK_TEST",
            good
        ));
        assert!(!verify("GET", path, 1_700_000_000_001, "AK_TEST", b"SK_TEST", good));
        assert!(!verify("GET", path, 1_700_000_000_000, "AK_TESt", b"SK_TEST", good));
        assert!(!verify("GET", path, 1_700_000_000_000, "AK_TEST", b"SK_TESt", good));
        assert!(!verify("GET", path, 1_700_000_000_000, "AK_TEST", b"SK_TEST", "not base64!"));
    }

    #[test]
    fn method_is_upper_cased() {
        let path = "/api/v1/jobs?limit=10&page=1";
        assert_eq!(
            signature("get", path, 1_700_000_000_000, "AK_TEST", b"SK_TEST"),
            signature("GET", path, 1_700_000_000_000, "AK_TEST", b"SK_TEST")
        );
    }
}
