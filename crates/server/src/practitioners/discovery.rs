//! The public list of approved practitioners: filters, sorts, text search and keyset
//! pagination. A cursor holds the last row's sort value and id, so pages neither repeat
//! nor skip rows when practitioners are added or removed between requests.

use axum::extract::State;
use sea_orm::sea_query::Order;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, IdenStatic, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Availability, Channel, PractitionerKind, PractitionerPublic, Verification};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiQuery, Page, decode_cursor, encode_cursor, page_limit};
use domain::validate::Check;
use store::entity::{practitioner, practitioner_language, practitioner_specialization};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Highest rated first.
    #[default]
    Rating,
    /// Cheapest first, on the `channel` rate.
    Price,
    /// Most experienced first.
    Experience,
    /// Most consultations first.
    Popularity,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub kind: Option<PractitionerKind>,
    /// Exact specialization, e.g. `career`.
    pub specialization: Option<String>,
    /// Language code, e.g. `hi`.
    pub language: Option<String>,
    /// Minimum average rating, 0–5.
    pub min_rating: Option<f64>,
    /// Channel the price filters and price sort use (default `chat`).
    pub channel: Option<Channel>,
    /// Minimum per-minute price in minor units.
    pub min_price: Option<i64>,
    /// Maximum per-minute price in minor units.
    pub max_price: Option<i64>,
    /// Only practitioners online now.
    pub online: Option<bool>,
    /// Words to find in name, bio and specializations.
    pub q: Option<String>,
    pub sort: Option<Sort>,
    pub cursor: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    s: Sort,
    k: i64,
    i: Uuid,
}

/// Validated filters, ready to run.
#[derive(Debug, Clone)]
pub struct Listing {
    kind: Option<PractitionerKind>,
    specialization: Option<String>,
    language: Option<String>,
    min_rating_centi: Option<i32>,
    channel: Channel,
    min_price: Option<i64>,
    max_price: Option<i64>,
    online: bool,
    q: Option<String>,
    sort: Sort,
    after: Option<(i64, Uuid)>,
    limit: u64,
}

