use sea_orm::entity::prelude::*;

/// One emailed single-use link: a password reset, an email verification or an email change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `password_reset`, `email_verify` or `email_change`.
    pub purpose: String,
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    /// The address the link was sent to (for an email change, the new address).
    pub email: String,
    pub expires_at: DateTimeUtc,
    /// Set when the link was used, or when a newer one (or a password change) replaced it.
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
