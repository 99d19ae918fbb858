//! The migration `m20261122_000003_payments` (struct [`Payments`], whose doc says what it creates).
//! It has landed: never edit it; change the schema with a new migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{index, ts, ts_null};

/// Top-up orders through payment gateways and the webhook events they send.
pub(super) struct Payments;

impl MigrationName for Payments {
    fn name(&self) -> &str {
        "m20261122_000003_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Payments {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("payment_orders")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("user_id"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(string("gateway"))
                .col(string("gateway_order_id"))
                .col(string_null("gateway_payment_id"))
                // created | paid | failed
                .col(string("status"))
                .col(text("checkout_url"))
                .col(uuid_null("credit_transfer_id"))
                // A promo code's discount: the client pays `amount`, the wallet receives
                // `amount + discount`, the platform's promotions budget pays the difference.
                .col(uuid_null("promo_code_id"))
                .col(big_integer("discount"))
                // A credit package's bonus, credited with the payment.
                .col(uuid_null("package_id"))
                .col(big_integer("package_bonus"))
                // Sent back through the gateway so far; never more than `amount`.
                .col(big_integer("refunded"))
                // Unique, given when the payment is credited.
                .col(string_null("receipt_number"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("paid_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("payment_orders", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "payment_orders_reference_uq",
            "payment_orders",
            &["reference"],
            true,
        )
        .await?;
        index(
            m,
            "payment_orders_gateway_uq",
            "payment_orders",
            &["gateway", "gateway_order_id"],
            true,
        )
        .await?;
        index(
            m,
            "payment_orders_by_user",
            "payment_orders",
            &["user_id", "id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("credit_packages")
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(text("description"))
                // What the client pays…
                .col(big_integer("price"))
                // …and what the wallet receives (price + bonus).
                .col(big_integer("credit"))
                .col(string_len("currency", 3))
                .col(boolean("active"))
                .col(integer("sort_order"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("refunds")
                .col(pk_uuid("id"))
                .col(string("reference"))
                .col(uuid("payment_order_id"))
                .col(uuid("user_id"))
                .col(big_integer("amount"))
                .col(string_len("currency", 3))
                .col(string("reason"))
                .col(text("note"))
                // pending | succeeded | failed
                .col(string("status"))
                .col(string_null("gateway_refund_id"))
                .col(uuid("hold_id"))
                .col(uuid("created_by"))
                .col(string("idempotency_key"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "refunds_key_uq",
            "refunds",
            &["created_by", "idempotency_key"],
            true,
        )
        .await?;
        index(
            m,
            "refunds_by_order",
            "refunds",
            &["payment_order_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_events")
                .col(pk_uuid("id"))
                .col(string("gateway"))
                .col(string("event_id"))
                .col(string("event_type"))
                .col(text("payload"))
                // credited | ignored | failed_marked | …: what processing did
                .col(string("outcome"))
                .col(ts("received_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "webhook_events_event_uq",
            "webhook_events",
            &["gateway", "event_id"],
            true,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "webhook_events",
            "refunds",
            "credit_packages",
            "payment_orders",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
