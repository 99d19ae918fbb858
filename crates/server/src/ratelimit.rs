//! Attempt counting for the sign-in, OTP and public astrology endpoints, and the login
//! backoff: fixed-window counters keyed by client address or identifier, and a lockout per
//! identifier that grows with consecutive failed logins.
//!
//! With `redis_url` set, every node counts in Redis, so the limits and lockouts hold for the
//! cluster as a whole; otherwise this process counts alone. Either way the counts may be lost
//! (a restart or a Redis outage forgets them): when Redis fails, the node falls back to its
//! own counts (fail open) and says so in the log.
//!
//! Keys are hashed before they are stored, so neither memory nor Redis holds the emails,
//! phone numbers or addresses being counted.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one attempt under `key`; `Err(retry_after_secs)` once `limit` is exceeded.
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> Result<(), u64>;

    /// Seconds the lockout under `key` still lasts, if one is on.
    async fn locked_for(&self, key: &str, now: DateTime<Utc>) -> Option<u64>;

    /// Records one more consecutive failure under `key` and starts the lockout `policy`
    /// gives for it; returns that lockout's length (0: none yet).
    async fn fail(&self, key: &str, policy: Backoff, now: DateTime<Utc>) -> u64;

    /// Forgets the failures under `key` (a success, or a new password).
    async fn clear(&self, key: &str);
}

pub use domain::config::LoginBackoff as Backoff;

/// The rate-limit key of a client address: an IPv4 address as it is, an IPv6 address by its
/// /64 prefix. One IPv6 subscriber usually holds a whole /64, so counting single addresses
/// would give every attacker 2^64 budgets.
pub fn ip_bucket(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

type KeyHash = [u8; 16];

fn key_hash(key: &str) -> KeyHash {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

fn window_start(window: i64, now_s: i64) -> i64 {
    now_s - now_s.rem_euclid(window)
}

// ---------------------------------------------------------------------------------------------
// In process
// ---------------------------------------------------------------------------------------------

/// Most counters (and, separately, lockouts) kept in memory. Past it the least recently
/// used entry makes room: a new key is always counted, and a key under attack is by nature
/// recently used, so spraying fresh keys evicts the sprayer's own entries first.
const MAX_KEYS: usize = 200_000;

/// Counters and lockouts of this process.
pub struct MemoryRateLimiter {
    state: Mutex<Tables>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

struct Tables {
    windows: Lru<Window>,
    lockouts: Lru<Lockout>,
    /// When (clock seconds) expired entries were last dropped.
    last_sweep: i64,
}

struct Window {
    start: i64,
    end: i64,
    count: u32,
}

struct Lockout {
    failures: u32,
    until: i64,
    forget_at: i64,
}

impl MemoryRateLimiter {
    /// A limiter keeping at most `capacity` counters and as many lockouts.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            state: Mutex::new(Tables {
                windows: Lru::new(capacity.max(1)),
                lockouts: Lru::new(capacity.max(1)),
                last_sweep: i64::MIN,
            }),
        }
    }

    fn tables(&self, now_s: i64) -> std::sync::MutexGuard<'_, Tables> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Once a minute: expired entries only cost memory (eviction would reach them too,
        // but this keeps a quiet node small).
        if now_s.saturating_sub(st.last_sweep) >= 60 {
            st.windows.retain(|w| w.end > now_s);
            st.lockouts.retain(|l| l.forget_at > now_s);
            st.last_sweep = now_s;
        }
        st
    }

    fn hit_now(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> Result<(), u64> {
        let window = window_secs.max(1) as i64;
        let now_s = now.timestamp();
        let start = window_start(window, now_s);
        let mut st = self.tables(now_s);
        let entry = st.windows.touch_or_insert(key_hash(key), || Window {
            start,
            end: start + window,
            count: 0,
        });
        if entry.start != start {
            *entry = Window {
                start,
                end: start + window,
                count: 0,
            };
        }
        entry.count = entry.count.saturating_add(1);
        if entry.count > limit {
            Err((entry.end - now_s).max(1) as u64)
        } else {
            Ok(())
        }
    }

    fn locked_for_now(&self, key: &str, now: DateTime<Utc>) -> Option<u64> {
        let now_s = now.timestamp();
        let mut st = self.tables(now_s);
        let l = st.lockouts.get(&key_hash(key))?;
        (l.until > now_s).then(|| (l.until - now_s) as u64)
    }

    fn fail_now(&self, key: &str, policy: Backoff, now: DateTime<Utc>) -> u64 {
        let now_s = now.timestamp();
        let mut st = self.tables(now_s);
        let l = st.lockouts.touch_or_insert(key_hash(key), || Lockout {
            failures: 0,
            until: 0,
            forget_at: 0,
        });
        if l.forget_at <= now_s {
            l.failures = 0;
        }
        l.failures = l.failures.saturating_add(1);
        let delay = policy.delay(l.failures);
        l.until = now_s.saturating_add(delay as i64);
        l.forget_at = now_s.saturating_add(policy.remember_secs(delay) as i64);
        delay
    }

    fn clear_now(&self, key: &str) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.lockouts.remove(&key_hash(key));
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> Result<(), u64> {
        self.hit_now(key, limit, window_secs, now)
    }

    async fn locked_for(&self, key: &str, now: DateTime<Utc>) -> Option<u64> {
        self.locked_for_now(key, now)
    }

    async fn fail(&self, key: &str, policy: Backoff, now: DateTime<Utc>) -> u64 {
        self.fail_now(key, policy, now)
    }

    async fn clear(&self, key: &str) {
        self.clear_now(key)
    }
}

