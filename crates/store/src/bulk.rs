//! Bulk SQL: statements built with the backend's placeholders, split to fit each backend's
//! limits on parameters and message size, run on either an ORM transaction or the SQLite
//! direct writer. The batch writers (ledger, billing, chat, liveness) build on this.

use std::fmt::Write as _;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, Value};

use crate::lite::{Conn, FromCols};

/// SQLite's default limit on bound parameters per statement since 3.32 (sqlx bundles a
/// newer SQLite).
const SQLITE_MAX_PARAMS: usize = 32_766;
/// PostgreSQL's wire protocol counts parameters in 16 bits.
const POSTGRES_MAX_PARAMS: usize = 65_535;
/// The widest row written (a history row) must fit in one statement.
const MIN_PARAMS: usize = 16;
/// Largest message one statement sends PostgreSQL, roughly (SQL text, parameter types and
/// values). sqlx 0.9.0 leaves Nagle's algorithm on (it does not set TCP_NODELAY), and a
/// message of 16 KiB or more then waits about 40 ms for the server's delayed ACK: measured
/// on loopback, 15 KiB answers in 0.3 ms and 16 KiB in 43 ms. Below that, several smaller
/// statements cost a round trip each, far less.
const POSTGRES_MESSAGE_BUDGET: usize = 12 * 1024;
/// What one bound value adds to a message besides the value: its placeholder in the text
/// and its type and length words.
const PER_PARAM_BYTES: usize = 14;
/// Prepared statements the writer's connection keeps. The seven batch statements take one
/// text per row count; on PostgreSQL the 12 KiB message budget caps the row counts of the
/// writes, so this holds every statement of batches up to 64 transfers, and the most used
/// ones of larger batches, without letting each connection's server memory grow unbounded.
const WRITER_STATEMENT_CACHE: usize = 512;

/// A pool of one connection with `db`'s settings and a large statement cache, for the
/// writer alone. Batch statements differ by row count, so the writer uses a few hundred
/// distinct statements; through the shared pool each batch would get a different
/// connection, each caching 100 statements, and most statements would be prepared again,
/// which on PostgreSQL costs an extra round trip each. An in-memory SQLite database is only
/// reachable through its own pool, so it keeps `db`.
///
/// On PostgreSQL the connection also plans joins as nested loops only. Every statement a
/// writer sends finds its rows by key (`UPDATE … FROM (VALUES …) WHERE t.id = v.id`, `IN`
/// lists), but with a few hundred rows in the `VALUES` list and a table of some ten
/// thousand rows the planner chose a hash join over a scan of the whole table: 5.5 ms for
/// 225 account updates instead of 1.5 ms by the primary key, and a cost that grows with the
/// table (bench_live, billing phase). Likewise a 128-value `IN` list over 20,000 wallets
/// was a sequential scan (2.3 ms) rather than an index scan (0.6 ms). Its cost model
/// assumes uncached random reads (`random_page_cost` 4); the rows a batch touches were
/// locked or read by the same transaction moments before, so the writers use 1.1.
pub fn own_connection(db: &DatabaseConnection) -> DatabaseConnection {
    use sea_orm::sqlx::postgres::PgPoolOptions;
    use sea_orm::sqlx::sqlite::SqlitePoolOptions;
    use sea_orm::{SqlxPostgresConnector, SqlxSqliteConnector};
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let options = (*db.get_postgres_connection_pool().connect_options())
                .clone()
                .statement_cache_capacity(WRITER_STATEMENT_CACHE)
                .options([
                    ("enable_hashjoin", "off"),
                    ("enable_mergejoin", "off"),
                    ("random_page_cost", "1.1"),
                ]);
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .connect_lazy_with(options);
            SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
        }
        DatabaseBackend::Sqlite => {
            if crate::is_in_memory(db) {
                return db.clone();
            }
            let options = (*db.get_sqlite_connection_pool().connect_options())
                .clone()
                .statement_cache_capacity(WRITER_STATEMENT_CACHE);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .connect_lazy_with(options);
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        _ => db.clone(),
    }
}

/// How large one statement may get: SQLite and PostgreSQL cap the bound parameters, and
/// on PostgreSQL the message size matters too (see `POSTGRES_MESSAGE_BUDGET`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    backend: DatabaseBackend,
    params: usize,
    bytes: usize,
}

impl Limits {
    pub fn new(backend: DatabaseBackend, max_params: Option<usize>) -> Self {
        let (params, bytes) = match backend {
            DatabaseBackend::Postgres => (POSTGRES_MAX_PARAMS, POSTGRES_MESSAGE_BUDGET),
            // In-process: nothing travels over a socket.
            _ => (SQLITE_MAX_PARAMS, usize::MAX),
        };
        Self {
            backend,
            params: max_params.unwrap_or(params).max(MIN_PARAMS),
            bytes,
        }
    }

    /// Splits `items` into runs that each fit one statement, given what each item adds
    /// (parameters, bytes of values). Every run holds at least one item.
    pub fn runs<'a, T>(&self, items: &'a [T], cost: impl Fn(&T) -> (usize, usize)) -> Vec<&'a [T]> {
        // Room for the statement's own text and its one trailing parameter.
        const FIXED: (usize, usize) = (1, 512);
        let (mut params, mut bytes) = FIXED;
        let mut runs = Vec::new();
        let mut start = 0;
        for (i, item) in items.iter().enumerate() {
            let (p, b) = cost(item);
            let b = b + p * PER_PARAM_BYTES;
            if i > start && (params + p > self.params || bytes.saturating_add(b) > self.bytes) {
                runs.push(&items[start..i]);
                start = i;
                (params, bytes) = FIXED;
            }
            params += p;
            bytes = bytes.saturating_add(b);
        }
        if start < items.len() {
            runs.push(&items[start..]);
        }
        runs
    }
}

