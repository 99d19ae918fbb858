use reqwest::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::json;
use std::collections::HashSet;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(
    catalog_lists_the_deck_and_spreads,
    readings_are_drawn_stored_and_private,
    stored_readings_can_be_audited_from_their_seed,
    admins_tune_the_catalog,
);

async fn catalog_lists_the_deck_and_spreads(b: Backend) {
    let app = TestApp::spawn(b).await;
    let decks = app.get("/api/v1/tarot/decks", None).await.expect(200);
    assert_eq!(decks[0]["slug"], "augur-classic");
    assert_eq!(decks[0]["card_count"], 78);
    let cards = app
        .get("/api/v1/tarot/decks/augur-classic/cards", None)
        .await
        .expect(200);
    let cards = cards.as_array().unwrap();
    assert_eq!(cards.len(), 78);
    let ids: HashSet<&str> = cards.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 78);
    assert_eq!(cards.iter().filter(|c| c["arcana"] == "major").count(), 22);
    assert!(
        cards
            .iter()
            .all(|c| !c["upright"].as_str().unwrap().is_empty())
    );
    app.get("/api/v1/tarot/decks/thoth/cards", None)
        .await
        .problem(404, "not_found");
    let spreads = app.get("/api/v1/tarot/spreads", None).await.expect(200);
    let spreads = spreads.as_array().unwrap();
    let slugs: Vec<&str> = spreads
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        [
            "single",
            "three-card",
            "celtic-cross",
            "relationship",
            "yes-no"
        ]
    );
    for s in spreads {
        assert_eq!(
            s["positions"].as_array().unwrap().len() as i64,
            s["card_count"].as_i64().unwrap()
        );
    }
    assert_eq!(spreads[2]["card_count"], 10);
}

