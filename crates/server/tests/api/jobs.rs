use domain::jobs;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(
    failing_job_is_retried_with_backoff_then_dead,
    due_jobs_are_claimed_once,
    a_stuck_job_is_taken_back_after_the_lock_timeout,
);

async fn failing_job_is_retried_with_backoff_then_dead(b: Backend) {
    let app = TestApp::spawn(b).await;
    let now = app.state.clock.now();
    // A job no handler knows always fails.
    let id = jobs::enqueue(&app.state.db, now, "no_such_kind", json!({}), now, 3)
        .await
        .unwrap();
    assert_eq!(jobs::run_pending(&app.state).await.unwrap(), 1);
    let row = store::entity::job::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert_eq!((row.run_at - now).num_seconds(), 5, "first retry after 5 s");
    assert!(row.last_error.unwrap().contains("no handler"));

    // Not due yet: nothing runs.
    assert_eq!(jobs::run_pending(&app.state).await.unwrap(), 0);
    app.advance(5);
    assert_eq!(jobs::run_pending(&app.state).await.unwrap(), 1);
    let row = store::entity::job::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.run_at - app.state.clock.now()).num_seconds(),
        10,
        "second retry after 10 s"
    );
    app.advance(10);
    assert_eq!(jobs::run_pending(&app.state).await.unwrap(), 1);
    let row = store::entity::job::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "dead");
    assert_eq!(row.attempts, 3);

    let admin = app.admin_token().await;
    let dead = app
        .get("/api/v1/admin/jobs?status=dead", Some(&admin))
        .await
        .expect(200);
    assert_eq!(dead[0]["id"], id.to_string());
    app.advance(3600);
    assert_eq!(
        jobs::run_pending(&app.state).await.unwrap(),
        0,
        "dead jobs stay dead"
    );
}

async fn due_jobs_are_claimed_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let now = app.state.clock.now();
    for i in 0..20 {
        jobs::enqueue(
            &app.state.db,
            now,
            jobs::SEND_SMS,
            json!({"to": format!("+1415555{i:04}"), "body": "hi"}),
            now,
            3,
        )
        .await
        .unwrap();
    }
    // Four workers race for twenty jobs.
    let mut handles = Vec::new();
    for w in 0..4 {
        let state = app.state.clone();
        handles.push(tokio::spawn(async move {
            let mut n = 0;
            while jobs::run_one(&state, &format!("w{w}")).await.unwrap() {
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, 20);
    let sent = app.state.sandbox_sms.as_ref().unwrap().sent();
    assert_eq!(sent.len(), 20, "each SMS sent exactly once");
    let rows = store::entity::job::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(rows.iter().all(|j| j.status == "done" && j.attempts == 1));
}

async fn a_stuck_job_is_taken_back_after_the_lock_timeout(b: Backend) {
    let app = TestApp::spawn(b).await;
    let now = app.state.clock.now();
    let id = jobs::enqueue(
        &app.state.db,
        now,
        jobs::SEND_SMS,
        json!({"to": "+14155550100", "body": "hi"}),
        now,
        5,
    )
    .await
    .unwrap();
    // Worker A claims it and dies.
    let claimed = jobs::claim(&app.state, "worker-a").await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    assert!(
        jobs::claim(&app.state, "worker-b").await.unwrap().is_none(),
        "a fresh lock is respected"
    );
    app.advance(app.state.config.job_lock_timeout_secs + 1);
    assert_eq!(
        jobs::run_pending(&app.state).await.unwrap(),
        1,
        "the stale lock is taken back"
    );
    let row = store::entity::job::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "done");
    assert_eq!(row.attempts, 2);
    assert_eq!(app.state.sandbox_sms.as_ref().unwrap().sent().len(), 1);
}
