//! Interactions already received: a signed request replayed to the endpoint, or an event the
//! gateway delivers twice, must not run a flow a second time.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An interaction's token lives 15 minutes; no later delivery of it can do anything.
const REMEMBER: Duration = Duration::from_secs(15 * 60);
/// Bounded memory: beyond this many ids in 15 minutes the oldest is forgotten first (the
/// endpoint refuses signatures over 5 minutes old anyway).
const CAPACITY: usize = 100_000;

/// The interaction ids seen in the last 15 minutes, in this process.
pub struct SeenInteractions {
    inner: Mutex<Seen>,
    capacity: usize,
}

#[derive(Default)]
struct Seen {
    ids: HashSet<u64>,
    /// In arrival order, for expiry.
    order: VecDeque<(Instant, u64)>,
}

impl Default for SeenInteractions {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl SeenInteractions {
    fn with_capacity(capacity: usize) -> Self {
        Self { inner: Mutex::new(Seen::default()), capacity }
    }

    /// True the first time `id` arrives; false for a repeat within 15 minutes.
    pub fn first_delivery(&self, id: u64) -> bool {
        self.first_delivery_at(id, Instant::now())
    }

    fn first_delivery_at(&self, id: u64, now: Instant) -> bool {
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(&(at, old)) = seen.order.front() {
            if now.duration_since(at) < REMEMBER && seen.order.len() < self.capacity {
                break;
            }
            seen.order.pop_front();
            seen.ids.remove(&old);
        }
        if !seen.ids.insert(id) {
            return false;
        }
        seen.order.push_back((now, id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_refused_for_15_minutes_and_memory_stays_bounded() {
        let seen = SeenInteractions::with_capacity(3);
        let start = Instant::now();
        assert!(seen.first_delivery_at(1, start));
        assert!(!seen.first_delivery_at(1, start + Duration::from_secs(60)));
        assert!(!seen.first_delivery_at(1, start + REMEMBER - Duration::from_secs(1)));
        assert!(seen.first_delivery_at(1, start + REMEMBER), "forgotten after 15 minutes");
        let later = start + REMEMBER * 2;
        for id in 10..20 {
            assert!(seen.first_delivery_at(id, later));
        }
        let inner = seen.inner.lock().unwrap();
        assert_eq!((inner.ids.len(), inner.order.len()), (3, 3), "the oldest make room");
        assert!(inner.ids.contains(&19));
    }
}
