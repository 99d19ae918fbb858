//! The money rules of an appointment, free of storage: how much of what the client paid
//! the practitioner keeps when a booking ends a given way, and the ledger legs that move it.

use chrono::{DateTime, Utc};

use store::money::{Bps, share, split_commission};

/// Who ended a booking early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Client,
    Practitioner,
    /// The platform (an unanswered request, a practitioner no-show).
    System,
}

/// The cancellation policy, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct CancellationPolicy {
    /// A client who cancels at least this long before the start gets everything back.
    pub full_refund_hours: i64,
    /// Share refunded to a client who cancels later than that, basis points.
    pub late_refund_bps: u16,
}

/// Share of the booking, in basis points, that the practitioner keeps when `by` cancels.
/// A practitioner or the platform cancelling refunds everything, and so does a client
/// withdrawing a request nobody confirmed yet.
pub fn kept_on_cancel(
    policy: CancellationPolicy,
    by: Party,
    confirmed: bool,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> u16 {
    match by {
        Party::Practitioner | Party::System => 0,
        Party::Client if !confirmed => 0,
        Party::Client => {
            if starts_at - now >= chrono::Duration::hours(policy.full_refund_hours) {
                0
            } else {
                10_000 - policy.late_refund_bps.min(10_000)
            }
        }
    }
}

/// How the money of a closing booking moves. Balanced:
/// `client_to_practitioner + client_to_platform + refund == paid` and
/// `client_to_practitioner + promotions_to_practitioner == practitioner_earns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub client_to_practitioner: i64,
    pub client_to_platform: i64,
    /// A promo discount beyond the platform's commission, paid by the platform's
    /// promotions budget so the practitioner earns on the list price.
    pub promotions_to_practitioner: i64,
    /// Back to the client's available balance.
    pub refund: i64,
    pub practitioner_earns: i64,
}

/// Settles a booking listed at `price`, for which the client paid `paid` (after any
/// discount), when the practitioner keeps `kept_bps` of it (10 000 = completed or client
/// no-show, 0 = full refund).
pub fn settle(price: i64, paid: i64, commission: Bps, kept_bps: u16) -> Settlement {
    let kept = Bps::new(kept_bps.min(10_000)).unwrap_or(Bps::ZERO);
    let charged = share(paid, kept);
    let practitioner_earns = split_commission(share(price, kept), commission).practitioner;
    let client_to_practitioner = charged.min(practitioner_earns);
    Settlement {
        client_to_practitioner,
        client_to_platform: charged - client_to_practitioner,
        promotions_to_practitioner: practitioner_earns - client_to_practitioner,
        refund: paid - charged,
        practitioner_earns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    const POLICY: CancellationPolicy = CancellationPolicy {
        full_refund_hours: 24,
        late_refund_bps: 5_000,
    };

    #[test]
    fn cancellation_branches() {
        let start = at(48);
        assert_eq!(kept_on_cancel(POLICY, Party::Client, true, start, at(0)), 0);
        assert_eq!(
            kept_on_cancel(POLICY, Party::Client, true, start, at(24)),
            0
        );
        assert_eq!(
            kept_on_cancel(POLICY, Party::Client, true, start, at(25)),
            5_000
        );
        assert_eq!(
            kept_on_cancel(POLICY, Party::Client, false, start, at(47)),
            0
        );
        assert_eq!(
            kept_on_cancel(POLICY, Party::Practitioner, true, start, at(47)),
            0
        );
        assert_eq!(
            kept_on_cancel(POLICY, Party::System, true, start, at(47)),
            0
        );
    }

    #[test]
    fn completed_booking_pays_the_practitioner_their_share() {
        // ₹1,000 at 20 % commission, no discount.
        let s = settle(100_000, 100_000, Bps::new(2_000).unwrap(), 10_000);
        assert_eq!(
            s,
            Settlement {
                client_to_practitioner: 80_000,
                client_to_platform: 20_000,
                promotions_to_practitioner: 0,
                refund: 0,
                practitioner_earns: 80_000,
            }
        );
    }

    #[test]
    fn late_cancel_keeps_half_and_a_deep_discount_is_topped_up_by_promotions() {
        let s = settle(100_000, 100_000, Bps::new(2_000).unwrap(), 5_000);
        assert_eq!(
            (s.client_to_practitioner, s.client_to_platform, s.refund),
            (40_000, 10_000, 50_000)
        );
        // 90 % off: the client paid ₹100, the practitioner still earns 80 % of ₹1,000.
        let s = settle(100_000, 10_000, Bps::new(2_000).unwrap(), 10_000);
        assert_eq!(s.client_to_practitioner, 10_000);
        assert_eq!(s.client_to_platform, 0);
        assert_eq!(s.promotions_to_practitioner, 70_000);
    }

    proptest! {
        #[test]
        fn settlements_balance(price in 0i64..10_000_000, off in 0i64..=100, bps in 0u16..=10_000, kept in 0u16..=10_000) {
            let paid = price - price * off / 100;
            let s = settle(price, paid, Bps::new(bps).unwrap(), kept);
            prop_assert_eq!(s.client_to_practitioner + s.client_to_platform + s.refund, paid);
            prop_assert_eq!(s.client_to_practitioner + s.promotions_to_practitioner, s.practitioner_earns);
            prop_assert!(s.client_to_practitioner >= 0 && s.client_to_platform >= 0);
            prop_assert!(s.promotions_to_practitioner >= 0 && s.refund >= 0);
            prop_assert!(s.refund <= paid);
        }
    }
}
