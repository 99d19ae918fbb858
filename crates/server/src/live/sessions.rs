//! The sign-ins behind this node's open sockets, re-checked together.
//!
//! A socket outlives the token it opened with, so a suspension or a sign-out must end it too.
//! Each socket used to re-check its own account and session on every ping period (20 s):
//! two queries per socket per period, 10,000 queries/s for 100,000 idle sockets, and the
//! futures waiting for a pool connection held memory that the allocator kept. Now a socket
//! joins the node's [`SocketSessions`] and waits for a verdict; one task re-checks every
//! joined sign-in once per period, a thousand to a query, and tells only the sockets whose
//! account is no longer active or whose session was revoked.
//!
//! It also counts each user's sockets on this node, so that one account cannot hold an
//! unbounded number (`ws_max_sockets_per_user`; each costs memory and a bus subscription).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::watch;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{AccountStatus, AuthUser};
use store::entity::{auth_session, user};

/// Ids per query.
const CHUNK: usize = 1_000;

/// Why a sign-in may no longer hold a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The account is suspended (or gone).
    Suspended,
    /// The session was revoked (signed out) or is gone.
    SignedOut,
}

struct Watched {
    user: Uuid,
    sockets: usize,
    verdict: watch::Sender<Option<Ended>>,
}

/// The node's open sockets by sign-in (session id), and how many each user holds.
#[derive(Default)]
pub struct SocketSessions {
    watched: Mutex<HashMap<Uuid, Watched>>,
    per_user: Mutex<HashMap<Uuid, u32>>,
}

/// A user already holds as many sockets on this node as they may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManySockets;

impl std::fmt::Debug for SocketSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSessions")
            .field("sign_ins", &self.lock().len())
            .finish()
    }
}

/// One socket's membership: its verdict, and leaving when dropped.
pub struct Joined {
    sessions: Arc<SocketSessions>,
    session: Uuid,
    user: Uuid,
    verdict: watch::Receiver<Option<Ended>>,
}

impl Joined {
    /// Resolves once the sign-in may no longer hold a socket.
    pub async fn ended(&mut self) -> Ended {
        loop {
            if let Some(e) = *self.verdict.borrow_and_update() {
                return e;
            }
            if self.verdict.changed().await.is_err() {
                // The entry lives while this socket does; should it go, never resolve.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        {
            let mut watched = self.sessions.lock();
            if let Some(w) = watched.get_mut(&self.session) {
                w.sockets -= 1;
                if w.sockets == 0 {
                    watched.remove(&self.session);
                }
            }
        }
        let mut per_user = self.sessions.lock_users();
        if let Some(n) = per_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}

impl SocketSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Watched>> {
        // Each critical section is one insert, update or removal: a panic cannot leave the
        // map half changed.
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_users(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, u32>> {
        self.per_user.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a socket of `user`'s sign-in, unless the user already holds `max_per_user`
    /// sockets on this node (0: no limit).
    pub fn join(
        self: &Arc<Self>,
        user: &AuthUser,
        max_per_user: u32,
    ) -> Result<Joined, TooManySockets> {
        {
            // Counted and checked under one lock, so sockets opening at once cannot all pass.
            let mut per_user = self.lock_users();
            let n = per_user.entry(user.id).or_insert(0);
            if max_per_user > 0 && *n >= max_per_user {
                return Err(TooManySockets);
            }
            *n += 1;
        }
        let mut watched = self.lock();
        let w = watched.entry(user.session_id).or_insert_with(|| Watched {
            user: user.id,
            sockets: 0,
            verdict: watch::channel(None).0,
        });
        w.sockets += 1;
        Ok(Joined {
            sessions: self.clone(),
            session: user.session_id,
            user: user.id,
            verdict: w.verdict.subscribe(),
        })
    }

    /// Sign-ins with open sockets on this node.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Re-checks every joined sign-in and tells the sockets of those that ended. Returns how
    /// many ended.
    pub async fn check(&self, db: &DatabaseConnection) -> Result<usize, sea_orm::DbErr> {
        let pairs: Vec<(Uuid, Uuid)> = self
            .lock()
            .iter()
            .filter(|(_, w)| w.verdict.borrow().is_none())
            .map(|(s, w)| (*s, w.user))
            .collect();
        let mut ended = Vec::new();
        for chunk in pairs.chunks(CHUNK) {
            let mut users: Vec<Uuid> = chunk.iter().map(|(_, u)| *u).collect();
            users.sort_unstable();
            users.dedup();
            let mut active: Vec<Uuid> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::Id.is_in(users))
                .filter(user::Column::Status.eq(AccountStatus::Active.as_str()))
                .into_tuple()
                .all(db)
                .await?;
            active.sort_unstable();
            let mut live: Vec<Uuid> = auth_session::Entity::find()
                .select_only()
                .column(auth_session::Column::Id)
                .filter(auth_session::Column::Id.is_in(chunk.iter().map(|(s, _)| *s)))
                .filter(auth_session::Column::RevokedAt.is_null())
                .into_tuple()
                .all(db)
                .await?;
            live.sort_unstable();
            for (session, user) in chunk {
                if active.binary_search(user).is_err() {
                    ended.push((*session, Ended::Suspended));
                } else if live.binary_search(session).is_err() {
                    ended.push((*session, Ended::SignedOut));
                }
            }
        }
        let watched = self.lock();
        for (session, why) in &ended {
            if let Some(w) = watched.get(session) {
                w.verdict.send_replace(Some(*why));
            }
        }
        Ok(ended.len())
    }
}

/// Re-checks the node's sign-ins every `ws_ping_secs` until `stop`.
pub fn spawn_checks(app: &AppState, mut stop: watch::Receiver<bool>) {
    let app = app.clone();
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(app.config.ws_ping_secs.max(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = app.sockets.check(&app.db).await {
                tracing::warn!(error = %e, "sign-ins behind sockets not re-checked");
            }
        }
    });
}
