//! The Web Security Checker API: signing, client, models, errors and the simulator.
//! Knows nothing of Discord.

pub mod client;
pub mod error;
pub mod keys;
pub mod model;
pub mod sign;
pub mod sim;

pub use client::{ClientSettings, RetryPolicy, WscClient};
pub use error::{ErrorKind, WscError};
pub use keys::{KeyPair, KeySource, Reload};
pub use model::{Job, JobAction, JobPage, JobState, NewJob, Report, ScanSpeed, SearchField, SearchQuery};

use serde::{Deserialize, Serialize};

/// The WSC operations this project uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    List,
    Search,
    Cancel,
    Stop,
    Report,
    Create,
}

impl Operation {
    pub const ALL: [Operation; 6] =
        [Self::List, Self::Search, Self::Cancel, Self::Stop, Self::Report, Self::Create];

    /// NCP's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::List => "getJobs",
            Self::Search => "searchJobs",
            Self::Cancel => "cancelJob",
            Self::Stop => "stopJob",
            Self::Report => "getReport",
            Self::Create => "createJob",
        }
    }

    /// Reads may be retried; cancel, stop and create never are (after a timeout, re-read the job,
    /// or look for the new one).
    pub fn is_read(self) -> bool {
        matches!(self, Self::List | Self::Search | Self::Report)
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| name.eq_ignore_ascii_case(op.name()) || name.eq_ignore_ascii_case(op.short()))
    }

    fn short(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Search => "search",
            Self::Cancel => "cancel",
            Self::Stop => "stop",
            Self::Report => "report",
            Self::Create => "create",
        }
    }
}
