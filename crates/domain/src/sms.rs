//! Outbound SMS. `SmsProvider` is what the delivery jobs call; the sandbox writes messages
//! to the log and keeps them in memory so the demo and the tests can read codes, and
//! `TwilioSms` sends through Twilio's Messages API.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: String,
    pub body: String,
}

#[async_trait::async_trait]
pub trait SmsProvider: Send + Sync + 'static {
    /// Sends one message; returns its id at the provider.
    async fn send(&self, message: &SmsMessage) -> anyhow::Result<String>;
    fn name(&self) -> &'static str;
}

#[derive(Default)]
pub struct SandboxSms {
    outbox: crate::outbox::Outbox<SmsMessage>,
}

impl SandboxSms {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SmsMessage> {
        self.outbox.sent()
    }
}

#[async_trait::async_trait]
impl SmsProvider for SandboxSms {
    async fn send(&self, message: &SmsMessage) -> anyhow::Result<String> {
        tracing::info!(to = %message.to, body = %message.body, "sandbox SMS");
        self.outbox.record(message);
        Ok(format!("sandbox-{}", uuid::Uuid::now_v7()))
    }
    fn name(&self) -> &'static str {
        "sandbox"
    }
}

/// Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
/// form-encoded `To`, `From` (or `MessagingServiceSid`) and `Body`, HTTP Basic auth with the
/// account SID and auth token. Answers `201` with the message's `sid`.
pub struct TwilioSms {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: SecretString,
    sender: TwilioSender,
}

/// Who the message comes from: a number of ours or a messaging service (which picks one).
pub enum TwilioSender {
    From(String),
    MessagingService(String),
}

impl TwilioSms {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account_sid: String,
        auth_token: SecretString,
        sender: TwilioSender,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid,
            auth_token,
            sender,
        }
    }

    pub fn from_config(
        config: &crate::config::Config,
        http: reqwest::Client,
    ) -> anyhow::Result<Self> {
        let sid = config
            .twilio_account_sid
            .clone()
            .context("sms_provider = twilio needs twilio_account_sid")?;
        let token = config
            .twilio_auth_token
            .clone()
            .context("sms_provider = twilio needs twilio_auth_token")?;
        let sender = match (&config.twilio_messaging_service_sid, &config.twilio_from) {
            (Some(service), _) => TwilioSender::MessagingService(service.clone()),
            (None, Some(from)) => TwilioSender::From(from.clone()),
            (None, None) => anyhow::bail!(
                "sms_provider = twilio needs twilio_from or twilio_messaging_service_sid"
            ),
        };
        Ok(Self::new(http, &config.twilio_base_url, sid, token, sender))
    }
}

#[async_trait::async_trait]
impl SmsProvider for TwilioSms {
    async fn send(&self, message: &SmsMessage) -> anyhow::Result<String> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let sender = match &self.sender {
            TwilioSender::From(from) => ("From", from.as_str()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let res = self
            .http
            .post(&url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&[
                ("To", message.to.as_str()),
                sender,
                ("Body", message.body.as_str()),
            ])
            .send()
            .await
            .context("calling Twilio")?;
        let status = res.status();
        let answer: serde_json::Value = res.json().await.unwrap_or_default();
        if status.is_success() {
            return answer["sid"]
                .as_str()
                .map(str::to_owned)
                .context("Twilio answered without a message sid");
        }
        let err = anyhow::anyhow!(
            "Twilio answered {status}: code {} {}",
            answer["code"],
            answer["message"].as_str().unwrap_or_default()
        );
        // 4xx other than rate limiting and auth (which an operator may fix) is the
        // message itself (an invalid number, a blocked recipient): retrying cannot help.
        if status.is_client_error()
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS
            && status != reqwest::StatusCode::UNAUTHORIZED
            && status != reqwest::StatusCode::FORBIDDEN
        {
            return Err(err.context(crate::jobs::Permanent));
        }
        Err(err)
    }
    fn name(&self) -> &'static str {
        "twilio"
    }
}
