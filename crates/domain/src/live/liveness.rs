//! Liveness recorded from sockets, many users per transaction.
//!
//! Any frame a socket receives says its user is there: their side of every active
//! consultation (`client_seen_at`, `practitioner_seen_at`) and a practitioner's presence
//! heartbeat. A socket records it at most every `ws::TOUCH_EVERY_SECS`. Each socket used to
//! write it itself, awaiting a write transaction in its own loop: meanwhile it forwarded
//! nothing, and on SQLite that transaction queued for the one write gate behind the chat
//! writer's batches. Under chat load every socket stalled like this every few seconds, and
//! the messages for it waited out the stall: the tail of chat's delivery latency.
//!
//! Now a socket hands the note to the [`Liveness`] writer and goes on; the writer stores
//! whatever notes queued while it wrote the previous ones in one transaction, each user at
//! the instant their own note carries. The note's future resolves once it is committed, and
//! the socket acks the frame that carried it only then, so an ack still means that the
//! liveness it proved is recorded.
//!
//! A side's instant moves only while it is within the grace window: a side away longer
//! than `live_grace_secs` has left, and the worker ends the session from the instant it was
//! last seen. Without this, a socket reconnecting to a node restarted after a long outage
//! would make both sides present again before the node had settled what the outage ended,
//! and the outage would be billed as presence.
//!
//! On a SQLite file the writer drives a connection of its own on a thread of its own
//! (`db::lite`), as the chat writer does. Through sqlx each of its statements crossed to a
//! connection thread and back while it held the write gate, and on two busy cores those
//! crossings held the chat writer up for 10–35 ms at a time.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DbErr, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::engine::Status;
use store::bulk::{Limits, Sql};
use store::lite::{Conn, WriterDb};

/// Notes taken into one transaction at most.
const MAX_NOTES: usize = 4096;

struct Note {
    user: Uuid,
    practitioner: bool,
    at: DateTime<Utc>,
    done: oneshot::Sender<bool>,
}

/// The handle to the liveness writer; clones share it. The writer ends when every handle
/// is dropped.
#[derive(Clone, Debug)]
pub struct Liveness {
    tx: mpsc::UnboundedSender<Note>,
}

/// A queued note: resolves to whether it was stored.
pub struct Noted(oneshot::Receiver<bool>);

impl Noted {
    pub async fn stored(self) -> bool {
        self.0.await.unwrap_or(false)
    }
}

impl Liveness {
    /// Starts the writer: on the current Tokio runtime through `db`'s pool, or on a SQLite
    /// file on a thread and connection of its own.
    pub fn start(db: &DatabaseConnection, grace: Duration) -> Self {
        // Unbounded: each socket has at most one note every few seconds, so the queue is
        // bounded by the sockets; a bounded queue would make a socket wait, the stall this
        // writer exists to remove.
        let (tx, rx) = mpsc::unbounded_channel();
        let wdb = WriterDb::open(db, || db.clone());
        if let WriterDb::Lite(_) = wdb {
            store::lite::spawn_writer("liveness-writer", move || writer(wdb, rx, grace));
        } else {
            tokio::spawn(writer(wdb, rx, grace));
        }
        Self { tx }
    }

    /// Queues "`user` is here at `at`" and returns at once. A practitioner's note covers
    /// their consultations as the practitioner and their presence too.
    pub fn note(&self, user: Uuid, practitioner: bool, at: DateTime<Utc>) -> Noted {
        let (done, stored) = oneshot::channel();
        let note = Note {
            user,
            practitioner,
            at,
            done,
        };
        if let Err(mpsc::error::SendError(note)) = self.tx.send(note) {
            let _ = note.done.send(false);
        }
        Noted(stored)
    }
}

async fn writer(db: WriterDb, mut rx: mpsc::UnboundedReceiver<Note>, grace: Duration) {
    let mut notes = Vec::with_capacity(64);
    // Whatever queued while the previous notes were written forms the next batch.
    while rx.recv_many(&mut notes, MAX_NOTES).await > 0 {
        let batch = std::mem::take(&mut notes);
        // One instant per user: the latest of their notes.
        let mut latest: HashMap<Uuid, (bool, DateTime<Utc>)> = HashMap::new();
        for n in &batch {
            let e = latest.entry(n.user).or_insert((n.practitioner, n.at));
            e.1 = e.1.max(n.at);
        }
        let mut users: Vec<(Uuid, bool, DateTime<Utc>)> =
            latest.into_iter().map(|(u, (p, at))| (u, p, at)).collect();
        users.sort_unstable_by_key(|(u, _, _)| *u);
        let stored = db
            .write(async |conn| write(conn, &users, grace).await)
            .await
            .inspect_err(|e| {
                tracing::warn!(error = %e, users = users.len(),
                "liveness from sockets not recorded")
            })
            .is_ok();
        for n in batch {
            let _ = n.done.send(stored);
        }
    }
}

