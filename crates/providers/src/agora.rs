//! Agora AccessToken2 (token version "007") for the RTC service.
//!
//! This module owns everything the server needs to mint and check the
//! short-lived tokens that let a consultation's participants join an Agora
//! voice/video channel:
//!
//! * input validation (app id / certificate shape, channel name and user
//!   account rules from Agora's RTC documentation, expiry bounds),
//! * the binary layout of an AccessToken2 and its HMAC-SHA256 signature,
//! * the outer encoding (`"007"` + base64(zlib(signature ‖ content))),
//! * parsing a token back, verifying its signature with the app certificate
//!   and checking its expiry against a caller-supplied clock.
//!
//! It performs no I/O and reads no clock or RNG itself: the caller passes
//! `issued_at` (unix seconds) and a random `salt`, so building is a pure,
//! deterministic function that tests can pin to Agora's published vectors.
//!
//! Wire format (all integers little-endian, strings are a `u16` byte length
//! followed by the bytes):
//!
//! ```text
//! token   = "007" ‖ base64_std(zlib(pack_str(signature) ‖ content))
//! content = pack_str(app_id) ‖ u32 issued_at ‖ u32 expire ‖ u32 salt
//!         ‖ u16 service_count ‖ service*
//! rtc     = u16 1 ‖ u16 n ‖ (u16 privilege ‖ u32 expire)*n   (ascending keys)
//!         ‖ pack_str(channel) ‖ pack_str(uid)                (uid 0 → "")
//! key     = HMAC(salt_le, HMAC(issued_at_le, app_certificate))
//! signature = HMAC(key, content)
//! ```
//!
//! `expire` values are *durations in seconds relative to `issued_at`*, not
//! absolute timestamps; that is how the 007 format differs from the older 006.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Version prefix of every AccessToken2 string.
pub const TOKEN_VERSION: &str = "007";

/// Service type number of RTC (voice/video) inside an AccessToken2.
pub const SERVICE_TYPE_RTC: u16 = 1;

/// Agora caps token and privilege lifetimes at 24 hours.
pub const MAX_EXPIRE_SECS: u32 = 24 * 60 * 60;

/// Agora's RTC docs say a channel name "must be less than 64 bytes".
pub const MAX_CHANNEL_NAME_BYTES: usize = 63;

/// Agora's docs cap a string user account at 255 bytes.
pub const MAX_USER_ACCOUNT_BYTES: usize = 255;

/// Real tokens are a few hundred characters; the cap only stops a hostile
/// input from making us base64-decode or inflate something huge.
const MAX_TOKEN_CHARS: usize = 8 * 1024;
const MAX_INFLATED_BYTES: u64 = 16 * 1024;

/// Length of an HMAC-SHA256 output.
const SIGNATURE_LEN: usize = 32;

