//! Discord front ends: thin adapters between Discord and the core.

pub mod endpoint;
pub mod gateway;
pub mod seen;