/// A map of at most `capacity` entries that drops the least recently used one to make room.
struct Lru<V> {
    entries: HashMap<KeyHash, (V, u64)>,
    /// Entries by the tick of their last use, oldest first.
    order: BTreeMap<u64, KeyHash>,
    tick: u64,
    capacity: usize,
}

impl<V> Lru<V> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            capacity,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn get(&mut self, key: &KeyHash) -> Option<&V> {
        self.entries.get(key).map(|(v, _)| v)
    }

    /// The entry under `key`, made the most recently used; created by `make` (after
    /// evicting the least recently used entry when full) if absent.
    fn touch_or_insert(&mut self, key: KeyHash, make: impl FnOnce() -> V) -> &mut V {
        self.tick += 1;
        let tick = self.tick;
        if let Some((_, used)) = self.entries.get_mut(&key) {
            self.order.remove(used);
            *used = tick;
        } else {
            while self.entries.len() >= self.capacity {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.entries.remove(&oldest);
            }
            self.entries.insert(key, (make(), tick));
        }
        self.order.insert(tick, key);
        &mut self.entries.get_mut(&key).expect("just inserted").0
    }

    fn remove(&mut self, key: &KeyHash) {
        if let Some((_, used)) = self.entries.remove(key) {
            self.order.remove(&used);
        }
    }

    fn retain(&mut self, keep: impl Fn(&V) -> bool) {
        let order = &mut self.order;
        self.entries.retain(|_, (v, used)| {
            let kept = keep(v);
            if !kept {
                order.remove(used);
            }
            kept
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/// Bound on one Redis round trip and on opening a connection: a login must not wait long
/// for a counter that is allowed to be lost.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After a failed connect, calls go straight to the fallback for this long instead of each
/// paying a connect attempt.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Adds one failure to a lockout and sets its end, atomically, so concurrent failures on
/// several nodes each count. KEYS[1]: the lockout; ARGV: now, free failures, base, max.
/// Returns the lockout's length.
const FAIL_SCRIPT: &str = r"
local f = redis.call('HINCRBY', KEYS[1], 'f', 1)
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local delay = 0
if free > 0 and f >= free then
  delay = math.min(base * 2 ^ math.min(f - free, 40), max)
end
delay = math.floor(delay)
redis.call('HSET', KEYS[1], 'u', string.format('%d', now + delay))
redis.call('EXPIRE', KEYS[1], math.max(delay + max, 1))
return delay
";

/// Counters and lockouts in Redis, shared by every node using the same Redis and prefix.
///
/// Windows follow the application clock (the window's start is part of the key); Redis
/// expiry only collects keys that are over. A Redis error falls back to `fallback`.
pub struct RedisRateLimiter {
    client: redis::Client,
    conn_config: redis::AsyncConnectionConfig,
    prefix: String,
    state: Mutex<RedisConnState>,
    /// One connect attempt at a time, so an outage costs one attempt, not one per request.
    connecting: tokio::sync::Mutex<()>,
    fallback: MemoryRateLimiter,
    /// Set while Redis is failing, so an outage is logged once when it starts and once when
    /// it ends rather than per request.
    degraded: AtomicBool,
}

#[derive(Default)]
struct RedisConnState {
    conn: Option<redis::aio::MultiplexedConnection>,
    retry_at: Option<Instant>,
}

type RedisResult<T> = Result<T, redis::RedisError>;

impl RedisRateLimiter {
    /// A limiter over the Redis at `url`, whose keys start with `prefix`. Connects lazily:
    /// an unreachable Redis at start only means counting locally until it answers.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        Ok(Self {
            client,
            conn_config: redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(REDIS_TIMEOUT))
                .set_response_timeout(Some(REDIS_TIMEOUT)),
            prefix: format!("{prefix}rl:"),
            state: Mutex::new(RedisConnState::default()),
            connecting: tokio::sync::Mutex::new(()),
            fallback: MemoryRateLimiter::default(),
            degraded: AtomicBool::new(false),
        })
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("{}{kind}:{}", self.prefix, hex::encode(key_hash(key)))
    }

    fn cached(&self) -> Option<RedisResult<redis::aio::MultiplexedConnection>> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = &st.conn {
            return Some(Ok(conn.clone()));
        }
        if st.retry_at.is_some_and(|at| Instant::now() < at) {
            return Some(Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "redis unreachable; waiting before reconnecting",
            ))));
        }
        None
    }

    async fn connection(&self) -> RedisResult<redis::aio::MultiplexedConnection> {
        if let Some(ready) = self.cached() {
            return ready;
        }
        let _connecting = self.connecting.lock().await;
        if let Some(ready) = self.cached() {
            return ready;
        }
        let result = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client
                .get_multiplexed_async_connection_with_config(&self.conn_config),
        )
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "connecting to redis timed out",
            )))
        });
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(conn) => {
                st.conn = Some(conn.clone());
                st.retry_at = None;
            }
            Err(_) => st.retry_at = Some(Instant::now() + REDIS_RETRY_AFTER),
        }
        result
    }

    /// Runs `op` on the shared connection; a transport failure drops the connection so the
    /// next call opens a new one.
    async fn run<T, F, Fut>(&self, op: F) -> RedisResult<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let conn = self.connection().await?;
        let result = match tokio::time::timeout(REDIS_TIMEOUT, op(conn)).await {
            Ok(result) => result,
            Err(_) => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "redis call timed out",
            ))),
        };
        if let Err(err) = &result
            && !matches!(
                err.kind(),
                redis::ErrorKind::Server(_) | redis::ErrorKind::Extension
            )
        {
            self.state.lock().unwrap_or_else(|p| p.into_inner()).conn = None;
        }
        result
    }

    /// `Some(value)` from Redis, or `None` after logging that this node counts alone.
    fn settle<T>(&self, result: RedisResult<T>) -> Option<T> {
        match result {
            Ok(v) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limits: redis answers again; counting there");
                }
                Some(v)
            }
            Err(err) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %err,
                        "rate limits: redis failed; this node counts on its own until it answers"
                    );
                } else {
                    tracing::debug!(error = %err, "rate limits: redis still failing");
                }
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> Result<(), u64> {
        let window = window_secs.max(1) as i64;
        let now_s = now.timestamp();
        let start = window_start(window, now_s);
        let rkey = format!("{}:{start}", self.key("w", key));
        // One MULTI: the counter never exists without its expiry.
        let counted = self
            .run(|mut conn| async move {
                let (count,): (u64,) = redis::pipe()
                    .atomic()
                    .incr(&rkey, 1)
                    .expire(&rkey, window + 1)
                    .ignore()
                    .query_async(&mut conn)
                    .await?;
                Ok(count)
            })
            .await;
        match self.settle(counted) {
            Some(count) if count > u64::from(limit) => Err((start + window - now_s).max(1) as u64),
            Some(_) => Ok(()),
            None => self.fallback.hit_now(key, limit, window_secs, now),
        }
    }

    async fn locked_for(&self, key: &str, now: DateTime<Utc>) -> Option<u64> {
        let rkey = self.key("lock", key);
        let until = self
            .run(|mut conn| async move {
                redis::cmd("HGET")
                    .arg(&rkey)
                    .arg("u")
                    .query_async::<Option<i64>>(&mut conn)
                    .await
            })
            .await;
        let now_s = now.timestamp();
        match self.settle(until) {
            Some(until) => until.filter(|u| *u > now_s).map(|u| (u - now_s) as u64),
            None => self.fallback.locked_for_now(key, now),
        }
    }

    async fn fail(&self, key: &str, policy: Backoff, now: DateTime<Utc>) -> u64 {
        let rkey = self.key("lock", key);
        let delay = self
            .run(|mut conn| async move {
                redis::cmd("EVAL")
                    .arg(FAIL_SCRIPT)
                    .arg(1)
                    .arg(&rkey)
                    .arg(now.timestamp())
                    .arg(policy.free_failures)
                    .arg(policy.base_secs)
                    .arg(policy.max_secs)
                    .query_async::<u64>(&mut conn)
                    .await
            })
            .await;
        match self.settle(delay) {
            Some(delay) => delay,
            None => self.fallback.fail_now(key, policy, now),
        }
    }

    async fn clear(&self, key: &str) {
        let rkey = self.key("lock", key);
        let deleted = self
            .run(|mut conn| async move {
                redis::cmd("DEL")
                    .arg(&rkey)
                    .query_async::<i64>(&mut conn)
                    .await
            })
            .await;
        self.settle(deleted);
        // Failures counted locally during an outage are cleared too.
        self.fallback.clear_now(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn limit_resets_with_the_window() {
        let rl = MemoryRateLimiter::default();
        let t0 = t0();
        for _ in 0..3 {
            assert!(rl.hit("k", 3, 60, t0).await.is_ok());
        }
        assert_eq!(
            rl.hit("k", 3, 60, t0 + chrono::Duration::seconds(15)).await,
            Err(45)
        );
        assert!(rl.hit("other", 3, 60, t0).await.is_ok());
        assert!(
            rl.hit("k", 3, 60, t0 + chrono::Duration::seconds(60))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_full_table_evicts_the_least_recently_used_key_and_keeps_counting() {
        let rl = MemoryRateLimiter::with_capacity(3);
        let t0 = t0();
        // "hot" is used, then three other keys fill the table around it.
        assert!(rl.hit("hot", 2, 60, t0).await.is_ok());
        assert!(rl.hit("a", 2, 60, t0).await.is_ok());
        assert!(rl.hit("hot", 2, 60, t0).await.is_ok());
        assert!(rl.hit("b", 2, 60, t0).await.is_ok());
        // The table is full: a new key is still counted, evicting "a", the oldest.
        assert!(rl.hit("new", 1, 60, t0).await.is_ok());
        assert_eq!(rl.hit("new", 1, 60, t0).await, Err(60));
        // "hot" kept its count (used recently), so its third attempt is refused.
        assert_eq!(rl.hit("hot", 2, 60, t0).await, Err(60));
        // "a" was evicted: it starts again from one.
        assert!(rl.hit("a", 1, 60, t0).await.is_ok());
        let st = rl.state.lock().unwrap();
        assert_eq!(st.windows.len(), 3);
        assert_eq!(st.windows.order.len(), 3);
    }

    #[tokio::test]
    async fn spraying_keys_past_capacity_cannot_reset_a_counted_key() {
        let rl = MemoryRateLimiter::with_capacity(100);
        let t0 = t0();
        for i in 0..1_000 {
            if i % 10 == 0 {
                // The attacked key stays in use while the spray goes on.
                let _ = rl.hit("victim", 5, 60, t0).await;
            }
            assert!(rl.hit(&format!("spray-{i}"), 5, 60, t0).await.is_ok());
        }
        assert!(rl.hit("victim", 5, 60, t0).await.is_err());
        assert!(rl.state.lock().unwrap().windows.len() <= 100);
    }

    #[tokio::test]
    async fn expired_entries_are_swept() {
        let rl = MemoryRateLimiter::default();
        let t0 = t0();
        for i in 0..50 {
            rl.hit(&format!("k{i}"), 5, 60, t0).await.unwrap();
        }
        rl.hit("late", 5, 60, t0 + chrono::Duration::seconds(120))
            .await
            .unwrap();
        assert_eq!(rl.state.lock().unwrap().windows.len(), 1);
    }

    #[test]
    fn backoff_doubles_from_the_threshold_up_to_the_cap() {
        let p = Backoff {
            free_failures: 5,
            base_secs: 30,
            max_secs: 900,
        };
        let delays: Vec<u64> = (1..=12).map(|f| p.delay(f)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(p.delay(u32::MAX), 900);
        let off = Backoff {
            free_failures: 0,
            ..p
        };
        assert_eq!(off.delay(100), 0);
    }

    #[tokio::test]
    async fn lockout_grows_then_clears() {
        let rl = MemoryRateLimiter::default();
        let p = Backoff {
            free_failures: 2,
            base_secs: 10,
            max_secs: 25,
        };
        let mut now = t0();
        assert_eq!(rl.fail("u", p, now).await, 0);
        assert_eq!(rl.locked_for("u", now).await, None);
        assert_eq!(rl.fail("u", p, now).await, 10);
        assert_eq!(rl.locked_for("u", now).await, Some(10));
        now += chrono::Duration::seconds(10);
        assert_eq!(rl.locked_for("u", now).await, None);
        assert_eq!(rl.fail("u", p, now).await, 20);
        now += chrono::Duration::seconds(20);
        assert_eq!(rl.fail("u", p, now).await, 25, "capped");
        rl.clear("u").await;
        assert_eq!(rl.locked_for("u", now).await, None);
        assert_eq!(rl.fail("u", p, now).await, 0, "counting starts again");
        // Failures far apart are forgotten: the cap after the last lockout.
        now += chrono::Duration::seconds(26);
        assert_eq!(rl.fail("u", p, now).await, 0);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let k = |s: &str| ip_bucket(Some(s.parse().unwrap()));
        assert_eq!(k("203.0.113.7"), "203.0.113.7");
        assert_ne!(k("203.0.113.7"), k("203.0.113.8"));
        assert_eq!(k("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        // An IPv4 client seen through a dual-stack socket is still one IPv4 address.
        assert_eq!(k("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(ip_bucket(None), "unknown");
    }

    /// Set in CI; `AUGUR_REQUIRE_POSTGRES=1` makes its absence a failure, as in `bus`.
    fn redis_url() -> Option<String> {
        let url = std::env::var("AUGUR_TEST_REDIS_URL").ok();
        assert!(
            url.is_some() || std::env::var("AUGUR_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "AUGUR_TEST_REDIS_URL must be set when the external-service suites are required"
        );
        url
    }

    fn unique_prefix() -> String {
        format!("augur-test-{}:", uuid::Uuid::now_v7().simple())
    }

    #[tokio::test]
    async fn redis_counts_are_shared_and_lockouts_grow() {
        let Some(url) = redis_url() else {
            return;
        };
        let prefix = unique_prefix();
        let a = RedisRateLimiter::new(&url, &prefix).unwrap();
        let b = RedisRateLimiter::new(&url, &prefix).unwrap();
        let t0 = t0();
        assert!(a.hit("k", 2, 60, t0).await.is_ok());
        assert!(b.hit("k", 2, 60, t0).await.is_ok());
        assert_eq!(a.hit("k", 2, 60, t0).await, Err(60));
        assert!(!a.degraded.load(Ordering::Relaxed), "redis answered");
        let p = Backoff {
            free_failures: 2,
            base_secs: 10,
            max_secs: 25,
        };
        assert_eq!(a.fail("u", p, t0).await, 0);
        assert_eq!(b.fail("u", p, t0).await, 10);
        assert_eq!(a.locked_for("u", t0).await, Some(10));
        assert_eq!(b.fail("u", p, t0).await, 20);
        assert_eq!(a.fail("u", p, t0).await, 25);
        b.clear("u").await;
        assert_eq!(a.locked_for("u", t0).await, None);
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_local_counts() {
        // Port 1 refuses connections at once.
        let rl = RedisRateLimiter::new("redis://127.0.0.1:1", "augur:").unwrap();
        let t0 = t0();
        assert!(rl.hit("k", 1, 60, t0).await.is_ok());
        assert_eq!(rl.hit("k", 1, 60, t0).await, Err(60));
        assert!(rl.degraded.load(Ordering::Relaxed));
        let p = Backoff {
            free_failures: 1,
            base_secs: 5,
            max_secs: 5,
        };
        assert_eq!(rl.fail("u", p, t0).await, 5);
        assert_eq!(rl.locked_for("u", t0).await, Some(5));
    }
}
