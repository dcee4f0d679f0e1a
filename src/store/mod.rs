//! The implementations of the core's `Store` port: in this process's memory (tests, and nothing
//! else), and SQL through sqlx: SQLite for one process, PostgreSQL for replicas, with one set of
//! migrations (`migrations/`).

mod guard;
mod memory;
mod seen;
mod sql;

pub use guard::Guarded;
pub use memory::MemoryStore;
pub use seen::SeenInteractions;
pub use sql::{open, OpenError, SqlStore};
