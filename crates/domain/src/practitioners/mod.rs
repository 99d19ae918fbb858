//! Practitioners: the profile a user applies with, what clients see of it, discovery
//! (filters, sorts, search, keyset pages) and favorites.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use store::entity::practitioner;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PractitionerKind {
    Astrologer,
    TarotReader,
    Healer,
    Other,
}

impl PractitionerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PractitionerKind::Astrologer => "astrologer",
            PractitionerKind::TarotReader => "tarot_reader",
            PractitionerKind::Healer => "healer",
            PractitionerKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Busy,
    Offline,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Online => "online",
            Availability::Busy => "busy",
            Availability::Offline => "offline",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    Pending,
    Approved,
    Rejected,
    Suspended,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Pending => "pending",
            Verification::Approved => "approved",
            Verification::Rejected => "rejected",
            Verification::Suspended => "suspended",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Chat,
    Call,
    Video,
}

/// Per-minute prices in minor units of `currency`; `null` means the channel is not offered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Rates {
    /// ISO 4217 code, e.g. `INR`.
    pub currency: String,
    pub chat: Option<i64>,
    pub call: Option<i64>,
    pub video: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rating {
    /// Mean of all ratings, two decimals; 0 when unrated.
    pub average: f64,
    pub count: i32,
}

/// What anyone may see of an approved practitioner.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerPublic {
    pub id: Uuid,
    pub kind: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub experience_years: i32,
    pub languages: Vec<String>,
    pub specializations: Vec<String>,
    pub education: String,
    pub certifications: Vec<String>,
    pub rates: Rates,
    pub max_concurrent_sessions: i32,
    pub availability_status: String,
    pub rating: Rating,
    pub total_consultations: i32,
    /// Booked appointments the practitioner missed.
    pub no_show_count: i32,
    pub follower_count: i32,
}

/// The practitioner's own view (and the admin's): public fields plus review state.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerPrivate {
    #[serde(flatten)]
    pub public: PractitionerPublic,
    pub user_id: Uuid,
    pub verification_status: String,
    pub status_reason: Option<String>,
    pub missed_requests: i32,
    pub total_minutes: i64,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

impl From<&practitioner::Model> for PractitionerPublic {
    fn from(p: &practitioner::Model) -> Self {
        Self {
            id: p.id,
            kind: p.kind.clone(),
            display_name: p.display_name.clone(),
            bio: p.bio.clone(),
            avatar_url: p.avatar_url.clone(),
            experience_years: p.experience_years,
            languages: json_list(&p.languages),
            specializations: json_list(&p.specializations),
            education: p.education.clone(),
            certifications: json_list(&p.certifications),
            rates: Rates {
                currency: p.currency.clone(),
                chat: p.rate_chat_minor,
                call: p.rate_call_minor,
                video: p.rate_video_minor,
            },
            max_concurrent_sessions: p.max_concurrent_sessions,
            availability_status: p.availability_status.clone(),
            rating: Rating {
                average: f64::from(p.rating_avg_centi) / 100.0,
                count: p.rating_count,
            },
            total_consultations: p.total_consultations,
            no_show_count: p.no_show_count,
            follower_count: p.follower_count,
        }
    }
}

impl From<&practitioner::Model> for PractitionerPrivate {
    fn from(p: &practitioner::Model) -> Self {
        Self {
            public: p.into(),
            user_id: p.user_id,
            verification_status: p.verification_status.clone(),
            status_reason: p.status_reason.clone(),
            missed_requests: p.missed_requests,
            total_minutes: p.total_minutes,
            approved_at: p.approved_at,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Lower-cased text the `q` search matches against.
pub fn search_text(display_name: &str, bio: &str, specializations: &[String]) -> String {
    format!("{display_name} {bio} {}", specializations.join(" ")).to_lowercase()
}

/// Rewrites the stored listing card of one practitioner from its row. Every change to a
/// field of `PractitionerPublic` calls this in the same transaction.
pub async fn refresh_card<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<(), sea_orm::DbErr> {
    let Some(row) = practitioner::Entity::find_by_id(id).one(conn).await? else {
        return Ok(());
    };
    let card = serde_json::to_string(&PractitionerPublic::from(&row))
        .map_err(|e| sea_orm::DbErr::Custom(format!("rendering listing card: {e}")))?;
    if card != row.listing_card {
        practitioner::Entity::update_many()
            .col_expr(practitioner::Column::ListingCard, Expr::value(card))
            .filter(practitioner::Column::Id.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(())
}
