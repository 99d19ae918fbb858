use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "practitioners")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub display_name: String,
    pub bio: String,
    pub experience_years: i32,
    /// JSON array of language codes; `practitioner_languages` holds the same for filtering.
    pub languages: String,
    /// JSON array; `practitioner_specializations` holds the same for filtering.
    pub specializations: String,
    pub education: String,
    /// JSON array of strings.
    pub certifications: String,
    pub avatar_url: Option<String>,
    pub currency: String,
    pub rate_chat_minor: Option<i64>,
    pub rate_call_minor: Option<i64>,
    pub rate_video_minor: Option<i64>,
    pub max_concurrent_sessions: i32,
    /// Platform commission override, basis points.
    pub commission_bps: Option<i32>,
    pub availability_status: String,
    pub verification_status: String,
    pub status_reason: Option<String>,
    /// Average rating × 100, so sorting and comparisons stay in integers.
    pub rating_avg_centi: i32,
    pub rating_count: i32,
    pub total_consultations: i32,
    pub total_minutes: i64,
    pub follower_count: i32,
    pub missed_requests: i32,
    /// Booked appointments the practitioner did not turn up for.
    pub no_show_count: i32,
    /// Lower-cased name + bio + specializations, so one LIKE works on both backends.
    pub search_text: String,
    /// The public profile as JSON (`PractitionerPublic`), rewritten by
    /// `practitioners::refresh_card` whenever a field in it changes, so a listing page is
    /// three values a row.
    pub listing_card: String,
    pub approved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
