//! A SQLite connection that a batch writer drives itself, on its own thread.
//!
//! Owns `LiteConn` (rusqlite over the same database file the sqlx pool opens) and its
//! write transaction `LiteTxn`, the conversion of bound values to the storage classes sqlx
//! writes (so rows written either way read the same), and typed column reads that work on
//! both drivers (`Col`, `FromCols`).
//!
//! Why a second driver: sqlx runs each SQLite connection on a worker thread of its own, and
//! every statement crosses to that thread and back. A batch writer sends ten or more
//! statements per transaction; on a 2-core machine those crossings cost more than SQLite's
//! own work (perf on `bench_ledger`: 41 % of samples in context switching, SQLite itself
//! under 10 %). Here a statement is a function call on the writer's thread. Both drivers link
//! the same `libsqlite3-sys`, so they share one SQLite library and its locking.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{Value as LiteValue, ValueRef};
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr, QueryResult, TryGetable, Value};
use uuid::Uuid;

use crate::WriteTxn;

/// Prepared statements kept per connection: batch statements differ by row count.
const STATEMENT_CACHE: usize = 512;
/// As the pool's connections (`db::connect`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// One SQLite connection for one writer. The mutex is never contended (one writer owns the
/// connection); it makes the connection shareable by reference across `.await`s.
pub struct LiteConn {
    conn: Mutex<rusqlite::Connection>,
    gate: Arc<tokio::sync::Mutex<()>>,
    _checkpoints: Arc<Checkpointer>,
}

/// When the checkpointer runs, and how long the WAL may grow before it catches up under the
/// write gate so that the WAL file starts over.
#[derive(Debug, Clone, Copy)]
struct CheckpointPolicy {
    every: Duration,
    catch_up_pages: i64,
    /// The hard bound: past it a writer's commit checkpoints itself, should the
    /// checkpointer fall behind (an `fsync` per commit until a pass copies every frame).
    writer_pages: i64,
}

/// Every 100 ms (at 170 MB/s of WAL, the chat bench, about 4,000 pages between passes); a
/// catch-up past 4,000 pages (16 MiB); writers checkpoint themselves past 64 MiB.
const CHECKPOINTS: CheckpointPolicy = CheckpointPolicy {
    every: Duration::from_millis(100),
    catch_up_pages: 4_000,
    writer_pages: 16_000,
};
/// The writer connection's page cache: a batch that outgrows SQLite's default 2 MB spills
/// dirty pages into the WAL mid-transaction, with an `fsync` each time (seen in an off-CPU
/// profile of the chat writer).
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// A thread that checkpoints the WAL of one database file (`PASSIVE`: it copies what no
/// reader still needs and never blocks a writer) while a writer's connection to the file
/// lives. One per file in the process, shared by its writers.
struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

type Checkpointers =
    Mutex<std::collections::HashMap<std::path::PathBuf, std::sync::Weak<Checkpointer>>>;
static CHECKPOINTERS: std::sync::LazyLock<Checkpointers> =
    std::sync::LazyLock::new(Default::default);

impl Checkpointer {
    /// The file's checkpointer, started if none runs.
    fn of(
        path: &std::path::Path,
        gate: &Arc<tokio::sync::Mutex<()>>,
        policy: CheckpointPolicy,
    ) -> Result<Arc<Self>, DbErr> {
        let mut running = CHECKPOINTERS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = running.get(path).and_then(std::sync::Weak::upgrade) {
            return Ok(c);
        }
        let c = Arc::new(Self::start(path, gate.clone(), policy)?);
        running.retain(|_, c| c.strong_count() > 0);
        running.insert(path.to_path_buf(), Arc::downgrade(&c));
        Ok(c)
    }

    fn start(
        path: &std::path::Path,
        gate: Arc<tokio::sync::Mutex<()>>,
        policy: CheckpointPolicy,
    ) -> Result<Self, DbErr> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let conn = rusqlite::Connection::open(path).map_err(lite_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(lite_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(policy.every);
                    // Busy means another checkpoint is running; the next turn catches up.
                    match passive_checkpoint(&conn) {
                        // SQLite starts the WAL over only when a write transaction begins
                        // after every frame was copied. A busy writer began its next
                        // transaction before the pass ended, even a pass that copied every
                        // frame, so past `catch_up_pages` one pass runs while this process's
                        // writers wait at the gate: it copies only what arrived since the
                        // last pass, and the next write starts the WAL over. (Catching up
                        // only after passes that fell short let the WAL reach the writers'
                        // bound under steady chat, where each commit then checkpointed
                        // itself: 11-25 ms commits, the tail of chat's latency.)
                        Ok((log, _)) if log >= policy.catch_up_pages => {
                            let _gate = gate.blocking_lock();
                            if let Err(e) = passive_checkpoint(&conn) {
                                tracing::debug!(error = %e, "WAL catch-up skipped");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "WAL checkpoint skipped"),
                    }
                }
            })
            .map_err(|e| DbErr::Custom(format!("starting the checkpointer: {e}")))?;
        Ok(Self { stop })
    }
}

