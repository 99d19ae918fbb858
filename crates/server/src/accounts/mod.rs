//! The signed-in user's own account: profile fields, birth details (read by the astrology
//! engine), device sessions, passwords after sign-up ([`security`]), proving and changing
//! the email address ([`email`]) with the emailed single-use links both use ([`tokens`]),
//! and the pages those links open ([`pages`]).

pub mod email;
pub mod pages;
pub mod routes;
pub mod security;
pub use domain::accounts::tokens;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AccountStatus, Role};
use store::entity::user;

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

/// What a new account starts with; every other profile field starts empty.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub role: Role,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub language: String,
    pub time_zone: String,
}

impl NewUser {
    pub fn new(role: Role, first_name: impl Into<String>) -> Self {
        Self {
            role,
            email: None,
            phone: None,
            password_hash: None,
            first_name: first_name.into(),
            last_name: String::new(),
            email_verified: false,
            phone_verified: false,
            language: "en".to_owned(),
            time_zone: "UTC".to_owned(),
        }
    }

    pub fn into_active_model(self, now: DateTime<Utc>) -> user::ActiveModel {
        use sea_orm::Set;
        user::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(self.email),
            phone: Set(self.phone),
            password_hash: Set(self.password_hash),
            role: Set(self.role.as_str().to_owned()),
            status: Set(AccountStatus::Active.as_str().to_owned()),
            first_name: Set(self.first_name),
            last_name: Set(self.last_name),
            email_verified: Set(self.email_verified),
            phone_verified: Set(self.phone_verified),
            gender: Set(None),
            date_of_birth: Set(None),
            city: Set(None),
            state: Set(None),
            country: Set(None),
            avatar_url: Set(None),
            language: Set(self.language),
            time_zone: Set(self.time_zone),
            last_login_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}
