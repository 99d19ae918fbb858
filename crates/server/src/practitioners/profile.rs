//! Applying to become a practitioner, editing my practitioner profile, the public profile.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    Availability, PractitionerKind, PractitionerPrivate, PractitionerPublic, Rates, Verification,
    refresh_card, search_text,
};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath};
use domain::validate::Check;
use store::entity::{practitioner, practitioner_language, practitioner_specialization};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply))
        .routes(routes!(get_mine, update_mine))
        .routes(routes!(get_public))
}

/// Profile fields. On apply, `kind`, `display_name`, `bio` and at least one rate are required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub kind: Option<PractitionerKind>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub experience_years: Option<i32>,
    /// Language codes, e.g. `["en", "hi"]`.
    pub languages: Option<Vec<String>>,
    /// e.g. `["vedic", "career", "relationships"]`.
    pub specializations: Option<Vec<String>>,
    pub education: Option<String>,
    pub certifications: Option<Vec<String>>,
    pub rates: Option<Rates>,
    /// 1–10.
    pub max_concurrent_sessions: Option<i32>,
}

const MAX_RATE_MINOR: i64 = 10_000_000;

fn clean_list(
    c: &mut Check,
    field: &str,
    items: &[String],
    max_items: usize,
    max_len: usize,
    lower: bool,
) -> Vec<String> {
    c.ensure(
        items.len() <= max_items,
        field,
        "too_many",
        format!("at most {max_items} entries"),
    );
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let v = c.text(&format!("{field}[{i}]"), item, 1, max_len);
        let v = if lower { v.to_lowercase() } else { v };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn check_rates(c: &mut Check, rates: &Rates) {
    let currency_ok =
        rates.currency.len() == 3 && rates.currency.chars().all(|ch| ch.is_ascii_uppercase());
    c.ensure(
        currency_ok,
        "rates.currency",
        "invalid_currency",
        "must be an ISO 4217 code such as INR",
    );
    for (name, v) in [
        ("rates.chat", rates.chat),
        ("rates.call", rates.call),
        ("rates.video", rates.video),
    ] {
        if let Some(v) = v {
            c.ensure(
                (1..=MAX_RATE_MINOR).contains(&v),
                name,
                "out_of_range",
                format!("must be between 1 and {MAX_RATE_MINOR} minor units"),
            );
        }
    }
    c.ensure(
        rates.chat.is_some() || rates.call.is_some() || rates.video.is_some(),
        "rates",
        "required",
        "offer at least one channel",
    );
}

/// Applies validated input to the row; returns the new language and specialization lists.
fn apply_input(
    c: &mut Check,
    m: &mut practitioner::ActiveModel,
    input: &ProfileInput,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    if let Some(k) = input.kind {
        m.kind = Set(k.as_str().to_owned());
    }
    if let Some(v) = &input.display_name {
        m.display_name = Set(c.text("display_name", v, 2, 80));
    }
    if let Some(v) = &input.bio {
        m.bio = Set(c.text("bio", v, 1, 4000));
    }
    if let Some(v) = &input.avatar_url {
        m.avatar_url = Set(Some(c.url("avatar_url", v)));
    }
    if let Some(v) = input.experience_years {
        m.experience_years = Set(c.range("experience_years", v, 0, 80));
    }
    if let Some(v) = &input.education {
        m.education = Set(c.text("education", v, 0, 1000));
    }
    if let Some(v) = &input.certifications {
        let list = clean_list(c, "certifications", v, 20, 200, false);
        m.certifications = Set(serde_json::to_string(&list).unwrap_or_default());
    }
    if let Some(r) = &input.rates {
        check_rates(c, r);
        m.currency = Set(r.currency.clone());
        m.rate_chat_minor = Set(r.chat);
        m.rate_call_minor = Set(r.call);
        m.rate_video_minor = Set(r.video);
    }
    if let Some(v) = input.max_concurrent_sessions {
        m.max_concurrent_sessions = Set(c.range("max_concurrent_sessions", v, 1, 10));
    }
    let languages = input.languages.as_ref().map(|v| {
        let list = clean_list(c, "languages", v, 20, 16, true);
        m.languages = Set(serde_json::to_string(&list).unwrap_or_default());
        list
    });
    let specializations = input.specializations.as_ref().map(|v| {
        let list = clean_list(c, "specializations", v, 30, 60, true);
        m.specializations = Set(serde_json::to_string(&list).unwrap_or_default());
        list
    });
    (languages, specializations)
}

/// Rewrites the filter tables and the search text after a profile change.
async fn sync_derived<C: ConnectionTrait>(
    conn: &C,
    row: &practitioner::Model,
    languages: Option<Vec<String>>,
    specializations: Option<Vec<String>>,
) -> ApiResult<practitioner::Model> {
    if let Some(langs) = languages {
        practitioner_language::Entity::delete_many()
            .filter(practitioner_language::Column::PractitionerId.eq(row.id))
            .exec(conn)
            .await?;
        if !langs.is_empty() {
            practitioner_language::Entity::insert_many(langs.into_iter().map(|language| {
                practitioner_language::ActiveModel {
                    practitioner_id: Set(row.id),
                    language: Set(language),
                }
            }))
            .exec(conn)
            .await?;
        }
    }
    let specs: Vec<String> = serde_json::from_str(&row.specializations).unwrap_or_default();
    if let Some(list) = specializations {
        practitioner_specialization::Entity::delete_many()
            .filter(practitioner_specialization::Column::PractitionerId.eq(row.id))
            .exec(conn)
            .await?;
        if !list.is_empty() {
            practitioner_specialization::Entity::insert_many(list.into_iter().map(|s| {
                practitioner_specialization::ActiveModel {
                    practitioner_id: Set(row.id),
                    specialization: Set(s),
                }
            }))
            .exec(conn)
            .await?;
        }
    }
    let text = search_text(&row.display_name, &row.bio, &specs);
    let row = if text != row.search_text {
        let mut m = row.clone().into_active_model();
        m.search_text = Set(text);
        m.update(conn).await?
    } else {
        row.clone()
    };
    refresh_card(conn, row.id).await?;
    Ok(row)
}

/// Apply to become a practitioner. An admin reviews the application.
#[utoipa::path(post, path = "/api/v1/practitioners/apply", tag = "practitioners", request_body = ProfileInput,
    responses((status = 201, body = PractitionerPrivate), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn apply(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(input): ApiJson<ProfileInput>,
) -> ApiResult<(StatusCode, ApiJson<PractitionerPrivate>)> {
    let mut c = Check::new();
    c.ensure(input.kind.is_some(), "kind", "required", "is required");
    c.ensure(
        input.display_name.is_some(),
        "display_name",
        "required",
        "is required",
    );
    c.ensure(input.bio.is_some(), "bio", "required", "is required");
    c.ensure(input.rates.is_some(), "rates", "required", "is required");
    let now = app.clock.now();
    let mut m = practitioner::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(auth.id),
        kind: Set(PractitionerKind::Other.as_str().into()),
        display_name: Set(String::new()),
        bio: Set(String::new()),
        experience_years: Set(0),
        languages: Set("[]".into()),
        specializations: Set("[]".into()),
        education: Set(String::new()),
        certifications: Set("[]".into()),
        avatar_url: Set(auth.user.avatar_url.clone()),
        currency: Set("INR".into()),
        rate_chat_minor: Set(None),
        rate_call_minor: Set(None),
        rate_video_minor: Set(None),
        max_concurrent_sessions: Set(1),
        commission_bps: Set(None),
        availability_status: Set(Availability::Offline.as_str().into()),
        verification_status: Set(Verification::Pending.as_str().into()),
        status_reason: Set(None),
        rating_avg_centi: Set(0),
        rating_count: Set(0),
        total_consultations: Set(0),
        total_minutes: Set(0),
        follower_count: Set(0),
        missed_requests: Set(0),
        no_show_count: Set(0),
        search_text: Set(String::new()),
        listing_card: Set(String::new()),
        approved_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let (languages, specializations) = apply_input(&mut c, &mut m, &input);
    c.finish()?;
    if auth.is_admin() {
        return Err(ApiError::conflict(
            "admin_cannot_apply",
            "Admin accounts cannot be practitioners",
        ));
    }
    let txn = store::begin_write(&app.db).await?;
    let row = m
        .insert(&txn)
        .await
        .map_err(domain::error::conflict_on_unique(
            "already_applied",
            "You already have a practitioner profile",
        ))?;
    let row = sync_derived(&txn, &row, languages, specializations).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, ApiJson((&row).into())))
}