/// Frames in the WAL and frames copied into the database.
fn passive_checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for LiteConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiteConn").finish_non_exhaustive()
    }
}

impl LiteConn {
    /// Opens the file behind `db`'s pool. `None` when `db` is not a SQLite file (PostgreSQL,
    /// or an in-memory database, which only its own pool can reach).
    pub fn open(db: &DatabaseConnection) -> Result<Option<Self>, DbErr> {
        Self::open_with(db, CHECKPOINTS)
    }

    fn open_with(
        db: &DatabaseConnection,
        checkpoints: CheckpointPolicy,
    ) -> Result<Option<Self>, DbErr> {
        if db.get_database_backend() != DatabaseBackend::Sqlite || crate::is_in_memory(db) {
            return Ok(None);
        }
        let path = db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_path_buf();
        let conn = rusqlite::Connection::open(&path).map_err(lite_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(lite_err)?;
        // WAL is a property of the file (set when the pool first opened it); these two are
        // per connection, as the pool sets them.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(lite_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // A thread of its own checkpoints beside the writes (`Checkpointer`): at SQLite's
        // default, every commit that crossed the WAL's 1,000-page mark copied the WAL into the
        // database file and synced both before the writer could answer its batch. The
        // writer's own mark is only a hard bound, far above the checkpointer's catch-up:
        // once the WAL is past it, every commit tries again (with an `fsync`) until a pass
        // copies every frame, and readers or the background pass often prevent that (1,147
        // `fsync` waits in 8 s of chat with the mark at 4,000 pages). Statement journals
        // stay in memory rather than in temporary files created and deleted per batch.
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = {}; PRAGMA temp_store = MEMORY; \
             PRAGMA cache_size = -{WRITER_CACHE_KIB};",
            checkpoints.writer_pages
        ))
        .map_err(lite_err)?;
        let gate = crate::sqlite_gate(db);
        let checkpoints = Checkpointer::of(&path, &gate, checkpoints)?;
        Ok(Some(Self {
            conn: Mutex::new(conn),
            gate,
            _checkpoints: checkpoints,
        }))
    }

    /// Starts a write transaction the way `db::begin_write` does: this process's write gate
    /// first, then `BEGIN IMMEDIATE`.
    pub async fn begin(&self) -> Result<LiteTxn<'_>, DbErr> {
        let gate = self.gate.clone().lock_owned().await;
        self.lock()
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(lite_err)?;
        Ok(LiteTxn {
            lite: self,
            _gate: gate,
            open: true,
        })
    }

    fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic while a statement ran leaves the connection usable; SQLite keeps its own
        // consistency.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An open write transaction on a `LiteConn`. Dropped without `commit`, it rolls back.
pub struct LiteTxn<'a> {
    lite: &'a LiteConn,
    // Released after the rollback in `drop`, since fields drop after `Drop::drop` runs.
    _gate: tokio::sync::OwnedMutexGuard<()>,
    open: bool,
}

impl LiteTxn<'_> {
    pub fn commit(mut self) -> Result<(), DbErr> {
        self.open = false;
        let conn = self.lite.lock();
        if let Err(e) = conn.execute_batch("COMMIT") {
            // A failed COMMIT can leave the transaction open (SQLITE_BUSY); end it so the
            // connection is clean for the next one.
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK").ok();
            }
            return Err(lite_err(e));
        }
        Ok(())
    }

    pub fn rollback(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if std::mem::take(&mut self.open) {
            let conn = self.lite.lock();
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK").ok();
            }
        }
    }

    /// Runs a statement and returns the rows it changed.
    pub fn execute(&self, sql: &str, values: &[Value]) -> Result<u64, DbErr> {
        let conn = self.lite.lock();
        let mut stmt = conn.prepare_cached(sql).map_err(lite_err)?;
        let values = lite_values(values)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(values.iter()))
            .map_err(lite_err)?;
        Ok(n as u64)
    }

    /// Runs a query and reads each row as `T`.
    pub fn query<T: FromCols>(&self, sql: &str, values: &[Value]) -> Result<Vec<T>, DbErr> {
        let conn = self.lite.lock();
        let mut stmt = conn.prepare_cached(sql).map_err(lite_err)?;
        let values = lite_values(values)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values.iter()))
            .map_err(lite_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(lite_err)? {
            out.push(T::from_lite(row)?);
        }
        Ok(out)
    }
}

