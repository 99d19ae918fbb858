//! Schema migrations: the [`Migrator`] with its ordered list, one file per migration (named
//! after the migration's name, which databases record as applied), and the column and index
//! helpers they share. One definition serves SQLite and PostgreSQL (sea-query renders each
//! dialect).
//!
//! A migration that has landed is never edited, only added to: databases that already ran it
//! will not run it again, so an edit would leave them with a different schema from new ones.
//! Its name, its place in the list and its SQL stay as they are; a schema change is a new
//! file appended at the end of the list. The shared helpers below are used by landed
//! migrations, so changing what they produce changes those migrations too: add a new helper
//! instead.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

mod m20261122_000001_foundation;
mod m20261122_000002_ledger;
mod m20261122_000003_payments;
mod m20261122_000004_promos;
mod m20261122_000005_payouts;
mod m20261122_000006_astrology;
mod m20261122_000007_consultations;
mod m20261122_000008_chat;
mod m20261122_000009_aftercare;
mod m20261122_000011_scheduling;
mod m20261123_000001_notifications;
mod m20261123_000002_room_for_updates;
mod m20261207_000001_hardening;
mod m20261207_000002_accounts;
mod m20261207_000004_live_limits;
mod m20261208_000001_enumerated_columns;
mod m20261209_000001_console;

use m20261122_000001_foundation::Foundation;
use m20261122_000002_ledger::Ledger;
use m20261122_000003_payments::Payments;
use m20261122_000004_promos::Promos;
use m20261122_000005_payouts::Payouts;
use m20261122_000006_astrology::Astrology;
use m20261122_000007_consultations::Consultations;
use m20261122_000008_chat::Chat;
use m20261122_000009_aftercare::Aftercare;
use m20261122_000011_scheduling::Scheduling;
use m20261123_000001_notifications::Notifications;
use m20261123_000002_room_for_updates::RoomForUpdates;
use m20261207_000001_hardening::Hardening;
use m20261207_000002_accounts::Accounts;
use m20261207_000004_live_limits::LiveLimits;
use m20261208_000001_enumerated_columns::EnumeratedColumns;
use m20261209_000001_console::Console;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // Applied in this order; a new migration goes at the end.
        vec![
            Box::new(Foundation),
            Box::new(Ledger),
            Box::new(Payments),
            Box::new(Promos),
            Box::new(Payouts),
            Box::new(Astrology),
            Box::new(Consultations),
            Box::new(Chat),
            Box::new(Aftercare),
            Box::new(Scheduling),
            Box::new(Notifications),
            Box::new(RoomForUpdates),
            Box::new(Hardening),
            Box::new(Accounts),
            Box::new(LiveLimits),
            Box::new(EnumeratedColumns),
            Box::new(Console),
        ]
    }
}

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}
fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(*c);
    }
    if unique {
        stmt.unique();
    }
    m.create_index(stmt).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names databases have recorded as applied, in the order they ran. A migration
    /// renamed, dropped or moved would make existing databases fail to migrate (or run it
    /// twice), so the list may only grow at its end.
    const LANDED: [&str; 16] = [
        "m20261122_000001_foundation",
        "m20261122_000002_ledger",
        "m20261122_000003_payments",
        "m20261122_000004_promos",
        "m20261122_000005_payouts",
        "m20261122_000006_astrology",
        "m20261122_000007_consultations",
        "m20261122_000008_chat",
        "m20261122_000009_aftercare",
        "m20261122_000011_scheduling",
        "m20261123_000001_notifications",
        "m20261123_000002_room_for_updates",
        "m20261207_000001_hardening",
        "m20261207_000002_accounts",
        "m20261207_000004_live_limits",
        "m20261208_000001_enumerated_columns",
    ];

    #[test]
    fn landed_migrations_keep_their_names_and_order() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert!(names.len() >= LANDED.len());
        assert_eq!(&names[..LANDED.len()], LANDED);
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            sorted, names,
            "a new migration's name sorts after the others"
        );
    }
}
