//! `TestApp`: spawns the server on port 0 against a fresh database and talks to it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use augur::app::{AppState, Application};
use domain::config::Config;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::{Value, json};
use store::clock::ManualClock;
use tokio::sync::OnceCell;

/// Generates `sqlite` and `postgres` variants of each listed async test `fn(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(b) = $crate::helpers::Backend::postgres() {
                    super::$name(b).await
                }
            }
        }
    )* };
}

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when configured; with `AUGUR_REQUIRE_POSTGRES=1` its absence is a failure.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("AUGUR_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                if std::env::var("AUGUR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("AUGUR_REQUIRE_POSTGRES=1 but AUGUR_TEST_POSTGRES_URL is not set");
                }
                eprintln!("skipping PostgreSQL variant: AUGUR_TEST_POSTGRES_URL is not set");
                None
            }
        }
    }
}

fn unique_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "augur_t_{secs}_{}",
        &uuid::Uuid::now_v7().simple().to_string()[16..]
    )
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    format!("{root}/{db}{query}")
}

static PG_CLEANUP: OnceCell<()> = OnceCell::const_new();

/// Drops test databases left by runs that ended more than two hours ago.
async fn drop_stale_databases(admin: &sea_orm::DatabaseConnection) {
    let cutoff = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 7200;
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'augur_t_%'",
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let stamp = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if stamp < cutoff {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await;
        }
    }
}

pub async fn fresh_database_url(backend: &Backend) -> String {
    let name = unique_name();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("augur-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{name}.db")).display()
            )
        }
        Backend::Postgres(url) => {
            let admin = Database::connect(url.as_str())
                .await
                .expect("connect to AUGUR_TEST_POSTGRES_URL");
            PG_CLEANUP
                .get_or_init(|| drop_stale_databases(&admin))
                .await;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            with_database(url, &name)
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// `http://…` of the metrics listener, when `metrics_bind` is set.
    pub metrics_base: Option<String>,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub async fn read(res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            body,
        }
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            ct, "application/problem+json",
            "errors must be problem+json"
        );
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        self.body
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

