//! Any custom_id either parses to a button that prints back to itself, or is refused; no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsc_bot::bot::action::ButtonId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(button) = ButtonId::parse(text) {
        let printed = button.to_string();
        assert!(printed.chars().count() <= 100, "{printed}");
        assert_eq!(ButtonId::parse(&printed), Ok(button));
    }
});
