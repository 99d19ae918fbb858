//! The catalog of events: for each, its preference category, the channels it goes out on,
//! whether it may wait for quiet hours, the data keys callers pass, and the default English
//! templates for every channel. Start-up copies these templates into the database
//! (`templates::sync_defaults`), where admins may edit them.

use serde_json::{Value, json};

use super::{Category, Channel};

/// The default text of one channel's template. `subject` is the email subject or the in-app
/// and push title; SMS has none.
#[derive(Debug, Clone, Copy)]
pub struct DefaultTemplate {
    pub subject: Option<&'static str>,
    pub body: &'static str,
    pub html: Option<&'static str>,
}

const fn titled(subject: &'static str, body: &'static str) -> DefaultTemplate {
    DefaultTemplate {
        subject: Some(subject),
        body,
        html: None,
    }
}

const fn sms(body: &'static str) -> DefaultTemplate {
    DefaultTemplate {
        subject: None,
        body,
        html: None,
    }
}

#[derive(Debug)]
pub struct EventDef {
    pub name: &'static str,
    pub category: Category,
    /// The channels this event goes out on; a user's preferences may only narrow them.
    pub channels: &'static [Channel],
    /// Delivered at once even during the user's quiet hours (the news is about now).
    pub urgent: bool,
    /// The data carries a secret (a sign-in code): never kept in the inbox, and scrubbed
    /// from the delivery row once it has been sent or given up.
    pub secret: bool,
    /// Keys every caller passes.
    pub required: &'static [&'static str],
    /// Keys that may be absent; templates test them with `is defined`.
    pub optional: &'static [&'static str],
    pub in_app: DefaultTemplate,
    pub email: DefaultTemplate,
    pub sms: DefaultTemplate,
    pub push: DefaultTemplate,
}

impl EventDef {
    pub fn template(&self, channel: Channel) -> DefaultTemplate {
        match channel {
            Channel::InApp => self.in_app,
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
        }
    }

    /// Example data with every key, optional ones included.
    pub fn sample(&self) -> Value {
        let mut out = serde_json::Map::new();
        for key in self.required.iter().chain(self.optional) {
            out.insert((*key).to_owned(), sample_value(key));
        }
        Value::Object(out)
    }

    /// Example data with the required keys only: a template must render with it too, so
    /// one that prints an optional key without testing it is refused when saved.
    pub fn minimal_sample(&self) -> Value {
        let mut out = serde_json::Map::new();
        for key in self.required {
            out.insert((*key).to_owned(), sample_value(key));
        }
        Value::Object(out)
    }
}

fn sample_value(key: &str) -> Value {
    match key {
        "code" => json!("482913"),
        "minutes" => json!(5),
        "amount" => json!("₹500.00"),
        "refund" => json!("₹250.00"),
        "balance" => json!("₹42.00"),
        "reference" => json!("BK7Q2M9X"),
        "topup_reference" => json!("TU4K9M2Q7XAB"),
        "service" => json!("Career reading (30 min)"),
        "practitioner_name" => json!("Acharya Meera"),
        "client_name" => json!("Rohan"),
        "starts_at_local" => json!("Mon 23 Nov 2026 10:30 IST"),
        "previous_starts_at_local" => json!("Sun 22 Nov 2026 18:00 IST"),
        "time_zone" => json!("Asia/Kolkata"),
        "reason" => json!("A family emergency"),
        "minutes_before" => json!(15),
        "minutes_left" => json!(2),
        "consultation_reference" => json!("CN8H3K2P"),
        "status" => json!("paid"),
        "note" => json!("UTR 1234567890"),
        "url" => json!("https://augur.example/reset-password?token=sample-token"),
        "hours" => json!(24),
        "email" => json!("new.address@example.com"),
        "new_email" => json!("new.address@example.com"),
        "method" => json!("upi"),
        "destination" => json!("meera@okbank"),
        "device" => json!("Firefox on Linux"),
        "signed_in_at" => json!("Mon 7 Dec 2026 20:25 IST"),
        "ip" => json!("203.0.113.7"),
        _ => json!(key),
    }
}

