//! Tarot over HTTP: the catalog tables (decks, spreads, positions) kept in step with the
//! `tarot` crate at start-up, users' readings (drawn with a fresh CSPRNG seed that is stored
//! so any reading can be re-derived for audit), and admins' switches on the catalog.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{AdminUser, AuthUser, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use domain::audit::{self, Change};
use domain::validate::Check;
use store::entity::{reading_session, tarot_deck, tarot_spread, tarot_spread_position};

/// The one deck the engine ships; its slug is what clients and rows name.
pub const DEFAULT_DECK: &str = "augur-classic";
/// Reversed cards by default: a quarter, a common choice among readers who use reversals.
const DEFAULT_REVERSAL_BPS: i32 = 2_500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_decks))
        .routes(routes!(deck_cards))
        .routes(routes!(list_spreads))
        .routes(routes!(create_reading, my_readings))
        .routes(routes!(get_reading))
        .routes(routes!(verify_reading))
        .routes(routes!(admin_update_deck))
        .routes(routes!(admin_update_spread))
}

/// Inserts the crate's deck and spreads when missing and refreshes their names, texts and
/// positions; admins' choices (active, reversal chance) are kept.
pub async fn sync_catalog(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    tarot_deck::Entity::insert(tarot_deck::ActiveModel {
        slug: Set(DEFAULT_DECK.to_owned()),
        name: Set("Augur Classic".to_owned()),
        description: Set(
            "The 78 cards of the Rider–Waite–Smith tradition, 22 major and 56 minor arcana, \
             with Augur's own keywords and meanings."
                .to_owned(),
        ),
        card_count: Set(tarot::DECK_SIZE as i32),
        reversal_bps: Set(DEFAULT_REVERSAL_BPS),
        active: Set(true),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(tarot_deck::Column::Slug)
            .update_columns([
                tarot_deck::Column::Name,
                tarot_deck::Column::Description,
                tarot_deck::Column::CardCount,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    for spread in tarot::spreads() {
        tarot_spread::Entity::insert(tarot_spread::ActiveModel {
            slug: Set(spread.id.as_str().to_owned()),
            name: Set(spread.name.to_owned()),
            description: Set(spread.description.to_owned()),
            card_count: Set(spread.len() as i32),
            active: Set(true),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(tarot_spread::Column::Slug)
                .update_columns([
                    tarot_spread::Column::Name,
                    tarot_spread::Column::Description,
                    tarot_spread::Column::CardCount,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        for p in spread.positions {
            tarot_spread_position::Entity::insert(tarot_spread_position::ActiveModel {
                spread_slug: Set(spread.id.as_str().to_owned()),
                position: Set(p.index as i32),
                name: Set(p.name.to_owned()),
                description: Set(p.description.to_owned()),
            })
            .on_conflict(
                OnConflict::columns([
                    tarot_spread_position::Column::SpreadSlug,
                    tarot_spread_position::Column::Position,
                ])
                .update_columns([
                    tarot_spread_position::Column::Name,
                    tarot_spread_position::Column::Description,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeckView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub card_count: i32,
    /// Chance a drawn card is reversed, basis points (2500 = 25 %).
    pub reversal_bps: i32,
    pub active: bool,
}

impl From<tarot_deck::Model> for DeckView {
    fn from(d: tarot_deck::Model) -> Self {
        Self {
            slug: d.slug,
            name: d.name,
            description: d.description,
            card_count: d.card_count,
            reversal_bps: d.reversal_bps,
            active: d.active,
        }
    }
}

/// Active tarot decks.
#[utoipa::path(get, path = "/api/v1/tarot/decks", tag = "tarot",
    responses((status = 200, body = Vec<DeckView>)))]
async fn list_decks(State(app): State<AppState>) -> ApiResult<ApiJson<Vec<DeckView>>> {
    let rows = tarot_deck::Entity::find()
        .filter(tarot_deck::Column::Active.eq(true))
        .order_by_asc(tarot_deck::Column::Slug)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    pub id: &'static str,
    pub name: &'static str,
    /// `major` or `minor`.
    pub arcana: String,
    /// `wands`, `cups`, `swords`, `pentacles`; absent for the major arcana.
    pub suit: Option<String>,
    pub number: u8,
    pub upright_keywords: &'static [&'static str],
    pub reversed_keywords: &'static [&'static str],
    pub upright: &'static str,
    pub reversed: &'static str,
}

fn enum_text<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl From<&'static tarot::Card> for CardView {
    fn from(c: &'static tarot::Card) -> Self {
        Self {
            id: c.id,
            name: c.name,
            arcana: enum_text(&c.arcana),
            suit: c.suit.as_ref().map(enum_text),
            number: c.number,
            upright_keywords: c.upright_keywords,
            reversed_keywords: c.reversed_keywords,
            upright: c.upright,
            reversed: c.reversed,
        }
    }
}

async fn active_deck(app: &AppState, slug: &str) -> ApiResult<tarot_deck::Model> {
    tarot_deck::Entity::find_by_id(slug.to_owned())
        .filter(tarot_deck::Column::Active.eq(true))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Deck"))
}

/// The cards of a deck with their keywords and meanings.
#[utoipa::path(get, path = "/api/v1/tarot/decks/{slug}/cards", tag = "tarot",
    params(("slug" = String, Path)),
    responses((status = 200, body = Vec<CardView>), (status = 404, body = Problem)))]
async fn deck_cards(
    State(app): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<ApiJson<Vec<CardView>>> {
    active_deck(&app, &slug).await?;
    Ok(ApiJson(tarot::deck().iter().map(CardView::from).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionView {
    pub index: i32,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpreadView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub card_count: i32,
    pub active: bool,
    pub positions: Vec<PositionView>,
}

/// Active spreads with their named positions.
#[utoipa::path(get, path = "/api/v1/tarot/spreads", tag = "tarot",
    responses((status = 200, body = Vec<SpreadView>)))]
async fn list_spreads(State(app): State<AppState>) -> ApiResult<ApiJson<Vec<SpreadView>>> {
    let spreads = tarot_spread::Entity::find()
        .filter(tarot_spread::Column::Active.eq(true))
        .all(&app.db)
        .await?;
    let positions = tarot_spread_position::Entity::find()
        .order_by_asc(tarot_spread_position::Column::Position)
        .all(&app.db)
        .await?;
    // The engine's order (single, three-card, …) reads better than alphabetical.
    let rank = |slug: &str| {
        tarot::SpreadId::ALL
            .iter()
            .position(|s| s.as_str() == slug)
            .unwrap_or(usize::MAX)
    };
    let mut views: Vec<SpreadView> = spreads
        .into_iter()
        .map(|s| SpreadView {
            positions: positions
                .iter()
                .filter(|p| p.spread_slug == s.slug)
                .map(|p| PositionView {
                    index: p.position,
                    name: p.name.clone(),
                    description: p.description.clone(),
                })
                .collect(),
            slug: s.slug,
            name: s.name,
            description: s.description,
            card_count: s.card_count,
            active: s.active,
        })
        .collect();
    views.sort_by_key(|v| rank(&v.slug));
    Ok(ApiJson(views))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingRequest {
    /// Spread slug, e.g. `three-card`.
    pub spread: String,
    /// Deck slug (default `augur-classic`).
    pub deck: Option<String>,
    /// What the reading is about (kept private to you).
    pub question: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrawnCardView {
    pub position: usize,
    pub position_name: String,
    pub card_id: String,
    pub card_name: String,
    pub reversed: bool,
    pub keywords: Vec<String>,
    pub meaning: String,
}

/// Everything needed to re-derive the reading.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingAudit {
    /// 64 hex digits.
    pub seed: String,
    pub algorithm: String,
    pub deck_version: String,
    pub reversal_bps: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingView {
    pub id: Uuid,
    pub spread: String,
    pub deck: String,
    pub question: Option<String>,
    pub cards: Vec<DrawnCardView>,
    /// For the yes-no spread: `yes`, `no` or `maybe`.
    pub yes_no: Option<String>,
    pub audit: ReadingAudit,
    pub created_at: DateTime<Utc>,
}

fn reading_view(row: reading_session::Model) -> ReadingView {
    let drawn: Vec<tarot::DrawnCard> = serde_json::from_str(&row.cards).unwrap_or_default();
    ReadingView {
        id: row.id,
        cards: drawn
            .into_iter()
            .map(|d| {
                let card = d.card();
                DrawnCardView {
                    position: d.position,
                    position_name: d.position_name,
                    card_name: card.map(|c| c.name.to_owned()).unwrap_or_default(),
                    keywords: card
                        .map(|c| {
                            c.keywords(d.reversed)
                                .iter()
                                .map(|k| (*k).to_owned())
                                .collect()
                        })
                        .unwrap_or_default(),
                    meaning: card
                        .map(|c| c.meaning(d.reversed).to_owned())
                        .unwrap_or_default(),
                    card_id: d.card_id,
                    reversed: d.reversed,
                }
            })
            .collect(),
        spread: row.spread_slug,
        deck: row.deck_slug,
        question: row.question,
        yes_no: row.yes_no,
        audit: ReadingAudit {
            seed: row.seed,
            algorithm: row.algorithm,
            deck_version: row.deck_version,
            reversal_bps: row.reversal_bps,
        },
        created_at: row.created_at,
    }
}

/// Draw a reading: a fresh seed from the operating system's CSPRNG, stored with it.
#[utoipa::path(post, path = "/api/v1/tarot/readings", tag = "tarot", request_body = ReadingRequest,
    responses((status = 201, body = ReadingView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_reading(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<ReadingRequest>,
) -> ApiResult<(StatusCode, ApiJson<ReadingView>)> {
    let mut c = Check::new();
    let question = c.opt_text("question", body.question.as_deref(), 500);
    let spread_id: Option<tarot::SpreadId> = body.spread.trim().parse().ok();
    c.ensure(
        spread_id.is_some(),
        "spread",
        "unknown_spread",
        "is not a spread slug (see GET /api/v1/tarot/spreads)",
    );
    c.finish()?;
    let spread_id = spread_id.ok_or_else(|| ApiError::internal(anyhow::anyhow!("unchecked")))?;
    let spread = tarot_spread::Entity::find_by_id(spread_id.as_str().to_owned())
        .filter(tarot_spread::Column::Active.eq(true))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Spread"))?;
    let deck = active_deck(&app, body.deck.as_deref().unwrap_or(DEFAULT_DECK).trim()).await?;
    let reversal = f64::from(deck.reversal_bps) / 10_000.0;
    let reading = tarot::draw(spread_id, None, reversal)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("tarot draw failed: {e}")))?;
    let row = reading_session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(auth.id),
        deck_slug: Set(deck.slug),
        spread_slug: Set(spread.slug),
        question: Set(question),
        deck_version: Set(reading.deck.clone()),
        algorithm: Set(reading.algorithm.clone()),
        seed: Set(reading.seed_hex()),
        reversal_bps: Set(deck.reversal_bps),
        cards: Set(serde_json::to_string(&reading.cards).map_err(|e| ApiError::internal(e.into()))?),
        yes_no: Set(reading.yes_no.as_ref().map(enum_text)),
        created_at: Set(app.clock.now()),
    };
    let txn = store::begin_write(&app.db).await?;
    let row = row.insert(&txn).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(reading_view(row))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReadingsQuery {
    pub cursor: Option<String>,
    /// 1 … 100 (default 20).
    pub limit: Option<u64>,
}

/// My readings, newest first.
#[utoipa::path(get, path = "/api/v1/tarot/readings", tag = "tarot", params(ReadingsQuery),
    responses((status = 200, body = Page<ReadingView>), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_readings(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReadingsQuery>,
) -> ApiResult<ApiJson<Page<ReadingView>>> {
    let limit = page_limit(q.limit)?;
    let mut query =
        reading_session::Entity::find().filter(reading_session::Column::UserId.eq(auth.id));
    if let Some(raw) = q.cursor.as_deref() {
        // UUID v7: id order is creation order.
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(reading_session::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(reading_session::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        reading_view,
    )))
}

/// A reading: its owner or an admin (others get 404, as if it did not exist).
async fn visible_reading(
    app: &AppState,
    auth: &AuthUser,
    id: Uuid,
) -> ApiResult<reading_session::Model> {
    let row = reading_session::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Reading"))?;
    if row.user_id != auth.id && auth.role != Role::Admin {
        return Err(ApiError::not_found("Reading"));
    }
    Ok(row)
}

/// One of my readings.
#[utoipa::path(get, path = "/api/v1/tarot/readings/{id}", tag = "tarot",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ReadingView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_reading(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ReadingView>> {
    Ok(ApiJson(reading_view(
        visible_reading(&app, &auth, id).await?,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    pub id: Uuid,
    /// True when drawing again from the stored seed gives exactly the stored cards.
    pub verified: bool,
    /// Why not, when `verified` is false.
    pub reason: Option<String>,
}

/// Re-derive a reading from its stored seed and compare it with the stored cards (for its
/// owner, or an admin settling a dispute).
#[utoipa::path(get, path = "/api/v1/tarot/readings/{id}/verify", tag = "tarot",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = VerifyView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn verify_reading(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<VerifyView>> {
    let row = visible_reading(&app, &auth, id).await?;
    let outcome = audit_reading(&row);
    Ok(ApiJson(VerifyView {
        id,
        verified: outcome.is_ok(),
        reason: outcome.err(),
    }))
}

/// Rebuilds the crate's record from the row and lets the crate check it.
fn audit_reading(row: &reading_session::Model) -> Result<(), String> {
    let spread: tarot::SpreadId = row.spread_slug.parse().map_err(|e| format!("{e}"))?;
    let seed = tarot::Seed::from_hex(&row.seed).map_err(|e| format!("{e}"))?;
    let reversal = tarot::ReversalProbability::new(f64::from(row.reversal_bps) / 10_000.0)
        .map_err(|e| format!("{e}"))?;
    let cards: Vec<tarot::DrawnCard> =
        serde_json::from_str(&row.cards).map_err(|e| format!("stored cards unreadable: {e}"))?;
    let yes_no = match &row.yes_no {
        Some(a) => Some(
            serde_json::from_value(json!(a))
                .map_err(|e| format!("stored answer unreadable: {e}"))?,
        ),
        None => None,
    };
    tarot::Reading {
        spread,
        deck: row.deck_version.clone(),
        algorithm: row.algorithm.clone(),
        seed,
        reversal_probability: reversal,
        cards,
        yes_no,
    }
    .verify()
    .map_err(|e| format!("{e}"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeckUpdate {
    pub active: Option<bool>,
    /// 0 … 10000.
    pub reversal_bps: Option<i32>,
}

/// Switch a deck on or off, or change its reversal chance (admin).
#[utoipa::path(patch, path = "/api/v1/admin/tarot/decks/{slug}", tag = "admin",
    params(("slug" = String, Path)), request_body = DeckUpdate,
    responses((status = 200, body = DeckView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_update_deck(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<DeckUpdate>,
) -> ApiResult<ApiJson<DeckView>> {
    let mut c = Check::new();
    if let Some(bps) = body.reversal_bps {
        c.range("reversal_bps", bps, 0, 10_000);
    }
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let before = tarot_deck::Entity::find_by_id(slug.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Deck"))?;
    let mut update = tarot_deck::Entity::update_many()
        .col_expr(tarot_deck::Column::UpdatedAt, Expr::value(now))
        .filter(tarot_deck::Column::Slug.eq(slug.clone()));
    if let Some(a) = body.active {
        update = update.col_expr(tarot_deck::Column::Active, Expr::value(a));
    }
    if let Some(bps) = body.reversal_bps {
        update = update.col_expr(tarot_deck::Column::ReversalBps, Expr::value(bps));
    }
    update.exec(&txn).await?;
    let after = tarot_deck::Entity::find_by_id(slug.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Deck"))?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "tarot.deck.update",
            target_type: "tarot_deck",
            target_id: slug,
            before: Some(json!({"active": before.active, "reversal_bps": before.reversal_bps})),
            after: Some(json!({"active": after.active, "reversal_bps": after.reversal_bps})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ApiJson(after.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpreadUpdate {
    pub active: bool,
}

/// Offer or withdraw a spread (admin).
#[utoipa::path(patch, path = "/api/v1/admin/tarot/spreads/{slug}", tag = "admin",
    params(("slug" = String, Path)), request_body = SpreadUpdate,
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_update_spread(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<SpreadUpdate>,
) -> ApiResult<StatusCode> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let res = tarot_spread::Entity::update_many()
        .col_expr(tarot_spread::Column::Active, Expr::value(body.active))
        .col_expr(tarot_spread::Column::UpdatedAt, Expr::value(now))
        .filter(tarot_spread::Column::Slug.eq(slug.clone()))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(ApiError::not_found("Spread"));
    }
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "tarot.spread.update",
            target_type: "tarot_spread",
            target_id: slug,
            before: None,
            after: Some(json!({"active": body.active})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
