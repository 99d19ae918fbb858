//! Phone one-time codes: 6 digits, stored as a keyed hash, valid for a few minutes,
//! a bounded number of guesses, and a cooldown between sends.

use chrono::Duration;
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use domain::validate::PhoneNumber;
use store::entity::otp_code;

pub struct OtpIssued {
    pub expires_in: i64,
    pub resend_after: i64,
}

fn code_hash(app: &AppState, phone: &PhoneNumber, code: &str) -> String {
    app.keys.keyed_hash(&["otp", phone.as_str(), code])
}

/// Creates a code for `phone` and queues its SMS (the `otp` notification) in the same
/// transaction.
pub async fn issue(app: &AppState, phone: &PhoneNumber) -> ApiResult<OtpIssued> {
    let now = app.clock.now();
    let cooldown = app.config.otp_resend_cooldown_secs;
    let latest = otp_code::Entity::find()
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .order_by_desc(otp_code::Column::CreatedAt)
        .one(&app.db)
        .await?;
    if let Some(last) = latest {
        // Rounded up, so a client that waits exactly this long is never early.
        let wait = (last.created_at + Duration::seconds(cooldown) - now).num_milliseconds();
        let wait = (wait + 999).div_euclid(1000);
        if wait > 0 {
            let mut err = ApiError::rate_limited(wait as u64);
            err.code = "otp_resend_too_soon";
            err.detail = format!("A code was sent recently; ask again in {wait} s");
            return Err(err);
        }
    }
    let day_ago = now - Duration::hours(24);
    let recent = otp_code::Entity::find()
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .filter(otp_code::Column::CreatedAt.gt(day_ago))
        .order_by_asc(otp_code::Column::CreatedAt)
        .all(&app.db)
        .await?;
    if recent.len() as u64 >= app.config.otp_max_sends_per_day {
        // With five guesses a code, this caps guesses at a number a day.
        let oldest = recent.first().map(|c| c.created_at).unwrap_or(now);
        let wait = std::cmp::max((oldest + Duration::hours(24) - now).num_seconds(), 1);
        let mut err = ApiError::rate_limited(wait as u64);
        err.code = "otp_daily_limit";
        err.detail = "Too many codes were sent to this number today".into();
        return Err(err);
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let txn = store::begin_write(&app.db).await?;
    // Only the newest code is valid: older ones are spent when a new one is sent.
    otp_code::Entity::update_many()
        .col_expr(otp_code::Column::ConsumedAt, Expr::value(now))
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    otp_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        phone: Set(phone.as_str().to_owned()),
        code_hash: Set(code_hash(app, phone, &code)),
        attempts: Set(0),
        expires_at: Set(now + Duration::seconds(app.config.otp_ttl_secs)),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // A security event: it ignores preferences and quiet hours, and the code is scrubbed
    // from the delivery row once sent.
    crate::notifications::notify_phone(
        &txn,
        now,
        phone.as_str(),
        "otp",
        serde_json::json!({"code": code, "minutes": app.config.otp_ttl_secs / 60}),
    )
    .await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(OtpIssued {
        expires_in: app.config.otp_ttl_secs,
        resend_after: cooldown,
    })
}

/// Spends one guess on the newest live code for `phone`.
pub async fn verify(app: &AppState, phone: &PhoneNumber, code: &str) -> ApiResult<()> {
    let now = app.clock.now();
    let Some(row) = otp_code::Entity::find()
        .filter(otp_code::Column::Phone.eq(phone.as_str()))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .order_by_desc(otp_code::Column::CreatedAt)
        .one(&app.db)
        .await?
    else {
        return Err(ApiError::bad_request(
            "otp_not_found",
            "No code is pending for this phone; request one",
        ));
    };
    if row.expires_at <= now {
        return Err(ApiError::bad_request(
            "otp_expired",
            "The code has expired; request a new one",
        ));
    }
    let max = app.config.otp_max_attempts;
    // Counting the guess is a conditional update, so parallel guesses cannot exceed the limit.
    let counted = otp_code::Entity::update_many()
        .col_expr(
            otp_code::Column::Attempts,
            Expr::col(otp_code::Column::Attempts).add(1),
        )
        .filter(otp_code::Column::Id.eq(row.id))
        .filter(otp_code::Column::Attempts.lt(max))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .exec(&app.db)
        .await?;
    if counted.rows_affected != 1 {
        return Err(ApiError::bad_request(
            "otp_attempts_exceeded",
            "Too many wrong codes; request a new one",
        ));
    }
    let expected = row.code_hash.as_bytes();
    let given = code_hash(app, phone, code);
    if !bool::from(expected.ct_eq(given.as_bytes())) {
        let left = max - row.attempts - 1;
        if left <= 0 {
            return Err(ApiError::bad_request(
                "otp_attempts_exceeded",
                "Too many wrong codes; request a new one",
            ));
        }
        return Err(ApiError::bad_request(
            "otp_invalid",
            format!("The code is not correct; {left} attempts left"),
        ));
    }
    let spent = otp_code::Entity::update_many()
        .col_expr(otp_code::Column::ConsumedAt, Expr::value(now))
        .filter(otp_code::Column::Id.eq(row.id))
        .filter(otp_code::Column::ConsumedAt.is_null())
        .exec(&app.db)
        .await?;
    if spent.rows_affected != 1 {
        return Err(ApiError::bad_request(
            "otp_not_found",
            "The code was already used; request a new one",
        ));
    }
    Ok(())
}
