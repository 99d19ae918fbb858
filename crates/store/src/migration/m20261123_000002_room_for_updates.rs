//! The migration `m20261123_000002_room_for_updates` (struct [`RoomForUpdates`], whose doc says
//! what it creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;

/// PostgreSQL only: leave a fifth of each page free in the tables whose rows are rewritten
/// in place many times (a session's progress every minute and its sides' liveness, ledger
/// balances, wallets, presence heartbeats). With full pages every such update wrote the new
/// row version to another page and a new entry into each of the table's indexes; with room
/// on the page PostgreSQL keeps it there and leaves the indexes alone (a HOT update). In
/// bench_live's billing phase, 97 % of the `consultations` updates were not HOT before.
/// New pages get the room; SQLite has no such setting and keeps its schema.
pub(super) struct RoomForUpdates;

impl MigrationName for RoomForUpdates {
    fn name(&self) -> &str {
        "m20261123_000002_room_for_updates"
    }
}

/// Tables updated in place on every charge, heartbeat or balance move.
const UPDATED_IN_PLACE: [&str; 4] = [
    "consultations",
    "ledger_accounts",
    "wallets",
    "practitioner_presence",
];

#[async_trait::async_trait]
impl MigrationTrait for RoomForUpdates {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for t in UPDATED_IN_PLACE {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {t} SET (fillfactor = 80)"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for t in UPDATED_IN_PLACE {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {t} RESET (fillfactor)"))
                .await?;
        }
        Ok(())
    }
}
