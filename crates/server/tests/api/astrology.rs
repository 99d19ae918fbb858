use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, TestApp};

both_backends!(
    chart_for_given_birth_is_the_engines_chart,
    invalid_birth_data_gets_field_errors,
    my_chart_comes_from_stored_details_through_the_cache,
    charts_render_as_svg,
    dasha_timeline_is_contiguous_and_finds_the_running_periods,
    compatibility_scores_the_eight_kootas,
    panchang_gives_local_times_and_refuses_polar_days,
    admins_publish_daily_horoscopes,
    public_computations_are_limited_per_ip,
);

fn mumbai_1990() -> Value {
    json!({
        "date": "1990-05-17", "time": "14:30", "time_zone": "Asia/Kolkata",
        "latitude": 19.076, "longitude": 72.8777, "place_name": "Mumbai"
    })
}

fn engine_chart(house_system: astro::HouseSystem) -> astro::Chart {
    astro::full_chart(&astro::ChartRequest {
        instant: astro::Instant::Utc {
            year: 1990,
            month: 5,
            day: 17,
            hour: 9,
            minute: 0,
            second: 0.0,
        },
        latitude: 19.076,
        longitude: 72.8777,
        ayanamsa: astro::Ayanamsa::Lahiri,
        house_system,
        node: astro::NodeKind::Mean,
    })
    .unwrap()
}

async fn chart_for_given_birth_is_the_engines_chart(b: Backend) {
    let app = TestApp::spawn(b).await;
    let v = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": mumbai_1990()}),
        )
        .await
        .expect(200);
    // 14:30 IST is 09:00 UT: the zone conversion is the first thing to get right.
    assert_eq!(v["birth"]["utc"], "1990-05-17T09:00:00Z");
    assert_eq!(v["birth"]["utc_offset"], "+05:30");
    assert_eq!(v["settings"]["house_system"], "whole_sign");
    let engine = engine_chart(astro::HouseSystem::WholeSign);
    let planets = v["planets"].as_array().unwrap();
    assert_eq!(planets.len(), engine.grahas.len());
    for (got, want) in planets.iter().zip(&engine.grahas) {
        let lon = got["longitude"].as_f64().unwrap();
        assert!(
            (lon - want.sidereal.longitude).abs() < 1e-9,
            "{}: {lon} vs {}",
            got["name"],
            want.sidereal.longitude
        );
        assert_eq!(got["house"], want.house);
    }
    assert_eq!(planets[0]["name"], "sun");
    assert_eq!(planets[0]["sign"], "taurus");
    assert_eq!(v["ascendant"]["sign"], "leo");
    assert_eq!(v["houses"].as_array().unwrap().len(), 12);
    assert_eq!(v["houses"][0]["sign"], "leo");
    assert!(v["warnings"].as_array().unwrap().is_empty());

    // Placidus cusps differ from whole-sign ones and follow the request.
    let v = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": mumbai_1990(), "settings": {"house_system": "placidus", "ayanamsa": "krishnamurti"}}),
        )
        .await
        .expect(200);
    assert_eq!(v["settings"]["ayanamsa"], "krishnamurti");
    assert!(v["houses"][1]["cusp"].as_f64().unwrap().fract() != 0.0);

    // Unknown birth time: cast at noon and said so.
    let mut birth = mumbai_1990();
    birth.as_object_mut().unwrap().remove("time");
    let v = app
        .post("/api/v1/astrology/charts", None, json!({"birth": birth}))
        .await
        .expect(200);
    assert_eq!(v["birth"]["time_known"], false);
    assert_eq!(v["birth"]["local"], "1990-05-17T12:00:00");
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
}

