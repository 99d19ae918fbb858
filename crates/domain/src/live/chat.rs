//! Chat inside a consultation: messages stored before they are fanned out, a resent frame
//! stored once (the sender's client id is unique), contact details masked by the guard with
//! a system notice, delivered/read receipts, history pages and the transcript.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::events::user_topic;
use crate::Services;
use crate::auth::Role;
use crate::error::{Error, Result};
use contact_guard::{GuardConfig, mask_contacts};
use store::entity::{chat_message, consultation};

/// Longest chat message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest client-chosen frame id.
pub const MAX_CLIENT_ID_LEN: usize = 64;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub consultation_id: Uuid,
    /// Absent on system notices.
    pub sender_id: Option<Uuid>,
    /// The id the sender's client gave the frame.
    pub client_id: Option<String>,
    /// `text`, `image`, `file` or `system`.
    pub kind: String,
    pub body: String,
    /// The guard hid contact details in this message.
    pub masked: bool,
    /// For `image` and `file`: fetch it at `/api/v1/attachments/{id}`.
    pub attachment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<chat_message::Model> for MessageView {
    fn from(m: chat_message::Model) -> Self {
        Self {
            id: m.id,
            consultation_id: m.consultation_id,
            sender_id: m.sender_id,
            client_id: m.client_msg_id,
            kind: m.kind,
            body: m.body,
            masked: m.masked,
            attachment_id: m.attachment_id,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
        }
    }
}

/// The consultation, if `user` takes part in it (admins may read any).
pub async fn participant_view(
    app: &Services,
    user: Uuid,
    role: Role,
    id: Uuid,
) -> Result<consultation::Model> {
    consultation::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|c| c.client_id == user || c.practitioner_user_id == user || role == Role::Admin)
        .ok_or_else(|| Error::not_found("Consultation"))
}

pub async fn fan_out(app: &Services, c: &consultation::Model, frame: serde_json::Value) {
    fan_out_to(app, &Participants::of(c), frame).await;
}

async fn fan_out_to(app: &Services, to: &Participants, frame: serde_json::Value) {
    let payload = bytes::Bytes::from(frame.to_string());
    for user in [to.client_id, to.practitioner_user_id] {
        if let Err(e) = app.bus.publish(&user_topic(user), payload.clone()).await {
            tracing::warn!(error = %e, "chat frame not published");
        }
    }
}

/// The message `sender` already sent with this client id, if any.
pub async fn by_client_id(
    app: &Services,
    sender: Uuid,
    client_id: &str,
) -> Result<Option<MessageView>> {
    Ok(chat_message::Entity::find()
        .filter(chat_message::Column::SenderId.eq(sender))
        .filter(chat_message::Column::ClientMsgId.eq(client_id))
        .one(&app.db)
        .await?
        .map(Into::into))
}

/// Who takes part in a consultation. It never changes once the consultation exists, so a
/// socket may keep it for as long as it lives; whether the session is still active is
/// checked where it matters (the chat writer reads the status in its transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Participants {
    pub consultation_id: Uuid,
    pub client_id: Uuid,
    pub practitioner_user_id: Uuid,
}

impl Participants {
    pub fn of(c: &consultation::Model) -> Self {
        Self {
            consultation_id: c.id,
            client_id: c.client_id,
            practitioner_user_id: c.practitioner_user_id,
        }
    }

    pub fn includes(&self, user: Uuid) -> bool {
        self.client_id == user || self.practitioner_user_id == user
    }

    /// The participant who is not `user`.
    pub fn other(&self, user: Uuid) -> Uuid {
        if self.client_id == user {
            self.practitioner_user_id
        } else {
            self.client_id
        }
    }
}

/// The participants of `consultation_id`, if `user` is one of them.
pub async fn participants(
    app: &Services,
    user: Uuid,
    consultation_id: Uuid,
) -> Result<Participants> {
    consultation::Entity::find_by_id(consultation_id)
        .one(&app.db)
        .await?
        .map(|c| Participants::of(&c))
        .filter(|p| p.includes(user))
        .ok_or_else(|| Error::not_found("Consultation"))
}

/// Stores and delivers a text message from a participant of an active consultation.
/// Returns the stored message and whether it is new (false for a resent frame).
pub async fn send(
    app: &Services,
    sender: Uuid,
    consultation_id: Uuid,
    client_id: Option<&str>,
    text: &str,
) -> Result<(MessageView, bool)> {
    let text = checked_text(text, client_id)?;
    let to = participants(app, sender, consultation_id).await?;
    // Writing is a sign of life, as good as a heartbeat: recorded with the message.
    store(app, sender, to, client_id, text, true).await
}

/// `send` for a caller that already knows the participants (a socket keeps them) and
/// records the sender's liveness itself, in two steps: checks and queues the message, and
/// returns its answer to come. A socket queues its frames in the order they arrive and
/// answers them in that order.
pub async fn queue_to(
    app: &Services,
    sender: Uuid,
    to: Participants,
    client_id: Option<&str>,
    text: &str,
) -> Result<super::chat_batch::Queued> {
    let text = checked_text(text, client_id)?;
    if !to.includes(sender) {
        return Err(Error::not_found("Consultation"));
    }
    app.chat
        .enqueue(new_message(app, sender, to, client_id, text, false))
        .await
}