const ALL: &[Channel] = &[Channel::InApp, Channel::Email, Channel::Sms, Channel::Push];
const NO_SMS: &[Channel] = &[Channel::InApp, Channel::Email, Channel::Push];
const BOOKING_KEYS: &[&str] = &[
    "reference",
    "service",
    "practitioner_name",
    "client_name",
    "starts_at_local",
    "time_zone",
];

pub static EVENTS: &[EventDef] = &[
    EventDef {
        name: "welcome",
        category: Category::Account,
        channels: &[Channel::InApp, Channel::Email],
        urgent: false,
        secret: false,
        required: &[],
        optional: &[],
        in_app: titled(
            "Welcome to {{ app_name }}",
            "Hi {{ name }}, your account is ready. Top up your wallet and talk to an expert whenever you like.",
        ),
        email: DefaultTemplate {
            subject: Some("Welcome to {{ app_name }}, {{ name }}"),
            body: "Hi {{ name }},\n\nWelcome to {{ app_name }}. Your account is ready: top up your wallet, find a practitioner you trust, and talk to them live or book a session.\n\nThe {{ app_name }} team",
            html: Some(
                "<p>Hi {{ name }},</p>\n<p>Welcome to {{ app_name }}. Your account is ready: top up your wallet, find a practitioner you trust, and talk to them live or book a session.</p>\n<p>The {{ app_name }} team</p>",
            ),
        },
        sms: sms("Welcome to {{ app_name }}, {{ name }}! Your account is ready."),
        push: titled("Welcome to {{ app_name }}", "Your account is ready."),
    },
    EventDef {
        name: "otp",
        category: Category::Security,
        channels: &[Channel::Sms],
        urgent: true,
        secret: true,
        required: &["code", "minutes"],
        optional: &[],
        in_app: titled(
            "Your sign-in code",
            "{{ code }} is your sign-in code. It expires in {{ minutes }} minutes.",
        ),
        email: titled(
            "Your {{ app_name }} sign-in code",
            "{{ code }} is your {{ app_name }} sign-in code. It expires in {{ minutes }} minutes.\n\nIf you did not ask for it, ignore this message: nobody can sign in without the code.",
        ),
        // The code comes first so phones can offer to fill it in.
        sms: sms(
            "{{ code }} is your {{ app_name }} sign-in code. It expires in {{ minutes }} minutes.",
        ),
        push: titled("Your sign-in code", "{{ code }} is your sign-in code."),
    },
    EventDef {
        name: "topup.credited",
        category: Category::Wallet,
        channels: NO_SMS,
        urgent: false,
        secret: false,
        required: &["amount", "reference"],
        optional: &["balance"],
        in_app: titled(
            "Wallet topped up",
            "{{ amount }} was added to your wallet (top-up {{ reference }}).{% if balance is defined %} Your balance is {{ balance }}.{% endif %}",
        ),
        email: titled(
            "{{ amount }} added to your {{ app_name }} wallet",
            "Hi {{ name }},\n\n{{ amount }} was added to your wallet (top-up {{ reference }}).{% if balance is defined %}\nYour balance is now {{ balance }}.{% endif %}\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: {{ amount }} added to your wallet (top-up {{ reference }})."),
        push: titled("Wallet topped up", "{{ amount }} was added to your wallet."),
    },
    EventDef {
        name: "refund.issued",
        category: Category::Wallet,
        channels: NO_SMS,
        urgent: false,
        secret: false,
        required: &["amount", "reference"],
        optional: &["topup_reference"],
        in_app: titled(
            "Refund issued",
            "{{ amount }} is on its way back to your payment method (refund {{ reference }}).",
        ),
        email: titled(
            "Your refund of {{ amount }} is on its way",
            "Hi {{ name }},\n\nWe refunded {{ amount }}{% if topup_reference is defined %} of top-up {{ topup_reference }}{% endif %} to the payment method you used (refund {{ reference }}). Banks usually take 5–7 working days to show it.\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: refund {{ reference }} of {{ amount }} issued to your payment method.",
        ),
        push: titled("Refund issued", "{{ amount }} is on its way back to you."),
    },
    EventDef {
        name: "wallet.low_balance",
        category: Category::Wallet,
        channels: &[Channel::InApp, Channel::Push],
        // Sent during a live session, which the user is in right now.
        urgent: true,
        secret: false,
        required: &["minutes_left", "balance"],
        optional: &["consultation_reference"],
        in_app: titled(
            "Low balance",
            "Your wallet ({{ balance }}) covers about {{ minutes_left }} more minute(s). Top up to keep talking.",
        ),
        email: titled(
            "Your {{ app_name }} wallet is running low",
            "Hi {{ name }},\n\nYour wallet ({{ balance }}) covers about {{ minutes_left }} more minute(s) of your consultation. Top up to keep talking.\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: your wallet covers about {{ minutes_left }} more minute(s). Top up to keep talking.",
        ),
        push: titled(
            "Low balance",
            "About {{ minutes_left }} minute(s) left. Top up to keep talking.",
        ),
    },
    EventDef {
        name: "payout.status",
        category: Category::Payouts,
        channels: NO_SMS,
        urgent: false,
        secret: false,
        required: &["reference", "amount", "status"],
        optional: &["note"],
        in_app: titled(
            "Payout {{ status }}",
            "Your payout {{ reference }} of {{ amount }} is {{ status }}.{% if note is defined %} Note: {{ note }}{% endif %}",
        ),
        email: titled(
            "Payout {{ reference }}: {{ status }}",
            "Hi {{ name }},\n\nYour payout {{ reference }} of {{ amount }} is {{ status }}.{% if note is defined %}\nNote: {{ note }}{% endif %}\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: payout {{ reference }} of {{ amount }} is {{ status }}."),
        push: titled(
            "Payout {{ status }}",
            "Payout {{ reference }} of {{ amount }} is {{ status }}.",
        ),
    },
    EventDef {
        name: "booking.requested",
        category: Category::Bookings,
        channels: NO_SMS,
        urgent: false,
        secret: false,
        required: BOOKING_KEYS,
        optional: &["amount"],
        in_app: titled(
            "New booking request",
            "{{ client_name }} asked for {{ service }} on {{ starts_at_local }}. Confirm or decline it (booking {{ reference }}).",
        ),
        email: titled(
            "New booking request: {{ service }} on {{ starts_at_local }}",
            "Hi {{ name }},\n\n{{ client_name }} asked for {{ service }} on {{ starts_at_local }} ({{ time_zone }}).{% if amount is defined %} Price: {{ amount }}.{% endif %}\nPlease confirm or decline booking {{ reference }} in the app.\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: {{ client_name }} requested {{ service }} on {{ starts_at_local }} ({{ reference }}). Please confirm or decline.",
        ),
        push: titled(
            "New booking request",
            "{{ client_name }}: {{ service }} on {{ starts_at_local }}",
        ),
    },
    EventDef {
        name: "booking.confirmed",
        category: Category::Bookings,
        channels: ALL,
        urgent: false,
        secret: false,
        required: BOOKING_KEYS,
        optional: &["amount"],
        in_app: titled(
            "Booking confirmed",
            "{{ practitioner_name }} confirmed {{ service }} on {{ starts_at_local }} (booking {{ reference }}).",
        ),
        email: titled(
            "Confirmed: {{ service }} with {{ practitioner_name }} on {{ starts_at_local }}",
            "Hi {{ name }},\n\n{{ practitioner_name }} confirmed your booking {{ reference }}.\n\nService: {{ service }}\nWhen: {{ starts_at_local }} ({{ time_zone }}){% if amount is defined %}\nPrice: {{ amount }} (held in your wallet until the session){% endif %}\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: {{ service }} with {{ practitioner_name }} confirmed for {{ starts_at_local }} ({{ reference }}).",
        ),
        push: titled(
            "Booking confirmed",
            "{{ service }} with {{ practitioner_name }}, {{ starts_at_local }}",
        ),
    },
    EventDef {
        name: "booking.declined",
        category: Category::Bookings,
        channels: NO_SMS,
        urgent: false,
        secret: false,
        required: BOOKING_KEYS,
        optional: &["reason", "refund"],
        in_app: titled(
            "Booking declined",
            "{{ practitioner_name }} could not take {{ service }} on {{ starts_at_local }}.{% if reason is defined %} Reason: {{ reason }}.{% endif %}{% if refund is defined %} {{ refund }} is back in your wallet.{% endif %}",
        ),
        email: titled(
            "Booking {{ reference }} was declined",
            "Hi {{ name }},\n\n{{ practitioner_name }} could not take {{ service }} on {{ starts_at_local }} (booking {{ reference }}).{% if reason is defined %}\nReason: {{ reason }}{% endif %}{% if refund is defined %}\n{{ refund }} is back in your wallet.{% endif %}\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: booking {{ reference }} ({{ service }}, {{ starts_at_local }}) was declined.{% if refund is defined %} {{ refund }} returned to your wallet.{% endif %}",
        ),
        push: titled(
            "Booking declined",
            "{{ practitioner_name }} could not take {{ service }} on {{ starts_at_local }}",
        ),
    },
    EventDef {
        name: "booking.cancelled",
        category: Category::Bookings,
        channels: ALL,
        urgent: false,
        secret: false,
        required: BOOKING_KEYS,
        optional: &["reason", "refund", "amount"],
        in_app: titled(
            "Booking cancelled",
            "{{ service }} on {{ starts_at_local }} (booking {{ reference }}) was cancelled.{% if reason is defined %} Reason: {{ reason }}.{% endif %}{% if refund is defined %} {{ refund }} was refunded to your wallet.{% endif %}",
        ),
        email: titled(
            "Cancelled: {{ service }} on {{ starts_at_local }}",
            "Hi {{ name }},\n\nBooking {{ reference }} ({{ service }} with {{ practitioner_name }}, {{ starts_at_local }}) was cancelled.{% if reason is defined %}\nReason: {{ reason }}{% endif %}{% if refund is defined %}\nRefund: {{ refund }}{% if amount is defined %} of {{ amount }}{% endif %}, back in your wallet.{% endif %}\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: booking {{ reference }} ({{ service }}, {{ starts_at_local }}) was cancelled.{% if refund is defined %} Refund: {{ refund }}.{% endif %}",
        ),
        push: titled(
            "Booking cancelled",
            "{{ service }} on {{ starts_at_local }} was cancelled",
        ),
    },
    EventDef {
        name: "booking.rescheduled",
        category: Category::Bookings,
        channels: ALL,
        urgent: false,
        secret: false,
        required: BOOKING_KEYS,
        optional: &["previous_starts_at_local", "reason"],
        in_app: titled(
            "Booking rescheduled",
            "{{ service }} with {{ practitioner_name }} now starts {{ starts_at_local }} (booking {{ reference }}).",
        ),
        email: titled(
            "Rescheduled: {{ service }} now on {{ starts_at_local }}",
            "Hi {{ name }},\n\nBooking {{ reference }} ({{ service }} with {{ practitioner_name }}) now starts {{ starts_at_local }} ({{ time_zone }}).{% if previous_starts_at_local is defined %}\nIt was planned for {{ previous_starts_at_local }}.{% endif %}{% if reason is defined %}\nReason: {{ reason }}{% endif %}\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: booking {{ reference }} ({{ service }}) moved to {{ starts_at_local }}.",
        ),
        push: titled(
            "Booking rescheduled",
            "{{ service }} now starts {{ starts_at_local }}",
        ),
    },
    EventDef {
        name: "booking.reschedule_proposed",
        category: Category::Bookings,
        channels: ALL,
        urgent: false,
        secret: false,
        required: BOOKING_KEYS,
        optional: &["proposed_starts_at_local"],
        in_app: titled(
            "New time proposed",
            "{{ practitioner_name }} asks to move {{ service }} (booking {{ reference }}) from {{ starts_at_local }}{% if proposed_starts_at_local is defined %} to {{ proposed_starts_at_local }}{% endif %}. Accept it, or decline for a full refund.",
        ),
        email: titled(
            "{{ practitioner_name }} proposes a new time for {{ service }}",
            "Hi {{ name }},\n\n{{ practitioner_name }} asks to move booking {{ reference }} ({{ service }}) from {{ starts_at_local }}{% if proposed_starts_at_local is defined %} to {{ proposed_starts_at_local }}{% endif %} ({{ time_zone }}).\nAccept the new time, or decline it and get everything back. Until you answer, the booking stays as it is.\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: {{ practitioner_name }} proposes moving booking {{ reference }}{% if proposed_starts_at_local is defined %} to {{ proposed_starts_at_local }}{% endif %}. Answer in the app.",
        ),
        push: titled(
            "New time proposed",
            "{{ practitioner_name }} asks to move {{ service }}",
        ),
    },
    EventDef {
        name: "booking.reminder",
        category: Category::Bookings,
        channels: ALL,
        // A reminder held until quiet hours end may arrive after the session started.
        urgent: true,
        secret: false,
        required: &[
            "reference",
            "service",
            "practitioner_name",
            "client_name",
            "starts_at_local",
            "time_zone",
            "minutes_before",
        ],
        optional: &[],
        in_app: titled(
            "Starting in {{ minutes_before | duration }}",
            "{{ service }} (booking {{ reference }}) starts at {{ starts_at_local }}.",
        ),
        email: titled(
            "Reminder: {{ service }} starts in {{ minutes_before | duration }}",
            "Hi {{ name }},\n\nA reminder that {{ service }} (booking {{ reference }}, {{ practitioner_name }} with {{ client_name }}) starts at {{ starts_at_local }} ({{ time_zone }}), in {{ minutes_before | duration }}.\n\nThe {{ app_name }} team",
        ),
        sms: sms(
            "{{ app_name }}: {{ service }} ({{ reference }}) starts in {{ minutes_before | duration }}, at {{ starts_at_local }}.",
        ),
        push: titled(
            "Starting in {{ minutes_before | duration }}",
            "{{ service }} at {{ starts_at_local }}",
        ),
    },
    EventDef {
        name: "password.reset",
        category: Category::Security,
        channels: &[Channel::Email],
        urgent: true,
        // The link signs whoever holds it in: it must not outlive its delivery.
        secret: true,
        required: &["url", "minutes"],
        optional: &[],
        in_app: titled(
            "Reset your password",
            "Open the link we emailed you to choose a new password.",
        ),
        email: titled(
            "Reset your {{ app_name }} password",
            "Hi {{ name }},\n\nSomeone (we hope you) asked to reset the password of your {{ app_name }} account. To choose a new one, open this link within {{ minutes }} minutes:\n\n{{ url }}\n\nThe link works once. If you did not ask for it, ignore this email: your password stays as it is.\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: reset your password at {{ url }} (valid {{ minutes }} minutes)."),
        push: titled("Reset your password", "Open the link we emailed you."),
    },
    EventDef {
        name: "email.verify",
        category: Category::Security,
        channels: &[Channel::Email],
        urgent: true,
        secret: true,
        required: &["url", "hours"],
        optional: &[],
        in_app: titled(
            "Confirm your email",
            "Open the link we emailed you to confirm your address.",
        ),
        email: titled(
            "Confirm your email for {{ app_name }}",
            "Hi {{ name }},\n\nPlease confirm that this is your email address by opening this link within {{ hours }} hours:\n\n{{ url }}\n\nIf you did not create a {{ app_name }} account, ignore this email.\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: confirm your email at {{ url }}"),
        push: titled("Confirm your email", "Open the link we emailed you."),
    },
    EventDef {
        name: "email.change_requested",
        category: Category::Security,
        channels: &[Channel::Email],
        urgent: true,
        secret: true,
        required: &["url", "hours", "email"],
        optional: &[],
        in_app: titled(
            "Confirm your new email",
            "Open the link we emailed to {{ email }}.",
        ),
        email: titled(
            "Confirm your new email for {{ app_name }}",
            "Hi {{ name }},\n\nYou asked to use {{ email }} for your {{ app_name }} account. Open this link within {{ hours }} hours to confirm it; until then your account keeps its current address:\n\n{{ url }}\n\nIf you did not ask for this, ignore this email.\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: confirm your new email at {{ url }}"),
        push: titled(
            "Confirm your new email",
            "Open the link we emailed to {{ email }}.",
        ),
    },
    EventDef {
        name: "email.changed",
        category: Category::Security,
        channels: &[Channel::InApp, Channel::Email],
        urgent: true,
        secret: false,
        required: &["new_email"],
        optional: &[],
        in_app: titled(
            "Email address changed",
            "Your account's email is now {{ new_email }}. If you did not do this, reset your password at once.",
        ),
        email: titled(
            "Your {{ app_name }} email address was changed",
            "Hi {{ name }},\n\nThe email address of your {{ app_name }} account was changed to {{ new_email }}, so this address will get no more account emails.\n\nIf you did not do this, contact us at once.\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: your account's email is now {{ new_email }}."),
        push: titled(
            "Email address changed",
            "Your account's email is now {{ new_email }}.",
        ),
    },
    EventDef {
        name: "password.changed",
        category: Category::Security,
        channels: &[Channel::InApp, Channel::Email],
        urgent: true,
        secret: false,
        required: &[],
        optional: &[],
        in_app: titled(
            "Password changed",
            "Your password was changed and your other devices were signed out.",
        ),
        email: titled(
            "Your {{ app_name }} password was changed",
            "Hi {{ name }},\n\nThe password of your {{ app_name }} account was just changed, and your other devices were signed out.\n\nIf you did not do this, reset your password at once with \"Forgot password\".\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: your password was changed."),
        push: titled("Password changed", "Your password was changed."),
    },
    EventDef {
        name: "payout_account.changed",
        category: Category::Security,
        channels: &[Channel::InApp, Channel::Email],
        urgent: true,
        secret: false,
        required: &["method", "destination"],
        optional: &[],
        in_app: titled(
            "Payout details changed",
            "Your payouts now go to {{ destination }} ({{ method }}). If you did not do this, change your password and contact us.",
        ),
        email: titled(
            "Your {{ app_name }} payout details were changed",
            "Hi {{ name }},\n\nYour payouts will now go to {{ destination }} ({{ method }}).\n\nIf you did not make this change, change your password and contact us at once: no payout is made before an admin reviews it.\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: your payouts now go to {{ destination }}."),
        push: titled(
            "Payout details changed",
            "Payouts now go to {{ destination }}.",
        ),
    },
    EventDef {
        name: "signin.new_device",
        category: Category::Security,
        channels: &[Channel::InApp, Channel::Email],
        urgent: true,
        secret: false,
        required: &["device", "signed_in_at"],
        optional: &["ip"],
        in_app: titled(
            "New sign-in",
            "Your account was signed in on {{ device }} at {{ signed_in_at }}.{% if ip is defined %} IP address: {{ ip }}.{% endif %} If this was not you, change your password.",
        ),
        email: titled(
            "New sign-in to your {{ app_name }} account",
            "Hi {{ name }},\n\nYour account was just signed in on a device it had not used before:\n\nDevice: {{ device }}\nWhen: {{ signed_in_at }}{% if ip is defined %}\nIP address: {{ ip }}{% endif %}\n\nIf this was you, there is nothing to do. If not, change your password now and sign the device out in your account's device list.\n\nThe {{ app_name }} team",
        ),
        sms: sms("{{ app_name }}: new sign-in on {{ device }} at {{ signed_in_at }}."),
        push: titled("New sign-in", "{{ device }}, {{ signed_in_at }}"),
    },
];

/// The definition of `name`, if it is one the catalog knows.
pub fn find(name: &str) -> Option<&'static EventDef> {
    EVENTS.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_keys_do_not_overlap() {
        let mut names: Vec<_> = EVENTS.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EVENTS.len());
        for e in EVENTS {
            for k in e.optional {
                assert!(!e.required.contains(k), "{}: {k} twice", e.name);
            }
            assert!(!e.channels.is_empty(), "{} goes nowhere", e.name);
        }
    }

    #[test]
    fn secret_events_are_security_events_without_inbox() {
        for e in EVENTS.iter().filter(|e| e.secret) {
            assert_eq!(e.category, Category::Security, "{}", e.name);
            assert!(!e.channels.contains(&Channel::InApp), "{}", e.name);
        }
    }
}
