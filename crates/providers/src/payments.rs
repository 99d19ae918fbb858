//! Wire-level protocol details for Augur's two payment gateways, Razorpay and
//! Stripe.
//!
//! This module owns exactly the parts of the integration that are fixed by the
//! gateways' published formats:
//!
//! * computing and constant-time verifying the Razorpay Checkout signature
//!   (`razorpay_signature`, HMAC-SHA256 of `order_id|payment_id` under the API
//!   key secret) and the Razorpay webhook signature (`X-Razorpay-Signature`,
//!   HMAC-SHA256 of the raw body under the webhook secret);
//! * computing and verifying the Stripe webhook signature header
//!   (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`), including the replay
//!   window and endpoint-secret rotation;
//! * building the request bodies for Razorpay `POST /v1/orders` (JSON) and
//!   Stripe `POST /v1/payment_intents` (form fields plus `Idempotency-Key`),
//!   rejecting values the gateways document as invalid before a request is
//!   ever sent;
//! * typed parsing of the order / PaymentIntent responses and of the webhook
//!   events the marketplace acts on, with unknown event types surfaced as a
//!   distinct variant so that new gateway events never become hard errors.
//!
//! It deliberately does no IO, reads no clock and stores no secrets: the caller
//! passes the current time and the secrets in. HTTP transport, secret storage,
//! persistence and de-duplication of redelivered events (by event id) belong to
//! the callers.
//!
//! Every signature check runs over the *raw* request body. Re-serialising
//! parsed JSON changes the bytes and breaks verification, so callers must keep
//! the body bytes exactly as received until verification has passed.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

type HmacSha256 = Hmac<Sha256>;

/// Size of an HMAC-SHA256 tag in bytes (64 hex characters).
const TAG_LEN: usize = 32;

/// Header carrying the Razorpay webhook signature.
pub const RAZORPAY_SIGNATURE_HEADER: &str = "X-Razorpay-Signature";
/// Header carrying the Razorpay webhook event id; callers de-duplicate on it
/// because Razorpay delivers at least once.
pub const RAZORPAY_EVENT_ID_HEADER: &str = "X-Razorpay-Event-Id";
/// Documented maximum length of an order `receipt`.
pub const RAZORPAY_RECEIPT_MAX_CHARS: usize = 40;
/// Documented maximum number of `notes` key-value pairs on an entity.
pub const RAZORPAY_NOTES_MAX_ENTRIES: usize = 15;
/// Documented maximum length of one `notes` value.
pub const RAZORPAY_NOTE_VALUE_MAX_CHARS: usize = 256;

/// Header carrying the Stripe webhook signature.
pub const STRIPE_SIGNATURE_HEADER: &str = "Stripe-Signature";
/// Replay window Stripe recommends (and its SDKs default to), in seconds.
pub const STRIPE_DEFAULT_TOLERANCE_SECS: i64 = 300;
/// Documented maximum number of metadata keys on a Stripe object.
pub const STRIPE_METADATA_MAX_KEYS: usize = 50;
/// Documented maximum length of a Stripe metadata key.
pub const STRIPE_METADATA_KEY_MAX_CHARS: usize = 40;
/// Documented maximum length of a Stripe metadata value.
pub const STRIPE_METADATA_VALUE_MAX_CHARS: usize = 500;
/// Documented maximum length of a Stripe `Idempotency-Key`.
pub const STRIPE_IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a gateway signature was rejected.
///
/// The variants are intentionally coarse: the HTTP layer answers every one of
/// them with a 4xx, and finer detail would only help someone probing the
/// endpoint. [`SignatureError::code`] gives stable strings for logs/metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature header (or field) was absent or blank.
    #[error("signature is missing")]
    MissingHeader,
    /// The signature was present but not in the gateway's format.
    #[error("signature is malformed")]
    Malformed,
    /// The signature is authentic but its timestamp is outside the replay
    /// window (Stripe only).
    #[error("signature timestamp is outside the allowed tolerance")]
    TimestampOutsideTolerance,
    /// No expected signature matched.
    #[error("signature does not match")]
    Mismatch,
}

impl SignatureError {
    /// Stable machine-readable code, safe to log and to expose in API errors.
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingHeader => "signature_missing",
            Self::Malformed => "signature_malformed",
            Self::TimestampOutsideTolerance => "signature_stale",
            Self::Mismatch => "signature_mismatch",
        }
    }
}

/// Why an outgoing gateway request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Amounts are positive integers in the currency's smallest unit.
    #[error("amount must be a positive number of minor units, got {0}")]
    NonPositiveAmount(i64),
    /// Currencies are three-letter ISO 4217 codes.
    #[error("currency must be a three-letter ISO 4217 code, got {0:?}")]
    InvalidCurrency(String),
    /// Razorpay rejects receipts longer than 40 characters.
    #[error("receipt is {len} characters long; at most {max} are allowed")]
    ReceiptTooLong { len: usize, max: usize },
    /// Too many notes / metadata entries for the gateway.
    #[error("{count} key-value entries given; at most {max} are allowed")]
    TooManyEntries { count: usize, max: usize },
    /// A notes / metadata key is empty, repeated, too long or contains
    /// characters that would corrupt the encoding.
    #[error("invalid key {key:?}")]
    InvalidKey { key: String },
    /// A notes / metadata value exceeds the gateway's length limit.
    #[error("value for key {key:?} is {len} characters long; at most {max} are allowed")]
    ValueTooLong { key: String, len: usize, max: usize },
    /// Idempotency keys must be 1..=255 visible ASCII characters.
    #[error("idempotency key must be 1 to {max} visible ASCII characters")]
    InvalidIdempotencyKey { max: usize },
}

/// Why a gateway response or webhook body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or a required field is missing / has the wrong type.
    #[error("invalid gateway JSON: {0}")]
    Json(String),
    /// The body describes a different kind of object than expected.
    #[error("expected a {expected:?} object, found {found:?}")]
    UnexpectedObject {
        expected: &'static str,
        found: String,
    },
    /// A known event arrived without the entity it must carry.
    #[error("event payload lacks the {0:?} entity")]
    MissingEntity(&'static str),
    /// Two parts of one payload disagree (e.g. order id on order vs payment).
    #[error("inconsistent event payload: {0}")]
    Inconsistent(&'static str),
}

impl ParseError {
    // serde_json::Error is neither Clone nor PartialEq; keeping only its
    // message lets ParseError stay comparable in callers' tests.
    fn json(err: serde_json::Error) -> Self {
        Self::Json(err.to_string())
    }
}

// ---------------------------------------------------------------------------
// Shared HMAC helpers
// ---------------------------------------------------------------------------

fn hmac_sha256(key: &[u8], message_parts: &[&[u8]]) -> [u8; TAG_LEN] {
    // HMAC is defined for keys of any length (long keys are hashed, short ones
    // padded), so this constructor cannot fail for HMAC-SHA256.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in message_parts {
        mac.update(part);
    }
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&mac.finalize().into_bytes());
    tag
}

/// Decodes one hex-encoded tag. Upper-case hex is accepted: it denotes the same
/// bytes, and the comparison happens on bytes, not on text.
fn decode_tag(hex_sig: &str) -> Result<[u8; TAG_LEN], SignatureError> {
    let mut tag = [0u8; TAG_LEN];
    hex::decode_to_slice(hex_sig, &mut tag).map_err(|_| SignatureError::Malformed)?;
    Ok(tag)
}

/// Parses a bare hex signature value (Razorpay style).
fn parse_bare_signature(value: &str) -> Result<[u8; TAG_LEN], SignatureError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    decode_tag(value)
}

/// True if any candidate tag equals the HMAC of the message under any secret.
///
/// Every (secret, candidate) pair is compared in constant time and the results
/// are OR-ed without early exit, so timing reveals neither how close a forged
/// tag came nor which secret matched.
fn any_tag_matches<'s>(
    secrets: impl IntoIterator<Item = &'s [u8]>,
    message_parts: &[&[u8]],
    candidates: &[[u8; TAG_LEN]],
) -> bool {
    let mut matched = Choice::from(0u8);
    for secret in secrets {
        let expected = hmac_sha256(secret, message_parts);
        for candidate in candidates {
            matched |= expected[..].ct_eq(&candidate[..]);
        }
    }
    matched.into()
}

fn validate_amount(amount_minor: i64) -> Result<(), RequestError> {
    if amount_minor <= 0 {
        return Err(RequestError::NonPositiveAmount(amount_minor));
    }
    Ok(())
}

fn validate_currency(currency: &str) -> Result<(), RequestError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(RequestError::InvalidCurrency(currency.to_owned()))
    }
}

// ---------------------------------------------------------------------------
// Razorpay: signatures
// ---------------------------------------------------------------------------

/// Lower-case hex HMAC-SHA256 of `order_id|payment_id` under the API key
/// secret: the `razorpay_signature` that Checkout hands back to the browser.
pub fn razorpay_checkout_signature(key_secret: &[u8], order_id: &str, payment_id: &str) -> String {
    hex::encode(hmac_sha256(
        key_secret,
        &[order_id.as_bytes(), b"|", payment_id.as_bytes()],
    ))
}

