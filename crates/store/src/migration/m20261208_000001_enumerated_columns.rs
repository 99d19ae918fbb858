//! The migration `m20261208_000001_enumerated_columns` (struct [`EnumeratedColumns`]): the
//! database refuses any value of a status, kind, channel or role column outside the values
//! the code writes. Once landed, never edit it; change the schema with a new migration.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

/// Statuses, kinds, channels and roles are stored as text. Until now any string went in, so
/// a typo or a stale value in a write was stored and then matched nothing that reads it.
/// Each column listed in [`ALLOWED`] now takes only its listed values:
/// - PostgreSQL: a CHECK constraint `{table}_{column}_allowed`;
/// - SQLite, which cannot add a CHECK to an existing table: triggers before INSERT and
///   before UPDATE OF the column that abort with `CHECK constraint failed:
///   {table}_{column}_allowed`, the message SQLite gives for a failed CHECK.
///
/// NULL stays allowed (as with a CHECK), though every column listed here is NOT NULL.
/// Existing rows are not rewritten: on PostgreSQL a row holding another value makes the
/// constraint fail to add, which stops the migration rather than hiding the row; SQLite's
/// triggers do not look at existing rows.
///
/// SQLite drops a table's triggers with the table: a later migration that rebuilds one of
/// these tables there (create, copy, drop, rename) must create its triggers again.
pub(super) struct EnumeratedColumns;

impl MigrationName for EnumeratedColumns {
    fn name(&self) -> &str {
        "m20261208_000001_enumerated_columns"
    }
}

/// `(table, column, allowed values)`. Hard-coded rather than taken from `crate::status`: a
/// landed migration must keep producing the same schema whatever the enums become. A test
/// checks that the enums list exactly these values. The values are plain lowercase words
/// (also checked), so they are written into the SQL as literals.
///
/// Skipped on purpose, because their values are open-ended: `ledger_transfers.kind` and
/// `wallet_transactions.kind` (what money moved for: `topup`, `hold`, `tip`, `payout`, …,
/// and callers and tests name new ones freely) and `jobs.kind` (the job's handler name).
pub(crate) const ALLOWED: &[(&str, &str, &[&str])] = &[
    ("users", "role", &["client", "practitioner", "admin"]),
    ("users", "status", &["active", "suspended", "deleted"]),
    ("wallets", "status", &["active", "frozen"]),
    (
        "consultations",
        "status",
        &[
            "requested",
            "active",
            "ended",
            "declined",
            "missed",
            "cancelled",
        ],
    ),
    ("consultations", "channel", &["chat", "call", "video"]),
    (
        "bookings",
        "status",
        &[
            "requested",
            "confirmed",
            "declined",
            "expired",
            "cancelled",
            "completed",
            "client_no_show",
            "practitioner_no_show",
        ],
    ),
    (
        "bookings",
        "channel",
        &["chat", "call", "video", "in_person"],
    ),
    (
        "ledger_holds",
        "status",
        &["active", "captured", "released"],
    ),
    ("jobs", "status", &["pending", "running", "done", "dead"]),
    ("payment_orders", "status", &["created", "paid", "failed"]),
    ("payouts", "status", &["requested", "paid", "rejected"]),
    ("refunds", "status", &["pending", "succeeded", "failed"]),
    (
        "notification_queue",
        "status",
        &["pending", "retrying", "sent", "skipped", "dead"],
    ),
    (
        "notification_queue",
        "channel",
        &["in_app", "email", "sms", "push"],
    ),
    ("email_logs", "status", &["sent", "failed"]),
    ("sms_logs", "status", &["sent", "failed"]),
    (
        "push_notifications",
        "status",
        &["sent", "failed", "invalid_token"],
    ),
    (
        "waitlist_entries",
        "status",
        &["waiting", "offered", "left", "expired", "served"],
    ),
    ("waitlist_entries", "channel", &["chat", "call", "video"]),
    (
        "services",
        "channel",
        &["chat", "call", "video", "in_person"],
    ),
    (
        "practitioners",
        "kind",
        &["astrologer", "tarot_reader", "healer", "other"],
    ),
    (
        "chat_messages",
        "kind",
        &["text", "image", "file", "system"],
    ),
    (
        "ledger_accounts",
        "kind",
        &[
            "client_available",
            "client_held",
            "practitioner_earnings",
            "platform_revenue",
            "promotions_expense",
            "gateway_clearing",
            "payouts_pending",
            "payouts_paid",
        ],
    ),
    ("practitioner_availability", "kind", &["hours", "break"]),
    (
        "notification_templates",
        "channel",
        &["in_app", "email", "sms", "push"],
    ),
    (
        "notification_preferences",
        "channel",
        &["in_app", "email", "sms", "push"],
    ),
];

