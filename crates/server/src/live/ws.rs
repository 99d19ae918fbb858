//! `/api/v1/ws`: one authenticated WebSocket per client device. Client frames are JSON with
//! a `type` and an `id` the server acknowledges (`ack`) or refuses (`error`); server frames
//! are the user's bus topic (consultation events, chat messages, receipts, typing) plus a
//! `resync` when the bus may have dropped something. Any frame from the client is a sign of
//! life for its active consultations (and, for a practitioner, for their presence).
//!
//! Memory per connection is kept small: tungstenite's read and write buffers are a few KiB
//! instead of the 128 KiB default, and frames are capped at 64 KiB.
//!
//! Limits: each socket has token buckets for `message`, `typing` and other frames; a frame
//! over its budget is answered `rate_limited` and not handled, and a socket that keeps
//! flooding is closed with [`CLOSE_RATE`]. A user holds at most `ws_max_sockets_per_user`
//! sockets on a node; one more is closed with [`CLOSE_TOO_MANY`]. Error frames carry a
//! stable code and our own wording only: what went wrong inside is logged under the
//! upgrade's request id.

use std::time::{Duration as StdDuration, Instant};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use super::sessions::Ended;
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::error::ApiError;
use crate::http::ApiQuery;
use bus::BusEvent;
use domain::live::chat::{self, Participants};
use domain::live::events::user_topic;
use domain::live::liveness::Noted;

/// Read and write buffers per socket (tungstenite's default is 128 KiB each).
const SOCKET_BUFFER: usize = 4 * 1024;
/// Largest frame or message a client may send.
const MAX_FRAME: usize = 64 * 1024;
/// History sent in answer to one `sync`.
const SYNC_LIMIT: u64 = 500;
/// A socket's frames record liveness (its user's active sessions, a practitioner's presence)
/// at most this often, by the server clock. Recording it on every frame was a write
/// transaction per chat message, half of chat's cost; billing and presence judge absence in
/// tens of seconds (`live_grace_secs`, `presence_timeout_secs`), so a few seconds of lag in
/// `seen_at` changes no outcome beyond when a new minute is first charged.
pub const TOUCH_EVERY_SECS: i64 = 5;
/// Consultations whose participants one socket remembers (a client has one open
/// consultation, a practitioner at most ten); beyond it the memory starts over.
const REMEMBERED: usize = 16;
/// `message` frames one socket may have queued and not yet answered. A client may send its
/// next frames before the previous ones are acked (the order still holds); this bounds what
/// one socket puts in the chat writer's queue.
const IN_FLIGHT: usize = 32;
/// Bus events taken at most, after the one that woke the socket, into one write.
const COALESCE: usize = 64;

/// Close code for a socket that kept sending over its frame rates (private range, RFC 6455).
pub const CLOSE_RATE: u16 = 4008;
/// Close code for a socket beyond its user's `ws_max_sockets_per_user` on this node.
pub const CLOSE_TOO_MANY: u16 = 4009;

