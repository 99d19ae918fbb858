use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, approved_practitioner};

both_backends!(
    sockets_need_a_valid_token,
    chat_is_stored_acknowledged_deduplicated_and_delivered,
    socket_frames_keep_a_session_billed,
    liveness_is_recorded_per_user_and_before_the_ack,
    a_side_back_after_the_grace_window_does_not_revive_its_session,
    a_client_waiting_on_a_socket_is_present_when_a_late_accept_starts_the_session,
    two_nodes_with_redis_behave_as_one,
    images_and_files_are_checked_stored_and_private,
    a_suspended_or_signed_out_socket_is_closed,
    concurrent_senders_are_stored_once_in_order,
    a_socket_may_send_before_its_acks_arrive,
);

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, token: &str, in_query: bool) -> Ws {
    let ws_base = app.base.replacen("http", "ws", 1);
    let (ws, _) = if in_query {
        tokio_tungstenite::connect_async(format!("{ws_base}/api/v1/ws?access_token={token}"))
            .await
            .unwrap()
    } else {
        let mut req = format!("{ws_base}/api/v1/ws")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(req).await.unwrap()
    };
    ws
}

pub(crate) async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next frame satisfying `want`, skipping others; fails after 5 s.
pub(crate) async fn expect(ws: &mut Ws, want: impl Fn(&Value) -> bool) -> Value {
    expect_within(ws, std::time::Duration::from_secs(5), want).await
}

/// The next frame satisfying `want`, skipping others; fails after `wait`.
pub(crate) async fn expect_within(
    ws: &mut Ws,
    wait: std::time::Duration,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a frame before the deadline")
            .expect("socket open")
            .unwrap();
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if want(&v) {
                return v;
            }
        }
    }
}

/// Every text frame arriving within `ms`.
async fn drain(ws: &mut Ws, ms: u64) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(std::time::Duration::from_millis(ms), ws.next()).await
    {
        if let Message::Text(t) = frame {
            out.push(serde_json::from_str(t.as_str()).unwrap());
        }
    }
    out
}

fn of_type(t: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["type"] == t
}

async fn sockets_need_a_valid_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ws_base = app.base.replacen("http", "ws", 1);
    for url in [
        format!("{ws_base}/api/v1/ws"),
        format!("{ws_base}/api/v1/ws?access_token=not-a-token"),
    ] {
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 401)
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
    let (token, _, _) = app.register("socket@example.com").await;
    let mut ws = connect(&app, &token, true).await;
    send(&mut ws, json!({"type": "ping", "id": "p1"})).await;
    let ack = expect(&mut ws, of_type("ack")).await;
    assert_eq!(ack["id"], "p1");
    send(&mut ws, json!({"type": "teleport", "id": "t1"})).await;
    let err = expect(&mut ws, of_type("error")).await;
    assert_eq!(err["id"], "t1");
    assert_eq!(err["code"], "invalid_frame");
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let err = expect(&mut ws, of_type("error")).await;
    assert_eq!(err["code"], "invalid_frame");
}

struct Session {
    app: TestApp,
    client: String,
    practitioner: String,
    id: String,
    client_ws: Ws,
    practitioner_ws: Ws,
}

async fn session(b: Backend) -> Session {
    session_with(b, |_| {}).await
}

/// An online practitioner and a funded client, each with a subscribed socket:
/// (app, client token, practitioner token, practitioner id, client socket, practitioner socket).
async fn online_with_sockets(
    b: Backend,
    tweak: impl FnOnce(&mut domain::config::Config),
) -> (TestApp, String, String, String, Ws, Ws) {
    let app = TestApp::spawn_with(b, tweak).await;
    let admin = app.admin_token().await;
    let (practitioner, practitioner_id) =
        approved_practitioner(&app, &admin, "reader@example.com", "Meera").await;
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let (client, _, client_id) = app.register("asker@example.com").await;
    app.credit(&admin, &client_id, 100_000).await;
    let mut client_ws = connect(&app, &client, false).await;
    let mut practitioner_ws = connect(&app, &practitioner, true).await;
    // Both sockets are subscribed once a ping is acknowledged.
    for ws in [&mut client_ws, &mut practitioner_ws] {
        send(ws, json!({"type": "ping", "id": "hello"})).await;
        expect(ws, of_type("ack")).await;
    }
    (
        app,
        client,
        practitioner,
        practitioner_id,
        client_ws,
        practitioner_ws,
    )
}