/// Why a token could not be built, parsed or accepted.
///
/// Messages never include the app certificate or token contents, so they are
/// safe to log.
#[derive(Debug, thiserror::Error)]
pub enum AgoraError {
    #[error("Agora app id must be 32 hexadecimal characters")]
    InvalidAppId,
    #[error("Agora app certificate must be 32 hexadecimal characters")]
    InvalidAppCertificate,
    #[error("invalid Agora channel name: {0}")]
    InvalidChannelName(&'static str),
    #[error("invalid Agora user account: {0}")]
    InvalidUserAccount(&'static str),
    #[error("invalid token expiry: {0}")]
    InvalidExpiry(&'static str),
    #[error("token compression failed")]
    Compression(#[source] std::io::Error),
    #[error("token does not start with version \"007\"")]
    UnsupportedVersion,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token signature does not match the app certificate")]
    BadSignature,
    #[error("token contains unsupported service type {0}")]
    UnsupportedService(u16),
    #[error("token was issued for a different app id")]
    AppIdMismatch,
    #[error("token expired at unix time {expired_at}")]
    Expired { expired_at: u64 },
}

/// RTC privileges and their numeric ids in the token's privilege map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
pub enum RtcPrivilege {
    JoinChannel = 1,
    PublishAudioStream = 2,
    PublishVideoStream = 3,
    PublishDataStream = 4,
}

impl RtcPrivilege {
    pub const fn id(self) -> u16 {
        self as u16
    }
}

/// Which privileges a participant gets.
///
/// Agora only enforces the publish privileges when "co-host authentication"
/// is enabled for the project; otherwise a subscriber can still publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcRole {
    /// Join plus publish audio, video and data streams (a consultation party).
    Publisher,
    /// Join only (an observer).
    Subscriber,
}

impl RtcRole {
    pub fn privileges(self) -> &'static [RtcPrivilege] {
        match self {
            RtcRole::Publisher => &[
                RtcPrivilege::JoinChannel,
                RtcPrivilege::PublishAudioStream,
                RtcPrivilege::PublishVideoStream,
                RtcPrivilege::PublishDataStream,
            ],
            RtcRole::Subscriber => &[RtcPrivilege::JoinChannel],
        }
    }
}

/// The identity a token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcUser<'a> {
    /// Numeric Agora uid. `0` produces a token any uid may use (Agora encodes
    /// it as an empty uid string).
    Uid(u32),
    /// String user account (Agora "user account" join APIs).
    Account(&'a str),
}

/// Everything needed to build one RTC token.
///
/// `Debug` is implemented by hand so that logging a request never prints the
/// app certificate.
#[derive(Clone, Copy)]
pub struct RtcTokenRequest<'a> {
    pub app_id: &'a str,
    pub app_certificate: &'a str,
    pub channel: &'a str,
    pub user: RtcUser<'a>,
    pub role: RtcRole,
    /// Whole-token lifetime in seconds after `issued_at` (1..=86400).
    pub token_expire_secs: u32,
    /// Lifetime of each granted privilege in seconds after `issued_at`
    /// (1..=`token_expire_secs`; Agora would cap it at the token's lifetime
    /// anyway, so a larger value is rejected as a caller bug).
    pub privilege_expire_secs: u32,
    /// Unix seconds from the server clock.
    pub issued_at: u32,
    /// Random per-token value (e.g. `rand::random::<u32>()`); it makes two
    /// tokens issued in the same second differ.
    pub salt: u32,
}

impl std::fmt::Debug for RtcTokenRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcTokenRequest")
            .field("app_id", &self.app_id)
            .field("app_certificate", &"<redacted>")
            .field("channel", &self.channel)
            .field("user", &self.user)
            .field("role", &self.role)
            .field("token_expire_secs", &self.token_expire_secs)
            .field("privilege_expire_secs", &self.privilege_expire_secs)
            .field("issued_at", &self.issued_at)
            .field("salt", &self.salt)
            .finish()
    }
}

/// Builds an AccessToken2 RTC token string (`"007…"`).
pub fn build_rtc_token(req: &RtcTokenRequest<'_>) -> Result<String, AgoraError> {
    validate_credentials(req.app_id, req.app_certificate)?;
    validate_channel_name(req.channel)?;
    let uid = user_to_wire(req.user)?;
    validate_expiry(req.token_expire_secs, req.privilege_expire_secs)?;

    let privileges: BTreeMap<u16, u32> = req
        .role
        .privileges()
        .iter()
        .map(|p| (p.id(), req.privilege_expire_secs))
        .collect();

    let mut content = Packer::default();
    content.str(req.app_id)?;
    content.u32(req.issued_at);
    content.u32(req.token_expire_secs);
    content.u32(req.salt);
    content.u16(1); // one service: RTC
    content.u16(SERVICE_TYPE_RTC);
    content.privileges(&privileges)?;
    content.str(req.channel)?;
    content.str(&uid)?;
    let content = content.into_bytes();

    let signature = sign(req.app_certificate, req.issued_at, req.salt, &content);

    let mut payload = Packer::default();
    payload.bytes(&signature)?;
    let mut payload = payload.into_bytes();
    payload.extend_from_slice(&content);

    // Level 6 (zlib's default) is what Agora's reference builders use; the
    // server only needs any valid zlib stream, but matching the level keeps
    // our output identical to the reference tokens with a zlib-compatible
    // backend.
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(6));
    encoder
        .write_all(&payload)
        .map_err(AgoraError::Compression)?;
    let compressed = encoder.finish().map_err(AgoraError::Compression)?;

    Ok(format!("{TOKEN_VERSION}{}", BASE64.encode(compressed)))
}

/// One RTC grant decoded from a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcService {
    pub channel: String,
    /// The uid or account the token is bound to; empty means "any uid".
    pub uid: String,
    /// Privilege id → lifetime in seconds after `issued_at`.
    pub privileges: BTreeMap<u16, u32>,
}

impl RtcService {
    pub fn privilege_expire_secs(&self, privilege: RtcPrivilege) -> Option<u32> {
        self.privileges.get(&privilege.id()).copied()
    }
}

