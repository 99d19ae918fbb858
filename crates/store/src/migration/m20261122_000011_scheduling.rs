//! The migration `m20261122_000011_scheduling` (struct [`Scheduling`], whose doc says what it
//! creates). It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Appointments: service types, services, practitioners' hours in their zone (weekly hours
/// and breaks, date overrides, blocked dates) and bookings.
pub(super) struct Scheduling;

impl MigrationName for Scheduling {
    fn name(&self) -> &str {
        "m20261122_000011_scheduling"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Scheduling {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("service_types")
                .col(pk_uuid("id"))
                .col(string("slug"))
                .col(string("name"))
                .col(text("description"))
                .col(boolean("active"))
                .col(integer("sort_order"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "service_types_slug_uq", "service_types", &["slug"], true).await?;
        m.create_table(
            Table::create()
                .table("services")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(uuid_null("service_type_id"))
                .col(string("name"))
                .col(text("description"))
                // chat | call | video | in_person
                .col(string("channel"))
                .col(integer("duration_minutes"))
                .col(big_integer("price_minor"))
                .col(string_len("currency", 3))
                .col(boolean("active"))
                .col(integer("buffer_before_minutes"))
                .col(integer("buffer_after_minutes"))
                .col(integer("min_notice_minutes"))
                .col(integer("slot_interval_minutes"))
                .col(integer("booking_window_days"))
                .col(integer_null("max_per_day"))
                .col(integer_null("max_per_week"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("services", "practitioner_id")
                        .to("practitioners", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "services_by_practitioner",
            "services",
            &["practitioner_id", "id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                // One row per practitioner who keeps hours. Booking transactions update
                // `version` first: on PostgreSQL that row lock serialises bookings of one
                // practitioner (SQLite serialises all writers anyway), so the overlap check
                // that follows cannot race.
                .table("practitioner_schedules")
                .col(pk_uuid("practitioner_id"))
                .col(string("time_zone"))
                .col(big_integer("version"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                // The seeds' astrologer_availability / healer_availability, one table for
                // every kind of practitioner. kind: hours | break.
                .table("practitioner_availability")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(string("kind"))
                // 0 = Monday … 6 = Sunday
                .col(integer("weekday"))
                // Minutes after local midnight.
                .col(integer("start_minute"))
                .col(integer("end_minute"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "availability_by_practitioner",
            "practitioner_availability",
            &["practitioner_id"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("availability_overrides")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(date("date"))
                .col(integer("start_minute"))
                .col(integer("end_minute"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "overrides_by_practitioner",
            "availability_overrides",
            &["practitioner_id", "date"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("blocked_dates")
                .col(pk_uuid("id"))
                .col(uuid("practitioner_id"))
                .col(date("start_date"))
                .col(date("end_date"))
                .col(string_null("reason"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "blocked_by_practitioner",
            "blocked_dates",
            &["practitioner_id", "start_date"],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table("bookings")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("service_id"))
                .col(uuid("practitioner_id"))
                .col(uuid("practitioner_user_id"))
                .col(uuid("client_id"))
                .col(string("channel"))
                // requested | confirmed | declined | expired | cancelled | completed
                // | client_no_show | practitioner_no_show
                .col(string("status"))
                .col(ts("starts_at"))
                .col(ts("ends_at"))
                // The time with the service's buffers, which no other booking may touch.
                .col(ts("block_start"))
                .col(ts("block_end"))
                // The booker's zone, for messages and views.
                .col(string("time_zone"))
                .col(big_integer("price"))
                .col(big_integer("discount"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(integer("commission_bps"))
                .col(string_null("promo_code"))
                .col(uuid_null("promo_id"))
                .col(uuid_null("hold_id"))
                .col(text("client_notes"))
                .col(ts("respond_by"))
                .col(integer("reschedule_count"))
                // client | practitioner | system
                .col(string_null("cancelled_by"))
                .col(text_null("cancel_reason"))
                .col(big_integer("refunded"))
                .col(big_integer("captured"))
                .col(ts_null("client_joined_at"))
                .col(ts_null("practitioner_joined_at"))
                .col(uuid_null("consultation_id"))
                // Reminder offsets (minutes before the start) already sent, comma separated.
                .col(string("reminders_sent"))
                .col(ts_null("confirmed_at"))
                .col(ts_null("closed_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "bookings_reference_uq", "bookings", &["reference"], true).await?;
        index(
            m,
            "bookings_by_practitioner_time",
            "bookings",
            &["practitioner_id", "block_start"],
            false,
        )
        .await?;
        index(
            m,
            "bookings_by_client_time",
            "bookings",
            &["client_id", "starts_at"],
            false,
        )
        .await?;
        index(
            m,
            "bookings_by_status_time",
            "bookings",
            &["status", "starts_at"],
            false,
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("practitioners")
                .add_column(integer("no_show_count").default(0))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("practitioners")
                .drop_column("no_show_count")
                .to_owned(),
        )
        .await?;
        for t in [
            "bookings",
            "blocked_dates",
            "availability_overrides",
            "practitioner_availability",
            "practitioner_schedules",
            "services",
            "service_types",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
