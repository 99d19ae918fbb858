//! Fixed-window attempt counters for login and OTP endpoints, keyed by IP and by identifier.
//!
//! In-process for a single node. Counters are allowed to be lost (a restart forgets them);
//! a shared Redis implementation plugs in behind the same trait for several nodes.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one attempt under `key`; `Err(retry_after_secs)` once `limit` is exceeded.
    fn hit(&self, key: &str, limit: u32, window_secs: u64, now: DateTime<Utc>) -> Result<(), u64>;
}

/// Most counters kept in one window; past it, new keys are not counted (they pass) so an
/// attacker spraying keys can neither exhaust memory nor lock everyone out.
const MAX_KEYS: usize = 200_000;

#[derive(Default)]
pub struct MemoryRateLimiter {
    state: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    /// Counters by key hash, for the window starting at `window_start`.
    counts: HashMap<[u8; 16], (i64, u32)>,
    last_sweep: i64,
}

fn key_hash(key: &str) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

impl RateLimiter for MemoryRateLimiter {
    fn hit(&self, key: &str, limit: u32, window_secs: u64, now: DateTime<Utc>) -> Result<(), u64> {
        let window = window_secs.max(1) as i64;
        let now_s = now.timestamp();
        let window_start = now_s - now_s.rem_euclid(window);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.last_sweep != window_start {
            // Once per window: counters of earlier windows mean nothing any more.
            st.counts.retain(|_, (start, _)| *start == window_start);
            st.last_sweep = window_start;
        }
        let hash = key_hash(key);
        if st.counts.len() >= MAX_KEYS && !st.counts.contains_key(&hash) {
            return Ok(());
        }
        let entry = st.counts.entry(hash).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > limit {
            Err((window_start + window - now_s).max(1) as u64)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn limit_resets_with_the_window() {
        let rl = MemoryRateLimiter::default();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for _ in 0..3 {
            assert!(rl.hit("k", 3, 60, t0).is_ok());
        }
        assert_eq!(
            rl.hit("k", 3, 60, t0 + chrono::Duration::seconds(15)),
            Err(45)
        );
        assert!(rl.hit("other", 3, 60, t0).is_ok());
        assert!(
            rl.hit("k", 3, 60, t0 + chrono::Duration::seconds(60))
                .is_ok()
        );
    }
}
