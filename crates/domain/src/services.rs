//! The services every domain function is given: the database, the clock, the settings, the
//! event bus, the outside providers (gateway, SMS, email, push) and the workers that batch
//! writes (chat, billing, liveness). Built once per process; cheap to clone.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::auth::token::Keys;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notifications::email::{EmailProvider, SandboxEmail, SmtpEmail};
use crate::notifications::push::{FcmPush, PushProvider, SandboxPush, ServiceAccount};
use crate::sms::{SandboxSms, SmsProvider, TwilioSms};
use store::clock::SharedClock;

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub keys: Arc<Keys>,
    pub sms: Arc<dyn SmsProvider>,
    /// The sandbox SMS outbox when that provider is in use (demo and tests read it).
    pub sandbox_sms: Option<Arc<SandboxSms>>,
    pub email: Arc<dyn EmailProvider>,
    /// The sandbox email outbox when that provider is in use.
    pub sandbox_email: Option<Arc<SandboxEmail>>,
    pub push: Arc<dyn PushProvider>,
    /// The sandbox push outbox when that provider is in use.
    pub sandbox_push: Option<Arc<SandboxPush>>,
    pub metrics: Arc<Metrics>,
    /// Wakes idle job workers when a job is queued in this process.
    pub job_wakeup: Arc<Notify>,
    /// Names this process in job locks.
    pub node_id: String,
    /// Outbound HTTP (gateway APIs, sandbox webhook delivery).
    pub http: reqwest::Client,
    pub gateway: Arc<dyn crate::payments::PaymentGateway>,
    /// Fan-out of live events to users' sockets, on every node.
    pub bus: Arc<dyn bus::Bus>,
    /// Stores chat messages many per transaction and fans them out (group commit).
    pub chat: crate::live::chat_batch::ChatWriter,
    /// Records the liveness sockets prove, many users per transaction.
    pub liveness: crate::live::liveness::Liveness,
    /// The billing worker's own connection and what it remembers between batches.
    pub billing: Arc<crate::live::bill_batch::BillingConn>,
    /// Stretches when no node was alive, cut out of billing.
    pub outages: crate::live::outages::Outages,
    /// Set once the listener is bound, unless `public_url` is configured.
    public_url: Arc<OnceLock<String>>,
}

impl Services {
    /// The base URL clients and gateways use to reach this server.
    pub fn public_url(&self) -> String {
        self.public_url
            .get()
            .cloned()
            .unwrap_or_else(|| format!("http://{}", self.config.bind))
    }

    /// Records the address the listener was bound to, when `public_url` was not configured.
    pub fn set_public_url(&self, url: String) {
        let _ = self.public_url.set(url);
    }

    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        clock: SharedClock,
        keys: Keys,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .context("building the HTTP client")?;
        let (sms, sandbox_sms): (Arc<dyn SmsProvider>, _) = match config.sms_provider {
            crate::config::SmsProviderKind::Twilio => (
                Arc::new(TwilioSms::from_config(&config, http.clone())?),
                None,
            ),
            crate::config::SmsProviderKind::Sandbox => {
                let sandbox = Arc::new(SandboxSms::default());
                (sandbox.clone(), Some(sandbox))
            }
        };
        let (email, sandbox_email): (Arc<dyn EmailProvider>, _) = match config.email_provider {
            crate::config::EmailProviderKind::Smtp => {
                (Arc::new(SmtpEmail::from_config(&config)?), None)
            }
            crate::config::EmailProviderKind::Sandbox => {
                let sandbox = Arc::new(SandboxEmail::default());
                (sandbox.clone(), Some(sandbox))
            }
        };
        let (push, sandbox_push): (Arc<dyn PushProvider>, _) = match config.push_provider {
            crate::config::PushProviderKind::Fcm => (
                Arc::new(FcmPush::new(
                    http.clone(),
                    &config.fcm_base_url,
                    ServiceAccount::from_config(&config)?,
                )?),
                None,
            ),
            crate::config::PushProviderKind::Sandbox => {
                let sandbox = Arc::new(SandboxPush::default());
                (sandbox.clone(), Some(sandbox))
            }
        };
        let gateway = crate::payments::gateway_from_config(&config, http.clone())?;
        let bus: Arc<dyn bus::Bus> = match &config.redis_url {
            Some(url) => Arc::new(
                bus::RedisBus::connect_with(
                    bus::RedisBusConfig::new(url).namespace(config.redis_prefix.clone()),
                )
                .await
                .with_context(|| {
                    format!("connecting the event bus to {}", store::redact_url(url))
                })?,
            ),
            None => Arc::new(bus::LocalBus::new()),
        };
        let public_url = match &config.public_url {
            Some(url) => OnceLock::from(url.trim_end_matches('/').to_owned()),
            None => OnceLock::new(),
        };
        let chat = crate::live::chat_batch::ChatWriter::start(&db, bus.clone());
        let billing = Arc::new(crate::live::bill_batch::BillingConn::new(&db));
        let liveness = crate::live::liveness::Liveness::start(
            &db,
            chrono::Duration::seconds(config.live_grace_secs),
        );
        Ok(Self {
            config: Arc::new(config),
            db,
            clock,
            keys: Arc::new(keys),
            sms,
            sandbox_sms,
            email,
            sandbox_email,
            push,
            sandbox_push,
            metrics: Arc::new(Metrics::default()),
            job_wakeup: Arc::new(Notify::new()),
            node_id: format!("node-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]),
            http,
            gateway,
            bus,
            chat,
            liveness,
            billing,
            outages: Default::default(),
            public_url: Arc::new(public_url),
        })
    }
}
