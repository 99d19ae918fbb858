//! The migration `m20261122_000001_foundation` (struct [`Foundation`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Accounts, auth, practitioners, discovery, audit log and the durable jobs table.
pub(super) struct Foundation;

impl MigrationName for Foundation {
    fn name(&self) -> &str {
        "m20261122_000001_foundation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Foundation {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(string_null("email"))
                .col(string_null("phone"))
                .col(string_null("password_hash"))
                .col(string("role"))
                .col(string("status"))
                .col(string("first_name"))
                .col(string("last_name"))
                .col(boolean("email_verified"))
                .col(boolean("phone_verified"))
                .col(string_null("gender"))
                .col(date_null("date_of_birth"))
                .col(string_null("city"))
                .col(string_null("state"))
                .col(string_null("country"))
                .col(string_null("avatar_url"))
                .col(string("language"))
                .col(string("time_zone"))
                .col(ts_null("last_login_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "users_email_uq", "users", &["email"], true).await?;
        index(m, "users_phone_uq", "users", &["phone"], true).await?;

        m.create_table(
            Table::create()
                .table("birth_details")
                .col(pk_uuid("user_id"))
                .col(date("birth_date"))
                .col(time_null("birth_time"))
                .col(boolean("time_known"))
                .col(string("place_name"))
                .col(double("latitude"))
                .col(double("longitude"))
                .col(string("time_zone"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("birth_details", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("practitioners")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string("kind"))
                .col(string("display_name"))
                .col(text("bio"))
                .col(integer("experience_years"))
                .col(text("languages"))
                .col(text("specializations"))
                .col(text("education"))
                .col(text("certifications"))
                .col(string_null("avatar_url"))
                .col(string("currency"))
                .col(big_integer_null("rate_chat_minor"))
                .col(big_integer_null("rate_call_minor"))
                .col(big_integer_null("rate_video_minor"))
                .col(integer("max_concurrent_sessions"))
                // Platform commission for this practitioner, basis points; NULL = the default.
                .col(integer_null("commission_bps"))
                .col(string("availability_status"))
                .col(string("verification_status"))
                .col(text_null("status_reason"))
                .col(integer("rating_avg_centi"))
                .col(integer("rating_count"))
                .col(integer("total_consultations"))
                .col(big_integer("total_minutes"))
                .col(integer("follower_count"))
                .col(integer("missed_requests"))
                .col(text("search_text"))
                .col(text("listing_card"))
                .col(ts_null("approved_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("practitioners", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "practitioners_user_uq",
            "practitioners",
            &["user_id"],
            true,
        )
        .await?;
        // Keyset pagination walks these: (status, sort key, id).
        for (name, col) in [
            ("practitioners_by_rating", "rating_avg_centi"),
            ("practitioners_by_experience", "experience_years"),
            ("practitioners_by_popularity", "total_consultations"),
            ("practitioners_by_chat_rate", "rate_chat_minor"),
            ("practitioners_by_call_rate", "rate_call_minor"),
            ("practitioners_by_video_rate", "rate_video_minor"),
        ] {
            index(
                m,
                name,
                "practitioners",
                &["verification_status", col, "id"],
                false,
            )
            .await?;
        }

        for (table, col) in [
            ("practitioner_languages", "language"),
            ("practitioner_specializations", "specialization"),
        ] {
            m.create_table(
                Table::create()
                    .table(table)
                    .col(uuid("practitioner_id"))
                    .col(string(col))
                    .primary_key(Index::create().col("practitioner_id").col(col))
                    .foreign_key(
                        ForeignKey::create()
                            .from(table, "practitioner_id")
                            .to("practitioners", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        }
        index(
            m,
            "practitioner_languages_by_language",
            "practitioner_languages",
            &["language", "practitioner_id"],
            false,
        )
        .await?;
        index(
            m,
            "practitioner_specializations_by_name",
            "practitioner_specializations",
            &["specialization", "practitioner_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("favorites")
                .col(uuid("user_id"))
                .col(uuid("practitioner_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("user_id").col("practitioner_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("favorites", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("favorites", "practitioner_id")
                        .to("practitioners", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("auth_sessions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_null("device"))
                .col(string_null("ip"))
                .col(string_null("user_agent"))
                .col(ts("created_at"))
                .col(ts("last_seen_at"))
                .col(ts("expires_at"))
                .col(ts_null("revoked_at"))
                .col(string_null("revoked_reason"))
                .foreign_key(
                    ForeignKey::create()
                        .from("auth_sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "auth_sessions_by_user",
            "auth_sessions",
            &["user_id", "created_at"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("session_id"))
                .col(string("token_hash"))
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .col(ts_null("used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("refresh_tokens", "session_id")
                        .to("auth_sessions", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "refresh_tokens_hash_uq",
            "refresh_tokens",
            &["token_hash"],
            true,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("otp_codes")
                .col(pk_uuid("id"))
                .col(string("phone"))
                .col(string("code_hash"))
                .col(integer("attempts"))
                .col(ts("expires_at"))
                .col(ts_null("consumed_at"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "otp_codes_by_phone",
            "otp_codes",
            &["phone", "created_at"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("audit_logs")
                .col(pk_uuid("id"))
                .col(uuid_null("actor_id"))
                .col(string_null("actor_role"))
                .col(string("action"))
                .col(string("target_type"))
                .col(string_null("target_id"))
                .col(text_null("before_state"))
                .col(text_null("after_state"))
                .col(string_null("ip"))
                .col(string_null("request_id"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "audit_logs_by_target",
            "audit_logs",
            &["target_type", "target_id"],
            false,
        )
        .await?;
        index(
            m,
            "audit_logs_by_time",
            "audit_logs",
            &["created_at", "id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("jobs")
                .col(pk_uuid("id"))
                .col(string("kind"))
                .col(text("payload"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(integer("max_attempts"))
                .col(ts("run_at"))
                .col(ts_null("locked_at"))
                .col(string_null("locked_by"))
                .col(text_null("last_error"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "jobs_due", "jobs", &["status", "run_at"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "jobs",
            "audit_logs",
            "otp_codes",
            "refresh_tokens",
            "auth_sessions",
            "favorites",
            "practitioner_specializations",
            "practitioner_languages",
            "practitioners",
            "birth_details",
            "users",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
