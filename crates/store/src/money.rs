//! Money arithmetic: integer minor units with a currency, and the splits that decide who
//! gets what. Pure functions; the ledger calls them, never floats.

use serde::{Deserialize, Serialize};

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const INR: Currency = Currency(*b"INR");

    pub fn parse(code: &str) -> Result<Self, &'static str> {
        let b = code.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Self([b[0], b[1], b[2]]))
        } else {
            Err("must be an ISO 4217 code such as INR")
        }
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl TryFrom<String> for Currency {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Basis points: 1 bps = 0.01 %. Commission rates are held in these, 0..=10_000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Bps(u16);

impl Bps {
    pub const ZERO: Bps = Bps(0);

    pub fn new(bps: u16) -> Result<Self, &'static str> {
        if bps <= 10_000 {
            Ok(Self(bps))
        } else {
            Err("must be between 0 and 10000 basis points")
        }
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

/// `amount × bps / 10 000`, rounded half away from zero, in exact integer arithmetic.
pub fn share(amount: i64, rate: Bps) -> i64 {
    let num = i128::from(amount) * i128::from(rate.0);
    let q = num / 10_000;
    let r = num % 10_000;
    let rounded = if r.abs() * 2 >= 10_000 {
        q + num.signum()
    } else {
        q
    };
    // |result| <= |amount|, so it always fits back into i64.
    i64::try_from(rounded).unwrap_or(amount)
}

/// How one charge divides between the platform and the practitioner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Split {
    pub platform: i64,
    pub practitioner: i64,
}

/// The platform takes its commission (rounded half up to the minor unit); the practitioner
/// gets exactly the rest, so the two parts always add up to `amount`.
pub fn split_commission(amount: i64, commission: Bps) -> Split {
    let platform = share(amount, commission);
    Split {
        platform,
        practitioner: amount - platform,
    }
}

/// `a + b` or `None` on overflow: balances are checked, never wrapped.
pub fn checked_add(a: i64, b: i64) -> Option<i64> {
    a.checked_add(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn currency_codes_are_checked() {
        assert_eq!(Currency::parse("INR").unwrap().as_str(), "INR");
        for bad in ["inr", "IN", "INRR", "I$R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commission_rounds_half_up() {
        let twenty = Bps::new(2000).unwrap();
        assert_eq!(
            split_commission(1000, twenty),
            Split {
                platform: 200,
                practitioner: 800
            }
        );
        // 20 % of 7 = 1.4 -> 1; of 8 = 1.6 -> 2; 12.5 % of 4 = 0.5 -> 1.
        assert_eq!(split_commission(7, twenty).platform, 1);
        assert_eq!(split_commission(8, twenty).platform, 2);
        assert_eq!(split_commission(4, Bps::new(1250).unwrap()).platform, 1);
        assert_eq!(
            split_commission(0, twenty),
            Split {
                platform: 0,
                practitioner: 0
            }
        );
        assert!(Bps::new(10_001).is_err());
    }

    proptest! {
        #[test]
        fn split_parts_always_sum_to_the_amount(amount in 0i64..=i64::MAX, bps in 0u16..=10_000) {
            let s = split_commission(amount, Bps::new(bps).unwrap());
            prop_assert_eq!(s.platform.checked_add(s.practitioner), Some(amount));
            prop_assert!(s.platform >= 0 && s.practitioner >= 0);
        }

        #[test]
        fn share_is_within_half_a_unit_of_exact(amount in 0i64..1_000_000_000_000, bps in 0u16..=10_000) {
            let got = share(amount, Bps::new(bps).unwrap());
            let exact = amount as f64 * f64::from(bps) / 10_000.0;
            prop_assert!((got as f64 - exact).abs() <= 0.5 + 1e-6);
        }

        #[test]
        fn share_is_monotonic_in_rate(amount in 0i64..1_000_000_000, a in 0u16..=10_000, b in 0u16..=10_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(share(amount, Bps::new(lo).unwrap()) <= share(amount, Bps::new(hi).unwrap()));
        }
    }
}
