//! What participants are told as a consultation moves: requested, started, each minute
//! charged, low-balance warnings, closed and ended. Events are collected while a transaction
//! runs ([`Outbox`]) and published on the bus only after it commits, so nobody hears of a
//! charge that was rolled back. Delivery is best effort; the database is the record, and a
//! reconnecting client re-reads the consultation.

use serde::Serialize;
use uuid::Uuid;

use super::billing::MinuteCharge;
use crate::Services;
use store::entity::consultation;

/// One event, as sent over the WebSocket (`type` tells them apart).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A client asks a practitioner for a session (sent to the practitioner).
    ConsultationRequested {
        consultation_id: Uuid,
        reference: String,
        /// Who is asking: the client's first name and last initial.
        client_name: String,
        channel: String,
        rate: i64,
        currency: String,
        respond_by: chrono::DateTime<chrono::Utc>,
    },
    /// The practitioner accepted; billing runs from `started_at`.
    ConsultationStarted {
        consultation_id: Uuid,
        started_at: chrono::DateTime<chrono::Utc>,
        rate: i64,
        discount_per_minute: i64,
        discount_budget: i64,
        free_minutes: i32,
    },
    /// A minute was charged (free minutes too, with `client_paid` 0).
    MinuteCharged {
        consultation_id: Uuid,
        minute: u32,
        client_paid: i64,
        total_charged: i64,
    },
    /// The wallet covers only this many more minutes.
    BillingWarning {
        consultation_id: Uuid,
        minutes_left: i64,
    },
    /// The request was declined, cancelled or missed.
    ConsultationClosed {
        consultation_id: Uuid,
        status: String,
    },
    /// A slot of a practitioner you wait for is yours if you request it before the offer
    /// expires.
    WaitlistOffer {
        practitioner_id: Uuid,
        channel: String,
        offer_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The session is over; `reason` says why.
    ConsultationEnded {
        consultation_id: Uuid,
        reason: Option<String>,
        minutes_billed: i32,
        amount_charged: i64,
        ended_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl LiveEvent {
    pub fn offer(e: &store::entity::waitlist_entry::Model) -> Self {
        LiveEvent::WaitlistOffer {
            practitioner_id: e.practitioner_id,
            channel: e.channel.clone(),
            offer_expires_at: e.offer_expires_at,
        }
    }
    pub fn requested(c: &consultation::Model, client_name: String) -> Self {
        LiveEvent::ConsultationRequested {
            consultation_id: c.id,
            reference: c.reference.clone(),
            client_name,
            channel: c.channel.clone(),
            rate: c.rate_minor,
            currency: c.currency.clone(),
            respond_by: c.respond_by,
        }
    }
    pub fn started(c: &consultation::Model) -> Self {
        LiveEvent::ConsultationStarted {
            consultation_id: c.id,
            started_at: c.started_at.unwrap_or(c.updated_at),
            rate: c.rate_minor,
            discount_per_minute: c.discount_per_minute,
            discount_budget: c.discount_budget,
            free_minutes: c.free_minutes,
        }
    }
    pub fn minute_charged(c: &consultation::Model, charge: &MinuteCharge) -> Self {
        LiveEvent::MinuteCharged {
            consultation_id: c.id,
            minute: charge.index + 1,
            client_paid: charge.client_pays,
            total_charged: c.amount_charged,
        }
    }
    pub fn low_balance(c: &consultation::Model, minutes_left: i64) -> Self {
        LiveEvent::BillingWarning {
            consultation_id: c.id,
            minutes_left,
        }
    }
    pub fn closed(c: &consultation::Model) -> Self {
        LiveEvent::ConsultationClosed {
            consultation_id: c.id,
            status: c.status.clone(),
        }
    }
    pub fn ended(c: &consultation::Model) -> Self {
        LiveEvent::ConsultationEnded {
            consultation_id: c.id,
            reason: c.end_reason.clone(),
            minutes_billed: c.minutes_billed,
            amount_charged: c.amount_charged,
            ended_at: c.ended_at,
        }
    }
}

/// The bus topic of everything addressed to one user, on every node.
pub fn user_topic(user: Uuid) -> String {
    format!("user:{user}")
}

/// Events waiting for their transaction to commit.
#[derive(Debug, Default)]
pub struct Outbox {
    events: Vec<(Uuid, LiveEvent)>,
}

impl Outbox {
    pub fn push(&mut self, user: Uuid, event: LiveEvent) {
        self.events.push((user, event));
    }

    /// To the client and the practitioner.
    pub fn both(&mut self, c: &consultation::Model, event: LiveEvent) {
        self.events.push((c.client_id, event.clone()));
        self.events.push((c.practitioner_user_id, event));
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Publishes everything; a bus failure is logged, never turned into a request failure
    /// (the state change is already committed). The publishes are polled together, in
    /// order: each is issued on its first poll, so they leave in order (a Redis connection
    /// keeps it) while the round trips overlap. One at a time, a billing pass of 10,000
    /// charges paid 20,000 Redis round trips in a row.
    pub async fn publish(self, app: &Services) {
        let sends = self.events.into_iter().filter_map(|(user, event)| {
            let payload = serde_json::to_vec(&event).ok()?;
            let bus = app.bus.clone();
            Some(async move {
                if let Err(e) = bus.publish(&user_topic(user), payload.into()).await {
                    tracing::warn!(error = %e, "live event not published");
                }
            })
        });
        futures::future::join_all(sends).await;
    }
}
