//! Promo codes: admin-managed rules, one `quote` (price → discount → final, or the reason
//! a code is refused) that every purchase calls, and redemption that holds the global limit
//! under concurrency with one conditional update.

pub mod rules;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use rules::{Context, Refusal, Rules, Use, UserType};
use store::entity::{payment_order, promo_code, promo_redemption, promo_user_use};
use store::status::PaymentOrderStatus;

pub fn rules_of(p: &promo_code::Model) -> Rules {
    Rules {
        discount: serde_json::from_str(&p.discount)
            .unwrap_or(rules::Discount::Fixed(rules::FixedOff { amount: 0 })),
        currency: p.currency.clone(),
        max_discount: p.max_discount,
        min_order: p.min_order,
        usage_limit: p.usage_limit,
        per_user_limit: p.per_user_limit,
        valid_from: p.valid_from,
        valid_until: p.valid_until,
        active: p.active,
        user_type: serde_json::from_value(serde_json::Value::String(p.user_type.clone()))
            .unwrap_or(UserType::All),
        contexts: serde_json::from_str(&p.contexts).unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Quote {
    pub code: Option<String>,
    pub price: i64,
    pub discount: i64,
    /// What the buyer pays: price − discount.
    pub final_amount: i64,
    pub currency: String,
    /// Whether the code applies.
    pub applied: bool,
    /// Why it does not, when it does not.
    pub refusal: Option<Refusal>,
    #[serde(skip)]
    pub promo_id: Option<Uuid>,
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<promo_code::Model>, sea_orm::DbErr> {
    promo_code::Entity::find()
        .filter(promo_code::Column::Code.eq(code.trim().to_uppercase()))
        .one(conn)
        .await
}

async fn facts<C: ConnectionTrait>(
    conn: &C,
    promo: &promo_code::Model,
    user: Uuid,
) -> Result<(i64, bool), sea_orm::DbErr> {
    let used_by_user = promo_redemption::Entity::find()
        .filter(promo_redemption::Column::PromoCodeId.eq(promo.id))
        .filter(promo_redemption::Column::UserId.eq(user))
        .count(conn)
        .await? as i64;
    let paid_before = payment_order::Entity::find()
        .filter(payment_order::Column::UserId.eq(user))
        .filter(payment_order::Column::Status.eq(PaymentOrderStatus::Paid.as_str()))
        .count(conn)
        .await?
        > 0;
    Ok((used_by_user, paid_before))
}

/// The client's error when a promo code does not apply: the field, a stable code, and why.
pub fn refused(why: rules::Refusal) -> crate::error::Error {
    let mut e = crate::error::Error::field(
        "promo_code",
        "promo_refused",
        format!(
            "The code does not apply: {}",
            serde_json::to_value(why).unwrap_or_default()
        ),
    );
    e.code = "promo_refused";
    e
}

/// The one quote every purchase calls: what `code` takes off `price` for `user`.
pub async fn quote<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    code: Option<&str>,
    price: i64,
    currency: &str,
    context: Context,
    now: DateTime<Utc>,
) -> Result<Quote, sea_orm::DbErr> {
    let mut q = Quote {
        code: code.map(|c| c.trim().to_uppercase()),
        price,
        discount: 0,
        final_amount: price,
        currency: currency.to_owned(),
        applied: false,
        refusal: None,
        promo_id: None,
    };
    let Some(code) = code else { return Ok(q) };
    let Some(promo) = find(conn, code).await? else {
        q.refusal = Some(Refusal::Unknown);
        return Ok(q);
    };
    let (used_by_user, user_has_paid_before) = facts(conn, &promo, user).await?;
    let usage = Use {
        price,
        currency: currency.to_owned(),
        context,
        now,
        used_count: promo.used_count,
        used_by_user,
        user_has_paid_before,
    };
    match rules::evaluate(&rules_of(&promo), &usage) {
        Ok(d) => {
            q.discount = d;
            q.final_amount = price - d;
            q.applied = true;
            q.promo_id = Some(promo.id);
        }
        Err(r) => q.refusal = Some(r),
    }
    Ok(q)
}

/// The most code `promo_id` takes off one live session whose minutes it discounts by
/// `per_minute` (see [`rules::session_budget`]); 0 for a code that no longer exists.
pub async fn session_budget_of<C: ConnectionTrait>(
    conn: &C,
    promo_id: Uuid,
    per_minute: i64,
) -> Result<i64, sea_orm::DbErr> {
    Ok(promo_code::Entity::find_by_id(promo_id)
        .one(conn)
        .await?
        .map_or(0, |p| rules::session_budget(&rules_of(&p), per_minute)))
}

/// Records one use of the code for `reference` inside the caller's transaction. The global
/// limit is one conditional increment, so 3N racing redemptions of a code limited to N
/// succeed exactly N times. Re-redeeming the same reference returns the earlier discount.
/// One use of a code, to be recorded.
pub struct Redemption<'a> {
    pub promo_id: Uuid,
    pub user: Uuid,
    pub context: Context,
    /// What the code is used for; one redemption per reference.
    pub reference: &'a str,
    pub price: i64,
    pub currency: &'a str,
}

pub async fn redeem<C: ConnectionTrait>(
    conn: &C,
    r: &Redemption<'_>,
    now: DateTime<Utc>,
) -> Result<Result<i64, Refusal>, sea_orm::DbErr> {
    let Redemption {
        promo_id,
        user,
        context,
        reference,
        price,
        currency,
    } = *r;
    if let Some(done) = promo_redemption::Entity::find()
        .filter(promo_redemption::Column::PromoCodeId.eq(promo_id))
        .filter(promo_redemption::Column::Reference.eq(reference))
        .one(conn)
        .await?
    {
        return Ok(Ok(done.discount));
    }
    let Some(promo) = promo_code::Entity::find_by_id(promo_id).one(conn).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    let (used_by_user, user_has_paid_before) = facts(conn, &promo, user).await?;
    // Everything but the global count is checked here; the count is checked by the update.
    let usage = Use {
        price,
        currency: currency.to_owned(),
        context,
        now,
        used_count: 0,
        used_by_user,
        user_has_paid_before,
    };
    let discount = match rules::evaluate(&rules_of(&promo), &usage) {
        Ok(d) => d,
        Err(r) => return Ok(Err(r)),
    };
    // The per-user limit: one counter row per code and user, raised only below the limit,
    // so one user's racing redemptions cannot both pass (counting redemptions first and
    // inserting after let them, on PostgreSQL).
    if let Some(limit) = promo.per_user_limit {
        promo_user_use::Entity::insert(promo_user_use::ActiveModel {
            promo_code_id: Set(promo_id),
            user_id: Set(user),
            uses: Set(0),
        })
        .on_conflict(
            OnConflict::columns([
                promo_user_use::Column::PromoCodeId,
                promo_user_use::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        let mine = promo_user_use::Entity::update_many()
            .col_expr(
                promo_user_use::Column::Uses,
                Expr::col(promo_user_use::Column::Uses).add(1),
            )
            .filter(promo_user_use::Column::PromoCodeId.eq(promo_id))
            .filter(promo_user_use::Column::UserId.eq(user))
            .filter(promo_user_use::Column::Uses.lt(limit))
            .exec(conn)
            .await?;
        if mine.rows_affected != 1 {
            return Ok(Err(Refusal::PerUserLimitReached));
        }
    }
    let claimed = promo_code::Entity::update_many()
        .col_expr(
            promo_code::Column::UsedCount,
            Expr::col(promo_code::Column::UsedCount).add(1),
        )
        .col_expr(promo_code::Column::UpdatedAt, Expr::value(now))
        .filter(promo_code::Column::Id.eq(promo_id))
        .filter(promo_code::Column::Active.eq(true))
        .filter(
            sea_orm::Condition::any()
                .add(promo_code::Column::UsageLimit.is_null())
                .add(
                    Expr::col(promo_code::Column::UsedCount)
                        .lt(Expr::col(promo_code::Column::UsageLimit)),
                ),
        )
        .exec(conn)
        .await?;
    if claimed.rows_affected != 1 {
        // Give back the user's use taken above: the caller may go on without the code.
        if promo.per_user_limit.is_some() {
            promo_user_use::Entity::update_many()
                .col_expr(
                    promo_user_use::Column::Uses,
                    Expr::col(promo_user_use::Column::Uses).sub(1),
                )
                .filter(promo_user_use::Column::PromoCodeId.eq(promo_id))
                .filter(promo_user_use::Column::UserId.eq(user))
                .exec(conn)
                .await?;
        }
        return Ok(Err(Refusal::UsageLimitReached));
    }
    promo_redemption::ActiveModel {
        id: Set(Uuid::now_v7()),
        promo_code_id: Set(promo_id),
        user_id: Set(user),
        context: Set(serde_json::to_value(context)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()),
        reference: Set(reference.to_owned()),
        discount: Set(discount),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(Ok(discount))
}
