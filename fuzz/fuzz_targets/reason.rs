//! Any reason modal submission (its fields as JSON pairs of custom id and value) gives one
//! reason of one line, trimmed, 1 to 200 characters, or a refusal; no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsc_bot::bot::action::{modal_reason, MAX_REASON_CHARS, REASON_FIELD};
use wsc_bot::bot::text::one_line;

fuzz_target!(|data: &[u8]| {
    let Ok(fields) = serde_json::from_slice::<Vec<(String, Option<String>)>>(data) else { return };
    if let Ok(reason) = modal_reason(&fields) {
        assert!((1..=MAX_REASON_CHARS).contains(&reason.chars().count()), "{reason:?}");
        assert_eq!(reason, reason.trim());
        assert_eq!(reason, one_line(&reason));
        assert!(matches!(fields.as_slice(), [(id, Some(_))] if id == REASON_FIELD));
    }
});
