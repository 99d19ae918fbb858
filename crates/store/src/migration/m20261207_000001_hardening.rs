//! The migration `m20261207_000001_hardening` (struct [`Hardening`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{ts, ts_null};

/// Money holes closed after an attacker's review:
/// - a live session's promo code is a budget for the whole session (`discount_budget`), not a
///   discount on every minute; sessions open at the upgrade keep one more minute's discount;
/// - a top-up refund takes back its share of the package bonus and promo credit
///   (`refunds.clawback`);
/// - a practitioner's move of a booking is a proposal the client answers
///   (`bookings.proposed_starts_at`);
/// - a promo code's uses per user are one counter row updated conditionally
///   (`promo_user_uses`), so racing redemptions by one user cannot pass a per-user limit;
///   it starts from the redemptions made so far;
/// - nodes record heartbeats, and stretches when none was alive are kept as outages that
///   billing cuts out (`node_heartbeats`, `service_outages`).
pub(super) struct Hardening;

impl MigrationName for Hardening {
    fn name(&self) -> &str {
        "m20261207_000001_hardening"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Hardening {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("consultations", "discount_budget"),
            ("refunds", "clawback"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(big_integer(column).default(0))
                    .to_owned(),
            )
            .await?;
        }
        // Sessions open at the upgrade keep one more minute's discount (a budget of what they
        // had plus a minute); their remaining minutes are then charged at the full rate.
        m.get_connection()
            .execute_unprepared(
                "UPDATE consultations SET discount_budget = discount_total + discount_per_minute \
                 WHERE status IN ('requested', 'active') AND discount_per_minute > 0",
            )
            .await?;
        m.alter_table(
            Table::alter()
                .table("bookings")
                .add_column(ts_null("proposed_starts_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("node_heartbeats")
                .col(string("node_id").primary_key())
                .col(ts("started_at"))
                .col(ts("beat_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("service_outages")
                .col(pk_uuid("id"))
                .col(ts("started_at"))
                .col(ts("ended_at"))
                .col(string("recorded_by"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("promo_user_uses")
                .col(uuid("promo_code_id"))
                .col(uuid("user_id"))
                .col(big_integer("uses"))
                .primary_key(Index::create().col("promo_code_id").col("user_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("promo_user_uses", "promo_code_id")
                        .to("promo_codes", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO promo_user_uses (promo_code_id, user_id, uses) \
                 SELECT promo_code_id, user_id, COUNT(*) FROM promo_redemptions \
                 GROUP BY promo_code_id, user_id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["promo_user_uses", "node_heartbeats", "service_outages"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table("bookings")
                .drop_column("proposed_starts_at")
                .to_owned(),
        )
        .await?;
        for (table, column) in [
            ("consultations", "discount_budget"),
            ("refunds", "clawback"),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
