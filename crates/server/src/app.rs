//! Application state and assembly: builds the router with every feature, the shared
//! middleware (request ids, metrics, problem+json for every error), health, metrics and
//! API docs; `Application::build` binds the listener and reports the address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::token::Keys;
use crate::error::{ApiError, PROBLEM_JSON};
use crate::http::REQUEST_ID;
use crate::ratelimit::{MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use crate::{accounts, admin, auth, demo, payments, practitioners, promos, wallet};
use domain::config::Config;
use domain::{Services, jobs};
use store::clock::{SharedClock, SystemClock};

/// What every handler is given: the domain's services, plus what only the HTTP layer
/// uses (rate limits, the sockets' sign-ins, RTC keys, the rendered API document).
/// Derefs to `Services`, so a handler passes `&app` wherever a service is called.
#[derive(Clone)]
pub struct AppState {
    services: Services,
    pub limiter: Arc<dyn RateLimiter>,
    /// The sign-ins behind this node's open sockets, re-checked together.
    pub sockets: Arc<crate::live::sessions::SocketSessions>,
    /// Agora credentials for call and video tokens.
    pub rtc: Arc<crate::live::aftercare::RtcKeys>,
    openapi_json: Arc<String>,
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let keys = match &config.jwt_secret {
            Some(secret) => Keys::new(secret.expose_secret().as_bytes()),
            None => match store::local_secret_file(&config.database_url) {
                // Single-node SQLite: keep a generated key beside the database so tokens
                // survive restarts without any set-up.
                Some(path) => Keys::new(&load_or_create_secret(&path)?),
                None => {
                    tracing::warn!(
                        "AUGUR_JWT_SECRET is not set: using a random key; tokens end with this process"
                    );
                    Keys::random()
                }
            },
        };
        let limiter: Arc<dyn RateLimiter> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisRateLimiter::new(url, &config.redis_prefix)
                    .with_context(|| format!("rate limits in {}", store::redact_url(url)))?,
            ),
            None => Arc::new(MemoryRateLimiter::default()),
        };
        let rtc = Arc::new(crate::live::aftercare::RtcKeys::from_config(&config));
        Ok(Self {
            services: Services::new(config, db, clock, keys).await?,
            limiter,
            sockets: Arc::default(),
            rtc,
            openapi_json: Arc::new(openapi().to_pretty_json().context("rendering OpenAPI")?),
        })
    }
}

