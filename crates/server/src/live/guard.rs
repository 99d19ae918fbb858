//! Chat guard: hides phone numbers and email addresses in chat text (interim version; the
//! full scanner with obfuscation handling replaces it).

#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub mask_phones: bool,
    pub mask_emails: bool,
    pub mask_char: char,
    pub min_phone_digits: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            mask_phones: true,
            mask_emails: true,
            mask_char: '•',
            min_phone_digits: 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    pub phones: usize,
    pub emails: usize,
}

impl Masked {
    pub fn changed(&self) -> bool {
        self.phones + self.emails > 0
    }
}

pub fn mask_contacts(text: &str, cfg: &GuardConfig) -> Masked {
    let mut chars: Vec<char> = text.chars().collect();
    let mut phones = 0;
    let mut emails = 0;
    if cfg.mask_emails {
        let words: Vec<(usize, usize)> = {
            let mut v = Vec::new();
            let mut start = None;
            for (i, c) in chars.iter().enumerate() {
                if c.is_whitespace() {
                    if let Some(s) = start.take() {
                        v.push((s, i));
                    }
                } else if start.is_none() {
                    start = Some(i);
                }
            }
            if let Some(s) = start {
                v.push((s, chars.len()));
            }
            v
        };
        for (s, e) in words {
            let w: String = chars[s..e].iter().collect();
            if let Some((user, domain)) = w.split_once('@')
                && !user.is_empty()
                && domain.contains('.')
                && !domain.ends_with('.')
            {
                for c in &mut chars[s..e] {
                    *c = cfg.mask_char;
                }
                emails += 1;
            }
        }
    }
    if cfg.mask_phones {
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_ascii_digit() || chars[i] == '+' {
                let start = i;
                let mut digits = 0;
                let mut j = i;
                while j < chars.len() && (chars[j].is_ascii_digit() || " -.()+".contains(chars[j]))
                {
                    if chars[j].is_ascii_digit() {
                        digits += 1;
                    }
                    j += 1;
                }
                if digits >= cfg.min_phone_digits {
                    for c in &mut chars[start..j] {
                        if c.is_ascii_digit() {
                            *c = cfg.mask_char;
                        }
                    }
                    phones += 1;
                }
                i = j.max(i + 1);
            } else {
                i += 1;
            }
        }
    }
    Masked {
        text: chars.into_iter().collect(),
        phones,
        emails,
    }
}
