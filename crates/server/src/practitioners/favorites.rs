//! Clients' favorites (follows). The follower count on the profile moves in the same
//! transaction as the favorite row, and only when the row really changed.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{PractitionerPublic, Verification, refresh_card};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, encode_cursor, page_limit};
use store::entity::{favorite, practitioner};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_favorites))
        .routes(routes!(add_favorite, remove_favorite))
}

/// Favorite a practitioner. Repeating it changes nothing.
#[utoipa::path(put, path = "/api/v1/me/favorites/{practitioner_id}", tag = "me",
    params(("practitioner_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem),
        (status = 409, description = "A practitioner cannot favorite themselves (`cannot_favorite_self`)", body = Problem)),
    security(("bearer" = [])))]
async fn add_favorite(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(pid): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let p = practitioner::Entity::find_by_id(pid)
        .filter(practitioner::Column::VerificationStatus.eq(Verification::Approved.as_str()))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    if p.user_id == auth.id {
        return Err(ApiError::conflict(
            "cannot_favorite_self",
            "You cannot favorite yourself",
        ));
    }
    let txn = store::begin_write(&app.db).await?;
    let inserted = favorite::Entity::insert(favorite::ActiveModel {
        user_id: Set(auth.id),
        practitioner_id: Set(pid),
        created_at: Set(app.clock.now()),
    })
    .on_conflict(
        OnConflict::columns([favorite::Column::UserId, favorite::Column::PractitionerId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 1 {
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::FollowerCount,
                Expr::col(practitioner::Column::FollowerCount).add(1),
            )
            .filter(practitioner::Column::Id.eq(pid))
            .exec(&txn)
            .await?;
        refresh_card(&txn, pid).await?;
    }
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop favoriting a practitioner.
#[utoipa::path(delete, path = "/api/v1/me/favorites/{practitioner_id}", tag = "me",
    params(("practitioner_id" = Uuid, Path)),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn remove_favorite(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(pid): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let txn = store::begin_write(&app.db).await?;
    let deleted = favorite::Entity::delete_many()
        .filter(favorite::Column::UserId.eq(auth.id))
        .filter(favorite::Column::PractitionerId.eq(pid))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 1 {
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::FollowerCount,
                Expr::col(practitioner::Column::FollowerCount).sub(1),
            )
            .filter(practitioner::Column::Id.eq(pid))
            .exec(&txn)
            .await?;
        refresh_card(&txn, pid).await?;
    }
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FavoritesQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FavCursor {
    t: chrono::DateTime<chrono::Utc>,
    i: Uuid,
}

/// My favorite practitioners, newest first.
#[utoipa::path(get, path = "/api/v1/me/favorites", tag = "me", params(FavoritesQuery),
    responses((status = 200, body = Page<PractitionerPublic>)),
    security(("bearer" = [])))]
async fn list_favorites(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<FavoritesQuery>,
) -> ApiResult<ApiJson<Page<PractitionerPublic>>> {
    let limit = page_limit(q.limit)?;
    let mut query = favorite::Entity::find().filter(favorite::Column::UserId.eq(auth.id));
    if let Some(raw) = q.cursor.as_deref() {
        let c: FavCursor = decode_cursor(raw)?;
        // A forged cursor could name a time no database column can hold.
        if !(1970..=9999).contains(&chrono::Datelike::year(&c.t)) {
            return Err(ApiError::field(
                "cursor",
                "invalid_cursor",
                "is not a cursor this API issued",
            ));
        }
        query = query.filter(
            Condition::any()
                .add(favorite::Column::CreatedAt.lt(c.t))
                .add(
                    Condition::all()
                        .add(favorite::Column::CreatedAt.eq(c.t))
                        .add(favorite::Column::PractitionerId.gt(c.i)),
                ),
        );
    }
    let favs = query
        .order_by_desc(favorite::Column::CreatedAt)
        .order_by_asc(favorite::Column::PractitionerId)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let ids = Page::from_rows(
        favs,
        limit,
        |f| {
            encode_cursor(&FavCursor {
                t: f.created_at,
                i: f.practitioner_id,
            })
        },
        |f| f.practitioner_id,
    );
    let profiles = practitioner::Entity::find()
        .filter(practitioner::Column::Id.is_in(ids.items.clone()))
        .all(&app.db)
        .await?;
    let items = ids
        .items
        .iter()
        .filter_map(|id| profiles.iter().find(|p| p.id == *id))
        .filter(|p| p.verification_status == Verification::Approved.as_str())
        .map(PractitionerPublic::from)
        .collect();
    Ok(ApiJson(Page {
        items,
        next_cursor: ids.next_cursor,
    }))
}
