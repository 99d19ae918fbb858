//! Outbound email. `EmailProvider` is what the delivery job calls: the sandbox keeps
//! messages in memory and logs them (the demo needs nothing); `SmtpEmail` sends through any
//! SMTP server with lettre (implicit TLS, STARTTLS or, for a local relay, plain).

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{Config, SmtpTls};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The unsubscribe link, sent as `List-Unsubscribe` with one-click support.
    pub unsubscribe_url: Option<String>,
}

#[async_trait::async_trait]
pub trait EmailProvider: Send + Sync + 'static {
    /// Sends one message; returns its id at the provider (the `Message-ID`).
    async fn send(&self, message: &EmailMessage) -> anyhow::Result<String>;
    fn name(&self) -> &'static str;
}

#[derive(Default)]
pub struct SandboxEmail {
    outbox: crate::outbox::Outbox<EmailMessage>,
}

impl SandboxEmail {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<EmailMessage> {
        self.outbox.sent()
    }
}

#[async_trait::async_trait]
impl EmailProvider for SandboxEmail {
    async fn send(&self, message: &EmailMessage) -> anyhow::Result<String> {
        tracing::info!(to = %message.to, subject = %message.subject, "sandbox email");
        self.outbox.record(message);
        Ok(format!("sandbox-{}", uuid::Uuid::now_v7()))
    }
    fn name(&self) -> &'static str {
        "sandbox"
    }
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

pub struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of our `Message-ID`s.
    domain: String,
}

impl SmtpEmail {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let host = config
            .smtp_host
            .as_deref()
            .filter(|h| !h.is_empty())
            .context("email_provider = smtp needs smtp_host")?;
        let mut builder = match config.smtp_tls {
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            // Plain text: only for a relay on this machine or a private network (and tests).
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        builder = builder
            .port(config.smtp_port)
            .timeout(Some(Duration::from_secs(config.smtp_timeout_secs.max(1))));
        if let Some(user) = config.smtp_username.as_deref().filter(|u| !u.is_empty()) {
            let pass = config
                .smtp_password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.to_owned(), pass));
        }
        let from: Mailbox = config
            .email_from
            .parse()
            .with_context(|| format!("email_from {:?} is not an address", config.email_from))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            domain,
        })
    }

    fn build(&self, m: &EmailMessage, message_id: &str) -> anyhow::Result<Message> {
        let to: Mailbox =
            m.to.parse()
                .with_context(|| format!("recipient {:?} is not an address", m.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(message_id.to_owned()));
        if let Some(url) = &m.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        let message = match &m.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                html.clone(),
            ))?,
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(m.text.clone())?,
        };
        Ok(message)
    }
}

#[async_trait::async_trait]
impl EmailProvider for SmtpEmail {
    async fn send(&self, m: &EmailMessage) -> anyhow::Result<String> {
        let message_id = format!("<{}@{}>", uuid::Uuid::now_v7().simple(), self.domain);
        let message = self.build(m, &message_id)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(message_id),
            // A 5xx (no such mailbox, message refused) will be refused again.
            Err(e) if e.is_permanent() => Err(anyhow::Error::new(e)
                .context("SMTP server refused the message")
                .context(crate::jobs::Permanent)),
            Err(e) => Err(anyhow::Error::new(e).context("SMTP server did not take the message")),
        }
    }
    fn name(&self) -> &'static str {
        "smtp"
    }
}
