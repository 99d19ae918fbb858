use domain::ledger::holds::{self, HoldRequest};
use domain::ledger::{AccountKind, AccountRef, Currency};
use serde_json::json;
use store::money::{Bps, split_commission};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp, approved_practitioner};

both_backends!(practitioner_requests_payout_admin_rejects_then_pays);

async fn request(app: &TestApp, token: &str, key: &str, amount: i64) -> Resp {
    app.post_keyed(
        "/api/v1/practitioners/me/payouts",
        token,
        key,
        json!({"amount": amount}),
    )
    .await
}

/// A client pays for a consultation: hold, then capture with the commission split.
pub(crate) async fn earn(app: &TestApp, admin: &str, practitioner: Uuid, amount: i64) {
    let (_, _, client) = app
        .register(&format!("payer-{}@example.com", Uuid::now_v7().simple()))
        .await;
    let res = app
        .client
        .post(format!(
            "{}/api/v1/admin/wallets/{client}/credits",
            app.base
        ))
        .bearer_auth(admin)
        .header("idempotency-key", format!("fund-{client}"))
        .json(&json!({"amount": amount, "reason": "goodwill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let now = app.state.clock.now();
    let txn = store::begin_write(&app.state.db).await.unwrap();
    let key = format!("session-{client}");
    let hold = holds::place(
        &txn,
        HoldRequest {
            user: client.parse().unwrap(),
            currency: Currency::INR,
            amount,
            reference: "session",
            key: &key,
            expires_at: now,
        },
        now,
    )
    .await
    .unwrap();
    let split = split_commission(amount, Bps::new(2_000).unwrap());
    holds::capture(
        &txn,
        hold.id,
        &[
            (
                AccountRef::earnings(practitioner, Currency::INR),
                split.practitioner,
            ),
            (
                AccountRef::platform(AccountKind::PlatformRevenue, Currency::INR),
                split.platform,
            ),
        ],
        "capture",
        &format!("cap-{client}"),
        now,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn practitioner_requests_payout_admin_rejects_then_pays(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, pid) =
        approved_practitioner(&app, &admin, "earner@example.com", "Earning Reader").await;
    let pid: Uuid = pid.parse().unwrap();
    // The role is read from the account on every request, so the token from before the
    // approval already acts as a practitioner.
    earn(&app, &admin, pid, 100_000).await;
    let e = app
        .get("/api/v1/practitioners/me/earnings", Some(&token))
        .await
        .expect(200);
    assert_eq!(
        (e["available"].as_i64(), e["commission_bps"].as_i64()),
        (Some(80_000), Some(2_000))
    );

    request(&app, &token, "p-0", 60_000)
        .await
        .problem(403, "email_unverified");
    app.verify_email("earner@example.com").await;
    request(&app, &token, "p-0b", 60_000)
        .await
        .problem(409, "payout_account_missing");
    app.call(reqwest::Method::PUT, "/api/v1/practitioners/me/payout-account", Some(&token), Some(json!({"method": "bank", "account_holder": "E R", "bank_account_number": "12ab", "ifsc": "nope"})))
        .await
        .problem(422, "validation_failed");
    let acct = app
        .call(reqwest::Method::PUT, "/api/v1/practitioners/me/payout-account", Some(&token), Some(json!({"method": "bank", "account_holder": "Earning Reader", "bank_account_number": "123456789012", "ifsc": "hdfc0001234"})))
        .await
        .expect(200);
    assert_eq!(acct["bank_account_masked"], "••••9012");
    request(&app, &token, "p-1", 100)
        .await
        .problem(422, "validation_failed");
    request(&app, &token, "p-2", 90_000)
        .await
        .problem(402, "insufficient_funds");

    let first = request(&app, &token, "p-3", 60_000).await.expect(201);
    assert_eq!(
        request(&app, &token, "p-3", 60_000).await.expect(201),
        first,
        "a replay returns the first answer"
    );
    let e = app
        .get("/api/v1/practitioners/me/earnings", Some(&token))
        .await
        .expect(200);
    assert_eq!(
        (e["available"].as_i64(), e["pending_payout"].as_i64()),
        (Some(20_000), Some(60_000))
    );

    let id = first["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/admin/payouts/{id}/reject"),
        Some(&token),
        json!({"note": "x"}),
    )
    .await
    .problem(403, "forbidden");
    let queue = app
        .get("/api/v1/admin/payouts", Some(&admin))
        .await
        .expect(200);
    assert_eq!(queue["items"][0]["id"], id);
    app.post(
        &format!("/api/v1/admin/payouts/{id}/reject"),
        Some(&admin),
        json!({"note": "bank details unverified"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/payouts/{id}/mark-paid"),
        Some(&admin),
        json!({"note": "UTR1"}),
    )
    .await
    .problem(409, "invalid_transition");
    assert_eq!(
        app.get("/api/v1/practitioners/me/earnings", Some(&token))
            .await
            .expect(200)["available"],
        80_000,
        "rejected money returns"
    );

    let second = request(&app, &token, "p-4", 50_000).await.expect(201);
    let id = second["id"].as_str().unwrap();
    let paid = app
        .post(
            &format!("/api/v1/admin/payouts/{id}/mark-paid"),
            Some(&admin),
            json!({"note": "UTR20261122001"}),
        )
        .await
        .expect(200);
    assert_eq!(paid["status"], "paid");
    assert!(
        paid["receipt_number"]
            .as_str()
            .unwrap()
            .starts_with("RCPT-")
    );
    let e = app
        .get("/api/v1/practitioners/me/earnings", Some(&token))
        .await
        .expect(200);
    assert_eq!(
        (e["available"].as_i64(), e["pending_payout"].as_i64()),
        (Some(30_000), Some(0))
    );
    let mine = app
        .get("/api/v1/practitioners/me/payouts", Some(&token))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);

    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
    let log = app
        .get("/api/v1/admin/audit-logs?target_type=payout", Some(&admin))
        .await
        .expect(200);
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["payout.paid", "payout.reject"]);
    // A client is not a practitioner.
    let (client, _, _) = app.register("just-a-client@example.com").await;
    app.get("/api/v1/practitioners/me/earnings", Some(&client))
        .await
        .problem(403, "forbidden");
}
