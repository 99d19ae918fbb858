//! The typed values of the enumerated text columns (statuses, kinds, channels, roles): one
//! Rust enum per set of allowed values, with its database string (`as_str`, `FromStr`,
//! serde), the list of all values (`ALL`) and the columns it is stored in (`COLUMNS`).
//!
//! The database refuses any other value (migration `m20261208_000001_enumerated_columns`).
//! That migration hard-codes its own lists, because a landed migration never changes; a test
//! checks that every enum here lists exactly the values its columns allow, so the two cannot
//! drift apart unnoticed. Adding a value therefore takes a new migration as well as a new
//! variant.

use std::fmt;

/// A string that is not one of the values a column allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an allowed value of {column}")]
pub struct BadValue {
    /// The column or columns (`table.column`, comma separated) the value was meant for.
    pub column: &'static str,
    pub value: String,
}

/// Defines an enum of a column's allowed values. Each variant names its database string
/// explicitly, so serde, `as_str` and `FromStr` share one spelling by construction.
macro_rules! column_enum {
    (
        $(#[$meta:meta])*
        $name:ident in $columns:expr => {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $value)] $variant, )+
        }

        impl $name {
            /// Every value, in the order the migration lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Where the values are stored (`table.column`, comma separated).
            pub const COLUMNS: &'static str = $columns;

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = BadValue;

            fn from_str(s: &str) -> Result<Self, BadValue> {
                match s {
                    $($value => Ok($name::$variant),)+
                    _ => Err(BadValue {
                        column: $columns,
                        value: s.to_owned(),
                    }),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = BadValue;

            fn try_from(s: &str) -> Result<Self, BadValue> {
                s.parse()
            }
        }

        /// Filters and updates take the enum itself: `Column::Status.eq(Status::Paid)`.
        impl From<$name> for sea_orm::Value {
            fn from(v: $name) -> Self {
                v.as_str().into()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

column_enum! {
    /// What a user account may do.
    UserRole in "users.role" => {
        Client = "client",
        Practitioner = "practitioner",
        Admin = "admin",
    }
}

column_enum! {
    /// Whether a user account can sign in.
    UserStatus in "users.status" => {
        Active = "active",
        Suspended = "suspended",
        Deleted = "deleted",
    }
}

column_enum! {
    /// Whether a wallet can be spent from (admins freeze and unfreeze it).
    WalletStatus in "wallets.status" => {
        Active = "active",
        Frozen = "frozen",
    }
}

column_enum! {
    /// Where a live consultation stands.
    ConsultationStatus in "consultations.status" => {
        Requested = "requested",
        Active = "active",
        Ended = "ended",
        Declined = "declined",
        Missed = "missed",
        Cancelled = "cancelled",
    }
}

column_enum! {
    /// How a live session (or a place in a practitioner's line for one) takes place.
    LiveChannel in "consultations.channel, waitlist_entries.channel" => {
        Chat = "chat",
        Call = "call",
        Video = "video",
    }
}

column_enum! {
    /// How an appointment takes place: a live channel or in person.
    ServiceChannel in "services.channel, bookings.channel" => {
        Chat = "chat",
        Call = "call",
        Video = "video",
        InPerson = "in_person",
    }
}

column_enum! {
    /// Where a booked appointment stands.
    BookingStatus in "bookings.status" => {
        Requested = "requested",
        Confirmed = "confirmed",
        Declined = "declined",
        Expired = "expired",
        Cancelled = "cancelled",
        Completed = "completed",
        ClientNoShow = "client_no_show",
        PractitionerNoShow = "practitioner_no_show",
    }
}

column_enum! {
    /// Whether a hold still reserves money, or how it ended.
    HoldStatus in "ledger_holds.status" => {
        Active = "active",
        Captured = "captured",
        Released = "released",
    }
}

column_enum! {
    /// Where a durable job stands.
    JobStatus in "jobs.status" => {
        Pending = "pending",
        Running = "running",
        Done = "done",
        Dead = "dead",
    }
}

column_enum! {
    /// Where a top-up order stands.
    PaymentOrderStatus in "payment_orders.status" => {
        Created = "created",
        Paid = "paid",
        Failed = "failed",
    }
}

column_enum! {
    /// Where a practitioner's payout request stands.
    PayoutStatus in "payouts.status" => {
        Requested = "requested",
        Paid = "paid",
        Rejected = "rejected",
    }
}

column_enum! {
    /// Where a refund of a top-up stands.
    RefundStatus in "refunds.status" => {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

column_enum! {
    /// Where one outbound delivery of a notification stands.
    DeliveryStatus in "notification_queue.status" => {
        Pending = "pending",
        Retrying = "retrying",
        Sent = "sent",
        Skipped = "skipped",
        Dead = "dead",
    }
}

column_enum! {
    /// A way of reaching a user.
    NotificationChannel in concat!(
        "notification_queue.channel, notification_templates.channel, ",
        "notification_preferences.channel",
    ) => {
        InApp = "in_app",
        Email = "email",
        Sms = "sms",
        Push = "push",
    }
}

column_enum! {
    /// What the email or SMS provider answered.
    ProviderLogStatus in "email_logs.status, sms_logs.status" => {
        Sent = "sent",
        Failed = "failed",
    }
}

column_enum! {
    /// What the push provider answered for one device.
    PushStatus in "push_notifications.status" => {
        Sent = "sent",
        Failed = "failed",
        InvalidToken = "invalid_token",
    }
}

column_enum! {
    /// Where a client's place in a practitioner's line stands.
    WaitlistStatus in "waitlist_entries.status" => {
        Waiting = "waiting",
        Offered = "offered",
        Left = "left",
        Expired = "expired",
        Served = "served",
    }
}

column_enum! {
    /// What a practitioner practises.
    PractitionerKind in "practitioners.kind" => {
        Astrologer = "astrologer",
        TarotReader = "tarot_reader",
        Healer = "healer",
        Other = "other",
    }
}

column_enum! {
    /// What a chat message carries.
    ChatMessageKind in "chat_messages.kind" => {
        Text = "text",
        Image = "image",
        File = "file",
        System = "system",
    }
}

column_enum! {
    /// What a ledger account holds.
    LedgerAccountKind in "ledger_accounts.kind" => {
        ClientAvailable = "client_available",
        ClientHeld = "client_held",
        PractitionerEarnings = "practitioner_earnings",
        PlatformRevenue = "platform_revenue",
        PromotionsExpense = "promotions_expense",
        GatewayClearing = "gateway_clearing",
        PayoutsPending = "payouts_pending",
        PayoutsPaid = "payouts_paid",
    }
}

column_enum! {
    /// A weekly range of a practitioner's schedule: working hours or a break within them.
    AvailabilityKind in "practitioner_availability.kind" => {
        Hours = "hours",
        Break = "break",
    }
}

/// Each constrained column with the strings of its enum's `ALL`, in order: what the
/// migration's hard-coded lists are checked against.
#[cfg(test)]
pub(crate) fn columns() -> Vec<(String, Vec<&'static str>)> {
    fn of<E: Copy>(
        all: &[E],
        columns: &str,
        as_str: fn(E) -> &'static str,
    ) -> Vec<(String, Vec<&'static str>)> {
        columns
            .split(", ")
            .map(|c| (c.to_owned(), all.iter().map(|v| as_str(*v)).collect()))
            .collect()
    }
    macro_rules! all {
        ($($e:ident),+ $(,)?) => {
            [$(of($e::ALL, $e::COLUMNS, $e::as_str)),+].concat()
        };
    }
    all![
        UserRole,
        UserStatus,
        WalletStatus,
        ConsultationStatus,
        LiveChannel,
        ServiceChannel,
        BookingStatus,
        HoldStatus,
        JobStatus,
        PaymentOrderStatus,
        PayoutStatus,
        RefundStatus,
        DeliveryStatus,
        NotificationChannel,
        ProviderLogStatus,
        PushStatus,
        WaitlistStatus,
        PractitionerKind,
        ChatMessageKind,
        LedgerAccountKind,
        AvailabilityKind,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_strings_and_serde() {
        for v in BookingStatus::ALL {
            assert_eq!(v.as_str().parse::<BookingStatus>(), Ok(*v));
            assert_eq!(BookingStatus::try_from(v.as_str()), Ok(*v));
            assert_eq!(v.to_string(), v.as_str());
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<BookingStatus>(&json).unwrap(), *v);
        }
        assert_eq!(
            NotificationChannel::InApp.as_str(),
            serde_json::to_value(NotificationChannel::InApp).unwrap()
        );
    }

    #[test]
    fn a_bad_value_names_its_column_and_itself() {
        let err = "approved".parse::<PayoutStatus>().unwrap_err();
        assert_eq!(
            err,
            BadValue {
                column: "payouts.status",
                value: "approved".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "\"approved\" is not an allowed value of payouts.status"
        );
        assert!(serde_json::from_str::<PayoutStatus>("\"approved\"").is_err());
        // Case matters: the database compares exactly.
        assert!(ConsultationStatus::try_from("Active").is_err());
    }

    #[test]
    fn every_column_has_one_enum() {
        let cols = columns();
        let mut names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a column appears under two enums");
    }
}