async fn session_with(b: Backend, tweak: impl FnOnce(&mut domain::config::Config)) -> Session {
    let (app, client, practitioner, practitioner_id, mut client_ws, mut practitioner_ws) =
        online_with_sockets(b, tweak).await;
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&client),
            json!({"practitioner_id": practitioner_id, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_owned();
    let asked = expect(&mut practitioner_ws, of_type("consultation_requested")).await;
    assert_eq!(asked["consultation_id"], id.as_str());
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .expect(200);
    let started = expect(&mut client_ws, of_type("consultation_started")).await;
    assert_eq!(started["consultation_id"], id.as_str());
    Session {
        app,
        client,
        practitioner,
        id,
        client_ws,
        practitioner_ws,
    }
}

async fn chat_is_stored_acknowledged_deduplicated_and_delivered(b: Backend) {
    let mut s = session(b).await;
    let id = s.id.clone();
    send(
        &mut s.client_ws,
        json!({"type": "message", "id": "c-1", "consultation_id": id, "text": "Namaste, a question about my career"}),
    )
    .await;
    let ack = expect(&mut s.client_ws, |v| v["type"] == "ack" && v["id"] == "c-1").await;
    assert_eq!(ack["duplicate"], false);
    let first_id = ack["message"]["id"].as_str().unwrap().to_owned();
    let got = expect(&mut s.practitioner_ws, of_type("message")).await;
    assert_eq!(got["message"]["id"], first_id.as_str());
    assert_eq!(
        got["message"]["body"],
        "Namaste, a question about my career"
    );

    // The same frame again (a retry after a lost ack): stored once, delivered once.
    send(
        &mut s.client_ws,
        json!({"type": "message", "id": "c-1", "consultation_id": id, "text": "Namaste, a question about my career"}),
    )
    .await;
    let again = expect(&mut s.client_ws, |v| v["type"] == "ack" && v["id"] == "c-1").await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["message"]["id"], first_id.as_str());
    assert!(
        drain(&mut s.practitioner_ws, 300)
            .await
            .iter()
            .all(|f| f["type"] != "message"),
        "a duplicate was delivered"
    );

    // Typing and read receipts reach the other side.
    send(
        &mut s.practitioner_ws,
        json!({"type": "typing", "id": "t-1", "consultation_id": id}),
    )
    .await;
    let typing = expect(&mut s.client_ws, of_type("typing")).await;
    assert_eq!(typing["consultation_id"], id.as_str());
    send(
        &mut s.practitioner_ws,
        json!({"type": "read", "id": "r-1", "consultation_id": id, "message_id": first_id}),
    )
    .await;
    let receipt = expect(&mut s.client_ws, of_type("receipt")).await;
    assert_eq!(receipt["status"], "read");
    assert_eq!(receipt["up_to"], first_id.as_str());

    // Contact details are masked, with a notice to both.
    send(
        &mut s.practitioner_ws,
        json!({"type": "message", "id": "p-1", "consultation_id": id, "text": "Call me on +91 98765 43210 or mail meera@example.com"}),
    )
    .await;
    let ack = expect(&mut s.practitioner_ws, |v| {
        v["type"] == "ack" && v["id"] == "p-1"
    })
    .await;
    let body = ack["message"]["body"].as_str().unwrap();
    assert!(
        !body.contains("98765") && !body.contains("meera@example.com"),
        "{body}"
    );
    assert_eq!(ack["message"]["masked"], true);
    let notice = expect(&mut s.client_ws, |v| {
        v["type"] == "message" && v["message"]["kind"] == "system"
    })
    .await;
    assert!(
        notice["message"]["body"]
            .as_str()
            .unwrap()
            .contains("hidden")
    );

    // A reconnecting client asks for what it missed after the last id it saw.
    drop(s.client_ws);
    let mut back = connect(&s.app, &s.client, true).await;
    send(
        &mut back,
        json!({"type": "sync", "id": "s-1", "consultation_id": id, "after": first_id}),
    )
    .await;
    let sync = expect(&mut back, |v| v["type"] == "ack" && v["id"] == "s-1").await;
    let missed = sync["messages"].as_array().unwrap();
    assert_eq!(missed.len(), 2, "{sync}");
    assert!(missed[0]["sender_id"].is_string());
    assert_eq!(missed[1]["kind"], "system");

    // History over REST, and the transcript.
    let history = s
        .app
        .get(
            &format!("/api/v1/consultations/{id}/messages?limit=2"),
            Some(&s.client),
        )
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["id"], first_id.as_str());
    let older = s
        .app
        .get(
            &format!(
                "/api/v1/consultations/{id}/messages?before={}",
                missed[1]["id"].as_str().unwrap()
            ),
            Some(&s.practitioner),
        )
        .await
        .expect(200);
    assert_eq!(older.as_array().unwrap().len(), 2);
    let transcript = s
        .app
        .get(
            &format!("/api/v1/consultations/{id}/transcript"),
            Some(&s.client),
        )
        .await
        .expect(200);
    let transcript = transcript.as_str().unwrap();
    assert!(transcript.contains("Namaste, a question about my career"));
    assert!(transcript.contains("Test User:"));
    let (stranger, _, _) = s.app.register("stranger@example.com").await;
    s.app
        .get(
            &format!("/api/v1/consultations/{id}/messages"),
            Some(&stranger),
        )
        .await
        .problem(404, "not_found");
    send(
        &mut back,
        json!({"type": "message", "id": "x-1", "consultation_id": uuid::Uuid::now_v7(), "text": "hi"}),
    )
    .await;
    let err = expect(&mut back, of_type("error")).await;
    assert_eq!(
        (err["id"].as_str(), err["code"].as_str()),
        (Some("x-1"), Some("not_found"))
    );

    // After the session, chat is closed.
    s.app
        .post(
            &format!("/api/v1/consultations/{id}/end"),
            Some(&s.practitioner),
            json!({}),
        )
        .await
        .expect(200);
    let ended = expect(&mut back, of_type("consultation_ended")).await;
    assert_eq!(ended["reason"], "practitioner_ended");
    s.app
        .post(
            &format!("/api/v1/consultations/{id}/messages"),
            Some(&s.client),
            json!({"client_id": "late-1", "text": "one more thing"}),
        )
        .await
        .problem(409, "consultation_not_active");
}

