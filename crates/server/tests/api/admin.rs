use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(
    only_admins_reach_admin_routes,
    user_suspension_is_audited,
    every_admin_operation_refuses_non_admins,
    suspending_an_account_removes_its_practitioner_from_discovery,
);

async fn only_admins_reach_admin_routes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, client_id) = app.register("c@example.com").await;
    for path in [
        "/api/v1/admin/practitioners",
        "/api/v1/admin/audit-logs",
        "/api/v1/admin/jobs",
    ] {
        app.get(path, Some(&client)).await.problem(403, "forbidden");
        app.get(path, None).await.problem(401, "missing_token");
        app.get(path, Some(&admin)).await.expect(200);
    }
    app.post(
        &format!("/api/v1/admin/users/{client_id}/suspend"),
        Some(&client),
        json!({"reason": "x"}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        "/api/v1/admin/users/01234567-89ab-7def-8123-456789abcdef/suspend",
        Some(&admin),
        json!({"reason": "x"}),
    )
    .await
    .problem(404, "not_found");
    app.post(
        "/api/v1/admin/practitioners/01234567-89ab-7def-8123-456789abcdef/approve",
        Some(&admin),
        json!({}),
    )
    .await
    .problem(404, "not_found");
}

async fn user_suspension_is_audited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (_, _, id) = app.register("s@example.com").await;
    app.post(
        &format!("/api/v1/admin/users/{id}/suspend"),
        Some(&admin),
        json!({}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &format!("/api/v1/admin/users/{id}/suspend"),
        Some(&admin),
        json!({"reason": "chargebacks"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/users/{id}/reactivate"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(200);
    let log = app
        .get(
            &format!("/api/v1/admin/audit-logs?target_type=user&target_id={id}"),
            Some(&admin),
        )
        .await
        .expect(200);
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["action"], "user.suspend");
    assert_eq!(items[1]["before"]["status"], "active");
    assert_eq!(items[1]["after"]["status"], "suspended");
    assert_eq!(items[1]["after"]["reason"], "chargebacks");
    assert_eq!(items[0]["action"], "user.reactivate");
    assert_eq!(items[0]["actor_role"], "admin");
}

async fn every_admin_operation_refuses_non_admins(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (client, _, _) = app.register("nosy@example.com").await;
    let spec = app.get("/api/openapi.json", None).await.expect(200);
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        let concrete = path.replace("{id}", "01234567-89ab-7def-8123-456789abcdef");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != reqwest::Method::GET).then(|| json!({"reason": "x"}));
            app.call(m.clone(), &concrete, Some(&client), body.clone())
                .await
                .problem(403, "forbidden");
            app.call(m, &concrete, None, body)
                .await
                .problem(401, "missing_token");
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} admin operations found");
}

async fn suspending_an_account_removes_its_practitioner_from_discovery(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (_, pid) =
        crate::helpers::approved_practitioner(&app, &admin, "fraud@example.com", "Fraud Reader")
            .await;
    let me = app
        .login("fraud@example.com", crate::helpers::PASSWORD)
        .await
        .expect(200);
    let uid = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/practitioners", None).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.post(
        &format!("/api/v1/admin/users/{uid}/suspend"),
        Some(&admin),
        json!({"reason": "fraud"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/practitioners", None).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    app.get(&format!("/api/v1/practitioners/{pid}"), None)
        .await
        .problem(404, "not_found");
    // The profile cannot be approved while the account is suspended.
    app.post(
        &format!("/api/v1/admin/practitioners/{pid}/approve"),
        Some(&admin),
        json!({}),
    )
    .await
    .problem(409, "account_not_active");
    app.post(
        &format!("/api/v1/admin/users/{uid}/reactivate"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/practitioners", None).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "reactivation does not relist by itself"
    );
    app.post(
        &format!("/api/v1/admin/practitioners/{pid}/approve"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(200);
    let listed = app.get("/api/v1/practitioners", None).await.expect(200);
    assert_eq!(
        listed["items"][0],
        app.get(&format!("/api/v1/practitioners/{pid}"), None)
            .await
            .expect(200)
    );
}
