//! Access tokens (HS256 JWT, short-lived, stateless to verify) and refresh tokens
//! (opaque random strings; only their SHA-256 is stored).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub sub: Uuid,
    /// The auth session (refresh family) this token belongs to.
    pub sid: Uuid,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

/// The server's signing key. `Debug` never shows it.
pub struct Keys {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

const JWT_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Keys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    pub fn random() -> Self {
        let mut secret = vec![0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Self { secret }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.secret).expect("HMAC accepts any key length")
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        let header = URL_SAFE_NO_PAD.encode(JWT_HEADER);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }

    pub fn verify(&self, token: &str, now_unix: i64) -> Result<AccessClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        // Only HS256: a token naming another algorithm ("none", RS256 …) is refused outright.
        if header.get("alg").and_then(|v| v.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: AccessClaims = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.typ != "access" {
            return Err(TokenError::Malformed);
        }
        if claims.exp <= now_unix {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Keyed hash for short secrets (OTP codes) that would be brute-forced from a plain hash.
    pub fn keyed_hash(&self, parts: &[&str]) -> String {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A new opaque refresh token: 32 random bytes, base64url.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Refresh tokens carry 256 bits of entropy, so a plain SHA-256 is enough to store them.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            role: "client".into(),
            iat: 0,
            exp,
            typ: "access".into(),
        }
    }

    #[test]
    fn signed_token_verifies_until_expiry() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef");
        let c = claims(1000);
        let t = keys.sign(&c);
        assert_eq!(keys.verify(&t, 999).unwrap(), c);
        assert_eq!(keys.verify(&t, 1000), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef");
        let other = Keys::new(b"another-secret-another-secret-xx");
        let t = keys.sign(&claims(1000));
        assert_eq!(other.verify(&t, 0), Err(TokenError::BadSignature));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"00000000-0000-0000-0000-000000000000"}"#);
        parts[1] = &forged;
        assert_eq!(
            keys.verify(&parts.join("."), 0),
            Err(TokenError::BadSignature)
        );
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(keys.verify(&none_alg, 0), Err(TokenError::Malformed));
        assert_eq!(keys.verify("garbage", 0), Err(TokenError::Malformed));
    }

    #[test]
    fn keyed_hash_separates_parts() {
        let keys = Keys::new(b"k");
        assert_ne!(keys.keyed_hash(&["ab", "c"]), keys.keyed_hash(&["a", "bc"]));
    }
}
