//! Layered configuration: defaults in code → optional `augur.toml` → `AUGUR_*` environment.
//!
//! Secrets are `SecretString` so `Debug` and logs never show them.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Where this server runs. `production` refuses to start with anything meant only for a
/// laptop: sandbox providers (payments, SMS, email, push), a generated JWT secret, demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

/// The top-up gateway. Spelled exactly: an unknown value (`Razorpay`, `paytm`) is a start-up
/// error naming these, never a silent fall-back to the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    /// Built in: a checkout page served here, for the demo and tests.
    #[default]
    Sandbox,
    Razorpay,
    Stripe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderKind {
    /// Writes messages to the log and keeps them in memory.
    #[default]
    Sandbox,
    Twilio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailProviderKind {
    /// Keeps messages in memory and logs them.
    #[default]
    Sandbox,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushProviderKind {
    /// Keeps pushes in memory and logs them.
    #[default]
    Sandbox,
    Fcm,
}

/// How SMTP is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Upgrade on the submission port.
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// Plain text: a relay on this machine or a private network only.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `development` (default) or `production`; see [`Environment`].
    pub environment: Environment,
    /// Address the HTTP server binds; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Serve `/metrics` on this address only (a private interface, for the scraper), not on
    /// `bind`.
    pub metrics_bind: Option<SocketAddr>,
    /// `/metrics` answers only `Authorization: Bearer <this>`. With neither this nor
    /// `metrics_bind`, production serves no metrics (they describe traffic and load to
    /// anyone), development serves them openly.
    pub metrics_token: Option<SecretString>,
    /// `sqlite://path?mode=rwc` (default, under `./augur-data/`) or `postgres://…`.
    pub database_url: String,
    /// Largest pool the server opens to the database.
    pub database_max_connections: u32,
    /// HMAC key for access tokens and OTP hashes. Every node of a cluster must share it.
    /// When unset, a random key is made at start (tokens then die with the process).
    pub jwt_secret: Option<SecretString>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    /// Seed demo data on first start (`augur serve --demo` sets it).
    pub demo: bool,
    /// Emit logs as JSON lines instead of text.
    pub log_json: bool,
    /// `tracing` filter, e.g. `info,augur=debug`.
    pub log_level: String,
    /// Use the first `X-Forwarded-For` address as the client IP (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub otp_ttl_secs: i64,
    pub otp_max_attempts: i32,
    pub otp_resend_cooldown_secs: i64,
    /// Codes sent to one number per 24 h; bounds guessing across codes and SMS cost.
    pub otp_max_sends_per_day: u64,
    /// Login attempts allowed per window, per client IP and per identifier.
    pub login_limit_per_ip: u32,
    pub login_limit_per_identifier: u32,
    pub otp_limit_per_ip: u32,
    pub otp_limit_per_identifier: u32,
    pub rate_limit_window_secs: u64,
    /// Consecutive failed logins on one identifier that start a lockout (0: no backoff).
    pub login_backoff_after: u32,
    /// The first lockout; each further failure doubles it, up to `login_backoff_max_secs`.
    pub login_backoff_secs: u64,
    /// The longest lockout, so that an attacker can never lock an account out for good.
    pub login_backoff_max_secs: u64,
    /// Lifetime of an emailed password-reset link.
    pub password_reset_ttl_secs: i64,
    /// Password-reset requests allowed per window, per client IP and per email address.
    pub password_reset_limit_per_ip: u32,
    pub password_reset_limit_per_identifier: u32,
    /// Lifetime of an emailed email-verification (or email-change) link.
    pub email_verification_ttl_secs: i64,
    /// Seconds between two verification emails to one account.
    pub email_verification_resend_secs: i64,
    /// How recently a session must have proved the password for sensitive changes (payout
    /// details).
    pub reauth_window_secs: i64,
    /// Charts, matches and panchangs one client IP may compute per window on the public
    /// astrology endpoints (signed-in users' own charts are not limited).
    pub astrology_limit_per_ip: u32,
    /// SMS provider: `sandbox` (writes messages to the log) or `twilio`.
    pub sms_provider: SmsProviderKind,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<SecretString>,
    /// The sending number (E.164), unless a messaging service picks it.
    pub twilio_from: Option<String>,
    pub twilio_messaging_service_sid: Option<String>,
    pub twilio_base_url: String,
    /// Email provider: `sandbox` (kept in memory and logged) or `smtp`.
    pub email_provider: EmailProviderKind,
    /// `From` of every email, e.g. `Augur <no-reply@example.com>`.
    pub email_from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    /// `starttls`, `tls` or `none`.
    pub smtp_tls: SmtpTls,
    pub smtp_timeout_secs: u64,
    /// Push provider: `sandbox` (kept in memory and logged) or `fcm`.
    pub push_provider: PushProviderKind,
    /// The service-account key file from the Firebase console (JSON); the settings below
    /// override its fields.
    pub fcm_credentials_file: Option<String>,
    pub fcm_project_id: Option<String>,
    pub fcm_client_email: Option<String>,
    /// The service account's RSA private key, PEM.
    pub fcm_private_key: Option<SecretString>,
    /// Where the signed JWT is exchanged for an access token.
    pub fcm_token_uri: Option<String>,
    pub fcm_base_url: String,
    /// Background job workers per process (0 disables them, e.g. for an API-only node).
    pub job_workers: usize,
    pub job_poll_interval_ms: u64,
    /// Seconds a claimed job may run before another worker may take it back.
    pub job_lock_timeout_secs: i64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    /// How clients and gateways reach this server, e.g. `https://api.example.com`; used in
    /// checkout links and webhook URLs. Default: `http://<bound address>`.
    pub public_url: Option<String>,
    /// Payment gateway for top-ups: `sandbox` (built in; a checkout page served here),
    /// `razorpay` or `stripe`.
    pub payment_gateway: GatewayKind,
    pub razorpay_key_id: Option<String>,
    pub razorpay_key_secret: Option<SecretString>,
    /// Comma-separated: during a rotation both the new and the old secret are accepted.
    pub razorpay_webhook_secrets: Option<SecretString>,
    pub razorpay_base_url: String,
    pub stripe_secret_key: Option<SecretString>,
    /// Comma-separated `whsec_…` endpoint secrets (several during a rotation).
    pub stripe_webhook_secrets: Option<SecretString>,
    pub stripe_base_url: String,
    /// Seconds a gateway call (orders, refunds) may take; a refund without an answer by
    /// then stays pending until the sweeper learns its fate from the gateway.
    pub gateway_timeout_secs: u64,
    /// Seconds a webhook signature timestamp may differ from our clock.
    pub webhook_tolerance_secs: i64,
    /// Platform commission on consultations, basis points (2000 = 20 %); a practitioner's
    /// own `commission_bps` overrides it.
    pub commission_bps: u16,
    /// A gateway refund still `pending` after this long (the server died mid-way) is asked
    /// again and settled by the background sweeper.
    pub refund_stuck_after_secs: i64,
    /// Smallest payout a practitioner may request, minor units.
    pub payout_min_minor: i64,
    /// A booking request the practitioner leaves unanswered this long is declined by the
    /// system and the client's hold released (never later than the appointment's start).
    pub booking_confirm_timeout_secs: i64,
    /// A client who cancels at least this many hours before the start gets everything back.
    pub booking_full_refund_hours: i64,
    /// Share refunded to a client who cancels later than that, basis points.
    pub booking_late_refund_bps: u16,
    /// A client may move a booking until this many hours before its start.
    pub booking_reschedule_min_hours: i64,
    /// How many times one booking may be moved.
    pub booking_max_reschedules: i32,
    /// Minutes before the start from which both sides may join an online appointment.
    pub booking_join_early_minutes: i64,
    /// Minutes after the start by which both sides must have joined; whoever has not is a
    /// no-show (the practitioner first: then the client gets everything back).
    pub booking_no_show_grace_minutes: i64,
    /// An in-person appointment nobody reported a problem with completes this long after
    /// its end.
    pub booking_auto_complete_hours: i64,
    /// Reminders, in minutes before the start.
    pub booking_reminder_minutes: Vec<i64>,
    /// A practitioner who sends no heartbeat for this long goes offline.
    pub presence_timeout_secs: i64,
    /// A consultation may start only if the client's wallet covers this many paid minutes.
    pub live_min_minutes: u32,
    /// Seconds a practitioner has to accept a request before it is missed.
    pub live_request_timeout_secs: i64,
    /// A side away for longer than this ends the session; the time away is not charged.
    pub live_grace_secs: i64,
    /// Free minutes on a client's first consultation (paid by the platform).
    pub live_free_minutes_first_session: u32,
    /// How long a waitlisted client has to take a freed slot.
    pub live_offer_ttl_secs: i64,
    /// Seconds between this node's heartbeats. When a node starts and no heartbeat is
    /// fresher than three of these, no node was alive: that stretch is an outage, not billed.
    pub node_heartbeat_secs: u64,
    /// How often each node's consultation worker settles due minutes, milliseconds
    /// (0 disables the worker on this node).
    pub live_tick_ms: u64,
    /// Redis for cross-node fan-out of live events (`redis://host:6379`). Unset: in-process
    /// only, which is right for a single node.
    pub redis_url: Option<String>,
    /// Prefix of every Redis channel and key, so several deployments (or test runs) can
    /// share one Redis.
    pub redis_prefix: String,
    /// Hide phone numbers and email addresses shared in chat (with a system notice).
    pub chat_mask_contacts: bool,
    /// Seconds between the server's pings on a WebSocket (and re-checks of the account).
    pub ws_ping_secs: u64,
    /// Largest image or PDF accepted in chat, bytes.
    pub chat_upload_max_bytes: usize,
    /// Chat files one user may keep stored in all, bytes: files live in the database, so
    /// without it one account could fill the disk with allowed-size uploads.
    pub chat_attachment_quota_bytes: u64,
    /// Chat `message` frames one socket may send per second, and in one burst.
    pub ws_messages_per_sec: u32,
    pub ws_messages_burst: u32,
    /// `typing` frames one socket may send per second (burst: twice that).
    pub ws_typing_per_sec: u32,
    /// `delivered` and `read` frames one socket may send per second (burst: twice that).
    pub ws_receipts_per_sec: u32,
    /// Frames over a rate that a socket may send before it is closed (4008).
    pub ws_flood_strikes: u32,
    /// Open sockets one user may hold on this node; one more is closed (4009).
    pub ws_max_sockets_per_user: u32,
    /// Agora project for voice and video (both from the Agora console). Unset: calls use a
    /// sandbox key made at start, so tokens have the real format but Agora rejects them.
    pub agora_app_id: Option<String>,
    pub agora_app_certificate: Option<SecretString>,
    /// Lifetime of an RTC token; clients ask for a fresh one while the session lasts.
    pub agora_token_ttl_secs: u32,
    /// Platform fee on tips, basis points.
    pub tip_fee_bps: u16,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            bind: "127.0.0.1:8080".parse().expect("static address"),
            metrics_bind: None,
            metrics_token: None,
            database_url: "sqlite://augur-data/augur.db?mode=rwc".to_owned(),
            database_max_connections: 16,
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 30,
            demo: false,
            log_json: false,
            log_level: "info".to_owned(),
            trust_forwarded_for: false,
            otp_ttl_secs: 5 * 60,
            otp_max_attempts: 5,
            otp_resend_cooldown_secs: 60,
            otp_max_sends_per_day: 10,
            login_limit_per_ip: 30,
            login_limit_per_identifier: 10,
            otp_limit_per_ip: 20,
            otp_limit_per_identifier: 5,
            rate_limit_window_secs: 60,
            login_backoff_after: 5,
            login_backoff_secs: 30,
            login_backoff_max_secs: 15 * 60,
            password_reset_ttl_secs: 30 * 60,
            password_reset_limit_per_ip: 20,
            password_reset_limit_per_identifier: 5,
            email_verification_ttl_secs: 24 * 60 * 60,
            email_verification_resend_secs: 60,
            reauth_window_secs: 5 * 60,
            astrology_limit_per_ip: 120,
            sms_provider: SmsProviderKind::Sandbox,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_messaging_service_sid: None,
            twilio_base_url: "https://api.twilio.com".to_owned(),
            email_provider: EmailProviderKind::Sandbox,
            email_from: "Augur <no-reply@augur.local>".to_owned(),
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_timeout_secs: 20,
            push_provider: PushProviderKind::Sandbox,
            fcm_credentials_file: None,
            fcm_project_id: None,
            fcm_client_email: None,
            fcm_private_key: None,
            fcm_token_uri: None,
            fcm_base_url: "https://fcm.googleapis.com".to_owned(),
            job_workers: 2,
            job_poll_interval_ms: 500,
            job_lock_timeout_secs: 300,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            public_url: None,
            payment_gateway: GatewayKind::Sandbox,
            razorpay_key_id: None,
            razorpay_key_secret: None,
            razorpay_webhook_secrets: None,
            razorpay_base_url: "https://api.razorpay.com".to_owned(),
            stripe_secret_key: None,
            stripe_webhook_secrets: None,
            stripe_base_url: "https://api.stripe.com".to_owned(),
            gateway_timeout_secs: 20,
            webhook_tolerance_secs: 300,
            commission_bps: 2_000,
            payout_min_minor: 50_000,
            booking_confirm_timeout_secs: 24 * 3600,
            booking_full_refund_hours: 24,
            booking_late_refund_bps: 5_000,
            booking_reschedule_min_hours: 24,
            booking_max_reschedules: 2,
            booking_join_early_minutes: 10,
            booking_no_show_grace_minutes: 15,
            booking_auto_complete_hours: 24,
            booking_reminder_minutes: vec![24 * 60, 15],
            refund_stuck_after_secs: 300,
            presence_timeout_secs: 60,
            live_min_minutes: 5,
            live_request_timeout_secs: 60,
            live_grace_secs: 60,
            live_free_minutes_first_session: 0,
            live_offer_ttl_secs: 60,
            live_tick_ms: 250,
            node_heartbeat_secs: 2,
            redis_url: None,
            redis_prefix: "augur:".to_owned(),
            chat_mask_contacts: true,
            chat_upload_max_bytes: 5 * 1024 * 1024,
            chat_attachment_quota_bytes: 100 * 1024 * 1024,
            ws_messages_per_sec: 10,
            ws_messages_burst: 20,
            ws_typing_per_sec: 2,
            ws_receipts_per_sec: 20,
            ws_flood_strikes: 20,
            ws_max_sockets_per_user: 5,
            ws_ping_secs: 20,
            agora_app_id: None,
            agora_app_certificate: None,
            agora_token_ttl_secs: 600,
            tip_fee_bps: 0,
        }
    }
}

