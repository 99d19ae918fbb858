use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, application, approved_practitioner};

both_backends!(
    profile_fields_can_be_edited_and_cleared,
    birth_details_are_validated_and_private,
    practitioner_application_is_reviewed_before_listing,
    practitioners_edit_only_their_own_profile,
    favorites_are_idempotent_and_counted,
    deleting_my_account_erases_it_and_ends_sessions,
);

async fn profile_fields_can_be_edited_and_cleared(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (t, _, _) = app.register("me@example.com").await;
    let me = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&t),
            Some(json!({"city": "Pune", "gender": "female", "date_of_birth": "1992-04-03", "time_zone": "Asia/Kolkata", "language": "HI"})),
        )
        .await
        .expect(200);
    assert_eq!(me["city"], "Pune");
    assert_eq!(me["language"], "hi");
    assert_eq!(me["date_of_birth"], "1992-04-03");
    let me = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&t),
            Some(json!({"city": null})),
        )
        .await
        .expect(200);
    assert_eq!(me["city"], serde_json::Value::Null);
    assert_eq!(me["gender"], "female", "absent fields stay");
    let err = app
        .call(Method::PATCH, "/api/v1/me", Some(&t), Some(json!({"gender": "robot", "time_zone": "Nowhere/Land", "date_of_birth": "2999-01-01"})))
        .await
        .problem(422, "validation_failed");
    assert_eq!(err["errors"].as_array().unwrap().len(), 3);
}

async fn birth_details_are_validated_and_private(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (t, _, _) = app.register("born@example.com").await;
    app.get("/api/v1/me/birth-details", Some(&t))
        .await
        .problem(404, "not_found");
    let details = json!({
        "birth_date": "1990-08-15", "birth_time": "06:30:00", "time_known": true,
        "place_name": "Mumbai", "latitude": 19.076, "longitude": 72.8777, "time_zone": "Asia/Kolkata"
    });
    app.call(
        Method::PUT,
        "/api/v1/me/birth-details",
        Some(&t),
        Some(details.clone()),
    )
    .await
    .expect(200);
    let got = app
        .get("/api/v1/me/birth-details", Some(&t))
        .await
        .expect(200);
    assert_eq!(got["place_name"], "Mumbai");
    assert_eq!(got["birth_time"], "06:30:00");
    let err = app
        .call(
            Method::PUT,
            "/api/v1/me/birth-details",
            Some(&t),
            Some(json!({"birth_date": "1990-02-30", "time_known": true, "place_name": "x", "latitude": 1, "longitude": 1, "time_zone": "UTC"})),
        )
        .await
        .problem(422, "invalid_body");
    assert!(err["detail"].as_str().unwrap().contains("birth_date"));
    let err = app
        .call(
            Method::PUT,
            "/api/v1/me/birth-details",
            Some(&t),
            Some(json!({"birth_date": "1990-02-03", "time_known": true, "place_name": "", "latitude": 91, "longitude": -181, "time_zone": "Asia/Nowhere"})),
        )
        .await
        .problem(422, "validation_failed");
    let fields: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "latitude",
        "longitude",
        "birth_time",
        "place_name",
        "time_zone",
    ] {
        assert!(fields.contains(&f), "{f} missing in {err}");
    }
    // Another user sees only their own (absent) details.
    let (other, _, _) = app.register("other@example.com").await;
    app.get("/api/v1/me/birth-details", Some(&other))
        .await
        .problem(404, "not_found");
}