/// The constraint's name, also the stem of the SQLite triggers' names.
fn constraint(table: &str, column: &str) -> String {
    format!("{table}_{column}_allowed")
}

/// `'a', 'b', …` for an `IN` list.
fn sql_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements that add the constraints on this backend.
fn up_statements(backend: DatabaseBackend) -> Result<Vec<String>, DbErr> {
    let mut out = Vec::new();
    for (table, column, values) in ALLOWED {
        let name = constraint(table, column);
        let list = sql_list(values);
        match backend {
            DatabaseBackend::Postgres => out.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IN ({list}))"
            )),
            DatabaseBackend::Sqlite => {
                let raise = format!("SELECT RAISE(ABORT, 'CHECK constraint failed: {name}');");
                out.push(format!(
                    "CREATE TRIGGER {name}_insert BEFORE INSERT ON {table} \
                     WHEN NEW.{column} NOT IN ({list}) BEGIN {raise} END"
                ));
                out.push(format!(
                    "CREATE TRIGGER {name}_update BEFORE UPDATE OF {column} ON {table} \
                     WHEN NEW.{column} NOT IN ({list}) BEGIN {raise} END"
                ));
            }
            other => return Err(unsupported(other)),
        }
    }
    Ok(out)
}

/// The statements that remove them again.
fn down_statements(backend: DatabaseBackend) -> Result<Vec<String>, DbErr> {
    let mut out = Vec::new();
    for (table, column, _) in ALLOWED {
        let name = constraint(table, column);
        match backend {
            DatabaseBackend::Postgres => out.push(format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}"
            )),
            DatabaseBackend::Sqlite => {
                out.push(format!("DROP TRIGGER IF EXISTS {name}_insert"));
                out.push(format!("DROP TRIGGER IF EXISTS {name}_update"));
            }
            other => return Err(unsupported(other)),
        }
    }
    Ok(out)
}

fn unsupported(backend: DatabaseBackend) -> DbErr {
    DbErr::Migration(format!(
        "enumerated columns: no constraints defined for {backend:?}"
    ))
}

