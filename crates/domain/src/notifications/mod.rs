//! Notifications: what the platform tells users and how it reaches them.
//!
//! Owns the event catalog and templates ([`events`], [`templates`]), the in-app inbox
//! ([`inbox`]), users' preferences, quiet hours and unsubscribe links ([`preferences`]),
//! push device tokens ([`devices`]), the channel providers ([`email`], [`push`], and SMS in
//! `crate::sms`), delivery through the durable jobs with its logs ([`delivery`]) and the
//! admin endpoints ([`admin`]).
//!
//! Other features call [`notify`] inside the transaction of the change they report: the
//! inbox row and one `notification_queue` row plus one job per channel commit with it, or
//! not at all. Delivery happens later, on a job worker, with retries and dead letters.

pub mod delivery;
pub mod email;
pub mod events;
pub mod inbox;
pub mod preferences;
pub mod push;
pub mod templates;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::jobs;
use events::EventDef;
use store::entity::{notification, notification_queue as queue, push_device, user};
use store::status::DeliveryStatus;

/// The product name templates see as `app_name`.
pub const APP_NAME: &str = "Augur";

/// Job kind of one delivery (one `notification_queue` row).
pub const DELIVER: &str = "deliver_notification";

/// Attempts per delivery: with the jobs' backoff (5 s doubling) the last one is about
/// 20 minutes after the first; after it the delivery is a dead letter.
pub const MAX_ATTEMPTS: i32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
// Its own schema name: OpenAPI components are keyed by name, and the practitioners'
// consultation `Channel` (chat, call, video) would otherwise replace this one.
#[schema(as = NotificationChannel)]
pub enum Channel {
    InApp,
    Email,
    Sms,
    Push,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::InApp, Channel::Email, Channel::Sms, Channel::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InApp => "in_app",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What preferences are chosen by: a user switches a category off on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Account,
    /// Sign-in codes and the like: always delivered, at once.
    Security,
    Wallet,
    Bookings,
    Payouts,
    Marketing,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Account,
        Category::Security,
        Category::Wallet,
        Category::Bookings,
        Category::Payouts,
        Category::Marketing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Account => "account",
            Category::Security => "security",
            Category::Wallet => "wallet",
            Category::Bookings => "bookings",
            Category::Payouts => "payouts",
            Category::Marketing => "marketing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Cannot be switched off and ignores quiet hours.
    pub fn locked(self) -> bool {
        self == Category::Security
    }

    /// Before the user chooses: everything on, except marketing outside the app (consent
    /// to marketing email, SMS and push must be given, not assumed).
    pub fn default_enabled(self, channel: Channel) -> bool {
        self != Category::Marketing || channel == Channel::InApp
    }
}

/// Where a notification goes: an account, or (sign-in codes before an account exists) a bare
/// phone number.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user_id: Option<Uuid>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: String,
    pub time_zone: String,
    /// Whether `email` is an address the user proved to own: marketing email goes only there.
    pub email_verified: bool,
}

impl From<&user::Model> for Recipient {
    fn from(u: &user::Model) -> Self {
        Self {
            user_id: Some(u.id),
            name: u.first_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            locale: u.language.clone(),
            time_zone: u.time_zone.clone(),
            email_verified: u.email_verified,
        }
    }
}

/// Records an event for a user inside the caller's transaction: the in-app notification row and one
/// delivery job per enabled channel exist exactly when the caller's change commits.
///
/// An event the catalog does not know is kept in the inbox only, titled after its name (so
/// a feature may emit it before its templates ship) and logged as a warning. A template
/// that fails with this data falls back to the default; the caller's change never fails
/// because of a notification's wording.
pub async fn notify<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    user_id: Uuid,
    event: &str,
    data: Value,
) -> Result<(), sea_orm::DbErr> {
    let Some(u) = user::Entity::find_by_id(user_id).one(conn).await? else {
        tracing::warn!(%user_id, event, "notification for an unknown user dropped");
        return Ok(());
    };
    record(conn, now, &Recipient::from(&u), event, data).await
}

