//! Two real `augur` processes sharing one database and Redis behave as one: a client on
//! node A and a practitioner on node B chat, get receipts, catch up after moving nodes, and
//! both nodes' workers bill the session with each minute charged once.

use reqwest::Method;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::both_backends;
use crate::crash::{People, call, people, serve_with};
use crate::helpers::{Backend, fresh_database_url};
use crate::realtime::{Ws, expect_within, send};

both_backends!(two_processes_with_redis_act_as_one);

async fn socket(base: &str, token: &str) -> Ws {
    let url = format!(
        "{}/api/v1/ws?access_token={token}",
        base.replacen("http", "ws", 1)
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Real processes answer more slowly than in-process servers: 10 s per frame.
async fn expect(ws: &mut Ws, want: impl Fn(&Value) -> bool) -> Value {
    expect_within(ws, std::time::Duration::from_secs(10), want).await
}

async fn ping(ws: &mut Ws, id: &str) {
    send(ws, json!({"type": "ping", "id": id})).await;
    expect(ws, |v| v["type"] == "ack" && v["id"] == id).await;
}

async fn two_processes_with_redis_act_as_one(b: Backend) {
    let redis = match std::env::var("AUGUR_TEST_REDIS_URL") {
        Ok(url) => url,
        Err(_) => {
            assert!(
                std::env::var("AUGUR_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "AUGUR_TEST_REDIS_URL must be set when the multi-node suite is required"
            );
            return;
        }
    };
    let url = fresh_database_url(&b).await;
    let a = serve_with(&url, 100, Some(&redis)).await;
    let n2 = serve_with(&url, 100, Some(&redis)).await;
    let People {
        client,
        practitioner,
        practitioner_id,
        client_id,
        ..
    } = people(&url, &a.base).await;
    let mut client_ws = socket(&a.base, &client).await;
    let mut practitioner_ws = socket(&n2.base, &practitioner).await;
    ping(&mut client_ws, "hello-a").await;
    ping(&mut practitioner_ws, "hello-b").await;

    let (s, c) = call(
        &a.base,
        Method::POST,
        "/api/v1/consultations",
        Some(&client),
        Some(json!({"practitioner_id": practitioner_id, "channel": "chat"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    expect(&mut practitioner_ws, |v| {
        v["type"] == "consultation_requested"
    })
    .await;
    let (s, _) = call(
        &n2.base,
        Method::POST,
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200);
    expect(&mut client_ws, |v| v["type"] == "consultation_started").await;

    send(
        &mut client_ws,
        json!({"type": "message", "id": "a-1", "consultation_id": id, "text": "From process A"}),
    )
    .await;
    let ack = expect(&mut client_ws, |v| v["type"] == "ack" && v["id"] == "a-1").await;
    let first = ack["message"]["id"].as_str().unwrap().to_owned();
    let got = expect(&mut practitioner_ws, |v| v["type"] == "message").await;
    assert_eq!(got["message"]["body"], "From process A");
    send(
        &mut practitioner_ws,
        json!({"type": "message", "id": "b-1", "consultation_id": id, "text": "From process B"}),
    )
    .await;
    let reply = expect(&mut client_ws, |v| {
        v["type"] == "message" && v["message"]["sender_id"] != client_id.as_str()
    })
    .await;
    assert_eq!(reply["message"]["body"], "From process B");
    send(
        &mut practitioner_ws,
        json!({"type": "read", "id": "r-1", "consultation_id": id, "message_id": first}),
    )
    .await;
    assert_eq!(
        expect(&mut client_ws, |v| v["type"] == "receipt").await["status"],
        "read"
    );
    // The client moves to process B and catches up.
    drop(client_ws);
    let mut moved = socket(&n2.base, &client).await;
    send(
        &mut moved,
        json!({"type": "sync", "id": "s-1", "consultation_id": id, "after": first}),
    )
    .await;
    let sync = expect(&mut moved, |v| v["type"] == "ack" && v["id"] == "s-1").await;
    assert_eq!(sync["messages"][0]["body"], "From process B");

    // Billing once across both processes' workers: backdate the start by 150 s (a real
    // process's clock cannot be moved), then let both sides be seen.
    let db = Database::connect(url.as_str()).await.unwrap();
    let uuid: uuid::Uuid = id.parse().unwrap();
    store::entity::consultation::Entity::update_many()
        .col_expr(
            store::entity::consultation::Column::StartedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(150)),
        )
        .filter(store::entity::consultation::Column::Id.eq(uuid))
        .exec(&db)
        .await
        .unwrap();
    for round in 0..3 {
        ping(&mut moved, &format!("c{round}")).await;
        ping(&mut practitioner_ws, &format!("p{round}")).await;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let mut charged = Vec::new();
    for _ in 0..50 {
        let (_, v) = call(
            &a.base,
            Method::GET,
            &format!("/api/v1/consultations/{id}"),
            Some(&client),
            None,
        )
        .await;
        if v["minutes_billed"] == 3 {
            charged.push(v);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(charged.len(), 1, "three minutes were billed");
    // Both workers keep running; nothing is charged twice.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (_, v) = call(&n2.base, Method::GET, "/api/v1/wallet", Some(&client), None).await;
    assert_eq!(v["available"], 100_000 - 3 * 2_000);
    let minutes = store::entity::consultation_minute::Entity::find()
        .filter(store::entity::consultation_minute::Column::ConsultationId.eq(uuid))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(minutes.len(), 3);
    for (currency, sum, _) in domain::ledger::trial_balance(&db).await.unwrap() {
        assert_eq!(sum, 0, "{currency} books do not balance");
    }
}