/// Verifies a Checkout `razorpay_signature` in constant time.
///
/// `order_id` must be the id Augur stored when it created the order, never the
/// one echoed back by the browser; only then does the signature bind the
/// payment to *our* order.
pub fn verify_razorpay_checkout(
    key_secret: &[u8],
    order_id: &str,
    payment_id: &str,
    signature_hex: &str,
) -> Result<(), SignatureError> {
    // The signed message joins the ids with '|', so an id that itself contains
    // '|' would make ("a|b", "c") and ("a", "b|c") sign identically. Real
    // Razorpay ids are alphanumeric; anything else is refused outright.
    if order_id.is_empty()
        || payment_id.is_empty()
        || order_id.contains('|')
        || payment_id.contains('|')
    {
        return Err(SignatureError::Malformed);
    }
    let provided = parse_bare_signature(signature_hex)?;
    let message: [&[u8]; 3] = [order_id.as_bytes(), b"|", payment_id.as_bytes()];
    if any_tag_matches([key_secret], &message, &[provided]) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Lower-case hex HMAC-SHA256 of the raw webhook body under the webhook secret,
/// as sent in `X-Razorpay-Signature`.
pub fn razorpay_webhook_signature(webhook_secret: &[u8], raw_body: &[u8]) -> String {
    hex::encode(hmac_sha256(webhook_secret, &[raw_body]))
}

/// Verifies `X-Razorpay-Signature` against the raw body in constant time.
///
/// Pass `""` as `header_value` when the header is absent.
pub fn verify_razorpay_webhook(
    webhook_secret: &[u8],
    raw_body: &[u8],
    header_value: &str,
) -> Result<(), SignatureError> {
    verify_razorpay_webhook_any(&[webhook_secret], raw_body, header_value)
}

/// Like [`verify_razorpay_webhook`], accepting a signature made with any of
/// several secrets.
///
/// Razorpay signs retries of older events with the secret that was current
/// when the event was created, so after a secret change both the new and the
/// old secret must be accepted until the retry window (24 h) has passed.
pub fn verify_razorpay_webhook_any(
    webhook_secrets: &[&[u8]],
    raw_body: &[u8],
    header_value: &str,
) -> Result<(), SignatureError> {
    let provided = parse_bare_signature(header_value)?;
    if any_tag_matches(webhook_secrets.iter().copied(), &[raw_body], &[provided]) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

// ---------------------------------------------------------------------------
// Razorpay: Orders API
// ---------------------------------------------------------------------------

/// JSON body for Razorpay `POST /v1/orders`.
///
/// * `amount_minor` is in the currency's smallest unit (paise for INR) and must
///   be positive.
/// * `currency` is a three-letter code; it is sent upper-case as Razorpay
///   documents it (`"INR"`).
/// * `receipt` is Augur's own reference, at most 40 characters; an empty
///   receipt is omitted because the field is optional.
/// * `notes` become the `notes` object: at most 15 entries, values at most
///   256 characters, keys non-empty and unique (a repeated key would silently
///   overwrite the earlier value in a JSON object).
pub fn razorpay_order_request(
    amount_minor: i64,
    currency: &str,
    receipt: &str,
    notes: &[(&str, &str)],
) -> Result<Value, RequestError> {
    validate_amount(amount_minor)?;
    validate_currency(currency)?;
    let receipt_len = receipt.chars().count();
    if receipt_len > RAZORPAY_RECEIPT_MAX_CHARS {
        return Err(RequestError::ReceiptTooLong {
            len: receipt_len,
            max: RAZORPAY_RECEIPT_MAX_CHARS,
        });
    }
    if notes.len() > RAZORPAY_NOTES_MAX_ENTRIES {
        return Err(RequestError::TooManyEntries {
            count: notes.len(),
            max: RAZORPAY_NOTES_MAX_ENTRIES,
        });
    }
    let mut notes_obj = Map::new();
    for &(key, value) in notes {
        if key.is_empty() || notes_obj.contains_key(key) {
            return Err(RequestError::InvalidKey {
                key: key.to_owned(),
            });
        }
        let len = value.chars().count();
        if len > RAZORPAY_NOTE_VALUE_MAX_CHARS {
            return Err(RequestError::ValueTooLong {
                key: key.to_owned(),
                len,
                max: RAZORPAY_NOTE_VALUE_MAX_CHARS,
            });
        }
        notes_obj.insert(key.to_owned(), Value::String(value.to_owned()));
    }

    let mut body = Map::new();
    body.insert("amount".to_owned(), Value::from(amount_minor));
    body.insert(
        "currency".to_owned(),
        Value::String(currency.to_ascii_uppercase()),
    );
    if !receipt.is_empty() {
        body.insert("receipt".to_owned(), Value::String(receipt.to_owned()));
    }
    body.insert("notes".to_owned(), Value::Object(notes_obj));
    Ok(Value::Object(body))
}

/// The fields of a Razorpay order entity that Augur uses (the create-order
/// response, and the `order` entity inside `order.paid` webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RazorpayOrder {
    /// `order_…` id, passed to Checkout and used to verify its signature.
    pub id: String,
    /// Always `"order"`; checked by [`parse_razorpay_order`].
    pub entity: String,
    /// Order amount in minor units.
    pub amount: i64,
    /// Amount paid so far, in minor units.
    #[serde(default)]
    pub amount_paid: Option<i64>,
    /// Amount still due, in minor units.
    #[serde(default)]
    pub amount_due: Option<i64>,
    /// Upper-case ISO currency code.
    pub currency: String,
    /// Augur's receipt, if one was sent.
    #[serde(default)]
    pub receipt: Option<String>,
    /// `created`, `attempted` or `paid`; kept as text so new states parse.
    pub status: String,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
}

/// Parses the `POST /v1/orders` (or `GET /v1/orders/:id`) response body.
pub fn parse_razorpay_order(body: &[u8]) -> Result<RazorpayOrder, ParseError> {
    let order: RazorpayOrder = serde_json::from_slice(body).map_err(ParseError::json)?;
    if order.entity != "order" {
        return Err(ParseError::UnexpectedObject {
            expected: "order",
            found: order.entity,
        });
    }
    Ok(order)
}

// ---------------------------------------------------------------------------
// Razorpay: webhooks
// ---------------------------------------------------------------------------

/// The Razorpay webhook events Augur acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RazorpayEventKind {
    /// `payment.captured`: money is captured for the payment.
    PaymentCaptured,
    /// `order.paid`: the order is fully paid; carries order and payment.
    OrderPaid,
    /// `payment.failed`: the attempt failed; the order may be retried.
    PaymentFailed,
}

impl RazorpayEventKind {
    /// The event name exactly as Razorpay sends it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PaymentCaptured => "payment.captured",
            Self::OrderPaid => "order.paid",
            Self::PaymentFailed => "payment.failed",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "payment.captured" => Some(Self::PaymentCaptured),
            "order.paid" => Some(Self::OrderPaid),
            "payment.failed" => Some(Self::PaymentFailed),
            _ => None,
        }
    }
}

/// A recognised Razorpay payment webhook, flattened to what Augur needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RazorpayEvent {
    pub kind: RazorpayEventKind,
    /// `acc_…` merchant account id, if present.
    pub account_id: Option<String>,
    /// Event creation time, Unix seconds.
    pub created_at: Option<i64>,
    /// `pay_…` id.
    pub payment_id: String,
    /// `order_…` id. For `order.paid` it comes from the order entity (and must
    /// agree with the payment's); for payment events it is the payment's
    /// `order_id`, which Razorpay may leave null for order-less payments.
    pub order_id: Option<String>,
    /// Payment amount in minor units.
    pub amount: i64,
    /// Upper-case ISO currency code.
    pub currency: String,
    /// Payment status at the time of the event (`captured`, `failed`, …).
    pub status: String,
    /// Payment method (`card`, `upi`, …).
    pub method: Option<String>,
    /// Failure details; set on `payment.failed`.
    pub error_code: Option<String>,
    pub error_description: Option<String>,
    pub error_reason: Option<String>,
    /// The payment's notes.
    pub notes: BTreeMap<String, String>,
    /// The order entity; present on `order.paid`.
    pub order: Option<RazorpayOrder>,
}

/// Outcome of parsing a Razorpay webhook body.
// One short-lived value per webhook request: boxing the large variant would
// only make matching on it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RazorpayWebhook {
    /// One of the events in [`RazorpayEventKind`].
    Event(RazorpayEvent),
    /// Any other event. Not an error: the endpoint should acknowledge it with
    /// a 2xx, because Razorpay disables webhooks that keep failing.
    Unrecognized { event: String },
}

#[derive(Deserialize)]
struct RazorpayEnvelope {
    event: String,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    payload: Value,
}

#[derive(Deserialize)]
struct RazorpayWrapped<T> {
    entity: T,
}

#[derive(Deserialize)]
struct RazorpayPayload {
    #[serde(default)]
    payment: Option<RazorpayWrapped<RazorpayPaymentEntity>>,
    #[serde(default)]
    order: Option<RazorpayWrapped<RazorpayOrder>>,
}

#[derive(Deserialize)]
struct RazorpayPaymentEntity {
    id: String,
    #[serde(default)]
    entity: Option<String>,
    amount: i64,
    currency: String,
    status: String,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_reason: Option<String>,
    #[serde(default, deserialize_with = "razorpay_notes")]
    notes: BTreeMap<String, String>,
}

/// Razorpay sends an *empty* notes collection as `[]` rather than `{}` (its
/// own samples show `"notes": []`), and values are not guaranteed to be
/// strings. Accept object or array, stringify scalars, drop nested values.
fn razorpay_notes<'de, D: Deserializer<'de>>(de: D) -> Result<BTreeMap<String, String>, D::Error> {
    fn scalar(v: Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
    match Value::deserialize(de)? {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => Ok(map
            .into_iter()
            .filter_map(|(k, v)| scalar(v).map(|s| (k, s)))
            .collect()),
        Value::Array(items) => Ok(items
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| scalar(v).map(|s| (i.to_string(), s)))
            .collect()),
        other => Err(D::Error::custom(format!(
            "notes must be an object or array, got {other}"
        ))),
    }
}