async fn invalid_birth_data_gets_field_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let fields = |v: &Value| -> Vec<(String, String)> {
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_owned(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let err = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": {"date": "1990-02-30", "time": "24:10", "time_zone": "Mars/Olympus",
                             "latitude": 91.5, "longitude": -181}}),
        )
        .await
        .problem(422, "validation_failed");
    let got = fields(&err);
    for want in [
        ("birth.date", "invalid_date"),
        ("birth.time", "invalid_time"),
        ("birth.time_zone", "unknown_time_zone"),
        ("birth.latitude", "out_of_range"),
        ("birth.longitude", "out_of_range"),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {got:?}"
        );
    }
    // Outside the ephemeris.
    let err = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": {"date": "1750-01-01", "time": "10:00", "time_zone": "UTC", "latitude": 0, "longitude": 0}}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        fields(&err),
        vec![("birth.date".to_owned(), "out_of_range".to_owned())]
    );
    // A time the clocks skipped.
    let err = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": {"date": "2021-03-14", "time": "02:30", "time_zone": "America/New_York", "latitude": 40.7, "longitude": -74}}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        fields(&err),
        vec![("birth.time".to_owned(), "nonexistent_local_time".to_owned())]
    );
    // Placidus inside the polar circle: a clear refusal, not NaN.
    let err = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": {"date": "1990-05-17", "time": "14:30", "time_zone": "Europe/Oslo", "latitude": 78.2, "longitude": 15.6},
                   "settings": {"house_system": "placidus"}}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        fields(&err),
        vec![("house_system".to_owned(), "houses_undefined".to_owned())]
    );
    // … while whole-sign houses work there.
    app.post(
        "/api/v1/astrology/charts",
        None,
        json!({"birth": {"date": "1990-05-17", "time": "14:30", "time_zone": "Europe/Oslo", "latitude": 78.2, "longitude": 15.6}}),
    )
    .await
    .expect(200);
    // Unknown settings and fields are refused, not ignored.
    app.post(
        "/api/v1/astrology/charts",
        None,
        json!({"birth": mumbai_1990(), "settings": {"ayanamsa": "fagan_bradley"}}),
    )
    .await
    .problem(422, "invalid_body");
    app.post(
        "/api/v1/astrology/charts",
        None,
        json!({"birth": mumbai_1990(), "colour": "blue"}),
    )
    .await
    .problem(422, "invalid_body");
    app.post(
        "/api/v1/astrology/dasha",
        None,
        json!({"birth": mumbai_1990(), "depth": 4}),
    )
    .await
    .problem(422, "validation_failed");
}

async fn cache_rows(app: &TestApp) -> u64 {
    store::entity::birth_chart_cache::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn my_chart_comes_from_stored_details_through_the_cache(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (t, _, _) = app.register("chart@example.com").await;
    app.get("/api/v1/me/chart", Some(&t))
        .await
        .problem(404, "birth_details_missing");
    app.get("/api/v1/me/chart", None)
        .await
        .problem(401, "missing_token");
    app.call(
        Method::PUT,
        "/api/v1/me/birth-details",
        Some(&t),
        Some(
            json!({"birth_date": "1990-05-17", "birth_time": "14:30:00", "time_known": true,
                    "place_name": "Mumbai", "latitude": 19.076, "longitude": 72.8777,
                    "time_zone": "Asia/Kolkata"}),
        ),
    )
    .await
    .expect(200);
    let mine = app.get("/api/v1/me/chart", Some(&t)).await.expect(200);
    let given = app
        .post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": mumbai_1990()}),
        )
        .await
        .expect(200);
    assert_eq!(mine["planets"], given["planets"]);
    assert_eq!(mine["ascendant"], given["ascendant"]);
    assert_eq!(cache_rows(&app).await, 1);
    // A hit serves the stored view and writes nothing.
    let again = app.get("/api/v1/me/chart", Some(&t)).await.expect(200);
    assert_eq!(again, mine);
    assert_eq!(cache_rows(&app).await, 1);
    // The cache is keyed by settings too.
    let placidus = app
        .get("/api/v1/me/chart?house_system=placidus", Some(&t))
        .await
        .expect(200);
    assert_eq!(placidus["settings"]["house_system"], "placidus");
    assert_ne!(placidus["houses"], mine["houses"]);
    assert_eq!(cache_rows(&app).await, 2);
    app.get("/api/v1/me/chart?house_system=koch", Some(&t))
        .await
        .problem(400, "invalid_query");
    // The row holds no readable birth data.
    let row = store::entity::birth_chart_cache::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.cache_key.len(), 64);
    assert!(!row.cache_key.contains("1990"));

    // New details: the old charts are forgotten, the new one is cast.
    app.call(
        Method::PUT,
        "/api/v1/me/birth-details",
        Some(&t),
        Some(
            json!({"birth_date": "1985-01-02", "birth_time": "05:10:00", "time_known": true,
                    "place_name": "Chennai", "latitude": 13.0827, "longitude": 80.2707,
                    "time_zone": "Asia/Kolkata"}),
        ),
    )
    .await
    .expect(200);
    assert_eq!(cache_rows(&app).await, 0);
    let moved = app.get("/api/v1/me/chart", Some(&t)).await.expect(200);
    assert_eq!(moved["birth"]["utc"], "1985-01-01T23:40:00Z");
    assert_ne!(moved["planets"], mine["planets"]);
    assert_eq!(cache_rows(&app).await, 1);
    let dasha = app
        .get("/api/v1/me/dasha?depth=1", Some(&t))
        .await
        .expect(200);
    assert_eq!(dasha["mahadashas"].as_array().unwrap().len(), 9);
    assert_eq!(dasha["mahadashas"][0]["lord"], moved["birth_dasha"]["lord"]);

    // Erasing the account erases its cached charts.
    app.call(
        Method::DELETE,
        "/api/v1/me",
        Some(&t),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .expect(204);
    assert_eq!(cache_rows(&app).await, 0);
}

