//! A store that answers at once while its database is down, so an outage never holds up an
//! interaction: every call has a time limit, and after a failure calls fail at once for a
//! pause, then one goes through to see whether the database is back.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::bot::audit::AuditEvent;
use crate::bot::ports::{AuditQuery, AuditRecord, Store, StoreError, StoreStatus, WatchedJob};

/// One call's limit: far above a healthy database's few milliseconds, well within Discord's 3 s
/// for the first answer, which waits on one call (the interaction's admission).
const CALL_LIMIT: Duration = Duration::from_secs(1);
/// How long calls fail at once after one failed.
const PAUSE: Duration = Duration::from_secs(5);

pub struct Guarded {
    inner: Arc<dyn Store>,
    /// Calls fail at once until then.
    down_until: Mutex<Option<Instant>>,
}

impl Guarded {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner, down_until: Mutex::new(None) }
    }

    async fn call<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let now = Instant::now();
        if let Some(until) = *self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            if now < until {
                return Err(StoreError("the store is down; trying again shortly".to_owned()));
            }
        }
        let result = match tokio::time::timeout(CALL_LIMIT, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError(format!("no answer within {} ms", CALL_LIMIT.as_millis()))),
        };
        let mut down_until = self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *down_until = result.is_err().then(|| Instant::now() + PAUSE);
        result
    }
}

#[async_trait::async_trait]
impl Store for Guarded {
    async fn claim(&self, instance: u64, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.call(self.inner.claim(instance, holder, ttl)).await
    }

    async fn release(&self, instance: u64, holder: &str) -> Result<(), StoreError> {
        self.call(self.inner.release(instance, holder)).await
    }

    async fn first_delivery(&self, id: u64) -> Result<bool, StoreError> {
        self.call(self.inner.first_delivery(id)).await
    }

    async fn watched(&self, channel: u64) -> Result<Option<HashMap<u64, WatchedJob>>, StoreError> {
        self.call(self.inner.watched(channel)).await
    }

    async fn save_watched(&self, channel: u64, changed: &[(u64, WatchedJob)]) -> Result<(), StoreError> {
        self.call(self.inner.save_watched(channel, changed)).await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.call(self.inner.append_audit(event)).await
    }

    async fn audit_trail(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.call(self.inner.audit_trail(query)).await
    }

    async fn unsettled_attempts(&self, before_ms: i64) -> Result<Vec<AuditRecord>, StoreError> {
        self.call(self.inner.unsettled_attempts(before_ms)).await
    }

    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.call(self.inner.lease(name, holder, ttl)).await
    }

    async fn housekeep(&self, audit_retention: Duration) -> Result<(), StoreError> {
        self.call(self.inner.housekeep(audit_retention)).await
    }

    async fn first_registration(&self, version: &str) -> Result<bool, StoreError> {
        self.call(self.inner.first_registration(version)).await
    }

    async fn forget_registration(&self, version: &str) -> Result<(), StoreError> {
        self.call(self.inner.forget_registration(version)).await
    }

    async fn put_pending(
        &self,
        id: &str,
        kind: &str,
        payload: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.call(self.inner.put_pending(id, kind, payload, ttl)).await
    }

    async fn take_pending(&self, id: &str, kind: &str) -> Result<Option<String>, StoreError> {
        self.call(self.inner.take_pending(id, kind)).await
    }

    async fn status(&self) -> Result<StoreStatus, StoreError> {
        self.call(self.inner.status()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose every call hangs, like a database behind a dropped network.
    struct Hanging;

    #[async_trait::async_trait]
    impl Store for Hanging {
        async fn claim(&self, _: u64, _: &str, _: Duration) -> Result<bool, StoreError> {
            std::future::pending().await
        }
        async fn release(&self, _: u64, _: &str) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn first_delivery(&self, _: u64) -> Result<bool, StoreError> {
            std::future::pending().await
        }
        async fn watched(&self, _: u64) -> Result<Option<HashMap<u64, WatchedJob>>, StoreError> {
            std::future::pending().await
        }
        async fn save_watched(&self, _: u64, _: &[(u64, WatchedJob)]) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn append_audit(&self, _: &AuditEvent) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn audit_trail(&self, _: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
            std::future::pending().await
        }
        async fn unsettled_attempts(&self, _: i64) -> Result<Vec<AuditRecord>, StoreError> {
            std::future::pending().await
        }
        async fn lease(&self, _: &str, _: &str, _: Duration) -> Result<bool, StoreError> {
            std::future::pending().await
        }
        async fn housekeep(&self, _: Duration) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn first_registration(&self, _: &str) -> Result<bool, StoreError> {
            std::future::pending().await
        }
        async fn forget_registration(&self, _: &str) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn put_pending(&self, _: &str, _: &str, _: &str, _: Duration) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn take_pending(&self, _: &str, _: &str) -> Result<Option<String>, StoreError> {
            std::future::pending().await
        }
        async fn status(&self) -> Result<StoreStatus, StoreError> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_store_costs_one_call_limit_then_fails_at_once_until_the_pause_is_over() {
        let store = Guarded::new(Arc::new(Hanging));
        let started = tokio::time::Instant::now();
        assert!(store.first_delivery(1).await.is_err());
        assert_eq!(started.elapsed(), CALL_LIMIT);
        let started = tokio::time::Instant::now();
        assert!(store.claim(1, "a", PAUSE).await.is_err());
        assert_eq!(started.elapsed(), Duration::ZERO, "failed at once while it is down");
        tokio::time::sleep(PAUSE).await;
        let started = tokio::time::Instant::now();
        assert!(store.claim(1, "a", PAUSE).await.is_err());
        assert_eq!(started.elapsed(), CALL_LIMIT, "after the pause, one call tries again");
    }

    #[tokio::test]
    async fn a_healthy_store_is_reached_as_it_is() {
        let store = Guarded::new(Arc::new(super::super::MemoryStore::default()));
        assert_eq!(store.first_delivery(1).await, Ok(true));
        assert_eq!(store.first_delivery(1).await, Ok(false));
    }
}
