use std::collections::HashSet;

use augur::accounts::NewUser;
use augur::auth::Role;
use augur::demo::{PractitionerSeed, insert_practitioner};
use augur::practitioners::{Availability, Verification};
use sea_orm::ActiveModelTrait;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(
    filters_narrow_the_listing,
    sorts_order_the_listing,
    pages_neither_repeat_nor_skip_while_rows_are_added,
    bad_listing_parameters_are_explained,
    listing_matches_public_profile,
);

#[expect(
    clippy::too_many_arguments,
    reason = "each fixture row reads best as one call"
)]
async fn seed(
    app: &TestApp,
    name: &str,
    kind: &str,
    langs: &[&str],
    specs: &[&str],
    years: i32,
    chat: Option<i64>,
    rating: i32,
    consults: i32,
    online: bool,
) -> String {
    let now = app.state.clock.now();
    let user = NewUser {
        email: Some(format!("{}@example.com", uuid::Uuid::now_v7().simple())),
        ..NewUser::new(Role::Practitioner, name)
    }
    .into_active_model(now)
    .insert(&app.state.db)
    .await
    .unwrap();
    insert_practitioner(
        &app.state.db,
        user.id,
        PractitionerSeed {
            kind,
            name,
            bio: "Readings with care.",
            languages: langs,
            specializations: specs,
            years,
            chat,
            call: Some(3000),
            video: None,
            rating_centi: rating,
            rating_count: 10,
            consultations: consults,
            availability: if online {
                Availability::Online
            } else {
                Availability::Offline
            },
            verification: Verification::Approved,
        },
        now,
    )
    .await
    .unwrap()
    .to_string()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["display_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn fixture(app: &TestApp) {
    seed(
        app,
        "Asha Vedic",
        "astrologer",
        &["hi", "en"],
        &["vedic", "career"],
        20,
        Some(3000),
        480,
        900,
        true,
    )
    .await;
    seed(
        app,
        "Bela Tarot",
        "tarot_reader",
        &["en"],
        &["tarot", "love"],
        5,
        Some(1500),
        450,
        300,
        false,
    )
    .await;
    seed(
        app,
        "Chirag Healer",
        "healer",
        &["gu", "hi"],
        &["reiki"],
        12,
        Some(2000),
        420,
        1200,
        true,
    )
    .await;
    seed(
        app,
        "Dia 100% Real_Name",
        "astrologer",
        &["en"],
        &["kp"],
        3,
        None,
        390,
        10,
        false,
    )
    .await;
}

async fn filters_narrow_the_listing(b: Backend) {
    let app = TestApp::spawn(b).await;
    fixture(&app).await;
    let q = |path: &str| {
        let app = &app;
        let path = path.to_owned();
        async move {
            let mut n = names(
                &app.get(&format!("/api/v1/practitioners{path}"), None)
                    .await
                    .expect(200),
            );
            n.sort();
            n
        }
    };
    assert_eq!(q("").await.len(), 4);
    assert_eq!(
        q("?kind=astrologer").await,
        ["Asha Vedic", "Dia 100% Real_Name"]
    );
    assert_eq!(q("?language=hi").await, ["Asha Vedic", "Chirag Healer"]);
    assert_eq!(q("?specialization=tarot").await, ["Bela Tarot"]);
    assert_eq!(
        q("?min_rating=4.2").await,
        ["Asha Vedic", "Bela Tarot", "Chirag Healer"]
    );
    assert_eq!(
        q("?min_price=1600&max_price=3000").await,
        ["Asha Vedic", "Chirag Healer"]
    );
    assert_eq!(q("?channel=video&min_price=1").await, Vec::<String>::new());
    assert_eq!(q("?online=true").await, ["Asha Vedic", "Chirag Healer"]);
    assert_eq!(q("?q=REIKI").await, ["Chirag Healer"]);
    assert_eq!(q("?q=vedic%20career").await, ["Asha Vedic"]);
    // LIKE wildcards in the search text are matched literally.
    assert_eq!(q("?q=100%25").await, ["Dia 100% Real_Name"]);
    assert_eq!(q("?q=_").await, ["Dia 100% Real_Name"]);
    assert_eq!(
        q("?kind=astrologer&language=en&online=true").await,
        ["Asha Vedic"]
    );
}

async fn sorts_order_the_listing(b: Backend) {
    let app = TestApp::spawn(b).await;
    fixture(&app).await;
    let get = |s: &'static str| {
        let app = &app;
        async move {
            names(
                &app.get(&format!("/api/v1/practitioners?sort={s}"), None)
                    .await
                    .expect(200),
            )
        }
    };
    assert_eq!(
        get("rating").await,
        [
            "Asha Vedic",
            "Bela Tarot",
            "Chirag Healer",
            "Dia 100% Real_Name"
        ]
    );
    assert_eq!(
        get("experience").await,
        [
            "Asha Vedic",
            "Chirag Healer",
            "Bela Tarot",
            "Dia 100% Real_Name"
        ]
    );
    assert_eq!(
        get("popularity").await,
        [
            "Chirag Healer",
            "Asha Vedic",
            "Bela Tarot",
            "Dia 100% Real_Name"
        ]
    );
    // Price sorts cheapest first and leaves out those without a chat rate.
    assert_eq!(
        get("price").await,
        ["Bela Tarot", "Chirag Healer", "Asha Vedic"]
    );
}

