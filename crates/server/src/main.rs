//! The `augur` command: parse arguments, load configuration, hand over to the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use augur::app::{AppState, Application};
use augur::clock::SystemClock;
use augur::config::Config;
use augur::{db, demo, telemetry};

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
            let conn = db::connect(&config.database_url, 2).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
        }
        Command::Seed { demo: seed_demo } => {
            anyhow::ensure!(seed_demo, "nothing to seed: pass --demo");
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

async fn state(config: Config) -> anyhow::Result<AppState> {
    let conn = db::connect(&config.database_url, 4).await?;
    db::migrate(&conn).await?;
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
