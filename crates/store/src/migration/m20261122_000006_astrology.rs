//! The migration `m20261122_000006_astrology` (struct [`Astrology`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts};

/// Astrology and tarot: the birth-chart cache, admins' daily horoscopes, the tarot catalog
/// (synchronised from the `tarot` crate at start-up) and users' readings.
pub(super) struct Astrology;

impl MigrationName for Astrology {
    fn name(&self) -> &str {
        "m20261122_000006_astrology"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Astrology {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("birth_chart_cache")
                // Keyed hash of the normalised inputs and the engine version: the row says
                // nothing about whose chart it is, and a changed engine misses the cache.
                .col(string_len("cache_key", 64).primary_key())
                .col(string("engine_version"))
                .col(text("chart"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("daily_horoscopes")
                .col(pk_uuid("id"))
                .col(string("sign"))
                .col(date("date"))
                .col(text("text"))
                .col(string_null("mood"))
                .col(string_null("lucky_color"))
                .col(integer_null("lucky_number"))
                .col(uuid("updated_by"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "daily_horoscopes_day_sign_uq",
            "daily_horoscopes",
            &["date", "sign"],
            true,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tarot_decks")
                .col(string("slug").primary_key())
                .col(string("name"))
                .col(text("description"))
                .col(integer("card_count"))
                // Chance that a drawn card comes up reversed, in basis points.
                .col(integer("reversal_bps"))
                .col(boolean("active"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tarot_spreads")
                .col(string("slug").primary_key())
                .col(string("name"))
                .col(text("description"))
                .col(integer("card_count"))
                .col(boolean("active"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tarot_spread_positions")
                .col(string("spread_slug"))
                .col(integer("position"))
                .col(string("name"))
                .col(text("description"))
                .primary_key(Index::create().col("spread_slug").col("position"))
                .foreign_key(
                    ForeignKey::create()
                        .from("tarot_spread_positions", "spread_slug")
                        .to("tarot_spreads", "slug")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("reading_sessions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string("deck_slug"))
                .col(string("spread_slug"))
                .col(text_null("question"))
                // What re-derives the draw: the crate's deck order id, the algorithm id, the
                // seed and the reversal chance.
                .col(string("deck_version"))
                .col(string("algorithm"))
                .col(string_len("seed", 64))
                .col(integer("reversal_bps"))
                .col(text("cards"))
                .col(string_null("yes_no"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("reading_sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "reading_sessions_by_user",
            "reading_sessions",
            &["user_id", "id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "reading_sessions",
            "tarot_spread_positions",
            "tarot_spreads",
            "tarot_decks",
            "daily_horoscopes",
            "birth_chart_cache",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
