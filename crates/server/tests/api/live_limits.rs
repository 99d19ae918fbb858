//! Limits against abuse (hardening item 9): socket frame rates and socket counts, error
//! frames without internal text, the chat attachment quota, waitlist admission, reviews of
//! unpaid sessions, RTC token lifetimes, replayed gateway events and who may read metrics.

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::both_backends;
use crate::gateways::{
    RZP_WEBHOOK_NEW, available, fake_gateway, post_raw, razorpay_config, start_topup,
};
use crate::helpers::{Backend, TestApp};
use crate::live::{Pair, beat, online_pair, start, tick};
use crate::realtime::{Ws, connect, expect, send};
use providers::payments as protocol;
use store::clock::Clock;

both_backends!(
    a_flooding_socket_is_refused_then_closed_with_4008,
    a_user_holds_a_limited_number_of_sockets,
    socket_error_frames_carry_no_internal_text,
    chat_files_are_bounded_by_a_per_user_quota,
    joining_a_waitlist_needs_the_minimum_and_one_line_at_a_time,
    reviews_of_unpaid_sessions_do_not_count_in_the_rating,
    rtc_tokens_live_as_long_as_the_wallet_pays_plus_grace,
    a_razorpay_event_replayed_under_a_new_id_is_a_duplicate,
    metrics_need_the_token_or_their_own_address,
);

/// Frames until the socket closes (or `wait` passes): the text frames and the close code.
async fn until_closed(ws: &mut Ws, wait: std::time::Duration) -> (Vec<Value>, Option<u16>) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                frames.push(serde_json::from_str(t.as_str()).unwrap())
            }
            Ok(Some(Ok(Message::Close(c)))) => {
                return (frames, c.map(|c| u16::from(c.code)));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => return (frames, None),
        }
    }
}

async fn a_flooding_socket_is_refused_then_closed_with_4008(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        // Pings spend the "other" budget: 2 a second, 4 at once; 3 refusals are forgiven.
        c.ws_receipts_per_sec = 2;
        c.ws_typing_per_sec = 1;
        c.ws_flood_strikes = 3;
    })
    .await;
    let (token, _, _) = app.register("flood@example.com").await;
    let mut ws = connect(&app, &token, false).await;
    for i in 0..5 {
        send(&mut ws, json!({"type": "ping", "id": format!("p{i}")})).await;
    }
    let mut acks = 0;
    let mut refused = Vec::new();
    while acks + refused.len() < 5 {
        let f = expect(&mut ws, |v| v["type"] == "ack" || v["type"] == "error").await;
        if f["type"] == "ack" {
            acks += 1;
        } else {
            assert_eq!(f["code"], "rate_limited", "{f}");
            refused.push(f["id"].clone());
        }
    }
    assert!(acks >= 4, "the burst passes");
    assert!(!refused.is_empty(), "the frame past the burst is refused");
    // Typing has a budget of its own: not refused for the pings' flood.
    send(
        &mut ws,
        json!({"type": "typing", "id": "t1", "consultation_id": uuid::Uuid::now_v7()}),
    )
    .await;
    let t = expect(&mut ws, |v| v["id"] == "t1").await;
    assert_ne!(t["code"], "rate_limited", "{t}");
    // Still flooding: refused, then closed with 4008.
    for i in 0..30 {
        if ws
            .send(Message::Text(
                json!({"type": "ping", "id": format!("f{i}")})
                    .to_string()
                    .into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let (frames, code) = until_closed(&mut ws, std::time::Duration::from_secs(10)).await;
    assert!(
        frames.iter().any(|f| f["code"] == "rate_limited"),
        "an error frame before the close: {frames:?}"
    );
    assert_eq!(code, Some(4008), "closed for the rate: {frames:?}");
    // The account is not punished: a new socket works.
    let mut again = connect(&app, &token, false).await;
    send(&mut again, json!({"type": "ping", "id": "ok"})).await;
    assert_eq!(expect(&mut again, |v| v["id"] == "ok").await["type"], "ack");
}

async fn a_user_holds_a_limited_number_of_sockets(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.ws_max_sockets_per_user = 2).await;
    let (token, _, _) = app.register("sockets@example.com").await;
    let (other, _, _) = app.register("other@example.com").await;
    let mut held = Vec::new();
    for i in 0..2 {
        let mut ws = connect(&app, &token, i == 0).await;
        send(&mut ws, json!({"type": "ping", "id": "p"})).await;
        assert_eq!(expect(&mut ws, |v| v["id"] == "p").await["type"], "ack");
        held.push(ws);
    }
    let mut third = connect(&app, &token, false).await;
    let (frames, code) = until_closed(&mut third, std::time::Duration::from_secs(5)).await;
    assert_eq!(
        frames.first().map(|f| f["code"].clone()),
        Some(json!("too_many_sockets"))
    );
    assert_eq!(code, Some(4009));
    // Another user is not affected.
    let mut theirs = connect(&app, &other, false).await;
    send(&mut theirs, json!({"type": "ping", "id": "o"})).await;
    assert_eq!(expect(&mut theirs, |v| v["id"] == "o").await["type"], "ack");
    // Closing one frees its place.
    let mut first = held.remove(0);
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut ws = connect(&app, &token, false).await;
        send(&mut ws, json!({"type": "ping", "id": "again"})).await;
        let (frames, code) = until_closed(&mut ws, std::time::Duration::from_millis(500)).await;
        if code.is_none() && frames.iter().any(|f| f["type"] == "ack") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
    }
}

