//! Any text typed as a scan URL is refused, or is an http(s) URL without credentials on a host
//! the targets list (exactly, or under a listed domain); no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsc_bot::bot::targets::ScanTargets;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let targets = ScanTargets::parse("shop.example.com, *.example.org").expect("valid targets");
    if let Ok(url) = targets.check(text) {
        assert!(matches!(url.scheme(), "http" | "https"), "{text:?}");
        assert!(url.username().is_empty() && url.password().is_none(), "{text:?}");
        let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        assert!(host == "shop.example.com" || host.ends_with(".example.org"), "{text:?} → {host}");
    }
    // The targets themselves: parsing never panics.
    let _ = ScanTargets::parse(text);
});