/// A token bucket on the monotonic clock: `rate` frames a second, `burst` at once. The
/// manual clock of the tests is not used: a flood is a matter of real time.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// `None` (no limit) when `rate` is 0.
    fn new(rate: u32, burst: u32, now: Instant) -> Option<Self> {
        (rate > 0).then(|| {
            let burst = f64::from(burst.max(1));
            Self {
                rate: f64::from(rate),
                burst,
                tokens: burst,
                at: now,
            }
        })
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Which budget a frame spends.
#[derive(Clone, Copy)]
enum Budget {
    Message,
    Typing,
    /// Receipts, pings, syncs and frames that are not understood.
    Other,
}

/// What the rate limits say about one frame.
#[derive(Debug, PartialEq, Eq)]
enum Admit {
    Pass,
    /// Answer `rate_limited` and do not handle it.
    Refuse,
    /// Refused too often: close the socket.
    Close,
}

/// One socket's frame budgets. Separate buckets, so a chatty client's typing indicators
/// never eat into its messages.
struct Limits {
    messages: Option<Bucket>,
    typing: Option<Bucket>,
    other: Option<Bucket>,
    /// Refusals a socket may earn, recovering one a second; past them it is closed.
    strikes: Option<Bucket>,
}

impl Limits {
    fn new(cfg: &domain::config::Config) -> Self {
        let now = Instant::now();
        Self {
            messages: Bucket::new(cfg.ws_messages_per_sec, cfg.ws_messages_burst, now),
            typing: Bucket::new(
                cfg.ws_typing_per_sec,
                cfg.ws_typing_per_sec.saturating_mul(2),
                now,
            ),
            other: Bucket::new(
                cfg.ws_receipts_per_sec,
                cfg.ws_receipts_per_sec.saturating_mul(2),
                now,
            ),
            strikes: Bucket::new(1, cfg.ws_flood_strikes, now).filter(|_| cfg.ws_flood_strikes > 0),
        }
    }

    fn admit(&mut self, budget: Budget) -> Admit {
        let now = Instant::now();
        let bucket = match budget {
            Budget::Message => &mut self.messages,
            Budget::Typing => &mut self.typing,
            Budget::Other => &mut self.other,
        };
        if bucket.as_mut().is_none_or(|b| b.take(now)) {
            return Admit::Pass;
        }
        match self.strikes.as_mut().map(|s| s.take(now)) {
            Some(false) => Admit::Close,
            _ => Admit::Refuse,
        }
    }
}

fn budget_of(frame: &Result<ClientFrame, String>) -> Budget {
    match frame {
        Ok(ClientFrame::Message { .. }) => Budget::Message,
        Ok(ClientFrame::Typing { .. }) => Budget::Typing,
        _ => Budget::Other,
    }
}

/// The `id` of a raw frame, for answering one that is not handled.
fn frame_id(raw: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned))
}

fn rate_limited() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many frames of this kind; slow down",
    )
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// A reply to one client frame, ready or to come.
type Reply = futures::future::BoxFuture<'static, String>;

/// What one socket remembers between frames.
#[derive(Default)]
struct Conn {
    /// When this socket last recorded liveness.
    last_touch: Option<DateTime<Utc>>,
    /// Consultations this user takes part in. Participants never change, so a message frame
    /// needs no read of the consultation; the chat writer checks that it is still active.
    participants: Vec<Participants>,
}

impl Conn {
    async fn participants(
        &mut self,
        app: &AppState,
        user: Uuid,
        consultation_id: Uuid,
    ) -> Result<Participants, ApiError> {
        if let Some(p) = self
            .participants
            .iter()
            .find(|p| p.consultation_id == consultation_id)
        {
            return Ok(*p);
        }
        let p = chat::participants(app, user, consultation_id).await?;
        if self.participants.len() >= REMEMBERED {
            self.participants.clear();
        }
        self.participants.push(p);
        Ok(p)
    }

    /// Queues a liveness note unless this socket did within `TOUCH_EVERY_SECS`; the note
    /// resolves once stored (see `live::liveness`). A note that fails is retried by the
    /// first frame after the next period.
    fn touch(&mut self, app: &AppState, user: &AuthUser) -> Option<Noted> {
        let now = app.clock.now();
        let due = self
            .last_touch
            .is_none_or(|t| now < t || now - t >= chrono::Duration::seconds(TOUCH_EVERY_SECS));
        if !due {
            return None;
        }
        self.last_touch = Some(now);
        Some(
            app.liveness
                .note(user.id, user.role == Role::Practitioner, now),
        )
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The access token, for browsers (they cannot set headers on a WebSocket).
    pub access_token: Option<String>,
}

/// Open the realtime socket (HTTP 101). Authenticate with `Authorization: Bearer …` or
/// `?access_token=…`. See docs/live.md for the frames.
#[utoipa::path(get, path = "/api/v1/ws", tag = "consultations", params(WsQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request (`websocket_upgrade_required`), or the query is not understood", body = crate::error::Problem),
        (status = 401, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn upgrade(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WsQuery>,
    // Taken as a result so that the token is checked first and a plain HTTP request is
    // told, as problem+json, what is missing.
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let header_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let Some(token) = header_token.or(q.access_token) else {
        return ApiError::unauthorized(
            "missing_token",
            "Send an access token: Authorization: Bearer <token> or ?access_token=",
        )
        .into_response();
    };
    let user = match crate::auth::authenticate(&app, &token).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rej) => {
            return ApiError::new(rej.status(), "websocket_upgrade_required", rej.body_text())
                .into_response();
        }
    };
    // The socket's own logs (an error frame's cause above all) carry the upgrade's id.
    let span = tracing::info_span!(
        "ws",
        request_id = %crate::http::current_request_id().unwrap_or_default(),
        user = %user.id,
    );
    ws.read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| serve(app, user, socket).instrument(span))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Ping {
        id: String,
    },
    Message {
        id: String,
        consultation_id: Uuid,
        text: String,
    },
    Delivered {
        id: String,
        consultation_id: Uuid,
        message_id: Uuid,
    },
    Read {
        id: String,
        consultation_id: Uuid,
        message_id: Uuid,
    },
    Typing {
        id: String,
        consultation_id: Uuid,
    },
    /// Send me the messages after `after` (all of them when absent).
    Sync {
        id: String,
        consultation_id: Uuid,
        after: Option<Uuid>,
    },
}

