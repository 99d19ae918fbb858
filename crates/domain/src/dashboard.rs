//! The operator's first screen: money per day over the last 30 days in the platform's
//! zone, read from the ledger, and the queues that wait for someone, read from the domain
//! tables. Nothing here is stored; every figure is summed from the rows it describes.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, Statement,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Result;
use crate::ledger::AccountKind;
use store::entity::{consultation, job, notification_queue, payout, practitioner};
use store::status::{ConsultationStatus, DeliveryStatus, JobStatus, PayoutStatus};

/// How many days the charts cover, today included.
pub const DAYS: u32 = 30;

/// One day's money, in minor units of the dashboard's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayMoney {
    /// The calendar day in the platform's zone.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Money clients paid in through a gateway.
    pub topups: i64,
    /// What sessions and appointments charged: the practitioners' share, the commission
    /// and the part promotions paid.
    pub consultation_revenue: i64,
    /// The platform's commission on those charges.
    pub commission: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    pub currency: String,
    /// The zone whose midnights divide the days.
    pub time_zone: String,
    /// The last 30 days, oldest first; the last one is today.
    pub days: Vec<DayMoney>,
    pub today: DayMoney,
    /// Sums over `days`.
    pub last_30_days: DayMoney,
    pub consultations_live: u64,
    pub consultations_requested: u64,
    pub applications_waiting: u64,
    pub payouts_waiting: u64,
    pub failed_deliveries: u64,
    pub dead_jobs: u64,
    /// Whether the ledger balances and every wallet equals its accounts.
    pub books_balanced: bool,
}

/// The dashboard as of `now`, with days cut at midnight in `zone`.
pub async fn dashboard(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    zone: Tz,
    currency: &str,
) -> Result<Dashboard> {
    let today = now.with_timezone(&zone).date_naive();
    let first = today - Days::new(u64::from(DAYS - 1));
    let mut days = Vec::with_capacity(DAYS as usize);
    for offset in 0..DAYS {
        let day = first + Days::new(u64::from(offset));
        days.push(day_money(db, day, zone, currency).await?);
    }
    let last_30_days = days.iter().fold(
        DayMoney {
            day: first,
            ..DayMoney::default()
        },
        |sum, d| DayMoney {
            day: sum.day,
            topups: sum.topups + d.topups,
            consultation_revenue: sum.consultation_revenue + d.consultation_revenue,
            commission: sum.commission + d.commission,
        },
    );
    let consultations = |status: ConsultationStatus| {
        consultation::Entity::find()
            .filter(consultation::Column::Status.eq(status))
            .count(db)
    };
    let (consultations_live, consultations_requested) = (
        consultations(ConsultationStatus::Active).await?,
        consultations(ConsultationStatus::Requested).await?,
    );
    let applications_waiting = practitioner::Entity::find()
        .filter(practitioner::Column::VerificationStatus.eq("pending"))
        .count(db)
        .await?;
    let payouts_waiting = payout::Entity::find()
        .filter(payout::Column::Status.eq(PayoutStatus::Requested))
        .count(db)
        .await?;
    let failed_deliveries = notification_queue::Entity::find()
        .filter(notification_queue::Column::Status.eq(DeliveryStatus::Dead))
        .count(db)
        .await?;
    let dead_jobs = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Dead))
        .count(db)
        .await?;
    let books_balanced = crate::wallet::reconciliation(db).await?.balanced;
    Ok(Dashboard {
        currency: currency.to_owned(),
        time_zone: zone.name().to_owned(),
        today: days.last().cloned().unwrap_or_default(),
        days,
        last_30_days,
        consultations_live,
        consultations_requested,
        applications_waiting,
        payouts_waiting,
        failed_deliveries,
        dead_jobs,
        books_balanced,
    })
}

/// The first instant of `day` in `zone` (the earliest one when a clock change repeats it;
/// midnight skipped by a clock change starts the day an hour later).
fn start_of(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    zone.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// One day's ledger legs, grouped by transfer kind and the kind of account credited.
async fn day_money(
    db: &DatabaseConnection,
    day: NaiveDate,
    zone: Tz,
    currency: &str,
) -> Result<DayMoney> {
    let backend = db.get_database_backend();
    let p = |i: usize| match backend {
        DbBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    };
    let sql = format!(
        "SELECT t.kind AS transfer_kind, a.kind AS credit_kind, CAST(SUM(t.amount) AS BIGINT) AS total \
         FROM ledger_transfers t JOIN ledger_accounts a ON a.id = t.credit_account_id \
         WHERE t.currency = {} AND t.created_at >= {} AND t.created_at < {} \
         AND t.kind IN ('topup', 'consultation', 'booking') \
         GROUP BY t.kind, a.kind",
        p(1),
        p(2),
        p(3)
    );
    let from = start_of(day, zone);
    let until = start_of(day + Days::new(1), zone);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [currency.into(), from.into(), until.into()],
        ))
        .await?;
    let mut money = DayMoney {
        day,
        ..DayMoney::default()
    };
    for row in rows {
        let transfer_kind: String = row.try_get("", "transfer_kind")?;
        let credit_kind: String = row.try_get("", "credit_kind")?;
        let total: i64 = row.try_get("", "total")?;
        match (transfer_kind.as_str(), credit_kind.as_str()) {
            ("topup", _) => money.topups += total,
            (_, k) if k == AccountKind::PlatformRevenue.as_str() => {
                money.consultation_revenue += total;
                money.commission += total;
            }
            (_, k) if k == AccountKind::PractitionerEarnings.as_str() => {
                money.consultation_revenue += total;
            }
            // Booking holds move client money between the client's own accounts.
            _ => {}
        }
    }
    Ok(money)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_local_midnight() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            start_of(day, kolkata).to_rfc3339(),
            "2026-12-06T18:30:00+00:00"
        );
        // São Paulo skipped midnight on 2018-11-04: the day began at 01:00 local.
        let sao_paulo: Tz = "America/Sao_Paulo".parse().unwrap();
        let skipped = NaiveDate::from_ymd_opt(2018, 11, 4).unwrap();
        assert_eq!(
            start_of(skipped, sao_paulo).to_rfc3339(),
            "2018-11-04T03:00:00+00:00"
        );
    }
}
