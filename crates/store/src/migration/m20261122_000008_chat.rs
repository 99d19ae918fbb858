//! The migration `m20261122_000008_chat` (struct [`Chat`], whose doc says what it creates). It has
//! landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Chat messages of consultations, with delivery and read receipts.
pub(super) struct Chat;

impl MigrationName for Chat {
    fn name(&self) -> &str {
        "m20261122_000008_chat"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Chat {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("chat_messages")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                // NULL for system notices.
                .col(uuid_null("sender_id"))
                // The sender's own id for the frame: a resent frame is stored once.
                .col(string_null("client_msg_id"))
                // text | image | file | system
                .col(string("kind"))
                .col(text("body"))
                .col(boolean("masked"))
                // For `image` and `file` messages.
                .col(uuid_null("attachment_id"))
                .col(ts("created_at"))
                .col(ts_null("delivered_at"))
                .col(ts_null("read_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("chat_attachments")
                .col(pk_uuid("id"))
                .col(uuid("consultation_id"))
                .col(uuid("uploader_id"))
                // Sniffed from the bytes, never taken from the client.
                .col(string("content_type"))
                .col(string("filename"))
                .col(big_integer("size"))
                .col(string_len("sha256", 64))
                .col(blob("data"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "chat_messages_by_consultation",
            "chat_messages",
            &["consultation_id", "id"],
            false,
        )
        .await?;
        index(
            m,
            "chat_messages_client_id_uq",
            "chat_messages",
            &["sender_id", "client_msg_id"],
            true,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["chat_attachments", "chat_messages"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