/// A service decoded from a token. Only RTC is understood; tokens carrying
/// other services are rejected by the parser because their per-service
/// fields differ and cannot be skipped without knowing the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParsedService {
    Rtc(RtcService),
}

/// A token whose signature has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken {
    pub app_id: String,
    pub issued_at: u32,
    /// Whole-token lifetime in seconds after `issued_at`.
    pub expire_secs: u32,
    pub salt: u32,
    pub services: Vec<ParsedService>,
}

impl ParsedToken {
    /// Unix time at which the whole token stops being accepted. `u64` because
    /// `issued_at + expire_secs` can exceed `u32::MAX` in a crafted token.
    pub fn expires_at(&self) -> u64 {
        u64::from(self.issued_at) + u64::from(self.expire_secs)
    }

    /// Agora treats a token as expired once `now` reaches `expires_at`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at()
    }

    /// The first RTC grant, which is the only one our builder emits.
    pub fn rtc(&self) -> Option<&RtcService> {
        // Written as a match so that adding a service variant forces this to
        // be revisited.
        self.services
            .iter()
            .map(|s| match s {
                ParsedService::Rtc(rtc) => rtc,
            })
            .next()
    }
}

/// Decodes a token and verifies its signature with `app_certificate`.
///
/// Does not look at the clock; see [`verify_rtc_token`] for the full check.
pub fn parse_token(token: &str, app_certificate: &str) -> Result<ParsedToken, AgoraError> {
    if !is_hex32(app_certificate) {
        return Err(AgoraError::InvalidAppCertificate);
    }
    let (signature, content) = decode_envelope(token)?;

    // The fixed header is read before checking the signature because the
    // signing key is derived from its issued_at and salt.
    let mut reader = Reader::new(&content);
    let app_id = reader.string()?;
    let issued_at = reader.u32()?;
    let expire_secs = reader.u32()?;
    let salt = reader.u32()?;

    let mut mac = signing_mac(app_certificate, issued_at, salt);
    mac.update(&content);
    // verify_slice compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| AgoraError::BadSignature)?;

    // Only signed bytes are interpreted beyond this point.
    let service_count = reader.u16()?;
    let mut services = Vec::with_capacity(usize::from(service_count).min(8));
    for _ in 0..service_count {
        match reader.u16()? {
            SERVICE_TYPE_RTC => {
                let privileges = reader.privileges()?;
                let channel = reader.string()?;
                let uid = reader.string()?;
                services.push(ParsedService::Rtc(RtcService {
                    channel,
                    uid,
                    privileges,
                }));
            }
            other => return Err(AgoraError::UnsupportedService(other)),
        }
    }
    if !reader.is_empty() {
        return Err(AgoraError::Malformed("trailing bytes after services"));
    }

    Ok(ParsedToken {
        app_id,
        issued_at,
        expire_secs,
        salt,
        services,
    })
}