async fn socket_frames_keep_a_session_billed(b: Backend) {
    let mut s = session(b).await;
    // No REST heartbeats: only socket pings say both sides are there.
    let mut seen_by_client = Vec::new();
    for step in 0..6 {
        s.app.advance(25);
        for (i, ws) in [&mut s.client_ws, &mut s.practitioner_ws]
            .into_iter()
            .enumerate()
        {
            send(ws, json!({"type": "ping", "id": format!("k{step}")})).await;
            loop {
                let f = expect(ws, |_| true).await;
                if f["type"] == "ack" {
                    break;
                }
                if i == 0 {
                    seen_by_client.push(f);
                }
            }
        }
        domain::live::engine::tick(&s.app.state).await.unwrap();
    }
    // 150 s with both present: three started minutes, each announced.
    let c = s
        .app
        .get(&format!("/api/v1/consultations/{}", s.id), Some(&s.client))
        .await
        .expect(200);
    assert_eq!(c["status"], "active");
    assert_eq!(c["minutes_billed"], 3);
    seen_by_client.extend(drain(&mut s.client_ws, 300).await);
    let charged: Vec<Value> = seen_by_client
        .into_iter()
        .filter(|f| f["type"] == "minute_charged")
        .collect();
    assert_eq!(charged.len(), 3);
    assert_eq!(charged[2]["total_charged"], 3 * 2_000);
}

