//! Outbound SMS. `SmsProvider` is what the OTP job calls; the sandbox writes messages to
//! the log and keeps them in memory so the demo and the tests can read codes.

use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: String,
    pub body: String,
}

#[async_trait::async_trait]
pub trait SmsProvider: Send + Sync + 'static {
    async fn send(&self, message: &SmsMessage) -> anyhow::Result<()>;
    fn name(&self) -> &'static str;
}

#[derive(Default)]
pub struct SandboxSms {
    outbox: Mutex<Vec<SmsMessage>>,
}

impl SandboxSms {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SmsMessage> {
        self.outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait::async_trait]
impl SmsProvider for SandboxSms {
    async fn send(&self, message: &SmsMessage) -> anyhow::Result<()> {
        tracing::info!(to = %message.to, body = %message.body, "sandbox SMS");
        self.outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message.clone());
        Ok(())
    }
    fn name(&self) -> &'static str {
        "sandbox"
    }
}
