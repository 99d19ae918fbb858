//! Durable background jobs: a `jobs` table in the main database and in-process workers.
//!
//! Any node's workers may claim a due job (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite
//! serialises writers, so a plain conditional update is enough). A failed job is retried
//! with exponential backoff and parked as `dead` after its last attempt, where admins see it.
//! A job whose worker died is taken back once its lock is older than the lock timeout.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set,
    Statement, Value,
};
use serde_json::json;
use uuid::Uuid;

use crate::Services;
use crate::sms::SmsMessage;
use store::entity::job;

pub const SEND_SMS: &str = "send_sms";
/// Posts a sandbox gateway webhook (see `payments::sandbox`).
pub const DELIVER_WEBHOOK: &str = "deliver_webhook";

/// Attached as context to a job's error (`err.context(Permanent)`) when retrying cannot
/// help (a template that does not render, a number the SMS provider rejects): the job is
/// dead at once instead of after its last attempt.
#[derive(Debug, Clone, Copy)]
pub struct Permanent;

impl std::fmt::Display for Permanent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("permanent failure")
    }
}

/// Kinds whose payload holds a secret (an OTP code): scrubbed once the job is finished.
const SECRET_PAYLOAD_KINDS: &[&str] = &[SEND_SMS];

pub use store::status::JobStatus;

/// Adds a job inside the caller's transaction, so it exists exactly when the change that
/// caused it does.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    kind: &str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    max_attempts: i32,
) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    job::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        payload: Set(payload.to_string()),
        status: Set(JobStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        max_attempts: Set(max_attempts),
        run_at: Set(run_at),
        locked_at: Set(None),
        locked_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// Delay before retry number `attempts` (1-based): 5 s, 10 s, 20 s … capped at one hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 20) - 1;
    chrono::Duration::seconds((5i64 << exp).min(3600))
}

#[derive(Debug)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Takes one due job for `worker`. The one function that differs per dialect.
pub async fn claim(app: &Services, worker: &str) -> Result<Option<ClaimedJob>, sea_orm::DbErr> {
    let now = app.clock.now();
    let stale = now - chrono::Duration::seconds(app.config.job_lock_timeout_secs);
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE jobs SET status = 'running', locked_at = $1, locked_by = $2, \
             attempts = attempts + 1, updated_at = $1 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (status = 'pending' AND run_at <= $1) OR (status = 'running' AND locked_at < $3) \
                 ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, payload, attempts, max_attempts"
        }
        _ => {
            "UPDATE jobs SET status = 'running', locked_at = $1, locked_by = $2, \
             attempts = attempts + 1, updated_at = $1 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (status = 'pending' AND run_at <= $1) OR (status = 'running' AND locked_at < $3) \
                 ORDER BY run_at LIMIT 1) \
             RETURNING id, kind, payload, attempts, max_attempts"
        }
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            Value::from(now),
            Value::from(worker.to_owned()),
            Value::from(stale),
        ],
    );
    let Some(row) = app.db.query_one_raw(stmt).await? else {
        return Ok(None);
    };
    let payload: String = row.try_get("", "payload")?;
    Ok(Some(ClaimedJob {
        id: row.try_get("", "id")?,
        kind: row.try_get("", "kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        attempts: row.try_get("", "attempts")?,
        max_attempts: row.try_get("", "max_attempts")?,
    }))
}

/// Runs one job's handler. New job kinds add an arm here.
async fn dispatch(app: &Services, job: &ClaimedJob) -> anyhow::Result<()> {
    match job.kind.as_str() {
        SEND_SMS => {
            let to = job.payload["to"].as_str().unwrap_or_default().to_owned();
            let body = job.payload["body"].as_str().unwrap_or_default().to_owned();
            anyhow::ensure!(!to.is_empty(), "send_sms job without a recipient");
            app.sms.send(&SmsMessage { to, body }).await.map(|_| ())
        }
        DELIVER_WEBHOOK => crate::payments::sandbox::deliver(app, &job.payload).await,
        crate::notifications::DELIVER => crate::notifications::delivery::run(app, job).await,
        other => anyhow::bail!("no handler for job kind {other}"),
    }
}

async fn finish(
    app: &Services,
    job: &ClaimedJob,
    worker: &str,
    result: anyhow::Result<()>,
) -> Result<(), sea_orm::DbErr> {
    let now = app.clock.now();
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            job::Column::LockedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::LockedBy.eq(worker));
    let terminal = match &result {
        Ok(()) => {
            update = update.col_expr(job::Column::Status, Expr::value(JobStatus::Done.as_str()));
            true
        }
        Err(err) => {
            let msg: String = format!("{err:#}").chars().take(2000).collect();
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %msg, "job failed");
            update = update.col_expr(job::Column::LastError, Expr::value(msg));
            if job.attempts >= job.max_attempts || err.downcast_ref::<Permanent>().is_some() {
                update =
                    update.col_expr(job::Column::Status, Expr::value(JobStatus::Dead.as_str()));
                true
            } else {
                update
                    .col_expr(
                        job::Column::Status,
                        Expr::value(JobStatus::Pending.as_str()),
                    )
                    .col_expr(job::Column::RunAt, Expr::value(now + backoff(job.attempts)))
                    .exec(&app.db)
                    .await?;
                return Ok(());
            }
        }
    };
    if terminal && SECRET_PAYLOAD_KINDS.contains(&job.kind.as_str()) {
        update = update.col_expr(
            job::Column::Payload,
            Expr::value(json!({"scrubbed": true}).to_string()),
        );
    }
    update.exec(&app.db).await?;
    Ok(())
}

/// Claims and runs one due job; `false` when none was due.
pub async fn run_one(app: &Services, worker: &str) -> Result<bool, sea_orm::DbErr> {
    let Some(job) = claim(app, worker).await? else {
        return Ok(false);
    };
    let result = dispatch(app, &job).await;
    finish(app, &job, worker, result).await?;
    Ok(true)
}

/// Runs due jobs until none is left; returns how many ran. Tests call this to drain.
pub async fn run_pending(app: &Services) -> Result<usize, sea_orm::DbErr> {
    let mut n = 0;
    while run_one(app, "drain").await? {
        n += 1;
    }
    Ok(n)
}

/// Starts `count` worker loops that stop when `shutdown` flips to true.
pub fn spawn_workers(app: &Services, count: usize, shutdown: tokio::sync::watch::Receiver<bool>) {
    for i in 0..count {
        let app = app.clone();
        let mut shutdown = shutdown.clone();
        let worker = format!("{}-{i}", app.node_id);
        tokio::spawn(async move {
            let poll = Duration::from_millis(app.config.job_poll_interval_ms.max(10));
            loop {
                if *shutdown.borrow() {
                    break;
                }
                match run_one(&app, &worker).await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(err) => tracing::error!(error = %err, "job worker could not claim"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = app.job_wakeup.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
        });
    }
}

/// Periodic work that needs no queue, every 30 s: gateway refunds stuck in `pending`, and
/// bookings moved along with time (expiries, reminders, closing appointments).
pub fn spawn_maintenance(app: &Services, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = crate::payments::refunds::sweep(&app).await {
                tracing::warn!(error = ?e, "refund sweep failed");
            }
            if let Err(e) = crate::scheduling::bookings::sweep(&app).await {
                tracing::warn!(error = ?e, "booking sweep failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = shutdown.changed() => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1).num_seconds(), 5);
        assert_eq!(backoff(2).num_seconds(), 10);
        assert_eq!(backoff(4).num_seconds(), 40);
        assert_eq!(backoff(30).num_seconds(), 3600);
    }
}