async fn liveness_is_recorded_per_user_and_before_the_ack(b: Backend) {
    use sea_orm::EntityTrait;
    use store::entity::{consultation, practitioner_presence};
    let mut s = session(b).await;
    let id: uuid::Uuid = s.id.parse().unwrap();
    let row = |db: sea_orm::DatabaseConnection| async move {
        let c = consultation::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let presence = practitioner_presence::Entity::find()
            .all(&db)
            .await
            .unwrap();
        assert_eq!(presence.len(), 1);
        (c, presence[0].clone())
    };
    let micros = |t: chrono::DateTime<chrono::Utc>| t.timestamp_micros();

    // Two users' notes queued together are written with each user's own instant.
    let (c, _) = row(s.app.state.db.clone()).await;
    let now = s.app.state.clock.now();
    let (client_at, practitioner_at) = (
        now + chrono::Duration::seconds(3),
        now + chrono::Duration::seconds(4),
    );
    let live = &s.app.state.liveness;
    let (a, b) = tokio::join!(
        live.note(c.client_id, false, client_at).stored(),
        live.note(c.practitioner_user_id, true, practitioner_at)
            .stored(),
    );
    assert!(a && b);
    let (c, presence) = row(s.app.state.db.clone()).await;
    assert_eq!(c.client_seen_at.map(micros), Some(micros(client_at)));
    assert_eq!(
        c.practitioner_seen_at.map(micros),
        Some(micros(practitioner_at))
    );
    assert_eq!(micros(presence.last_heartbeat_at), micros(practitioner_at));

    // A socket frame's ack comes once the liveness it proved is stored: a chat message from
    // the practitioner, a ping from the client.
    s.app.advance(30);
    let at = s.app.state.clock.now();
    send(
        &mut s.practitioner_ws,
        json!({"type": "message", "id": "m-live", "consultation_id": s.id, "text": "Here"}),
    )
    .await;
    expect(&mut s.practitioner_ws, |v| {
        v["type"] == "ack" && v["id"] == "m-live"
    })
    .await;
    let (c, presence) = row(s.app.state.db.clone()).await;
    assert_eq!(c.practitioner_seen_at.map(micros), Some(micros(at)));
    assert_eq!(micros(presence.last_heartbeat_at), micros(at));
    assert_eq!(c.client_seen_at.map(micros), Some(micros(client_at)));
    send(&mut s.client_ws, json!({"type": "ping", "id": "p-live"})).await;
    expect(&mut s.client_ws, |v| {
        v["type"] == "ack" && v["id"] == "p-live"
    })
    .await;
    let (c, _) = row(s.app.state.db.clone()).await;
    assert_eq!(c.client_seen_at.map(micros), Some(micros(at)));
}

/// A socket frame after the grace window records nothing: the side has left, and the worker
/// ends the session where it was last seen. (A reconnect to a node restarted after a long
/// outage must not make the outage count as presence.)
async fn a_side_back_after_the_grace_window_does_not_revive_its_session(b: Backend) {
    use sea_orm::EntityTrait;
    use store::entity::consultation;
    let mut s = session(b).await;
    let id: uuid::Uuid = s.id.parse().unwrap();
    let before = consultation::Entity::find_by_id(id)
        .one(&s.app.state.db)
        .await
        .unwrap()
        .unwrap();
    s.app.advance(61);
    for ws in [&mut s.client_ws, &mut s.practitioner_ws] {
        send(ws, json!({"type": "ping", "id": "late"})).await;
        expect(ws, |v| v["type"] == "ack" && v["id"] == "late").await;
    }
    let after = consultation::Entity::find_by_id(id)
        .one(&s.app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.client_seen_at, before.client_seen_at);
    assert_eq!(after.practitioner_seen_at, before.practitioner_seen_at);
    domain::live::engine::tick(&s.app.state).await.unwrap();
    let c = s
        .app
        .get(&format!("/api/v1/consultations/{}", s.id), Some(&s.client))
        .await
        .expect(200);
    assert_eq!(c["status"], "ended");
    assert_eq!(c["end_reason"], "client_disconnected");
}

/// The practitioner accepts near the end of the request window: the client, waiting on a
/// socket all along, is within the grace window when the session starts, so their next
/// frame keeps it going.
async fn a_client_waiting_on_a_socket_is_present_when_a_late_accept_starts_the_session(b: Backend) {
    let (app, client, practitioner, practitioner_id, mut client_ws, mut practitioner_ws) =
        online_with_sockets(b, |_| {}).await;
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&client),
            json!({"practitioner_id": practitioner_id, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_owned();
    app.advance(40);
    send(&mut client_ws, json!({"type": "ping", "id": "waiting"})).await;
    expect(&mut client_ws, |v| {
        v["type"] == "ack" && v["id"] == "waiting"
    })
    .await;
    app.advance(19);
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .expect(200);
    app.advance(5);
    for ws in [&mut client_ws, &mut practitioner_ws] {
        send(ws, json!({"type": "ping", "id": "going"})).await;
        expect(ws, |v| v["type"] == "ack" && v["id"] == "going").await;
    }
    domain::live::engine::tick(&app.state).await.unwrap();
    let c = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&client))
        .await
        .expect(200);
    assert_eq!(c["status"], "active", "{c}");
}

