//! wsc-bot: a Discord chat-ops bot for NAVER Cloud Web Security Checker scans.

pub mod check;
pub mod config;
pub mod logging;
pub mod wsc;