impl Config {
    /// Defaults, then `augur.toml` (or the given file) if present, then `AUGUR_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let file = file.unwrap_or_else(|| Path::new("augur.toml"));
        let cfg: Config = Figment::new()
            .merge(Toml::file(file))
            .merge(Env::prefixed("AUGUR_").ignore(&[
                "test_postgres_url",
                "test_redis_url",
                "require_postgres",
                "config",
            ]))
            .extract()?;
        cfg.check()?;
        Ok(cfg)
    }

    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"),
            "database_url must start with sqlite: or postgres://"
        );
        if let Some(secret) = &self.jwt_secret {
            anyhow::ensure!(
                secret.expose_secret().len() >= 32,
                "jwt_secret must be at least 32 characters"
            );
        }
        anyhow::ensure!(
            self.access_token_ttl_secs > 0,
            "access_token_ttl_secs must be positive"
        );
        anyhow::ensure!(
            self.password_reset_ttl_secs > 0
                && self.email_verification_ttl_secs > 0
                && self.reauth_window_secs > 0,
            "password_reset_ttl_secs, email_verification_ttl_secs and reauth_window_secs must be positive"
        );
        anyhow::ensure!(
            self.otp_max_attempts > 0,
            "otp_max_attempts must be positive"
        );
        for (name, bps) in [
            ("booking_late_refund_bps", self.booking_late_refund_bps),
            ("commission_bps", self.commission_bps),
            ("tip_fee_bps", self.tip_fee_bps),
        ] {
            anyhow::ensure!(bps <= 10_000, "{name} must be at most 10000");
        }
        anyhow::ensure!(
            self.booking_reminder_minutes.iter().all(|m| *m > 0),
            "booking_reminder_minutes must be positive"
        );
        // The sweeper must not ask about a refund whose first call may still be in flight.
        anyhow::ensure!(
            self.refund_stuck_after_secs > 2 * self.gateway_timeout_secs as i64,
            "refund_stuck_after_secs must be more than twice gateway_timeout_secs"
        );
        anyhow::ensure!(
            self.login_backoff_secs <= self.login_backoff_max_secs,
            "login_backoff_secs must not exceed login_backoff_max_secs"
        );
        if self.environment == Environment::Production {
            let refusals = self.production_refusals();
            anyhow::ensure!(
                refusals.is_empty(),
                "environment = \"production\" refuses to start: {}",
                refusals.join("; ")
            );
        }
        Ok(())
    }

    /// What makes this configuration unfit for production, one reason each.
    pub fn production_refusals(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.payment_gateway == GatewayKind::Sandbox {
            out.push("payment_gateway is the sandbox (its checkout credits wallets without any payment); set razorpay or stripe");
        }
        if self.sms_provider == SmsProviderKind::Sandbox {
            out.push("sms_provider is the sandbox (codes are only logged); set twilio");
        }
        if self.email_provider == EmailProviderKind::Sandbox {
            out.push("email_provider is the sandbox (mail is only logged); set smtp");
        }
        if self.push_provider == PushProviderKind::Sandbox {
            out.push("push_provider is the sandbox (pushes are only logged); set fcm");
        }
        if self.jwt_secret.is_none() {
            out.push("jwt_secret is not set (a generated key is not shared by other nodes and is lost with the data folder); set AUGUR_JWT_SECRET");
        }
        if self.demo {
            out.push("demo is on (demo accounts share a published password)");
        }
        out
    }

    /// The login lockout policy these settings describe.
    pub fn login_backoff(&self) -> LoginBackoff {
        LoginBackoff {
            free_failures: self.login_backoff_after,
            base_secs: self.login_backoff_secs,
            max_secs: self.login_backoff_max_secs,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// Splits a comma-separated secret list (rotation) into its parts.
pub fn secret_list(s: &Option<SecretString>) -> Vec<String> {
    s.as_ref()
        .map(|v| {
            v.expose_secret()
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// How consecutive failures turn into lockouts: the first `free_failures - 1` cost
/// nothing, the next one locks for `base_secs`, and each further one doubles the lockout up
/// to `max_secs`. The cap is what keeps an attacker from locking an account out for good;
/// failures are forgotten `max_secs` after the last lockout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginBackoff {
    /// Failures that start the first lockout; 0 turns the backoff off.
    pub free_failures: u32,
    pub base_secs: u64,
    pub max_secs: u64,
}

impl LoginBackoff {
    /// The lockout that follows the `failures`-th consecutive failure.
    pub fn delay(&self, failures: u32) -> u64 {
        if self.free_failures == 0 || failures < self.free_failures {
            return 0;
        }
        let doublings = (failures - self.free_failures).min(40);
        self.base_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_secs)
    }

    /// How long the state is kept after this failure.
    pub fn remember_secs(&self, delay: u64) -> u64 {
        delay.saturating_add(self.max_secs).max(1)
    }
}
