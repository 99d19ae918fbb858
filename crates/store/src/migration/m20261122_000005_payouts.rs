//! The migration `m20261122_000005_payouts` (struct [`Payouts`], whose doc says what it creates).
//! It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Practitioners' payout details and payout requests.
pub(super) struct Payouts;

impl MigrationName for Payouts {
    fn name(&self) -> &str {
        "m20261122_000005_payouts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Payouts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("payout_accounts")
                .col(pk_uuid("practitioner_id"))
                // bank | upi
                .col(string("method"))
                .col(string("account_holder"))
                .col(string_null("bank_account_number"))
                .col(string_null("ifsc"))
                .col(string_null("upi_id"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("payouts")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("practitioner_id"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                // requested | approved | rejected | paid
                .col(string("status"))
                // JSON snapshot of where the money goes, taken at request time.
                .col(text("destination"))
                .col(text_null("note"))
                .col(string_null("paid_reference"))
                .col(string_null("receipt_number"))
                .col(string("idempotency_key"))
                .col(ts("created_at"))
                .col(ts_null("decided_at"))
                .col(ts_null("paid_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "payouts_key_uq",
            "payouts",
            &["practitioner_id", "idempotency_key"],
            true,
        )
        .await?;
        index(m, "payouts_reference_uq", "payouts", &["reference"], true).await?;
        index(m, "payouts_by_status", "payouts", &["status", "id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["payouts", "payout_accounts"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