fn load_or_create_secret(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(path)
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..64)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect()
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    opts.open(path)
        .and_then(|mut f| f.write_all(secret.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Augur API",
        description = "Consultation marketplace: accounts, practitioners, discovery, wallet and payments, astrology and tarot. Errors are application/problem+json with a stable `code`.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    // Enums used only in query parameters are referenced by name, so list them here.
    components(schemas(
        crate::practitioners::Verification,
        crate::practitioners::Channel,
        crate::practitioners::discovery::Sort,
        crate::practitioners::PractitionerKind,
        crate::astrology::AyanamsaName,
        crate::astrology::HouseSystemName,
        crate::astrology::NodeName,
        crate::astrology::routes::ChartStyle,
    )),
    tags(
        (name = "auth", description = "Sign up, sign in, tokens, phone OTP"),
        (name = "me", description = "My profile, birth details, sessions, favorites"),
        (name = "practitioners", description = "Practitioner profiles and discovery"),
        (name = "wallet", description = "My wallet balances, history and top-ups"),
        (name = "payments", description = "Gateway webhooks"),
        (name = "astrology", description = "Birth charts (JSON and SVG), dasha, compatibility, panchang, daily horoscopes"),
        (name = "tarot", description = "Tarot decks, spreads and auditable readings"),
        (name = "consultations", description = "Live consultations: presence, requests, per-minute billing"),
        (name = "notifications", description = "My notifications: inbox, preferences, quiet hours, push devices, unsubscribe"),
        (name = "admin", description = "Reviews, account status, wallets, ledger, audit log, jobs, notification templates and deliveries"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes::router())
        .merge(accounts::routes::router())
        .merge(practitioners::favorites::router())
        .merge(practitioners::profile::router())
        .merge(practitioners::discovery::router())
        .merge(admin::routes::router())
        .merge(admin::overview::router())
        .merge(admin::oversight::router())
        .merge(wallet::routes::router())
        .merge(payments::routes::router())
        .merge(payments::packages::router())
        .merge(payments::refunds::router())
        .merge(crate::payouts::routes::router())
        .merge(promos::routes::router())
        .merge(crate::astrology::routes::router())
        .merge(crate::astrology::horoscopes::router())
        .merge(crate::readings::router())
        .merge(crate::live::routes::router())
        .merge(crate::live::aftercare::router())
        .merge(crate::live::waitlist::router())
        .merge(crate::live::attachments::router())
        .merge(crate::scheduling::routes::router())
        .merge(crate::scheduling::booking_routes::router())
        .merge(crate::notifications::inbox::router())
        .merge(crate::notifications::preferences::router())
        .merge(crate::notifications::devices::router())
        .merge(crate::notifications::admin::router())
}

/// The OpenAPI 3.1 document, generated from the handlers and completed with the problem
/// responses every operation can produce (`problem_docs`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let mut doc = api_routes().split_for_parts().1;
    crate::problem_docs::ProblemResponses.modify(&mut doc);
    doc
}

#[derive(Clone, Default)]
struct UuidV7RequestId;

impl MakeRequestId for UuidV7RequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let (mut api, _) = api_routes().split_for_parts();
    if state.config.payment_gateway == domain::config::GatewayKind::Sandbox {
        api = api.merge(payments::routes::sandbox_router());
    }
    let body_limit = state.config.max_body_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let console = crate::console::router(state.clone(), api.clone().with_state(state.clone()));
    let mut public = Router::new()
        .merge(api)
        .route("/health/live", get(live))
        .route("/health/ready", get(ready));
    if domain::metrics::on_public_listener(&state.config) {
        public = public.route("/metrics", get(metrics));
    }
    public
        .route("/api/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        // The two-tab live demo became the console's live panels.
        .route("/demo/live", get(|| async { Redirect::to("/console") }))
        .route("/", get(|| async { Redirect::to("/console") }))
        .with_state(state.clone())
        .merge(console)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(run_to_completion))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, UuidV7RequestId))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
}

/// Runs the handler on its own task, so a client that disconnects (or the timeout layer)
/// drops only the wait for the answer, never the work half-way. A handler cancelled inside a
/// database transaction could otherwise hand its connection back to the pool with the
/// transaction still open, and later writes on it would never commit.
async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    // Reads open no transactions; they keep the cheaper in-place path.
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        return next.run(req).await;
    }
    let request_id = crate::http::current_request_id().unwrap_or_default();
    let work = REQUEST_ID
        .scope(request_id, next.run(req))
        .instrument(tracing::Span::current());
    match tokio::spawn(work).await {
        Ok(response) => response,
        Err(e) => ApiError::internal(anyhow::anyhow!("request task failed: {e}")).into_response(),
    }
}

/// Records metrics, scopes the request id for error bodies, and turns any error response
/// that is not already problem+json (unknown route, body too large, timeout) into one.
async fn observe(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let response = REQUEST_ID.scope(request_id.clone(), next.run(req)).await;
    let response = REQUEST_ID
        .scope(request_id, async move { ensure_problem(response) })
        .await;
    app.metrics.observe(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn ensure_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // The console's pages answer errors as pages.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page {
        return response;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "Nothing is found at this address"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This address does not accept this method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "This content type is not accepted",
        ),
        s if s.is_server_error() => ("internal_error", "The server failed to handle this request"),
        _ => ("bad_request", "The request could not be handled"),
    };
    let mut err = ApiError::new(status, code, detail);
    if let Some(v) = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
    {
        err.retry_after_secs = v.parse().ok();
    }
    err.into_response()
}

