//! The signed-in user's own account: profile fields, birth details (read by the astrology
//! engine), and device sessions.

pub mod routes;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::entity::user;

/// A user as they (or an admin) see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: String,
    pub status: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub gender: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub language: String,
    pub time_zone: String,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            phone: u.phone,
            role: u.role,
            status: u.status,
            first_name: u.first_name,
            last_name: u.last_name,
            email_verified: u.email_verified,
            phone_verified: u.phone_verified,
            gender: u.gender,
            date_of_birth: u.date_of_birth,
            city: u.city,
            state: u.state,
            country: u.country,
            avatar_url: u.avatar_url,
            language: u.language,
            time_zone: u.time_zone,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
        }
    }
}

pub const GENDERS: &[&str] = &["female", "male", "non_binary", "other", "prefer_not_to_say"];
