//! The arithmetic of per-minute billing, as pure functions: which minutes a stretch of
//! billable time owes, what one minute costs the client, and how that money divides between
//! the practitioner, the platform and the promotions budget. The consultation engine calls
//! these and moves the money through the ledger; nothing here reads a clock or a database.
//!
//! Rules (see docs/live.md):
//! - A minute is owed once it has started: 0 s → 0, 1 s … 60 s → 1, 61 s → 2.
//! - The rate is fixed when the session starts; so is the commission.
//! - The practitioner earns their share of the full rate on every minute, free or discounted:
//!   free minutes and promo discounts are the platform's marketing, paid from the promotions
//!   account, never from the practitioner's earnings.

use crate::ledger::money::{Bps, split_commission};

pub const MINUTE_MS: i64 = 60_000;

/// Minutes owed for `elapsed_ms` of billable time: every started minute.
pub fn minutes_started(elapsed_ms: i64) -> u32 {
    if elapsed_ms <= 0 {
        return 0;
    }
    let whole = elapsed_ms / MINUTE_MS;
    let started = if elapsed_ms % MINUTE_MS == 0 {
        whole
    } else {
        whole + 1
    };
    u32::try_from(started).unwrap_or(u32::MAX)
}

/// Milliseconds from the session start at which minute `index` (0-based) begins.
pub fn minute_offset_ms(index: u32) -> i64 {
    i64::from(index) * MINUTE_MS
}

/// What the session's terms are, fixed at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Price of one minute, minor units.
    pub rate: i64,
    pub commission: Bps,
    /// The first `free_minutes` minutes cost the client nothing.
    pub free_minutes: u32,
    /// Taken off every paid minute (from a promo code's quote), at most `rate`.
    pub discount_per_minute: i64,
}

/// How one minute's money moves. Always balanced:
/// `client_pays + promotion_pays == practitioner_earns + platform_earns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCharge {
    pub index: u32,
    pub free: bool,
    pub client_pays: i64,
    pub practitioner_earns: i64,
    /// The platform's commission net of what the client did not pay; never negative (a
    /// shortfall is paid by promotions instead).
    pub platform_earns: i64,
    /// Free minutes and discounts beyond the platform's own commission.
    pub promotion_pays: i64,
    /// The discount granted on this minute (0 on free minutes, which are wholly free).
    pub discount: i64,
}

/// The ledger legs of a minute: client → practitioner, client → platform,
/// promotions → practitioner. Each is ≥ 0; zero legs are skipped by the caller. The client's
/// money goes to the practitioner first, so promotions only ever top up the practitioner and
/// the platform never books commission it was not paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Legs {
    pub client_to_practitioner: i64,
    pub client_to_platform: i64,
    pub promotions_to_practitioner: i64,
}

impl MinuteCharge {
    pub fn legs(&self) -> Legs {
        let client_to_practitioner = self.client_pays.min(self.practitioner_earns);
        let client_to_platform = self.client_pays - client_to_practitioner;
        let promotions_to_practitioner = self.practitioner_earns - client_to_practitioner;
        Legs {
            client_to_practitioner,
            client_to_platform,
            promotions_to_practitioner,
        }
    }
}

/// Prices minute `index` under `terms`.
pub fn price_minute(index: u32, terms: Terms) -> MinuteCharge {
    let rate = terms.rate.max(0);
    let split = split_commission(rate, terms.commission);
    let free = index < terms.free_minutes;
    let discount = if free {
        0
    } else {
        terms.discount_per_minute.clamp(0, rate)
    };
    let client_pays = if free { 0 } else { rate - discount };
    let practitioner_earns = split.practitioner;
    let platform_earns = (client_pays - practitioner_earns).max(0);
    MinuteCharge {
        index,
        free,
        client_pays,
        practitioner_earns,
        platform_earns,
        promotion_pays: practitioner_earns + platform_earns - client_pays,
        discount,
    }
}

/// How many more paid minutes `available` covers at this price (free minutes cost nothing,
/// so they are not counted here; callers check them first).
pub fn minutes_affordable(available: i64, client_pays_per_minute: i64) -> i64 {
    if client_pays_per_minute <= 0 {
        return i64::MAX;
    }
    available.max(0) / client_pays_per_minute
}

