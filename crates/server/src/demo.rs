//! Demo data (`augur serve --demo`, `augur seed --demo`) and admin creation.
//!
//! Demo accounts all use the password in `DEMO_PASSWORD`; the README lists them.

use chrono::Duration;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use uuid::Uuid;

use crate::accounts::NewUser;
use crate::app::AppState;
use crate::auth::{Role, password};
use crate::error::{ApiError, ApiResult};
use crate::practitioners::{Availability, Verification, refresh_card, search_text};
use domain::validate::{Check, check_password};
use store::entity::{practitioner, practitioner_language, practitioner_specialization, user};

pub const DEMO_PASSWORD: &str = "augur-demo-password";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.augur.dev";

fn new_user(
    email: &str,
    hash: &str,
    role: Role,
    first: &str,
    last: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> user::ActiveModel {
    let mut m = NewUser {
        email: Some(email.to_owned()),
        password_hash: Some(hash.to_owned()),
        last_name: last.to_owned(),
        email_verified: true,
        time_zone: "Asia/Kolkata".to_owned(),
        ..NewUser::new(role, first)
    }
    .into_active_model(now);
    m.country = Set(Some("IN".to_owned()));
    m
}

pub async fn create_admin(
    state: &AppState,
    email: &str,
    pass: &str,
    name: &str,
) -> ApiResult<user::Model> {
    let mut c = Check::new();
    let email = c.email("email", email);
    check_password(&mut c, "password", pass);
    let name = c.text("name", name, 1, 100);
    c.finish()?;
    let email = email.ok_or_else(|| ApiError::field("email", "invalid_email", "is required"))?;
    let hash = password::hash(pass.to_owned()).await?;
    let now = state.clock.now();
    Ok(new_user(email.as_str(), &hash, Role::Admin, &name, "", now)
        .insert(&state.db)
        .await?)
}

/// One demo practitioner: (kind, name, bio, languages, specializations, years, chat/call/video
/// rates in paise, rating ×100, ratings, consultations). Everyone starts offline: a
/// practitioner is online only while someone signed in as them says so (presence).
type DemoPractitioner = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    i32,
    i64,
    Option<i64>,
    Option<i64>,
    i32,
    i32,
    i32,
);

const PRACTITIONERS: &[DemoPractitioner] = &[
    (
        "astrologer",
        "Acharya Vinod Shastri",
        "Vedic astrologer reading birth charts for career and marriage timing for two decades.",
        &["hi", "en"],
        &["vedic", "career", "marriage"],
        22,
        3000,
        Some(3500),
        Some(4500),
        482,
        1210,
        5400,
    ),
    (
        "astrologer",
        "Meera Iyer",
        "KP and Vedic astrology with a calm, practical approach to family questions.",
        &["en", "ta"],
        &["kp", "vedic", "family"],
        12,
        2500,
        Some(3000),
        None,
        467,
        640,
        2100,
    ),
    (
        "astrologer",
        "Pandit Raghav Mishra",
        "Muhurta, kundli matching and remedies rooted in classical texts.",
        &["hi", "sa"],
        &["kundli-matching", "muhurta", "remedies"],
        30,
        5000,
        Some(6000),
        Some(8000),
        491,
        2300,
        9800,
    ),
    (
        "astrologer",
        "Sanya Kapoor",
        "Western and Vedic charts for relationships and self-understanding.",
        &["en", "hi"],
        &["western", "relationships"],
        6,
        1500,
        Some(2000),
        Some(2500),
        438,
        210,
        700,
    ),
    (
        "tarot_reader",
        "Luna Fernandes",
        "Intuitive tarot for love, career crossroads and clarity when you feel stuck.",
        &["en", "hi"],
        &["love", "career", "tarot"],
        8,
        2000,
        Some(2500),
        Some(3000),
        475,
        930,
        3300,
    ),
    (
        "tarot_reader",
        "Arjun Deshpande",
        "Tarot and oracle cards with grounded, honest readings.",
        &["en", "mr"],
        &["tarot", "oracle", "career"],
        5,
        1200,
        None,
        Some(2000),
        421,
        150,
        420,
    ),
    (
        "tarot_reader",
        "Zoya Khan",
        "Celtic Cross specialist; thoughtful readings on relationships.",
        &["en", "ur", "hi"],
        &["tarot", "relationships", "love"],
        10,
        1800,
        Some(2200),
        None,
        459,
        505,
        1900,
    ),
    (
        "healer",
        "Dr. Kavita Rao",
        "Reiki master and energy healer helping with stress and sleep.",
        &["en", "kn"],
        &["reiki", "stress", "energy-healing"],
        15,
        2200,
        Some(2800),
        Some(3500),
        486,
        720,
        2600,
    ),
    (
        "healer",
        "Tenzin Norbu",
        "Sound healing and guided meditation for anxiety.",
        &["en", "hi"],
        &["sound-healing", "meditation", "anxiety"],
        9,
        1600,
        Some(2000),
        Some(2400),
        452,
        310,
        1100,
    ),
    (
        "healer",
        "Ananya Bose",
        "Pranic healing and chakra balancing.",
        &["bn", "en"],
        &["pranic-healing", "chakra"],
        7,
        1400,
        None,
        Some(2200),
        430,
        120,
        390,
    ),
    (
        "other",
        "Rohit Numerology",
        "Numerology and name correction for business and babies.",
        &["hi", "en"],
        &["numerology", "name-correction"],
        11,
        1000,
        Some(1500),
        None,
        410,
        260,
        880,
    ),
    (
        "other",
        "Priya Vastu",
        "Vastu consultations for homes and offices.",
        &["en", "hi", "gu"],
        &["vastu", "home"],
        14,
        2000,
        Some(2500),
        Some(3000),
        444,
        190,
        640,
    ),
];

