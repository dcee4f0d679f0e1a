//! Discord front ends, thin adapters between Discord and the core, and the REST adapter they
//! share. No front end imports another.

pub mod endpoint;
pub mod gateway;
pub mod rest;
