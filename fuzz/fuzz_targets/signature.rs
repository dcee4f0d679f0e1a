//! The endpoint's signature check never panics and never accepts what the key did not sign.
#![no_main]
use std::time::{Duration, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use wsc_bot::discord::endpoint::verify;

fuzz_target!(|data: &[u8]| {
    // A fixed key: the fuzzer can only guess signatures, never compute them.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let (head, body) = data.split_at(data.len().min(140));
    let (signature, timestamp) = head.split_at(head.len().min(128));
    let (signature, timestamp) = (String::from_utf8_lossy(signature), String::from_utf8_lossy(timestamp));
    let (signature, timestamp) = (signature.as_ref(), timestamp.as_ref());
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(signature) {
        headers.insert("x-signature-ed25519", value);
    }
    if let Ok(value) = HeaderValue::from_str(timestamp) {
        headers.insert("x-signature-timestamp", value);
    }
    let now = UNIX_EPOCH + Duration::from_secs(timestamp.parse().unwrap_or(1_700_000_000));
    assert!(verify(&key, &headers, body, now).is_err());
});
