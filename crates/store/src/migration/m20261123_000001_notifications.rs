//! The migration `m20261123_000001_notifications` (struct [`Notifications`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Notifications: the in-app inbox, one outbound delivery row per (notification, channel)
/// with its provider logs, admins' templates, users' preferences and push device tokens.
pub(super) struct Notifications;

impl MigrationName for Notifications {
    fn name(&self) -> &str {
        "m20261123_000001_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Notifications {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string("event"))
                .col(string("category"))
                .col(text("title"))
                .col(text("body"))
                // JSON the client may use (a booking reference to open); `{}` for secret events.
                .col(text("data"))
                .col(ts_null("read_at"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notifications", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "notifications_by_user",
            "notifications",
            &["user_id", "id"],
            false,
        )
        .await?;
        index(
            m,
            "notifications_unread",
            "notifications",
            &["user_id", "read_at"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_queue")
                .col(pk_uuid("id"))
                // The in-app row this delivery belongs to, when the event has one.
                .col(uuid_null("notification_id"))
                // NULL for a code sent to a number that has no account yet.
                .col(uuid_null("user_id"))
                .col(string("event"))
                .col(string("category"))
                // in_app | email | sms | push
                .col(string("channel"))
                .col(string("locale"))
                // The address or number at the time of the event; NULL for in_app and push.
                .col(string_null("recipient"))
                // The template context (JSON); scrubbed once a secret event's delivery ends.
                .col(text("data"))
                // pending | retrying | sent | skipped | dead
                .col(string("status"))
                .col(uuid_null("job_id"))
                .col(ts("run_at"))
                .col(integer("attempts"))
                .col(text_null("last_error"))
                .col(ts_null("sent_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "notification_queue_by_status",
            "notification_queue",
            &["status", "updated_at"],
            false,
        )
        .await?;
        index(
            m,
            "notification_queue_by_user",
            "notification_queue",
            &["user_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("email_logs")
                .col(pk_uuid("id"))
                .col(uuid_null("queue_id"))
                .col(uuid_null("user_id"))
                .col(string("to_address"))
                .col(text("subject"))
                .col(string("provider"))
                .col(string_null("provider_message_id"))
                // sent | failed
                .col(string("status"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "email_logs_by_queue", "email_logs", &["queue_id"], false).await?;
        m.create_table(
            Table::create()
                .table("sms_logs")
                .col(pk_uuid("id"))
                .col(uuid_null("queue_id"))
                .col(uuid_null("user_id"))
                .col(string("to_phone"))
                // `[redacted]` for secret events (sign-in codes).
                .col(text("body"))
                .col(string("provider"))
                .col(string_null("provider_message_id"))
                .col(string("status"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "sms_logs_by_queue", "sms_logs", &["queue_id"], false).await?;
        m.create_table(
            Table::create()
                .table("push_devices")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("token", 512))
                // android | ios | web
                .col(string("platform"))
                .col(ts("created_at"))
                .col(ts("last_seen_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("push_devices", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(m, "push_devices_token_uq", "push_devices", &["token"], true).await?;
        index(
            m,
            "push_devices_by_user",
            "push_devices",
            &["user_id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("push_notifications")
                .col(pk_uuid("id"))
                .col(uuid("queue_id"))
                .col(uuid("user_id"))
                .col(uuid("device_id"))
                .col(text("title"))
                .col(text("body"))
                .col(string("provider"))
                .col(string_null("provider_message_id"))
                // sent | failed | invalid_token
                .col(string("status"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "push_notifications_by_queue",
            "push_notifications",
            &["queue_id", "device_id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_templates")
                .col(pk_uuid("id"))
                .col(string("event"))
                .col(string("channel"))
                .col(string("locale"))
                // Email subject, in-app and push title; NULL for SMS.
                .col(text_null("subject"))
                .col(text("body"))
                .col(text_null("html"))
                // An admin changed it: start-up synchronisation leaves it alone.
                .col(boolean("customized"))
                .col(uuid_null("updated_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "notification_templates_uq",
            "notification_templates",
            &["event", "channel", "locale"],
            true,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_preferences")
                .col(uuid("user_id"))
                .col(string("category"))
                .col(string("channel"))
                .col(boolean("enabled"))
                .col(ts("updated_at"))
                .primary_key(
                    Index::create()
                        .col("user_id")
                        .col("category")
                        .col("channel"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("notification_preferences", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_settings")
                .col(pk_uuid("user_id"))
                // Local wall-clock times `HH:MM`; both set or both NULL.
                .col(string_null("quiet_start"))
                .col(string_null("quiet_end"))
                // IANA zone of the quiet hours; NULL = the user's own zone.
                .col(string_null("time_zone"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notification_settings", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "notification_settings",
            "notification_preferences",
            "notification_templates",
            "push_notifications",
            "push_devices",
            "sms_logs",
            "email_logs",
            "notification_queue",
            "notifications",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