pub async fn find_by_user(app: &AppState, user_id: Uuid) -> ApiResult<practitioner::Model> {
    practitioner::Entity::find()
        .filter(practitioner::Column::UserId.eq(user_id))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner profile"))
}

/// My practitioner profile, whatever its review state.
#[utoipa::path(get, path = "/api/v1/practitioners/me", tag = "practitioners",
    responses((status = 200, body = PractitionerPrivate), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_mine(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<PractitionerPrivate>> {
    let row = find_by_user(&app, auth.id).await?;
    Ok(ApiJson((&row).into()))
}

/// Edit my practitioner profile.
#[utoipa::path(patch, path = "/api/v1/practitioners/me", tag = "practitioners", request_body = ProfileInput,
    responses((status = 200, body = PractitionerPrivate), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_mine(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(input): ApiJson<ProfileInput>,
) -> ApiResult<ApiJson<PractitionerPrivate>> {
    let row = find_by_user(&app, auth.id).await?;
    auth.ensure_owner(row.user_id, "Practitioner profile")?;
    let mut c = Check::new();
    let mut m = row.into_active_model();
    let (languages, specializations) = apply_input(&mut c, &mut m, &input);
    c.finish()?;
    m.updated_at = Set(app.clock.now());
    let txn = store::begin_write(&app.db).await?;
    let row = m.update(&txn).await?;
    let row = sync_derived(&txn, &row, languages, specializations).await?;
    txn.commit().await?;
    Ok(ApiJson((&row).into()))
}

/// A practitioner's public profile (approved practitioners only).
#[utoipa::path(get, path = "/api/v1/practitioners/{id}", tag = "practitioners",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PractitionerPublic), (status = 404, body = Problem)))]
async fn get_public(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<PractitionerPublic>> {
    let row = practitioner::Entity::find_by_id(id)
        .filter(practitioner::Column::VerificationStatus.eq(Verification::Approved.as_str()))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    Ok(ApiJson((&row).into()))
}
