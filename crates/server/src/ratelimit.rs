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

#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter for MemoryRateLimiter {
    fn hit(&self, key: &str, limit: u32, window_secs: u64, now: DateTime<Utc>) -> Result<(), u64> {
        let window = window_secs.max(1) as i64;
        let now_s = now.timestamp();
        let window_start = now_s - now_s.rem_euclid(window);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Old windows are useless; dropping them bounds memory under a key-spraying attack.
            map.retain(|_, (start, _)| *start == window_start);
        }
        let entry = map.entry(key.to_owned()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 += 1;
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
