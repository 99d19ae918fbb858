use sea_orm::entity::prelude::*;

/// A gateway event, recorded once per (gateway, event id) and once per (gateway, natural
/// key) in the same transaction as its effect, so a redelivered event, or the same event
/// replayed under a new id, finds its row and changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub gateway: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub outcome: String,
    pub received_at: DateTimeUtc,
    /// What the event is about, `{event type}:{payment id}`, where the gateway names one.
    pub natural_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
