//! The migration `m20261122_000002_ledger` (struct [`Ledger`], whose doc says what it creates). It
//! has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts};

/// The double-entry ledger: accounts, transfers, holds, and the wallet rows and wallet
/// history derived from them.
pub(super) struct Ledger;

impl MigrationName for Ledger {
    fn name(&self) -> &str {
        "m20261122_000002_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Ledger {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ledger_accounts")
                .col(pk_uuid("id"))
                .col(string("kind"))
                // The user, practitioner or gateway the account belongs to; '' for the platform.
                .col(string("owner_key"))
                .col(string_len("currency", 3))
                .col(big_integer("balance"))
                // Lowest balance allowed; NULL for accounts that may go negative (the
                // gateway edge and other sources of money).
                .col(big_integer_null("min_balance"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ledger_accounts_owner_uq",
            "ledger_accounts",
            &["kind", "owner_key", "currency"],
            true,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ledger_transfers")
                .col(pk_uuid("id"))
                .col(uuid("debit_account_id"))
                .col(uuid("credit_account_id"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(string("kind"))
                .col(string("reference"))
                .col(string("idempotency_key"))
                .col(uuid_null("hold_id"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("ledger_transfers", "debit_account_id")
                        .to("ledger_accounts", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("ledger_transfers", "credit_account_id")
                        .to("ledger_accounts", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ledger_transfers_key_uq",
            "ledger_transfers",
            &["idempotency_key"],
            true,
        )
        .await?;
        index(
            m,
            "ledger_transfers_by_reference",
            "ledger_transfers",
            &["reference"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ledger_holds")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("currency", 3))
                .col(big_integer("amount"))
                .col(big_integer("captured"))
                .col(big_integer("released"))
                .col(string("status"))
                .col(string("reference"))
                .col(string("idempotency_key"))
                .col(ts("expires_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ledger_holds_key_uq",
            "ledger_holds",
            &["idempotency_key"],
            true,
        )
        .await?;
        index(
            m,
            "ledger_holds_due",
            "ledger_holds",
            &["status", "expires_at"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("wallets")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("currency", 3))
                .col(big_integer("balance"))
                .col(big_integer("available"))
                .col(big_integer("held"))
                .col(big_integer("total_credited"))
                .col(big_integer("total_debited"))
                .col(string("status"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("wallets", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "wallets_user_uq",
            "wallets",
            &["user_id", "currency"],
            true,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("wallet_transactions")
                .col(pk_uuid("id"))
                .col(uuid("wallet_id"))
                .col(uuid("transfer_id"))
                .col(string("kind"))
                // Signed change of the available balance (holds move money to `held`).
                .col(big_integer("amount"))
                .col(big_integer("balance_before"))
                .col(big_integer("balance_after"))
                .col(big_integer("held_after"))
                .col(string("reference"))
                .col(text("description"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("wallet_transactions", "wallet_id")
                        .to("wallets", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "wallet_transactions_by_wallet",
            "wallet_transactions",
            &["wallet_id", "id"],
            false,
        )
        .await?;

        // Responses of money-moving POSTs by (caller, Idempotency-Key): a retry gets the
        // first answer back instead of a second effect.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(uuid("user_id"))
                .col(string("key"))
                .col(string("fingerprint"))
                .col(integer("status_code"))
                .col(text("response_body"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("user_id").col("key"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "idempotency_keys",
            "wallet_transactions",
            "wallets",
            "ledger_holds",
            "ledger_transfers",
            "ledger_accounts",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
