//! The migration `m20261122_000004_promos` (struct [`Promos`], whose doc says what it creates). It
//! has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Promo codes and their redemptions.
pub(super) struct Promos;

impl MigrationName for Promos {
    fn name(&self) -> &str {
        "m20261122_000004_promos"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Promos {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("promo_codes")
                .col(pk_uuid("id"))
                .col(string("code"))
                .col(text("description"))
                // JSON of `promos::rules::Discount`
                .col(string("discount"))
                .col(string_len("currency", 3))
                .col(big_integer_null("max_discount"))
                .col(big_integer_null("min_order"))
                .col(big_integer_null("usage_limit"))
                .col(big_integer_null("per_user_limit"))
                .col(big_integer("used_count"))
                .col(ts("valid_from"))
                .col(ts_null("valid_until"))
                .col(boolean("active"))
                .col(string("user_type"))
                // JSON array of contexts; empty = everywhere
                .col(string("contexts"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "promo_codes_code_uq", "promo_codes", &["code"], true).await?;
        m.create_table(
            Table::create()
                .table("promo_redemptions")
                .col(pk_uuid("id"))
                .col(uuid("promo_code_id"))
                .col(uuid("user_id"))
                .col(string("context"))
                .col(string("reference"))
                .col(big_integer("discount"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("promo_redemptions", "promo_code_id")
                        .to("promo_codes", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "promo_redemptions_reference_uq",
            "promo_redemptions",
            &["promo_code_id", "reference"],
            true,
        )
        .await?;
        index(
            m,
            "promo_redemptions_by_user",
            "promo_redemptions",
            &["promo_code_id", "user_id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["promo_redemptions", "promo_codes"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
