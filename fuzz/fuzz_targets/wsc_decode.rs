//! Whatever WSC sends, decoding and error classification never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsc_bot::wsc::error::classify;
use wsc_bot::wsc::model::{decode_job_page, decode_report};
use wsc_bot::wsc::Operation;

fuzz_target!(|data: &[u8]| {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(data).ok();
    let status = u16::from(data.first().copied().unwrap_or(0)) + 100;
    for operation in Operation::ALL {
        let _ = classify(operation, status, parsed.as_ref());
    }
    if let Some(body) = parsed {
        if let Ok(page) = decode_job_page(&body) {
            for job in &page.jobs {
                assert!(job.instance_no > 0);
                assert!(job.progress.is_none_or(|p| p <= 100));
            }
        }
        let _ = decode_report(&body);
    }
});
