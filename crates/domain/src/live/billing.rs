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
//! - A promo code is a budget for the whole session, not a price cut on every minute: paid
//!   minutes take up to `discount_per_minute` off until `discount_budget` is spent, then the
//!   client pays the full rate. A discount on every minute would let a practitioner and a
//!   throwaway client run an open socket against the promotions account for as long as they
//!   liked.

use chrono::{DateTime, Duration, Utc};

use store::money::{Bps, split_commission};

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

/// A stretch of time when no node of the service was alive (`live::outages`). Nobody could
/// talk then, so it is cut out of every session's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Milliseconds of `from..to` that fall outside every outage. Outages may overlap each
/// other (two nodes recording the same one): each instant is cut once.
pub fn live_ms(from: DateTime<Utc>, to: DateTime<Utc>, outages: &[Outage]) -> i64 {
    if to <= from {
        return 0;
    }
    let mut cuts: Vec<(DateTime<Utc>, DateTime<Utc>)> = outages
        .iter()
        .map(|o| (o.from.max(from), o.to.min(to)))
        .filter(|(a, b)| a < b)
        .collect();
    cuts.sort_unstable();
    let mut down = 0i64;
    let mut reach = from;
    for (a, b) in cuts {
        let a = a.max(reach);
        if b > a {
            down += (b - a).num_milliseconds();
            reach = b;
        }
    }
    (to - from).num_milliseconds() - down
}

/// Minutes a session started at `started` has run by `until`: every started minute of live
/// time (outages cut out). What is owed is this up to the end of the presence window
/// (`owed_minutes`); settling charges it up to the instant the session ends.
pub fn minutes_started_until(
    started: DateTime<Utc>,
    until: DateTime<Utc>,
    outages: &[Outage],
) -> u32 {
    minutes_started(live_ms(started, until, outages))
}

/// One side of a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Practitioner,
}

/// When each side of a running session was last seen (a heartbeat, a message, a socket
/// frame). For billing a side counts as there from the start until it was last seen, and a
/// sighting from before the start counts as the start. The billing rule lives here: the
/// client owes for the window both sides were present, and nothing after the first of them
/// went quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    pub started: DateTime<Utc>,
    client_seen: Option<DateTime<Utc>>,
    practitioner_seen: Option<DateTime<Utc>>,
}

impl Presence {
    pub fn new(
        started: DateTime<Utc>,
        client_seen: Option<DateTime<Utc>>,
        practitioner_seen: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            started,
            client_seen,
            practitioner_seen,
        }
    }

    /// When `side` was last seen, at the earliest the start.
    pub fn seen(&self, side: Side) -> DateTime<Utc> {
        let raw = match side {
            Side::Client => self.client_seen,
            Side::Practitioner => self.practitioner_seen,
        };
        raw.unwrap_or(self.started).max(self.started)
    }

    /// The end of the window both sides were present for.
    pub fn both_until(&self) -> DateTime<Utc> {
        self.seen(Side::Client).min(self.seen(Side::Practitioner))
    }

    /// The side that went quiet first, once either has been silent for longer than
    /// `grace` (the client on a tie); `None` while both are still here.
    pub fn gone(&self, now: DateTime<Utc>, grace: Duration) -> Option<Side> {
        let cutoff = now - grace;
        let (client, practitioner) = (self.seen(Side::Client), self.seen(Side::Practitioner));
        if client >= cutoff && practitioner >= cutoff {
            None
        } else if client <= practitioner {
            Some(Side::Client)
        } else {
            Some(Side::Practitioner)
        }
    }

    /// Where billing stops when `ender` ends the session at `now`: the ender is here now;
    /// the other side counts as here until now if seen within `grace`, else until it was
    /// last seen, and a side never seen at all was never there (billing stops at the start).
    pub fn ended_by(&self, ender: Side, now: DateTime<Utc>, grace: Duration) -> DateTime<Utc> {
        let other = match ender {
            Side::Client => self.practitioner_seen,
            Side::Practitioner => self.client_seen,
        };
        match other {
            Some(seen) if seen >= now - grace => now,
            Some(seen) => seen.max(self.started),
            None => self.started,
        }
    }
}

/// Owed minutes: every started minute of live time in the window both sides were present.
pub fn owed_minutes(presence: &Presence, outages: &[Outage]) -> u32 {
    minutes_started_until(presence.started, presence.both_until(), outages)
}

/// The wall-clock instant at which a session started at `started` has run `live` ms of
/// live time (the start of minute `index` is `live = minute_offset_ms(index)`).
pub fn instant_after_live(started: DateTime<Utc>, live: i64, outages: &[Outage]) -> DateTime<Utc> {
    let mut cuts: Vec<&Outage> = outages.iter().filter(|o| o.to > started).collect();
    cuts.sort_unstable_by_key(|o| o.from);
    let mut at = started;
    let mut left = live.max(0);
    for o in cuts {
        let from = o.from.max(at);
        let before = (from - at).num_milliseconds().max(0);
        if before >= left {
            break;
        }
        left -= before;
        at = o.to.max(at);
    }
    at + Duration::milliseconds(left)
}

