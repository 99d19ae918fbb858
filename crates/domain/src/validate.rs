//! Checked values at the edge: handlers turn raw strings into these, collecting every
//! field error at once so a client fixes its form in one round trip.

use crate::error::{Error, FieldError};

#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    pub fn ensure(&mut self, ok: bool, field: &str, code: &str, message: impl Into<String>) {
        if !ok {
            self.fail(field, code, message);
        }
    }

    /// Trimmed text with a length (in characters) between `min` and `max`.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        let v = value.trim();
        let n = v.chars().count();
        if n < min {
            if min == 1 {
                self.fail(field, "required", "must not be empty");
            } else {
                self.fail(
                    field,
                    "too_short",
                    format!("must be at least {min} characters"),
                );
            }
        } else if n > max {
            self.fail(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        }
        if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            self.fail(
                field,
                "invalid_characters",
                "must not contain control characters",
            );
        }
        v.to_owned()
    }

    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value?.trim();
        if v.is_empty() {
            return None;
        }
        Some(self.text(field, v, 1, max))
    }

    pub fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        field: &str,
        value: T,
        min: T,
        max: T,
    ) -> T {
        if value < min || value > max {
            self.fail(
                field,
                "out_of_range",
                format!("must be between {min} and {max}"),
            );
        }
        value
    }

    pub fn email(&mut self, field: &str, value: &str) -> Option<Email> {
        match Email::parse(value) {
            Ok(e) => Some(e),
            Err(msg) => {
                self.fail(field, "invalid_email", msg);
                None
            }
        }
    }

    pub fn phone(&mut self, field: &str, value: &str) -> Option<PhoneNumber> {
        match PhoneNumber::parse(value) {
            Ok(p) => Some(p),
            Err(msg) => {
                self.fail(field, "invalid_phone", msg);
                None
            }
        }
    }

    pub fn time_zone(&mut self, field: &str, value: &str) -> Option<chrono_tz::Tz> {
        match value.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.fail(
                    field,
                    "invalid_time_zone",
                    "must be an IANA time zone name such as Asia/Kolkata",
                );
                None
            }
        }
    }

    pub fn url(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if !(v.starts_with("https://") || v.starts_with("http://"))
            || v.len() > 2048
            || v.contains(char::is_whitespace)
            || v.contains(char::is_control)
        {
            self.fail(field, "invalid_url", "must be an http(s) URL");
        }
        v.to_owned()
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(self.errors))
        }
    }
}

/// A lower-cased, syntactically plausible email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let v = raw.trim().to_lowercase();
        if v.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let Some((local, domain)) = v.rsplit_once('@') else {
            return Err("must be an email address like name@example.com");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains(char::is_whitespace)
            && !local.contains(char::is_control)
            && !local.contains('@');
        if domain_ok && local_ok {
            Ok(Self(v))
        } else {
            Err("must be an email address like name@example.com")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An E.164 phone number: `+`, country code, subscriber number; 8 to 15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        // Spaces, dashes and brackets are common in forms; they carry no meaning.
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let Some(digits) = compact.strip_prefix('+') else {
            return Err("must be in E.164 form, e.g. +919812345678");
        };
        if digits.len() < 8
            || digits.len() > 15
            || !digits.chars().all(|c| c.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err("must be in E.164 form, e.g. +919812345678");
        }
        Ok(Self(compact))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

pub fn check_password(check: &mut Check, field: &str, password: &str) {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        check.fail(
            field,
            "password_too_short",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        );
    } else if n > MAX_PASSWORD_CHARS {
        check.fail(
            field,
            "password_too_long",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Asha@Example.COM ").unwrap().as_str(),
            "asha@example.com"
        );
        for bad in [
            "",
            "a\u{0}b@example.com",
            "asha",
            "asha@",
            "@example.com",
            "a b@example.com",
            "a@example",
            "a@.com",
            "a@exa..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn phones_must_be_e164() {
        assert_eq!(
            PhoneNumber::parse("+91 98123-45678").unwrap().as_str(),
            "+919812345678"
        );
        for bad in [
            "9812345678",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+91abc45678",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn check_collects_every_error() {
        let mut c = Check::new();
        c.text("name", "  ", 1, 10);
        c.range("age", 200, 0, 150);
        check_password(&mut c, "password", "short");
        let err = c.finish().unwrap_err();
        assert_eq!(err.fields.len(), 3);
        assert_eq!(err.code, "validation_failed");
    }
}
