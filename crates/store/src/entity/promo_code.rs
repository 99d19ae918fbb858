use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Upper-case.
    pub code: String,
    pub description: String,
    /// JSON of `promos::rules::Discount`.
    pub discount: String,
    pub currency: String,
    pub max_discount: Option<i64>,
    pub min_order: Option<i64>,
    pub usage_limit: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub used_count: i64,
    pub valid_from: DateTimeUtc,
    pub valid_until: Option<DateTimeUtc>,
    pub active: bool,
    pub user_type: String,
    /// JSON array of `promos::rules::Context`.
    pub contexts: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
