//! Password hashing with argon2id at OWASP's recommended parameters
//! (19 MiB memory, 2 iterations, 1 lane). Hashing runs off the async threads, at most one
//! hash per core at a time.

use std::sync::{Arc, LazyLock};

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A real hash of a random password, checked when the account does not exist so a
/// missing account costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(b"no account has this password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Hashes running at once: one per core. Each holds a 19 MiB buffer, and hashes beyond the
/// cores would only wait for a CPU while holding theirs: unbounded, 50 sign-ups at once took
/// a node from 28 MiB to 828 MiB resident. Waiting here holds no memory, and the semaphore
/// is fair, so hashes run in arrival order.
static HASHING: LazyLock<Arc<tokio::sync::Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Arc::new(tokio::sync::Semaphore::new(cores))
});

/// Runs `work` on a blocking thread once a hashing slot is free.
async fn with_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let slot = HASHING
        .clone()
        .acquire_owned()
        .await
        .context("password hashing slots closed")?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        #[cfg(test)]
        let _running = tests::Running::enter();
        work()
    })
    .await
    .context("password hashing task")
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    with_hashing_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Verifies `password` against `stored`, or against a dummy hash when there is none.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    with_hashing_slot(move || {
        let exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && exists
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// Counts hashes running on blocking threads, remembering the most at once.
    pub struct Running;

    impl Running {
        pub fn enter() -> Self {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
            Running
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let tasks: Vec<_> = (0..cores * 4)
            .map(|i| tokio::spawn(hash(format!("password number {i}"))))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().starts_with("$argon2id$"));
        }
        let peak = PEAK.load(Ordering::SeqCst);
        assert!(
            peak >= 1 && peak <= cores,
            "{peak} hashes ran at once on {cores} cores"
        );
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(
            !verify("no account has this password".into(), None)
                .await
                .unwrap()
        );
    }
}
