//! The migration `m20261207_000004_live_limits` (struct [`LiveLimits`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::index;

/// Limits against abuse of live sessions and of the payment webhooks:
/// - a replayed gateway event is recognised by what it is about (its type and payment id),
///   not only by the event id the sender stamps on each delivery;
/// - a client waits in one practitioner's line at a time;
/// - reviews of sessions where the client paid nothing stop counting as verified.
pub(super) struct LiveLimits;

impl MigrationName for LiveLimits {
    fn name(&self) -> &str {
        "m20261207_000004_live_limits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for LiveLimits {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("webhook_events")
                .add_column(string_null("natural_key"))
                .to_owned(),
        )
        .await?;
        // NULLs never collide, so events without a natural key (and every row recorded
        // before this migration) are deduplicated by their event id alone, as before.
        index(
            m,
            "webhook_events_natural_uq",
            "webhook_events",
            &["gateway", "natural_key"],
            true,
        )
        .await?;
        let db = m.get_connection();
        // Lines joined before the rule: a client keeps their earliest place.
        db.execute_unprepared(
            "UPDATE waitlist_entries SET status = 'left' \
             WHERE status IN ('waiting', 'offered') AND EXISTS (\
               SELECT 1 FROM waitlist_entries w \
               WHERE w.client_id = waitlist_entries.client_id \
                 AND w.status IN ('waiting', 'offered') AND w.id < waitlist_entries.id)",
        )
        .await?;
        // A partial unique index (both SQLite and PostgreSQL have them): two joins racing
        // on different practitioners cannot both stand.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX waitlist_one_per_client ON waitlist_entries (client_id) \
             WHERE status IN ('waiting', 'offered')",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE reviews SET verified = false WHERE consultation_id IN (\
               SELECT id FROM consultations WHERE amount_charged <= 0)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS waitlist_one_per_client")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS webhook_events_natural_uq")
            .await?;
        m.alter_table(
            Table::alter()
                .table("webhook_events")
                .drop_column("natural_key")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
