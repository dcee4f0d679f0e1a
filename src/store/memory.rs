//! The store in this process's memory: gone at a restart, not shared by replicas.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::seen::SeenInteractions;
use crate::bot::audit::AuditEvent;
use crate::bot::ports::{now_ms, AuditQuery, AuditRecord, Store, StoreError, StoreStatus, WatchedJob};

/// The newest audit events kept in memory; the log has every one.
const AUDIT_KEPT: usize = 10_000;

#[derive(Default)]
pub struct MemoryStore {
    /// Claims and leases: the holder and when it expires (milliseconds).
    claims: Mutex<HashMap<u64, (String, i64)>>,
    leases: Mutex<HashMap<String, (String, i64)>>,
    seen: SeenInteractions,
    watched: Mutex<HashMap<u64, HashMap<u64, WatchedJob>>>,
    audit: Mutex<VecDeque<AuditRecord>>,
    registrations: Mutex<std::collections::HashSet<String>>,
    /// Requests awaiting confirmation: kind, payload and when they expire.
    pending: Mutex<HashMap<String, (String, String, i64)>>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Takes `key` for `holder` unless another holder's time has not run out; renews one's own.
fn take<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, (String, i64)>,
    key: K,
    holder: &str,
    ttl: Duration,
) -> bool {
    let now = now_ms();
    match map.get(&key) {
        Some((owner, until)) if *until > now && owner != holder => false,
        _ => {
            map.insert(key, (holder.to_owned(), now.saturating_add(ms(ttl))));
            true
        }
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn claim(&self, instance: u64, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut claims = locked(&self.claims);
        // A claim is for one confirm: even its holder does not take it twice.
        if claims.get(&instance).is_some_and(|(_, until)| *until > now_ms()) {
            return Ok(false);
        }
        Ok(take(&mut claims, instance, holder, ttl))
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
        audit.push_back(event.record());
        Ok(())
    }

    async fn audit_trail(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let audit = locked(&self.audit);
        Ok(audit
            .iter()
            .rev()
            .filter(|r| {
                r.at_ms >= query.since_ms
                    && query.instance.is_none_or(|i| r.instance == i)
                    && query.actor.is_none_or(|a| r.actor_id == a)
            })
            .skip(query.offset as usize)
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn unsettled_attempts(&self, before_ms: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let audit = locked(&self.audit);
        let settled: std::collections::HashSet<&str> =
            audit.iter().filter(|r| r.outcome != "attempted").map(|r| r.correlation.as_str()).collect();
        Ok(audit
            .iter()
            .filter(|r| {
                r.outcome == "attempted" && r.at_ms < before_ms && !settled.contains(r.correlation.as_str())
            })
            .cloned()
            .collect())
    }

    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(take(&mut locked(&self.leases), name.to_owned(), holder, ttl))
    }

    async fn housekeep(&self, audit_retention: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        locked(&self.claims).retain(|_, (_, until)| *until > now);
        locked(&self.leases).retain(|_, (_, until)| *until > now);
        locked(&self.pending).retain(|_, (_, _, until)| *until > now);
        let oldest = now.saturating_sub(ms(audit_retention));
        locked(&self.audit).retain(|r| r.at_ms >= oldest);
        Ok(())
    }

    async fn first_registration(&self, version: &str) -> Result<bool, StoreError> {
        Ok(locked(&self.registrations).insert(version.to_owned()))
    }

    async fn forget_registration(&self, version: &str) -> Result<(), StoreError> {
        locked(&self.registrations).remove(version);
        Ok(())
    }

    async fn put_pending(
        &self,
        id: &str,
        kind: &str,
        payload: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let until = now_ms().saturating_add(ms(ttl));
        locked(&self.pending).insert(id.to_owned(), (kind.to_owned(), payload.to_owned(), until));
        Ok(())
    }

    async fn take_pending(&self, id: &str, kind: &str) -> Result<Option<String>, StoreError> {
        let mut pending = locked(&self.pending);
        match pending.get(id) {
            Some((k, _, until)) if k == kind && *until > now_ms() => {
                Ok(pending.remove(id).map(|(_, p, _)| p))
            }
            _ => Ok(None),
        }
    }

    async fn status(&self) -> Result<StoreStatus, StoreError> {
        let now = now_ms();
        let live_leases = locked(&self.leases)
            .iter()
            .filter(|(_, (_, until))| *until > now)
            .map(|(name, (holder, _))| (name.clone(), holder.clone()))
            .collect();
        Ok(StoreStatus { engine: "memory", schema_version: 0, live_leases })
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
        assert_eq!(store.claim(1, "a", minute).await, Ok(false), "not twice by its holder either");
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

    #[tokio::test]
    async fn a_lease_is_renewed_by_its_holder_and_taken_over_when_it_lapses() {
        let store = MemoryStore::default();
        let minute = Duration::from_secs(60);
        assert_eq!(store.lease("watch", "a", minute).await, Ok(true));
        assert_eq!(store.lease("watch", "a", minute).await, Ok(true), "renewed");
        assert_eq!(store.lease("watch", "b", minute).await, Ok(false));
        assert_eq!(store.lease("watch", "a", Duration::ZERO).await, Ok(true));
        assert_eq!(store.lease("watch", "b", minute).await, Ok(true), "lapsed, taken over");
    }
}
