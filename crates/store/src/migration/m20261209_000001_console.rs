//! The migration `m20261209_000001_console` (struct [`Console`], whose doc says what it
//! creates). Once landed, never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;

use super::index;

/// What the console's charts read: ledger transfers by time, so a day's money is a range
/// scan rather than a walk over the whole ledger, and by the account credited and time, so
/// one practitioner's weekly earnings read only their own rows.
pub(super) struct Console;

impl MigrationName for Console {
    fn name(&self) -> &str {
        "m20261209_000001_console"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Console {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        index(
            m,
            "ledger_transfers_by_time",
            "ledger_transfers",
            &["created_at"],
            false,
        )
        .await?;
        index(
            m,
            "ledger_transfers_by_credit_time",
            "ledger_transfers",
            &["credit_account_id", "created_at"],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ledger_transfers_by_credit_time")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ledger_transfers_by_time")
            .await?;
        Ok(())
    }
}