async fn socket_error_frames_carry_no_internal_text(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, _) = app.register("frames@example.com").await;
    let mut ws = connect(&app, &token, false).await;
    for (raw, id) in [
        (
            json!({"type": "teleport", "id": "t1"}).to_string(),
            Some("t1"),
        ),
        (
            json!({"type": "message", "id": "m1", "text": 5}).to_string(),
            Some("m1"),
        ),
        ("{not json".to_owned(), None),
    ] {
        ws.send(Message::Text(raw.into())).await.unwrap();
        let err = expect(&mut ws, |v| v["type"] == "error").await;
        assert_eq!(err["code"], "invalid_frame");
        if let Some(id) = id {
            assert_eq!(err["id"], id);
        }
        let detail = err["detail"].as_str().unwrap();
        for leak in [
            "variant",
            "line",
            "column",
            "expected",
            "ClientFrame",
            "invalid type",
        ] {
            assert!(
                !detail.contains(leak),
                "parser text in an error frame: {detail}"
            );
        }
    }
}

/// A PNG of `n` bytes.
fn png(n: usize) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(n, 7);
    png
}

async fn upload(app: &TestApp, token: &str, id: &str, client_id: &str, bytes: Vec<u8>) -> Value {
    let res = app
        .client
        .post(format!(
            "{}/api/v1/consultations/{id}/attachments?filename=palm.png&client_id={client_id}",
            app.base
        ))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let mut body: Value = res.json().await.unwrap();
    body["http_status"] = json!(status);
    body
}

async fn chat_files_are_bounded_by_a_per_user_quota(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.chat_attachment_quota_bytes = 5_000).await;
    let p = online_pair(&app, 100_000).await;
    let id = start(&app, &p).await;
    let first = upload(&app, &p.client, &id, "u-1", png(2_000)).await;
    assert_eq!(first["http_status"], 201, "{first}");
    // Two more of 2,000 at once: only one fits under 5,000, on both databases.
    let (a, b2) = tokio::join!(
        upload(&app, &p.client, &id, "u-2", png(2_000)),
        upload(&app, &p.client, &id, "u-3", png(2_000)),
    );
    let mut statuses = [
        a["http_status"].as_u64().unwrap(),
        b2["http_status"].as_u64().unwrap(),
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 413], "{a} {b2}");
    let refused = if a["http_status"] == 413 { a } else { b2 };
    assert_eq!(refused["code"], "attachment_quota_exceeded", "{refused}");
    // The quota is the uploader's own: the practitioner still has theirs.
    let theirs = upload(&app, &p.practitioner, &id, "p-1", png(2_000)).await;
    assert_eq!(theirs["http_status"], 201, "{theirs}");
    // Documented in the operation's responses.
    let spec = app.get("/api/openapi.json", None).await.expect(200);
    let responses =
        &spec["paths"]["/api/v1/consultations/{id}/attachments"]["post"]["responses"]["413"];
    assert!(
        responses["description"]
            .as_str()
            .unwrap_or_default()
            .contains("attachment_quota_exceeded"),
        "{responses}"
    );
}