async fn readings_are_drawn_stored_and_private(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (t, _, _) = app.register("seeker@example.com").await;
    let (other, _, _) = app.register("other@example.com").await;
    app.post("/api/v1/tarot/readings", None, json!({"spread": "single"}))
        .await
        .problem(401, "missing_token");
    let r = app
        .post(
            "/api/v1/tarot/readings",
            Some(&t),
            json!({"spread": "celtic-cross", "question": "Should I move to Pune?"}),
        )
        .await
        .expect(201);
    let cards = r["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 10);
    let distinct: HashSet<&str> = cards
        .iter()
        .map(|c| c["card_id"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 10, "no card twice in a reading");
    for (i, c) in cards.iter().enumerate() {
        assert_eq!(c["position"], i);
        assert!(!c["meaning"].as_str().unwrap().is_empty());
        assert!(!c["card_name"].as_str().unwrap().is_empty());
    }
    assert_eq!(r["audit"]["seed"].as_str().unwrap().len(), 64);
    assert_eq!(r["audit"]["reversal_bps"], 2500);
    let id = r["id"].as_str().unwrap();
    let got = app
        .get(&format!("/api/v1/tarot/readings/{id}"), Some(&t))
        .await
        .expect(200);
    assert_eq!(got, r);
    app.get(&format!("/api/v1/tarot/readings/{id}"), Some(&other))
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/tarot/readings/{id}/verify"), Some(&other))
        .await
        .problem(404, "not_found");

    let yes_no = app
        .post(
            "/api/v1/tarot/readings",
            Some(&t),
            json!({"spread": "yes-no"}),
        )
        .await
        .expect(201);
    assert!(["yes", "no", "maybe"].contains(&yes_no["yes_no"].as_str().unwrap()));
    app.post(
        "/api/v1/tarot/readings",
        Some(&t),
        json!({"spread": "three-card"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/tarot/readings",
        Some(&t),
        json!({"spread": "pentagram"}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/api/v1/tarot/readings",
        Some(&t),
        json!({"spread": "single", "deck": "thoth"}),
    )
    .await
    .problem(404, "not_found");

    // Cursor pages, newest first, only mine.
    let page = app
        .get("/api/v1/tarot/readings?limit=2", Some(&t))
        .await
        .expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["spread"], "three-card");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/tarot/readings?limit=2&cursor={cursor}"),
            Some(&t),
        )
        .await
        .expect(200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["id"], r["id"]);
    assert!(rest["next_cursor"].is_null());
    let theirs = app
        .get("/api/v1/tarot/readings", Some(&other))
        .await
        .expect(200);
    assert!(theirs["items"].as_array().unwrap().is_empty());
}

async fn stored_readings_can_be_audited_from_their_seed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (t, _, _) = app.register("audited@example.com").await;
    let r = app
        .post(
            "/api/v1/tarot/readings",
            Some(&t),
            json!({"spread": "three-card"}),
        )
        .await
        .expect(201);
    let id = r["id"].as_str().unwrap();
    let v = app
        .get(&format!("/api/v1/tarot/readings/{id}/verify"), Some(&t))
        .await
        .expect(200);
    assert_eq!(v["verified"], true, "{v}");
    // The stored seed re-derives exactly these cards with the engine.
    let seed = tarot::Seed::from_hex(r["audit"]["seed"].as_str().unwrap()).unwrap();
    let again = tarot::draw_seeded(
        tarot::SpreadId::ThreeCard,
        seed,
        tarot::ReversalProbability::new(0.25).unwrap(),
    );
    for (stored, drawn) in r["cards"].as_array().unwrap().iter().zip(&again.cards) {
        assert_eq!(stored["card_id"], drawn.card_id.as_str());
        assert_eq!(stored["reversed"], drawn.reversed);
    }
    // Someone edits the stored cards: the audit says so, for the owner and for an admin.
    let uuid: uuid::Uuid = id.parse().unwrap();
    let row = store::entity::reading_session::Entity::find_by_id(uuid)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut cards: Vec<tarot::DrawnCard> = serde_json::from_str(&row.cards).unwrap();
    cards[1].reversed = !cards[1].reversed;
    let mut m: store::entity::reading_session::ActiveModel = row.into();
    m.cards = Set(serde_json::to_string(&cards).unwrap());
    m.update(&app.state.db).await.unwrap();
    for token in [&t, &admin] {
        let v = app
            .get(&format!("/api/v1/tarot/readings/{id}/verify"), Some(token))
            .await
            .expect(200);
        assert_eq!(v["verified"], false);
        assert!(v["reason"].as_str().unwrap().contains("position 1"), "{v}");
    }
}

async fn admins_tune_the_catalog(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (t, _, _) = app.register("tuner@example.com").await;
    app.call(
        Method::PATCH,
        "/api/v1/admin/tarot/decks/augur-classic",
        Some(&t),
        Some(json!({"reversal_bps": 0})),
    )
    .await
    .problem(403, "forbidden");
    app.call(
        Method::PATCH,
        "/api/v1/admin/tarot/decks/augur-classic",
        Some(&admin),
        Some(json!({"reversal_bps": 10001})),
    )
    .await
    .problem(422, "validation_failed");
    for (bps, reversed) in [(0, false), (10_000, true)] {
        let d = app
            .call(
                Method::PATCH,
                "/api/v1/admin/tarot/decks/augur-classic",
                Some(&admin),
                Some(json!({"reversal_bps": bps})),
            )
            .await
            .expect(200);
        assert_eq!(d["reversal_bps"], bps);
        for _ in 0..3 {
            let r = app
                .post(
                    "/api/v1/tarot/readings",
                    Some(&t),
                    json!({"spread": "celtic-cross"}),
                )
                .await
                .expect(201);
            assert!(
                r["cards"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["reversed"] == reversed),
                "reversal chance {bps} bps"
            );
            let id = r["id"].as_str().unwrap();
            let v = app
                .get(&format!("/api/v1/tarot/readings/{id}/verify"), Some(&t))
                .await
                .expect(200);
            assert_eq!(v["verified"], true);
        }
    }
    app.call(
        Method::PATCH,
        "/api/v1/admin/tarot/spreads/relationship",
        Some(&admin),
        Some(json!({"active": false})),
    )
    .await
    .expect(204);
    app.post(
        "/api/v1/tarot/readings",
        Some(&t),
        json!({"spread": "relationship"}),
    )
    .await
    .problem(404, "not_found");
    let spreads = app.get("/api/v1/tarot/spreads", None).await.expect(200);
    assert_eq!(spreads.as_array().unwrap().len(), 4);
    app.call(
        Method::PATCH,
        "/api/v1/admin/tarot/decks/augur-classic",
        Some(&admin),
        Some(json!({"active": false})),
    )
    .await
    .expect(200);
    let decks = app.get("/api/v1/tarot/decks", None).await.expect(200);
    assert!(decks.as_array().unwrap().is_empty());
    let log = app
        .get(
            "/api/v1/admin/audit-logs?target_type=tarot_deck",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(log["items"].as_array().unwrap().len(), 3);
}