impl Listing {
    pub fn parse(q: ListQuery) -> ApiResult<Self> {
        let mut c = Check::new();
        let min_rating_centi = q.min_rating.map(|r| {
            c.ensure(
                r.is_finite() && (0.0..=5.0).contains(&r),
                "min_rating",
                "out_of_range",
                "must be between 0 and 5",
            );
            (r.clamp(0.0, 5.0) * 100.0).round() as i32
        });
        for (field, v) in [("min_price", q.min_price), ("max_price", q.max_price)] {
            if let Some(v) = v {
                c.range(field, v, 0, i64::MAX / 2);
            }
        }
        if let (Some(lo), Some(hi)) = (q.min_price, q.max_price) {
            c.ensure(
                lo <= hi,
                "min_price",
                "invalid_range",
                "must not exceed max_price",
            );
        }
        let text =
            q.q.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| c.text("q", s, 1, 100).to_lowercase());
        let specialization = q
            .specialization
            .as_deref()
            .map(|s| c.text("specialization", s, 1, 60).to_lowercase());
        let language = q
            .language
            .as_deref()
            .map(|s| c.text("language", s, 1, 16).to_lowercase());
        let limit = match page_limit(q.limit) {
            Ok(l) => l,
            Err(_) => {
                c.fail("limit", "out_of_range", "must be between 1 and 100");
                20
            }
        };
        c.finish()?;
        let sort = q.sort.unwrap_or_default();
        let after = match q.cursor.as_deref() {
            Some(raw) => {
                let cur: Cursor = decode_cursor(raw)?;
                if cur.s != sort {
                    return Err(ApiError::field(
                        "cursor",
                        "invalid_cursor",
                        "belongs to a different sort",
                    ));
                }
                Some((cur.k, cur.i))
            }
            None => None,
        };
        Ok(Self {
            kind: q.kind,
            specialization,
            language,
            min_rating_centi,
            channel: q.channel.unwrap_or(Channel::Chat),
            min_price: q.min_price,
            max_price: q.max_price,
            online: q.online.unwrap_or(false),
            q: text,
            sort,
            after,
            limit,
        })
    }

    fn rate_column(&self) -> practitioner::Column {
        match self.channel {
            Channel::Chat => practitioner::Column::RateChatMinor,
            Channel::Call => practitioner::Column::RateCallMinor,
            Channel::Video => practitioner::Column::RateVideoMinor,
        }
    }

    fn sort_column(&self) -> practitioner::Column {
        match self.sort {
            Sort::Rating => practitioner::Column::RatingAvgCenti,
            Sort::Price => self.rate_column(),
            Sort::Experience => practitioner::Column::ExperienceYears,
            Sort::Popularity => practitioner::Column::TotalConsultations,
        }
    }

    /// Runs the query: one round trip, at most `limit + 1` rows (the extra one says
    /// whether another page exists).
    pub async fn run(
        &self,
        db: &DatabaseConnection,
    ) -> Result<Page<Box<RawValue>>, sea_orm::DbErr> {
        use practitioner::Column as P;
        let mut query = practitioner::Entity::find()
            .filter(P::VerificationStatus.eq(Verification::Approved.as_str()));
        if let Some(k) = self.kind {
            query = query.filter(P::Kind.eq(k.as_str()));
        }
        // Correlated EXISTS (not IN): the planner keeps walking the sort index and probes the
        // filter table's primary key per row, instead of sorting every match first.
        if let Some(s) = &self.specialization {
            query = query.filter(Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(practitioner_specialization::Entity)
                    .and_where(
                        Expr::col((
                            practitioner_specialization::Entity,
                            practitioner_specialization::Column::PractitionerId,
                        ))
                        .equals((practitioner::Entity, P::Id)),
                    )
                    .and_where(practitioner_specialization::Column::Specialization.eq(s.clone()))
                    .to_owned(),
            ));
        }
        if let Some(l) = &self.language {
            query = query.filter(Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(practitioner_language::Entity)
                    .and_where(
                        Expr::col((
                            practitioner_language::Entity,
                            practitioner_language::Column::PractitionerId,
                        ))
                        .equals((practitioner::Entity, P::Id)),
                    )
                    .and_where(practitioner_language::Column::Language.eq(l.clone()))
                    .to_owned(),
            ));
        }
        if let Some(r) = self.min_rating_centi {
            query = query.filter(P::RatingAvgCenti.gte(r));
        }
        let rate = self.rate_column();
        if self.sort == Sort::Price || self.min_price.is_some() || self.max_price.is_some() {
            query = query.filter(rate.is_not_null());
        }
        if let Some(lo) = self.min_price {
            query = query.filter(rate.gte(lo));
        }
        if let Some(hi) = self.max_price {
            query = query.filter(rate.lte(hi));
        }
        if self.online {
            query = query.filter(P::AvailabilityStatus.eq(Availability::Online.as_str()));
        }
        if let Some(text) = &self.q {
            for word in text.split_whitespace().take(5) {
                let escaped = word
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                query = query.filter(
                    Expr::col((practitioner::Entity, P::SearchText))
                        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
                );
            }
        }
        let col = self.sort_column();
        let ascending = self.sort == Sort::Price;
        if let Some((k, id)) = self.after {
            // The id tie-break runs in the same direction as the sort, so one index serves
            // the whole ORDER BY (no sort step).
            let (beyond, tie) = if ascending {
                (col.gt(k), P::Id.gt(id))
            } else {
                (col.lt(k), P::Id.lt(id))
            };
            query = query.filter(
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(col.eq(k)).add(tie)),
            );
        }
        let order = if ascending { Order::Asc } else { Order::Desc };
        let rows: Vec<(Uuid, i64, String)> = query
            .select_only()
            .column(P::Id)
            .expr_as(
                Expr::cust(format!("CAST({} AS BIGINT)", col.as_str())),
                "sort_key",
            )
            .column(P::ListingCard)
            .order_by(col, order.clone())
            .order_by(P::Id, order)
            .limit(self.limit + 1)
            .into_tuple()
            .all(db)
            .await?;
        let more = rows.len() as u64 > self.limit;
        let rows = &rows[..rows.len().min(self.limit as usize)];
        let next_cursor = more.then(|| rows.last()).flatten().map(|(id, key, _)| {
            encode_cursor(&Cursor {
                s: self.sort,
                k: *key,
                i: *id,
            })
        });
        let items = rows
            .iter()
            .map(|(_, _, card)| {
                RawValue::from_string(card.clone())
                    .map_err(|e| sea_orm::DbErr::Custom(format!("listing card is not JSON: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }
}

/// Find approved practitioners.
#[utoipa::path(get, path = "/api/v1/practitioners", operation_id = "find_practitioners", tag = "practitioners", params(ListQuery),
    responses((status = 200, body = Page<PractitionerPublic>), (status = 422, body = Problem)))]
async fn list(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Page<Box<RawValue>>>> {
    let listing = Listing::parse(q)?;
    Ok(ApiJson(listing.run(&app.db).await?))
}
