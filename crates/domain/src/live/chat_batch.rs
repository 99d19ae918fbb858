//! Group commit for chat messages.
//!
//! Every text message is stored before anyone hears of it. Stored one transaction at a time,
//! chat ran at about 1,000 messages/s on either database (bench_live): each message paid a
//! BEGIN, its writes and a COMMIT, and on SQLite a turn at the one write gate. The
//! [`ChatWriter`] owns a task that takes whatever messages are queued (up to
//! [`MAX_CHAT_BATCH`]) and stores them in one transaction:
//! 1. one read of which of the batch's consultations are active;
//! 2. one multi-row `INSERT … ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id`
//!    (split to stay under the PostgreSQL message budget, see `ledger::batch`);
//! 3. only when needed: the system notices of masked messages, the rows a resent frame
//!    points at, and the senders' `seen_at` for callers that ask for it (REST);
//! 4. one COMMIT.
//!
//! The guarantees of one message at a time are kept:
//! - **Stored before fan-out, fanned out before the ack.** After the COMMIT a second task
//!   publishes the batch's frames, in id order, then answers each caller; the socket acks
//!   only then. Publishing on its own task lets the next batch's transaction run meanwhile;
//!   one task keeps the frames of successive batches in order.
//! - **Once per (sender, client id).** A frame already stored (in the database, earlier in the
//!   batch, or by another node at the same moment, which the unique index and `ON CONFLICT`
//!   settle) is answered with the stored message and `new = false`, and is not fanned out.
//! - **Order.** Ids are minted by this task in queue order (`Uuid::now_v7` is monotonic in a
//!   process), so a consultation's messages read back in the order they were taken. A socket
//!   queues its frames in the order they arrive (`ChatWriter::enqueue`) and acks them in that
//!   order, so it may queue the next before the previous is stored.
//! - **Active sessions only.** The status is read inside the batch's transaction, as the
//!   single path read it before its insert.
//!
//! If the batch's transaction fails as a whole, its messages are stored again one per
//! transaction, so one bad message cannot fail its neighbours.
//!
//! On a SQLite file the writer runs on a thread of its own and drives its connection
//! directly (`db::lite`), as the ledger's writer does: through sqlx every statement would
//! cross to a connection thread and back.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DbErr, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::chat::{MessageView, Participants};
use super::engine::Status;
use super::events::user_topic;
use crate::Services;
use crate::error::{Error, Result};
use store::bulk::{Limits, Sql, own_connection, value_bytes};
use store::entity::chat_message;
use store::lite::{Conn, WriterDb};

/// Messages stored in one transaction at most. A batch of this size holds SQLite's write
/// gate for a few milliseconds; larger batches would make other writers wait longer.
pub const MAX_CHAT_BATCH: usize = 512;
/// Messages that may wait for the writer before senders wait too (back-pressure).
const QUEUE: usize = 4 * MAX_CHAT_BATCH;
/// Batches stored but not yet published; the writer waits when the publisher is this far
/// behind.
const PUBLISH_QUEUE: usize = 8;

pub const NOTICE: &str = "Contact details are hidden in chat. Please keep the \
                                 conversation and payments on the platform.";

/// A text message to store, already validated and masked by the caller.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub sender: Uuid,
    pub to: Participants,
    pub client_id: Option<String>,
    pub body: String,
    /// The guard changed the text: a system notice follows the message.
    pub masked: bool,
    /// Record the sender's `seen_at` in the same transaction. Sockets record liveness on
    /// their own (at most every few seconds); the REST route asks for it here.
    pub record_seen: bool,
    pub now: DateTime<Utc>,
}

/// What storing one message came to.
#[derive(Debug, Clone)]
struct Stored {
    message: chat_message::Model,
    notice: Option<chat_message::Model>,
    /// False for a resent frame: `message` is the one stored before.
    new: bool,
}

type Answer = Result<(MessageView, bool)>;

struct Job {
    msg: NewMessage,
    reply: oneshot::Sender<Answer>,
}

/// Counters since the writer started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatStats {
    pub batches: u64,
    pub messages: u64,
    /// Batches whose transaction failed and whose messages were stored one at a time.
    pub fallbacks: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    messages: AtomicU64,
    fallbacks: AtomicU64,
}

/// The handle to the chat writer; clones share it. The writer ends when every handle is
/// dropped and its queue is drained.
#[derive(Clone)]
pub struct ChatWriter {
    tx: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for ChatWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatWriter")
            .field("stats", &self.stats())
            .finish()
    }
}

