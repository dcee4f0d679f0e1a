//! Any custom_id is refused, or parses to a button that prints as exactly that text (only what
//! the bot writes is accepted); no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsc_bot::bot::action::ButtonId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(button) = ButtonId::parse(text) {
        let printed = button.to_string();
        assert!(printed.chars().count() <= 100, "{printed}");
        assert_eq!(printed, text, "only the bot's own spelling is accepted");
    }
});