impl Drop for LiteTxn<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Where a batch writer's statements go: a transaction of the sea-orm pool, or one on a
/// SQLite connection the writer drives itself.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    Orm(&'a WriteTxn),
    Lite(&'a LiteTxn<'a>),
}

impl Conn<'_> {
    pub fn backend(self) -> DatabaseBackend {
        match self {
            Conn::Orm(txn) => sea_orm::ConnectionTrait::get_database_backend(txn),
            Conn::Lite(_) => DatabaseBackend::Sqlite,
        }
    }
}

impl<'a> From<&'a WriteTxn> for Conn<'a> {
    fn from(txn: &'a WriteTxn) -> Self {
        Conn::Orm(txn)
    }
}

/// The database as a batch writer reaches it.
pub enum WriterDb {
    /// Through a sea-orm pool (PostgreSQL, or an in-memory SQLite database).
    Pool(DatabaseConnection),
    /// A SQLite file, on the writer's own connection (run the writer with `spawn_writer`).
    Lite(LiteConn),
}

impl WriterDb {
    /// `db`'s file through a connection of the writer's own when it is a SQLite file, else
    /// `pool`.
    pub fn open(db: &DatabaseConnection, pool: impl FnOnce() -> DatabaseConnection) -> Self {
        match LiteConn::open(db) {
            Ok(Some(lite)) => WriterDb::Lite(lite),
            Ok(None) => WriterDb::Pool(pool()),
            Err(e) => {
                tracing::warn!(error = %e, "no direct SQLite connection; writing through the pool");
                WriterDb::Pool(pool())
            }
        }
    }

    /// Runs `f` in one write transaction (`db::begin_write`'s rules) and commits if it
    /// succeeds; if it fails, nothing of it stays.
    pub async fn write<T>(
        &self,
        f: impl AsyncFnOnce(Conn<'_>) -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        match self {
            WriterDb::Pool(db) => {
                crate::in_write_txn(db, async |txn| f(Conn::Orm(txn)).await).await
            }
            WriterDb::Lite(lite) => {
                let txn = lite.begin().await?;
                match f(Conn::Lite(&txn)).await {
                    Ok(v) => {
                        txn.commit()?;
                        Ok(v)
                    }
                    Err(e) => {
                        txn.rollback();
                        Err(e)
                    }
                }
            }
        }
    }
}

/// Runs the future `make` builds on a thread of its own, with a single-threaded runtime:
/// a writer on a `LiteConn` blocks in SQLite calls, and there it holds up no request.
pub fn spawn_writer<F, Fut>(name: &str, make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let name = name.to_owned();
    let thread = name.clone();
    let spawned = std::thread::Builder::new().name(thread).spawn(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(make()),
            Err(e) => tracing::error!(error = %e, writer = %name, "no runtime for the writer"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the writer's thread did not start");
    }
}

fn lite_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("sqlite: {e}"))
}

fn type_err(what: &str, got: ValueRef<'_>) -> DbErr {
    DbErr::Type(format!("expected {what}, read {:?}", got.data_type()))
}

fn lite_values(values: &[Value]) -> Result<Vec<LiteValue>, DbErr> {
    values.iter().map(lite_value).collect()
}

