//! Any interaction payload becomes a request for the core, or is dropped; no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serenity::all::Interaction;
use wsc_bot::bot::Incoming;

fuzz_target!(|data: &[u8]| {
    if let Ok(interaction) = serde_json::from_slice::<Interaction>(data) {
        if let Some(incoming) = Incoming::from_interaction(&interaction) {
            let _ = (incoming.lang(), incoming.team_lang());
        }
    }
});
