//! The migration `m20261207_000002_accounts` (struct [`Accounts`], whose doc says what it creates).
//! It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Account recovery and verification: the single-use tokens emailed for password resets,
/// email verification and email changes (stored hashed), and the time a session last
/// proved the password, which sensitive changes (payout details) require to be recent.
pub(super) struct Accounts;

impl MigrationName for Accounts {
    fn name(&self) -> &str {
        "m20261207_000002_accounts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Accounts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("account_tokens")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                // password_reset | email_verify | email_change
                .col(string("purpose"))
                // SHA-256 of the emailed token; the token itself is never stored.
                .col(string("token_hash"))
                // The address the link went to: for email_change, the new (pending) address.
                .col(string("email"))
                .col(ts("expires_at"))
                .col(ts_null("used_at"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("account_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "account_tokens_hash_uq",
            "account_tokens",
            &["token_hash"],
            true,
        )
        .await?;
        index(
            m,
            "account_tokens_by_user",
            "account_tokens",
            &["user_id", "purpose", "created_at"],
            false,
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("auth_sessions")
                .add_column(ts_null("reauthenticated_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("auth_sessions")
                .drop_column("reauthenticated_at")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("account_tokens").to_owned())
            .await?;
        Ok(())
    }
}
