//! The implementations of the core's `Store` port. Today: in this process's memory, which is
//! what a single process needs; a database shared by replicas is a second implementation.

mod seen;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bot::audit::AuditEvent;
use crate::bot::ports::{Store, StoreError, WatchedJob};
use seen::SeenInteractions;

/// The newest audit events kept in memory; the log has every one.
const AUDIT_KEPT: usize = 10_000;

/// Everything in this process's memory: gone at a restart, not shared by replicas.
#[derive(Default)]
pub struct MemoryStore {
    claims: Mutex<HashMap<u64, (String, Instant)>>,
    seen: SeenInteractions,
    watched: Mutex<HashMap<u64, HashMap<u64, WatchedJob>>>,
    audit: Mutex<std::collections::VecDeque<AuditEvent>>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryStore {
    /// The audit events kept, oldest first.
    pub fn audit_events(&self) -> Vec<AuditEvent> {
        locked(&self.audit).iter().cloned().collect()
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn claim(&self, instance: u64, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut claims = locked(&self.claims);
        match claims.get(&instance) {
            Some((_, until)) if *until > now => Ok(false),
            _ => {
                claims.insert(instance, (holder.to_owned(), now + ttl));
                Ok(true)
            }
        }
    }

    async fn release(&self, instance: u64, holder: &str) -> Result<(), StoreError> {
        let mut claims = locked(&self.claims);
        if claims.get(&instance).is_some_and(|(owner, _)| owner == holder) {
            claims.remove(&instance);
        }
        Ok(())
    }

    async fn first_delivery(&self, id: u64) -> Result<bool, StoreError> {
        Ok(self.seen.first_delivery(id))
    }

    async fn watched(&self, channel: u64) -> Result<Option<HashMap<u64, WatchedJob>>, StoreError> {
        Ok(locked(&self.watched).get(&channel).cloned())
    }

    async fn save_watched(&self, channel: u64, changed: &[(u64, WatchedJob)]) -> Result<(), StoreError> {
        locked(&self.watched).entry(channel).or_default().extend(changed.iter().copied());
        Ok(())
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut audit = locked(&self.audit);
        if audit.len() == AUDIT_KEPT {
            audit.pop_front();
        }
        audit.push_back(event.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::watch::Stage;

    #[tokio::test]
    async fn one_claim_at_a_time_released_by_its_holder_or_by_time() {
        let store = MemoryStore::default();
        let minute = Duration::from_secs(60);
        assert_eq!(store.claim(1, "a", minute).await, Ok(true));
        assert_eq!(store.claim(1, "b", minute).await, Ok(false));
        assert_eq!(store.claim(2, "b", minute).await, Ok(true), "another job is free");
        store.release(1, "b").await.unwrap();
        assert_eq!(store.claim(1, "b", minute).await, Ok(false), "only the holder releases");
        store.release(1, "a").await.unwrap();
        assert_eq!(store.claim(1, "b", Duration::ZERO).await, Ok(true));
        assert_eq!(store.claim(1, "c", minute).await, Ok(true), "an expired claim is taken over");
    }

    #[tokio::test]
    async fn the_watchers_memory_starts_empty_and_keeps_what_changed() {
        let store = MemoryStore::default();
        assert_eq!(store.watched(5).await, Ok(None), "no baseline yet");
        store.save_watched(5, &[]).await.unwrap();
        assert_eq!(store.watched(5).await, Ok(Some(HashMap::new())), "an empty baseline is one");
        let running = WatchedJob { stage: Stage::Running, message_id: Some(9) };
        store.save_watched(5, &[(1, running)]).await.unwrap();
        let done = WatchedJob { stage: Stage::Finished, message_id: Some(9) };
        store.save_watched(5, &[(1, done)]).await.unwrap();
        assert_eq!(store.watched(5).await, Ok(Some(HashMap::from([(1, done)]))));
        assert_eq!(store.watched(6).await, Ok(None), "per channel");
    }

    #[tokio::test]
    async fn an_interaction_is_first_delivered_once() {
        let store = MemoryStore::default();
        assert_eq!(store.first_delivery(3).await, Ok(true));
        assert_eq!(store.first_delivery(3).await, Ok(false));
    }
}
