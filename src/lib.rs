//! wsc-bot: a Discord chat-ops bot for NAVER Cloud Web Security Checker scans.

pub mod bot;
pub mod check;
pub mod config;
pub mod discord;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod runtime;
pub mod store;
pub mod trail;
pub mod wsc;