/// Whether an outage falls between `seen` and `now`: a side last seen before it was kept
/// away by the service, not by itself.
pub fn outage_between(seen: DateTime<Utc>, now: DateTime<Utc>, outages: &[Outage]) -> bool {
    outages.iter().any(|o| o.to > seen && o.from < now)
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
    /// Taken off each paid minute (from a promo code's quote), at most `rate`, until the
    /// budget is spent.
    pub discount_per_minute: i64,
    /// The most the promo code takes off the whole session.
    pub discount_budget: i64,
}

impl Terms {
    /// The discount on minute `index`: the per-minute discount while the budget lasts, the
    /// budget's remainder on the minute that spends it, nothing after (and nothing on free
    /// minutes, which are wholly free and spend none of it). Decided by the index alone, so
    /// every path that charges minute `index` agrees on its price.
    pub fn discount_on(&self, index: u32) -> i64 {
        if index < self.free_minutes {
            return 0;
        }
        let per_minute = self.discount_per_minute.clamp(0, self.rate.max(0));
        let paid_before = i64::from(index - self.free_minutes);
        let spent = per_minute.saturating_mul(paid_before);
        (self.discount_budget.max(0).saturating_sub(spent)).clamp(0, per_minute)
    }
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
    let discount = terms.discount_on(index);
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

/// How many minutes from minute `from` on `available` pays for, free and discounted ones
/// included; `i64::MAX` when no minute ever costs the client anything (a rate of 0).
pub fn minutes_affordable(terms: Terms, from: u32, available: i64) -> i64 {
    let rate = terms.rate.max(0);
    if rate == 0 {
        return i64::MAX;
    }
    let mut left = available.max(0);
    let mut minutes = 0i64;
    let mut index = i64::from(from);
    let free = i64::from(terms.free_minutes);
    if index < free {
        minutes += free - index;
        index = free;
    }
    let per = terms.discount_per_minute.clamp(0, rate);
    if per > 0 {
        // Minutes at the whole per-minute discount are equally priced: one division counts
        // them, however large the budget.
        let at_full_discount = (terms.discount_budget.max(0) / per - (index - free)).max(0);
        let cost = rate - per;
        let paid = if cost == 0 {
            at_full_discount
        } else {
            at_full_discount.min(left / cost)
        };
        minutes += paid;
        left -= paid * cost;
        if paid < at_full_discount {
            return minutes;
        }
        index += at_full_discount;
        // The minute that spends what is left of the budget.
        let partial = terms.discount_on(u32::try_from(index).unwrap_or(u32::MAX));
        if partial > 0 {
            if left < rate - partial {
                return minutes;
            }
            left -= rate - partial;
            minutes += 1;
        }
    }
    minutes + left / rate
}

/// The smallest balance that may start a session: what the first `min_minutes` minutes
/// cost the client (free and discounted ones count at what they cost: nothing or less).
pub fn minimum_to_start(terms: Terms, min_minutes: u32) -> i64 {
    (0..min_minutes)
        .map(|i| price_minute(i, terms).client_pays)
        .sum()
}

/// How long a voice or video token may live, seconds: the rest of the minutes already paid
/// (`paid_secs_left`), then every minute `available` pays for from minute `billed` on, then
/// the grace window, never more than `cap` and at least one second. A token outliving the
/// money would let a client stay in the call after the worker ended the session (Agora does
/// not ask us), so a near-empty wallet gets a short token and asks again as it is topped up.
pub fn rtc_token_ttl(
    terms: Terms,
    billed: u32,
    paid_secs_left: i64,
    available: i64,
    grace_secs: i64,
    cap: u32,
) -> u32 {
    let affordable = minutes_affordable(terms, billed, available);
    let secs = affordable
        .saturating_mul(60)
        .saturating_add(paid_secs_left.max(0))
        .saturating_add(grace_secs.max(0));
    u32::try_from(secs.clamp(1, i64::from(cap.max(1)))).unwrap_or(cap)
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
            discount_budget: i64::MAX,
        }
    }

    fn budgeted(rate: i64, free: u32, per_minute: i64, budget: i64) -> Terms {
        Terms {
            discount_budget: budget,
            ..terms(rate, 2_000, free, per_minute)
        }
    }

    #[test]
    fn rtc_tokens_last_as_long_as_the_money_and_the_grace_window() {
        let t = terms(1_000, 2_000, 0, 0);
        // Nothing left: the paid rest of this minute and the grace window.
        assert_eq!(rtc_token_ttl(t, 1, 40, 0, 60, 600), 100);
        // Two more minutes paid for.
        assert_eq!(rtc_token_ttl(t, 1, 40, 2_500, 60, 600), 220);
        // A rich wallet hits the cap; a free session too.
        assert_eq!(rtc_token_ttl(t, 1, 40, 10_000_000, 60, 600), 600);
        assert_eq!(rtc_token_ttl(terms(0, 0, 0, 0), 0, 0, 0, 60, 600), 600);
        // Free minutes still ahead count as covered.
        assert_eq!(
            rtc_token_ttl(terms(1_000, 2_000, 3, 0), 0, 0, 0, 0, 600),
            180
        );
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

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    #[test]
    fn outages_are_cut_out_of_the_clock() {
        let down = [Outage {
            from: t(30),
            to: t(55),
        }];
        assert_eq!(live_ms(t(0), t(70), &[]), 70_000);
        assert_eq!(live_ms(t(0), t(70), &down), 45_000);
        // 30 s before the crash and 25 s after the restart: still the first minute.
        assert_eq!(minutes_started_until(t(0), t(80), &down), 1);
        assert_eq!(minutes_started_until(t(0), t(86), &down), 2);
        // Overlapping records of one outage count once; outages outside do not count.
        let twice = [
            down[0],
            Outage {
                from: t(40),
                to: t(60),
            },
            Outage {
                from: t(100),
                to: t(200),
            },
        ];
        assert_eq!(live_ms(t(0), t(70), &twice), 40_000);
        // Minute 1 begins after 60 s of live time: at 85 s on the wall.
        assert_eq!(instant_after_live(t(0), 60_000, &down), t(85));
        assert_eq!(instant_after_live(t(0), 20_000, &down), t(20));
        assert_eq!(instant_after_live(t(0), 30_000, &down), t(30));
        assert!(outage_between(t(20), t(60), &down));
        assert!(!outage_between(t(56), t(90), &down));
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
        let t = terms(2_000, 2_000, 0, 0);
        assert_eq!(minutes_affordable(t, 0, 5_000), 2);
        assert_eq!(minutes_affordable(t, 3, -1), 0);
        assert_eq!(minutes_affordable(terms(0, 2_000, 0, 0), 0, 0), i64::MAX);
        // Two free minutes, then 5,000 pays two more.
        assert_eq!(minutes_affordable(terms(2_000, 2_000, 2, 0), 0, 5_000), 4);
    }

    #[test]
    fn a_fixed_code_is_spent_once_per_session() {
        // A code worth the whole rate three times over: three free minutes, then full price.
        let t = budgeted(2_000, 0, 2_000, 6_000);
        let paid: Vec<i64> = (0..5).map(|i| price_minute(i, t).client_pays).collect();
        assert_eq!(paid, [0, 0, 0, 2_000, 2_000]);
        assert_eq!(minimum_to_start(t, 5), 4_000);
        // An empty wallet gets exactly the budget's minutes.
        assert_eq!(minutes_affordable(t, 0, 0), 3);
        assert_eq!(minutes_affordable(t, 0, 3_999), 4);
        assert_eq!(minutes_affordable(t, 3, 4_000), 2);
    }

    #[test]
    fn a_percentage_code_stops_at_its_cap() {
        // 25 % of 2,000 is 500 a minute, capped at 750 in all: 500, then 250, then nothing.
        let t = budgeted(2_000, 1, 500, 750);
        let discounts: Vec<i64> = (0..5).map(|i| price_minute(i, t).discount).collect();
        assert_eq!(discounts, [0, 500, 250, 0, 0]);
        assert_eq!(
            price_minute(0, t).client_pays,
            0,
            "the free minute spends no budget"
        );
        // Free, 1,500 and 1,750 = 3,250, then 2,000 a minute.
        assert_eq!(minutes_affordable(t, 0, 3_249), 2);
        assert_eq!(minutes_affordable(t, 0, 3_250), 3);
        assert_eq!(minutes_affordable(t, 0, 7_250), 5);
    }

    #[test]
    fn no_budget_means_no_discount() {
        let t = budgeted(2_000, 0, 2_000, 0);
        assert_eq!(price_minute(0, t).client_pays, 2_000);
        assert_eq!(minutes_affordable(t, 0, 4_000), 2);
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
        fn promotions_never_pay_more_than_the_budget(
            rate in 1i64..100_000,
            per_minute in 0i64..200_000,
            budget in 0i64..1_000_000,
            free in 0u32..3,
            minutes in 0u32..200,
        ) {
            let t = budgeted(rate, free, per_minute, budget);
            let discounts: i64 = (0..minutes).map(|i| price_minute(i, t).discount).sum();
            prop_assert!(discounts <= budget);
            let paid_minutes = minutes.saturating_sub(free);
            if paid_minutes > 0 && i64::from(paid_minutes) * per_minute.min(rate) >= budget {
                prop_assert_eq!(discounts, budget.min(i64::from(paid_minutes) * per_minute.min(rate)));
            }
        }

        #[test]
        fn affordability_matches_minute_by_minute(
            rate in 1i64..5_000,
            per_minute in 0i64..6_000,
            budget in 0i64..30_000,
            free in 0u32..3,
            from in 0u32..8,
            available in -10i64..60_000,
        ) {
            let t = budgeted(rate, free, per_minute, budget);
            let mut left = available.max(0);
            let mut counted = 0i64;
            let mut i = from;
            loop {
                let cost = price_minute(i, t).client_pays;
                if cost > left { break; }
                left -= cost;
                counted += 1;
                i += 1;
            }
            prop_assert_eq!(minutes_affordable(t, from, available), counted);
        }

        #[test]
        fn live_time_and_its_instants_agree(
            spans in proptest::collection::vec((0i64..500, 1i64..100), 0..4),
            end in 0i64..1_000,
        ) {
            let outages: Vec<Outage> = spans.iter().map(|&(a, len)| Outage { from: t(a), to: t(a + len) }).collect();
            let live = live_ms(t(0), t(end), &outages);
            prop_assert!(live >= 0 && live <= end * 1_000);
            // The instant at which that much live time has passed is no later than `end`,
            // and has exactly that much live time before it.
            let at = instant_after_live(t(0), live, &outages);
            prop_assert!(at <= t(end));
            prop_assert_eq!(live_ms(t(0), at, &outages), live);
        }

        #[test]
        fn minutes_grow_by_one_each_minute(ms in 1i64..10_000_000) {
            let n = minutes_started(ms);
            prop_assert!(minute_offset_ms(n - 1) < ms && ms <= minute_offset_ms(n));
        }
    }

    #[test]
    fn owed_minutes_cover_only_the_window_both_sides_were_present() {
        // Both here for 2 min 10 s: three started minutes.
        let both = Presence::new(t(0), Some(t(130)), Some(t(140)));
        assert_eq!(both.both_until(), t(130));
        assert_eq!(owed_minutes(&both, &[]), 3);
        // The practitioner went quiet at 50 s while the client stayed: one minute.
        let one_left = Presence::new(t(0), Some(t(300)), Some(t(50)));
        assert_eq!(owed_minutes(&one_left, &[]), 1);
        // Nobody seen since the start (or a clock that says earlier): nothing owed.
        assert_eq!(owed_minutes(&Presence::new(t(0), None, None), &[]), 0);
        let early = Presence::new(t(100), Some(t(40)), Some(t(160)));
        assert_eq!(early.seen(Side::Client), t(100));
        assert_eq!(owed_minutes(&early, &[]), 0);
        // An outage inside the window is not billed.
        let down = [Outage {
            from: t(30),
            to: t(90),
        }];
        assert_eq!(owed_minutes(&both, &down), 2);
        // Exactly on a minute boundary: that minute, not the next.
        assert_eq!(
            owed_minutes(&Presence::new(t(0), Some(t(120)), Some(t(120))), &[]),
            2
        );
    }

    #[test]
    fn the_side_that_went_quiet_first_is_the_one_gone() {
        let grace = Duration::seconds(30);
        let p = Presence::new(t(0), Some(t(100)), Some(t(95)));
        assert_eq!(p.gone(t(120), grace), None);
        assert_eq!(p.gone(t(125), grace), None);
        assert_eq!(p.gone(t(126), grace), Some(Side::Practitioner));
        let q = Presence::new(t(0), Some(t(10)), Some(t(95)));
        assert_eq!(q.gone(t(120), grace), Some(Side::Client));
        // Both silent alike: the client is taken as gone first.
        let tie = Presence::new(t(0), Some(t(10)), Some(t(10)));
        assert_eq!(tie.gone(t(120), grace), Some(Side::Client));
    }

    #[test]
    fn ending_stops_billing_now_unless_the_other_side_was_already_gone() {
        let grace = Duration::seconds(30);
        let p = Presence::new(t(0), Some(t(200)), Some(t(190)));
        assert_eq!(p.ended_by(Side::Client, t(210), grace), t(210));
        assert_eq!(p.ended_by(Side::Practitioner, t(210), grace), t(210));
        // The practitioner vanished at 190 s; the client ends at 300 s: billed to 190 s.
        assert_eq!(p.ended_by(Side::Client, t(300), grace), t(190));
        // Never seen: billed to the start, even just after it.
        let never = Presence::new(t(50), Some(t(400)), None);
        assert_eq!(never.ended_by(Side::Client, t(400), grace), t(50));
        assert_eq!(never.ended_by(Side::Client, t(60), grace), t(50));
    }
}
