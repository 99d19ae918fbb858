//! Listing benchmark: seeds 1,000 approved practitioners, drives `GET /api/v1/practitioners`
//! over HTTP with 64 concurrent connections, then runs the same queries directly against the
//! database in the same process with the same concurrency, and prints both and their ratio.
//!
//! `cargo run --release -p augur-bench --bin bench_listing` — SQLite always; PostgreSQL too when
//! `AUGUR_BENCH_POSTGRES_URL` (or `AUGUR_TEST_POSTGRES_URL`) names a server. `AUGUR_BENCH_SECS`
//! sets the measuring time per phase (default 10).

use std::sync::Arc;
use std::time::{Duration, Instant};

use augur::accounts::NewUser;
use augur::app::Application;
use augur::auth::Role;
use augur::demo::{PractitionerSeed, insert_practitioner};
use augur::practitioners::discovery::{ListQuery, Listing, Sort};
use augur::practitioners::{Availability, Channel, PractitionerKind, Verification};
use domain::config::Config;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, TransactionTrait};
use secrecy::SecretString;

const PRACTITIONERS: usize = 1_000;
const CONCURRENCY: usize = 64;

/// The request mix: every sort, with and without filters, first pages.
fn workload() -> Vec<(String, ListQuery)> {
    let q = |sort: Sort| ListQuery {
        sort: Some(sort),
        ..Default::default()
    };
    vec![
        ("sort=rating".into(), q(Sort::Rating)),
        ("sort=price".into(), q(Sort::Price)),
        ("sort=experience".into(), q(Sort::Experience)),
        ("sort=popularity".into(), q(Sort::Popularity)),
        (
            "kind=astrologer&sort=rating".into(),
            ListQuery {
                kind: Some(PractitionerKind::Astrologer),
                ..q(Sort::Rating)
            },
        ),
        (
            "language=hi&sort=rating".into(),
            ListQuery {
                language: Some("hi".into()),
                ..q(Sort::Rating)
            },
        ),
        (
            "online=true&sort=rating".into(),
            ListQuery {
                online: Some(true),
                ..q(Sort::Rating)
            },
        ),
        (
            "channel=call&max_price=3000&sort=price".into(),
            ListQuery {
                channel: Some(Channel::Call),
                max_price: Some(3000),
                ..q(Sort::Price)
            },
        ),
    ]
}

