//! The pure part of promo codes: given a code's rules, a price and the facts about the
//! buyer, what discount applies, or why none does. No database in sight.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use store::money::{Bps, share};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// A share of the price, in basis points (1,000 = 10 %).
    Percentage(PercentageOff),
    /// A fixed amount in minor units.
    Fixed(FixedOff),
}

// The variants' payloads are named types (the JSON is the same as with struct variants) so
// that the OpenAPI document names them: client generators otherwise make up colliding
// names for the inline objects and drop the model.

/// A share of the price, in basis points (1,000 = 10 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PercentageOff {
    pub bps: u16,
}

/// A fixed amount in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FixedOff {
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    All,
    /// Users who have never paid before.
    New,
    /// Users who have paid before.
    Existing,
}

/// Where a code may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    Topup,
    Session,
    Appointment,
    Order,
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub discount: Discount,
    pub currency: String,
    pub max_discount: Option<i64>,
    pub min_order: Option<i64>,
    pub usage_limit: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub user_type: UserType,
    /// Empty means every context.
    pub contexts: Vec<Context>,
}

/// What is known about this use of the code.
#[derive(Debug, Clone)]
pub struct Use {
    pub price: i64,
    pub currency: String,
    pub context: Context,
    pub now: DateTime<Utc>,
    pub used_count: i64,
    pub used_by_user: i64,
    pub user_has_paid_before: bool,
}

/// Why a code gives nothing; stable codes clients can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Unknown,
    Inactive,
    NotStarted,
    Expired,
    WrongCurrency,
    WrongContext,
    BelowMinimumOrder,
    UsageLimitReached,
    PerUserLimitReached,
    NewUsersOnly,
    ExistingUsersOnly,
    /// A percentage code without `max_discount` on a price a practitioner sets (a session
    /// or an appointment): only codes made before caps were required can be like this.
    UncappedPercentage,
}

/// The discount `rules` give this `use`: never negative, never above the price.
pub fn evaluate(rules: &Rules, u: &Use) -> Result<i64, Refusal> {
    if !rules.active {
        return Err(Refusal::Inactive);
    }
    if u.now < rules.valid_from {
        return Err(Refusal::NotStarted);
    }
    if rules.valid_until.is_some_and(|end| u.now >= end) {
        return Err(Refusal::Expired);
    }
    if !rules.currency.eq_ignore_ascii_case(&u.currency) {
        return Err(Refusal::WrongCurrency);
    }
    if !rules.contexts.is_empty() && !rules.contexts.contains(&u.context) {
        return Err(Refusal::WrongContext);
    }
    if matches!(u.context, Context::Session | Context::Appointment)
        && needs_cap(rules.discount, rules.max_discount, &[u.context])
    {
        return Err(Refusal::UncappedPercentage);
    }
    match rules.user_type {
        UserType::New if u.user_has_paid_before => return Err(Refusal::NewUsersOnly),
        UserType::Existing if !u.user_has_paid_before => return Err(Refusal::ExistingUsersOnly),
        _ => {}
    }
    if rules.min_order.is_some_and(|m| u.price < m) {
        return Err(Refusal::BelowMinimumOrder);
    }
    if rules.usage_limit.is_some_and(|l| u.used_count >= l) {
        return Err(Refusal::UsageLimitReached);
    }
    if rules.per_user_limit.is_some_and(|l| u.used_by_user >= l) {
        return Err(Refusal::PerUserLimitReached);
    }
    let raw = match rules.discount {
        Discount::Percentage(PercentageOff { bps }) => {
            Bps::new(bps.min(10_000)).map_or(0, |rate| share(u.price.max(0), rate))
        }
        Discount::Fixed(FixedOff { amount }) => amount.max(0),
    };
    let capped = rules.max_discount.map_or(raw, |m| raw.min(m.max(0)));
    Ok(capped.clamp(0, u.price.max(0)))
}

/// Whether a code may be created with these terms: a percentage code usable on live
/// sessions or appointments needs a `max_discount`. Those prices are set by the practitioner,
/// so an uncapped percentage would let a practitioner and a throwaway client turn any price
/// into promotions money.
pub fn needs_cap(discount: Discount, max_discount: Option<i64>, contexts: &[Context]) -> bool {
    matches!(discount, Discount::Percentage { .. })
        && max_discount.is_none()
        && practitioner_priced(contexts)
}

/// Whether a code with these `contexts` (empty = everywhere) applies to prices practitioners
/// set: live sessions and appointments.
pub fn practitioner_priced(contexts: &[Context]) -> bool {
    contexts.is_empty()
        || contexts
            .iter()
            .any(|c| matches!(c, Context::Session | Context::Appointment))
}