/// Parses a Razorpay webhook body. Call only after
/// [`verify_razorpay_webhook`] has accepted the same raw bytes.
pub fn parse_razorpay_webhook(raw_body: &[u8]) -> Result<RazorpayWebhook, ParseError> {
    let envelope: RazorpayEnvelope = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    if let Some(entity) = envelope.entity.filter(|e| e != "event") {
        return Err(ParseError::UnexpectedObject {
            expected: "event",
            found: entity,
        });
    }
    let Some(kind) = RazorpayEventKind::from_name(&envelope.event) else {
        return Ok(RazorpayWebhook::Unrecognized {
            event: envelope.event,
        });
    };

    let payload: RazorpayPayload =
        serde_json::from_value(envelope.payload).map_err(ParseError::json)?;
    let payment = payload
        .payment
        .ok_or(ParseError::MissingEntity("payment"))?
        .entity;
    if let Some(entity) = payment.entity.filter(|e| e != "payment") {
        return Err(ParseError::UnexpectedObject {
            expected: "payment",
            found: entity,
        });
    }
    let order = match kind {
        RazorpayEventKind::OrderPaid => {
            let order = payload
                .order
                .ok_or(ParseError::MissingEntity("order"))?
                .entity;
            if order.entity != "order" {
                return Err(ParseError::UnexpectedObject {
                    expected: "order",
                    found: order.entity,
                });
            }
            // The order id is what Augur keys fulfilment on; if the two
            // entities disagree the payload cannot be trusted to settle either.
            if payment.order_id.as_deref().is_some_and(|id| id != order.id) {
                return Err(ParseError::Inconsistent(
                    "payment.order_id differs from order.id",
                ));
            }
            Some(order)
        }
        RazorpayEventKind::PaymentCaptured | RazorpayEventKind::PaymentFailed => {
            payload.order.map(|o| o.entity)
        }
    };
    let order_id = match &order {
        Some(o) if kind == RazorpayEventKind::OrderPaid => Some(o.id.clone()),
        _ => payment.order_id,
    };

    Ok(RazorpayWebhook::Event(RazorpayEvent {
        kind,
        account_id: envelope.account_id,
        created_at: envelope.created_at,
        payment_id: payment.id,
        order_id,
        amount: payment.amount,
        currency: payment.currency,
        status: payment.status,
        method: payment.method,
        error_code: payment.error_code,
        error_description: payment.error_description,
        error_reason: payment.error_reason,
        notes: payment.notes,
        order,
    }))
}

// ---------------------------------------------------------------------------
// Stripe: webhook signatures
// ---------------------------------------------------------------------------

/// Builds a `Stripe-Signature` header value, `t=<timestamp>,v1=<hex>`, where
/// v1 is HMAC-SHA256 under the endpoint secret (the whole `whsec_…` string is
/// the key) of `"{timestamp}.{raw_body}"`. Used to sign test fixtures and to
/// exercise the verifier.
pub fn stripe_signature_header(secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    let t = timestamp.to_string();
    let tag = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", raw_body]);
    format!("t={t},v1={}", hex::encode(tag))
}

/// A parsed `Stripe-Signature` header.
struct StripeSignature<'h> {
    /// The timestamp exactly as it appeared; the signed payload uses this text.
    timestamp_text: &'h str,
    timestamp: i64,
    v1: Vec<[u8; TAG_LEN]>,
}

fn parse_stripe_header(header: &str) -> Result<StripeSignature<'_>, SignatureError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    let mut timestamp_text: Option<&str> = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.split_once('=').ok_or(SignatureError::Malformed)?;
        match key.trim() {
            // A second `t` is refused rather than resolved: accepting either
            // would let the replay check and the MAC disagree on the time.
            "t" if timestamp_text.is_some() => return Err(SignatureError::Malformed),
            "t" => timestamp_text = Some(value.trim()),
            // Several v1 entries appear while Stripe rolls an endpoint secret.
            "v1" => v1.push(decode_tag(value.trim())?),
            // v0 (test-mode signatures made with a fake secret) and any
            // future scheme carry nothing we can verify; skip them.
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or(SignatureError::Malformed)?;
    // Digits only: `i64::from_str` would also take "+5", whose text differs
    // from what Stripe signs, and negative times are never sent.
    if timestamp_text.is_empty() || !timestamp_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    let timestamp = timestamp_text
        .parse::<i64>()
        .map_err(|_| SignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed);
    }
    Ok(StripeSignature {
        timestamp_text,
        timestamp,
        v1,
    })
}

/// Verifies a `Stripe-Signature` header against the raw body and returns the
/// signed timestamp.
///
/// * `secrets`: every endpoint secret currently accepted. Accepts if ANY `v1`
///   in the header matches ANY secret, which covers both Stripe-side rolling
///   (several `v1`) and Augur-side rotation (several secrets). An empty list
///   matches nothing.
/// * `now_unix` / `tolerance_secs`: the header is rejected when
///   `|now - t| > tolerance`, in the past *or* the future, so exactly
///   `tolerance` seconds is still accepted. Use
///   [`STRIPE_DEFAULT_TOLERANCE_SECS`] unless there is a reason not to; a
///   negative tolerance is treated as zero rather than disabling the check.
///
/// The signature is checked before the timestamp, as Stripe's own SDKs do, so
/// [`SignatureError::TimestampOutsideTolerance`] is only ever reported for
/// authentic-but-old (or clock-skewed) deliveries; forged headers always get
/// [`SignatureError::Mismatch`].
pub fn verify_stripe_webhook(
    secrets: &[&str],
    header: &str,
    raw_body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let sig = parse_stripe_header(header)?;
    let message: [&[u8]; 3] = [sig.timestamp_text.as_bytes(), b".", raw_body];
    if !any_tag_matches(secrets.iter().map(|s| s.as_bytes()), &message, &sig.v1) {
        return Err(SignatureError::Mismatch);
    }
    let tolerance = tolerance_secs.max(0).unsigned_abs();
    if now_unix.abs_diff(sig.timestamp) > tolerance {
        return Err(SignatureError::TimestampOutsideTolerance);
    }
    Ok(sig.timestamp)
}

// ---------------------------------------------------------------------------
// Stripe: PaymentIntents API
// ---------------------------------------------------------------------------

/// Form fields and `Idempotency-Key` header value for Stripe
/// `POST /v1/payment_intents` (`application/x-www-form-urlencoded`).
///
/// Fields, in order: `amount`, `currency` (lower-cased, as Stripe requires),
/// `automatic_payment_methods[enabled]=true`, then one `metadata[<key>]` per
/// entry in the given order. The pairs are *not* percent-encoded; hand them to
/// a form encoder, e.g. [`form_urlencode`].
///
/// Metadata limits are Stripe's documented ones (50 keys, keys ≤ 40 and values
/// ≤ 500 characters); keys must also be unique and free of `[`/`]`, which
/// would change the meaning of the bracketed form name. The idempotency key
/// must be 1–255 visible ASCII characters so it is a valid header value; reuse
/// the same key when retrying the same logical request.
pub fn stripe_payment_intent_form(
    amount_minor: i64,
    currency_lowercase: &str,
    metadata: &[(&str, &str)],
    idempotency_key: &str,
) -> Result<(Vec<(String, String)>, String), RequestError> {
    validate_amount(amount_minor)?;
    validate_currency(currency_lowercase)?;
    if idempotency_key.is_empty()
        || idempotency_key.len() > STRIPE_IDEMPOTENCY_KEY_MAX_CHARS
        || !idempotency_key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(RequestError::InvalidIdempotencyKey {
            max: STRIPE_IDEMPOTENCY_KEY_MAX_CHARS,
        });
    }
    if metadata.len() > STRIPE_METADATA_MAX_KEYS {
        return Err(RequestError::TooManyEntries {
            count: metadata.len(),
            max: STRIPE_METADATA_MAX_KEYS,
        });
    }

    let mut fields = Vec::with_capacity(3 + metadata.len());
    fields.push(("amount".to_owned(), amount_minor.to_string()));
    fields.push((
        "currency".to_owned(),
        currency_lowercase.to_ascii_lowercase(),
    ));
    fields.push((
        "automatic_payment_methods[enabled]".to_owned(),
        "true".to_owned(),
    ));
    for (i, &(key, value)) in metadata.iter().enumerate() {
        let bad_key = key.is_empty()
            || key.chars().count() > STRIPE_METADATA_KEY_MAX_CHARS
            || key.contains(['[', ']'])
            || metadata[..i].iter().any(|&(k, _)| k == key);
        if bad_key {
            return Err(RequestError::InvalidKey {
                key: key.to_owned(),
            });
        }
        let len = value.chars().count();
        if len > STRIPE_METADATA_VALUE_MAX_CHARS {
            return Err(RequestError::ValueTooLong {
                key: key.to_owned(),
                len,
                max: STRIPE_METADATA_VALUE_MAX_CHARS,
            });
        }
        fields.push((format!("metadata[{key}]"), value.to_owned()));
    }
    Ok((fields, idempotency_key.to_owned()))
}

/// Encodes pairs as an `application/x-www-form-urlencoded` body: bytes other
/// than ASCII alphanumerics and `*-._` are percent-encoded and space becomes
/// `+` (the WHATWG URL spec's form encoding, which Stripe parses).
pub fn form_urlencode(fields: &[(String, String)]) -> String {
    fn push_encoded(out: &mut String, s: &str) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for &b in s.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0x0f)]));
                }
            }
        }
    }
    let mut out = String::new();
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_encoded(&mut out, key);
        out.push('=');
        push_encoded(&mut out, value);
    }
    out
}