/// A bound value as sqlx-sqlite stores it: integers and booleans as INTEGER, UUIDs as a
/// 16-byte BLOB, instants as RFC 3339 TEXT, JSON as TEXT.
pub fn lite_value(v: &Value) -> Result<LiteValue, DbErr> {
    Ok(match v {
        Value::Bool(b) => b.map_or(LiteValue::Null, |b| LiteValue::Integer(i64::from(b))),
        Value::Int(n) => n.map_or(LiteValue::Null, |n| LiteValue::Integer(i64::from(n))),
        Value::BigInt(n) => n.map_or(LiteValue::Null, LiteValue::Integer),
        Value::String(s) => s.clone().map_or(LiteValue::Null, LiteValue::Text),
        Value::Bytes(b) => b.clone().map_or(LiteValue::Null, LiteValue::Blob),
        Value::Uuid(u) => u.map_or(LiteValue::Null, |u| LiteValue::Blob(u.as_bytes().to_vec())),
        Value::ChronoDateTimeUtc(t) => t.map_or(LiteValue::Null, |t| {
            LiteValue::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        Value::Json(j) => j
            .as_ref()
            .map_or(LiteValue::Null, |j| LiteValue::Text(j.to_string())),
        other => {
            return Err(DbErr::Custom(format!(
                "no SQLite binding for the value {other:?}"
            )));
        }
    })
}

/// A column type a batch writer reads, on either driver.
pub trait Col: TryGetable + Sized {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr>;
}

impl Col for i64 {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        match v {
            ValueRef::Integer(n) => Ok(n),
            other => Err(type_err("an integer", other)),
        }
    }
}

impl Col for i32 {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        let n = i64::from_lite(v)?;
        i32::try_from(n).map_err(|_| DbErr::Type(format!("{n} does not fit 32 bits")))
    }
}

impl Col for bool {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        Ok(i64::from_lite(v)? != 0)
    }
}

impl Col for String {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        match v {
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map_err(|_| DbErr::Type("text that is not UTF-8".into())),
            other => Err(type_err("text", other)),
        }
    }
}

impl Col for Uuid {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        let parsed = match v {
            ValueRef::Blob(b) => Uuid::from_slice(b).ok(),
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|t| t.parse().ok()),
            other => return Err(type_err("a UUID", other)),
        };
        parsed.ok_or_else(|| DbErr::Type("a malformed UUID".into()))
    }
}

impl Col for DateTime<Utc> {
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        let text = String::from_lite(v)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| NaiveDateTime::parse_from_str(&text, "%F %T%.f").map(|t| t.and_utc()))
            .map_err(|_| DbErr::Type(format!("{text:?} is not an instant")))
    }
}

impl<T: Col> Col for Option<T>
where
    Option<T>: TryGetable,
{
    fn from_lite(v: ValueRef<'_>) -> Result<Self, DbErr> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_lite(v).map(Some),
        }
    }
}

/// A row read as a tuple of columns, in select order.
pub trait FromCols: Sized {
    fn from_orm(row: &QueryResult) -> Result<Self, DbErr>;
    fn from_lite(row: &rusqlite::Row<'_>) -> Result<Self, DbErr>;
}

macro_rules! tuple_from_cols {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Col),+> FromCols for ($($t,)+) {
            fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
                Ok(($(row.try_get_by_index::<$t>($i)?,)+))
            }
            fn from_lite(row: &rusqlite::Row<'_>) -> Result<Self, DbErr> {
                Ok(($($t::from_lite(row.get_ref($i).map_err(lite_err)?)?,)+))
            }
        }
    };
}

