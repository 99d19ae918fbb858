use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(only_admins_reach_admin_routes, user_suspension_is_audited);

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
