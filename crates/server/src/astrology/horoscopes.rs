//! Daily horoscopes per sign, written by admins: `/api/v1/horoscopes…` to read (public),
//! `/api/v1/admin/horoscopes/{date}/{sign}` to write and delete (audited).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::SIGNS;
use crate::app::AppState;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, ClientMeta};
use domain::audit::{self, Change};
use domain::validate::Check;
use store::entity::daily_horoscope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_for_day))
        .routes(routes!(one_sign))
        .routes(routes!(put_horoscope, delete_horoscope))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoroscopeView {
    /// `aries` … `pisces`.
    pub sign: String,
    pub date: NaiveDate,
    pub text: String,
    pub mood: Option<String>,
    pub lucky_color: Option<String>,
    pub lucky_number: Option<i32>,
    pub updated_at: DateTime<Utc>,
}

impl From<daily_horoscope::Model> for HoroscopeView {
    fn from(m: daily_horoscope::Model) -> Self {
        Self {
            sign: m.sign,
            date: m.date,
            text: m.text,
            mood: m.mood,
            lucky_color: m.lucky_color,
            lucky_number: m.lucky_number,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// `YYYY-MM-DD`; default today (UTC).
    pub date: Option<NaiveDate>,
}

fn sign_of(raw: &str) -> ApiResult<&'static str> {
    let lower = raw.trim().to_ascii_lowercase();
    SIGNS.iter().copied().find(|s| *s == lower).ok_or_else(|| {
        ApiError::field(
            "sign",
            "unknown_sign",
            "must be one of aries, taurus, gemini, cancer, leo, virgo, libra, scorpio, \
             sagittarius, capricorn, aquarius, pisces",
        )
    })
}

/// Published horoscopes of a day, in zodiac order (signs without one are absent).
#[utoipa::path(get, path = "/api/v1/horoscopes", tag = "astrology", params(DayQuery),
    responses((status = 200, body = Vec<HoroscopeView>), (status = 422, body = Problem)))]
async fn list_for_day(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<ApiJson<Vec<HoroscopeView>>> {
    let date = q.date.unwrap_or_else(|| app.clock.now().date_naive());
    let mut rows = daily_horoscope::Entity::find()
        .filter(daily_horoscope::Column::Date.eq(date))
        .order_by_asc(daily_horoscope::Column::Sign)
        .all(&app.db)
        .await?;
    rows.sort_by_key(|r| SIGNS.iter().position(|s| *s == r.sign));
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

/// One sign's horoscope for a day.
#[utoipa::path(get, path = "/api/v1/horoscopes/{sign}", tag = "astrology",
    params(("sign" = String, Path, description = "aries … pisces"), DayQuery),
    responses((status = 200, body = HoroscopeView), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn one_sign(
    State(app): State<AppState>,
    ApiPath(sign): ApiPath<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<ApiJson<HoroscopeView>> {
    let sign = sign_of(&sign)?;
    let date = q.date.unwrap_or_else(|| app.clock.now().date_naive());
    let row = daily_horoscope::Entity::find()
        .filter(daily_horoscope::Column::Date.eq(date))
        .filter(daily_horoscope::Column::Sign.eq(sign))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Horoscope"))?;
    Ok(ApiJson(row.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoroscopeBody {
    pub text: String,
    pub mood: Option<String>,
    pub lucky_color: Option<String>,
    /// 1 … 99.
    pub lucky_number: Option<i32>,
}

/// Write (or replace) a sign's horoscope for a day.
#[utoipa::path(put, path = "/api/v1/admin/horoscopes/{date}/{sign}", tag = "admin",
    params(("date" = NaiveDate, Path), ("sign" = String, Path)), request_body = HoroscopeBody,
    responses((status = 200, body = HoroscopeView), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_horoscope(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath((date, sign)): ApiPath<(NaiveDate, String)>,
    ApiJson(body): ApiJson<HoroscopeBody>,
) -> ApiResult<ApiJson<HoroscopeView>> {
    let sign = sign_of(&sign)?;
    let mut c = Check::new();
    let text = c.text("text", &body.text, 1, 4_000);
    let mood = c.opt_text("mood", body.mood.as_deref(), 40);
    let lucky_color = c.opt_text("lucky_color", body.lucky_color.as_deref(), 40);
    if let Some(n) = body.lucky_number {
        c.range("lucky_number", n, 1, 99);
    }
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let find = || {
        daily_horoscope::Entity::find()
            .filter(daily_horoscope::Column::Date.eq(date))
            .filter(daily_horoscope::Column::Sign.eq(sign))
    };
    let before = find().one(&txn).await?;
    daily_horoscope::Entity::insert(daily_horoscope::ActiveModel {
        id: Set(Uuid::now_v7()),
        sign: Set(sign.to_owned()),
        date: Set(date),
        text: Set(text),
        mood: Set(mood),
        lucky_color: Set(lucky_color),
        lucky_number: Set(body.lucky_number),
        updated_by: Set(admin.0.id),
        updated_at: Set(now),
    })
    // Two admins saving the same day at once: the last write wins, never a 500.
    .on_conflict(
        OnConflict::columns([daily_horoscope::Column::Date, daily_horoscope::Column::Sign])
            .update_columns([
                daily_horoscope::Column::Text,
                daily_horoscope::Column::Mood,
                daily_horoscope::Column::LuckyColor,
                daily_horoscope::Column::LuckyNumber,
                daily_horoscope::Column::UpdatedBy,
                daily_horoscope::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let row = find()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("horoscope vanished after upsert")))?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "horoscope.put",
            target_type: "daily_horoscope",
            target_id: format!("{date}/{sign}"),
            before: before.map(|b| json!({"text": b.text})),
            after: Some(json!({"text": row.text})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ApiJson(row.into()))
}

/// Withdraw a sign's horoscope for a day.
#[utoipa::path(delete, path = "/api/v1/admin/horoscopes/{date}/{sign}", tag = "admin",
    params(("date" = NaiveDate, Path), ("sign" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn delete_horoscope(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath((date, sign)): ApiPath<(NaiveDate, String)>,
) -> ApiResult<StatusCode> {
    let sign = sign_of(&sign)?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let res = daily_horoscope::Entity::delete_many()
        .filter(daily_horoscope::Column::Date.eq(date))
        .filter(daily_horoscope::Column::Sign.eq(sign))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(ApiError::not_found("Horoscope"));
    }
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "horoscope.delete",
            target_type: "daily_horoscope",
            target_id: format!("{date}/{sign}"),
            before: None,
            after: None,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
