//! Memory benchmark: starts the release `augur` binary on a fresh SQLite directory, signs up
//! accounts over HTTP (each one an argon2id hash of 19 MiB), and prints the server process's
//! resident memory (`VmRSS` from /proc) idle, right after the sign-ups, and after an idle
//! pause, with the peak (`VmHWM`). The goal: after the pause, at most 100 MiB above idle.
//!
//! `cargo build --release -p augur && cargo run --release -p augur-bench --bin bench_memory`
//!
//! `AUGUR_BENCH_SIGNUPS` (default 200), `AUGUR_BENCH_CONCURRENCY` (16) and
//! `AUGUR_BENCH_IDLE_SECS` (30) change the run; `AUGUR_BENCH_SERVER_BIN` names another
//! server binary (default: `augur` beside this program). Linux only (/proc).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::json;

const MIB: f64 = 1024.0 * 1024.0;
const GOAL_MIB: f64 = 100.0;

fn env_or(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name} must be a number")),
        Err(_) => Ok(default),
    }
}

/// `augur` beside this program (`target/release/bench_memory` → `target/release/augur`), unless `AUGUR_BENCH_SERVER_BIN` names one.
fn server_binary() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os("AUGUR_BENCH_SERVER_BIN") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("augur"))
            .context("locating the target directory")?,
    };
    if !path.is_file() {
        bail!(
            "the server binary {} is missing: run `cargo build --release -p augur` first",
            path.display()
        );
    }
    Ok(path)
}

/// The number on a line of /proc/<pid>/status (memory lines are in KiB).
fn proc_status(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("malformed status line")?
        .parse()?)
}

fn mib(kib: u64) -> f64 {
    (kib * 1024) as f64 / MIB
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let signups = env_or("AUGUR_BENCH_SIGNUPS", 200)? as usize;
    let concurrency = env_or("AUGUR_BENCH_CONCURRENCY", 16)?.max(1) as usize;
    let idle_secs = env_or("AUGUR_BENCH_IDLE_SECS", 30)?;
    let bin = server_binary()?;

    let dir = std::env::temp_dir().join(format!("augur-bench-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(&bin)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        // No augur.toml or settings from the caller.
        .current_dir(&dir)
        .env_remove("AUGUR_CONFIG")
        .env_remove("AUGUR_REDIS_URL")
        .env(
            "AUGUR_DATABASE_URL",
            format!("sqlite://{}/augur.db?mode=rwc", dir.display()),
        )
        .env(
            "AUGUR_JWT_SECRET",
            "bench-memory-secret-bench-memory-secret-0123",
        )
        .env("AUGUR_LOG_LEVEL", "warn")
        // Every sign-up comes from one address; the default (30 a minute) would refuse most.
        .env("AUGUR_LOGIN_LIMIT_PER_IP", "100000000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id().context("the server exited at once")?;

    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/health/ready")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !ready {
        bail!("the server did not become ready");
    }
    // Let start-up work (migrations, job workers' first polls) settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = proc_status(pid, "VmRSS:")?;

    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..signups)
        .map(|i| {
            let http = http.clone();
            let base = base.clone();
            async move {
                let res = http
                    .post(format!("{base}/api/v1/auth/register"))
                    .json(&json!({
                        "email": format!("bench-{i}@example.com"),
                        "password": "a long bench passphrase",
                        "first_name": "Bench",
                    }))
                    .send()
                    .await?;
                if res.status() != 201 {
                    bail!("sign-up {i}: {} {}", res.status(), res.text().await?);
                }
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let took = started.elapsed();
    for r in results {
        r?;
    }
    let after = proc_status(pid, "VmRSS:")?;
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let rested = proc_status(pid, "VmRSS:")?;
    let peak = proc_status(pid, "VmHWM:")?;
    let threads = proc_status(pid, "Threads:").unwrap_or(0);

    child.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("bench_memory: {signups} sign-ups, {concurrency} at a time, {cores} cores");
    println!(
        "  sign-ups took {:.1} s ({:.0}/s)",
        took.as_secs_f64(),
        signups as f64 / took.as_secs_f64()
    );
    println!("  resident idle:                 {:>7.1} MiB", mib(idle));
    println!("  resident after the sign-ups:   {:>7.1} MiB", mib(after));
    println!(
        "  resident after {idle_secs:>3} s idle:      {:>7.1} MiB",
        mib(rested)
    );
    println!("  peak resident (VmHWM):         {:>7.1} MiB", mib(peak));
    println!("  server threads at the end:     {threads:>7}");
    let growth = mib(rested) - mib(idle);
    println!(
        "  kept after the pause: {growth:+.1} MiB over idle (goal ≤ {GOAL_MIB:.0} MiB): {}",
        if growth <= GOAL_MIB { "met" } else { "MISSED" }
    );
    Ok(())
}
