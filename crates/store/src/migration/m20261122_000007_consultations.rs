//! The migration `m20261122_000007_consultations` (struct [`Consultations`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Live consultations: practitioner presence, consultation requests and sessions, the
/// minutes billed in them, the one-open-consultation-per-client lock and the waitlist.
pub(super) struct Consultations;

impl MigrationName for Consultations {
    fn name(&self) -> &str {
        "m20261122_000007_consultations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Consultations {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("practitioner_presence")
                .col(pk_uuid("practitioner_id"))
                // The practitioner wants sessions (set by them, cleared by missed heartbeats).
                .col(boolean("online"))
                .col(ts("last_heartbeat_at"))
                .col(integer("active_sessions"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("consultations")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("client_id"))
                .col(uuid("practitioner_id"))
                .col(uuid("practitioner_user_id"))
                // chat | call | video
                .col(string("channel"))
                // requested | active | ended | declined | missed | cancelled
                .col(string("status"))
                // The terms, fixed when the request is made (rate) and when it starts.
                .col(string_len("currency", 3))
                .col(big_integer("rate_minor"))
                .col(integer("commission_bps"))
                .col(integer("free_minutes"))
                .col(string_null("promo_code"))
                .col(uuid_null("promo_id"))
                .col(big_integer("discount_per_minute"))
                .col(ts("requested_at"))
                .col(ts("respond_by"))
                .col(ts_null("started_at"))
                .col(ts_null("ended_at"))
                .col(string_null("end_reason"))
                .col(integer("minutes_billed"))
                .col(integer("free_minutes_used"))
                .col(big_integer("amount_charged"))
                .col(big_integer("discount_total"))
                // Last time each side was known to be there (heartbeats, socket activity).
                .col(ts_null("client_seen_at"))
                .col(ts_null("practitioner_seen_at"))
                // The lowest "minutes left" warning already sent (2, then 1).
                .col(integer_null("warned_at_minutes_left"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "consultations_reference_uq",
            "consultations",
            &["reference"],
            true,
        )
        .await?;
        index(
            m,
            "consultations_by_status",
            "consultations",
            &["status", "id"],
            false,
        )
        .await?;
        index(
            m,
            "consultations_by_client",
            "consultations",
            &["client_id", "id"],
            false,
        )
        .await?;
        index(
            m,
            "consultations_by_practitioner",
            "consultations",
            &["practitioner_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("consultation_minutes")
                .col(uuid("consultation_id"))
                .col(integer("minute_index"))
                .col(boolean("free"))
                .col(big_integer("client_paid"))
                .col(big_integer("discount"))
                .col(big_integer("practitioner_earned"))
                .col(big_integer("platform_earned"))
                .col(big_integer("promotion_paid"))
                .col(ts("charged_at"))
                .primary_key(Index::create().col("consultation_id").col("minute_index"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                // One row per client with a requested or active consultation: the primary
                // key is what stops a client from opening two at once, on both databases.
                .table("consultation_client_locks")
                .col(pk_uuid("client_id"))
                .col(uuid("consultation_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("waitlist_entries")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(uuid("client_id"))
                .col(string("channel"))
                // waiting | offered | left | expired | served
                .col(string("status"))
                .col(ts_null("offer_expires_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "waitlist_by_practitioner",
            "waitlist_entries",
            &["practitioner_id", "status", "id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "waitlist_entries",
            "consultation_client_locks",
            "consultation_minutes",
            "consultations",
            "practitioner_presence",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
