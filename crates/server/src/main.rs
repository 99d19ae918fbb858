//! The `augur` command: parse arguments, load configuration, hand over to the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use augur::app::{AppState, Application};
use augur::{demo, telemetry};
use domain::config::Config;
use store::clock::SystemClock;

/// mimalloc gives freed memory back to the system. With glibc's malloc, the 19 MiB argon2
/// buffers freed on blocking threads stayed in per-thread arenas for good: 50 sign-ups left
/// a node at 828 MiB resident (docs/benchmarks.md, "Memory after sign-ups").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "augur", version, about = "Consultation marketplace server")]
struct Cli {
    /// Configuration file (default: ./augur.toml when present).
    #[arg(long, global = true, env = "AUGUR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default command).
    Serve {
        /// Seed demo data on first start.
        #[arg(long)]
        demo: bool,
        /// Address to bind, e.g. 0.0.0.0:8080.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Seed data.
    Seed {
        /// Demo practitioners, clients and an admin (skipped when users exist).
        #[arg(long)]
        demo: bool,
    },
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Cast a birth chart and print it (no server or database needed).
    ///
    /// Example: augur chart --date 1990-05-17 --time 14:30 --tz Asia/Kolkata --lat 19.076 --lon 72.8777
    Chart(ChartCommand),
}

#[derive(clap::Args)]
struct ChartCommand {
    /// Local civil date of birth, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// Local clock time, HH:MM or HH:MM:SS (omit when unknown: cast for 12:00).
    #[arg(long)]
    time: Option<String>,
    /// IANA time zone of the birth place, e.g. Asia/Kolkata.
    #[arg(long)]
    tz: String,
    /// Latitude, degrees north (negative = south).
    #[arg(long, allow_hyphen_values = true)]
    lat: f64,
    /// Longitude, degrees east (negative = west).
    #[arg(long, allow_hyphen_values = true)]
    lon: f64,
    /// Place name shown in the output.
    #[arg(long)]
    place: Option<String>,
    /// lahiri, raman or krishnamurti.
    #[arg(long, default_value = "lahiri")]
    ayanamsa: String,
    /// whole-sign, equal or placidus.
    #[arg(long, default_value = "whole-sign")]
    houses: String,
    /// Rahu from the mean or the true node.
    #[arg(long, default_value = "mean")]
    node: String,
    /// Print the chart as JSON (the API's view).
    #[arg(long, conflicts_with = "svg")]
    json: bool,
    /// Print the chart as an SVG drawing.
    #[arg(long)]
    svg: bool,
    /// Drawing for --svg: north-indian, south-indian or western.
    #[arg(long, default_value = "north-indian", requires = "svg")]
    style: String,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "Admin")]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    telemetry::init(&config.log_level, config.log_json);
    match cli.command.unwrap_or(Command::Serve {
        demo: false,
        bind: None,
    }) {
        Command::Serve { demo, bind } => {
            config.demo |= demo;
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let app = Application::build(config).await?;
            tracing::info!(addr = %app.addr(), docs = %format!("http://{}/docs", app.addr()), "augur is serving");
            app.run_until(shutdown_signal()).await?;
            tracing::info!("augur stopped");
        }
        Command::Migrate => {
            let conn = store::connect(&config.database_url, 2).await?;
            store::migrate(&conn).await?;
            println!("migrations applied");
        }
        Command::Seed { demo: seed_demo } => {
            anyhow::ensure!(seed_demo, "nothing to seed: pass --demo");
            anyhow::ensure!(
                config.environment != domain::config::Environment::Production,
                "environment = \"production\" refuses demo data (its accounts share a published password)"
            );
            let state = state(config).await?;
            let seeded = demo::seed_if_empty(&state).await?;
            println!(
                "{}",
                if seeded {
                    "demo data seeded"
                } else {
                    "users exist; demo data not seeded"
                }
            );
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    name,
                },
        } => {
            let state = state(config).await?;
            let user = demo::create_admin(&state, &email, &password, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "admin {} created ({})",
                user.email.unwrap_or_default(),
                user.id
            );
        }
        // Pure computation: no database or server.
        Command::Chart(args) => chart(&args)?,
        Command::Openapi => {
            println!(
                "{}",
                augur::app::openapi()
                    .to_pretty_json()
                    .context("rendering OpenAPI")?
            );
        }
    }
    Ok(())
}

fn chart(args: &ChartCommand) -> anyhow::Result<()> {
    use augur::astrology::cli::{ChartArgs, Format, run};
    use augur::astrology::routes::ChartStyle;
    let format = if args.json {
        Format::Json
    } else if args.svg {
        Format::Svg(match args.style.as_str() {
            "north-indian" | "north_indian" | "north" => ChartStyle::NorthIndian,
            "south-indian" | "south_indian" | "south" => ChartStyle::SouthIndian,
            "western" | "wheel" => ChartStyle::Western,
            other => {
                anyhow::bail!("--style {other}: must be north-indian, south-indian or western")
            }
        })
    } else {
        Format::Table
    };
    match run(&ChartArgs {
        date: args.date.clone(),
        time: args.time.clone(),
        time_zone: args.tz.clone(),
        latitude: args.lat,
        longitude: args.lon,
        place: args.place.clone(),
        ayanamsa: args.ayanamsa.clone(),
        house_system: args.houses.clone(),
        node: args.node.clone(),
        format,
    }) {
        Ok(out) => {
            println!("{out}");
            Ok(())
        }
        Err(problems) => {
            eprintln!("augur chart: the input cannot be charted:\n{problems}");
            std::process::exit(2);
        }
    }
}

async fn state(config: Config) -> anyhow::Result<AppState> {
    let conn = store::connect(&config.database_url, 4).await?;
    store::migrate(&conn).await?;
    AppState::new(config, conn, std::sync::Arc::new(SystemClock)).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