/// The trimmed text, if it and the client id may be stored.
fn checked_text<'a>(text: &'a str, client_id: Option<&str>) -> Result<&'a str> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS {
        return Err(Error::field(
            "text",
            "out_of_range",
            format!("must be 1 to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::field(
            "text",
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    if client_id.is_some_and(|id| id.is_empty() || id.len() > MAX_CLIENT_ID_LEN) {
        return Err(Error::field(
            "id",
            "out_of_range",
            format!("must be 1 to {MAX_CLIENT_ID_LEN} bytes"),
        ));
    }
    Ok(text)
}

/// Masks the text here, on the sender's task (the guard is the CPU-heavy part, and senders
/// run on every core), then stores and fans it out through the chat writer.
async fn store(
    app: &Services,
    sender: Uuid,
    to: Participants,
    client_id: Option<&str>,
    text: &str,
    record_seen: bool,
) -> Result<(MessageView, bool)> {
    super::chat_batch::submit(
        app,
        new_message(app, sender, to, client_id, text, record_seen),
    )
    .await
}

/// The message as the chat writer takes it, masked by the guard.
fn new_message(
    app: &Services,
    sender: Uuid,
    to: Participants,
    client_id: Option<&str>,
    text: &str,
    record_seen: bool,
) -> super::chat_batch::NewMessage {
    let guard = GuardConfig {
        mask_phones: app.config.chat_mask_contacts,
        mask_emails: app.config.chat_mask_contacts,
        ..GuardConfig::default()
    };
    let masked = mask_contacts(text, &guard);
    let changed = masked.changed();
    super::chat_batch::NewMessage {
        sender,
        to,
        client_id: client_id.map(str::to_owned),
        body: masked.text,
        masked: changed,
        record_seen,
        now: app.clock.now(),
    }
}

/// Marks the other side's messages up to `up_to` as delivered (or read, which implies
/// delivered) for `reader`, and tells both participants.
pub async fn receipt(
    app: &Services,
    reader: Uuid,
    c: Participants,
    up_to: Uuid,
    read: bool,
) -> Result<u64> {
    if !c.includes(reader) {
        return Err(Error::not_found("Consultation"));
    }
    let now = app.clock.now();
    let others = sea_orm::Condition::any()
        .add(chat_message::Column::SenderId.ne(reader))
        .add(chat_message::Column::SenderId.is_null());
    let txn = store::begin_write(&app.db).await?;
    let delivered = chat_message::Entity::update_many()
        .col_expr(chat_message::Column::DeliveredAt, Expr::value(now))
        .filter(chat_message::Column::ConsultationId.eq(c.consultation_id))
        .filter(chat_message::Column::Id.lte(up_to))
        .filter(chat_message::Column::DeliveredAt.is_null())
        .filter(others.clone())
        .exec(&txn)
        .await?
        .rows_affected;
    let mut changed = delivered;
    if read {
        changed += chat_message::Entity::update_many()
            .col_expr(chat_message::Column::ReadAt, Expr::value(now))
            .filter(chat_message::Column::ConsultationId.eq(c.consultation_id))
            .filter(chat_message::Column::Id.lte(up_to))
            .filter(chat_message::Column::ReadAt.is_null())
            .filter(others)
            .exec(&txn)
            .await?
            .rows_affected;
    }
    txn.commit().await?;
    if changed > 0 {
        fan_out_to(
            app,
            &c,
            json!({"type": "receipt", "consultation_id": c.consultation_id, "by": reader,
                   "status": if read { "read" } else { "delivered" }, "up_to": up_to, "at": now}),
        )
        .await;
    }
    Ok(changed)
}

/// Tells the other participant that `user` is typing (not stored).
pub async fn typing(app: &Services, user: Uuid, c: Participants) -> Result<()> {
    if !c.includes(user) {
        return Err(Error::not_found("Consultation"));
    }
    let other = c.other(user);
    let frame = json!({"type": "typing", "consultation_id": c.consultation_id, "user_id": user});
    if let Err(e) = app
        .bus
        .publish(&user_topic(other), frame.to_string().into())
        .await
    {
        tracing::debug!(error = %e, "typing indicator not published");
    }
    Ok(())
}

/// Messages of a consultation after `after` (oldest first), or before `before` (the page
/// just older than it, returned oldest first), at most `limit`.
pub async fn history(
    app: &Services,
    consultation_id: Uuid,
    after: Option<Uuid>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<MessageView>> {
    let mut q = chat_message::Entity::find()
        .filter(chat_message::Column::ConsultationId.eq(consultation_id));
    let rows = if let Some(before) = before {
        let mut rows = q
            .filter(chat_message::Column::Id.lt(before))
            .order_by_desc(chat_message::Column::Id)
            .limit(limit)
            .all(&app.db)
            .await?;
        rows.reverse();
        rows
    } else {
        if let Some(after) = after {
            q = q.filter(chat_message::Column::Id.gt(after));
        }
        q.order_by_asc(chat_message::Column::Id)
            .limit(limit)
            .all(&app.db)
            .await?
    };
    Ok(rows.into_iter().map(Into::into).collect())
}