async fn two_nodes_with_redis_behave_as_one(b: Backend) {
    let Some((a, n2)) = TestApp::spawn_pair(b).await else {
        return;
    };
    let admin = a.admin_token().await;
    let (practitioner, practitioner_id) =
        approved_practitioner(&a, &admin, "twonode@example.com", "Two Node").await;
    // Presence set through node B, the request made through node A.
    n2.call(
        Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let (client, _, client_id) = a.register("crossing@example.com").await;
    a.credit(&admin, &client_id, 100_000).await;
    let mut client_ws = connect(&a, &client, false).await;
    let mut practitioner_ws = connect(&n2, &practitioner, true).await;
    for ws in [&mut client_ws, &mut practitioner_ws] {
        send(ws, json!({"type": "ping", "id": "hello"})).await;
        expect(ws, of_type("ack")).await;
    }
    let c = a
        .post(
            "/api/v1/consultations",
            Some(&client),
            json!({"practitioner_id": practitioner_id, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_owned();
    expect(&mut practitioner_ws, of_type("consultation_requested")).await;
    n2.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .expect(200);
    expect(&mut client_ws, of_type("consultation_started")).await;

    // Chat from node A reaches node B; the receipt comes back.
    send(
        &mut client_ws,
        json!({"type": "message", "id": "x-1", "consultation_id": id, "text": "Hello from node A"}),
    )
    .await;
    let ack = expect(&mut client_ws, |v| v["type"] == "ack" && v["id"] == "x-1").await;
    let first = ack["message"]["id"].as_str().unwrap().to_owned();
    let got = expect(&mut practitioner_ws, of_type("message")).await;
    assert_eq!(got["message"]["body"], "Hello from node A");
    send(
        &mut practitioner_ws,
        json!({"type": "message", "id": "y-1", "consultation_id": id, "text": "Hello from node B"}),
    )
    .await;
    // (The client's own message comes back to it too, for its other devices.)
    let reply = expect(&mut client_ws, |v| {
        v["type"] == "message" && v["message"]["sender_id"] != client_id.as_str()
    })
    .await;
    assert_eq!(reply["message"]["body"], "Hello from node B");
    send(
        &mut practitioner_ws,
        json!({"type": "read", "id": "r-1", "consultation_id": id, "message_id": first}),
    )
    .await;
    assert_eq!(
        expect(&mut client_ws, of_type("receipt")).await["status"],
        "read"
    );

    // The client moves to node B and catches up from the last id it saw.
    drop(client_ws);
    let mut moved = connect(&n2, &client, true).await;
    send(
        &mut moved,
        json!({"type": "sync", "id": "s-1", "consultation_id": id, "after": first}),
    )
    .await;
    let sync = expect(&mut moved, |v| v["type"] == "ack" && v["id"] == "s-1").await;
    let missed = sync["messages"].as_array().unwrap();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["body"], "Hello from node B");

    // Both nodes' workers bill the same session at the same time: each minute once.
    for step in 0..6 {
        a.advance(25);
        for ws in [&mut moved, &mut practitioner_ws] {
            // Wait for this ping's own ack (its presence is recorded by then); earlier acks
            // still queued on the socket must not count for it.
            let ping = format!("k{step}");
            send(ws, json!({"type": "ping", "id": ping})).await;
            expect(ws, |v| v["type"] == "ack" && v["id"] == ping.as_str()).await;
        }
        let (x, y) = tokio::join!(
            domain::live::engine::tick(&a.state),
            domain::live::engine::tick(&n2.state)
        );
        x.unwrap();
        y.unwrap();
    }
    let c = a
        .get(&format!("/api/v1/consultations/{id}"), Some(&client))
        .await
        .expect(200);
    assert_eq!(c["minutes_billed"], 3);
    assert_eq!(c["amount_charged"], 3 * 2_000);
    crate::wallet::assert_invariants(&a).await;
}

async fn images_and_files_are_checked_stored_and_private(b: Backend) {
    let mut s = session(b).await;
    let id = s.id.clone();
    let upload = |token: &str, query: &str, bytes: Vec<u8>| {
        s.app
            .client
            .post(format!(
                "{}/api/v1/consultations/{id}/attachments?{query}",
                s.app.base
            ))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 2_000]);
    let res = upload(&s.client, "filename=palm.png&client_id=u-1", png.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let message: Value = res.json().await.unwrap();
    assert_eq!(message["kind"], "image");
    assert_eq!(message["body"], "palm.png");
    let attachment = message["attachment_id"].as_str().unwrap().to_owned();
    let got = expect(&mut s.practitioner_ws, |v| {
        v["type"] == "message" && v["message"]["kind"] == "image"
    })
    .await;
    assert_eq!(got["message"]["attachment_id"], attachment.as_str());
    // The same upload again is stored once.
    let again = upload(&s.client, "filename=palm.png&client_id=u-1", png.clone())
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], message["id"]);

    let fetched = s
        .app
        .client
        .get(format!("{}/api/v1/attachments/{attachment}", s.app.base))
        .bearer_auth(&s.practitioner)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert_eq!(fetched.headers()["x-content-type-options"], "nosniff");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), png);
    let (stranger, _, _) = s.app.register("peeker@example.com").await;
    s.app
        .get(
            &format!("/api/v1/attachments/{attachment}"),
            Some(&stranger),
        )
        .await
        .problem(404, "not_found");

    // A PDF is a file (downloaded, not shown); anything else is refused by its bytes.
    let res = upload(
        &s.practitioner,
        "filename=remedies.pdf&client_id=u-2",
        b"%PDF-1.7 ...".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let pdf: Value = res.json().await.unwrap();
    assert_eq!(pdf["kind"], "file");
    let fetched = s
        .app
        .client
        .get(format!(
            "{}/api/v1/attachments/{}",
            s.app.base,
            pdf["attachment_id"].as_str().unwrap()
        ))
        .bearer_auth(&s.client)
        .send()
        .await
        .unwrap();
    assert!(
        fetched.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let res = upload(
        &s.client,
        "filename=page.png&client_id=u-3",
        b"<html><script>alert(1)</script>".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "unsupported_file_type"
    );
    let res = upload(
        &s.client,
        "filename=../../etc/passwd&client_id=u-4",
        png.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(6 * 1024 * 1024, 0);
    let res = upload(&s.client, "filename=big.png&client_id=u-5", big)
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "payload_too_large"
    );
    s.app
        .post(
            &format!("/api/v1/consultations/{id}/end"),
            Some(&s.client),
            json!({}),
        )
        .await
        .expect(200);
    let res = upload(&s.client, "filename=late.png&client_id=u-6", png)
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
}

async fn a_suspended_or_signed_out_socket_is_closed(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.ws_ping_secs = 1).await;
    let admin = app.admin_token().await;
    // A bystander's socket, re-checked in the same passes, stays open throughout.
    let (bystander, _, _) = app.register("stays@example.com").await;
    let mut stays = connect(&app, &bystander, true).await;
    let (token, _, id) = app.register("soon-gone@example.com").await;
    let mut ws = connect(&app, &token, true).await;
    send(&mut ws, json!({"type": "ping", "id": "p"})).await;
    expect(&mut ws, of_type("ack")).await;
    // The node watches each sign-in once, whatever its sockets.
    let mut twin = connect(&app, &token, false).await;
    send(&mut twin, json!({"type": "ping", "id": "p"})).await;
    expect(&mut twin, of_type("ack")).await;
    send(&mut stays, json!({"type": "ping", "id": "p"})).await;
    expect(&mut stays, of_type("ack")).await;
    assert_eq!(app.state.sockets.len(), 2);
    app.post(
        &format!("/api/v1/admin/users/{id}/suspend"),
        Some(&admin),
        json!({"reason": "chargebacks"}),
    )
    .await
    .expect(200);
    let err = expect(&mut ws, of_type("error")).await;
    assert_eq!(err["code"], "account_suspended");
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket was closed");
    let err = expect(&mut twin, of_type("error")).await;
    assert_eq!(err["code"], "account_suspended");
    drop(twin);

    // Signing out (revoking the session) ends its socket too.
    let (token, refresh, _) = app.register("signs-out@example.com").await;
    let mut ws = connect(&app, &token, false).await;
    send(&mut ws, json!({"type": "ping", "id": "p"})).await;
    expect(&mut ws, of_type("ack")).await;
    app.post(
        "/api/v1/auth/logout",
        Some(&token),
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(204);
    let err = expect(&mut ws, of_type("error")).await;
    assert_eq!(err["code"], "invalid_token");
    drop(ws);
    // Both ended sign-ins left the node's watch; the bystander is still served.
    send(&mut stays, json!({"type": "ping", "id": "still"})).await;
    expect(&mut stays, |v| v["type"] == "ack" && v["id"] == "still").await;
    for _ in 0..50 {
        if app.state.sockets.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.state.sockets.len(), 1);
}

/// Many senders at once in one consultation go through the chat writer's group commit:
/// every frame is answered once, stored once per (sender, client id) even when resent by
/// racing tasks, each sender's messages keep their order, masked messages are each followed
/// by their notice, and the other side's socket receives each new message exactly once.
async fn concurrent_senders_are_stored_once_in_order(b: Backend) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    use store::entity::{chat_message, consultation};
    const TASKS: usize = 16;
    const EACH: usize = 20;
    let s = session(b).await;
    let id: uuid::Uuid = s.id.parse().unwrap();
    let c = consultation::Entity::find_by_id(id)
        .one(&s.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let before = s.app.state.chat.stats();
    // The practitioner's socket reads while the senders run (its queue holds 256 frames).
    let mut practitioner_ws = s.practitioner_ws;
    let reader = tokio::spawn(async move {
        let frames = drain(&mut practitioner_ws, 1_500).await;
        (practitioner_ws, frames)
    });
    let text = |k: usize, i: usize| {
        if i == 7 {
            format!("task {k} says call me on +91 98765 43210")
        } else {
            format!("task {k} message {i}")
        }
    };
    // Tasks TASKS.. resend the frames of tasks 0..4 at the same time as them.
    let tasks = (0..TASKS + 4).map(|t| {
        let state = s.app.state.clone();
        let k = if t < TASKS { t } else { t - TASKS };
        let sender = if k % 2 == 0 {
            c.client_id
        } else {
            c.practitioner_user_id
        };
        async move {
            let mut answers = Vec::new();
            for i in 0..EACH {
                let (m, new) = domain::live::chat::send(
                    &state,
                    sender,
                    id,
                    Some(&format!("k{k}-{i}")),
                    &text(k, i),
                )
                .await
                .unwrap();
                answers.push((k, i, m.id, new));
            }
            answers
        }
    });
    let answers: Vec<(usize, usize, uuid::Uuid, bool)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect();
    // Every frame answered; one `new` per (task, index); a resend gets the same message.
    assert_eq!(answers.len(), (TASKS + 4) * EACH);
    for k in 0..TASKS {
        for i in 0..EACH {
            let same: Vec<_> = answers.iter().filter(|a| a.0 == k && a.1 == i).collect();
            assert_eq!(same.iter().filter(|a| a.3).count(), 1, "k{k}-{i}");
            assert!(same.iter().all(|a| a.2 == same[0].2), "k{k}-{i}");
        }
    }
    // Stored once each, in each sender's order, each masked one followed by its notice.
    let stored = chat_message::Entity::find()
        .filter(chat_message::Column::ConsultationId.eq(id))
        .order_by_asc(chat_message::Column::Id)
        .all(&s.app.state.db)
        .await
        .unwrap();
    let texts: Vec<&chat_message::Model> =
        stored.iter().filter(|m| m.sender_id.is_some()).collect();
    assert_eq!(texts.len(), TASKS * EACH);
    for k in 0..TASKS {
        let mine: Vec<String> = texts
            .iter()
            .filter_map(|m| m.client_msg_id.clone())
            .filter(|cid| cid.starts_with(&format!("k{k}-")))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("k{k}-{i}")).collect();
        assert_eq!(mine, expected, "task {k}'s messages out of order");
    }
    for (n, m) in stored.iter().enumerate() {
        if m.masked {
            assert_eq!(
                stored[n + 1].kind,
                "system",
                "a masked message lost its notice"
            );
        }
        if m.kind == "system" {
            assert!(stored[n - 1].masked);
        }
    }
    assert_eq!(stored.len(), TASKS * EACH + TASKS);
    // The messages were grouped: fewer transactions than messages.
    let after = s.app.state.chat.stats();
    let batches = after.batches - before.batches;
    let messages = after.messages - before.messages;
    assert_eq!(messages, ((TASKS + 4) * EACH) as u64);
    assert!(
        batches < messages,
        "{batches} batches for {messages} messages"
    );
    assert_eq!(after.fallbacks, before.fallbacks);
    // The practitioner's socket got every new message and notice once, in id order.
    let (_ws, frames) = reader.await.unwrap();
    let delivered: Vec<String> = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["message"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(frames.iter().all(|f| f["type"] != "resync"));
    let mut ids: Vec<String> = stored.iter().map(|m| m.id.to_string()).collect();
    ids.sort();
    let mut got = delivered.clone();
    got.sort();
    assert_eq!(got, ids, "each stored message delivered exactly once");
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "delivered out of order"
    );
}

