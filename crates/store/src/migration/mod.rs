//! Schema migrations. One definition serves SQLite and PostgreSQL (sea-query renders each
//! dialect). Never edit a migration that has landed: add a new one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Foundation),
            Box::new(Ledger),
            Box::new(Payments),
            Box::new(Promos),
            Box::new(Payouts),
            Box::new(Astrology),
            Box::new(Consultations),
            Box::new(Chat),
            Box::new(Aftercare),
            Box::new(Scheduling),
            Box::new(Notifications),
            Box::new(RoomForUpdates),
            Box::new(Hardening),
            Box::new(Accounts),
            Box::new(LiveLimits),
        ]
    }
}

/// Accounts, auth, practitioners, discovery, audit log and the durable jobs table.
struct Foundation;

impl MigrationName for Foundation {
    fn name(&self) -> &str {
        "m20261122_000001_foundation"
    }
}

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}
fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(*c);
    }
    if unique {
        stmt.unique();
    }
    m.create_index(stmt).await
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

/// The double-entry ledger: accounts, transfers, holds, and the wallet rows and wallet
/// history derived from them.
struct Ledger;

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

/// Top-up orders through payment gateways and the webhook events they send.
struct Payments;

impl MigrationName for Payments {
    fn name(&self) -> &str {
        "m20261122_000003_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Payments {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("payment_orders")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("user_id"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(string("gateway"))
                .col(string("gateway_order_id"))
                .col(string_null("gateway_payment_id"))
                // created | paid | failed
                .col(string("status"))
                .col(text("checkout_url"))
                .col(uuid_null("credit_transfer_id"))
                // A promo code's discount: the client pays `amount`, the wallet receives
                // `amount + discount`, the platform's promotions budget pays the difference.
                .col(uuid_null("promo_code_id"))
                .col(big_integer("discount"))
                // A credit package's bonus, credited with the payment.
                .col(uuid_null("package_id"))
                .col(big_integer("package_bonus"))
                // Sent back through the gateway so far; never more than `amount`.
                .col(big_integer("refunded"))
                // Unique, given when the payment is credited.
                .col(string_null("receipt_number"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("paid_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("payment_orders", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "payment_orders_reference_uq",
            "payment_orders",
            &["reference"],
            true,
        )
        .await?;
        index(
            m,
            "payment_orders_gateway_uq",
            "payment_orders",
            &["gateway", "gateway_order_id"],
            true,
        )
        .await?;
        index(
            m,
            "payment_orders_by_user",
            "payment_orders",
            &["user_id", "id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("credit_packages")
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(text("description"))
                // What the client pays…
                .col(big_integer("price"))
                // …and what the wallet receives (price + bonus).
                .col(big_integer("credit"))
                .col(string_len("currency", 3))
                .col(boolean("active"))
                .col(integer("sort_order"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("refunds")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("payment_order_id"))
                .col(uuid("user_id"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(string("reason"))
                .col(text("note"))
                // pending | succeeded | failed
                .col(string("status"))
                .col(string_null("gateway_refund_id"))
                .col(uuid("hold_id"))
                .col(uuid("created_by"))
                .col(string("idempotency_key"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "refunds_key_uq",
            "refunds",
            &["created_by", "idempotency_key"],
            true,
        )
        .await?;
        index(
            m,
            "refunds_by_order",
            "refunds",
            &["payment_order_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_events")
                .col(pk_uuid("id"))
                .col(string("gateway"))
                .col(string("event_id"))
                .col(string("event_type"))
                .col(text("payload"))
                // credited | ignored | failed_marked | …: what processing did
                .col(string("outcome"))
                .col(ts("received_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "webhook_events_event_uq",
            "webhook_events",
            &["gateway", "event_id"],
            true,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "webhook_events",
            "refunds",
            "credit_packages",
            "payment_orders",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// Promo codes and their redemptions.
struct Promos;

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

/// Practitioners' payout details and payout requests.
struct Payouts;

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

/// Astrology and tarot: the birth-chart cache, admins' daily horoscopes, the tarot catalog
/// (synchronised from the `tarot` crate at start-up) and users' readings.
struct Astrology;

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

/// Live consultations: practitioner presence, consultation requests and sessions, the
/// minutes billed in them, the one-open-consultation-per-client lock and the waitlist.
struct Consultations;

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

/// Chat messages of consultations, with delivery and read receipts.
struct Chat;

impl MigrationName for Chat {
    fn name(&self) -> &str {
        "m20261122_000008_chat"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Chat {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("chat_messages")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                // NULL for system notices.
                .col(uuid_null("sender_id"))
                // The sender's own id for the frame: a resent frame is stored once.
                .col(string_null("client_msg_id"))
                // text | image | file | system
                .col(string("kind"))
                .col(text("body"))
                .col(boolean("masked"))
                // For `image` and `file` messages.
                .col(uuid_null("attachment_id"))
                .col(ts("created_at"))
                .col(ts_null("delivered_at"))
                .col(ts_null("read_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("chat_attachments")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("uploader_id"))
                // Sniffed from the bytes, never taken from the client.
                .col(string("content_type"))
                .col(string("filename"))
                .col(big_integer("size"))
                .col(string_len("sha256", 64))
                .col(blob("data"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "chat_messages_by_consultation",
            "chat_messages",
            &["consultation_id", "id"],
            false,
        )
        .await?;
        index(
            m,
            "chat_messages_client_id_uq",
            "chat_messages",
            &["sender_id", "client_msg_id"],
            true,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["chat_attachments", "chat_messages"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// After and around a session: reviews with replies, tips, the practitioner's notes and
/// summary, and the RTC tokens issued for calls (usage log).
struct Aftercare;

impl MigrationName for Aftercare {
    fn name(&self) -> &str {
        "m20261122_000009_aftercare"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Aftercare {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("reviews")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("client_id"))
                .col(uuid("practitioner_id"))
                .col(integer("rating"))
                .col(text("text"))
                .col(boolean("public"))
                // Written by a client of a completed, paid consultation.
                .col(boolean("verified"))
                .col(text_null("reply"))
                .col(ts_null("replied_at"))
                .col(boolean("hidden"))
                .col(text_null("hidden_reason"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "reviews_consultation_uq",
            "reviews",
            &["consultation_id"],
            true,
        )
        .await?;
        index(
            m,
            "reviews_by_practitioner",
            "reviews",
            &["practitioner_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tips")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("client_id"))
                .col(uuid("practitioner_id"))
                .col(big_integer("amount"))
                .col(big_integer("platform_fee"))
                .col(string_len("currency", 3))
                .col(string("idempotency_key"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "tips_key_uq",
            "tips",
            &["client_id", "idempotency_key"],
            true,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("consultation_notes")
                .col(pk_uuid("consultation_id"))
                // Only the practitioner sees these.
                .col(text("private_notes"))
                // Shared with the client.
                .col(text("summary"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("agora_usage_logs")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("user_id"))
                .col(string("channel_name"))
                .col(big_integer("rtc_uid"))
                .col(string("role"))
                .col(ts("issued_at"))
                .col(ts("expires_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "agora_usage_by_consultation",
            "agora_usage_logs",
            &["consultation_id", "id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["agora_usage_logs", "consultation_notes", "tips", "reviews"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// Notifications: the in-app inbox, one outbound delivery row per (notification, channel)
/// with its provider logs, admins' templates, users' preferences and push device tokens.
struct Notifications;

impl MigrationName for Notifications {
    fn name(&self) -> &str {
        "m20261123_000001_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Notifications {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string("event"))
                .col(string("category"))
                .col(text("title"))
                .col(text("body"))
                // JSON the client may use (a booking reference to open); `{}` for secret events.
                .col(text("data"))
                .col(ts_null("read_at"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notifications", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "notifications_by_user",
            "notifications",
            &["user_id", "id"],
            false,
        )
        .await?;
        index(
            m,
            "notifications_unread",
            "notifications",
            &["user_id", "read_at"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_queue")
                .col(pk_uuid("id"))
                // The in-app row this delivery belongs to, when the event has one.
                .col(uuid_null("notification_id"))
                // NULL for a code sent to a number that has no account yet.
                .col(uuid_null("user_id"))
                .col(string("event"))
                .col(string("category"))
                // in_app | email | sms | push
                .col(string("channel"))
                .col(string("locale"))
                // The address or number at the time of the event; NULL for in_app and push.
                .col(string_null("recipient"))
                // The template context (JSON); scrubbed once a secret event's delivery ends.
                .col(text("data"))
                // pending | retrying | sent | skipped | dead
                .col(string("status"))
                .col(uuid_null("job_id"))
                .col(ts("run_at"))
                .col(integer("attempts"))
                .col(text_null("last_error"))
                .col(ts_null("sent_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "notification_queue_by_status",
            "notification_queue",
            &["status", "updated_at"],
            false,
        )
        .await?;
        index(
            m,
            "notification_queue_by_user",
            "notification_queue",
            &["user_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("email_logs")
                .col(pk_uuid("id"))
                .col(uuid_null("queue_id"))
                .col(uuid_null("user_id"))
                .col(string("to_address"))
                .col(text("subject"))
                .col(string("provider"))
                .col(string_null("provider_message_id"))
                // sent | failed
                .col(string("status"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "email_logs_by_queue", "email_logs", &["queue_id"], false).await?;
        m.create_table(
            Table::create()
                .table("sms_logs")
                .col(pk_uuid("id"))
                .col(uuid_null("queue_id"))
                .col(uuid_null("user_id"))
                .col(string("to_phone"))
                // `[redacted]` for secret events (sign-in codes).
                .col(text("body"))
                .col(string("provider"))
                .col(string_null("provider_message_id"))
                .col(string("status"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "sms_logs_by_queue", "sms_logs", &["queue_id"], false).await?;
        m.create_table(
            Table::create()
                .table("push_devices")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("token", 512))
                // android | ios | web
                .col(string("platform"))
                .col(ts("created_at"))
                .col(ts("last_seen_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("push_devices", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(m, "push_devices_token_uq", "push_devices", &["token"], true).await?;
        index(
            m,
            "push_devices_by_user",
            "push_devices",
            &["user_id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("push_notifications")
                .col(pk_uuid("id"))
                .col(uuid("queue_id"))
                .col(uuid("user_id"))
                .col(uuid("device_id"))
                .col(text("title"))
                .col(text("body"))
                .col(string("provider"))
                .col(string_null("provider_message_id"))
                // sent | failed | invalid_token
                .col(string("status"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "push_notifications_by_queue",
            "push_notifications",
            &["queue_id", "device_id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_templates")
                .col(pk_uuid("id"))
                .col(string("event"))
                .col(string("channel"))
                .col(string("locale"))
                // Email subject, in-app and push title; NULL for SMS.
                .col(text_null("subject"))
                .col(text("body"))
                .col(text_null("html"))
                // An admin changed it: start-up synchronisation leaves it alone.
                .col(boolean("customized"))
                .col(uuid_null("updated_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "notification_templates_uq",
            "notification_templates",
            &["event", "channel", "locale"],
            true,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_preferences")
                .col(uuid("user_id"))
                .col(string("category"))
                .col(string("channel"))
                .col(boolean("enabled"))
                .col(ts("updated_at"))
                .primary_key(
                    Index::create()
                        .col("user_id")
                        .col("category")
                        .col("channel"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("notification_preferences", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notification_settings")
                .col(pk_uuid("user_id"))
                // Local wall-clock times `HH:MM`; both set or both NULL.
                .col(string_null("quiet_start"))
                .col(string_null("quiet_end"))
                // IANA zone of the quiet hours; NULL = the user's own zone.
                .col(string_null("time_zone"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notification_settings", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "notification_settings",
            "notification_preferences",
            "notification_templates",
            "push_notifications",
            "push_devices",
            "sms_logs",
            "email_logs",
            "notification_queue",
            "notifications",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// Appointments: service types, services, practitioners' hours in their zone (weekly hours
/// and breaks, date overrides, blocked dates) and bookings.
struct Scheduling;

impl MigrationName for Scheduling {
    fn name(&self) -> &str {
        "m20261122_000011_scheduling"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Scheduling {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("service_types")
                .col(pk_uuid("id"))
                .col(string("slug"))
                .col(string("name"))
                .col(text("description"))
                .col(boolean("active"))
                .col(integer("sort_order"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "service_types_slug_uq", "service_types", &["slug"], true).await?;
        m.create_table(
            Table::create()
                .table("services")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(uuid_null("service_type_id"))
                .col(string("name"))
                .col(text("description"))
                // chat | call | video | in_person
                .col(string("channel"))
                .col(integer("duration_minutes"))
                .col(big_integer("price_minor"))
                .col(string_len("currency", 3))
                .col(boolean("active"))
                .col(integer("buffer_before_minutes"))
                .col(integer("buffer_after_minutes"))
                .col(integer("min_notice_minutes"))
                .col(integer("slot_interval_minutes"))
                .col(integer("booking_window_days"))
                .col(integer_null("max_per_day"))
                .col(integer_null("max_per_week"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("services", "practitioner_id")
                        .to("practitioners", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "services_by_practitioner",
            "services",
            &["practitioner_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                // One row per practitioner who keeps hours. Booking transactions update
                // `version` first: on PostgreSQL that row lock serialises bookings of one
                // practitioner (SQLite serialises all writers anyway), so the overlap check
                // that follows cannot race.
                .table("practitioner_schedules")
                .col(pk_uuid("practitioner_id"))
                .col(string("time_zone"))
                .col(big_integer("version"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                // The seeds' astrologer_availability / healer_availability, one table for
                // every kind of practitioner. kind: hours | break.
                .table("practitioner_availability")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(string("kind"))
                // 0 = Monday … 6 = Sunday
                .col(integer("weekday"))
                // Minutes after local midnight.
                .col(integer("start_minute"))
                .col(integer("end_minute"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "availability_by_practitioner",
            "practitioner_availability",
            &["practitioner_id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("availability_overrides")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(date("date"))
                .col(integer("start_minute"))
                .col(integer("end_minute"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "overrides_by_practitioner",
            "availability_overrides",
            &["practitioner_id", "date"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("blocked_dates")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(date("start_date"))
                .col(date("end_date"))
                .col(string_null("reason"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "blocked_by_practitioner",
            "blocked_dates",
            &["practitioner_id", "start_date"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("bookings")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("service_id"))
                .col(uuid("practitioner_id"))
                .col(uuid("practitioner_user_id"))
                .col(uuid("client_id"))
                .col(string("channel"))
                // requested | confirmed | declined | expired | cancelled | completed
                // | client_no_show | practitioner_no_show
                .col(string("status"))
                .col(ts("starts_at"))
                .col(ts("ends_at"))
                // The time with the service's buffers, which no other booking may touch.
                .col(ts("block_start"))
                .col(ts("block_end"))
                // The booker's zone, for messages and views.
                .col(string("time_zone"))
                .col(big_integer("price"))
                .col(big_integer("discount"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(integer("commission_bps"))
                .col(string_null("promo_code"))
                .col(uuid_null("promo_id"))
                .col(uuid_null("hold_id"))
                .col(text("client_notes"))
                .col(ts("respond_by"))
                .col(integer("reschedule_count"))
                // client | practitioner | system
                .col(string_null("cancelled_by"))
                .col(text_null("cancel_reason"))
                .col(big_integer("refunded"))
                .col(big_integer("captured"))
                .col(ts_null("client_joined_at"))
                .col(ts_null("practitioner_joined_at"))
                .col(uuid_null("consultation_id"))
                // Reminder offsets (minutes before the start) already sent, comma separated.
                .col(string("reminders_sent"))
                .col(ts_null("confirmed_at"))
                .col(ts_null("closed_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "bookings_reference_uq", "bookings", &["reference"], true).await?;
        index(
            m,
            "bookings_by_practitioner_time",
            "bookings",
            &["practitioner_id", "block_start"],
            false,
        )
        .await?;
        index(
            m,
            "bookings_by_client_time",
            "bookings",
            &["client_id", "starts_at"],
            false,
        )
        .await?;
        index(
            m,
            "bookings_by_status_time",
            "bookings",
            &["status", "starts_at"],
            false,
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("practitioners")
                .add_column(integer("no_show_count").default(0))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("practitioners")
                .drop_column("no_show_count")
                .to_owned(),
        )
        .await?;
        for t in [
            "bookings",
            "blocked_dates",
            "availability_overrides",
            "practitioner_availability",
            "practitioner_schedules",
            "services",
            "service_types",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// PostgreSQL only: leave a fifth of each page free in the tables whose rows are rewritten
/// in place many times (a session's progress every minute and its sides' liveness, ledger
/// balances, wallets, presence heartbeats). With full pages every such update wrote the new
/// row version to another page and a new entry into each of the table's indexes; with room
/// on the page PostgreSQL keeps it there and leaves the indexes alone (a HOT update). In
/// bench_live's billing phase, 97 % of the `consultations` updates were not HOT before.
/// New pages get the room; SQLite has no such setting and keeps its schema.
struct RoomForUpdates;

impl MigrationName for RoomForUpdates {
    fn name(&self) -> &str {
        "m20261123_000002_room_for_updates"
    }
}

/// Tables updated in place on every charge, heartbeat or balance move.
const UPDATED_IN_PLACE: [&str; 4] = [
    "consultations",
    "ledger_accounts",
    "wallets",
    "practitioner_presence",
];

#[async_trait::async_trait]
impl MigrationTrait for RoomForUpdates {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for t in UPDATED_IN_PLACE {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {t} SET (fillfactor = 80)"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for t in UPDATED_IN_PLACE {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {t} RESET (fillfactor)"))
                .await?;
        }
        Ok(())
    }
}

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
struct Hardening;

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

/// Account recovery and verification: the single-use tokens emailed for password resets,
/// email verification and email changes (stored hashed), and the time a session last
/// proved the password, which sensitive changes (payout details) require to be recent.
struct Accounts;

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

/// Limits against abuse of live sessions and of the payment webhooks:
/// - a replayed gateway event is recognised by what it is about (its type and payment id),
///   not only by the event id the sender stamps on each delivery;
/// - a client waits in one practitioner's line at a time;
/// - reviews of sessions where the client paid nothing stop counting as verified.
struct LiveLimits;

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
