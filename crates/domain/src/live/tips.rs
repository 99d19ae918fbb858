//! Tips: the client of an ended consultation thanks its practitioner from the wallet. The
//! platform keeps `tip_fee_bps` of it; the rest is the practitioner's earnings. Both legs
//! are keyed by the client's idempotency key, so a retry moves nothing twice.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::engine::{Status, currency_of};
use crate::error::{Error, Result};
use crate::ledger::{self, AccountKind, AccountRef, MAX_AMOUNT, TransferRequest};
use store::WriteTxn;
use store::entity::{consultation, tip};
use store::money::{Bps, share};

/// Moves `amount` from the client's wallet to the practitioner (less the platform's fee)
/// and records the tip, inside the caller's transaction. `key` is the client's idempotency
/// key; the caller keeps the answer for replays.
pub async fn send(
    txn: &WriteTxn,
    fee_rate: Bps,
    client: Uuid,
    cons: &consultation::Model,
    amount: i64,
    key: &str,
    now: DateTime<Utc>,
) -> Result<tip::Model> {
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(Error::field(
            "amount",
            "out_of_range",
            format!("must be between 1 and {MAX_AMOUNT}"),
        ));
    }
    if cons.client_id != client {
        return Err(Error::forbidden(
            "not_the_client",
            "Only the client of a consultation can tip",
        ));
    }
    if cons.status != Status::Ended.as_str() {
        return Err(Error::conflict(
            "consultation_not_completed",
            "Tips are for consultations that have ended",
        ));
    }
    let currency = currency_of(cons)?;
    let fee = share(amount, fee_rate);
    let wallet = AccountRef::wallet(client, currency);
    for (suffix, credit, leg) in [
        (
            "p",
            AccountRef::earnings(cons.practitioner_id, currency),
            amount - fee,
        ),
        (
            "f",
            AccountRef::platform(AccountKind::PlatformRevenue, currency),
            fee,
        ),
    ] {
        if leg == 0 {
            continue;
        }
        ledger::transfer(
            txn,
            TransferRequest {
                debit: wallet.clone(),
                credit,
                amount: leg,
                kind: "tip".to_owned(),
                reference: format!("consultation:{}", cons.id),
                idempotency_key: format!("tip:{client}:{key}:{suffix}"),
                hold_id: None,
                description: format!("Tip for consultation {}", cons.reference),
            },
            now,
        )
        .await?;
    }
    Ok(tip::ActiveModel {
        id: Set(Uuid::now_v7()),
        consultation_id: Set(cons.id),
        client_id: Set(client),
        practitioner_id: Set(cons.practitioner_id),
        amount: Set(amount),
        platform_fee: Set(fee),
        currency: Set(currency.as_str().to_owned()),
        idempotency_key: Set(key.to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?)
}
