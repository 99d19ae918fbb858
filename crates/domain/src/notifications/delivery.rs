//! Delivery: the handler of `deliver_notification` jobs. Each job sends one
//! `notification_queue` row on its channel, writes the provider log (`email_logs`,
//! `sms_logs`, `push_notifications`) and moves the row to `sent`, `retrying` or `dead`
//! beside the job itself, so admins see dead letters with the channel and the reason.
//!
//! Email, SMS and push are rendered here, at send time, from the stored event data: the
//! unsubscribe link needs the server's key and public address, and a template fixed by an
//! admin also fixes the messages still waiting in the queue. In-app rows were rendered when
//! the event was recorded; their job only pushes the frame to open WebSockets.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::email::EmailMessage;
use super::events::{self, EventDef};
use super::inbox::{NotificationView, count_unread};
use super::push::{PushMessage, PushOutcome};
use super::{Category, Channel, preferences, templates};
use crate::Services;
use crate::jobs::{ClaimedJob, Permanent, backoff};
use crate::sms::SmsMessage;
use store::entity::{
    email_log, notification, notification_queue as queue, push_device, push_notification, sms_log,
    user,
};
use store::status::{DeliveryStatus, ProviderLogStatus, PushStatus};

/// Runs one delivery job.
pub async fn run(app: &Services, job: &ClaimedJob) -> anyhow::Result<()> {
    let id: Uuid = job.payload["delivery_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .context("deliver_notification job without a delivery_id")
        .map_err(|e| e.context(Permanent))?;
    let Some(row) = queue::Entity::find_by_id(id).one(&app.db).await? else {
        tracing::warn!(delivery = %id, "delivery row is gone");
        return Ok(());
    };
    if matches!(
        row.status.parse::<DeliveryStatus>(),
        Ok(DeliveryStatus::Sent | DeliveryStatus::Dead | DeliveryStatus::Skipped)
    ) {
        return Ok(());
    }
    let result = match events::find(&row.event) {
        Some(def) => attempt(app, &row, def).await,
        None => Err(anyhow::anyhow!("no templates for event {}", row.event).context(Permanent)),
    };
    let now = app.clock.now();
    let secret = events::find(&row.event).is_some_and(|d| d.secret);
    let mut update = queue::Entity::update_many()
        .col_expr(queue::Column::Attempts, Expr::value(job.attempts))
        .col_expr(queue::Column::UpdatedAt, Expr::value(now))
        .filter(queue::Column::Id.eq(row.id));
    let terminal = match &result {
        Ok(()) => {
            update = update
                .col_expr(
                    queue::Column::Status,
                    Expr::value(DeliveryStatus::Sent.as_str()),
                )
                .col_expr(queue::Column::SentAt, Expr::value(now))
                .col_expr(
                    queue::Column::LastError,
                    Expr::value(Option::<String>::None),
                );
            true
        }
        Err(err) => {
            let dead =
                job.attempts >= job.max_attempts || err.downcast_ref::<Permanent>().is_some();
            let msg: String = format!("{err:#}").chars().take(2000).collect();
            update = update.col_expr(queue::Column::LastError, Expr::value(msg));
            if dead {
                update = update.col_expr(
                    queue::Column::Status,
                    Expr::value(DeliveryStatus::Dead.as_str()),
                );
            } else {
                update = update
                    .col_expr(queue::Column::Status, Expr::value("retrying"))
                    .col_expr(
                        queue::Column::RunAt,
                        Expr::value(now + backoff(job.attempts)),
                    );
            }
            dead
        }
    };
    if terminal && secret {
        // A sign-in code has no business in the database once it was sent or given up.
        update = update.col_expr(queue::Column::Data, Expr::value("{}"));
    }
    update.exec(&app.db).await?;
    result
}

async fn attempt(app: &Services, row: &queue::Model, def: &EventDef) -> anyhow::Result<()> {
    let channel = Channel::parse(&row.channel)
        .with_context(|| format!("unknown channel {}", row.channel))
        .map_err(|e| e.context(Permanent))?;
    let account = match row.user_id {
        Some(id) => user::Entity::find_by_id(id).one(&app.db).await?,
        None => None,
    };
    let name = account
        .as_ref()
        .map(|u| u.first_name.clone())
        .unwrap_or_default();
    let data: Value = serde_json::from_str(&row.data).unwrap_or_else(|_| json!({}));
    match channel {
        Channel::InApp => push_frame(app, row).await,
        Channel::Email => send_email(app, row, def, &name, data).await,
        Channel::Sms => send_sms(app, row, def, &name, &data).await,
        Channel::Push => send_push(app, row, def, &name, &data).await,
    }
}

async fn render(
    app: &Services,
    def: &EventDef,
    channel: Channel,
    locale: &str,
    ctx: &Value,
) -> anyhow::Result<templates::Rendered> {
    templates::render_for(&app.db, def, channel, locale, ctx)
        .await?
        .map_err(|e| anyhow::Error::new(e).context(Permanent))
}

/// Best effort: the inbox row is the record, and a client that was offline reads it from
/// the list. A bus failure is logged, not retried.
async fn push_frame(app: &Services, row: &queue::Model) -> anyhow::Result<()> {
    let Some(nid) = row.notification_id else {
        return Ok(());
    };
    let Some(n) = notification::Entity::find_by_id(nid).one(&app.db).await? else {
        return Ok(());
    };
    let user_id = n.user_id;
    let unread = count_unread(&app.db, user_id).await?;
    let frame = json!({
        "type": "notification",
        "notification": NotificationView::from(n),
        "unread": unread,
    });
    if let Err(e) = app
        .bus
        .publish(
            &crate::live::events::user_topic(user_id),
            frame.to_string().into_bytes().into(),
        )
        .await
    {
        tracing::warn!(error = %e, notification = %nid, "notification frame not published");
    }
    Ok(())
}

async fn send_email(
    app: &Services,
    row: &queue::Model,
    def: &EventDef,
    name: &str,
    mut data: Value,
) -> anyhow::Result<()> {
    let to = row
        .recipient
        .clone()
        .context("email delivery without an address")
        .map_err(|e| e.context(Permanent))?;
    let unsubscribe_url = match (row.user_id, Category::parse(&row.category)) {
        (Some(user_id), Some(category)) if !category.locked() => Some(format!(
            "{}/api/v1/notifications/unsubscribe?token={}",
            app.public_url(),
            preferences::unsubscribe_token(&app.keys, user_id, category)
        )),
        _ => None,
    };
    if let Value::Object(map) = &mut data {
        map.insert(
            "unsubscribe_url".into(),
            unsubscribe_url.clone().unwrap_or_default().into(),
        );
    }
    let ctx = templates::base_context(&data, name, Channel::Email);
    let rendered = render(app, def, Channel::Email, &row.locale, &ctx).await?;
    let mut text = rendered.body;
    let mut html = rendered.html;
    // Every email a user may refuse carries the link, whatever an admin's template says.
    if let Some(url) = &unsubscribe_url {
        if !text.contains(url.as_str()) {
            text.push_str(&format!(
                "\n\n--\nTo stop {} emails, open {url}",
                row.category
            ));
        }
        if let Some(h) = html.as_mut()
            && !h.contains(url.as_str())
        {
            h.push_str(&format!(
                "\n<p style=\"font-size:small;color:#666\"><a href=\"{url}\">Unsubscribe</a> from {} emails.</p>",
                row.category
            ));
        }
    }
    let message = EmailMessage {
        to: to.clone(),
        subject: rendered.subject.unwrap_or_default(),
        text,
        html,
        unsubscribe_url,
    };
    let result = app.email.send(&message).await;
    email_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        queue_id: Set(Some(row.id)),
        user_id: Set(row.user_id),
        to_address: Set(to),
        subject: Set(message.subject.clone()),
        provider: Set(app.email.name().to_owned()),
        provider_message_id: Set(result.as_ref().ok().cloned()),
        status: Set(log_status(&result).to_owned()),
        error: Set(result.as_ref().err().map(|e| format!("{e:#}"))),
        created_at: Set(app.clock.now()),
    }
    .insert(&app.db)
    .await?;
    result.map(|_| ())
}