/// Like [`notify`], for a phone number that may not belong to an account yet (a sign-in
/// code for a first sign-in). Only the SMS channel applies.
pub async fn notify_phone<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    phone: &str,
    event: &str,
    data: Value,
) -> Result<(), sea_orm::DbErr> {
    let account = user::Entity::find()
        .filter(user::Column::Phone.eq(phone))
        .filter(user::Column::PhoneVerified.eq(true))
        .one(conn)
        .await?;
    let recipient = match account {
        Some(u) => Recipient::from(&u),
        None => Recipient {
            user_id: None,
            name: String::new(),
            email: None,
            phone: Some(phone.to_owned()),
            locale: templates::DEFAULT_LOCALE.to_owned(),
            time_zone: "UTC".to_owned(),
            email_verified: false,
        },
    };
    // The code goes to the number asked for, even if the account's stored one differs.
    let recipient = Recipient {
        phone: Some(phone.to_owned()),
        email: None,
        ..recipient
    };
    record(conn, now, &recipient, event, data).await
}

/// Like [`notify`], with the email going to `address` instead of the account's current one:
/// the link proving a new address goes to that address, and the notice of a change goes to
/// the address it replaced.
pub async fn notify_email<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    user_id: Uuid,
    address: &str,
    event: &str,
    data: Value,
) -> Result<(), sea_orm::DbErr> {
    let Some(u) = user::Entity::find_by_id(user_id).one(conn).await? else {
        tracing::warn!(%user_id, event, "notification for an unknown user dropped");
        return Ok(());
    };
    let account = Recipient::from(&u);
    let recipient = Recipient {
        email_verified: account.email_verified && account.email.as_deref() == Some(address),
        email: Some(address.to_owned()),
        ..account
    };
    record(conn, now, &recipient, event, data).await
}

/// Marketing email goes only to addresses their owner has proved (a typo'd or borrowed
/// address must not receive it); every other category reaches whatever address is on file.
fn email_allowed(category: Category, address_verified: bool) -> bool {
    category != Category::Marketing || address_verified
}