/// Deserialises a string map that Stripe may send as `null`.
fn string_map_or_null<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(de)?.unwrap_or_default())
}

/// The fields of a Stripe PaymentIntent that Augur uses.
///
/// `Debug` redacts `client_secret`: Stripe says it must not be logged or
/// stored, only handed to the paying customer's browser.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct StripePaymentIntent {
    /// `pi_…` id.
    pub id: String,
    /// Always `"payment_intent"`; checked by the parsers.
    pub object: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Amount actually received, in minor units.
    #[serde(default)]
    pub amount_received: Option<i64>,
    /// Lower-case ISO currency code.
    pub currency: String,
    /// `requires_payment_method`, `processing`, `succeeded`, …; kept as text
    /// so new states parse.
    pub status: String,
    /// Secret for the browser-side confirmation.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default, deserialize_with = "string_map_or_null")]
    pub metadata: BTreeMap<String, String>,
    /// Why the last attempt failed, if it did.
    #[serde(default)]
    pub last_payment_error: Option<StripePaymentError>,
}

impl std::fmt::Debug for StripePaymentIntent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripePaymentIntent")
            .field("id", &self.id)
            .field("object", &self.object)
            .field("amount", &self.amount)
            .field("amount_received", &self.amount_received)
            .field("currency", &self.currency)
            .field("status", &self.status)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("metadata", &self.metadata)
            .field("last_payment_error", &self.last_payment_error)
            .finish()
    }
}

/// `last_payment_error` of a PaymentIntent (subset).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StripePaymentError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

fn check_payment_intent(pi: StripePaymentIntent) -> Result<StripePaymentIntent, ParseError> {
    if pi.object != "payment_intent" {
        return Err(ParseError::UnexpectedObject {
            expected: "payment_intent",
            found: pi.object,
        });
    }
    Ok(pi)
}

/// Parses a PaymentIntent response body (create / retrieve).
pub fn parse_stripe_payment_intent(body: &[u8]) -> Result<StripePaymentIntent, ParseError> {
    check_payment_intent(serde_json::from_slice(body).map_err(ParseError::json)?)
}

// ---------------------------------------------------------------------------
// Stripe: webhook events
// ---------------------------------------------------------------------------

/// The Stripe event types Augur acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StripeEventKind {
    /// `payment_intent.succeeded`.
    PaymentIntentSucceeded,
    /// `payment_intent.payment_failed`.
    PaymentIntentPaymentFailed,
}

impl StripeEventKind {
    /// The event `type` exactly as Stripe sends it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PaymentIntentSucceeded => "payment_intent.succeeded",
            Self::PaymentIntentPaymentFailed => "payment_intent.payment_failed",
        }
    }

    fn from_type(event_type: &str) -> Option<Self> {
        match event_type {
            "payment_intent.succeeded" => Some(Self::PaymentIntentSucceeded),
            "payment_intent.payment_failed" => Some(Self::PaymentIntentPaymentFailed),
            _ => None,
        }
    }
}

/// A recognised Stripe PaymentIntent event, flattened to what Augur needs.
/// The intent's `client_secret` is deliberately not carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent {
    /// `evt_…` id; callers de-duplicate on it (delivery is at least once).
    pub id: String,
    pub kind: StripeEventKind,
    /// Event creation time, Unix seconds.
    pub created: i64,
    /// False for test-mode events; live handlers should refuse those.
    pub livemode: bool,
    /// `pi_…` id.
    pub intent_id: String,
    pub amount: i64,
    pub amount_received: Option<i64>,
    /// Lower-case ISO currency code.
    pub currency: String,
    /// PaymentIntent status at the time of the event.
    pub status: String,
    pub metadata: BTreeMap<String, String>,
    /// Set on `payment_intent.payment_failed`.
    pub last_payment_error: Option<StripePaymentError>,
}

/// Outcome of parsing a Stripe webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeWebhook {
    /// One of the events in [`StripeEventKind`].
    Event(StripeEvent),
    /// Any other event type; acknowledge it with a 2xx and move on.
    Unrecognized {
        id: String,
        event_type: String,
        created: i64,
    },
}

#[derive(Deserialize)]
struct StripeEnvelope {
    id: String,
    #[serde(default)]
    object: Option<String>,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    #[serde(default)]
    livemode: bool,
    #[serde(default)]
    data: Option<StripeEventData>,
}

#[derive(Deserialize)]
struct StripeEventData {
    object: Value,
}