async fn seed(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    const KINDS: [&str; 4] = ["astrologer", "tarot_reader", "healer", "other"];
    const LANGS: [&[&str]; 4] = [&["hi", "en"], &["en"], &["ta", "en"], &["bn", "hi"]];
    const SPECS: [&[&str]; 4] = [
        &["vedic", "career"],
        &["tarot", "love"],
        &["reiki"],
        &["numerology", "vastu"],
    ];
    let now = chrono::Utc::now();
    let txn = db.begin().await?;
    for i in 0..PRACTITIONERS {
        let user = NewUser {
            email: Some(format!("bench{i}@example.com")),
            ..NewUser::new(Role::Practitioner, format!("Bench {i}"))
        }
        .into_active_model(now)
        .insert(&txn)
        .await?;
        let name = format!("Practitioner {i:04}");
        insert_practitioner(
            &txn,
            user.id,
            PractitionerSeed {
                kind: KINDS[i % 4],
                name: &name,
                bio: "Twenty years of readings on career, family and health questions.",
                languages: LANGS[i % 4],
                specializations: SPECS[(i / 4) % 4],
                years: (i % 35) as i32,
                chat: Some(1000 + (i as i64 * 37) % 5000),
                call: Some(1500 + (i as i64 * 53) % 6000),
                video: (i % 3 == 0).then_some(2500),
                rating_centi: 300 + ((i * 7919) % 200) as i32,
                rating_count: (i % 500) as i32,
                consultations: ((i * 104_729) % 10_000) as i32,
                availability: if i % 3 == 0 {
                    Availability::Online
                } else {
                    Availability::Offline
                },
                verification: if i % 20 == 19 {
                    Verification::Pending
                } else {
                    Verification::Approved
                },
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    // Fresh statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would give
    // a live database; without them the planner guesses on an empty table.
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

/// Which workload entry call `i` uses: every caller walks the whole mix, starting at a
/// different place, identically in both phases.
fn mix(i: usize) -> usize {
    i + i / CONCURRENCY
}

struct Figures {
    requests: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Figures {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

fn summarize(mut lat: Vec<Duration>, secs: f64) -> Figures {
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        requests: lat.len(),
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

/// Runs `op(i)` from `CONCURRENCY` tasks for `secs` (after a short warm-up) and collects latencies.
async fn drive<F, Fut>(secs: f64, op: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                op(i).await;
                if began >= measure_from {
                    lat.push(began.elapsed());
                }
                i += CONCURRENCY;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("bench task"));
    }
    summarize(all, secs)
}

async fn bench(label: &str, database_url: String, secs: f64) -> anyhow::Result<()> {
    let config = Config {
        bind: "127.0.0.1:0".parse()?,
        database_url,
        database_max_connections: std::env::var("AUGUR_BENCH_POOL")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(16),
        jwt_secret: Some(SecretString::from(
            "bench-secret-bench-secret-bench-secret-00",
        )),
        job_workers: 0,
        log_level: "warn".into(),
        ..Config::default()
    };
    let app = Application::build(config).await?;
    let db = app.state.db.clone();
    seed(&db).await?;
    let base_addr = app.addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    // A lean client: one raw HTTP/1.1 keep-alive connection per concurrent caller, so the
    // load generator takes as little of the shared CPU as possible.
    let addr = base_addr;
    let paths: Arc<Vec<String>> = Arc::new(
        workload()
            .iter()
            .map(|(q, _)| format!("/api/v1/practitioners?{q}"))
            .collect(),
    );
    let mut senders = Vec::new();
    for _ in 0..CONCURRENCY {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        senders.push(tokio::sync::Mutex::new(sender));
    }
    let senders = Arc::new(senders);
    let http = {
        let (senders, paths) = (senders.clone(), paths.clone());
        drive(secs, move |i| {
            let senders = senders.clone();
            let path = paths[mix(i) % paths.len()].clone();
            async move {
                let mut sender = senders[i % CONCURRENCY].lock().await;
                let req = hyper::Request::get(path)
                    .header("host", "bench")
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .expect("request");
                let res = sender.send_request(req).await.expect("response");
                assert!(
                    res.status().is_success(),
                    "listing failed: {}",
                    res.status()
                );
                let body = http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .expect("body");
                assert!(!body.to_bytes().is_empty());
            }
        })
        .await
    };
    let listings: Arc<Vec<Listing>> = Arc::new(
        workload()
            .into_iter()
            .map(|(_, q)| Listing::parse(q).expect("valid bench query"))
            .collect(),
    );
    let direct = {
        let db = db.clone();
        drive(secs, move |i| {
            let db = db.clone();
            let listings = listings.clone();
            async move {
                let page = listings[mix(i) % listings.len()]
                    .run(&db)
                    .await
                    .expect("query");
                assert!(!page.items.is_empty());
            }
        })
        .await
    };
    let _ = stop.send(());
    let _ = server.await;

    println!(
        "{label}: {PRACTITIONERS} practitioners, {CONCURRENCY} concurrent, {secs:.0} s per phase"
    );
    println!(
        "  HTTP   GET /api/v1/practitioners : {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests)",
        http.rps(),
        http.p50_ms,
        http.p99_ms,
        http.requests
    );
    println!(
        "  direct same queries in-process   : {:>8.0} q/s    p50 {:>6.2} ms  p99 {:>6.2} ms  ({} queries)",
        direct.rps(),
        direct.p50_ms,
        direct.p99_ms,
        direct.requests
    );
    println!(
        "  ratio HTTP / direct              : {:>8.2}  (goal: HTTP >= 4000 req/s, p99 < 50 ms -> {})",
        http.rps() / direct.rps(),
        if http.rps() >= 4000.0 && http.p99_ms < 50.0 {
            "met"
        } else {
            "not met"
        }
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::var("AUGUR_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let dir = std::env::temp_dir().join(format!("augur-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    bench(
        "SQLite",
        format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
        secs,
    )
    .await?;
    if std::env::var("AUGUR_BENCH_KEEP").is_ok() {
        println!("SQLite database kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }

    let pg = std::env::var("AUGUR_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("AUGUR_TEST_POSTGRES_URL"));
    if let Ok(url) = pg {
        let name = format!("augur_bench_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(url.as_str()).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let db_url = match url.rsplit_once('/') {
            Some((root, _))
                if root.contains("://") && root.len() > root.find("://").unwrap_or(0) + 3 =>
            {
                format!("{root}/{name}")
            }
            _ => format!("{url}/{name}"),
        };
        let result = bench("PostgreSQL", db_url, secs).await;
        if std::env::var("AUGUR_BENCH_KEEP").is_ok() {
            println!("PostgreSQL database kept: {name}");
        } else {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            admin.execute_unprepared(&drop).await.ok();
        }
        result?;
    } else {
        println!("PostgreSQL: skipped (set AUGUR_BENCH_POSTGRES_URL=postgres://…)");
    }
    Ok(())
}