async fn charts_render_as_svg(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut birth = mumbai_1990();
    birth["place_name"] = json!("<script>alert(1)</script> & Co");
    for (style, marker) in [
        ("north_indian", "id=\"house-1\""),
        ("south_indian", "id=\"sign-pisces\""),
        ("western", "id=\"planet-sun\""),
    ] {
        let res = app
            .client
            .post(format!(
                "{}/api/v1/astrology/charts/svg?style={style}",
                app.base
            ))
            .json(&json!({"birth": birth}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"],
            "image/svg+xml; charset=utf-8"
        );
        let svg = res.text().await.unwrap();
        assert!(svg.contains("<svg"), "{style}: {svg}");
        assert!(svg.contains(marker), "{style} lacks {marker}");
        assert!(!svg.contains("<script>"), "user text must be escaped");
        assert!(
            svg.contains("&lt;script&gt;"),
            "{style}: title shown escaped"
        );
        // Every graha is drawn once.
        for planet in ["sun", "moon", "mars", "saturn", "rahu", "ketu"] {
            assert_eq!(
                svg.matches(&format!("data-point=\"{planet}\"")).count(),
                1,
                "{style}: {planet}"
            );
        }
    }
    app.post(
        "/api/v1/astrology/charts/svg?style=circle",
        None,
        json!({"birth": mumbai_1990()}),
    )
    .await
    .problem(400, "invalid_query");

    let (t, _, _) = app.register("svg@example.com").await;
    app.call(
        Method::PUT,
        "/api/v1/me/birth-details",
        Some(&t),
        Some(
            json!({"birth_date": "1990-05-17", "birth_time": "14:30:00", "time_known": true,
                    "place_name": "Mumbai", "latitude": 19.076, "longitude": 72.8777,
                    "time_zone": "Asia/Kolkata"}),
        ),
    )
    .await
    .expect(200);
    let svg = app
        .get("/api/v1/me/chart/svg?style=south_indian", Some(&t))
        .await
        .expect(200);
    let svg = svg.as_str().unwrap();
    assert!(svg.contains("Mumbai"));
    assert!(svg.contains("id=\"sign-leo\""));
}

async fn dasha_timeline_is_contiguous_and_finds_the_running_periods(b: Backend) {
    let app = TestApp::spawn(b).await;
    let v = app
        .post(
            "/api/v1/astrology/dasha",
            None,
            json!({"birth": mumbai_1990(), "depth": 3, "at": "2026-01-01T00:00:00Z"}),
        )
        .await
        .expect(200);
    let time = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let mahas = v["mahadashas"].as_array().unwrap();
    assert_eq!(mahas.len(), 9);
    let engine = engine_chart(astro::HouseSystem::WholeSign);
    assert_eq!(
        mahas[0]["lord"],
        serde_json::to_value(engine.dasha.mahadashas[0].lord).unwrap()
    );
    // 120 years from the first start to the last end, with no gaps at any level.
    let span_days = (time(&mahas[8]["end"]) - time(&mahas[0]["start"])) as f64 / 86_400_000.0;
    assert!((span_days - 120.0 * 365.25).abs() < 0.01, "{span_days}");
    let mut previous_end: Option<i64> = None;
    for m in mahas {
        let antars = m["periods"].as_array().unwrap();
        assert_eq!(antars.len(), 9);
        assert_eq!(
            antars[0]["lord"], m["lord"],
            "the first antardasha is the lord's own"
        );
        assert_eq!(time(&antars[0]["start"]), time(&m["start"]));
        assert_eq!(time(&antars[8]["end"]), time(&m["end"]));
        for a in antars {
            let pratyantars = a["periods"].as_array().unwrap();
            assert_eq!(pratyantars.len(), 9);
            for p in pratyantars {
                if let Some(end) = previous_end {
                    assert!((time(&p["start"]) - end).abs() <= 1, "gap before {p}");
                }
                previous_end = Some(time(&p["end"]));
            }
        }
    }
    let current = v["current"].as_array().unwrap();
    assert_eq!(current.len(), 3);
    let at = time(&json!("2026-01-01T00:00:00Z"));
    for c in current {
        assert!(time(&c["start"]) <= at && at < time(&c["end"]), "{c}");
    }
}

async fn compatibility_scores_the_eight_kootas(b: Backend) {
    let app = TestApp::spawn(b).await;
    let groom = json!({"date": "1988-11-03", "time": "07:45", "time_zone": "Asia/Kolkata",
                       "latitude": 28.6139, "longitude": 77.209});
    let v = app
        .post(
            "/api/v1/astrology/compatibility",
            None,
            json!({"bride": mumbai_1990(), "groom": groom}),
        )
        .await
        .expect(200);
    let kootas = v["kootas"].as_array().unwrap();
    let names: Vec<&str> = kootas.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "varna",
            "vashya",
            "tara",
            "yoni",
            "graha_maitri",
            "gana",
            "bhakoot",
            "nadi"
        ]
    );
    let max: f64 = kootas.iter().map(|k| k["max"].as_f64().unwrap()).sum();
    let sum: f64 = kootas.iter().map(|k| k["points"].as_f64().unwrap()).sum();
    assert_eq!(max, 36.0);
    assert_eq!(sum, v["total"].as_f64().unwrap());
    for k in kootas {
        assert!(k["points"].as_f64().unwrap() <= k["max"].as_f64().unwrap());
    }
    // The same score as the engine on the two Moons.
    let bride_moon = v["bride"]["moon"]["longitude"].as_f64().unwrap();
    let groom_moon = v["groom"]["moon"]["longitude"].as_f64().unwrap();
    let engine = astro::guna_milan::guna_milan(
        astro::guna_milan::MoonPlacement {
            longitude: bride_moon,
        },
        astro::guna_milan::MoonPlacement {
            longitude: groom_moon,
        },
    );
    assert_eq!(v["total"].as_f64().unwrap(), engine.total);
    let rating = v["rating"].as_str().unwrap();
    let expected = match engine.total {
        t if t >= 33.0 => "excellent",
        t if t >= 25.0 => "good",
        t if t >= 18.0 => "average",
        _ => "not_recommended",
    };
    assert_eq!(rating, expected);
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} of 36", engine.total))
    );
    assert_eq!(
        v["bride"]["mangal_dosha"]["present"], true,
        "Mars in the 7th"
    );
    // Both sides' errors are reported together, each under its own prefix.
    let err = app
        .post(
            "/api/v1/astrology/compatibility",
            None,
            json!({"bride": {"date": "x", "time_zone": "UTC", "latitude": 0, "longitude": 0},
                   "groom": {"date": "1990-01-01", "time_zone": "Nope", "latitude": 0, "longitude": 0}}),
        )
        .await
        .problem(422, "validation_failed");
    let text = err["errors"].to_string();
    assert!(text.contains("bride.date") && text.contains("groom.time_zone"));
}

