use sea_orm::entity::prelude::*;

/// How many times one user has redeemed one promo code: the row a per-user limit is
/// enforced on with one conditional update.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_user_uses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub promo_code_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub uses: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