#[async_trait::async_trait]
impl MigrationTrait for EnumeratedColumns {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for sql in up_statements(m.get_database_backend())? {
            m.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for sql in down_statements(m.get_database_backend())? {
            m.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;
    use std::time::{SystemTime, UNIX_EPOCH};

    use chrono::Utc;
    use futures::FutureExt;
    use sea_orm::sea_query::Expr;
    use sea_orm::{
        ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
        QueryFilter, Set, Statement,
    };
    use sea_orm_migration::MigratorTrait;
    use uuid::Uuid;

    use super::*;
    use crate::entity::{consultation, payout};
    use crate::migration::Migrator;

    #[test]
    fn the_lists_match_the_status_enums() {
        let mut from_enums = crate::status::columns();
        from_enums.sort();
        let mut from_migration: Vec<(String, Vec<&str>)> = ALLOWED
            .iter()
            .map(|(t, c, v)| (format!("{t}.{c}"), v.to_vec()))
            .collect();
        from_migration.sort();
        assert_eq!(from_enums, from_migration);
    }

    #[test]
    fn values_are_plain_words_safe_to_inline() {
        for (table, column, values) in ALLOWED {
            assert!(!values.is_empty(), "{table}.{column}");
            for v in *values {
                assert!(
                    !v.is_empty() && v.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{table}.{column}: {v:?}"
                );
            }
        }
    }

    /// How many steps `down` takes to undo this migration: it and every later one.
    fn steps_to_undo() -> u32 {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let at = names
            .iter()
            .position(|n| n == "m20261208_000001_enumerated_columns")
            .expect("the migration is listed");
        <u32 as std::convert::TryFrom<usize>>::try_from(names.len() - at).unwrap_or(u32::MAX)
    }

    #[test]
    fn it_is_listed() {
        assert!(steps_to_undo() >= 1);
    }

    // --- Against real databases -------------------------------------------------------

    fn a_consultation(status: &str, channel: &str) -> consultation::ActiveModel {
        let now = Utc::now();
        consultation::ActiveModel {
            id: Set(Uuid::now_v7()),
            reference: Set(format!("CS{}", Uuid::now_v7().simple())),
            client_id: Set(Uuid::now_v7()),
            practitioner_id: Set(Uuid::now_v7()),
            practitioner_user_id: Set(Uuid::now_v7()),
            channel: Set(channel.to_owned()),
            status: Set(status.to_owned()),
            currency: Set("INR".into()),
            rate_minor: Set(1_000),
            commission_bps: Set(2_000),
            free_minutes: Set(0),
            promo_code: Set(None),
            promo_id: Set(None),
            discount_per_minute: Set(0),
            discount_budget: Set(0),
            requested_at: Set(now),
            respond_by: Set(now),
            started_at: Set(None),
            ended_at: Set(None),
            end_reason: Set(None),
            minutes_billed: Set(0),
            free_minutes_used: Set(0),
            amount_charged: Set(0),
            discount_total: Set(0),
            client_seen_at: Set(None),
            practitioner_seen_at: Set(None),
            warned_at_minutes_left: Set(None),
            updated_at: Set(now),
        }
    }

    fn a_payout(status: &str) -> payout::ActiveModel {
        payout::ActiveModel {
            id: Set(Uuid::now_v7()),
            reference: Set(format!("PO{}", Uuid::now_v7().simple())),
            practitioner_id: Set(Uuid::now_v7()),
            amount: Set(5_000),
            currency: Set("INR".into()),
            status: Set(status.to_owned()),
            destination: Set("{}".into()),
            note: Set(None),
            paid_reference: Set(None),
            receipt_number: Set(None),
            idempotency_key: Set(Uuid::now_v7().to_string()),
            created_at: Set(Utc::now()),
            decided_at: Set(None),
            paid_at: Set(None),
        }
    }

    /// Asserts that `result` is the database refusing a value through `constraint`.
    #[track_caller]
    fn assert_refused<T: std::fmt::Debug>(result: Result<T, DbErr>, constraint: &str) {
        match result {
            Err(e) => assert!(
                e.to_string().contains(constraint),
                "refused, but not by {constraint}: {e}"
            ),
            Ok(v) => panic!("accepted a value {constraint} forbids: {v:?}"),
        }
    }

    /// How many of this migration's constraints (PostgreSQL) or triggers (SQLite) exist.
    async fn installed(db: &DatabaseConnection) -> i64 {
        let backend = db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "SELECT count(*) AS n FROM pg_constraint \
                 WHERE contype = 'c' AND conname LIKE '%\\_allowed'"
            }
            _ => {
                "SELECT count(*) AS n FROM sqlite_master \
                 WHERE type = 'trigger' AND name LIKE '%\\_allowed\\_%' ESCAPE '\\'"
            }
        };
        db.query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
    }

    fn expected_count(backend: DatabaseBackend) -> i64 {
        let per_column = if backend == DatabaseBackend::Postgres {
            1
        } else {
            2
        };
        ALLOWED.len() as i64 * per_column
    }

    /// The checks shared by both backends, on a freshly migrated database.
    async fn bad_values_are_refused(db: &DatabaseConnection) {
        let backend = db.get_database_backend();
        assert_eq!(installed(db).await, expected_count(backend));

        // Inserts: a bad status, a bad channel, then good values.
        assert_refused(
            a_consultation("bogus", "chat").insert(db).await,
            "consultations_status_allowed",
        );
        assert_refused(
            a_consultation("requested", "in_person").insert(db).await,
            "consultations_channel_allowed",
        );
        // Exact spelling: the database compares case-sensitively.
        assert_refused(
            a_consultation("Requested", "chat").insert(db).await,
            "consultations_status_allowed",
        );
        let c = a_consultation("requested", "chat")
            .insert(db)
            .await
            .unwrap();

        // Updates, through an active model and through an update of many rows.
        let mut m: consultation::ActiveModel = c.clone().into();
        m.status = Set("finished".into());
        assert_refused(m.update(db).await, "consultations_status_allowed");
        assert_refused(
            consultation::Entity::update_many()
                .col_expr(consultation::Column::Status, Expr::value("paused"))
                .filter(consultation::Column::Id.eq(c.id))
                .exec(db)
                .await,
            "consultations_status_allowed",
        );
        let mut m: consultation::ActiveModel = c.clone().into();
        m.status = Set("active".into());
        assert_eq!(m.update(db).await.unwrap().status, "active");
        // Updating other columns of a row is untouched by the check.
        consultation::Entity::update_many()
            .col_expr(consultation::Column::MinutesBilled, Expr::value(3))
            .filter(consultation::Column::Id.eq(c.id))
            .exec(db)
            .await
            .unwrap();

        // Payouts, including the `approved` the old schema comment mentioned but no code writes.
        assert_refused(
            a_payout("approved").insert(db).await,
            "payouts_status_allowed",
        );
        assert_refused(a_payout("").insert(db).await, "payouts_status_allowed");
        let p = a_payout("requested").insert(db).await.unwrap();
        assert_refused(
            payout::Entity::update_many()
                .col_expr(payout::Column::Status, Expr::value("lost"))
                .filter(payout::Column::Id.eq(p.id))
                .exec(db)
                .await,
            "payouts_status_allowed",
        );
        let mut m: payout::ActiveModel = p.into();
        m.status = Set("paid".into());
        assert_eq!(m.update(db).await.unwrap().status, "paid");

        // Raw SQL, as the batch writers send it, is checked the same way.
        db.execute_unprepared("UPDATE consultations SET status = 'cancelled', channel = 'video'")
            .await
            .unwrap();
        assert_refused(
            db.execute_unprepared("UPDATE consultations SET channel = 'fax'")
                .await,
            "consultations_channel_allowed",
        );
    }