/// The `error` frame for `err`: its stable code and our wording. A server error says only
/// that it failed; its cause goes to the log (inside the socket's span, with the upgrade's
/// request id), never to the client.
fn error_frame(id: Option<&str>, err: &ApiError) -> String {
    if err.status.is_server_error() {
        match &err.source {
            Some(src) => {
                tracing::error!(frame = ?id, code = err.code, error = ?src, "frame failed")
            }
            None => {
                tracing::error!(frame = ?id, code = err.code, detail = %err.detail, "frame failed")
            }
        }
        return json!({"type": "error", "id": id, "code": err.code,
            "detail": "The server failed to handle this frame"})
        .to_string();
    }
    let p = err.to_problem(None);
    json!({"type": "error", "id": id, "code": p.code, "detail": p.detail, "errors": p.errors})
        .to_string()
}

async fn serve(app: AppState, user: AuthUser, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    // A socket outlives its token: the node re-checks the sign-ins behind its sockets
    // (`live::sessions`), so a suspension or a sign-out ends this one too.
    let Ok(mut sign_in) = app.sockets.join(&user, app.config.ws_max_sockets_per_user) else {
        let e = ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_sockets",
            "This account has as many sockets open as it may; close one first",
        );
        let _ = tx
            .send(Message::Text(Utf8Bytes::from(error_frame(None, &e))))
            .await;
        let _ = tx.send(close(CLOSE_TOO_MANY, "too many sockets")).await;
        return;
    };
    let mut sub = match app.bus.subscribe(&user_topic(user.id)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the event bus is unavailable");
            let _ = tx
                .send(Message::Text(Utf8Bytes::from(error_frame(
                    None,
                    &ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "realtime_unavailable",
                        "Live events are unavailable; try again shortly",
                    ),
                ))))
                .await;
            return;
        }
    };
    app.metrics
        .ws_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // The server pings this often, drops a socket silent for two periods, and re-checks
    // the account each time.
    let mut ping = tokio::time::interval(StdDuration::from_secs(app.config.ws_ping_secs.max(1)));
    ping.tick().await;
    let mut silent_periods = 0u8;
    let mut conn = Conn::default();
    let mut limits = Limits::new(&app.config);
    // Set when the socket is to be closed after this round's frames are written.
    let mut closing: Option<Message> = None;
    // Replies to the client's frames, in the order the frames came.
    let mut replies: FuturesOrdered<Reply> = FuturesOrdered::new();
    // Frames to write with the next flush.
    let mut out: Vec<Message> = Vec::new();
    'socket: loop {
        tokio::select! {
            // Pending events go out before the next client frame is handled. Forwarding one is
            // cheap, handling a frame waits on the database: polled in random order, a socket
            // whose client keeps sending forwarded about one event per frame while chat brings
            // two (the other side's message and the echo of its own), so its queue overflowed
            // and dropped events (`resync`) under load.
            biased;
            event = sub.next_event() => {
                let Some(event) = event else { break };
                out.extend(event_frame(event));
            }
            Some(reply) = replies.next(), if !replies.is_empty() => {
                out.push(Message::Text(Utf8Bytes::from(reply)));
            }
            _ = ping.tick() => {
                silent_periods += 1;
                if silent_periods > 2 || tx.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            ended = sign_in.ended() => {
                let e = match ended {
                    Ended::Suspended => ApiError::forbidden(
                        "account_suspended",
                        "This account is not active",
                    ),
                    Ended::SignedOut => ApiError::unauthorized(
                        "invalid_token",
                        "The session has ended; sign in again",
                    ),
                };
                let _ = tx.send(Message::Text(Utf8Bytes::from(error_frame(None, &e)))).await;
                break;
            }
            frame = rx.next(), if replies.len() < IN_FLIGHT => {
                let Some(Ok(frame)) = frame else { break };
                silent_periods = 0;
                // What the frame is, and which budget it spends (control frames spend none).
                let (parsed, budget) = match &frame {
                    Message::Text(text) => {
                        let parsed = parse(text.as_str());
                        let budget = budget_of(&parsed);
                        (Some(parsed), Some(budget))
                    }
                    Message::Binary(_) => (None, Some(Budget::Other)),
                    _ => (None, None),
                };
                let admit = budget.map_or(Admit::Pass, |b| limits.admit(b));
                let refused = admit != Admit::Pass;
                if refused {
                    // Answered in order like any frame, and otherwise dropped.
                    let id = match &frame {
                        Message::Text(text) => frame_id(text.as_str()),
                        _ => None,
                    };
                    replies.push_back(Box::pin(std::future::ready(error_frame(
                        id.as_deref(),
                        &rate_limited(),
                    ))));
                    if admit == Admit::Close {
                        tracing::info!("socket closed for flooding");
                        closing = Some(close(CLOSE_RATE, "policy: rate"));
                    }
                }
                match parsed {
                    _ if refused => {}
                    Some(Err(reply)) => replies.push_back(Box::pin(std::future::ready(reply))),
                    Some(Ok(ClientFrame::Message { id, consultation_id, text })) => {
                        let touched = conn.touch(&app, &user);
                        let reply =
                            queue_message(&app, &user, &mut conn, id, consultation_id, &text)
                                .await;
                        replies.push_back(after_noted(reply, touched));
                    }
                    Some(Ok(frame)) => {
                        // Every earlier frame is answered first: a `sync` or a receipt
                        // after a message sees that message stored.
                        while let Some(reply) = replies.next().await {
                            out.push(Message::Text(Utf8Bytes::from(reply)));
                        }
                        let touched = conn.touch(&app, &user);
                        let reply = handle(&app, &user, &mut conn, frame).await;
                        if let Some(noted) = touched {
                            noted.stored().await;
                        }
                        out.push(Message::Text(Utf8Bytes::from(reply)));
                    }
                    None => match frame {
                        Message::Binary(_) => replies.push_back(Box::pin(std::future::ready(
                            error_frame(None, &ApiError::bad_request(
                                "invalid_frame", "Frames are JSON text")),
                        ))),
                        Message::Close(_) => break,
                        _ => {}
                    },
                }
            }
        }
        // Whatever else is ready now goes out with the same write: under load a socket has
        // several events and replies at once, and one flush per frame was a system call each.
        for _ in 0..COALESCE {
            let Some(event) = sub.try_next_event() else {
                break;
            };
            out.extend(event_frame(event));
        }
        while let Some(Some(reply)) = replies.next().now_or_never() {
            out.push(Message::Text(Utf8Bytes::from(reply)));
        }
        if let Some(close) = closing.take() {
            // The flooder hears why: its earlier frames' answers (waited for briefly), the
            // `rate_limited` frames, then the close.
            while let Ok(Some(reply)) =
                tokio::time::timeout(StdDuration::from_secs(2), replies.next()).await
            {
                out.push(Message::Text(Utf8Bytes::from(reply)));
            }
            out.push(close);
            for frame in out.drain(..) {
                if tx.feed(frame).await.is_err() {
                    break;
                }
            }
            let _ = tx.flush().await;
            break;
        }
        if out.is_empty() {
            continue;
        }
        for frame in out.drain(..) {
            if tx.feed(frame).await.is_err() {
                break 'socket;
            }
        }
        if tx.flush().await.is_err() {
            break;
        }
    }
    app.metrics
        .ws_connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