impl ChatWriter {
    /// Starts the writer and its publisher. The publisher runs on the current Tokio runtime;
    /// the writer too, on a connection of its own (see `ledger::batch::own_connection`: its
    /// statements differ by row count, and a shared pool's small statement caches would
    /// prepare them again), except on a SQLite file, where it gets a thread and a direct
    /// connection (`db::lite`).
    pub fn start(db: &DatabaseConnection, bus: Arc<dyn bus::Bus>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (ptx, prx) = mpsc::channel(PUBLISH_QUEUE);
        let counters = Arc::new(Counters::default());
        let wdb = WriterDb::open(db, || own_connection(db));
        if let WriterDb::Lite(_) = wdb {
            let counters = counters.clone();
            store::lite::spawn_writer("chat-writer", move || writer(wdb, counters, rx, ptx));
        } else {
            tokio::spawn(writer(wdb, counters.clone(), rx, ptx));
        }
        tokio::spawn(publisher(bus, prx));
        Self { tx, counters }
    }

    /// Stores `msg` in the next batch, fans it out, and answers the stored message and
    /// whether it is new. A caller that stops waiting does not withdraw the message.
    pub async fn submit(&self, msg: NewMessage) -> Answer {
        self.enqueue(msg).await?.answer().await
    }

    /// Queues `msg` and returns at once (unless the queue is full) with the answer to come.
    /// Messages are stored in the order they were queued, so a socket may queue its next
    /// frame before the previous one is answered and the order still holds.
    pub async fn enqueue(&self, msg: NewMessage) -> Result<Queued> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { msg, reply })
            .await
            .map_err(|_| stopped())?;
        Ok(Queued(answer))
    }

    pub fn stats(&self) -> ChatStats {
        ChatStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            messages: self.counters.messages.load(Ordering::Relaxed),
            fallbacks: self.counters.fallbacks.load(Ordering::Relaxed),
        }
    }
}

/// A queued message's answer: stored (or refused), fanned out, then answered.
pub struct Queued(oneshot::Receiver<Answer>);

impl Queued {
    pub async fn answer(self) -> Answer {
        self.0.await.map_err(|_| stopped())?
    }
}

/// Submits through the application's writer.
pub async fn submit(app: &Services, msg: NewMessage) -> Answer {
    app.chat.submit(msg).await
}

fn stopped() -> Error {
    Error::internal(anyhow::anyhow!("the chat writer has stopped"))
}

/// A committed batch on its way to the bus: frames to publish, in order, then the answers.
struct Publication {
    frames: Vec<(Participants, Bytes)>,
    replies: Vec<(oneshot::Sender<Answer>, Answer)>,
}

async fn writer(
    db: WriterDb,
    counters: Arc<Counters>,
    mut rx: mpsc::Receiver<Job>,
    publish: mpsc::Sender<Publication>,
) {
    let mut jobs = Vec::with_capacity(MAX_CHAT_BATCH);
    // Whatever queued while the previous batch was stored forms the next one: a lone sender
    // waits for no timer, and a busy queue fills batches by itself.
    while rx.recv_many(&mut jobs, MAX_CHAT_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        let run = store_batch(&db, &counters, batch);
        // A bug in one batch must not stop chat: its senders see their answer channel close
        // (an error), and the next batch starts afresh.
        match AssertUnwindSafe(run).catch_unwind().await {
            Ok(p) => {
                if publish.send(p).await.is_err() {
                    return;
                }
            }
            Err(_) => tracing::error!("chat writer panicked; that batch's senders got an error"),
        }
    }
}

