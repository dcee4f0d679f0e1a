//! The NCP key pair a client signs with. It can be swapped while the bot runs, so a rotated key
//! needs no restart: the files it came from are read again on SIGHUP, and once when NCP refuses
//! the key in use.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use secrecy::{ExposeSecret, SecretString};

use super::WscClient;

#[derive(Debug, Clone)]
pub struct KeyPair {
    pub access_key: SecretString,
    pub secret_key: SecretString,
}

impl KeyPair {
    fn same_as(&self, other: &KeyPair) -> bool {
        self.access_key.expose_secret() == other.access_key.expose_secret()
            && self.secret_key.expose_secret() == other.secret_key.expose_secret()
    }
}

type ReadKeys = dyn Fn() -> Result<KeyPair, String> + Send + Sync;

/// Reads the key pair again from where it came from (files). The error is one line for the log
/// and names no secret.
#[derive(Clone)]
pub struct KeySource(Arc<ReadKeys>);

impl KeySource {
    pub fn new(read: impl Fn() -> Result<KeyPair, String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(read))
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySource(..)")
    }
}

/// What a reload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// The keys come from the environment: there is nothing to read again.
    NoSource,
    Unchanged,
    Changed,
    /// The files could not be read; the keys in use stay.
    Failed,
}

/// The keys a client and all its clones share.
#[derive(Debug, Clone)]
pub(crate) struct SharedKeys {
    current: Arc<RwLock<KeyPair>>,
    source: Option<KeySource>,
}

impl SharedKeys {
    pub(crate) fn new(keys: KeyPair, source: Option<KeySource>) -> Self {
        Self { current: Arc::new(RwLock::new(keys)), source }
    }

    pub(crate) fn current(&self) -> KeyPair {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Reads the source again; `Changed` when it holds other keys than `used` (a call's own
    /// keys: another call may have swapped them in already), which are then the current ones.
    pub(crate) fn reload(&self, used: &KeyPair) -> Reload {
        let Some(source) = &self.source else {
            return Reload::NoSource;
        };
        match (source.0)() {
            Ok(keys) if keys.same_as(used) => Reload::Unchanged,
            Ok(keys) => {
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                if !keys.same_as(&current) {
                    *current = keys;
                    tracing::info!("the NCP key files hold a new key pair: using it from now on");
                }
                Reload::Changed
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the NCP key files again; keeping the keys in use");
                Reload::Failed
            }
        }
    }
}

impl Reload {
    pub fn name(self) -> &'static str {
        match self {
            Self::NoSource => "no_source",
            Self::Unchanged => "unchanged",
            Self::Changed => "changed",
            Self::Failed => "failed",
        }
    }
}

/// From now on, each SIGHUP makes `client` (and its clones) read its key files again.
pub fn reload_on_sighup(client: &WscClient) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP: rotated NCP keys need a restart");
                return;
            }
        };
        let client = client.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let outcome = client.reload_keys();
                tracing::info!(outcome = outcome.name(), "SIGHUP: read the NCP key files again");
            }
        });
    }
    #[cfg(not(unix))]
    let _ = client;
}