/// Bytes of a value in a PostgreSQL message (binary format).
pub fn value_bytes(v: &Value) -> usize {
    match v {
        Value::String(Some(s)) => s.len(),
        Value::Uuid(Some(_)) => 16,
        Value::String(None) | Value::Uuid(None) => 0,
        _ => 8,
    }
}

/// A statement built with the backend's placeholders (`$n` on PostgreSQL, `?` on SQLite),
/// so parameters bind in the order they are written.
pub struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DatabaseBackend, head: &str) -> Self {
        Self {
            backend,
            text: head.to_owned(),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    pub fn bind(&mut self, v: impl Into<Value>) {
        self.values.push(v.into());
        match self.backend {
            DatabaseBackend::Postgres => {
                let _ = write!(self.text, "${}", self.values.len());
            }
            _ => self.text.push('?'),
        }
    }

    /// One parenthesised row of values, preceded by a comma unless it is the first.
    pub fn row(&mut self, first: bool, values: &[Value]) {
        self.push(if first { "(" } else { ", (" });
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v.clone());
        }
        self.push(")");
    }

    /// `(v, v, …)`, for an `IN` list.
    pub fn list(&mut self, values: impl IntoIterator<Item = Value>) {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")");
    }

    /// Locks the rows read, as an `UPDATE` would, on PostgreSQL; on SQLite the writer
    /// already holds the database's only write lock.
    pub fn lock_rows(&mut self) {
        if self.backend == DatabaseBackend::Postgres {
            self.push(" FOR NO KEY UPDATE");
        }
    }

    /// Runs the statement; returns the rows it changed.
    pub async fn exec(self, conn: Conn<'_>) -> Result<u64, DbErr> {
        match conn {
            Conn::Orm(txn) => {
                let stmt = Statement::from_sql_and_values(self.backend, self.text, self.values);
                Ok(txn.execute_raw(stmt).await?.rows_affected())
            }
            Conn::Lite(txn) => txn.execute(&self.text, &self.values),
        }
    }

    /// Runs a statement that returns rows (a `SELECT`, or `… RETURNING`), read as `T`.
    pub async fn rows<T: FromCols>(self, conn: Conn<'_>) -> Result<Vec<T>, DbErr> {
        match conn {
            Conn::Orm(txn) => {
                let stmt = Statement::from_sql_and_values(self.backend, self.text, self.values);
                let rows = txn.query_all_raw(stmt).await?;
                rows.iter().map(T::from_orm).collect()
            }
            Conn::Lite(txn) => txn.query(&self.text, &self.values),
        }
    }
}

/// Writes `rows` as `head (row), (row) … ` plus whatever `tail` adds, in as many statements
/// as `limit` needs; returns the rows affected in all.
pub async fn exec_rows(
    conn: Conn<'_>,
    limit: Limits,
    head: &str,
    rows: &[Vec<Value>],
    tail: impl Fn(&mut Sql),
) -> Result<u64, DbErr> {
    let mut affected = 0;
    let cost = |row: &Vec<Value>| (row.len(), row.iter().map(value_bytes).sum());
    for run in limit.runs(rows, cost) {
        let mut sql = Sql::new(limit.backend, head);
        for (i, row) in run.iter().enumerate() {
            sql.row(i == 0, row);
        }
        tail(&mut sql);
        affected += sql.exec(conn).await?;
    }
    Ok(affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_respect_the_parameter_limit() {
        let limit = Limits::new(DatabaseBackend::Sqlite, Some(16));
        let rows = [11usize; 5];
        // One 11-parameter row per statement when 16 are allowed (one is kept for the tail).
        assert_eq!(limit.runs(&rows, |n| (*n, 0)).len(), 5);
        let limit = Limits::new(DatabaseBackend::Sqlite, Some(23));
        assert_eq!(limit.runs(&rows, |n| (*n, 0)).len(), 3);
        let limit = Limits::new(DatabaseBackend::Sqlite, None);
        assert_eq!(limit.runs(&[11usize; 2_978], |n| (*n, 0)).len(), 1);
        assert_eq!(limit.runs(&[11usize; 2_979], |n| (*n, 0)).len(), 2);
        assert!(limit.runs(&[] as &[usize], |n| (*n, 0)).is_empty());
    }

    #[test]
    fn postgres_messages_stay_under_the_budget() {
        let limit = Limits::new(DatabaseBackend::Postgres, None);
        // A history row of about 300 bytes: 128 of them go out as several statements.
        let runs = limit.runs(&[150usize; 128], |b| (11, *b));
        assert!(runs.len() > 1);
        for run in &runs {
            let bytes: usize = run.iter().map(|b| b + 11 * PER_PARAM_BYTES).sum();
            assert!(bytes + 512 <= POSTGRES_MESSAGE_BUDGET, "{bytes}");
        }
        // A row larger than the budget still gets a statement of its own.
        assert_eq!(limit.runs(&[20_000usize, 10], |b| (1, *b)).len(), 2);
    }

    #[test]
    fn placeholders_follow_the_backend() {
        let mut sql = Sql::new(DatabaseBackend::Postgres, "VALUES ");
        sql.row(true, &[1i64.into(), 2i64.into()]);
        sql.row(false, &[3i64.into()]);
        assert_eq!(sql.text, "VALUES ($1, $2), ($3)");
        let mut sql = Sql::new(DatabaseBackend::Sqlite, "VALUES ");
        sql.row(true, &[1i64.into(), 2i64.into()]);
        assert_eq!(sql.text, "VALUES (?, ?)");
    }
}