async fn store_batch(db: &WriterDb, counters: &Counters, jobs: Vec<Job>) -> Publication {
    counters.batches.fetch_add(1, Ordering::Relaxed);
    counters
        .messages
        .fetch_add(jobs.len() as u64, Ordering::Relaxed);
    let (msgs, replies): (Vec<NewMessage>, Vec<_>) =
        jobs.into_iter().map(|j| (j.msg, j.reply)).unzip();
    let answers: Vec<Result<Stored>> = match store(db, &msgs).await {
        Ok(answers) => answers,
        Err(e) => {
            counters.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, messages = msgs.len(),
                "chat batch failed; storing its messages one at a time");
            let mut answers = Vec::with_capacity(msgs.len());
            for m in &msgs {
                let one = store(db, std::slice::from_ref(m)).await;
                answers.push(match one {
                    Ok(mut a) => a.pop().unwrap_or_else(|| Err(stopped())),
                    Err(e) => Err(e.into()),
                });
            }
            answers
        }
    };
    let mut frames = Vec::new();
    let mut out = Vec::with_capacity(replies.len());
    for ((reply, answer), msg) in replies.into_iter().zip(answers).zip(&msgs) {
        let answer = answer.map(|s| {
            let view = MessageView::from(s.message);
            if s.new {
                frames.push((msg.to, frame(&view)));
                if let Some(n) = s.notice {
                    frames.push((msg.to, frame(&MessageView::from(n))));
                }
            }
            (view, s.new)
        });
        out.push((reply, answer));
    }
    Publication {
        frames,
        replies: out,
    }
}