async fn joining_a_waitlist_needs_the_minimum_and_one_line_at_a_time(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    // A second practitioner, online.
    let (other, other_id) =
        crate::helpers::approved_practitioner(&app, &p.admin, "astro2@example.com", "Astro Two")
            .await;
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&other),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    // Both practitioners busy: their two slots each taken by funded clients.
    for (k, (pid, ptoken)) in [(&p.practitioner_id, &p.practitioner), (&other_id, &other)]
        .into_iter()
        .enumerate()
    {
        for n in 0..2 {
            let (t, _, uid) = app.register(&format!("busy{k}-{n}@example.com")).await;
            app.credit(&p.admin, &uid, 100_000).await;
            let c = app
                .post(
                    "/api/v1/consultations",
                    Some(&t),
                    json!({"practitioner_id": pid, "channel": "chat"}),
                )
                .await
                .expect(201);
            app.post(
                &format!("/api/v1/consultations/{}/accept", c["id"].as_str().unwrap()),
                Some(ptoken),
                json!({}),
            )
            .await
            .expect(200);
        }
    }
    let line = |pid: &str| format!("/api/v1/practitioners/{pid}/waitlist");
    // An empty wallet may not hold a place, as it may not request.
    let (poor, _, poor_id) = app.register("poor@example.com").await;
    app.post(
        &line(&p.practitioner_id),
        Some(&poor),
        json!({"channel": "chat"}),
    )
    .await
    .problem(402, "insufficient_funds");
    // Just short of five minutes at 20.00: still refused; enough: admitted.
    app.credit(&p.admin, &poor_id, 9_999).await;
    app.post(
        &line(&p.practitioner_id),
        Some(&poor),
        json!({"channel": "chat"}),
    )
    .await
    .problem(402, "insufficient_funds");
    app.credit(&p.admin, &poor_id, 1).await;
    app.post(
        &line(&p.practitioner_id),
        Some(&poor),
        json!({"channel": "chat"}),
    )
    .await
    .expect(201);
    // One line at a time.
    app.post(&line(&other_id), Some(&poor), json!({"channel": "chat"}))
        .await
        .problem(409, "waitlist_elsewhere");
    // Racing joins to both lines: exactly one place.
    let (racer, _, racer_id) = app.register("racer@example.com").await;
    app.credit(&p.admin, &racer_id, 100_000).await;
    for _ in 0..3 {
        let (first_line, second_line) = (line(&p.practitioner_id), line(&other_id));
        let (x, y) = tokio::join!(
            app.post(&first_line, Some(&racer), json!({"channel": "chat"})),
            app.post(&second_line, Some(&racer), json!({"channel": "chat"})),
        );
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{} {}", x.body, y.body);
        let joined = if x.status == 201 {
            &p.practitioner_id
        } else {
            &other_id
        };
        app.call(
            Method::DELETE,
            &format!("{}/me", line(joined)),
            Some(&racer),
            None,
        )
        .await
        .expect(204);
    }
    let spec = app.get("/api/openapi.json", None).await.expect(200);
    let responses = &spec["paths"]["/api/v1/practitioners/{id}/waitlist"]["post"]["responses"];
    assert!(responses.get("402").is_some(), "{responses}");
}

async fn reviews_of_unpaid_sessions_do_not_count_in_the_rating(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.live_free_minutes_first_session = 2).await;
    let p = online_pair(&app, 100_000).await;
    let review = |id: String, body: Value| {
        let app = &app;
        let token = p.client.clone();
        async move {
            app.post(
                &format!("/api/v1/consultations/{id}/review"),
                Some(&token),
                body,
            )
            .await
        }
    };
    let rating = || async {
        app.get(
            &format!("/api/v1/practitioners/{}", p.practitioner_id),
            None,
        )
        .await
        .expect(200)["rating"]
            .clone()
    };
    // Ninety seconds, both minutes free: the client paid nothing.
    let free = finished(&app, &p, 90).await;
    let c = crate::live::consultation(&app, &p.client, &free).await;
    assert_eq!(c["minutes_billed"], 2, "{c}");
    let r = review(free, json!({"rating": 1, "text": "Meh"}))
        .await
        .expect(201);
    assert_eq!(r["verified"], false);
    assert_eq!(
        rating().await["count"],
        0,
        "an unpaid review moved the rating"
    );
    // Its text is still shown.
    let public = app
        .get(
            &format!("/api/v1/practitioners/{}/reviews", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(public["items"].as_array().unwrap().len(), 1);
    // A paid minute makes a review count.
    let paid = finished(&app, &p, 30).await;
    let r = review(paid, json!({"rating": 5})).await.expect(201);
    assert_eq!(r["verified"], true);
    let now = rating().await;
    assert_eq!(now["count"], 1, "{now}");
    assert_eq!(now["average"], 5.0, "{now}");
}

/// A session of `secs` seconds with both sides present throughout, ended by the client.
async fn finished(app: &TestApp, p: &Pair, secs: i64) -> String {
    let id = start(app, p).await;
    let mut left = secs;
    while left > 0 {
        let step = left.min(30);
        app.advance(step);
        left -= step;
        crate::live::both_beat(app, p, &id).await;
        tick(app).await;
    }
    app.post(
        &format!("/api/v1/consultations/{id}/end"),
        Some(&p.client),
        json!({}),
    )
    .await
    .expect(200);
    id
}

async fn rtc_tokens_live_as_long_as_the_wallet_pays_plus_grace(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.live_min_minutes = 1;
        c.agora_token_ttl_secs = 600;
        c.live_grace_secs = 60;
    })
    .await;
    // One minute of a call (25.00) and nothing more.
    let p = online_pair(&app, 2_500).await;
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&p.client),
            json!({"practitioner_id": p.practitioner_id, "channel": "call"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&p.practitioner),
        json!({}),
    )
    .await
    .expect(200);
    let lifetime = |t: &Value| {
        let expires: chrono::DateTime<chrono::Utc> =
            t["expires_at"].as_str().unwrap().parse().unwrap();
        (expires - app.clock.now()).num_seconds()
    };
    let token = |who: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.post(
                &format!("/api/v1/consultations/{id}/rtc-token"),
                Some(&who),
                json!({}),
            )
            .await
            .expect(200)
        }
    };
    // The paid minute and the grace window: 120 s, not the configured 600.
    for who in [&p.client, &p.practitioner] {
        let t = token(who.clone()).await;
        assert_eq!(lifetime(&t), 120, "{t}");
    }
    // After the minute is charged, 20 s in: the rest of it and the grace window.
    app.advance(20);
    beat(&app, &p.client, &id).await;
    beat(&app, &p.practitioner, &id).await;
    tick(&app).await;
    let c = crate::live::consultation(&app, &p.client, &id).await;
    assert_eq!(c["minutes_billed"], 1, "{c}");
    let t = token(p.client.clone()).await;
    assert_eq!(lifetime(&t), 100, "{t}");
    // A top-up: the next token gets the full lifetime.
    app.credit(&p.admin, &p.client_id, 1_000_000).await;
    let t = token(p.client.clone()).await;
    assert_eq!(lifetime(&t), 600, "{t}");
}