tuple_from_cols!(A 0);
tuple_from_cols!(A 0, B 1);
tuple_from_cols!(A 0, B 1, C 2);
tuple_from_cols!(A 0, B 1, C 2, D 3);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::ledger_transfer;
    use chrono::TimeZone;
    use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Statement};

    async fn file_db(name: &str) -> (DatabaseConnection, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("augur-lite-{name}-{}", Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let db = crate::connect(&url, 2).await.unwrap();
        crate::migrate(&db).await.unwrap();
        (db, dir)
    }

    /// A writer connection under the production policy scaled down (passes every 5 ms, a
    /// catch-up past 64 pages) with the writer's own bound at `writer_pages`.
    fn open_scaled(db: &DatabaseConnection, writer_pages: i64) -> (LiteConn, CheckpointPolicy) {
        let policy = CheckpointPolicy {
            every: Duration::from_millis(5),
            catch_up_pages: 64,
            writer_pages,
        };
        let lite = LiteConn::open_with(db, policy)
            .unwrap()
            .expect("a file database");
        (lite, policy)
    }

    /// Inserts `pages` rows of about one page each into `scratch`, creating it if asked.
    fn fill_pages(txn: &LiteTxn<'_>, pages: usize, create: bool) {
        if create {
            txn.execute("CREATE TABLE scratch (b BLOB)", &[]).unwrap();
        }
        for _ in 0..pages {
            txn.execute(
                "INSERT INTO scratch (b) VALUES (?)",
                &[Value::Bytes(Some(vec![7u8; 4000]))],
            )
            .unwrap();
        }
    }

    /// How SQLite stores a row's columns: type and literal, for comparing two writers.
    async fn stored(db: &DatabaseConnection, id: Uuid) -> Vec<String> {
        let cols = [
            "debit_account_id",
            "amount",
            "currency",
            "hold_id",
            "created_at",
        ];
        let select: Vec<String> = cols
            .iter()
            .map(|c| format!("typeof({c}) || ':' || quote({c})"))
            .collect();
        let sql = format!(
            "SELECT {} FROM ledger_transfers WHERE id = ?",
            select.join(", ")
        );
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                sql,
                [id.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        (0..cols.len())
            .map(|i| row.try_get_by_index::<String>(i).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn rows_written_directly_are_stored_and_read_as_the_pool_does() {
        let (db, dir) = file_db("encoding").await;
        let account = Uuid::now_v7();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 4, 5, 6).unwrap()
            + chrono::Duration::microseconds(123_456);
        db.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "INSERT INTO ledger_accounts (id, kind, owner_key, currency, balance, created_at, \
             updated_at) VALUES (?, 'platform_revenue', 'o', 'INR', 0, ?, ?)",
            [account.into(), at.into(), at.into()],
        ))
        .await
        .unwrap();
        let model = |id: Uuid, key: &str, hold: Option<Uuid>| ledger_transfer::Model {
            id,
            debit_account_id: account,
            credit_account_id: account,
            amount: -42,
            currency: "INR".into(),
            kind: "test".into(),
            reference: "r".into(),
            idempotency_key: key.into(),
            hold_id: hold,
            created_at: at,
        };
        // One row through sea-orm and sqlx, the same values through the direct connection.
        let (by_pool, direct) = (Uuid::now_v7(), Uuid::now_v7());
        for hold in [None, Some(Uuid::now_v7())] {
            let suffix = if hold.is_some() { "h" } else { "n" };
            let pooled = model(by_pool, &format!("pool-{suffix}"), hold);
            ledger_transfer::Entity::delete_many()
                .exec(&db)
                .await
                .unwrap();
            pooled
                .clone()
                .into_active_model()
                .insert(&db)
                .await
                .unwrap();

            let lite = LiteConn::open(&db).unwrap().expect("a file database");
            let txn = lite.begin().await.unwrap();
            let values: Vec<Value> = vec![
                direct.into(),
                account.into(),
                account.into(),
                (-42i64).into(),
                "INR".into(),
                "test".into(),
                "r".into(),
                format!("direct-{suffix}").into(),
                hold.into(),
                at.into(),
            ];
            let n = txn
                .execute(
                    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, \
                     amount, currency, kind, reference, idempotency_key, hold_id, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &values,
                )
                .unwrap();
            assert_eq!(n, 1);
            // Read back on the direct connection, typed.
            type Row = (Uuid, Uuid, i64, String, Option<Uuid>, DateTime<Utc>);
            let sql = "SELECT id, debit_account_id, amount, currency, hold_id, created_at \
                       FROM ledger_transfers WHERE id IN (?, ?) ORDER BY id";
            let rows: Vec<Row> = txn.query(sql, &[by_pool.into(), direct.into()]).unwrap();
            txn.commit().unwrap();
            assert_eq!(rows.len(), 2);
            for (i, id) in [by_pool, direct].into_iter().enumerate() {
                assert_eq!(rows[i], (id, account, -42, "INR".to_owned(), hold, at));
            }
            // Stored identically (type and literal of every column).
            assert_eq!(stored(&db, by_pool).await, stored(&db, direct).await);
            // And the pool reads the direct row back as the model it was.
            let read = ledger_transfer::Entity::find_by_id(direct)
                .one(&db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(read, model(direct, &format!("direct-{suffix}"), hold));
            ledger_transfer::Entity::delete_many()
                .exec(&db)
                .await
                .unwrap();
        }
        drop(db);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn the_checkpointer_keeps_the_wal_from_growing() {
        let (db, dir) = file_db("checkpoint").await;
        let lite = LiteConn::open(&db).unwrap().expect("a file database");
        let wal = dir.join("t.db-wal");
        // 2 MiB per transaction: 512 pages of 4 KiB.
        let write = async |create: bool| {
            let txn = lite.begin().await.unwrap();
            fill_pages(&txn, 512, create);
            txn.commit().unwrap();
            std::fs::metadata(&wal).unwrap().len()
        };
        let first = write(true).await;
        // 2 MiB stays far below the writer's own mark; once the checkpointer has copied the
        // WAL into the database, the next transaction writes the WAL from its start again.
        tokio::time::sleep(CHECKPOINTS.every * 4).await;
        let second = write(false).await;
        assert!(first > 2_000_000, "{first}");
        assert!(
            second < first + first / 4,
            "the WAL grew from {first} to {second}"
        );
        drop(lite);
        drop(db);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn under_steady_writes_the_wal_stays_bounded() {
        let (db, dir) = file_db("steady").await;
        // The production policy scaled down: passes every 5 ms, a catch-up past 64 pages,
        // the writer's own bound at 256.
        let (lite, policy) = open_scaled(&db, 256);
        let wal = dir.join("t.db-wal");
        // Migrations may have left a WAL already; it is reused from the start, not shrunk.
        let initial = std::fs::metadata(&wal).map_or(0, |m| m.len());
        let page = 4_096 + 24;
        let (mut largest, mut written, mut round) = (0, 0, 0);
        let started = std::time::Instant::now();
        // Transactions of 16 pages back to back for half a second: a background pass never
        // catches a writer that keeps appending, and the checkpointer gets the gate only
        // in the moments between transactions.
        while started.elapsed() < Duration::from_millis(500) || round < 100 {
            let txn = lite.begin().await.unwrap();
            fill_pages(&txn, 16, round == 0);
            txn.commit().unwrap();
            written += 16 * page;
            round += 1;
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
            tokio::task::yield_now().await;
        }
        // Near the writer's bound: a commit's own pass is skipped while the background pass
        // runs, so the WAL can pass the bound by a few transactions before it starts over
        // (3.5 MB against 1 MB here). Without either mechanism it holds all that was written.
        let bound = initial.max(16 * policy.writer_pages as u64 * page);
        assert!(
            largest <= bound,
            "the WAL reached {largest} bytes (bound {bound}) of {written} written in {round} \
             transactions"
        );
        drop(lite);
        drop(db);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn the_wal_starts_over_even_when_every_pass_keeps_up() {
        let (db, dir) = file_db("keeps-up").await;
        // Only the checkpointer's catch-up can start the WAL over here: the writer's own
        // bound is out of reach.
        let (lite, policy) = open_scaled(&db, 1_000_000);
        sea_orm::ConnectionTrait::execute_unprepared(&db, "PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
        let wal = dir.join("t.db-wal");
        let page = 4_096 + 24;
        let mut largest = 0;
        // Small transactions that stay open a moment, as a busy writer's do: every background
        // pass copies every committed frame, yet the writer's next transaction has always
        // begun before the pass ended, and the WAL starts over only at a transaction that
        // begins after a complete pass.
        for round in 0..300 {
            let txn = lite.begin().await.unwrap();
            fill_pages(&txn, 2, round == 0);
            tokio::time::sleep(Duration::from_millis(1)).await;
            txn.commit().unwrap();
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        // 600 pages written; the WAL holds a few catch-ups' worth at most.
        let bound = 4 * policy.catch_up_pages as u64 * page;
        assert!(
            largest <= bound,
            "the WAL reached {largest} bytes (bound {bound})"
        );
        drop(lite);
        drop(db);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_transaction_dropped_without_commit_rolls_back_and_opens_the_gate() {
        let (db, dir) = file_db("rollback").await;
        let lite = LiteConn::open(&db).unwrap().expect("a file database");
        {
            let txn = lite.begin().await.unwrap();
            txn.execute(
                "INSERT INTO ledger_accounts (id, kind, owner_key, currency, balance, \
                 created_at, updated_at) VALUES (?, 'platform_revenue', 'o', 'INR', 0, ?, ?)",
                &[Uuid::now_v7().into(), Utc::now().into(), Utc::now().into()],
            )
            .unwrap();
        }
        // The gate is open again: the pool's writer gets it, and sees nothing written.
        let txn = crate::begin_write(&db).await.unwrap();
        let n = txn
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT count(*) FROM ledger_accounts",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        txn.rollback().await.unwrap();
        assert_eq!(n, 0);
        assert!(
            LiteConn::open(&crate::connect("sqlite::memory:", 1).await.unwrap())
                .unwrap()
                .is_none()
        );
        drop(db);
        std::fs::remove_dir_all(dir).ok();
    }
}
