//! The migration `m20261122_000009_aftercare` (struct [`Aftercare`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// After and around a session: reviews with replies, tips, the practitioner's notes and
/// summary, and the RTC tokens issued for calls (usage log).
pub(super) struct Aftercare;

impl MigrationName for Aftercare {
    fn name(&self) -> &str {
        "m20261122_000009_aftercare"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Aftercare {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("reviews")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("client_id"))
                .col(uuid("practitioner_id"))
                .col(integer("rating"))
                .col(text("text"))
                .col(boolean("public"))
                // Written by a client of a completed, paid consultation.
                .col(boolean("verified"))
                .col(text_null("reply"))
                .col(ts_null("replied_at"))
                .col(boolean("hidden"))
                .col(text_null("hidden_reason"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "reviews_consultation_uq",
            "reviews",
            &["consultation_id"],
            true,
        )
        .await?;
        index(
            m,
            "reviews_by_practitioner",
            "reviews",
            &["practitioner_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tips")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("client_id"))
                .col(uuid("practitioner_id"))
                .col(big_integer("amount"))
                .col(big_integer("platform_fee"))
                .col(string_len("currency", 3))
                .col(string("idempotency_key"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "tips_key_uq",
            "tips",
            &["client_id", "idempotency_key"],
            true,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("consultation_notes")
                .col(pk_uuid("consultation_id"))
                // Only the practitioner sees these.
                .col(text("private_notes"))
                // Shared with the client.
                .col(text("summary"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("agora_usage_logs")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("user_id"))
                .col(string("channel_name"))
                .col(big_integer("rtc_uid"))
                .col(string("role"))
                .col(ts("issued_at"))
                .col(ts("expires_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "agora_usage_by_consultation",
            "agora_usage_logs",
            &["consultation_id", "id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["agora_usage_logs", "consultation_notes", "tips", "reviews"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