async fn a_razorpay_event_replayed_under_a_new_id_is_a_duplicate(b: Backend) {
    let (base, _seen) = fake_gateway().await;
    let app = TestApp::spawn_with(b, |c| razorpay_config(c, &base)).await;
    let (token, _, _) = app.register("replay@example.com").await;
    let topup = start_topup(&app, &token, 49_900).await;
    let order_id = topup["gateway_order_id"].as_str().unwrap().to_owned();
    let path = "/api/v1/payments/webhooks/razorpay";
    let event = |kind: &str, payment: &str, status: &str| {
        json!({"entity": "event", "account_id": "acc_Test", "event": kind, "contains": ["payment"],
            "payload": {"payment": {"entity": {"id": payment, "entity": "payment", "amount": 49_900,
            "currency": "INR", "status": status, "order_id": order_id, "method": "upi", "notes": {}}}},
            "created_at": 1_718_000_060})
        .to_string()
    };
    let deliver = |body: String, event_id: &'static str| {
        let app = &app;
        async move {
            let signature =
                protocol::razorpay_webhook_signature(RZP_WEBHOOK_NEW.as_bytes(), body.as_bytes());
            post_raw(
                app,
                path,
                &[
                    ("x-razorpay-signature", signature),
                    ("x-razorpay-event-id", event_id.to_owned()),
                ],
                &body,
            )
            .await
            .expect(200)
        }
    };
    // A failed attempt, then the same failure replayed under a fresh event id.
    let failed = event("payment.failed", "pay_Attempt1", "failed");
    assert_eq!(
        deliver(failed.clone(), "evt_f1").await["outcome"],
        "marked_failed"
    );
    assert_eq!(
        deliver(failed, "evt_f1_replayed").await["outcome"],
        "duplicate"
    );
    // The capture of the second attempt credits; its replay under a new id is a duplicate.
    let captured = event("payment.captured", "pay_Attempt2", "captured");
    let first = deliver(captured.clone(), "evt_c1").await;
    assert_ne!(first["outcome"], "duplicate", "{first}");
    for replay in ["evt_c2", "evt_c3"] {
        assert_eq!(
            deliver(captured.clone(), replay).await["outcome"],
            "duplicate"
        );
    }
    assert_eq!(available(&app, &token).await, 49_900);
    // One row per happening, not per delivery.
    use sea_orm::{EntityTrait, PaginatorTrait};
    let rows = store::entity::webhook_event::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}

async fn metrics_need_the_token_or_their_own_address(b: Backend) {
    // With a token: the public listener asks for it.
    let app = TestApp::spawn_with(b.clone(), |c| {
        c.metrics_token = Some("metrics-token-for-tests".to_owned().into());
    })
    .await;
    app.get("/metrics", None)
        .await
        .problem(401, "metrics_token_required");
    let wrong = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("metrics-token-for-test")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("metrics-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("augur_http_requests_total")
    );
    // With an address of their own: not on the public listener at all.
    let app = TestApp::spawn_with(b, |c| {
        c.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.get("/api/v1/practitioners", None).await.expect(200);
    app.get("/metrics", None).await.problem(404, "not_found");
    let own = app.metrics_base.clone().expect("a metrics listener");
    let text = app
        .client
        .get(format!("{own}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"route="/api/v1/practitioners",status="200"} 1"#),
        "{text}"
    );
}
