//! Push notifications. `PushProvider` is what the delivery job calls: the sandbox keeps
//! messages in memory and logs them; `FcmPush` speaks Firebase Cloud Messaging's HTTP v1 API
//! (`POST {base}/v1/projects/{project}/messages:send`) with an OAuth2 access token it gets
//! for a service account (an RS256-signed JWT exchanged at the token URI, the
//! `jwt-bearer` grant) and keeps until shortly before it expires.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Mutex as AsyncMutex;

use crate::config::Config;

/// The OAuth2 scope FCM sends need.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub token: String,
    pub title: String,
    pub body: String,
    /// String pairs the app receives with the notification (FCM allows strings only).
    pub data: BTreeMap<String, String>,
}

/// What became of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// Accepted; the provider's message id.
    Sent(String),
    /// The token is no longer valid (app uninstalled, token rotated): forget the device.
    InvalidToken(String),
}

#[async_trait::async_trait]
pub trait PushProvider: Send + Sync + 'static {
    async fn send(&self, message: &PushMessage) -> anyhow::Result<PushOutcome>;
    fn name(&self) -> &'static str;
}

#[derive(Default)]
pub struct SandboxPush {
    outbox: crate::outbox::Outbox<PushMessage>,
}

impl SandboxPush {
    pub fn sent(&self) -> Vec<PushMessage> {
        self.outbox.sent()
    }
}

#[async_trait::async_trait]
impl PushProvider for SandboxPush {
    async fn send(&self, message: &PushMessage) -> anyhow::Result<PushOutcome> {
        tracing::info!(title = %message.title, body = %message.body, "sandbox push");
        self.outbox.record(message);
        Ok(PushOutcome::Sent(format!(
            "sandbox/messages/{}",
            uuid::Uuid::now_v7().simple()
        )))
    }
    fn name(&self) -> &'static str {
        "sandbox"
    }
}

/// The fields of a Google service-account key file that FCM needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub private_key: SecretString,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

impl ServiceAccount {
    /// From `fcm_credentials_file` (the JSON downloaded from the Firebase console), with
    /// the individual settings taking precedence over it.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let file: Option<ServiceAccount> = match &config.fcm_credentials_file {
            Some(path) => {
                let raw = std::fs::read_to_string(path)
                    .with_context(|| format!("reading fcm_credentials_file {path}"))?;
                Some(
                    serde_json::from_str(&raw)
                        .context("fcm_credentials_file is not a service-account key")?,
                )
            }
            None => None,
        };
        let project_id = config
            .fcm_project_id
            .clone()
            .or_else(|| file.as_ref().map(|f| f.project_id.clone()))
            .context("push_provider = fcm needs fcm_project_id (or fcm_credentials_file)")?;
        let client_email = config
            .fcm_client_email
            .clone()
            .or_else(|| file.as_ref().map(|f| f.client_email.clone()))
            .context("push_provider = fcm needs fcm_client_email (or fcm_credentials_file)")?;
        let private_key = config
            .fcm_private_key
            .clone()
            .or_else(|| file.as_ref().map(|f| f.private_key.clone()))
            .context("push_provider = fcm needs fcm_private_key (or fcm_credentials_file)")?;
        let token_uri = config
            .fcm_token_uri
            .clone()
            .or_else(|| file.as_ref().map(|f| f.token_uri.clone()))
            .unwrap_or_else(default_token_uri);
        Ok(Self {
            project_id,
            client_email,
            private_key,
            token_uri,
        })
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

struct CachedToken {
    value: String,
    expires: Instant,
}

pub struct FcmPush {
    http: reqwest::Client,
    base_url: String,
    account: ServiceAccount,
    key: jsonwebtoken::EncodingKey,
    token: AsyncMutex<Option<CachedToken>>,
}

impl FcmPush {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account: ServiceAccount,
    ) -> anyhow::Result<Self> {
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
                .context("the FCM private key is not an RSA key in PEM")?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account,
            key,
            token: AsyncMutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a new one from the token URI. The lock is
    /// held while fetching so concurrent sends share one exchange.
    async fn access_token(&self) -> anyhow::Result<String> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires > Instant::now()
        {
            return Ok(t.value.clone());
        }
        let iat = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: &self.account.client_email,
            scope: FCM_SCOPE,
            aud: &self.account.token_uri,
            iat,
            exp: iat + 3600,
        };
        let assertion = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &self.key,
        )
        .context("signing the FCM service-account JWT")?;
        let res = self
            .http
            .post(&self.account.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .context("asking for an FCM access token")?;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        anyhow::ensure!(
            status.is_success(),
            "token endpoint answered {status}: {body}"
        );
        let value = body["access_token"]
            .as_str()
            .context("token endpoint answered without access_token")?
            .to_owned();
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        // Renewed a minute early so a token never expires on its way to FCM.
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60));
        *cached = Some(CachedToken {
            value: value.clone(),
            expires,
        });
        Ok(value)
    }
}

#[async_trait::async_trait]
impl PushProvider for FcmPush {
    async fn send(&self, m: &PushMessage) -> anyhow::Result<PushOutcome> {
        let token = self.access_token().await?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.base_url, self.account.project_id
        );
        let body = json!({
            "message": {
                "token": m.token,
                "notification": {"title": m.title, "body": m.body},
                "data": m.data,
            }
        });
        let res = self
            .http
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .context("calling FCM")?;
        let status = res.status();
        let answer: serde_json::Value = res.json().await.unwrap_or_default();
        if status.is_success() {
            let name = answer["name"].as_str().unwrap_or_default().to_owned();
            return Ok(PushOutcome::Sent(name));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // The cached token was revoked or the clock is off: fetch a new one next time.
            *self.token.lock().await = None;
        }
        let code = fcm_error_code(&answer);
        // FCM's documented answers for a token that will never work again.
        if status == reqwest::StatusCode::NOT_FOUND || code.as_deref() == Some("UNREGISTERED") {
            return Ok(PushOutcome::InvalidToken(
                code.unwrap_or_else(|| "NOT_FOUND".into()),
            ));
        }
        let err = anyhow::anyhow!("FCM answered {status}: {answer}");
        if status.is_client_error()
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS
            && status != reqwest::StatusCode::UNAUTHORIZED
        {
            // A malformed request stays malformed: retrying cannot help.
            return Err(err.context(crate::jobs::Permanent));
        }
        Err(err)
    }
    fn name(&self) -> &'static str {
        "fcm"
    }
}

/// The `errorCode` FCM puts in `error.details[]` (`UNREGISTERED`, `INVALID_ARGUMENT` …).
fn fcm_error_code(answer: &serde_json::Value) -> Option<String> {
    answer["error"]["details"]
        .as_array()?
        .iter()
        .find_map(|d| d["errorCode"].as_str().map(str::to_owned))
}
