//! Draw seeds.
//!
//! Owns [`Seed`], the 32-byte ChaCha20 key from which a reading is derived,
//! its lowercase-hex text form, and fresh seed generation from OS entropy.
//! Seeds are not secret once a reading exists: they are handed back to the
//! caller precisely so the reading can be re-derived and audited.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::TarotError;

/// Length of a seed in bytes (a ChaCha20 key).
pub const SEED_LEN: usize = 32;

/// A 256-bit draw seed. Serialises as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seed(pub [u8; SEED_LEN]);

impl Seed {
    /// Wrap raw bytes.
    pub const fn from_bytes(bytes: [u8; SEED_LEN]) -> Self {
        Seed(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; SEED_LEN] {
        &self.0
    }

    /// A fresh seed from the operating system's CSPRNG.
    pub fn from_os_entropy() -> Result<Self, TarotError> {
        let mut bytes = [0u8; SEED_LEN];
        getrandom::fill(&mut bytes).map_err(|e| TarotError::Entropy(e.to_string()))?;
        Ok(Seed(bytes))
    }

    /// Parse exactly 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, TarotError> {
        let raw = s.as_bytes();
        if raw.len() != SEED_LEN * 2 {
            return Err(TarotError::InvalidSeedHex(format!(
                "expected {} hex digits, got {}",
                SEED_LEN * 2,
                raw.len()
            )));
        }
        let mut bytes = [0u8; SEED_LEN];
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]);
            let lo = hex_val(pair[1]);
            match (hi, lo) {
                (Some(hi), Some(lo)) => bytes[i] = (hi << 4) | lo,
                _ => {
                    return Err(TarotError::InvalidSeedHex(format!(
                        "non-hex character near offset {}",
                        i * 2
                    )));
                }
            }
        }
        Ok(Seed(bytes))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(SEED_LEN * 2);
        for b in self.0 {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        out
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed({})", self.to_hex())
    }
}

impl FromStr for Seed {
    type Err = TarotError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Seed::from_hex(s)
    }
}

impl Serialize for Seed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Owned String so non-borrowing formats (e.g. serde_json from a reader) work.
        let s = String::deserialize(deserializer)?;
        Seed::from_hex(&s).map_err(serde::de::Error::custom)
    }
}