async fn pages_neither_repeat_nor_skip_while_rows_are_added(b: Backend) {
    let app = TestApp::spawn(b).await;
    for i in 0..25 {
        // Ties on rating force the id tie-break to do its job.
        seed(
            &app,
            &format!("Reader {i:02}"),
            "astrologer",
            &["en"],
            &["vedic"],
            i,
            Some(1000 + i64::from(i % 5) * 100),
            400 + (i % 3) * 10,
            i,
            false,
        )
        .await;
    }
    for sort in ["rating", "price", "experience", "popularity"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/practitioners?sort={sort}&limit=7&cursor={c}"),
                None => format!("/api/v1/practitioners?sort={sort}&limit=7"),
            };
            let page = app.get(&path, None).await.expect(200);
            seen.extend(names(&page));
            pages += 1;
            if pages == 2 && sort == "rating" {
                // New practitioners arrive mid-walk: one ranks above the walk, one below.
                seed(
                    &app,
                    "Latecomer Top",
                    "astrologer",
                    &["en"],
                    &["vedic"],
                    1,
                    Some(1000),
                    499,
                    0,
                    false,
                )
                .await;
                seed(
                    &app,
                    "Latecomer Low",
                    "astrologer",
                    &["en"],
                    &["vedic"],
                    1,
                    Some(1000),
                    100,
                    0,
                    false,
                )
                .await;
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{sort}: a row appeared twice: {seen:?}"
        );
        for i in 0..25 {
            assert!(
                seen.contains(&format!("Reader {i:02}")),
                "{sort}: Reader {i:02} was skipped"
            );
        }
        if sort == "rating" {
            assert!(
                !seen.contains(&"Latecomer Top".to_owned()),
                "rows above the cursor are not replayed"
            );
            assert_eq!(
                seen.last().unwrap(),
                "Latecomer Low",
                "rows below the cursor are reached"
            );
        }
    }
}

async fn bad_listing_parameters_are_explained(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.get("/api/v1/practitioners?limit=0", None)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/practitioners?limit=1000", None)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/practitioners?min_rating=9", None)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/practitioners?min_price=500&max_price=100", None)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/practitioners?sort=cheapest", None)
        .await
        .problem(400, "invalid_query");
    app.get("/api/v1/practitioners?kind=wizard", None)
        .await
        .problem(400, "invalid_query");
    app.get("/api/v1/practitioners?online=maybe", None)
        .await
        .problem(400, "invalid_query");
    app.get("/api/v1/practitioners?unknown=1", None)
        .await
        .problem(400, "invalid_query");
    app.get("/api/v1/practitioners?cursor=!!!", None)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/practitioners/not-a-uuid", None)
        .await
        .problem(400, "invalid_path");
    // A cursor from one sort is refused by another.
    fixture(&app).await;
    let page = app
        .get("/api/v1/practitioners?sort=rating&limit=1", None)
        .await
        .expect(200);
    let c = page["next_cursor"].as_str().unwrap();
    app.get(
        &format!("/api/v1/practitioners?sort=price&cursor={c}"),
        None,
    )
    .await
    .problem(422, "validation_failed");
}

async fn listing_matches_public_profile(b: Backend) {
    let app = TestApp::spawn(b).await;
    fixture(&app).await;
    // Edge values: a null rate, a perfect and a zero rating, quotes and unicode in text.
    seed(
        &app,
        "Élodie \"Star\" Ñandú",
        "other",
        &["fr"],
        &["tarot"],
        0,
        None,
        500,
        0,
        true,
    )
    .await;
    seed(
        &app,
        "Zero Rated",
        "healer",
        &[],
        &[],
        1,
        Some(1),
        0,
        0,
        false,
    )
    .await;
    let page = app
        .get("/api/v1/practitioners?limit=100", None)
        .await
        .expect(200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for item in items {
        let id = item["id"].as_str().unwrap();
        let profile = app
            .get(&format!("/api/v1/practitioners/{id}"), None)
            .await
            .expect(200);
        assert_eq!(
            item, &profile,
            "listing item and public profile must be the same JSON"
        );
    }
    // Counters and edits reach the listing at once.
    let id = items[0]["id"].as_str().unwrap().to_owned();
    let (fan, _, _) = app.register("fan@example.com").await;
    app.call(
        reqwest::Method::PUT,
        &format!("/api/v1/me/favorites/{id}"),
        Some(&fan),
        None,
    )
    .await
    .expect(204);
    let page = app
        .get("/api/v1/practitioners?limit=100", None)
        .await
        .expect(200);
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["follower_count"], 1);
    assert_eq!(
        item,
        app.get(&format!("/api/v1/practitioners/{id}"), None)
            .await
            .expect(200)
    );
}