/// Parses a Stripe webhook body. Call only after [`verify_stripe_webhook`]
/// has accepted the same raw bytes.
pub fn parse_stripe_webhook(raw_body: &[u8]) -> Result<StripeWebhook, ParseError> {
    let envelope: StripeEnvelope = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    if let Some(object) = envelope.object.filter(|o| o != "event") {
        return Err(ParseError::UnexpectedObject {
            expected: "event",
            found: object,
        });
    }
    let Some(kind) = StripeEventKind::from_type(&envelope.event_type) else {
        return Ok(StripeWebhook::Unrecognized {
            id: envelope.id,
            event_type: envelope.event_type,
            created: envelope.created,
        });
    };
    let data = envelope
        .data
        .ok_or(ParseError::MissingEntity("payment_intent"))?;
    let pi = check_payment_intent(serde_json::from_value(data.object).map_err(ParseError::json)?)?;
    Ok(StripeWebhook::Event(StripeEvent {
        id: envelope.id,
        kind,
        created: envelope.created,
        livemode: envelope.livemode,
        intent_id: pi.id,
        amount: pi.amount,
        amount_received: pi.amount_received,
        currency: pi.currency,
        status: pi.status,
        metadata: pi.metadata,
        last_payment_error: pi.last_payment_error,
    }))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected HMACs below were computed independently with Python's `hmac`
    // module (hmac.new(key, msg, hashlib.sha256).hexdigest()), not with this
    // code, and pasted in as literals.

    const RZP_KEY_SECRET: &[u8] = b"augur_rzp_key_secret_7Qm2";
    const RZP_ORDER_ID: &str = "order_Pq4Zs9KxLm2Abc";
    const RZP_PAYMENT_ID: &str = "pay_Pq4aT0LyNn3Bcd";
    const RZP_CHECKOUT_SIG: &str =
        "c69580d91525371c005610a1f936ba8d4c201fa1b4976e3266438ebd2a58b031";

    const RZP_WEBHOOK_SECRET: &[u8] = b"augur_rzp_webhook_secret";
    const RZP_WEBHOOK_BODY: &[u8] = br#"{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_Pq4aT0LyNn3Bcd","amount":49900}}}}"#;
    const RZP_WEBHOOK_SIG: &str =
        "107d00fa713bf1ecc16c3416fecf1b135e1925afd328741c72b705541a85a8f1";

    const STRIPE_SECRET: &str = "whsec_augur_primary";
    const STRIPE_ROTATED_SECRET: &str = "whsec_augur_rotated";
    const STRIPE_TS: i64 = 1_700_000_000;
    const STRIPE_BODY: &[u8] =
        br#"{"id":"evt_1AugurTest","object":"event","type":"payment_intent.succeeded"}"#;
    const STRIPE_SIG_PRIMARY: &str =
        "7aa8f1d54124f8babb29e242e487f463ce274c8131cf1aa4ddd57b74850a531e";
    const STRIPE_SIG_ROTATED: &str =
        "21c99dbc005ceb6e006eb263b97a421034d65c89b4879ac8ea65175b79b722e5";

    /// Flips the lowest bit of the byte at `index`.
    fn flip(bytes: &[u8], index: usize) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[index] ^= 0x01;
        out
    }

    /// Replaces the hex digit at `index` with a different hex digit.
    fn tamper_hex(sig: &str, index: usize) -> String {
        let mut chars: Vec<char> = sig.chars().collect();
        chars[index] = if chars[index] == '0' { '1' } else { '0' };
        chars.into_iter().collect()
    }

    fn stripe_header(ts: i64, sigs: &[&str]) -> String {
        let mut h = format!("t={ts}");
        for s in sigs {
            h.push_str(",v1=");
            h.push_str(s);
        }
        h
    }

    // ---- SignatureError --------------------------------------------------

    #[test]
    fn signature_error_codes_are_stable() {
        assert_eq!(SignatureError::MissingHeader.code(), "signature_missing");
        assert_eq!(SignatureError::Malformed.code(), "signature_malformed");
        assert_eq!(
            SignatureError::TimestampOutsideTolerance.code(),
            "signature_stale"
        );
        assert_eq!(SignatureError::Mismatch.code(), "signature_mismatch");
    }

    // ---- HMAC primitive --------------------------------------------------

    #[test]
    fn hmac_matches_rfc4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            razorpay_webhook_signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    // ---- Razorpay checkout -------------------------------------------------

    #[test]
    fn razorpay_checkout_matches_sdk_fixture() {
        // The fixture used by Razorpay's own Ruby SDK test suite.
        let sig = "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89";
        assert_eq!(
            razorpay_checkout_signature(b"key_secret", "fake_order_id", "fake_payment_id"),
            sig
        );
        assert_eq!(
            verify_razorpay_checkout(b"key_secret", "fake_order_id", "fake_payment_id", sig),
            Ok(())
        );
    }

    #[test]
    fn razorpay_checkout_known_answer() {
        assert_eq!(
            razorpay_checkout_signature(RZP_KEY_SECRET, RZP_ORDER_ID, RZP_PAYMENT_ID),
            RZP_CHECKOUT_SIG
        );
        assert_eq!(
            verify_razorpay_checkout(
                RZP_KEY_SECRET,
                RZP_ORDER_ID,
                RZP_PAYMENT_ID,
                RZP_CHECKOUT_SIG
            ),
            Ok(())
        );
    }

    #[test]
    fn razorpay_checkout_accepts_uppercase_hex_and_surrounding_whitespace() {
        let sig = format!("  {}\n", RZP_CHECKOUT_SIG.to_ascii_uppercase());
        assert_eq!(
            verify_razorpay_checkout(RZP_KEY_SECRET, RZP_ORDER_ID, RZP_PAYMENT_ID, &sig),
            Ok(())
        );
    }

    #[test]
    fn razorpay_checkout_rejects_tampering() {
        for i in [0, 31, 63] {
            assert_eq!(
                verify_razorpay_checkout(
                    RZP_KEY_SECRET,
                    RZP_ORDER_ID,
                    RZP_PAYMENT_ID,
                    &tamper_hex(RZP_CHECKOUT_SIG, i)
                ),
                Err(SignatureError::Mismatch)
            );
        }
        let secret = flip(RZP_KEY_SECRET, 3);
        assert_eq!(
            verify_razorpay_checkout(&secret, RZP_ORDER_ID, RZP_PAYMENT_ID, RZP_CHECKOUT_SIG),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_razorpay_checkout(
                RZP_KEY_SECRET,
                "order_Pq4Zs9KxLm2Abd",
                RZP_PAYMENT_ID,
                RZP_CHECKOUT_SIG
            ),
            Err(SignatureError::Mismatch)
        );
        // Swapping the ids changes the signed message.
        assert_eq!(
            verify_razorpay_checkout(
                RZP_KEY_SECRET,
                RZP_PAYMENT_ID,
                RZP_ORDER_ID,
                RZP_CHECKOUT_SIG
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn razorpay_checkout_rejects_missing_and_malformed_signatures() {
        let verify =
            |sig: &str| verify_razorpay_checkout(RZP_KEY_SECRET, RZP_ORDER_ID, RZP_PAYMENT_ID, sig);
        assert_eq!(verify(""), Err(SignatureError::MissingHeader));
        assert_eq!(verify("   "), Err(SignatureError::MissingHeader));
        assert_eq!(
            verify(&RZP_CHECKOUT_SIG[..62]),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&format!("{RZP_CHECKOUT_SIG}00")),
            Err(SignatureError::Malformed)
        );
        let non_hex = format!("zz{}", &RZP_CHECKOUT_SIG[2..]);
        assert_eq!(verify(&non_hex), Err(SignatureError::Malformed));
    }

    #[test]
    fn razorpay_checkout_refuses_ambiguous_ids() {
        // "a|b" + "c" and "a" + "b|c" sign the same message; both refused.
        let sig = razorpay_checkout_signature(RZP_KEY_SECRET, "order_a", "x|pay_b");
        assert_eq!(
            verify_razorpay_checkout(RZP_KEY_SECRET, "order_a|x", "pay_b", &sig),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_razorpay_checkout(RZP_KEY_SECRET, "", RZP_PAYMENT_ID, RZP_CHECKOUT_SIG),
            Err(SignatureError::Malformed)
        );
    }

    // ---- Razorpay webhook ---------------------------------------------------

    #[test]
    fn razorpay_webhook_known_answer() {
        assert_eq!(
            razorpay_webhook_signature(RZP_WEBHOOK_SECRET, RZP_WEBHOOK_BODY),
            RZP_WEBHOOK_SIG
        );
        assert_eq!(
            verify_razorpay_webhook(RZP_WEBHOOK_SECRET, RZP_WEBHOOK_BODY, RZP_WEBHOOK_SIG),
            Ok(())
        );
    }

    #[test]
    fn razorpay_webhook_rejects_tampering() {
        for i in [0, RZP_WEBHOOK_BODY.len() / 2, RZP_WEBHOOK_BODY.len() - 1] {
            assert_eq!(
                verify_razorpay_webhook(
                    RZP_WEBHOOK_SECRET,
                    &flip(RZP_WEBHOOK_BODY, i),
                    RZP_WEBHOOK_SIG
                ),
                Err(SignatureError::Mismatch),
                "body byte {i}"
            );
        }
        assert_eq!(
            verify_razorpay_webhook(
                RZP_WEBHOOK_SECRET,
                RZP_WEBHOOK_BODY,
                &tamper_hex(RZP_WEBHOOK_SIG, 10)
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_razorpay_webhook(
                &flip(RZP_WEBHOOK_SECRET, 0),
                RZP_WEBHOOK_BODY,
                RZP_WEBHOOK_SIG
            ),
            Err(SignatureError::Mismatch)
        );
        // Re-serialised JSON (here: one added space) is a different body.
        let mut spaced = RZP_WEBHOOK_BODY.to_vec();
        spaced.insert(1, b' ');
        assert_eq!(
            verify_razorpay_webhook(RZP_WEBHOOK_SECRET, &spaced, RZP_WEBHOOK_SIG),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn razorpay_webhook_rejects_missing_and_malformed_header() {
        assert_eq!(
            verify_razorpay_webhook(RZP_WEBHOOK_SECRET, RZP_WEBHOOK_BODY, ""),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            verify_razorpay_webhook(RZP_WEBHOOK_SECRET, RZP_WEBHOOK_BODY, "sha256=abc"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn razorpay_webhook_accepts_any_of_rotated_secrets() {
        let old: &[u8] = RZP_WEBHOOK_SECRET;
        let new: &[u8] = b"augur_rzp_webhook_secret_v2";
        assert_eq!(
            verify_razorpay_webhook_any(&[new, old], RZP_WEBHOOK_BODY, RZP_WEBHOOK_SIG),
            Ok(())
        );
        assert_eq!(
            verify_razorpay_webhook_any(&[new], RZP_WEBHOOK_BODY, RZP_WEBHOOK_SIG),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_razorpay_webhook_any(&[], RZP_WEBHOOK_BODY, RZP_WEBHOOK_SIG),
            Err(SignatureError::Mismatch)
        );
    }

    // ---- Razorpay order request --------------------------------------------

    #[test]
    fn razorpay_order_request_shape() {
        let body = razorpay_order_request(
            49_900,
            "inr",
            "augur_bk_000123",
            &[("booking_id", "bk_000123"), ("consultant_id", "c_42")],
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "amount": 49900,
                "currency": "INR",
                "receipt": "augur_bk_000123",
                "notes": {"booking_id": "bk_000123", "consultant_id": "c_42"}
            })
        );
        // Amount must serialise as a JSON integer, never a string or float.
        assert!(body["amount"].is_i64());
    }

    #[test]
    fn razorpay_order_request_omits_empty_receipt_and_keeps_empty_notes_object() {
        let body = razorpay_order_request(100, "INR", "", &[]).unwrap();
        assert_eq!(body, json!({"amount": 100, "currency": "INR", "notes": {}}));
    }

    #[test]
    fn razorpay_receipt_length_limit() {
        let forty = "r".repeat(40);
        assert!(razorpay_order_request(100, "INR", &forty, &[]).is_ok());
        let forty_one = "r".repeat(41);
        assert_eq!(
            razorpay_order_request(100, "INR", &forty_one, &[]),
            Err(RequestError::ReceiptTooLong { len: 41, max: 40 })
        );
        // The limit is in characters, not UTF-8 bytes (120 bytes here).
        let forty_rupee_signs = "₹".repeat(40);
        assert!(razorpay_order_request(100, "INR", &forty_rupee_signs, &[]).is_ok());
    }

    #[test]
    fn razorpay_order_request_validates_amount_currency_and_notes() {
        assert_eq!(
            razorpay_order_request(0, "INR", "r", &[]),
            Err(RequestError::NonPositiveAmount(0))
        );
        assert_eq!(
            razorpay_order_request(-5, "INR", "r", &[]),
            Err(RequestError::NonPositiveAmount(-5))
        );
        for bad in ["", "IN", "INRR", "1NR", "₹"] {
            assert_eq!(
                razorpay_order_request(100, bad, "r", &[]),
                Err(RequestError::InvalidCurrency(bad.to_owned()))
            );
        }
        let keys: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
        let sixteen: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
        assert_eq!(
            razorpay_order_request(100, "INR", "r", &sixteen),
            Err(RequestError::TooManyEntries { count: 16, max: 15 })
        );
        assert!(razorpay_order_request(100, "INR", "r", &sixteen[..15]).is_ok());
        assert_eq!(
            razorpay_order_request(100, "INR", "r", &[("a", "1"), ("a", "2")]),
            Err(RequestError::InvalidKey { key: "a".into() })
        );
        assert_eq!(
            razorpay_order_request(100, "INR", "r", &[("", "1")]),
            Err(RequestError::InvalidKey { key: String::new() })
        );
        let long = "x".repeat(257);
        assert_eq!(
            razorpay_order_request(100, "INR", "r", &[("k", long.as_str())]),
            Err(RequestError::ValueTooLong {
                key: "k".into(),
                len: 257,
                max: 256
            })
        );
    }

    // ---- Razorpay order response -------------------------------------------

    #[test]
    fn parses_razorpay_order_response() {
        let body = br#"{
            "id": "order_Pq4Zs9KxLm2Abc",
            "entity": "order",
            "amount": 49900,
            "amount_paid": 0,
            "amount_due": 49900,
            "currency": "INR",
            "receipt": "augur_bk_000123",
            "offer_id": null,
            "status": "created",
            "attempts": 0,
            "notes": {"booking_id": "bk_000123"},
            "created_at": 1718000000
        }"#;
        let order = parse_razorpay_order(body).unwrap();
        assert_eq!(
            order,
            RazorpayOrder {
                id: "order_Pq4Zs9KxLm2Abc".into(),
                entity: "order".into(),
                amount: 49_900,
                amount_paid: Some(0),
                amount_due: Some(49_900),
                currency: "INR".into(),
                receipt: Some("augur_bk_000123".into()),
                status: "created".into(),
                created_at: Some(1_718_000_000),
            }
        );
    }

    #[test]
    fn razorpay_order_response_edge_cases() {
        let null_receipt = br#"{"id":"order_X","entity":"order","amount":100,"currency":"INR","receipt":null,"status":"created"}"#;
        assert_eq!(parse_razorpay_order(null_receipt).unwrap().receipt, None);

        let wrong_entity = br#"{"id":"pay_X","entity":"payment","amount":100,"currency":"INR","status":"captured"}"#;
        assert_eq!(
            parse_razorpay_order(wrong_entity),
            Err(ParseError::UnexpectedObject {
                expected: "order",
                found: "payment".into()
            })
        );
        let missing_amount =
            br#"{"id":"order_X","entity":"order","currency":"INR","status":"created"}"#;
        assert!(matches!(
            parse_razorpay_order(missing_amount),
            Err(ParseError::Json(_))
        ));
        // Razorpay's error envelope is not an order.
        let error = br#"{"error":{"code":"BAD_REQUEST_ERROR","description":"bad"}}"#;
        assert!(matches!(
            parse_razorpay_order(error),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            parse_razorpay_order(b"not json"),
            Err(ParseError::Json(_))
        ));
    }

    // ---- Razorpay webhook parsing -------------------------------------------

    const RZP_CAPTURED: &[u8] = br#"{
        "entity": "event",
        "account_id": "acc_AugurTest0001",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {
            "payment": {
                "entity": {
                    "id": "pay_Pq4aT0LyNn3Bcd",
                    "entity": "payment",
                    "amount": 49900,
                    "currency": "INR",
                    "status": "captured",
                    "order_id": "order_Pq4Zs9KxLm2Abc",
                    "method": "upi",
                    "captured": true,
                    "amount_refunded": 0,
                    "error_code": null,
                    "error_description": null,
                    "notes": {"booking_id": "bk_000123", "attempt": 2},
                    "vpa": "someone@okbank",
                    "created_at": 1718000050
                }
            }
        },
        "created_at": 1718000060
    }"#;

    #[test]
    fn parses_razorpay_payment_captured() {
        let RazorpayWebhook::Event(ev) = parse_razorpay_webhook(RZP_CAPTURED).unwrap() else {
            panic!("expected a recognised event");
        };
        assert_eq!(ev.kind, RazorpayEventKind::PaymentCaptured);
        assert_eq!(ev.kind.as_str(), "payment.captured");
        assert_eq!(ev.account_id.as_deref(), Some("acc_AugurTest0001"));
        assert_eq!(ev.created_at, Some(1_718_000_060));
        assert_eq!(ev.payment_id, "pay_Pq4aT0LyNn3Bcd");
        assert_eq!(ev.order_id.as_deref(), Some("order_Pq4Zs9KxLm2Abc"));
        assert_eq!(ev.amount, 49_900);
        assert_eq!(ev.currency, "INR");
        assert_eq!(ev.status, "captured");
        assert_eq!(ev.method.as_deref(), Some("upi"));
        assert_eq!(ev.error_code, None);
        assert_eq!(
            ev.notes.get("booking_id").map(String::as_str),
            Some("bk_000123")
        );
        // Non-string note values are stringified, not rejected.
        assert_eq!(ev.notes.get("attempt").map(String::as_str), Some("2"));
        assert_eq!(ev.order, None);
    }

    #[test]
    fn parses_razorpay_order_paid_with_array_notes() {
        let body = br#"{
            "entity": "event",
            "account_id": "acc_AugurTest0001",
            "event": "order.paid",
            "contains": ["payment", "order"],
            "payload": {
                "payment": {"entity": {
                    "id": "pay_Pq4aT0LyNn3Bcd", "entity": "payment", "amount": 49900,
                    "currency": "INR", "status": "captured",
                    "order_id": "order_Pq4Zs9KxLm2Abc", "method": "card", "notes": []
                }},
                "order": {"entity": {
                    "id": "order_Pq4Zs9KxLm2Abc", "entity": "order", "amount": 49900,
                    "amount_paid": 49900, "amount_due": 0, "currency": "INR",
                    "receipt": "augur_bk_000123", "status": "paid", "attempts": 1,
                    "notes": [], "created_at": 1718000000
                }}
            },
            "created_at": 1718000061
        }"#;
        let RazorpayWebhook::Event(ev) = parse_razorpay_webhook(body).unwrap() else {
            panic!("expected a recognised event");
        };
        assert_eq!(ev.kind, RazorpayEventKind::OrderPaid);
        assert_eq!(ev.order_id.as_deref(), Some("order_Pq4Zs9KxLm2Abc"));
        assert_eq!(ev.payment_id, "pay_Pq4aT0LyNn3Bcd");
        assert_eq!(ev.status, "captured");
        assert!(ev.notes.is_empty());
        let order = ev.order.expect("order entity");
        assert_eq!(order.status, "paid");
        assert_eq!(order.amount_paid, Some(49_900));
        assert_eq!(order.amount_due, Some(0));
        assert_eq!(order.receipt.as_deref(), Some("augur_bk_000123"));
    }

    #[test]
    fn parses_razorpay_payment_failed() {
        let body = br#"{
            "entity": "event",
            "event": "payment.failed",
            "contains": ["payment"],
            "payload": {"payment": {"entity": {
                "id": "pay_Pq4bU1MzOo4Cde", "entity": "payment", "amount": 49900,
                "currency": "INR", "status": "failed", "order_id": "order_Pq4Zs9KxLm2Abc",
                "method": "card", "captured": false,
                "error_code": "BAD_REQUEST_ERROR",
                "error_description": "Payment failed because the card was declined.",
                "error_source": "bank", "error_step": "payment_authorization",
                "error_reason": "payment_declined", "notes": null
            }}},
            "created_at": 1718000070
        }"#;
        let RazorpayWebhook::Event(ev) = parse_razorpay_webhook(body).unwrap() else {
            panic!("expected a recognised event");
        };
        assert_eq!(ev.kind, RazorpayEventKind::PaymentFailed);
        assert_eq!(ev.status, "failed");
        assert_eq!(ev.account_id, None);
        assert_eq!(ev.error_code.as_deref(), Some("BAD_REQUEST_ERROR"));
        assert_eq!(ev.error_reason.as_deref(), Some("payment_declined"));
        assert!(ev.error_description.unwrap().contains("declined"));
        assert!(ev.notes.is_empty());
    }

    #[test]
    fn razorpay_unknown_event_is_a_variant_not_an_error() {
        let body = br#"{"entity":"event","event":"refund.processed","contains":["refund"],"payload":{"refund":{"entity":{"id":"rfnd_X"}}},"created_at":1718000100}"#;
        assert_eq!(
            parse_razorpay_webhook(body),
            Ok(RazorpayWebhook::Unrecognized {
                event: "refund.processed".into()
            })
        );
        // Even payment.authorized, which shares the payment shape, is
        // surfaced as unrecognised: Augur does not act on it.
        let auth = br#"{"entity":"event","event":"payment.authorized","payload":{}}"#;
        assert!(matches!(
            parse_razorpay_webhook(auth),
            Ok(RazorpayWebhook::Unrecognized { .. })
        ));
    }

    #[test]
    fn razorpay_webhook_parse_errors() {
        assert!(matches!(
            parse_razorpay_webhook(b""),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            parse_razorpay_webhook(br#"{"entity":"event"}"#),
            Err(ParseError::Json(_))
        ));
        assert_eq!(
            parse_razorpay_webhook(
                br#"{"entity":"event","event":"payment.captured","payload":{}}"#
            ),
            Err(ParseError::MissingEntity("payment"))
        );
        let no_order = br#"{"event":"order.paid","payload":{"payment":{"entity":{"id":"pay_X","amount":1,"currency":"INR","status":"captured"}}}}"#;
        assert_eq!(
            parse_razorpay_webhook(no_order),
            Err(ParseError::MissingEntity("order"))
        );
        let mismatched = br#"{"event":"order.paid","payload":{
            "payment":{"entity":{"id":"pay_X","amount":1,"currency":"INR","status":"captured","order_id":"order_A"}},
            "order":{"entity":{"id":"order_B","entity":"order","amount":1,"currency":"INR","status":"paid"}}}}"#;
        assert!(matches!(
            parse_razorpay_webhook(mismatched),
            Err(ParseError::Inconsistent(_))
        ));
        let not_event = br#"{"entity":"payment","event":"payment.captured","payload":{}}"#;
        assert_eq!(
            parse_razorpay_webhook(not_event),
            Err(ParseError::UnexpectedObject {
                expected: "event",
                found: "payment".into()
            })
        );
        let string_amount = br#"{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_X","amount":"100","currency":"INR","status":"captured"}}}}"#;
        assert!(matches!(
            parse_razorpay_webhook(string_amount),
            Err(ParseError::Json(_))
        ));
    }

    #[test]
    fn razorpay_verify_then_parse_round_trip() {
        let sig = razorpay_webhook_signature(RZP_WEBHOOK_SECRET, RZP_CAPTURED);
        verify_razorpay_webhook(RZP_WEBHOOK_SECRET, RZP_CAPTURED, &sig).unwrap();
        assert!(matches!(
            parse_razorpay_webhook(RZP_CAPTURED),
            Ok(RazorpayWebhook::Event(_))
        ));
    }

    // ---- Stripe signatures ---------------------------------------------------

    #[test]
    fn stripe_signature_header_known_answer() {
        assert_eq!(
            stripe_signature_header(STRIPE_SECRET, STRIPE_TS, STRIPE_BODY),
            format!("t={STRIPE_TS},v1={STRIPE_SIG_PRIMARY}")
        );
        assert_eq!(
            stripe_signature_header(STRIPE_ROTATED_SECRET, STRIPE_TS, STRIPE_BODY),
            format!("t={STRIPE_TS},v1={STRIPE_SIG_ROTATED}")
        );
    }

    #[test]
    fn stripe_verify_accepts_valid_header() {
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_PRIMARY]);
        assert_eq!(
            verify_stripe_webhook(
                &[STRIPE_SECRET],
                &header,
                STRIPE_BODY,
                STRIPE_TS + 12,
                STRIPE_DEFAULT_TOLERANCE_SECS
            ),
            Ok(STRIPE_TS)
        );
    }

    #[test]
    fn stripe_verify_rejects_tampering() {
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_PRIMARY]);
        let verify = |secret: &str, header: &str, body: &[u8]| {
            verify_stripe_webhook(&[secret], header, body, STRIPE_TS, 300)
        };
        for i in [0, STRIPE_BODY.len() / 2, STRIPE_BODY.len() - 1] {
            assert_eq!(
                verify(STRIPE_SECRET, &header, &flip(STRIPE_BODY, i)),
                Err(SignatureError::Mismatch),
                "body byte {i}"
            );
        }
        let bad_sig = stripe_header(STRIPE_TS, &[&tamper_hex(STRIPE_SIG_PRIMARY, 40)]);
        assert_eq!(
            verify(STRIPE_SECRET, &bad_sig, STRIPE_BODY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_augur_primarz", &header, STRIPE_BODY),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it invalidates the signature.
        let moved = stripe_header(STRIPE_TS + 1, &[STRIPE_SIG_PRIMARY]);
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &moved, STRIPE_BODY, STRIPE_TS, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_tolerance_edges() {
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_PRIMARY]);
        let at = |now: i64| verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, now, 300);
        assert_eq!(at(STRIPE_TS), Ok(STRIPE_TS));
        assert_eq!(at(STRIPE_TS + 300), Ok(STRIPE_TS));
        assert_eq!(
            at(STRIPE_TS + 301),
            Err(SignatureError::TimestampOutsideTolerance)
        );
        // Timestamps from the future are bounded the same way.
        assert_eq!(at(STRIPE_TS - 300), Ok(STRIPE_TS));
        assert_eq!(
            at(STRIPE_TS - 301),
            Err(SignatureError::TimestampOutsideTolerance)
        );
        // Extreme clocks do not overflow.
        assert_eq!(at(i64::MIN), Err(SignatureError::TimestampOutsideTolerance));
        assert_eq!(at(i64::MAX), Err(SignatureError::TimestampOutsideTolerance));
    }

    #[test]
    fn stripe_custom_and_negative_tolerance() {
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_PRIMARY]);
        let verify = |now: i64, tol: i64| {
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, now, tol)
        };
        assert_eq!(verify(STRIPE_TS + 60, 60), Ok(STRIPE_TS));
        assert_eq!(
            verify(STRIPE_TS + 61, 60),
            Err(SignatureError::TimestampOutsideTolerance)
        );
        // Negative tolerance fails closed (treated as zero), never "disabled".
        assert_eq!(verify(STRIPE_TS, -1), Ok(STRIPE_TS));
        assert_eq!(
            verify(STRIPE_TS + 1, -1),
            Err(SignatureError::TimestampOutsideTolerance)
        );
    }

    #[test]
    fn stripe_signature_checked_before_timestamp() {
        // A forged, stale header reports Mismatch, not "stale".
        let forged = stripe_header(STRIPE_TS, &[&tamper_hex(STRIPE_SIG_PRIMARY, 0)]);
        assert_eq!(
            verify_stripe_webhook(
                &[STRIPE_SECRET],
                &forged,
                STRIPE_BODY,
                STRIPE_TS + 10_000,
                300
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_multiple_v1_signatures() {
        // Stripe rolling its secret: one v1 per active secret; we know one.
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_ROTATED, STRIPE_SIG_PRIMARY]);
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
            Ok(STRIPE_TS)
        );
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_PRIMARY, STRIPE_SIG_ROTATED]);
        assert_eq!(
            verify_stripe_webhook(
                &[STRIPE_ROTATED_SECRET],
                &header,
                STRIPE_BODY,
                STRIPE_TS,
                300
            ),
            Ok(STRIPE_TS)
        );
        // None of several v1 values matches.
        let header = stripe_header(
            STRIPE_TS,
            &[&tamper_hex(STRIPE_SIG_PRIMARY, 5), STRIPE_SIG_ROTATED],
        );
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_rotated_secrets_on_our_side() {
        let header = stripe_header(STRIPE_TS, &[STRIPE_SIG_ROTATED]);
        assert_eq!(
            verify_stripe_webhook(
                &[STRIPE_SECRET, STRIPE_ROTATED_SECRET],
                &header,
                STRIPE_BODY,
                STRIPE_TS,
                300
            ),
            Ok(STRIPE_TS)
        );
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe_webhook(&[], &header, STRIPE_BODY, STRIPE_TS, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_ignores_other_schemes_and_tolerates_spacing() {
        let v0 = "6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";
        let header =
            format!("t={STRIPE_TS}, v0={v0}, v1={STRIPE_SIG_PRIMARY}, v2=future-scheme-value");
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
            Ok(STRIPE_TS)
        );
        // Order of elements does not matter.
        let header = format!("v1={STRIPE_SIG_PRIMARY},t={STRIPE_TS}");
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
            Ok(STRIPE_TS)
        );
        // A v0 signature alone is never accepted, even if it is "correct".
        let header = format!("t={STRIPE_TS},v0={STRIPE_SIG_PRIMARY}");
        assert_eq!(
            verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn stripe_rejects_garbled_headers() {
        let sig = STRIPE_SIG_PRIMARY;
        let cases: Vec<(String, SignatureError)> = vec![
            (String::new(), SignatureError::MissingHeader),
            ("  ".into(), SignatureError::MissingHeader),
            (format!("t=abc,v1={sig}"), SignatureError::Malformed),
            (format!("t=,v1={sig}"), SignatureError::Malformed),
            (format!("t=-1700000000,v1={sig}"), SignatureError::Malformed),
            (format!("t=+1700000000,v1={sig}"), SignatureError::Malformed),
            (format!("t=1.7e9,v1={sig}"), SignatureError::Malformed),
            (
                format!("t=99999999999999999999,v1={sig}"),
                SignatureError::Malformed,
            ),
            (format!("v1={sig}"), SignatureError::Malformed),
            (format!("t={STRIPE_TS}"), SignatureError::Malformed),
            (format!("t={STRIPE_TS},v1="), SignatureError::Malformed),
            (format!("t={STRIPE_TS},v1=xyz"), SignatureError::Malformed),
            (
                format!("t={STRIPE_TS},v1={}", &sig[..63]),
                SignatureError::Malformed,
            ),
            (
                format!("t={STRIPE_TS},t={STRIPE_TS},v1={sig}"),
                SignatureError::Malformed,
            ),
            (
                format!("t={STRIPE_TS},,v1={sig}"),
                SignatureError::Malformed,
            ),
            (format!("t={STRIPE_TS};v1={sig}"), SignatureError::Malformed),
            (sig.to_owned(), SignatureError::Malformed),
        ];
        for (header, expected) in cases {
            assert_eq!(
                verify_stripe_webhook(&[STRIPE_SECRET], &header, STRIPE_BODY, STRIPE_TS, 300),
                Err(expected),
                "header {header:?}"
            );
        }
    }

    #[test]
    fn stripe_sign_verify_round_trip_on_realistic_body() {
        let header = stripe_signature_header(STRIPE_SECRET, 1_718_000_500, STRIPE_SUCCEEDED);
        assert_eq!(
            verify_stripe_webhook(
                &[STRIPE_SECRET],
                &header,
                STRIPE_SUCCEEDED,
                1_718_000_520,
                300
            ),
            Ok(1_718_000_500)
        );
    }

    // ---- Stripe PaymentIntent request --------------------------------------

    #[test]
    fn stripe_payment_intent_form_fields() {
        let (fields, key) = stripe_payment_intent_form(
            2_500,
            "usd",
            &[("order_id", "bk_000123"), ("consultant_id", "c_42")],
            "augur-pi-bk_000123-1",
        )
        .unwrap();
        let expected: Vec<(String, String)> = [
            ("amount", "2500"),
            ("currency", "usd"),
            ("automatic_payment_methods[enabled]", "true"),
            ("metadata[order_id]", "bk_000123"),
            ("metadata[consultant_id]", "c_42"),
        ]
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(fields, expected);
        assert_eq!(key, "augur-pi-bk_000123-1");
        assert_eq!(
            form_urlencode(&fields),
            "amount=2500&currency=usd&automatic_payment_methods%5Benabled%5D=true\
             &metadata%5Border_id%5D=bk_000123&metadata%5Bconsultant_id%5D=c_42"
        );
    }

    #[test]
    fn stripe_payment_intent_form_lowercases_currency() {
        let (fields, _) = stripe_payment_intent_form(100, "EUR", &[], "k").unwrap();
        assert_eq!(fields[1], ("currency".to_owned(), "eur".to_owned()));
        assert_eq!(fields.len(), 3);
    }

    #[test]
    fn stripe_payment_intent_form_validation() {
        assert_eq!(
            stripe_payment_intent_form(0, "usd", &[], "k"),
            Err(RequestError::NonPositiveAmount(0))
        );
        assert_eq!(
            stripe_payment_intent_form(100, "us", &[], "k"),
            Err(RequestError::InvalidCurrency("us".into()))
        );
        let invalid_key = Err(RequestError::InvalidIdempotencyKey { max: 255 });
        assert_eq!(stripe_payment_intent_form(100, "usd", &[], ""), invalid_key);
        assert_eq!(
            stripe_payment_intent_form(100, "usd", &[], "has space"),
            invalid_key
        );
        assert_eq!(
            stripe_payment_intent_form(100, "usd", &[], "line\nbreak"),
            invalid_key
        );
        assert_eq!(
            stripe_payment_intent_form(100, "usd", &[], &"k".repeat(256)),
            invalid_key
        );
        assert!(stripe_payment_intent_form(100, "usd", &[], &"k".repeat(255)).is_ok());

        for bad in ["", "a[b]", "x]", "k".repeat(41).as_str()] {
            assert_eq!(
                stripe_payment_intent_form(100, "usd", &[(bad, "v")], "k"),
                Err(RequestError::InvalidKey {
                    key: bad.to_owned()
                })
            );
        }
        assert_eq!(
            stripe_payment_intent_form(100, "usd", &[("a", "1"), ("a", "2")], "k"),
            Err(RequestError::InvalidKey { key: "a".into() })
        );
        let long = "v".repeat(501);
        assert_eq!(
            stripe_payment_intent_form(100, "usd", &[("k", long.as_str())], "k"),
            Err(RequestError::ValueTooLong {
                key: "k".into(),
                len: 501,
                max: 500
            })
        );
        let keys: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
        let many: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
        assert_eq!(
            stripe_payment_intent_form(100, "usd", &many, "k"),
            Err(RequestError::TooManyEntries { count: 51, max: 50 })
        );
        assert!(stripe_payment_intent_form(100, "usd", &many[..50], "k").is_ok());
    }

    #[test]
    fn form_urlencode_escapes_reserved_and_non_ascii() {
        let fields = vec![
            ("metadata[note]".to_owned(), "a b&c=d+e/ü*-._~".to_owned()),
            ("empty".to_owned(), String::new()),
        ];
        assert_eq!(
            form_urlencode(&fields),
            "metadata%5Bnote%5D=a+b%26c%3Dd%2Be%2F%C3%BC*-._%7E&empty="
        );
        assert_eq!(form_urlencode(&[]), "");
    }

    // ---- Stripe PaymentIntent response -------------------------------------

    #[test]
    fn parses_stripe_payment_intent_response_and_redacts_secret_in_debug() {
        let body = br#"{
            "id": "pi_3AugurTestIntent01",
            "object": "payment_intent",
            "amount": 2500,
            "amount_received": 0,
            "automatic_payment_methods": {"enabled": true},
            "client_secret": "pi_3AugurTestIntent01_secret_DoNotLog42",
            "currency": "usd",
            "livemode": false,
            "metadata": {"order_id": "bk_000123"},
            "status": "requires_payment_method",
            "last_payment_error": null
        }"#;
        let pi = parse_stripe_payment_intent(body).unwrap();
        assert_eq!(pi.id, "pi_3AugurTestIntent01");
        assert_eq!(pi.amount, 2_500);
        assert_eq!(pi.amount_received, Some(0));
        assert_eq!(pi.currency, "usd");
        assert_eq!(pi.status, "requires_payment_method");
        assert_eq!(
            pi.client_secret.as_deref(),
            Some("pi_3AugurTestIntent01_secret_DoNotLog42")
        );
        assert_eq!(
            pi.metadata.get("order_id").map(String::as_str),
            Some("bk_000123")
        );
        assert_eq!(pi.last_payment_error, None);
        let debug = format!("{pi:?}");
        assert!(!debug.contains("DoNotLog42"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn stripe_payment_intent_response_errors() {
        let wrong = br#"{"id":"seti_X","object":"setup_intent","amount":1,"currency":"usd","status":"succeeded"}"#;
        assert_eq!(
            parse_stripe_payment_intent(wrong),
            Err(ParseError::UnexpectedObject {
                expected: "payment_intent",
                found: "setup_intent".into()
            })
        );
        let api_error =
            br#"{"error":{"type":"invalid_request_error","message":"Invalid currency"}}"#;
        assert!(matches!(
            parse_stripe_payment_intent(api_error),
            Err(ParseError::Json(_))
        ));
        let null_metadata = br#"{"id":"pi_X","object":"payment_intent","amount":1,"currency":"usd","status":"processing","metadata":null}"#;
        assert!(
            parse_stripe_payment_intent(null_metadata)
                .unwrap()
                .metadata
                .is_empty()
        );
    }

    // ---- Stripe webhook parsing --------------------------------------------

    const STRIPE_SUCCEEDED: &[u8] = br#"{
        "id": "evt_3AugurTestEvent01",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1718000500,
        "data": {"object": {
            "id": "pi_3AugurTestIntent01",
            "object": "payment_intent",
            "amount": 2500,
            "amount_received": 2500,
            "client_secret": "pi_3AugurTestIntent01_secret_DoNotLog42",
            "currency": "usd",
            "metadata": {"order_id": "bk_000123", "consultant_id": "c_42"},
            "status": "succeeded",
            "last_payment_error": null
        }},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": "req_AugurTest", "idempotency_key": "augur-pi-bk_000123-1"},
        "type": "payment_intent.succeeded"
    }"#;

    #[test]
    fn parses_stripe_payment_intent_succeeded() {
        let StripeWebhook::Event(ev) = parse_stripe_webhook(STRIPE_SUCCEEDED).unwrap() else {
            panic!("expected a recognised event");
        };
        let metadata: BTreeMap<String, String> =
            [("consultant_id", "c_42"), ("order_id", "bk_000123")]
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(
            ev,
            StripeEvent {
                id: "evt_3AugurTestEvent01".into(),
                kind: StripeEventKind::PaymentIntentSucceeded,
                created: 1_718_000_500,
                livemode: false,
                intent_id: "pi_3AugurTestIntent01".into(),
                amount: 2_500,
                amount_received: Some(2_500),
                currency: "usd".into(),
                status: "succeeded".into(),
                metadata,
                last_payment_error: None,
            }
        );
        assert_eq!(ev.kind.as_str(), "payment_intent.succeeded");
        assert!(!format!("{ev:?}").contains("DoNotLog42"));
    }

    #[test]
    fn parses_stripe_payment_intent_payment_failed() {
        let body = br#"{
            "id": "evt_3AugurTestEvent02",
            "object": "event",
            "created": 1718000600,
            "livemode": true,
            "type": "payment_intent.payment_failed",
            "data": {"object": {
                "id": "pi_3AugurTestIntent02",
                "object": "payment_intent",
                "amount": 4000,
                "amount_received": 0,
                "currency": "usd",
                "metadata": {"order_id": "bk_000124"},
                "status": "requires_payment_method",
                "last_payment_error": {
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                    "type": "card_error"
                }
            }}
        }"#;
        let StripeWebhook::Event(ev) = parse_stripe_webhook(body).unwrap() else {
            panic!("expected a recognised event");
        };
        assert_eq!(ev.kind, StripeEventKind::PaymentIntentPaymentFailed);
        assert!(ev.livemode);
        assert_eq!(ev.intent_id, "pi_3AugurTestIntent02");
        assert_eq!(ev.status, "requires_payment_method");
        assert_eq!(
            ev.metadata.get("order_id").map(String::as_str),
            Some("bk_000124")
        );
        let err = ev.last_payment_error.unwrap();
        assert_eq!(err.code.as_deref(), Some("card_declined"));
        assert_eq!(err.decline_code.as_deref(), Some("insufficient_funds"));
    }

    #[test]
    fn stripe_unknown_event_type_is_a_variant_not_an_error() {
        let body = br#"{"id":"evt_X","object":"event","created":1718000700,"livemode":false,
            "type":"charge.refunded","data":{"object":{"id":"ch_X","object":"charge"}}}"#;
        assert_eq!(
            parse_stripe_webhook(body),
            Ok(StripeWebhook::Unrecognized {
                id: "evt_X".into(),
                event_type: "charge.refunded".into(),
                created: 1_718_000_700
            })
        );
    }

    #[test]
    fn stripe_webhook_parse_errors() {
        assert!(matches!(
            parse_stripe_webhook(b"{}"),
            Err(ParseError::Json(_))
        ));
        let no_data =
            br#"{"id":"evt_X","object":"event","created":1,"type":"payment_intent.succeeded"}"#;
        assert_eq!(
            parse_stripe_webhook(no_data),
            Err(ParseError::MissingEntity("payment_intent"))
        );
        let wrong_object = br#"{"id":"evt_X","object":"event","created":1,"type":"payment_intent.succeeded",
            "data":{"object":{"id":"ch_X","object":"charge","amount":1,"currency":"usd","status":"succeeded"}}}"#;
        assert_eq!(
            parse_stripe_webhook(wrong_object),
            Err(ParseError::UnexpectedObject {
                expected: "payment_intent",
                found: "charge".into()
            })
        );
        let not_event = br#"{"id":"pi_X","object":"payment_intent","created":1,"type":"payment_intent.succeeded"}"#;
        assert_eq!(
            parse_stripe_webhook(not_event),
            Err(ParseError::UnexpectedObject {
                expected: "event",
                found: "payment_intent".into()
            })
        );
    }
}
