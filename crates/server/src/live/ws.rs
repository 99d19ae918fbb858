//! `/api/v1/ws`: one authenticated WebSocket per client device. Client frames are JSON with
//! a `type` and an `id` the server acknowledges (`ack`) or refuses (`error`); server frames
//! are the user's bus topic (consultation events, chat messages, receipts, typing) plus a
//! `resync` when the bus may have dropped something. Any frame from the client is a sign of
//! life for its active consultations (and, for a practitioner, for their presence).
//!
//! Memory per connection is kept small: tungstenite's read and write buffers are a few KiB
//! instead of the 128 KiB default, and frames are capped at 64 KiB.

use std::time::Duration as StdDuration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::chat::{self, Participants};
use super::events::user_topic;
use super::liveness::Noted;
use super::sessions::Ended;
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::bus::BusEvent;
use crate::error::ApiError;
use crate::http::ApiQuery;

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
    ws.read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| serve(app, user, socket))
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

fn error_frame(id: Option<&str>, err: &ApiError) -> String {
    let p = err.to_problem(None);
    json!({"type": "error", "id": id, "code": p.code, "detail": p.detail, "errors": p.errors})
        .to_string()
}

async fn serve(app: AppState, user: AuthUser, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    let mut sub = match app.bus.subscribe(&user_topic(user.id)).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx
                .send(Message::Text(Utf8Bytes::from(error_frame(
                    None,
                    &ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "realtime_unavailable",
                        format!("the event bus is unavailable: {e}"),
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
    // A socket outlives its token: the node re-checks the sign-ins behind its sockets
    // (`live::sessions`), so a suspension or a sign-out ends this one too.
    let mut sign_in = app.sockets.join(&user);
    let mut conn = Conn::default();
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
                match frame {
                    Message::Text(text) => match parse(text.as_str()) {
                        Err(reply) => replies.push_back(Box::pin(std::future::ready(reply))),
                        Ok(ClientFrame::Message { id, consultation_id, text }) => {
                            let touched = conn.touch(&app, &user);
                            let reply =
                                queue_message(&app, &user, &mut conn, id, consultation_id, &text)
                                    .await;
                            replies.push_back(after_noted(reply, touched));
                        }
                        Ok(frame) => {
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
                    },
                    Message::Binary(_) => replies.push_back(Box::pin(std::future::ready(
                        error_frame(None, &ApiError::bad_request(
                            "invalid_frame", "frames are JSON text")),
                    ))),
                    Message::Ping(_) | Message::Pong(_) => {}
                    Message::Close(_) => break,
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
        let id = serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
        error_frame(
            id.as_deref(),
            &ApiError::bad_request("invalid_frame", e.to_string()),
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
        chat::queue_to(app, user.id, to, Some(&id), text).await
    }
    .await;
    match queued {
        Ok(queued) => Box::pin(async move { message_ack(&id, queued.answer().await) }),
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
                chat::receipt(app, user.id, to, message_id, false).await
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
                chat::receipt(app, user.id, to, message_id, true).await
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
                chat::typing(app, user.id, to).await
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
                chat::participant_view(app, user, consultation_id).await?;
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