/// `reply`, once `touched` (the liveness its frame proved) is stored too.
fn after_noted(reply: Reply, touched: Option<Noted>) -> Reply {
    match touched {
        None => reply,
        Some(noted) => Box::pin(async move { futures::join!(reply, noted.stored()).0 }),
    }
}

/// The frame a bus event becomes on the socket.
fn event_frame(event: BusEvent) -> Option<Message> {
    match event {
        BusEvent::Message(bytes) => Utf8Bytes::try_from(bytes).ok().map(Message::Text),
        // Something may be lost: the client re-reads what it shows.
        BusEvent::Missed { .. } => Some(Message::Text(Utf8Bytes::from_static(
            r#"{"type":"resync"}"#,
        ))),
    }
}

/// The client's frame, or the error frame that answers it.
fn parse(raw: &str) -> Result<ClientFrame, String> {
    serde_json::from_str(raw).map_err(|e| {
        // The parser's message names our types and fields: logged, not sent.
        tracing::debug!(error = %e, "invalid frame");
        let id = frame_id(raw);
        error_frame(
            id.as_deref(),
            &ApiError::bad_request(
                "invalid_frame",
                "Frames are JSON objects with a known `type`, an `id` and that type's fields",
            ),
        )
    })
}

/// Checks and queues a `message` frame for the chat writer; the reply resolves once it is
/// stored and fanned out. The socket reads its next frame meanwhile: frames are queued in
/// the order they arrive and stored in that order.
async fn queue_message(
    app: &AppState,
    user: &AuthUser,
    conn: &mut Conn,
    id: String,
    consultation_id: Uuid,
    text: &str,
) -> Reply {
    let queued = async {
        let to = conn.participants(app, user.id, consultation_id).await?;
        Ok::<_, ApiError>(chat::queue_to(app, user.id, to, Some(&id), text).await?)
    }
    .await;
    match queued {
        Ok(queued) => {
            Box::pin(async move { message_ack(&id, queued.answer().await.map_err(ApiError::from)) })
        }
        Err(e) => Box::pin(std::future::ready(error_frame(Some(&id), &e))),
    }
}