/// What an email or SMS log row says of the provider's answer.
fn log_status<T>(result: &anyhow::Result<T>) -> &'static str {
    match result {
        Ok(_) => ProviderLogStatus::Sent.as_str(),
        Err(_) => ProviderLogStatus::Failed.as_str(),
    }
}

async fn send_sms(
    app: &Services,
    row: &queue::Model,
    def: &EventDef,
    name: &str,
    data: &Value,
) -> anyhow::Result<()> {
    let to = row
        .recipient
        .clone()
        .context("SMS delivery without a number")
        .map_err(|e| e.context(Permanent))?;
    let ctx = templates::base_context(data, name, Channel::Sms);
    let rendered = render(app, def, Channel::Sms, &row.locale, &ctx).await?;
    let message = SmsMessage {
        to: to.clone(),
        body: rendered.body,
    };
    let result = app.sms.send(&message).await;
    sms_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        queue_id: Set(Some(row.id)),
        user_id: Set(row.user_id),
        to_phone: Set(to),
        body: Set(if def.secret {
            "[redacted]".to_owned()
        } else {
            message.body.clone()
        }),
        provider: Set(app.sms.name().to_owned()),
        provider_message_id: Set(result.as_ref().ok().cloned()),
        status: Set(log_status(&result).to_owned()),
        error: Set(result.as_ref().err().map(|e| format!("{e:#}"))),
        created_at: Set(app.clock.now()),
    }
    .insert(&app.db)
    .await?;
    result.map(|_| ())
}