/// Full server-side check: signature, app id, presence of an RTC grant and
/// whole-token expiry at `now` (unix seconds). Per-privilege lifetimes are
/// left to the caller via [`RtcService::privilege_expire_secs`]. A token
/// issued "in the future" is not rejected, so modest clock skew between
/// server instances does not break freshly issued tokens.
pub fn verify_rtc_token(
    token: &str,
    app_id: &str,
    app_certificate: &str,
    now: u64,
) -> Result<ParsedToken, AgoraError> {
    let parsed = parse_token(token, app_certificate)?;
    if parsed.app_id != app_id {
        return Err(AgoraError::AppIdMismatch);
    }
    if parsed.is_expired(now) {
        return Err(AgoraError::Expired {
            expired_at: parsed.expires_at(),
        });
    }
    if parsed.rtc().is_none() {
        return Err(AgoraError::Malformed("token grants no RTC service"));
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn validate_credentials(app_id: &str, app_certificate: &str) -> Result<(), AgoraError> {
    if !is_hex32(app_id) {
        return Err(AgoraError::InvalidAppId);
    }
    if !is_hex32(app_certificate) {
        return Err(AgoraError::InvalidAppCertificate);
    }
    Ok(())
}

/// The 89 characters Agora documents for channel names and user accounts:
/// ASCII letters, digits, space and ``!#$%&()+-:;<=.>?@[]^_{}|~,``.
fn is_agora_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" !#$%&()+-:;<=.>?@[]^_{}|~,".contains(&b)
}

fn validate_channel_name(channel: &str) -> Result<(), AgoraError> {
    if channel.is_empty() {
        return Err(AgoraError::InvalidChannelName("empty"));
    }
    if channel.len() > MAX_CHANNEL_NAME_BYTES {
        return Err(AgoraError::InvalidChannelName("longer than 63 bytes"));
    }
    if !channel.bytes().all(is_agora_name_char) {
        return Err(AgoraError::InvalidChannelName(
            "character outside Agora's allowed set",
        ));
    }
    Ok(())
}

fn user_to_wire(user: RtcUser<'_>) -> Result<String, AgoraError> {
    match user {
        // Agora's convention: uid 0 ("any uid") is written as an empty string,
        // not "0"; the reference vectors depend on it.
        RtcUser::Uid(0) => Ok(String::new()),
        RtcUser::Uid(uid) => Ok(uid.to_string()),
        RtcUser::Account(account) => {
            // An empty account would silently mean "any uid"; callers that
            // want that must say so with `RtcUser::Uid(0)`.
            if account.is_empty() {
                return Err(AgoraError::InvalidUserAccount("empty"));
            }
            if account.len() > MAX_USER_ACCOUNT_BYTES {
                return Err(AgoraError::InvalidUserAccount("longer than 255 bytes"));
            }
            if !account.bytes().all(is_agora_name_char) {
                return Err(AgoraError::InvalidUserAccount(
                    "character outside Agora's allowed set",
                ));
            }
            Ok(account.to_owned())
        }
    }
}

fn validate_expiry(token_expire_secs: u32, privilege_expire_secs: u32) -> Result<(), AgoraError> {
    if token_expire_secs == 0 || token_expire_secs > MAX_EXPIRE_SECS {
        return Err(AgoraError::InvalidExpiry(
            "token lifetime must be 1..=86400 seconds",
        ));
    }
    if privilege_expire_secs == 0 || privilege_expire_secs > token_expire_secs {
        return Err(AgoraError::InvalidExpiry(
            "privilege lifetime must be 1..=token lifetime",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------

/// HMAC keyed with the per-token signing key. The certificate is used as its
/// ASCII text, not hex-decoded, exactly as Agora's builders do.
fn signing_mac(app_certificate: &str, issued_at: u32, salt: u32) -> HmacSha256 {
    let mut step = new_mac(&issued_at.to_le_bytes());
    step.update(app_certificate.as_bytes());
    let first = step.finalize().into_bytes();

    let mut step = new_mac(&salt.to_le_bytes());
    step.update(&first);
    let key = step.finalize().into_bytes();

    new_mac(&key)
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

fn sign(app_certificate: &str, issued_at: u32, salt: u32, content: &[u8]) -> [u8; SIGNATURE_LEN] {
    let mut mac = signing_mac(app_certificate, issued_at, salt);
    mac.update(content);
    mac.finalize().into_bytes().into()
}

// ---------------------------------------------------------------------------
// Envelope and binary packing
// ---------------------------------------------------------------------------

/// Strips the version, base64 and zlib layers and splits off the signature.
fn decode_envelope(token: &str) -> Result<(Vec<u8>, Vec<u8>), AgoraError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(AgoraError::Malformed("token too long"));
    }
    let body = token
        .strip_prefix(TOKEN_VERSION)
        .ok_or(AgoraError::UnsupportedVersion)?;
    let compressed = BASE64
        .decode(body)
        .map_err(|_| AgoraError::Malformed("invalid base64"))?;

    let mut inflated = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| AgoraError::Malformed("invalid zlib stream"))?;
    if inflated.len() as u64 > MAX_INFLATED_BYTES {
        return Err(AgoraError::Malformed("inflated token too large"));
    }

    let mut reader = Reader::new(&inflated);
    let signature = reader.bytes()?.to_vec();
    if signature.len() != SIGNATURE_LEN {
        return Err(AgoraError::Malformed("signature is not 32 bytes"));
    }
    let content = reader.rest().to_vec();
    Ok((signature, content))
}

#[derive(Default)]
struct Packer {
    buf: Vec<u8>,
}

impl Packer {
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, v: &[u8]) -> Result<(), AgoraError> {
        let len = u16::try_from(v.len()).map_err(|_| AgoraError::Malformed("field too long"))?;
        self.u16(len);
        self.buf.extend_from_slice(v);
        Ok(())
    }

    fn str(&mut self, v: &str) -> Result<(), AgoraError> {
        self.bytes(v.as_bytes())
    }

    /// BTreeMap iteration is ascending, which is the order Agora's builders
    /// sort privilege keys into; the signature depends on it.
    fn privileges(&mut self, map: &BTreeMap<u16, u32>) -> Result<(), AgoraError> {
        let len =
            u16::try_from(map.len()).map_err(|_| AgoraError::Malformed("too many privileges"))?;
        self.u16(len);
        for (&key, &expire) in map {
            self.u16(key);
            self.u32(expire);
        }
        Ok(())
    }

    fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AgoraError> {
        if self.buf.len() < n {
            return Err(AgoraError::Malformed("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, AgoraError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, AgoraError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], AgoraError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    fn string(&mut self) -> Result<String, AgoraError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| AgoraError::Malformed("string is not UTF-8"))
    }

    fn privileges(&mut self) -> Result<BTreeMap<u16, u32>, AgoraError> {
        let count = self.u16()?;
        let mut map = BTreeMap::new();
        for _ in 0..count {
            let key = self.u16()?;
            let expire = self.u32()?;
            if map.insert(key, expire).is_some() {
                return Err(AgoraError::Malformed("duplicate privilege"));
            }
        }
        Ok(map)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Inputs shared by Agora's reference unit tests (AgoraIO/Tools,
    // DynamicKey/AgoraDynamicKey/python3/test/AccessToken2Test.py and
    // go/src/accesstoken2/accesstoken_test.go).
    const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
    const APP_CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
    const CHANNEL: &str = "7d72365eb983485397e3e3f9d460bdda";
    const UID: u32 = 2882341273;
    const EXPIRE: u32 = 600;
    const ISSUE_TS: u32 = 1111111;
    const SALT: u32 = 1;

    /// python3 test_service_rtc: uid 2882341273, join-channel privilege 600 s.
    /// Its test_service_rtc_account (account "2882341273") expects the same.
    const PY_RTC_UID: &str = concat!(
        "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw",
        "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj",
    );

    /// python3 test_service_rtc_uid_0: uid 0, join-channel privilege 600 s.
    const PY_RTC_UID0: &str = concat!(
        "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw",
        "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=",
    );

    /// go Test_AccessToken_Build_ServiceRtc: same grant as PY_RTC_UID, but
    /// Go's compressor emitted a sync-flush block, so only the inflated bytes
    /// (not the string) match the Python token.
    const GO_RTC_UID: &str = concat!(
        "007eJxSYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw",
        "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxoAAAAD/",
        "/8JqJOM=",
    );

    /// go Test_AccessToken_Parse_TokenRtc_Rtm_MultiService_FromPython: an RTC
    /// service with all four privileges (600 s) plus an RTM service for
    /// "test_user".
    const PY_RTC_RTM: &str = concat!(
        "007eJxTYOAQsrQ5s3TfH+1tvy8zZZ46EpCc0V43JXdGd2jS8porKo4KDJbmBs6OxqYpqWYGySYmZiamSUmJqRaJRoam",
        "BmaGScbG7l8EGCKYGBgYGRgYmIAkCxCD+ExgkhlMsoBJBQbzFHMjYzPT1CRLC2MTC1NjS/NU41TjNMsUEzODpJSURC4G",
        "IwsLI2MTQyNzY5BZEJM4GUpSi0viS4tTiwAipyp4",
    );

    fn request(user: RtcUser<'static>, role: RtcRole) -> RtcTokenRequest<'static> {
        RtcTokenRequest {
            app_id: APP_ID,
            app_certificate: APP_CERT,
            channel: CHANNEL,
            user,
            role,
            token_expire_secs: EXPIRE,
            privilege_expire_secs: EXPIRE,
            issued_at: ISSUE_TS,
            salt: SALT,
        }
    }

    /// Inflated `pack_str(signature) ‖ content` of a token.
    fn inflate(token: &str) -> Vec<u8> {
        let compressed = BASE64.decode(&token[TOKEN_VERSION.len()..]).unwrap();
        let mut out = Vec::new();
        ZlibDecoder::new(compressed.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Re-wraps an (edited) inflated payload into a token string.
    fn wrap(payload: &[u8]) -> String {
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(payload).unwrap();
        format!("{TOKEN_VERSION}{}", BASE64.encode(enc.finish().unwrap()))
    }

    #[test]
    fn reference_vector_uid_decoded_bytes_match() {
        let ours = build_rtc_token(&request(RtcUser::Uid(UID), RtcRole::Subscriber)).unwrap();
        assert_eq!(inflate(&ours), inflate(PY_RTC_UID));
        // Go's differently-compressed token carries the very same bytes.
        assert_eq!(inflate(GO_RTC_UID), inflate(PY_RTC_UID));
    }

    #[test]
    fn reference_vector_uid0_decoded_bytes_match() {
        let ours = build_rtc_token(&request(RtcUser::Uid(0), RtcRole::Subscriber)).unwrap();
        assert_eq!(inflate(&ours), inflate(PY_RTC_UID0));
    }

    #[test]
    fn reference_vector_account_decoded_bytes_match() {
        let ours = build_rtc_token(&request(
            RtcUser::Account("2882341273"),
            RtcRole::Subscriber,
        ))
        .unwrap();
        assert_eq!(inflate(&ours), inflate(PY_RTC_UID));
    }

    #[test]
    fn reference_vectors_exact_strings() {
        let uid = build_rtc_token(&request(RtcUser::Uid(UID), RtcRole::Subscriber)).unwrap();
        let uid0 = build_rtc_token(&request(RtcUser::Uid(0), RtcRole::Subscriber)).unwrap();
        let account = build_rtc_token(&request(
            RtcUser::Account("2882341273"),
            RtcRole::Subscriber,
        ))
        .unwrap();
        // The server links flate2's zlib-rs backend, whose level-6 stream is
        // byte-identical to zlib's, so Agora's published strings must match exactly.
        assert_eq!(uid, PY_RTC_UID);
        assert_eq!(uid0, PY_RTC_UID0);
        assert_eq!(account, PY_RTC_UID);
    }

    #[test]
    fn parses_reference_tokens_from_python_and_go() {
        for token in [PY_RTC_UID, GO_RTC_UID] {
            let parsed = parse_token(token, APP_CERT).unwrap();
            assert_eq!(parsed.app_id, APP_ID);
            assert_eq!(parsed.issued_at, ISSUE_TS);
            assert_eq!(parsed.expire_secs, EXPIRE);
            assert_eq!(parsed.salt, SALT);
            assert_eq!(parsed.services.len(), 1);
            let rtc = parsed.rtc().unwrap();
            assert_eq!(rtc.channel, CHANNEL);
            assert_eq!(rtc.uid, "2882341273");
            assert_eq!(rtc.privileges, BTreeMap::from([(1, EXPIRE)]));
        }
    }

    #[test]
    fn publisher_rtc_section_matches_reference_multi_service_token() {
        // The multi-service token is signed over RTC + RTM; its signature must
        // verify before the parser reaches the RTM service it does not model.
        assert!(matches!(
            parse_token(PY_RTC_RTM, APP_CERT),
            Err(AgoraError::UnsupportedService(2))
        ));
        assert!(matches!(
            parse_token(PY_RTC_RTM, "00000000000000000000000000000000"),
            Err(AgoraError::BadSignature)
        ));

        // Its RTC service bytes must equal what we emit for a publisher.
        let ours =
            inflate(&build_rtc_token(&request(RtcUser::Uid(UID), RtcRole::Publisher)).unwrap());
        let theirs = inflate(PY_RTC_RTM);
        // Skip pack_str(signature) and the header up to the service count.
        let header = 2 + SIGNATURE_LEN + 2 + APP_ID.len() + 4 + 4 + 4;
        assert_eq!(&theirs[header..header + 2], &2u16.to_le_bytes());
        assert_eq!(&ours[header..header + 2], &1u16.to_le_bytes());
        let rtc = &ours[header + 2..];
        assert_eq!(&theirs[header + 2..header + 2 + rtc.len()], rtc);
    }

    #[test]
    fn round_trip_publisher_and_subscriber() {
        for role in [RtcRole::Publisher, RtcRole::Subscriber] {
            let mut req = request(RtcUser::Uid(42), role);
            req.token_expire_secs = 3600;
            req.privilege_expire_secs = 1800;
            req.issued_at = 1_700_000_000;
            req.salt = 0xdead_beef;
            let token = build_rtc_token(&req).unwrap();
            let parsed = parse_token(&token, APP_CERT).unwrap();
            assert_eq!(parsed.app_id, APP_ID);
            assert_eq!(parsed.issued_at, 1_700_000_000);
            assert_eq!(parsed.expire_secs, 3600);
            assert_eq!(parsed.salt, 0xdead_beef);
            let rtc = parsed.rtc().unwrap();
            assert_eq!(rtc.channel, CHANNEL);
            assert_eq!(rtc.uid, "42");
            let expected: BTreeMap<u16, u32> =
                role.privileges().iter().map(|p| (p.id(), 1800)).collect();
            assert_eq!(rtc.privileges, expected);
            assert_eq!(
                rtc.privilege_expire_secs(RtcPrivilege::PublishVideoStream)
                    .is_some(),
                role == RtcRole::Publisher
            );
        }
    }

    #[test]
    fn deterministic_given_salt_and_issue_time() {
        let req = request(RtcUser::Uid(UID), RtcRole::Publisher);
        assert_eq!(
            build_rtc_token(&req).unwrap(),
            build_rtc_token(&req).unwrap()
        );
        let other_salt = RtcTokenRequest { salt: 2, ..req };
        assert_ne!(
            build_rtc_token(&req).unwrap(),
            build_rtc_token(&other_salt).unwrap()
        );
    }

    #[test]
    fn uid_zero_is_encoded_as_empty_string() {
        let token = build_rtc_token(&request(RtcUser::Uid(0), RtcRole::Subscriber)).unwrap();
        let payload = inflate(&token);
        // Content ends with pack_str(channel) then pack_str("") = 00 00.
        assert!(payload.ends_with(&[&[32u8, 0][..], CHANNEL.as_bytes(), &[0, 0]].concat()));
        assert_eq!(
            parse_token(&token, APP_CERT).unwrap().rtc().unwrap().uid,
            ""
        );
    }

    #[test]
    fn wrong_certificate_is_rejected() {
        let token = build_rtc_token(&request(RtcUser::Uid(UID), RtcRole::Publisher)).unwrap();
        assert!(matches!(
            parse_token(&token, "5CFd2fd1755d40ecb72977518be15d3c"),
            Err(AgoraError::BadSignature)
        ));
        // Agora uses the certificate's text, so hex case matters.
        assert!(matches!(
            parse_token(&token, &APP_CERT.to_ascii_lowercase()),
            Err(AgoraError::BadSignature)
        ));
        assert!(matches!(
            parse_token(&token, "not-a-cert"),
            Err(AgoraError::InvalidAppCertificate)
        ));
    }

    #[test]
    fn tampered_content_is_rejected() {
        let token = build_rtc_token(&request(RtcUser::Uid(UID), RtcRole::Subscriber)).unwrap();
        let payload = inflate(&token);
        // Offset of the expire field: pack_str(signature) + pack_str(app_id) + issued_at.
        let expire_at = 2 + SIGNATURE_LEN + 2 + APP_ID.len() + 4;
        assert_eq!(&payload[expire_at..expire_at + 4], &EXPIRE.to_le_bytes());

        let mut longer = payload.clone();
        longer[expire_at..expire_at + 4].copy_from_slice(&86_400u32.to_le_bytes());
        assert!(matches!(
            parse_token(&wrap(&longer), APP_CERT),
            Err(AgoraError::BadSignature)
        ));

        // Rebinding to another uid ("2882341274").
        let mut other_uid = payload.clone();
        let last = other_uid.len() - 1;
        other_uid[last] = b'4';
        assert!(matches!(
            parse_token(&wrap(&other_uid), APP_CERT),
            Err(AgoraError::BadSignature)
        ));

        // Flipping a signature bit.
        let mut bad_sig = payload;
        bad_sig[2] ^= 1;
        assert!(matches!(
            parse_token(&wrap(&bad_sig), APP_CERT),
            Err(AgoraError::BadSignature)
        ));
    }

    #[test]
    fn garbage_tokens_are_malformed_not_panics() {
        let token = build_rtc_token(&request(RtcUser::Uid(UID), RtcRole::Subscriber)).unwrap();
        assert!(matches!(
            parse_token(&token.replacen("007", "006", 1), APP_CERT),
            Err(AgoraError::UnsupportedVersion)
        ));
        assert!(matches!(
            parse_token("", APP_CERT),
            Err(AgoraError::UnsupportedVersion)
        ));
        assert!(matches!(
            parse_token("007!!!", APP_CERT),
            Err(AgoraError::Malformed(_))
        ));
        assert!(matches!(
            parse_token(&token[..token.len() - 8], APP_CERT),
            Err(AgoraError::Malformed(_))
        ));
        let payload = inflate(&token);
        for cut in [0, 1, 10, 40, payload.len() - 1] {
            assert!(matches!(
                parse_token(&wrap(&payload[..cut]), APP_CERT),
                Err(AgoraError::Malformed(_) | AgoraError::BadSignature)
            ));
        }
        let mut trailing = payload.clone();
        trailing.push(0);
        // Extra bytes are inside the signed region, so the MAC catches them.
        assert!(matches!(
            parse_token(&wrap(&trailing), APP_CERT),
            Err(AgoraError::BadSignature)
        ));
    }

    #[test]
    fn expiry_is_checked_against_now() {
        let mut req = request(RtcUser::Uid(UID), RtcRole::Publisher);
        req.issued_at = 1_700_000_000;
        req.token_expire_secs = 3600;
        let token = build_rtc_token(&req).unwrap();
        let expires = 1_700_003_600u64;

        let ok = verify_rtc_token(&token, APP_ID, APP_CERT, expires - 1).unwrap();
        assert_eq!(ok.expires_at(), expires);
        assert!(!ok.is_expired(1_700_000_000));
        assert!(matches!(
            verify_rtc_token(&token, APP_ID, APP_CERT, expires),
            Err(AgoraError::Expired { expired_at }) if expired_at == expires
        ));
        // The published vector was issued in 1970 and is long expired.
        assert!(matches!(
            verify_rtc_token(PY_RTC_UID, APP_ID, APP_CERT, 1_700_000_000),
            Err(AgoraError::Expired {
                expired_at: 1_111_711
            })
        ));
        assert!(matches!(
            verify_rtc_token(
                &token,
                "970CA35de60c44645bbae8a215061b34",
                APP_CERT,
                expires - 1
            ),
            Err(AgoraError::AppIdMismatch)
        ));
    }

    #[test]
    fn invalid_app_id_and_certificate_are_rejected() {
        for bad in [
            "",
            "abc",
            "Z70CA35de60c44645bbae8a215061b33",
            "970CA35de60c44645bbae8a215061b330",
        ] {
            let req = RtcTokenRequest {
                app_id: bad,
                ..request(RtcUser::Uid(UID), RtcRole::Publisher)
            };
            assert!(
                matches!(build_rtc_token(&req), Err(AgoraError::InvalidAppId)),
                "{bad:?}"
            );
            let req = RtcTokenRequest {
                app_certificate: bad,
                ..request(RtcUser::Uid(UID), RtcRole::Publisher)
            };
            assert!(
                matches!(
                    build_rtc_token(&req),
                    Err(AgoraError::InvalidAppCertificate)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn channel_names_follow_agora_rules() {
        let build = |channel: &'static str| {
            build_rtc_token(&RtcTokenRequest {
                channel,
                ..request(RtcUser::Uid(UID), RtcRole::Publisher)
            })
        };
        assert!(build("consult-42 room_[a]{b}|~,!#$%&()+:;<=.>?@^").is_ok());
        let max: &'static str = "a".repeat(MAX_CHANNEL_NAME_BYTES).leak();
        assert!(build(max).is_ok());
        let too_long: &'static str = "a".repeat(MAX_CHANNEL_NAME_BYTES + 1).leak();
        for bad in ["", too_long, "a/b", "a*b", "é", "a\nb", "a\"b", "a`b"] {
            assert!(
                matches!(build(bad), Err(AgoraError::InvalidChannelName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_accounts_are_validated() {
        let build = |account: &'static str| {
            build_rtc_token(&request(RtcUser::Account(account), RtcRole::Publisher))
        };
        assert!(build("user-7f3a").is_ok());
        let max: &'static str = "u".repeat(MAX_USER_ACCOUNT_BYTES).leak();
        assert!(build(max).is_ok());
        let too_long: &'static str = "u".repeat(MAX_USER_ACCOUNT_BYTES + 1).leak();
        for bad in ["", too_long, "a/b", "ü"] {
            assert!(
                matches!(build(bad), Err(AgoraError::InvalidUserAccount(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn expiry_bounds_are_validated() {
        let with = |token_expire_secs, privilege_expire_secs| {
            build_rtc_token(&RtcTokenRequest {
                token_expire_secs,
                privilege_expire_secs,
                ..request(RtcUser::Uid(UID), RtcRole::Publisher)
            })
        };
        assert!(with(MAX_EXPIRE_SECS, MAX_EXPIRE_SECS).is_ok());
        assert!(with(600, 1).is_ok());
        for (t, p) in [(0, 0), (MAX_EXPIRE_SECS + 1, 600), (600, 0), (600, 601)] {
            assert!(
                matches!(with(t, p), Err(AgoraError::InvalidExpiry(_))),
                "{t} {p}"
            );
        }
    }
}