async fn practitioner_application_is_reviewed_before_listing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (t, _, user_id) = app.register("reader@example.com").await;
    let p = app
        .post(
            "/api/v1/practitioners/apply",
            Some(&t),
            application("Guru Dev"),
        )
        .await
        .expect(201);
    assert_eq!(p["verification_status"], "pending");
    let id = p["id"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/practitioners/apply",
        Some(&t),
        application("Guru Dev"),
    )
    .await
    .problem(409, "already_applied");

    // Not public yet.
    app.get(&format!("/api/v1/practitioners/{id}"), None)
        .await
        .problem(404, "not_found");
    assert_eq!(
        app.get("/api/v1/practitioners", None).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // A non-admin cannot approve — not even themselves.
    app.post(
        &format!("/api/v1/admin/practitioners/{id}/approve"),
        Some(&t),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    let queue = app
        .get("/api/v1/admin/practitioners?status=pending", Some(&admin))
        .await
        .expect(200);
    assert_eq!(queue["items"][0]["id"], id.as_str());

    let approved = app
        .post(
            &format!("/api/v1/admin/practitioners/{id}/approve"),
            Some(&admin),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved["verification_status"], "approved");
    let public = app
        .get(&format!("/api/v1/practitioners/{id}"), None)
        .await
        .expect(200);
    assert_eq!(public["display_name"], "Guru Dev");
    assert_eq!(public["rates"]["chat"], 2000);
    assert!(
        public.get("user_id").is_none(),
        "public profile hides the account id"
    );
    let me = app.get("/api/v1/me", Some(&t)).await.expect(200);
    assert_eq!(me["role"], "practitioner");
    assert_eq!(me["id"], user_id.as_str());

    // Reject needs a reason and only applies to pending applications.
    app.post(
        &format!("/api/v1/admin/practitioners/{id}/reject"),
        Some(&admin),
        json!({}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &format!("/api/v1/admin/practitioners/{id}/reject"),
        Some(&admin),
        json!({"reason": "late"}),
    )
    .await
    .problem(409, "invalid_transition");
    let suspended = app
        .post(
            &format!("/api/v1/admin/practitioners/{id}/suspend"),
            Some(&admin),
            json!({"reason": "complaints"}),
        )
        .await
        .expect(200);
    assert_eq!(suspended["status_reason"], "complaints");
    app.get(&format!("/api/v1/practitioners/{id}"), None)
        .await
        .problem(404, "not_found");

    // Every admin action is in the audit log with before and after.
    let log = app
        .get(
            &format!("/api/v1/admin/audit-logs?target_id={id}"),
            Some(&admin),
        )
        .await
        .expect(200);
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "practitioner.suspend");
    assert_eq!(items[0]["before"]["verification_status"], "approved");
    assert_eq!(items[0]["after"]["verification_status"], "suspended");
    assert_eq!(items[1]["action"], "practitioner.approve");
    assert_eq!(items[1]["ip"], "127.0.0.1");
    assert!(
        items[1]["request_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    app.get("/api/v1/admin/audit-logs", Some(&t))
        .await
        .problem(403, "forbidden");
}

async fn practitioners_edit_only_their_own_profile(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (t, id) = approved_practitioner(&app, &admin, "p1@example.com", "First Reader").await;
    let edited = app
        .call(
            Method::PATCH,
            "/api/v1/practitioners/me",
            Some(&t),
            Some(json!({"bio": "Now reading tarot too.", "specializations": ["Tarot", "tarot", "career"], "rates": {"currency": "INR", "chat": 2500, "call": null, "video": 4000}})),
        )
        .await
        .expect(200);
    assert_eq!(edited["id"], id.as_str());
    assert_eq!(edited["specializations"], json!(["tarot", "career"]));
    assert_eq!(edited["rates"]["call"], serde_json::Value::Null);
    let found = app
        .get("/api/v1/practitioners?specialization=tarot", None)
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let found = app
        .get("/api/v1/practitioners?q=tarot", None)
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    // A plain client has no practitioner profile to edit.
    let (client, _, _) = app.register("client@example.com").await;
    app.call(
        Method::PATCH,
        "/api/v1/practitioners/me",
        Some(&client),
        Some(json!({"bio": "hijack"})),
    )
    .await
    .problem(404, "not_found");
    app.call(
        Method::PATCH,
        "/api/v1/practitioners/me",
        Some(&t),
        Some(json!({"rates": {"currency": "inr", "chat": -5}})),
    )
    .await
    .problem(422, "validation_failed");
    let public = app
        .get(&format!("/api/v1/practitioners/{id}"), None)
        .await
        .expect(200);
    assert_eq!(public["bio"], "Now reading tarot too.");
    assert_eq!(
        app.get("/api/v1/practitioners", None).await.expect(200)["items"][0],
        public
    );
}

async fn favorites_are_idempotent_and_counted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (pt, pid) = approved_practitioner(&app, &admin, "fav-p@example.com", "Fav Reader").await;
    let (_, other) = approved_practitioner(&app, &admin, "fav-q@example.com", "Other Reader").await;
    let (a, _, _) = app.register("fan-a@example.com").await;
    let (bb, _, _) = app.register("fan-b@example.com").await;
    for _ in 0..2 {
        app.call(
            Method::PUT,
            &format!("/api/v1/me/favorites/{pid}"),
            Some(&a),
            None,
        )
        .await
        .expect(204);
    }
    app.call(
        Method::PUT,
        &format!("/api/v1/me/favorites/{pid}"),
        Some(&bb),
        None,
    )
    .await
    .expect(204);
    app.call(
        Method::PUT,
        &format!("/api/v1/me/favorites/{other}"),
        Some(&a),
        None,
    )
    .await
    .expect(204);
    let p = app
        .get(&format!("/api/v1/practitioners/{pid}"), None)
        .await
        .expect(200);
    assert_eq!(p["follower_count"], 2);

    let page1 = app
        .get("/api/v1/me/favorites?limit=1", Some(&a))
        .await
        .expect(200);
    assert_eq!(page1["items"].as_array().unwrap().len(), 1);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(
            &format!("/api/v1/me/favorites?limit=1&cursor={cursor}"),
            Some(&a),
        )
        .await
        .expect(200);
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);
    assert!(page2["next_cursor"].is_null());

    for _ in 0..2 {
        app.call(
            Method::DELETE,
            &format!("/api/v1/me/favorites/{pid}"),
            Some(&a),
            None,
        )
        .await
        .expect(204);
    }
    let p = app
        .get(&format!("/api/v1/practitioners/{pid}"), None)
        .await
        .expect(200);
    assert_eq!(p["follower_count"], 1);
    let listed = app.get("/api/v1/practitioners", None).await.expect(200);
    let card = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == pid.as_str())
        .unwrap();
    assert_eq!(card, &p, "the listing shows the same count");
    // B's list is B's alone.
    let b_list = app.get("/api/v1/me/favorites", Some(&bb)).await.expect(200);
    assert_eq!(b_list["items"].as_array().unwrap().len(), 1);
    app.call(
        Method::PUT,
        &format!("/api/v1/me/favorites/{pid}"),
        Some(&pt),
        None,
    )
    .await
    .problem(409, "cannot_favorite_self");
    app.call(
        Method::PUT,
        "/api/v1/me/favorites/01234567-89ab-7def-8123-456789abcdef",
        Some(&a),
        None,
    )
    .await
    .problem(404, "not_found");
}

async fn deleting_my_account_erases_it_and_ends_sessions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (_, pid) = approved_practitioner(&app, &admin, "liked@example.com", "Liked Reader").await;
    let (t, refresh, _) = app.register("leaving@example.com").await;
    app.call(
        Method::PUT,
        &format!("/api/v1/me/favorites/{pid}"),
        Some(&t),
        None,
    )
    .await
    .expect(204);
    app.call(
        Method::DELETE,
        "/api/v1/me",
        Some(&t),
        Some(json!({"password": "not my password"})),
    )
    .await
    .problem(401, "invalid_credentials");
    app.call(
        Method::DELETE,
        "/api/v1/me",
        Some(&t),
        Some(json!({"password": crate::helpers::PASSWORD})),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", Some(&t))
        .await
        .problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401, "session_revoked");
    app.login("leaving@example.com", crate::helpers::PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    let p = app
        .get(&format!("/api/v1/practitioners/{pid}"), None)
        .await
        .expect(200);
    assert_eq!(p["follower_count"], 0);
    assert_eq!(
        app.get("/api/v1/practitioners", None).await.expect(200)["items"][0],
        p,
        "the listing shows it too"
    );
    // The address is free again.
    app.register("leaving@example.com").await;
}
