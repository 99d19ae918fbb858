//! A real `augur` process killed with SIGKILL in the middle of a session, then restarted:
//! the sweeper settles the session from the database, charging the minutes up to the last
//! heartbeat once and nothing after.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, application, fresh_database_url};

both_backends!(
    a_killed_server_settles_sessions_on_restart,
    an_outage_inside_the_grace_window_is_not_billed,
    an_outage_longer_than_the_grace_window_ends_the_session_as_interrupted,
);

pub(crate) struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the real binary on `database_url`; `tick_ms` sets how often its worker bills.
/// Heartbeats every 30 s: a restart within 90 s is not an outage, so these tests see a
/// crash's sessions settled as they would be without outage detection.
async fn serve(database_url: &str, tick_ms: u64) -> Server {
    serve_env(
        database_url,
        tick_ms,
        None,
        &[("AUGUR_NODE_HEARTBEAT_SECS", "30")],
    )
    .await
}

/// [`serve`], with Redis for cross-node events when given.
fn redis_prefix(database_url: &str) -> String {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(database_url);
    format!("augur-test-{hash:016x}:")
}

pub(crate) async fn serve_with(database_url: &str, tick_ms: u64, redis: Option<&str>) -> Server {
    serve_env(database_url, tick_ms, redis, &[]).await
}

/// [`serve_with`], with more settings (`AUGUR_*` variables; later ones win).
pub(crate) async fn serve_env(
    database_url: &str,
    tick_ms: u64,
    redis: Option<&str>,
    env: &[(&str, &str)],
) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_augur"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("AUGUR_DATABASE_URL", database_url)
        .env(
            "AUGUR_JWT_SECRET",
            "crash-test-secret-crash-test-secret-0123",
        )
        .env("AUGUR_JOB_WORKERS", "0")
        .env("AUGUR_LIVE_TICK_MS", tick_ms.to_string())
        .env("AUGUR_LIVE_GRACE_SECS", "2")
        .env("AUGUR_LOG_LEVEL", "warn")
        .env_remove("AUGUR_REDIS_URL")
        .envs(redis.map(|r| ("AUGUR_REDIS_URL", r)))
        // The processes of one test (one database) share Redis keys and channels; other
        // tests running at once have their own.
        .env("AUGUR_REDIS_PREFIX", redis_prefix(database_url))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start augur");
    // Owned from here on, so the process is killed and reaped on every path.
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client
            .get(format!("{}/health/ready", server.base))
            .send()
            .await
            && r.status() == 200
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("augur did not become ready");
}

pub(crate) async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) async fn register(base: &str, email: &str) -> (String, String) {
    let (s, v) = call(
        base,
        reqwest::Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": email, "password": PASSWORD, "first_name": "Crash"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    (
        v["tokens"]["access_token"].as_str().unwrap().to_owned(),
        v["user"]["id"].as_str().unwrap().to_owned(),
    )
}

/// Who a multi-process test needs: an admin, an online practitioner and a funded client.
pub(crate) struct People {
    pub client: String,
    pub client_id: String,
    pub practitioner: String,
    pub practitioner_id: String,
}