/// The most a code may take off one whole live session, given the discount it grants on one
/// minute (`per_minute`, from [`evaluate`] with the rate as the price): a fixed code's value
/// once, a percentage code up to its `max_discount` ([`evaluate`] refuses one without a cap
/// on sessions; should one reach here, it grants one minute's discount).
pub fn session_budget(rules: &Rules, per_minute: i64) -> i64 {
    let whole = match rules.discount {
        Discount::Fixed(FixedOff { amount }) => amount.max(0),
        Discount::Percentage { .. } => rules.max_discount.unwrap_or(per_minute),
    };
    rules
        .max_discount
        .map_or(whole, |cap| whole.min(cap))
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn rules() -> Rules {
        Rules {
            discount: Discount::Percentage(PercentageOff { bps: 2_000 }),
            currency: "INR".into(),
            max_discount: Some(10_000),
            min_order: Some(5_000),
            usage_limit: Some(100),
            per_user_limit: Some(1),
            valid_from: DateTime::UNIX_EPOCH,
            valid_until: None,
            active: true,
            user_type: UserType::All,
            contexts: vec![],
        }
    }

    fn use_(price: i64) -> Use {
        Use {
            price,
            currency: "INR".into(),
            context: Context::Topup,
            now: DateTime::UNIX_EPOCH + Duration::days(1),
            used_count: 0,
            used_by_user: 0,
            user_has_paid_before: false,
        }
    }

    #[test]
    fn percentage_is_capped_by_max_discount() {
        assert_eq!(evaluate(&rules(), &use_(20_000)), Ok(4_000));
        assert_eq!(evaluate(&rules(), &use_(100_000)), Ok(10_000));
    }

    #[test]
    fn every_rule_refuses_with_its_reason() {
        let r = rules();
        assert_eq!(evaluate(&r, &use_(4_999)), Err(Refusal::BelowMinimumOrder));
        assert_eq!(
            evaluate(
                &Rules {
                    active: false,
                    ..r.clone()
                },
                &use_(9_000)
            ),
            Err(Refusal::Inactive)
        );
        let later = DateTime::UNIX_EPOCH + Duration::days(2);
        assert_eq!(
            evaluate(
                &Rules {
                    valid_from: later,
                    ..r.clone()
                },
                &use_(9_000)
            ),
            Err(Refusal::NotStarted)
        );
        assert_eq!(
            evaluate(
                &Rules {
                    valid_until: Some(DateTime::UNIX_EPOCH + Duration::days(1)),
                    ..r.clone()
                },
                &use_(9_000)
            ),
            Err(Refusal::Expired)
        );
        assert_eq!(
            evaluate(
                &r,
                &Use {
                    currency: "USD".into(),
                    ..use_(9_000)
                }
            ),
            Err(Refusal::WrongCurrency)
        );
        assert_eq!(
            evaluate(
                &Rules {
                    contexts: vec![Context::Session],
                    ..r.clone()
                },
                &use_(9_000)
            ),
            Err(Refusal::WrongContext)
        );
        assert_eq!(
            evaluate(
                &r,
                &Use {
                    used_count: 100,
                    ..use_(9_000)
                }
            ),
            Err(Refusal::UsageLimitReached)
        );
        assert_eq!(
            evaluate(
                &r,
                &Use {
                    used_by_user: 1,
                    ..use_(9_000)
                }
            ),
            Err(Refusal::PerUserLimitReached)
        );
        assert_eq!(
            evaluate(
                &Rules {
                    user_type: UserType::New,
                    ..r.clone()
                },
                &Use {
                    user_has_paid_before: true,
                    ..use_(9_000)
                }
            ),
            Err(Refusal::NewUsersOnly)
        );
        assert_eq!(
            evaluate(
                &Rules {
                    user_type: UserType::Existing,
                    ..r
                },
                &use_(9_000)
            ),
            Err(Refusal::ExistingUsersOnly)
        );
    }

    #[test]
    fn fixed_discount_never_exceeds_the_price() {
        let r = Rules {
            discount: Discount::Fixed(FixedOff { amount: 8_000 }),
            min_order: None,
            max_discount: None,
            ..rules()
        };
        assert_eq!(evaluate(&r, &use_(5_000)), Ok(5_000));
        assert_eq!(evaluate(&r, &use_(50_000)), Ok(8_000));
    }

    #[test]
    fn session_budgets() {
        let fixed = Rules {
            discount: Discount::Fixed(FixedOff { amount: 6_000 }),
            max_discount: None,
            ..rules()
        };
        assert_eq!(session_budget(&fixed, 2_000), 6_000);
        let capped_fixed = Rules {
            max_discount: Some(4_000),
            ..fixed
        };
        assert_eq!(session_budget(&capped_fixed, 2_000), 4_000);
        assert_eq!(session_budget(&rules(), 400), 10_000);
        let uncapped = Rules {
            max_discount: None,
            ..rules()
        };
        assert_eq!(session_budget(&uncapped, 400), 400);
    }

    #[test]
    fn an_uncapped_percentage_made_before_caps_applies_only_where_the_platform_sets_prices() {
        let old = Rules {
            max_discount: None,
            min_order: None,
            ..rules()
        };
        for context in [Context::Session, Context::Appointment] {
            let u = Use {
                context,
                ..use_(9_000)
            };
            assert_eq!(evaluate(&old, &u), Err(Refusal::UncappedPercentage));
        }
        assert_eq!(evaluate(&old, &use_(9_000)), Ok(1_800));
    }

    #[test]
    fn uncapped_percentages_are_refused_where_practitioners_set_prices() {
        let pct = Discount::Percentage(PercentageOff { bps: 2_500 });
        assert!(needs_cap(pct, None, &[]));
        assert!(needs_cap(pct, None, &[Context::Topup, Context::Session]));
        assert!(needs_cap(pct, None, &[Context::Appointment]));
        assert!(!needs_cap(pct, None, &[Context::Topup, Context::Order]));
        assert!(!needs_cap(pct, Some(1_000), &[]));
        assert!(!needs_cap(
            Discount::Fixed(FixedOff { amount: 100 }),
            None,
            &[]
        ));
    }

    proptest! {
        #[test]
        fn discount_is_between_zero_and_price(price in 0i64..1_000_000_000, bps in 0u16..=10_000, fixed in -10i64..2_000_000_000, cap in proptest::option::of(-5i64..1_000_000_000), pct in any::<bool>()) {
            let discount = if pct { Discount::Percentage(PercentageOff { bps }) } else { Discount::Fixed(FixedOff { amount: fixed }) };
            let r = Rules { discount, max_discount: cap, min_order: None, ..rules() };
            let d = evaluate(&r, &use_(price)).unwrap();
            prop_assert!(d >= 0 && d <= price);
            if let Some(c) = cap { prop_assert!(d <= c.max(0)); }
        }
    }
}
