//! Any page WSC could send, shown at any page number with any filter: every button carries a
//! custom_id the bot's own parser accepts as exactly that text, and the message fits Discord's
//! limits; no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wsc_bot::bot::action::{ButtonId, JobFilter};
use wsc_bot::bot::i18n::Lang;
use wsc_bot::bot::view::jobs_page;
use wsc_bot::wsc::model::decode_job_page;
use wsc_bot::wsc::{JobPage, SearchField};

/// 4 bytes: the page asked for; 8: a page count; 1: flags; the rest: WSC's answer (JSON).
const HEADER: usize = 13;

fuzz_target!(|data: &[u8]| {
    if data.len() < HEADER {
        return;
    }
    let current = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let count = u64::from_le_bytes(data[4..12].try_into().unwrap());
    let flags = data[12];
    let body = &data[HEADER..];
    let decoded = serde_json::from_slice::<Value>(body).ok().and_then(|b| decode_job_page(&b).ok());
    let mut page = decoded.unwrap_or(JobPage { jobs: Vec::new(), total: count, total_pages: 1, skipped: 0 });
    // Bit 0: force the page count, as a hostile `total_page_cnt` would.
    if flags & 1 != 0 {
        page.total_pages = count;
    }
    // Bit 4: a filter from the same bytes (bits 1-2 the field, bit 3 a status).
    let field = match (flags >> 1) & 3 {
        0 => SearchField::Any,
        1 => SearchField::Url,
        _ => SearchField::Memo,
    };
    let (filter, shortened) = if flags & 16 != 0 {
        JobFilter::fitted(field, &String::from_utf8_lossy(body), (flags & 8 != 0).then_some(91))
    } else {
        (JobFilter::default(), false)
    };
    for lang in [Lang::En, Lang::Ko] {
        let reply = jobs_page(lang, &page, current, &filter, shortened, false);
        let message = serde_json::to_value(reply.response(false)).expect("a message serializes");
        check(&message);
    }
});

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// Discord's limits on a message, and the bot's own spelling of every custom_id.
fn check(message: &Value) {
    assert!(chars(&message["content"]) <= 2000, "content: {message}");
    let embeds = items(&message["embeds"]);
    assert!(embeds.len() <= 10);
    let mut total = 0;
    for embed in embeds {
        let fields = items(&embed["fields"]);
        assert!(chars(&embed["title"]) <= 256 && chars(&embed["description"]) <= 4096, "{embed}");
        assert!(fields.len() <= 25 && chars(&embed["footer"]["text"]) <= 2048, "{embed}");
        for field in fields {
            assert!(chars(&field["name"]) <= 256 && chars(&field["value"]) <= 1024, "{field}");
            assert!(chars(&field["value"]) > 0, "Discord refuses an empty field value: {field}");
            total += chars(&field["name"]) + chars(&field["value"]);
        }
        total += chars(&embed["title"]) + chars(&embed["description"]) + chars(&embed["footer"]["text"]);
    }
    assert!(total <= 6000, "embeds hold {total} characters");
    let rows = items(&message["components"]);
    assert!(rows.len() <= 5, "{} rows", rows.len());
    for row in rows {
        let buttons = items(&row["components"]);
        assert!(!buttons.is_empty() && buttons.len() <= 5, "{row}");
        for button in buttons {
            assert!(chars(&button["label"]) <= 80, "{button}");
            let custom_id = button["custom_id"].as_str().expect("every button has a custom_id");
            assert!(custom_id.chars().count() <= 100, "{custom_id}");
            let parsed = ButtonId::parse(custom_id);
            assert!(parsed.is_ok(), "the bot refuses its own button {custom_id}: {parsed:?}");
            assert_eq!(parsed.unwrap().to_string(), custom_id);
        }
    }
}