async fn panchang_gives_local_times_and_refuses_polar_days(b: Backend) {
    let app = TestApp::spawn(b).await;
    let v = app
        .get(
            "/api/v1/astrology/panchang?date=2024-01-01&time_zone=Asia/Kolkata&latitude=28.6139&longitude=77.209",
            None,
        )
        .await
        .expect(200);
    let sunrise = v["sunrise"].as_str().unwrap();
    // New Delhi, 1 January: sunrise a little after 07:13 IST.
    assert!(sunrise.starts_with("2024-01-01T07:1"), "{sunrise}");
    assert!(sunrise.ends_with("+05:30"));
    let engine = astro::panchang::panchang(&astro::panchang::PanchangRequest {
        year: 2024,
        month: 1,
        day: 1,
        latitude: 28.6139,
        longitude: 77.209,
        utc_offset_hours: 5.5,
        ayanamsa: astro::Ayanamsa::Lahiri,
    })
    .unwrap();
    assert_eq!(v["tithi"]["name"], engine.tithi.name);
    assert_eq!(v["nakshatra"]["name"], engine.nakshatra.name);
    assert_eq!(v["yoga"]["name"], engine.yoga.name);
    assert_eq!(v["karana"]["name"], engine.karana.name);
    assert_eq!(v["vara"]["name"], "Somavara", "1 January 2024 was a Monday");
    assert_eq!(
        v["paksha"],
        if engine.tithi.index < 15 {
            "shukla"
        } else {
            "krishna"
        }
    );
    // A zone with daylight saving: the day's own offset is used.
    let v = app
        .get(
            "/api/v1/astrology/panchang?date=2024-07-01&time_zone=Europe/London&latitude=51.5&longitude=-0.12",
            None,
        )
        .await
        .expect(200);
    assert!(v["sunrise"].as_str().unwrap().ends_with("+01:00"));
    // Svalbard in December: no sunrise.
    app.get(
        "/api/v1/astrology/panchang?date=2024-12-21&time_zone=Arctic/Longyearbyen&latitude=78.2&longitude=15.6",
        None,
    )
    .await
    .problem(422, "validation_failed");
    let err = app
        .get(
            "/api/v1/astrology/panchang?date=2024-13-01&time_zone=Asia/Kolkata&latitude=95&longitude=0",
            None,
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(err["errors"].as_array().unwrap().len(), 2);
}

async fn admins_publish_daily_horoscopes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, _) = app.register("reader@example.com").await;
    let body = json!({"text": "A good day to finish what you started.", "mood": "focused",
                      "lucky_color": "green", "lucky_number": 7});
    app.call(
        Method::PUT,
        "/api/v1/admin/horoscopes/2026-11-22/leo",
        Some(&client),
        Some(body.clone()),
    )
    .await
    .problem(403, "forbidden");
    let v = app
        .call(
            Method::PUT,
            "/api/v1/admin/horoscopes/2026-11-22/Leo",
            Some(&admin),
            Some(body),
        )
        .await
        .expect(200);
    assert_eq!(v["sign"], "leo");
    app.call(
        Method::PUT,
        "/api/v1/admin/horoscopes/2026-11-22/aries",
        Some(&admin),
        Some(json!({"text": "Patience pays."})),
    )
    .await
    .expect(200);
    // Replacing keeps one row per sign and day.
    app.call(
        Method::PUT,
        "/api/v1/admin/horoscopes/2026-11-22/leo",
        Some(&admin),
        Some(json!({"text": "Rewritten.", "lucky_number": 3})),
    )
    .await
    .expect(200);
    let day = app
        .get("/api/v1/horoscopes?date=2026-11-22", None)
        .await
        .expect(200);
    let day = day.as_array().unwrap();
    assert_eq!(day.len(), 2);
    assert_eq!(day[0]["sign"], "aries", "zodiac order");
    assert_eq!(day[1]["text"], "Rewritten.");
    assert_eq!(day[1]["mood"], Value::Null);
    let one = app
        .get("/api/v1/horoscopes/leo?date=2026-11-22", None)
        .await
        .expect(200);
    assert_eq!(one["lucky_number"], 3);
    app.get("/api/v1/horoscopes/leo?date=2026-11-23", None)
        .await
        .problem(404, "not_found");
    app.get("/api/v1/horoscopes/ophiuchus", None)
        .await
        .problem(422, "validation_failed");
    app.call(
        Method::PUT,
        "/api/v1/admin/horoscopes/2026-11-22/leo",
        Some(&admin),
        Some(json!({"text": "", "lucky_number": 100})),
    )
    .await
    .problem(422, "validation_failed");
    let log = app
        .get(
            "/api/v1/admin/audit-logs?target_type=daily_horoscope",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(log["items"].as_array().unwrap().len(), 3);
    app.call(
        Method::DELETE,
        "/api/v1/admin/horoscopes/2026-11-22/leo",
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    app.get("/api/v1/horoscopes/leo?date=2026-11-22", None)
        .await
        .problem(404, "not_found");
}

async fn public_computations_are_limited_per_ip(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.astrology_limit_per_ip = 3).await;
    for _ in 0..3 {
        app.post(
            "/api/v1/astrology/charts",
            None,
            json!({"birth": mumbai_1990()}),
        )
        .await
        .expect(200);
    }
    let res = app
        .post(
            "/api/v1/astrology/dasha",
            None,
            json!({"birth": mumbai_1990()}),
        )
        .await;
    assert!(res.headers.contains_key("retry-after"));
    res.problem(429, "rate_limited");
    // A signed-in user's own chart does not spend the public budget.
    let (t, _, _) = app.register("limited@example.com").await;
    app.call(
        Method::PUT,
        "/api/v1/me/birth-details",
        Some(&t),
        Some(
            json!({"birth_date": "1990-05-17", "birth_time": "14:30:00", "time_known": true,
                    "place_name": "Mumbai", "latitude": 19.076, "longitude": 72.8777,
                    "time_zone": "Asia/Kolkata"}),
        ),
    )
    .await
    .expect(200);
    app.get("/api/v1/me/chart", Some(&t)).await.expect(200);
}