/// "Booking no_show" from `booking.no_show`: the title of an event without templates.
fn generic_title(event: &str) -> String {
    let words = event.replace(['.', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Notification".to_owned(),
    }
}

/// The data as templates see it: an object, where a key set to `null` counts as absent
/// (callers pass `"reason": Option<String>` as is, and `{% if reason is defined %}` must
/// then be false).
fn normalise_data(event: &str, data: Value) -> Value {
    match data {
        Value::Object(mut map) => {
            map.retain(|_, v| !v.is_null());
            Value::Object(map)
        }
        Value::Null => json!({}),
        other => {
            tracing::warn!(
                event,
                "notification data is not an object; kept under `value`"
            );
            json!({ "value": other })
        }
    }
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    to: &Recipient,
    event: &str,
    data: Value,
) -> Result<(), sea_orm::DbErr> {
    let data = normalise_data(event, data);
    let Some(def) = events::find(event) else {
        tracing::warn!(
            event,
            "notification event has no templates; kept in the inbox only"
        );
        if let Some(user_id) = to.user_id {
            let title = generic_title(event);
            insert_inbox(
                conn,
                now,
                user_id,
                event,
                Category::Account,
                &title,
                "",
                &data,
            )
            .await?;
        }
        return Ok(());
    };
    let prefs = match to.user_id {
        Some(id) => preferences::load(conn, id).await?,
        None => preferences::Prefs::default(),
    };
    let ctx_for = |channel| templates::base_context(&data, &to.name, channel);
    for channel in def.channels.iter().copied() {
        if !prefs.enabled(def.category, channel) {
            tracing::debug!(
                event,
                channel = channel.as_str(),
                "switched off by the user"
            );
            continue;
        }
        match channel {
            Channel::InApp => {
                let Some(user_id) = to.user_id else { continue };
                if def.secret {
                    continue;
                }
                let ctx = ctx_for(Channel::InApp);
                let (title, body) =
                    match templates::render_for(conn, def, channel, &to.locale, &ctx).await? {
                        Ok(r) => (r.subject.unwrap_or_default(), r.body),
                        Err(e) => {
                            tracing::error!(event, error = %e, "default in-app template failed");
                            (generic_title(event), String::new())
                        }
                    };
                let id = insert_inbox(
                    conn,
                    now,
                    user_id,
                    event,
                    def.category,
                    &title,
                    &body,
                    &data,
                )
                .await?;
                enqueue(conn, now, to, def, channel, Some(id), None, &data, now).await?;
            }
            Channel::Email | Channel::Sms | Channel::Push => {
                let address = match channel {
                    Channel::Email => to.email.clone(),
                    Channel::Sms => to.phone.clone(),
                    _ => None,
                };
                let reachable = match channel {
                    Channel::Push => match to.user_id {
                        Some(id) => {
                            push_device::Entity::find()
                                .filter(push_device::Column::UserId.eq(id))
                                .count(conn)
                                .await?
                                > 0
                        }
                        None => false,
                    },
                    _ => address.is_some(),
                };
                if !reachable {
                    let reason = match channel {
                        Channel::Email => "no email address",
                        Channel::Sms => "no phone number",
                        _ => "no registered device",
                    };
                    skip(conn, now, to, def, channel, &data, reason).await?;
                    continue;
                }
                if channel == Channel::Email && !email_allowed(def.category, to.email_verified) {
                    skip(conn, now, to, def, channel, &data, "email not verified").await?;
                    continue;
                }
                let run_at = if def.urgent || def.category.locked() {
                    now
                } else {
                    prefs
                        .quiet_hours(&to.time_zone)
                        .map_or(now, |q| q.defer(now))
                };
                enqueue(conn, now, to, def, channel, None, address, &data, run_at).await?;
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_inbox<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    user_id: Uuid,
    event: &str,
    category: Category,
    title: &str,
    body: &str,
    data: &Value,
) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    notification::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        event: Set(event.to_owned()),
        category: Set(category.as_str().to_owned()),
        title: Set(title.to_owned()),
        body: Set(body.to_owned()),
        data: Set(data.to_string()),
        read_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    to: &Recipient,
    def: &EventDef,
    channel: Channel,
    notification_id: Option<Uuid>,
    recipient: Option<String>,
    data: &Value,
    run_at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let job_id = jobs::enqueue(
        conn,
        now,
        DELIVER,
        json!({ "delivery_id": id }),
        run_at,
        MAX_ATTEMPTS,
    )
    .await?;
    queue::ActiveModel {
        id: Set(id),
        notification_id: Set(notification_id),
        user_id: Set(to.user_id),
        event: Set(def.name.to_owned()),
        category: Set(def.category.as_str().to_owned()),
        channel: Set(channel.as_str().to_owned()),
        locale: Set(to.locale.clone()),
        recipient: Set(recipient),
        data: Set(data.to_string()),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        job_id: Set(Some(job_id)),
        run_at: Set(run_at),
        attempts: Set(0),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A channel the user cannot (or may not) be reached on: logged, no job.
async fn skip<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    to: &Recipient,
    def: &EventDef,
    channel: Channel,
    data: &Value,
    reason: &str,
) -> Result<(), sea_orm::DbErr> {
    queue::ActiveModel {
        id: Set(Uuid::now_v7()),
        notification_id: Set(None),
        user_id: Set(to.user_id),
        event: Set(def.name.to_owned()),
        category: Set(def.category.as_str().to_owned()),
        channel: Set(channel.as_str().to_owned()),
        locale: Set(to.locale.clone()),
        recipient: Set(None),
        data: Set(if def.secret {
            "{}".to_owned()
        } else {
            data.to_string()
        }),
        status: Set("skipped".to_owned()),
        job_id: Set(None),
        run_at: Set(now),
        attempts: Set(0),
        last_error: Set(Some(reason.to_owned())),
        sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Money for people: `₹1,234.50`, `$12.00`, `EUR 3.10`. Integer arithmetic only; the
/// Indian rupee is grouped the Indian way (`₹1,00,000.00`).
pub fn format_money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    // ISO 4217 minor-unit exponents that are not 2.
    let exponent: u32 = match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    };
    let scale = 10u64.pow(exponent);
    let (major, fraction) = (abs / scale, abs % scale);
    let digits = major.to_string();
    let grouped = if currency == "INR" {
        group_indian(&digits)
    } else {
        group_thousands(&digits)
    };
    let amount = if exponent == 0 {
        grouped
    } else {
        format!("{grouped}.{fraction:0width$}", width = exponent as usize)
    };
    let symbol = match currency {
        "INR" => "₹",
        "USD" => "$",
        "GBP" => "£",
        "EUR" => "€",
        _ => "",
    };
    if symbol.is_empty() {
        format!("{sign}{currency} {amount}")
    } else {
        format!("{sign}{symbol}{amount}")
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn group_indian(digits: &str) -> String {
    if digits.len() <= 3 {
        return digits.to_owned();
    }
    let (head, last3) = digits.split_at(digits.len() - 3);
    let mut out = String::new();
    for (i, ch) in head.chars().enumerate() {
        if i > 0 && (head.len() - i).is_multiple_of(2) {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{out},{last3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_from_integers() {
        assert_eq!(format_money(50_000, "INR"), "₹500.00");
        assert_eq!(format_money(10_000_000, "INR"), "₹1,00,000.00");
        assert_eq!(format_money(123_456_789, "INR"), "₹12,34,567.89");
        assert_eq!(format_money(5, "INR"), "₹0.05");
        assert_eq!(format_money(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(format_money(-1_050, "EUR"), "-€10.50");
        assert_eq!(format_money(310, "AED"), "AED 3.10");
        assert_eq!(format_money(1_500, "JPY"), "JPY 1,500");
        assert_eq!(format_money(1_500, "KWD"), "KWD 1.500");
    }

    #[test]
    fn null_keys_count_as_absent() {
        let data = normalise_data("e", json!({"reason": null, "refund": "₹1.00"}));
        assert_eq!(data, json!({"refund": "₹1.00"}));
        assert_eq!(normalise_data("e", Value::Null), json!({}));
        assert_eq!(normalise_data("e", json!(3)), json!({"value": 3}));
        let def = events::find("booking.declined").unwrap();
        let mut ctx = def.minimal_sample();
        ctx["reason"] = Value::Null;
        let ctx = templates::base_context(&normalise_data("e", ctx), "Asha", Channel::InApp);
        let r = templates::render(&def.in_app.into(), &ctx).unwrap();
        assert!(!r.body.contains("Reason"), "{}", r.body);
    }

    #[test]
    fn unknown_events_get_a_readable_title() {
        assert_eq!(generic_title("booking.no_show"), "Booking no show");
        assert_eq!(generic_title(""), "Notification");
    }

    #[test]
    fn marketing_email_needs_a_verified_address() {
        assert!(!email_allowed(Category::Marketing, false));
        assert!(email_allowed(Category::Marketing, true));
        for c in Category::ALL
            .into_iter()
            .filter(|c| *c != Category::Marketing)
        {
            assert!(email_allowed(c, false), "{c:?}");
        }
    }

    #[test]
    fn security_is_locked_and_marketing_needs_consent() {
        assert!(Category::Security.locked());
        assert!(!Category::Wallet.locked());
        assert!(Category::Marketing.default_enabled(Channel::InApp));
        assert!(!Category::Marketing.default_enabled(Channel::Email));
        assert!(Category::Bookings.default_enabled(Channel::Sms));
    }
}