/// The `message` frame, serialised straight from the view (no intermediate JSON value: this
/// runs once per message on the one publishing task).
fn frame(view: &MessageView) -> Bytes {
    #[derive(serde::Serialize)]
    struct Frame<'a> {
        r#type: &'static str,
        message: &'a MessageView,
    }
    let frame = Frame {
        r#type: "message",
        message: view,
    };
    serde_json::to_vec(&frame)
        .map_or_else(|_| Bytes::from_static(br#"{"type":"resync"}"#), Bytes::from)
}

async fn publisher(bus: Arc<dyn bus::Bus>, mut rx: mpsc::Receiver<Publication>) {
    while let Some(p) = rx.recv().await {
        // Polled in order, so each publish is issued in order (a Redis connection keeps
        // that order), while a round trip to Redis is paid once per batch, not per frame.
        let sends = p.frames.iter().flat_map(|(to, payload)| {
            [to.client_id, to.practitioner_user_id].map(|user| {
                let bus = bus.clone();
                let payload = payload.clone();
                async move {
                    if let Err(e) = bus.publish(&user_topic(user), payload).await {
                        tracing::warn!(error = %e, "chat frame not published");
                    }
                }
            })
        });
        futures::future::join_all(sends).await;
        for (reply, answer) in p.replies {
            // A sender that gave up has dropped its receiver; its message stands.
            let _ = reply.send(answer);
        }
    }
}

/// Stores `msgs` in one transaction; each gets its own answer, or the whole batch fails
/// having stored nothing.
async fn store(db: &WriterDb, msgs: &[NewMessage]) -> Result<Vec<Result<Stored>>, DbErr> {
    db.write(async |conn| decide_and_write(conn, msgs).await)
        .await
}

fn not_active() -> Error {
    Error::conflict(
        "consultation_not_active",
        "Messages can be sent only while the session is active",
    )
}

async fn decide_and_write(
    txn: Conn<'_>,
    msgs: &[NewMessage],
) -> Result<Vec<Result<Stored>>, DbErr> {
    let backend = txn.backend();
    let limit = Limits::new(backend, None);

    // 1. Which consultations are active.
    let mut ids: Vec<Uuid> = msgs.iter().map(|m| m.to.consultation_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut active: Vec<Uuid> = Vec::with_capacity(ids.len());
    for chunk in limit.runs(&ids, |_| (1, 16)) {
        let mut sql = Sql::new(backend, "SELECT id FROM consultations WHERE status = ");
        sql.bind(Status::Active.as_str());
        sql.push(" AND id IN ");
        sql.list(chunk.iter().map(|id| Value::from(*id)));
        let found: Vec<(Uuid,)> = sql.rows(txn).await?;
        active.extend(found.into_iter().map(|(id,)| id));
    }
    active.sort_unstable();

    // 2. Rows for the first frame of each (sender, client id) in an active consultation;
    //    ids minted here, in queue order.
    enum Plan {
        Insert(usize),
        /// Same (sender, client id) as an earlier frame of this batch.
        SameAs(usize),
        /// Not inserted: answered from what is stored (a resend) or refused.
        Lookup,
    }
    let mut first_of: HashMap<(Uuid, &str), usize> = HashMap::new();
    let mut plans = Vec::with_capacity(msgs.len());
    let mut rows: Vec<chat_message::Model> = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        if let Some(cid) = m.client_id.as_deref() {
            if let Some(&first) = first_of.get(&(m.sender, cid)) {
                plans.push(Plan::SameAs(first));
                continue;
            }
            first_of.insert((m.sender, cid), i);
        }
        if active.binary_search(&m.to.consultation_id).is_err() {
            plans.push(Plan::Lookup);
            continue;
        }
        plans.push(Plan::Insert(rows.len()));
        rows.push(chat_message::Model {
            id: Uuid::now_v7(),
            consultation_id: m.to.consultation_id,
            sender_id: Some(m.sender),
            client_msg_id: m.client_id.clone(),
            kind: "text".to_owned(),
            body: m.body.clone(),
            masked: m.masked,
            attachment_id: None,
            created_at: m.now,
            delivered_at: None,
            read_at: None,
        });
        if m.masked {
            // Minted right after its message, so the notice reads back just after it.
            rows.push(notice(m));
        }
    }

    // 3. Insert the messages; a (sender, client id) stored meanwhile is skipped, not an
    //    error, and answered from the database below.
    let messages: Vec<&chat_message::Model> =
        rows.iter().filter(|r| r.sender_id.is_some()).collect();
    let inserted = insert_messages(txn, limit, &messages).await?;
    let notices: Vec<&chat_message::Model> = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            r.sender_id.is_none() && *i > 0 && inserted.binary_search(&rows[i - 1].id).is_ok()
        })
        .map(|(_, r)| r)
        .collect();
    if !notices.is_empty() {
        insert_messages(txn, limit, &notices).await?;
    }

    // 4. Frames that were not inserted: the message stored before under the same id.
    let mut wanted: Vec<(Uuid, &str)> = Vec::new();
    for (m, plan) in msgs.iter().zip(&plans) {
        let missing = match plan {
            Plan::Insert(r) => inserted.binary_search(&rows[*r].id).is_err(),
            Plan::Lookup => true,
            Plan::SameAs(_) => false,
        };
        if missing && let Some(cid) = m.client_id.as_deref() {
            wanted.push((m.sender, cid));
        }
    }
    let earlier = stored_by_client_id(txn, limit, &wanted).await?;

    // 5. Liveness for the callers that asked for it in this transaction.
    let mut seen: Vec<(Uuid, bool)> = msgs
        .iter()
        .zip(&plans)
        .filter(|(m, p)| {
            m.record_seen
                && matches!(p, Plan::Insert(r) if inserted.binary_search(&rows[*r].id).is_ok())
        })
        .map(|(m, _)| (m.to.consultation_id, m.to.client_id == m.sender))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let now = msgs.iter().map(|m| m.now).max().unwrap_or_else(Utc::now);
    for (id, is_client) in seen {
        let column = if is_client {
            "client_seen_at"
        } else {
            "practitioner_seen_at"
        };
        let mut sql = Sql::new(backend, &format!("UPDATE consultations SET {column} = "));
        sql.bind(now);
        sql.push(" WHERE id = ");
        sql.bind(id);
        sql.exec(txn).await?;
    }

    // 6. The answers.
    let mut answers: Vec<Result<Stored>> = Vec::with_capacity(msgs.len());
    for (i, (m, plan)) in msgs.iter().zip(&plans).enumerate() {
        let resend = || {
            m.client_id
                .as_deref()
                .and_then(|cid| earlier.get(&(m.sender, cid.to_owned())))
                .map(|e| Stored {
                    message: e.clone(),
                    notice: None,
                    new: false,
                })
        };
        let answer = match plan {
            Plan::Insert(r) if inserted.binary_search(&rows[*r].id).is_ok() => {
                let notice = rows
                    .get(r + 1)
                    .filter(|n| n.sender_id.is_none() && m.masked)
                    .cloned();
                Ok(Stored {
                    message: rows[*r].clone(),
                    notice,
                    new: true,
                })
            }
            Plan::Insert(_) => resend().ok_or_else(|| {
                Error::internal(anyhow::anyhow!("a conflicting chat message vanished"))
            }),
            Plan::Lookup => resend().ok_or_else(not_active),
            Plan::SameAs(first) => match &answers[*first] {
                Ok(s) => Ok(Stored {
                    message: s.message.clone(),
                    notice: None,
                    new: false,
                }),
                Err(_) => resend().ok_or_else(not_active),
            },
        };
        debug_assert_eq!(answers.len(), i);
        answers.push(answer);
    }
    Ok(answers)
}