/// Creates the admin with the CLI, then everyone else through `base`'s API.
pub(crate) async fn people(url: &str, base: &str) -> People {
    use reqwest::Method;
    let admin_email = "crash-admin@example.com";
    let status = Command::new(env!("CARGO_BIN_EXE_augur"))
        .args([
            "admin",
            "create",
            "--email",
            admin_email,
            "--password",
            PASSWORD,
        ])
        .env("AUGUR_DATABASE_URL", url)
        .env("AUGUR_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (_, login) = call(
        base,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": admin_email, "password": PASSWORD})),
    )
    .await;
    let admin = login["tokens"]["access_token"].as_str().unwrap().to_owned();
    let (practitioner, _) = register(base, "crash-reader@example.com").await;
    let (s, p) = call(
        base,
        Method::POST,
        "/api/v1/practitioners/apply",
        Some(&practitioner),
        Some(application("Crash Reader")),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let practitioner_id = p["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        base,
        Method::POST,
        &format!("/api/v1/admin/practitioners/{practitioner_id}/approve"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        base,
        Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await;
    assert_eq!(s, 200);
    let (client, client_id) = register(base, "crash-client@example.com").await;
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/admin/wallets/{client_id}/credits"))
        .bearer_auth(&admin)
        .header("idempotency-key", "crash-credit")
        .json(&json!({"amount": 100_000, "reason": "goodwill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    People {
        client,
        client_id,
        practitioner,
        practitioner_id,
    }
}

async fn a_killed_server_settles_sessions_on_restart(b: Backend) {
    use reqwest::Method;
    let url = fresh_database_url(&b).await;
    // This first process's worker runs once at start and then sleeps: it never bills, so
    // everything owed is settled by the next process.
    let first = serve(&url, 3_600_000).await;
    let base = first.base.clone();
    let People {
        client,
        practitioner,
        practitioner_id,
        ..
    } = people(&url, &base).await;
    let (s, c) = call(
        &base,
        Method::POST,
        "/api/v1/consultations",
        Some(&client),
        Some(json!({"practitioner_id": practitioner_id, "channel": "chat"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &base,
        Method::POST,
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200);

    // Pretend the session started 150 s ago (the clock of a real process cannot be moved),
    // then both sides send heartbeats, and the server dies without a chance to bill.
    let db = Database::connect(url.as_str()).await.unwrap();
    let uuid: uuid::Uuid = id.parse().unwrap();
    let started = Utc::now() - chrono::Duration::seconds(150);
    store::entity::consultation::Entity::update_many()
        .col_expr(
            store::entity::consultation::Column::StartedAt,
            sea_orm::sea_query::Expr::value(started),
        )
        .filter(store::entity::consultation::Column::Id.eq(uuid))
        .exec(&db)
        .await
        .unwrap();
    for token in [&client, &practitioner] {
        let (s, _) = call(
            &base,
            Method::POST,
            &format!("/api/v1/consultations/{id}/heartbeat"),
            Some(token),
            Some(json!({})),
        )
        .await;
        assert_eq!(s, 200);
    }
    let mut first = first;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no settling
    first.child.wait().unwrap();
    let row = store::entity::consultation::Entity::find_by_id(uuid)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "active");
    assert_eq!(row.minutes_billed, 0, "the first process never billed");
    let last_heartbeat = row
        .client_seen_at
        .unwrap()
        .min(row.practitioner_seen_at.unwrap());
    let expected = domain::live::billing::minutes_started(
        (last_heartbeat - row.started_at.unwrap()).num_milliseconds(),
    );
    assert_eq!(expected, 3);

    // Restart: once the grace window has passed, the sweeper settles the session.
    let second = serve(&url, 100).await;
    let settled = ended(&second.base, &client, &id).await;
    assert_eq!(settled["minutes_billed"], expected);
    assert_eq!(settled["amount_charged"], i64::from(expected) * 2_000);
    assert_eq!(settled["end_reason"], "client_disconnected");
    let ended =
        chrono::DateTime::parse_from_rfc3339(settled["ended_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        ended.with_timezone(&Utc),
        last_heartbeat,
        "nothing after the last heartbeat"
    );
    drop(second);

    // A third start charges nothing more.
    let third = serve(&url, 100).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, v) = call(
        &third.base,
        Method::GET,
        "/api/v1/wallet",
        Some(&client),
        None,
    )
    .await;
    assert_eq!(v["available"], 100_000 - i64::from(expected) * 2_000);
    let minutes = store::entity::consultation_minute::Entity::find()
        .filter(store::entity::consultation_minute::Column::ConsultationId.eq(uuid))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(minutes.len() as u32, expected);
    for (currency, sum, _) in domain::ledger::trial_balance(&db).await.unwrap() {
        assert_eq!(sum, 0, "{currency} books do not balance");
    }
    assert!(
        domain::ledger::wallet_mismatches(&db)
            .await
            .unwrap()
            .is_empty()
    );
    let keys = store::entity::ledger_transfer::Entity::find()
        .filter(
            store::entity::ledger_transfer::Column::IdempotencyKey
                .starts_with(format!("live:{id}:")),
        )
        .all(&db)
        .await
        .unwrap();
    assert_eq!(
        keys.len() as u32,
        expected * 2,
        "client → practitioner and → platform, per minute"
    );
    drop(third);
}

/// Waits (up to 10 s) for consultation `id` to be ended by `base`'s worker; returns it.
async fn ended(base: &str, token: &str, id: &str) -> Value {
    for _ in 0..100 {
        let (_, v) = call(
            base,
            reqwest::Method::GET,
            &format!("/api/v1/consultations/{id}"),
            Some(token),
            None,
        )
        .await;
        if v["status"] == "ended" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the session is not settled after restart");
}

/// The settings of the outage tests' processes: heartbeats every second, the grace window
/// given.
fn outage_env(grace: &str) -> [(&str, &str); 2] {
    [
        ("AUGUR_NODE_HEARTBEAT_SECS", "1"),
        ("AUGUR_LIVE_GRACE_SECS", grace),
    ]
}

/// Starts a session on a real process whose heartbeats run every second and whose grace
/// window is `grace`, backdates its start by `ago` seconds, has both sides check in, and
/// kills the process: what a crash in the middle of a minute leaves.
async fn a_session_then_a_crash(url: &str, grace: &str, ago: i64) -> (People, String) {
    use reqwest::Method;
    let mut first = serve_env(url, 100, None, &outage_env(grace)).await;
    let base = first.base.clone();
    let who = people(url, &base).await;
    let (s, c) = call(
        &base,
        Method::POST,
        "/api/v1/consultations",
        Some(&who.client),
        Some(json!({"practitioner_id": who.practitioner_id, "channel": "chat"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &base,
        Method::POST,
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&who.practitioner),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200);
    let db = Database::connect(url).await.unwrap();
    store::entity::consultation::Entity::update_many()
        .col_expr(
            store::entity::consultation::Column::StartedAt,
            sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(ago)),
        )
        .filter(store::entity::consultation::Column::Id.eq(id.parse::<uuid::Uuid>().unwrap()))
        .exec(&db)
        .await
        .unwrap();
    for token in [&who.client, &who.practitioner] {
        let (s, _) = call(
            &base,
            Method::POST,
            &format!("/api/v1/consultations/{id}/heartbeat"),
            Some(token),
            Some(json!({})),
        )
        .await;
        assert_eq!(s, 200);
    }
    // Let the worker bill the first minute, then die without settling anything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    (who, id)
}

/// Down for 25 s, 45 s into the first minute, with a grace window of 60 s: both sides come
/// back and carry on. The 25 s nobody could talk are not billed: the session is still in
/// its first minute when it ends (without the cut it would be well into its second).
async fn an_outage_inside_the_grace_window_is_not_billed(b: Backend) {
    use reqwest::Method;
    let url = fresh_database_url(&b).await;
    let (who, id) = a_session_then_a_crash(&url, "60", 45).await;
    tokio::time::sleep(Duration::from_secs(25)).await;
    let second = serve_env(&url, 100, None, &outage_env("60")).await;
    for token in [&who.client, &who.practitioner] {
        let (s, v) = call(
            &second.base,
            Method::POST,
            &format!("/api/v1/consultations/{id}/heartbeat"),
            Some(token),
            Some(json!({})),
        )
        .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("active")), "{v}");
    }
    let (s, ended) = call(
        &second.base,
        Method::POST,
        &format!("/api/v1/consultations/{id}/end"),
        Some(&who.client),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200, "{ended}");
    assert_eq!(ended["end_reason"], "client_ended");
    assert_eq!(ended["minutes_billed"], 1, "{ended}");
    assert_eq!(ended["amount_charged"], 2_000);
    let db = Database::connect(url.as_str()).await.unwrap();
    let outages = store::entity::service_outage::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(outages.len(), 1);
    let down = outages[0].ended_at - outages[0].started_at;
    assert!(down >= chrono::Duration::seconds(25), "{down}");
}

/// Down longer than the grace window: the session ends, billed up to where both sides were
/// last seen, and it says the service was interrupted (not that a participant left). A
/// check-in arriving after the restart must not make the outage count as presence.
async fn an_outage_longer_than_the_grace_window_ends_the_session_as_interrupted(b: Backend) {
    use reqwest::Method;
    let url = fresh_database_url(&b).await;
    let (who, id) = a_session_then_a_crash(&url, "5", 55).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let second = serve_env(&url, 100, None, &outage_env("5")).await;
    for token in [&who.client, &who.practitioner] {
        call(
            &second.base,
            Method::POST,
            &format!("/api/v1/consultations/{id}/heartbeat"),
            Some(token),
            Some(json!({})),
        )
        .await;
    }
    let settled = ended(&second.base, &who.client, &id).await;
    assert_eq!(settled["end_reason"], "service_interrupted");
    assert_eq!(settled["minutes_billed"], 1, "{settled}");
    assert_eq!(settled["amount_charged"], 2_000);
}