fn test_config(database_url: String) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url,
        database_max_connections: 8,
        jwt_secret: Some(SecretString::from(
            "test-secret-test-secret-test-secret-0123",
        )),
        job_workers: 0,
        // Tests drive the consultation worker with `domain::live::engine::tick` on a
        // manual clock.
        live_tick_ms: 0,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = test_config(fresh_database_url(&backend).await);
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        Self::start(config, clock).await
    }

    /// A second server on `other`'s database (and clock), configured its own way: a restart
    /// with new settings, or another node.
    pub async fn spawn_beside(other: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = test_config(other.state.config.database_url.clone());
        tweak(&mut config);
        Self::start(config, other.clock.clone()).await
    }

    /// A server whose clock starts at `start` (for tests about particular dates).
    pub async fn spawn_at(
        backend: Backend,
        start: chrono::DateTime<chrono::Utc>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = test_config(fresh_database_url(&backend).await);
        tweak(&mut config);
        Self::start(config, Arc::new(ManualClock::new(start))).await
    }

    /// Two nodes sharing one database, one clock and Redis: the multi-node set-up.
    /// `None` when no Redis is configured for tests (and it is not required).
    pub async fn spawn_pair(backend: Backend) -> Option<(TestApp, TestApp)> {
        Self::spawn_pair_with(backend, |_| {}).await
    }

    /// `spawn_pair` with settings changed on both nodes.
    pub async fn spawn_pair_with(
        backend: Backend,
        tweak: impl Fn(&mut Config),
    ) -> Option<(TestApp, TestApp)> {
        let redis = match std::env::var("AUGUR_TEST_REDIS_URL") {
            Ok(url) => url,
            Err(_) => {
                assert!(
                    std::env::var("AUGUR_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "AUGUR_TEST_REDIS_URL must be set when the multi-node suite is required"
                );
                eprintln!("skipping: AUGUR_TEST_REDIS_URL is not set");
                return None;
            }
        };
        let url = fresh_database_url(&backend).await;
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        // The pair's own keys and channels: tests running at once share the Redis.
        let prefix = format!("augur-test-{}:", uuid::Uuid::now_v7().simple());
        let mut a = test_config(url.clone());
        a.redis_url = Some(redis.clone());
        a.redis_prefix = prefix.clone();
        tweak(&mut a);
        let mut b = test_config(url);
        b.redis_url = Some(redis);
        b.redis_prefix = prefix;
        tweak(&mut b);
        let first = Self::start(a, clock.clone()).await;
        let second = Self::start(b, clock).await;
        Some((first, second))
    }

    async fn start(config: Config, clock: Arc<ManualClock>) -> TestApp {
        // Server errors show up in a failing test's captured output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_test_writer()
            .try_init();
        let app = Application::build_with_clock(config, clock.clone())
            .await
            .expect("build app");
        let base = format!("http://{}", app.addr());
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
        let state = app.state.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            metrics_base,
            client: reqwest::Client::new(),
            state,
            clock,
            _stop: stop,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A POST carrying an `Idempotency-Key`, as every money-moving call requires.
    pub async fn post_keyed(&self, path: &str, token: &str, key: &str, body: Value) -> Resp {
        let res = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .expect("request");
        Resp::read(res).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Registers a client; returns (access token, refresh token, user id).
    pub async fn register(&self, email: &str) -> (String, String, String) {
        let body = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "first_name": "Test", "last_name": "User"}),
            )
            .await
            .expect(201);
        (
            body["tokens"]["access_token"].as_str().unwrap().to_owned(),
            body["tokens"]["refresh_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Creates an admin account directly and returns its access token.
    pub async fn admin_token(&self) -> String {
        self.admin_account().await.1
    }

    /// Creates an admin account directly; returns its email (the password is
    /// [`PASSWORD`]) and an access token.
    pub async fn admin_account(&self) -> (String, String) {
        let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
        augur::demo::create_admin(&self.state, &email, PASSWORD, "Admin")
            .await
            .expect("create admin");
        let token = self.login(&email, PASSWORD).await.expect(200)["tokens"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (email, token)
    }

    /// Runs queued jobs, then returns the last SMS code sent to `phone`.
    pub async fn last_sms_code(&self, phone: &str) -> String {
        domain::jobs::run_pending(&self.state)
            .await
            .expect("run jobs");
        let sent = self.state.sandbox_sms.as_ref().expect("sandbox sms").sent();
        let msg = sent
            .iter()
            .rev()
            .find(|m| m.to == phone)
            .expect("an SMS to this phone");
        msg.body.split_whitespace().next().unwrap().to_owned()
    }

    /// Runs queued jobs, then returns what the sandbox email provider sent to `to`, oldest
    /// first.
    pub async fn emails_to(&self, to: &str) -> Vec<domain::notifications::email::EmailMessage> {
        domain::jobs::run_pending(&self.state)
            .await
            .expect("run jobs");
        self.state
            .sandbox_email
            .as_ref()
            .expect("sandbox email")
            .sent()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }

    /// The token of the newest email to `to` that links to `page` (`reset-password` or
    /// `verify-email`), read from the sandbox outbox as a user reads their inbox.
    pub async fn link_token(&self, to: &str, page: &str) -> String {
        let prefix = format!("{}/{page}?token=", self.base);
        let mails = self.emails_to(to).await;
        let mail = mails
            .iter()
            .rev()
            .find(|m| m.text.contains(&prefix))
            .unwrap_or_else(|| panic!("an email to {to} linking to /{page}"));
        let start = mail.text.find(&prefix).unwrap() + prefix.len();
        mail.text[start..]
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap()
            .to_owned()
    }

    /// Follows the verification link emailed to `address`.
    pub async fn verify_email(&self, address: &str) {
        let token = self.link_token(address, "verify-email").await;
        self.post("/api/v1/auth/email/verify", None, json!({"token": token}))
            .await
            .expect(200);
    }

    /// Credits a user's wallet through the admin API.
    pub async fn credit(&self, admin: &str, user: &str, amount: i64) {
        self.post_keyed(
            &format!("/api/v1/admin/wallets/{user}/credits"),
            admin,
            &format!("credit-{}", uuid::Uuid::now_v7()),
            json!({"amount": amount, "reason": "goodwill"}),
        )
        .await
        .expect(201);
    }

    pub fn advance(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }
}

/// A practitioner profile body for `POST /api/v1/practitioners/apply`.
pub fn application(name: &str) -> Value {
    json!({
        "kind": "astrologer",
        "display_name": name,
        "bio": "Vedic astrology for career questions.",
        "experience_years": 7,
        "languages": ["en", "hi"],
        "specializations": ["vedic", "career"],
        "rates": {"currency": "INR", "chat": 2000, "call": 2500, "video": null},
        "max_concurrent_sessions": 2
    })
}

/// Registers a user, applies and gets approved; returns (user token, practitioner id).
pub async fn approved_practitioner(
    app: &TestApp,
    admin: &str,
    email: &str,
    name: &str,
) -> (String, String) {
    let (token, _, _) = app.register(email).await;
    let p = app
        .post(
            "/api/v1/practitioners/apply",
            Some(&token),
            application(name),
        )
        .await
        .expect(201);
    let id = p["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/admin/practitioners/{id}/approve"),
        Some(admin),
        json!({}),
    )
    .await
    .expect(200);
    (token, id)
}

/// Opens the practitioner's week 06:00–20:00 UTC every day and adds a one-hour video
/// service at ₹1,500; returns the service.
pub async fn bookable_hours_and_service(app: &TestApp, practitioner: &str) -> Value {
    let weekly: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| json!({"weekday": d, "start": "06:00", "end": "20:00"}))
    .collect();
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/availability",
        Some(practitioner),
        Some(json!({"time_zone": "UTC", "weekly": weekly})),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/practitioners/me/services",
        Some(practitioner),
        json!({"name": "Kundli reading", "description": "One hour on video", "channel": "video",
               "duration_minutes": 60, "price": 150_000}),
    )
    .await
    .expect(201)
}

#[test]
fn database_name_is_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}

/// One message an [`SmtpServer`] accepted.
#[derive(Debug, Clone)]
pub struct SmtpMail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent after `DATA`, dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl SmtpMail {
    /// A header's value, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The body with quoted-printable soft breaks and escapes decoded (what a mail client
    /// shows, near enough for assertions).
    pub fn decoded_body(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A minimal SMTP server on 127.0.0.1 that accepts every message (EHLO/HELO, MAIL, RCPT,
/// DATA, RSET, NOOP, QUIT) and keeps it for the test to read; `bounce@…` does not exist.
pub struct SmtpServer {
    pub port: u16,
    mails: Arc<std::sync::Mutex<Vec<SmtpMail>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<std::sync::Mutex<Vec<SmtpMail>>> = Arc::default();
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, store.clone()));
            }
        });
        SmtpServer { port, mails }
    }

    pub fn mails(&self) -> Vec<SmtpMail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    store: Arc<std::sync::Mutex<Vec<SmtpMail>>>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 localhost test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            // A mailbox that does not exist, for tests of permanent failures.
            if upper.contains("<BOUNCE@") {
                b"550 5.1.1 No such user here\r\n"
            } else {
                to.push(line[8..].trim().to_owned());
                b"250 OK\r\n"
            }
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push_str("\r\n");
            }
            store.lock().unwrap().push(SmtpMail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            b"250 OK\r\n"
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
