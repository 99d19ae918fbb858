//! Practitioners' earnings and payouts. Earnings are a ledger account per practitioner;
//! requesting a payout moves money from earnings to `payouts_pending`; an admin rejects it
//! (money goes back) or marks it paid (money leaves to `payouts_paid`, a receipt is made).
//! Every admin step is audited; every move is a keyed ledger transfer.

use store::money::Bps;

/// The platform's commission for a practitioner: their override, else the default.
pub fn commission_for(default_bps: u16, practitioner_override: Option<i32>) -> Bps {
    let bps = practitioner_override
        .and_then(|b| u16::try_from(b).ok())
        .filter(|b| *b <= 10_000)
        .unwrap_or(default_bps);
    // `bps` is at most 10 000 here, so the constructor cannot refuse it.
    Bps::new(bps.min(10_000)).unwrap_or(Bps::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_wins_and_bad_values_fall_back() {
        assert_eq!(commission_for(2_000, None).get(), 2_000);
        assert_eq!(commission_for(2_000, Some(1_500)).get(), 1_500);
        assert_eq!(commission_for(2_000, Some(20_000)).get(), 2_000);
        assert_eq!(commission_for(2_000, Some(-1)).get(), 2_000);
    }
}