/// Records each user's instant: as the client of their active consultations, as the
/// practitioner of theirs, and as a practitioner's presence heartbeat (only while online).
/// `users` is sorted by user id (the order rows are locked in).
async fn write(
    conn: Conn<'_>,
    users: &[(Uuid, bool, DateTime<Utc>)],
    grace: Duration,
) -> Result<(), DbErr> {
    let limit = Limits::new(conn.backend(), None);
    let clients: Vec<(Uuid, DateTime<Utc>)> = users.iter().map(|&(u, _, at)| (u, at)).collect();
    let practitioners: Vec<(Uuid, DateTime<Utc>)> = users
        .iter()
        .filter(|(_, p, _)| *p)
        .map(|&(u, _, at)| (u, at))
        .collect();
    set_seen(
        conn,
        limit,
        "consultations",
        "client_seen_at",
        "client_id",
        &clients,
        Some(grace),
    )
    .await?;
    if practitioners.is_empty() {
        return Ok(());
    }
    set_seen(
        conn,
        limit,
        "consultations",
        "practitioner_seen_at",
        "practitioner_user_id",
        &practitioners,
        Some(grace),
    )
    .await?;
    // Presence is keyed by the practitioner's profile, not the user.
    let mut profiles: Vec<(Uuid, DateTime<Utc>)> = Vec::with_capacity(practitioners.len());
    let at: HashMap<Uuid, DateTime<Utc>> = practitioners.iter().copied().collect();
    for chunk in limit.runs(&practitioners, |_| (1, 16)) {
        let mut sql = Sql::new(
            conn.backend(),
            "SELECT id, user_id FROM practitioners WHERE user_id IN ",
        );
        sql.list(chunk.iter().map(|(u, _)| Value::from(*u)));
        let found: Vec<(Uuid, Uuid)> = sql.rows(conn).await?;
        profiles.extend(
            found
                .into_iter()
                .filter_map(|(id, u)| at.get(&u).map(|at| (id, *at))),
        );
    }
    profiles.sort_unstable_by_key(|(id, _)| *id);
    set_seen(
        conn,
        limit,
        "practitioner_presence",
        "last_heartbeat_at",
        "practitioner_id",
        &profiles,
        None,
    )
    .await
}

/// `UPDATE table SET column = CASE key WHEN k THEN at … END WHERE key IN (…)`, restricted
/// to open (requested or active) consultations whose side is still within `grace` (when
/// given), or to online
/// presence: each row gets its own key's instant.
async fn set_seen(
    conn: Conn<'_>,
    limit: Limits,
    table: &str,
    column: &str,
    key: &str,
    instants: &[(Uuid, DateTime<Utc>)],
    grace: Option<Duration>,
) -> Result<(), DbErr> {
    for chunk in limit.runs(instants, |_| (5, 16 + 8 + 16 + 8)) {
        let mut sql = Sql::new(
            conn.backend(),
            &format!("UPDATE {table} SET {column} = CASE {key}"),
        );
        for (k, at) in chunk {
            sql.push(" WHEN ");
            sql.bind(*k);
            sql.push(" THEN ");
            sql.bind(*at);
        }
        sql.push(" END WHERE ");
        if let Some(grace) = grace {
            // Requested sessions too: a client waiting for an answer is there, and a session
            // accepted late in the request window must start with them within grace.
            sql.push("status IN ");
            sql.list([Status::Requested.as_str(), Status::Active.as_str()].map(Value::from));
            sql.push(&format!(" AND {column} >= CASE {key}"));
            for (k, at) in chunk {
                sql.push(" WHEN ");
                sql.bind(*k);
                sql.push(" THEN ");
                sql.bind(*at - grace);
            }
            sql.push(" END");
        } else {
            sql.push("online = ");
            sql.bind(true);
        }
        sql.push(&format!(" AND {key} IN "));
        sql.list(chunk.iter().map(|(k, _)| Value::from(*k)));
        sql.exec(conn).await?;
    }
    Ok(())
}