/// The columns of a `chat_messages` row, in table order.
type MessageRow = (
    Uuid,
    Uuid,
    Option<Uuid>,
    Option<String>,
    String,
    String,
    bool,
    Option<Uuid>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn message_model(row: MessageRow) -> chat_message::Model {
    let (
        id,
        consultation_id,
        sender_id,
        client_msg_id,
        kind,
        body,
        masked,
        attachment_id,
        created_at,
        delivered_at,
        read_at,
    ) = row;
    chat_message::Model {
        id,
        consultation_id,
        sender_id,
        client_msg_id,
        kind,
        body,
        masked,
        attachment_id,
        created_at,
        delivered_at,
        read_at,
    }
}

fn notice(m: &NewMessage) -> chat_message::Model {
    chat_message::Model {
        id: Uuid::now_v7(),
        consultation_id: m.to.consultation_id,
        sender_id: None,
        client_msg_id: None,
        kind: "system".to_owned(),
        body: NOTICE.to_owned(),
        masked: false,
        attachment_id: None,
        created_at: m.now,
        delivered_at: None,
        read_at: None,
    }
}

/// Inserts `rows` and returns the ids that were inserted, sorted. Rows whose (sender,
/// client id) is already stored are skipped by `ON CONFLICT DO NOTHING`: on PostgreSQL a
/// row another transaction is inserting waits for it, so a frame stored by another node at
/// the same moment is skipped here and answered as a resend.
async fn insert_messages(
    conn: Conn<'_>,
    limit: Limits,
    rows: &[&chat_message::Model],
) -> Result<Vec<Uuid>, DbErr> {
    let values: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.into(),
                r.consultation_id.into(),
                r.sender_id.into(),
                r.client_msg_id.clone().into(),
                r.kind.clone().into(),
                r.body.clone().into(),
                r.masked.into(),
                r.created_at.into(),
            ]
        })
        .collect();
    let mut inserted = Vec::with_capacity(rows.len());
    let cost = |row: &Vec<Value>| (row.len(), row.iter().map(value_bytes).sum());
    for run in limit.runs(&values, cost) {
        let mut sql = Sql::new(
            conn.backend(),
            "INSERT INTO chat_messages (id, consultation_id, sender_id, client_msg_id, kind, \
             body, masked, created_at) VALUES ",
        );
        for (i, row) in run.iter().enumerate() {
            sql.row(i == 0, row);
        }
        sql.push(" ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id");
        let ids: Vec<(Uuid,)> = sql.rows(conn).await?;
        inserted.extend(ids.into_iter().map(|(id,)| id));
    }
    inserted.sort_unstable();
    Ok(inserted)
}

/// The stored messages of these (sender, client id) pairs: one `IN` list per column (the
/// unique index serves it), and rows that match only across pairs are dropped here. An `OR`
/// per pair nests a level each, and SQLite refuses expressions deeper than 1,000.
async fn stored_by_client_id(
    conn: Conn<'_>,
    limit: Limits,
    wanted: &[(Uuid, &str)],
) -> Result<HashMap<(Uuid, String), chat_message::Model>, DbErr> {
    let mut out = HashMap::new();
    for chunk in limit.runs(wanted, |(_, cid)| (2, 16 + cid.len())) {
        let mut senders: Vec<Uuid> = chunk.iter().map(|(sender, _)| *sender).collect();
        senders.sort_unstable();
        senders.dedup();
        let pairs: std::collections::HashSet<(Uuid, &str)> = chunk.iter().copied().collect();
        let mut cids: Vec<&str> = chunk.iter().map(|(_, cid)| *cid).collect();
        cids.sort_unstable();
        cids.dedup();
        let mut sql = Sql::new(
            conn.backend(),
            "SELECT id, consultation_id, sender_id, client_msg_id, kind, body, masked, \
             attachment_id, created_at, delivered_at, read_at FROM chat_messages \
             WHERE sender_id IN ",
        );
        sql.list(senders.into_iter().map(Value::from));
        sql.push(" AND client_msg_id IN ");
        sql.list(cids.into_iter().map(Value::from));
        let rows: Vec<MessageRow> = sql.rows(conn).await?;
        for m in rows.into_iter().map(message_model) {
            if let (Some(sender), Some(cid)) = (m.sender_id, m.client_msg_id.clone())
                && pairs.contains(&(sender, cid.as_str()))
            {
                out.insert((sender, cid), m);
            }
        }
    }
    Ok(out)
}