/// The `ack` of a `message` frame, serialised straight from the view.
fn message_ack(id: &str, answer: Result<(chat::MessageView, bool), ApiError>) -> String {
    #[derive(serde::Serialize)]
    struct Ack<'a> {
        r#type: &'static str,
        id: &'a str,
        message: &'a chat::MessageView,
        duplicate: bool,
    }
    match answer {
        Ok((message, new)) => serde_json::to_string(&Ack {
            r#type: "ack",
            id,
            message: &message,
            duplicate: !new,
        })
        .unwrap_or_else(|e| error_frame(Some(id), &ApiError::internal(e.into()))),
        Err(e) => error_frame(Some(id), &e),
    }
}

/// Runs one client frame and returns the reply frame.
async fn handle(app: &AppState, user: &AuthUser, conn: &mut Conn, frame: ClientFrame) -> String {
    let (id, result) = match frame {
        ClientFrame::Ping { id } => (id, Ok(json!({}))),
        // The socket loop queues these itself; answered here the same way, in full.
        ClientFrame::Message {
            id,
            consultation_id,
            text,
        } => {
            return queue_message(app, user, conn, id, consultation_id, &text)
                .await
                .await;
        }
        ClientFrame::Delivered {
            id,
            consultation_id,
            message_id,
        } => {
            let r = async {
                let to = conn.participants(app, user.id, consultation_id).await?;
                Ok::<_, ApiError>(chat::receipt(app, user.id, to, message_id, false).await?)
            }
            .await
            .map(|n| json!({"updated": n}));
            (id, r)
        }
        ClientFrame::Read {
            id,
            consultation_id,
            message_id,
        } => {
            let r = async {
                let to = conn.participants(app, user.id, consultation_id).await?;
                Ok::<_, ApiError>(chat::receipt(app, user.id, to, message_id, true).await?)
            }
            .await
            .map(|n| json!({"updated": n}));
            (id, r)
        }
        ClientFrame::Typing {
            id,
            consultation_id,
        } => {
            let r = async {
                let to = conn.participants(app, user.id, consultation_id).await?;
                Ok::<_, ApiError>(chat::typing(app, user.id, to).await?)
            }
            .await
            .map(|()| json!({}));
            (id, r)
        }
        ClientFrame::Sync {
            id,
            consultation_id,
            after,
        } => {
            let r = async {
                chat::participant_view(app, user.id, user.role, consultation_id).await?;
                let messages = chat::history(app, consultation_id, after, None, SYNC_LIMIT).await?;
                Ok::<_, ApiError>(json!({"consultation_id": consultation_id, "messages": messages}))
            }
            .await;
            (id, r)
        }
    };
    match result {
        Ok(mut body) => {
            body["type"] = json!("ack");
            body["id"] = json!(id);
            body.to_string()
        }
        Err(e) => error_frame(Some(&id), &e),
    }
}