/// A client that sends its frames back to back, without waiting for acks: they are stored
/// in the order sent, answered in that order (errors and duplicates included), and a `sync`
/// sent after them sees every one stored.
async fn a_socket_may_send_before_its_acks_arrive(b: Backend) {
    const N: usize = 40;
    // Forty frames at once are over a person's message rate (live_limits tests that); here
    // the rate limit is lifted to see the pipelining.
    let mut s = session_with(b, |c| c.ws_messages_per_sec = 0).await;
    let id = s.id.clone();
    let mut sent: Vec<String> = Vec::new();
    for i in 0..N {
        let (frame_id, text) = match i {
            // A resend of frame 3 while it may still be queued.
            5 => ("m-3".to_owned(), "message 3".to_owned()),
            // Refused by validation, answered in its place.
            9 => ("m-9".to_owned(), "   ".to_owned()),
            _ => (format!("m-{i}"), format!("message {i}")),
        };
        send(
            &mut s.client_ws,
            json!({"type": "message", "id": frame_id, "consultation_id": id, "text": text}),
        )
        .await;
        sent.push(frame_id);
    }
    send(&mut s.client_ws, json!({"type": "bogus", "id": "b-1"})).await;
    sent.push("b-1".into());
    send(
        &mut s.client_ws,
        json!({"type": "sync", "id": "s-1", "consultation_id": id}),
    )
    .await;
    sent.push("s-1".into());

    let mut replies: Vec<Value> = Vec::new();
    while replies.len() < sent.len() {
        let reply = expect(&mut s.client_ws, |v| {
            v["type"] == "ack" || v["type"] == "error"
        })
        .await;
        replies.push(reply);
    }
    let order: Vec<&str> = replies.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(order, sent, "replies out of frame order");
    assert_eq!(replies[9]["type"], "error");
    assert_eq!(replies[9]["code"], "validation_failed");
    assert_eq!(replies[N]["code"], "invalid_frame");
    assert_eq!(replies[5]["duplicate"], true);
    assert_eq!(replies[5]["message"]["id"], replies[3]["message"]["id"]);
    let stored: Vec<&str> = replies[..N]
        .iter()
        .enumerate()
        .filter(|(i, r)| r["type"] == "ack" && *i != 5)
        .map(|(_, r)| r["message"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(stored.len(), N - 2);
    assert!(
        stored.windows(2).all(|w| w[0] < w[1]),
        "stored out of the order sent"
    );
    // The sync after them lists exactly those messages, in that order.
    let synced: Vec<&str> = replies[N + 1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(synced, stored);
    // The other side got each once, in order.
    let mut delivered = Vec::new();
    while delivered.len() < stored.len() {
        let m = expect(&mut s.practitioner_ws, of_type("message")).await;
        delivered.push(m["message"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(delivered, stored);
}
