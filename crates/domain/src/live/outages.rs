//! Service outages: stretches when no node was alive, cut out of every session's clock.
//!
//! Each node records a heartbeat (`node_heartbeats`) every `node_heartbeat_secs`. A node
//! that starts while no heartbeat is fresher than three periods knows that no node was alive
//! from the last heartbeat until now, and records that stretch (`service_outages`) before it
//! serves anything or bills a minute. Billing then counts only live time (see
//! `billing::live_ms`), so the seconds a crash or a deploy kept both sides apart are never
//! charged, and a session a long outage ended says so (`service_interrupted`) instead of
//! blaming a participant. Several nodes starting at once may each record the outage: an
//! instant is cut once however many records cover it.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use tokio::sync::watch;
use uuid::Uuid;

use super::billing::Outage;
use crate::Services;
use store::entity::{node_heartbeat, service_outage};

/// Outages older than this are not loaded: no session runs that long.
const KEPT_DAYS: i64 = 7;

/// The outages this node knows of, shared by its billing paths.
#[derive(Clone, Default, Debug)]
pub struct Outages(Arc<RwLock<Arc<Vec<Outage>>>>);

impl Outages {
    pub fn current(&self) -> Arc<Vec<Outage>> {
        self.0.read().map(|o| o.clone()).unwrap_or_default()
    }

    fn replace(&self, outages: Vec<Outage>) {
        if let Ok(mut o) = self.0.write() {
            *o = Arc::new(outages);
        }
    }
}

/// How long without any heartbeat means that no node was alive.
pub fn silence(period_secs: u64) -> Duration {
    Duration::seconds(3 * period_secs.max(1) as i64)
}

/// Records this node's first heartbeat, and the outage before it when every other node's
/// heartbeat is older than [`silence`]; then loads the recent outages. Runs at start, before
/// the node bills or serves.
pub async fn start(
    db: &DatabaseConnection,
    outages: &Outages,
    node: &str,
    now: DateTime<Utc>,
    period_secs: u64,
) -> Result<Option<Outage>, DbErr> {
    let last: Option<Option<DateTime<Utc>>> = node_heartbeat::Entity::find()
        .select_only()
        .column_as(node_heartbeat::Column::BeatAt.max(), "last")
        .into_tuple()
        .one(db)
        .await?;
    let mut recorded = None;
    if let Some(last) = last.flatten()
        && now - last > silence(period_secs)
    {
        service_outage::Entity::insert(service_outage::ActiveModel {
            id: Set(Uuid::now_v7()),
            started_at: Set(last),
            ended_at: Set(now),
            recorded_by: Set(node.to_owned()),
        })
        .exec_without_returning(db)
        .await?;
        tracing::warn!(from = %last, to = %now, "no node was alive: this outage is not billed");
        recorded = Some(Outage {
            from: last,
            to: now,
        });
    }
    beat(db, node, now).await?;
    reload(db, outages, now).await?;
    Ok(recorded)
}

async fn beat(db: &DatabaseConnection, node: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    node_heartbeat::Entity::insert(node_heartbeat::ActiveModel {
        node_id: Set(node.to_owned()),
        started_at: Set(now),
        beat_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(node_heartbeat::Column::NodeId)
            .update_column(node_heartbeat::Column::BeatAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

async fn reload(
    db: &DatabaseConnection,
    outages: &Outages,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows = service_outage::Entity::find()
        .filter(service_outage::Column::EndedAt.gt(now - Duration::days(KEPT_DAYS)))
        .all(db)
        .await?;
    outages.replace(
        rows.into_iter()
            .map(|r| Outage {
                from: r.started_at,
                to: r.ended_at,
            })
            .collect(),
    );
    Ok(())
}

/// Beats every `node_heartbeat_secs` until `stop` flips; reloads the outages (another node
/// may have recorded one) and forgets nodes silent for a day.
pub fn spawn_heartbeat(app: &Services, mut stop: watch::Receiver<bool>) {
    let app = app.clone();
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(app.config.node_heartbeat_secs.max(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => break,
            }
            let now = app.clock.now();
            let done = async {
                beat(&app.db, &app.node_id, now).await?;
                reload(&app.db, &app.outages, now).await?;
                node_heartbeat::Entity::delete_many()
                    .filter(node_heartbeat::Column::BeatAt.lt(now - Duration::days(1)))
                    .filter(node_heartbeat::Column::NodeId.ne(app.node_id.as_str()))
                    .exec(&app.db)
                    .await?;
                Ok::<_, DbErr>(())
            };
            if let Err(e) = done.await {
                tracing::warn!(error = %e, "node heartbeat not recorded");
            }
        }
    });
}