/// To every device of the user that has not had this delivery yet: a retry after one device
/// failed does not buzz the others twice.
async fn send_push(
    app: &Services,
    row: &queue::Model,
    def: &EventDef,
    name: &str,
    data: &Value,
) -> anyhow::Result<()> {
    let Some(user_id) = row.user_id else {
        return Ok(());
    };
    let devices = push_device::Entity::find()
        .filter(push_device::Column::UserId.eq(user_id))
        .all(&app.db)
        .await?;
    let done: HashSet<Uuid> = push_notification::Entity::find()
        .filter(push_notification::Column::QueueId.eq(row.id))
        .filter(
            push_notification::Column::Status
                .is_in([PushStatus::Sent.as_str(), PushStatus::InvalidToken.as_str()]),
        )
        .all(&app.db)
        .await?
        .into_iter()
        .map(|p| p.device_id)
        .collect();
    let ctx = templates::base_context(data, name, Channel::Push);
    let rendered = render(app, def, Channel::Push, &row.locale, &ctx).await?;
    let title = rendered.subject.unwrap_or_default();
    let mut payload = BTreeMap::new();
    if !def.secret
        && let Value::Object(map) = data
    {
        for (k, v) in map {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            payload.insert(k.clone(), s);
        }
    }
    payload.insert("event".to_owned(), row.event.clone());
    payload.insert("delivery_id".to_owned(), row.id.to_string());
    let mut first_error = None;
    for device in devices.into_iter().filter(|d| !done.contains(&d.id)) {
        let message = PushMessage {
            token: device.token.clone(),
            title: title.clone(),
            body: rendered.body.clone(),
            data: payload.clone(),
        };
        let result = app.push.send(&message).await;
        let (status, provider_id, error) = match &result {
            Ok(PushOutcome::Sent(id)) => (PushStatus::Sent.as_str(), Some(id.clone()), None),
            Ok(PushOutcome::InvalidToken(code)) => ("invalid_token", None, Some(code.clone())),
            Err(e) => (PushStatus::Failed.as_str(), None, Some(format!("{e:#}"))),
        };
        push_notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            queue_id: Set(row.id),
            user_id: Set(user_id),
            device_id: Set(device.id),
            title: Set(title.clone()),
            body: Set(rendered.body.clone()),
            provider: Set(app.push.name().to_owned()),
            provider_message_id: Set(provider_id),
            status: Set(status.to_owned()),
            error: Set(error),
            created_at: Set(app.clock.now()),
        }
        .insert(&app.db)
        .await?;
        match result {
            Ok(PushOutcome::Sent(_)) => {}
            Ok(PushOutcome::InvalidToken(_)) => {
                push_device::Entity::delete_by_id(device.id)
                    .exec(&app.db)
                    .await?;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