/// The smallest balance that may start a session: `min_minutes` paid minutes, after the
/// free ones.
pub fn minimum_to_start(terms: Terms, min_minutes: u32) -> i64 {
    (0..min_minutes)
        .map(|i| price_minute(i, terms).client_pays)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn terms(rate: i64, bps: u16, free: u32, discount: i64) -> Terms {
        Terms {
            rate,
            commission: Bps::new(bps).unwrap(),
            free_minutes: free,
            discount_per_minute: discount,
        }
    }

    #[test]
    fn every_started_minute_is_owed() {
        assert_eq!(minutes_started(0), 0);
        assert_eq!(minutes_started(1_000), 1);
        assert_eq!(minutes_started(59_000), 1);
        assert_eq!(minutes_started(60_000), 1);
        assert_eq!(minutes_started(61_000), 2);
        assert_eq!(minutes_started(10 * 60_000), 10);
        assert_eq!(minutes_started(-5), 0);
    }

    #[test]
    fn a_paid_minute_splits_by_commission() {
        let m = price_minute(0, terms(2_000, 2_000, 0, 0));
        assert_eq!(
            (
                m.client_pays,
                m.practitioner_earns,
                m.platform_earns,
                m.promotion_pays
            ),
            (2_000, 1_600, 400, 0)
        );
        let legs = m.legs();
        assert_eq!(legs.client_to_practitioner, 1_600);
        assert_eq!(legs.client_to_platform, 400);
        assert_eq!(legs.promotions_to_practitioner, 0);
    }

    #[test]
    fn free_minutes_are_paid_by_promotions() {
        let t = terms(2_000, 2_000, 2, 0);
        let m = price_minute(1, t);
        assert!(m.free);
        assert_eq!(m.client_pays, 0);
        assert_eq!(m.practitioner_earns, 1_600);
        assert_eq!(m.legs().promotions_to_practitioner, 1_600);
        assert!(!price_minute(2, t).free);
        assert_eq!(minimum_to_start(t, 5), 3 * 2_000);
    }

    #[test]
    fn a_deep_discount_never_takes_from_the_practitioner() {
        // 90 % off: the client pays 200, the practitioner still earns 1,600.
        let m = price_minute(0, terms(2_000, 2_000, 0, 1_800));
        assert_eq!(m.client_pays, 200);
        assert_eq!(m.practitioner_earns, 1_600);
        assert_eq!(m.platform_earns, 0);
        assert_eq!(m.promotion_pays, 1_400);
        let legs = m.legs();
        assert_eq!(legs.client_to_practitioner, 200);
        assert_eq!(legs.promotions_to_practitioner, 1_400);
        assert_eq!(legs.client_to_platform, 0);
    }

    #[test]
    fn affordability() {
        assert_eq!(minutes_affordable(5_000, 2_000), 2);
        assert_eq!(minutes_affordable(-1, 2_000), 0);
        assert_eq!(minutes_affordable(0, 0), i64::MAX);
    }

    proptest! {
        #[test]
        fn every_minute_balances(
            rate in 0i64..10_000_000,
            bps in 0u16..=10_000,
            free in 0u32..5,
            discount in -100i64..20_000_000,
            index in 0u32..10,
        ) {
            let m = price_minute(index, terms(rate, bps, free, discount));
            prop_assert_eq!(m.client_pays + m.promotion_pays, m.practitioner_earns + m.platform_earns);
            prop_assert!(m.client_pays >= 0 && m.client_pays <= rate);
            prop_assert!(m.platform_earns >= 0 && m.promotion_pays >= 0);
            prop_assert_eq!(m.practitioner_earns, split_commission(rate, Bps::new(bps).unwrap()).practitioner);
            let l = m.legs();
            prop_assert!(l.client_to_practitioner >= 0 && l.client_to_platform >= 0);
            prop_assert!(l.promotions_to_practitioner >= 0);
            prop_assert_eq!(l.client_to_practitioner + l.client_to_platform, m.client_pays);
            prop_assert_eq!(l.client_to_practitioner + l.promotions_to_practitioner, m.practitioner_earns);
            prop_assert_eq!(l.client_to_platform, m.platform_earns);
            prop_assert_eq!(l.promotions_to_practitioner, m.promotion_pays);
        }

        #[test]
        fn minutes_grow_by_one_each_minute(ms in 1i64..10_000_000) {
            let n = minutes_started(ms);
            prop_assert!(minute_offset_ms(n - 1) < ms && ms <= minute_offset_ms(n));
        }
    }
}