/// An unknown address: a page for a browser outside the API, the problem document for
/// everyone else.
async fn not_found(headers: axum::http::HeaderMap, uri: axum::http::Uri) -> Response {
    if crate::console::wants_html(&headers) && !uri.path().starts_with("/api/") {
        return crate::console::not_found_page();
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "Nothing is found at this address",
    )
    .into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This address does not accept this method",
    )
}

async fn live() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn ready(State(app): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    app.db.execute_unprepared("SELECT 1").await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "The database is not reachable",
        )
    })?;
    Ok(axum::Json(
        serde_json::json!({"status": "ok", "database": app.db.get_database_backend().as_str()}),
    ))
}

/// Prometheus text; with `metrics_token` set, only for `Authorization: Bearer <token>`.
async fn metrics(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &app.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !domain::metrics::token_matches(given, token.expose_secret()) {
            return ApiError::unauthorized(
                "metrics_token_required",
                "Send the metrics token: Authorization: Bearer <metrics_token>",
            )
            .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

/// The metrics listener's router (`metrics_bind`): `/metrics` and nothing else.
fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

async fn openapi_json(State(app): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(app.openapi_json.as_str().to_owned()),
    )
        .into_response()
}

async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// A bound, migrated server that has not started serving yet.
pub struct Application {
    pub state: AppState,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    /// The metrics listener, when `metrics_bind` gives them an address of their own.
    metrics: Option<(tokio::net::TcpListener, SocketAddr)>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Connects, migrates, seeds demo data when asked, and binds (port 0 picks one).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        // Again here: command-line flags (`--demo`) are applied after the file was loaded.
        config.check()?;
        let db = store::connect(&config.database_url, config.database_max_connections).await?;
        store::migrate(&db).await?;
        crate::readings::sync_catalog(&db, clock.now())
            .await
            .context("synchronising the tarot catalog")?;
        crate::scheduling::seed_service_types(&db, clock.now())
            .await
            .context("adding the default service types")?;
        domain::notifications::templates::sync_defaults(&db, clock.now())
            .await
            .context("synchronising the default notification templates")?;
        let state = AppState::new(config, db, clock).await?;
        // Before anything is billed or served: the outage this start ends, if any.
        domain::live::outages::start(
            &state.db,
            &state.outages,
            &state.node_id,
            state.clock.now(),
            state.config.node_heartbeat_secs,
        )
        .await
        .context("recording this node's heartbeat")?;
        if state.config.demo {
            demo::seed_if_empty(&state).await?;
        }
        let listener = tokio::net::TcpListener::bind(state.config.bind)
            .await
            .with_context(|| format!("binding {}", state.config.bind))?;
        let addr = listener.local_addr()?;
        state.set_public_url(format!("http://{addr}"));
        let metrics = match state.config.metrics_bind {
            Some(bind) => {
                let l = tokio::net::TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("binding metrics_bind {bind}"))?;
                let a = l.local_addr()?;
                Some((l, a))
            }
            None => None,
        };
        Ok(Self {
            state,
            listener,
            addr,
            metrics,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served when `metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, a)| *a)
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        jobs::spawn_workers(&self.state, self.state.config.job_workers, stop_rx.clone());
        if self.state.config.job_workers > 0 {
            jobs::spawn_maintenance(&self.state, stop_rx.clone());
        }
        crate::live::sessions::spawn_checks(&self.state, stop_rx.clone());
        domain::live::outages::spawn_heartbeat(&self.state, stop_rx.clone());
        if self.state.config.live_tick_ms > 0 {
            domain::live::engine::spawn_worker(&self.state, stop_rx.clone());
        }
        if let Some((listener, _)) = self.metrics {
            let app = metrics_router(self.state.clone());
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stop.changed().await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        let app = router(self.state.clone());
        // Socket frames are small and written back to back (an ack, then the echo and the
        // other side's message). With Nagle's algorithm each waits for the ACK of the one
        // before, which the peer delays by up to ~40 ms: chat latency at moderate load.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
        let _ = stop_tx.send(true);
        self.state.db.clone().close().await.ok();
        Ok(())
    }
}
