//! The storage layer: the database connection, migrations, entities, the typed values
//! stored in columns (`Money`, `Currency`, and in `status` the allowed values of statuses,
//! kinds, channels and roles), bulk SQL and the SQLite direct writer, and the clock every
//! timestamp comes from. It knows nothing of HTTP or of business rules.

pub mod bulk;
pub mod clock;
pub mod entity;
pub mod lite;
pub mod migration;
pub mod money;
pub mod status;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

pub use sea_orm::DatabaseConnection as Db;

/// Opens the pool. For SQLite the parent folder is created and WAL is switched on, so
/// readers never wait for the writer.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_path(url)
        && let Some(parent) = std::path::Path::new(&path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating database folder {}", parent.display()))?;
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        // Per-connection settings belong on every pooled connection, not just the first.
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // The batch writers' checkpointer (`lite::LiteConn`) keeps the WAL short
                // beside the writes. At SQLite's default of 1,000 pages a request's commit
                // would often checkpoint first, holding the write gate the writers wait
                // on; this is the safety net for a process that runs no writer.
                .pragma("wal_autocheckpoint", "10000")
        });
    let db = Database::connect(opts)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))?;
    Ok(db)
}

/// A transaction that writes. On SQLite it holds this process's write gate for the
/// database file while it lives, so writers queue in FIFO order in memory instead of
/// sleeping in SQLite's busy handler (which adds up to 100 ms steps of latency); it is also
/// `BEGIN IMMEDIATE`, so a transaction that reads and then writes cannot fail with
/// SQLITE_BUSY. On PostgreSQL it is a plain transaction.
pub struct WriteTxn {
    // Dropped first: the transaction rolls back before the gate opens.
    txn: sea_orm::DatabaseTransaction,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), sea_orm::DbErr> {
        let WriteTxn { txn, _gate } = self;
        txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), sea_orm::DbErr> {
        let WriteTxn { txn, _gate } = self;
        txn.rollback().await
    }

    /// A nested transaction (a savepoint): rolling it back undoes only its own writes.
    pub async fn savepoint(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        sea_orm::TransactionTrait::begin(&self.txn).await
    }
}

#[async_trait::async_trait]
impl sea_orm::ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> sea_orm::DbBackend {
        self.txn.get_database_backend()
    }
    async fn execute_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
        self.txn.execute_raw(stmt).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
        self.txn.execute_unprepared(sql).await
    }
    async fn query_one_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> Result<Option<sea_orm::QueryResult>, sea_orm::DbErr> {
        self.txn.query_one_raw(stmt).await
    }
    async fn query_all_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
        self.txn.query_all_raw(stmt).await
    }
    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

type Gates = std::sync::Mutex<
    std::collections::HashMap<std::path::PathBuf, std::sync::Arc<tokio::sync::Mutex<()>>>,
>;
static SQLITE_WRITE_GATES: std::sync::LazyLock<Gates> = std::sync::LazyLock::new(Default::default);

/// Whether `db` is an in-memory SQLite database (reachable only through its own pool).
pub fn is_in_memory(db: &DatabaseConnection) -> bool {
    let options = db.get_sqlite_connection_pool().connect_options();
    let name = options.get_filename().to_string_lossy();
    name.is_empty() || name.contains(":memory:") || name.starts_with("file:sqlx-in-memory")
}

fn sqlite_gate(db: &DatabaseConnection) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut gates = SQLITE_WRITE_GATES.lock().unwrap_or_else(|p| p.into_inner());
    gates.entry(file).or_default().clone()
}

/// Starts a write transaction (see `WriteTxn`).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let gate = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => Some(sqlite_gate(db).lock_owned().await),
        _ => None,
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(WriteTxn { txn, _gate: gate })
}

/// Runs `f` in a write transaction (`begin_write`) and commits if it succeeds; if it fails,
/// the transaction rolls back and `f`'s error is returned.
pub async fn in_write_txn<T, E: From<sea_orm::DbErr>>(
    db: &DatabaseConnection,
    f: impl AsyncFnOnce(&WriteTxn) -> Result<T, E>,
) -> Result<T, E> {
    let txn = begin_write(db).await?;
    match f(&txn).await {
        Ok(v) => {
            txn.commit().await?;
            Ok(v)
        }
        Err(e) => {
            txn.rollback().await.ok();
            Err(e)
        }
    }
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migration::Migrator::up(db, None)
        .await
        .context("applying migrations")
}

/// Where a single-node SQLite install keeps its generated token key: beside the database.
pub fn local_secret_file(url: &str) -> Option<std::path::PathBuf> {
    let path = sqlite_path(url)?;
    let parent = std::path::Path::new(&path).parent()?.to_path_buf();
    Some(parent.join("jwt-secret"))
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// The URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/augur"),
            "postgres://app:***@db:5432/augur"
        );
        assert_eq!(
            redact_url("postgres://app@db/augur"),
            "postgres://app@db/augur"
        );
        assert_eq!(
            redact_url("sqlite://augur-data/a.db"),
            "sqlite://augur-data/a.db"
        );
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_path("sqlite://augur-data/augur.db?mode=rwc").as_deref(),
            Some("augur-data/augur.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