/// Seeds demo data when the database has no users. Returns whether it seeded.
pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<bool> {
    if user::Entity::find().count(&state.db).await? > 0 {
        return Ok(false);
    }
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let now = state.clock.now();
    let txn = store::begin_write(&state.db).await?;
    new_user(DEMO_ADMIN_EMAIL, &hash, Role::Admin, "Demo", "Admin", now)
        .insert(&txn)
        .await?;
    for (email, first, last) in [
        ("asha@demo.augur.dev", "Asha", "Verma"),
        ("rahul@demo.augur.dev", "Rahul", "Nair"),
        ("emma@demo.augur.dev", "Emma", "Clarke"),
    ] {
        let mut client = new_user(email, &hash, Role::Client, first, last, now);
        // One demo client lives abroad, to book across time zones.
        if first == "Emma" {
            client.time_zone = Set("Europe/London".to_owned());
            client.country = Set(Some("GB".to_owned()));
        }
        let client = client.insert(&txn).await?;
        // Demo clients start with ₹500 so the wallet has something to show.
        domain::wallet::promotional_credit(
            &txn,
            domain::wallet::PromotionalCredit {
                user: client.id,
                currency: domain::ledger::Currency::INR,
                amount: 50_000,
                reference: "demo:welcome".into(),
                idempotency_key: format!("demo-welcome:{}", client.id),
                description: "Welcome credit".into(),
            },
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo credit: {e}"))?;
    }
    for (i, p) in PRACTITIONERS.iter().enumerate() {
        let (kind, name, bio, langs, specs, years, chat, call, video, rating, count, consults) = *p;
        let email = format!("practitioner{}@demo.augur.dev", i + 1);
        let first = name.split_whitespace().next().unwrap_or(name);
        let u = new_user(&email, &hash, Role::Practitioner, first, "", now)
            .insert(&txn)
            .await?;
        let practitioner_id = insert_practitioner(
            &txn,
            u.id,
            PractitionerSeed {
                kind,
                name,
                bio,
                languages: langs,
                specializations: specs,
                years,
                chat: Some(chat),
                call,
                video,
                rating_centi: rating,
                rating_count: count,
                consultations: consults,
                availability: Availability::Offline,
                verification: Verification::Approved,
            },
            now - Duration::days(30 - i as i64),
        )
        .await?;
        if name == "Dr. Kavita Rao" {
            seed_bookable(&txn, practitioner_id, now).await?;
        }
    }
    let applicant = new_user(
        "applicant@demo.augur.dev",
        &hash,
        Role::Client,
        "Nikhil",
        "Sen",
        now,
    )
    .insert(&txn)
    .await?;
    insert_practitioner(
        &txn,
        applicant.id,
        PractitionerSeed {
            kind: "astrologer",
            name: "Nikhil Sen",
            bio: "Lal Kitab and Vedic astrology; applying to join.",
            languages: &["hi", "en"],
            specializations: &["lal-kitab", "vedic"],
            years: 4,
            chat: Some(1000),
            call: Some(1500),
            video: None,
            rating_centi: 0,
            rating_count: 0,
            consultations: 0,
            availability: Availability::Offline,
            verification: Verification::Pending,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        admin = DEMO_ADMIN_EMAIL,
        password = DEMO_PASSWORD,
        "demo data seeded"
    );
    Ok(true)
}

/// Working hours in Kolkata (Monday to Saturday, 10:00–18:00 with a lunch break) and two
/// services, so the demo can book an appointment straight away.
async fn seed_bookable<C: sea_orm::ConnectionTrait>(
    conn: &C,
    practitioner_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use store::entity::{practitioner_availability, practitioner_schedule, service};
    practitioner_schedule::ActiveModel {
        practitioner_id: Set(practitioner_id),
        time_zone: Set("Asia/Kolkata".to_owned()),
        version: Set(0),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    for weekday in 0..6 {
        for (kind, start, end) in [("hours", 600, 1080), ("break", 780, 840)] {
            practitioner_availability::ActiveModel {
                id: Set(Uuid::now_v7()),
                practitioner_id: Set(practitioner_id),
                kind: Set(kind.to_owned()),
                weekday: Set(weekday),
                start_minute: Set(start),
                end_minute: Set(end),
            }
            .insert(conn)
            .await?;
        }
    }
    for (name, description, channel, minutes, price) in [
        (
            "Reiki healing",
            "A guided Reiki session on video",
            "video",
            45,
            40_000,
        ),
        (
            "Distance healing",
            "Energy healing over chat",
            "chat",
            30,
            25_000,
        ),
    ] {
        service::ActiveModel {
            id: Set(Uuid::now_v7()),
            practitioner_id: Set(practitioner_id),
            service_type_id: Set(None),
            name: Set(name.to_owned()),
            description: Set(description.to_owned()),
            channel: Set(channel.to_owned()),
            duration_minutes: Set(minutes),
            price_minor: Set(price),
            currency: Set("INR".to_owned()),
            active: Set(true),
            buffer_before_minutes: Set(0),
            buffer_after_minutes: Set(15),
            min_notice_minutes: Set(60),
            slot_interval_minutes: Set(60),
            booking_window_days: Set(30),
            max_per_day: Set(Some(6)),
            max_per_week: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

pub struct PractitionerSeed<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub bio: &'a str,
    pub languages: &'a [&'a str],
    pub specializations: &'a [&'a str],
    pub years: i32,
    pub chat: Option<i64>,
    pub call: Option<i64>,
    pub video: Option<i64>,
    pub rating_centi: i32,
    pub rating_count: i32,
    pub consultations: i32,
    pub availability: Availability,
    pub verification: Verification,
}

/// Inserts a practitioner row with its filter rows (demo data and benchmarks).
pub async fn insert_practitioner<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    s: PractitionerSeed<'_>,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let specs: Vec<String> = s.specializations.iter().map(|x| x.to_string()).collect();
    practitioner::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        kind: Set(s.kind.to_owned()),
        display_name: Set(s.name.to_owned()),
        bio: Set(s.bio.to_owned()),
        experience_years: Set(s.years),
        languages: Set(serde_json::to_string(s.languages).unwrap_or_default()),
        specializations: Set(serde_json::to_string(&specs).unwrap_or_default()),
        education: Set(String::new()),
        certifications: Set("[]".to_owned()),
        avatar_url: Set(None),
        currency: Set("INR".to_owned()),
        rate_chat_minor: Set(s.chat),
        rate_call_minor: Set(s.call),
        rate_video_minor: Set(s.video),
        max_concurrent_sessions: Set(1),
        commission_bps: Set(None),
        availability_status: Set(s.availability.as_str().to_owned()),
        verification_status: Set(s.verification.as_str().to_owned()),
        status_reason: Set(None),
        rating_avg_centi: Set(s.rating_centi),
        rating_count: Set(s.rating_count),
        total_consultations: Set(s.consultations),
        total_minutes: Set(i64::from(s.consultations) * 12),
        follower_count: Set(0),
        missed_requests: Set(0),
        no_show_count: Set(0),
        search_text: Set(search_text(s.name, s.bio, &specs)),
        listing_card: Set(String::new()),
        approved_at: Set((s.verification == Verification::Approved).then_some(created)),
        created_at: Set(created),
        updated_at: Set(created),
    }
    .insert(conn)
    .await?;
    practitioner_language::Entity::insert_many(s.languages.iter().map(|l| {
        practitioner_language::ActiveModel {
            practitioner_id: Set(id),
            language: Set(l.to_string()),
        }
    }))
    .exec(conn)
    .await?;
    practitioner_specialization::Entity::insert_many(specs.into_iter().map(|sp| {
        practitioner_specialization::ActiveModel {
            practitioner_id: Set(id),
            specialization: Set(sp),
        }
    }))
    .exec(conn)
    .await?;
    refresh_card(conn, id).await?;
    Ok(id)
}