    /// Down removes exactly this migration's checks, and up adds them again.
    async fn down_and_up_again(db: &DatabaseConnection) {
        let backend = db.get_database_backend();
        Migrator::down(db, Some(steps_to_undo())).await.unwrap();
        assert_eq!(installed(db).await, 0);
        let p = a_payout("approved").insert(db).await.unwrap();
        payout::Entity::delete_by_id(p.id).exec(db).await.unwrap();
        Migrator::up(db, None).await.unwrap();
        assert_eq!(installed(db).await, expected_count(backend));
        assert_refused(
            a_payout("approved").insert(db).await,
            "payouts_status_allowed",
        );
    }

    #[tokio::test]
    async fn sqlite_refuses_values_outside_the_lists() {
        let db = crate::connect("sqlite::memory:", 1).await.unwrap();
        crate::migrate(&db).await.unwrap();
        bad_values_are_refused(&db).await;
    }

    #[tokio::test]
    async fn sqlite_migrates_down_and_up() {
        let db = crate::connect("sqlite::memory:", 1).await.unwrap();
        crate::migrate(&db).await.unwrap();
        down_and_up_again(&db).await;
    }

    /// The PostgreSQL server to test against, from `AUGUR_TEST_POSTGRES_URL`; `None` skips
    /// the test, unless `AUGUR_REQUIRE_POSTGRES=1` (CI), where a missing server fails it.
    fn postgres_url() -> Option<String> {
        let url = std::env::var("AUGUR_TEST_POSTGRES_URL").ok();
        if url.is_none() {
            assert_ne!(
                std::env::var("AUGUR_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "AUGUR_REQUIRE_POSTGRES=1 but AUGUR_TEST_POSTGRES_URL is not set"
            );
        }
        url
    }

    /// Replaces the database name in a PostgreSQL URL.
    fn with_database(url: &str, db: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (url, String::new()),
        };
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let root = match base[after_scheme..].find('/') {
            Some(i) => &base[..after_scheme + i],
            None => base,
        };
        format!("{root}/{db}{query}")
    }

    /// Runs `body` on a fresh, migrated database of its own on the PostgreSQL server, and
    /// drops the database afterwards even if `body` panics. The name follows the server
    /// tests' `augur_t_{unix seconds}_…`, so their sweep of stale databases also removes one
    /// left behind by a killed run.
    async fn on_fresh_postgres(url: &str, body: impl AsyncFnOnce(&DatabaseConnection)) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let name = format!(
            "augur_t_{secs}_{}",
            &Uuid::now_v7().simple().to_string()[16..]
        );
        let admin = crate::connect(url, 1).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        let outcome = AssertUnwindSafe(async {
            let db = crate::connect(&with_database(url, &name), 2).await.unwrap();
            crate::migrate(&db).await.unwrap();
            body(&db).await;
            db.close().await.ok();
        })
        .catch_unwind()
        .await;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .unwrap();
        let left = admin
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                format!("SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        admin.close().await.ok();
        assert_eq!(left, 0, "test database {name} was not dropped");
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    #[tokio::test]
    async fn postgres_refuses_values_outside_the_lists() {
        let Some(url) = postgres_url() else { return };
        on_fresh_postgres(&url, bad_values_are_refused).await;
    }

    #[tokio::test]
    async fn postgres_migrates_down_and_up() {
        let Some(url) = postgres_url() else { return };
        on_fresh_postgres(&url, down_and_up_again).await;
    }
}
