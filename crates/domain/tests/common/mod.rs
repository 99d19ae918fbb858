//! What the engine and bookings tests share: a `Services` over a fresh in-memory SQLite
//! database on a manual clock, rows seeded straight through the entities, and readers for
//! the balances the tests check.

#![allow(dead_code)]

use std::sync::Arc;

use augur_domain as domain;
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::Services;
use domain::auth::token::Keys;
use domain::config::Config;
use domain::ledger::{AccountKind, Currency};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use store::clock::{Clock, ManualClock};
use store::entity::{
    ledger_account, practitioner, practitioner_availability, practitioner_presence,
    practitioner_schedule, service, user, wallet,
};
use uuid::Uuid;

pub const INR: Currency = Currency::INR;

pub struct Ctx {
    pub app: Services,
    pub clock: Arc<ManualClock>,
}

/// A Monday at midnight UTC: far from any real date, so nothing depends on when tests run.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap()
}

pub async fn ctx(tweak: impl FnOnce(&mut Config)) -> Ctx {
    let db = store::connect("sqlite::memory:", 1).await.unwrap();
    store::migrate(&db).await.unwrap();
    let mut config = Config {
        database_url: "sqlite::memory:".to_owned(),
        job_workers: 0,
        // The tests drive `engine::tick` and `bookings::sweep` themselves.
        live_tick_ms: 0,
        ..Config::default()
    };
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(epoch()));
    let app = Services::new(config, db, clock.clone(), Keys::random())
        .await
        .unwrap();
    Ctx { app, clock }
}

impl Ctx {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    /// A signed-up account with the given role (`client`, `practitioner`).
    pub async fn user(&self, role: &str) -> Uuid {
        let now = self.now();
        let id = Uuid::now_v7();
        user::ActiveModel {
            id: Set(id),
            email: Set(Some(format!("{}@test.invalid", id.simple()))),
            phone: Set(None),
            password_hash: Set(None),
            role: Set(role.to_owned()),
            status: Set("active".to_owned()),
            first_name: Set("Test".to_owned()),
            last_name: Set(role.to_owned()),
            email_verified: Set(true),
            phone_verified: Set(false),
            gender: Set(None),
            date_of_birth: Set(None),
            city: Set(None),
            state: Set(None),
            country: Set(None),
            avatar_url: Set(None),
            language: Set("en".to_owned()),
            time_zone: Set("UTC".to_owned()),
            last_login_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        id
    }

    /// An approved practitioner charging `chat_rate` a minute for chat (no call or video),
    /// with an optional commission override, not online.
    pub async fn practitioner(&self, chat_rate: i64, commission_bps: Option<i32>) -> Practitioner {
        let now = self.now();
        let user_id = self.user("practitioner").await;
        let id = Uuid::now_v7();
        practitioner::ActiveModel {
            id: Set(id),
            user_id: Set(user_id),
            kind: Set("astrologer".to_owned()),
            display_name: Set("Test Reader".to_owned()),
            bio: Set(String::new()),
            experience_years: Set(3),
            languages: Set("[\"en\"]".to_owned()),
            specializations: Set("[]".to_owned()),
            education: Set(String::new()),
            certifications: Set("[]".to_owned()),
            avatar_url: Set(None),
            currency: Set("INR".to_owned()),
            rate_chat_minor: Set(Some(chat_rate)),
            rate_call_minor: Set(None),
            rate_video_minor: Set(None),
            max_concurrent_sessions: Set(1),
            commission_bps: Set(commission_bps),
            availability_status: Set("offline".to_owned()),
            verification_status: Set("approved".to_owned()),
            status_reason: Set(None),
            rating_avg_centi: Set(0),
            rating_count: Set(0),
            total_consultations: Set(0),
            total_minutes: Set(0),
            follower_count: Set(0),
            missed_requests: Set(0),
            no_show_count: Set(0),
            search_text: Set("test reader".to_owned()),
            listing_card: Set(String::new()),
            approved_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        domain::practitioners::refresh_card(&self.app.db, id)
            .await
            .unwrap();
        Practitioner { id, user_id }
    }

    /// Marks the practitioner online with a heartbeat `age_secs` old.
    pub async fn online(&self, p: &Practitioner, age_secs: i64) {
        let now = self.now();
        practitioner_presence::ActiveModel {
            practitioner_id: Set(p.id),
            online: Set(true),
            last_heartbeat_at: Set(now - Duration::seconds(age_secs)),
            active_sessions: Set(0),
            updated_at: Set(now),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
    }

    /// A fresh heartbeat from a practitioner the worker took offline.
    pub async fn online_again(&self, p: &Practitioner) {
        let mut m: practitioner_presence::ActiveModel = self.presence(p).await.into();
        m.online = Set(true);
        m.last_heartbeat_at = Set(self.now());
        m.updated_at = Set(self.now());
        m.update(&self.app.db).await.unwrap();
    }

    pub async fn presence(&self, p: &Practitioner) -> practitioner_presence::Model {
        practitioner_presence::Entity::find_by_id(p.id)
            .one(&self.app.db)
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn practitioner_row(&self, p: &Practitioner) -> practitioner::Model {
        practitioner::Entity::find_by_id(p.id)
            .one(&self.app.db)
            .await
            .unwrap()
            .unwrap()
    }

    /// Weekly hours around the clock in UTC, so any whole hour ahead is a slot.
    pub async fn open_all_week(&self, p: &Practitioner) {
        let now = self.now();
        practitioner_schedule::ActiveModel {
            practitioner_id: Set(p.id),
            time_zone: Set("UTC".to_owned()),
            version: Set(0),
            updated_at: Set(now),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        for weekday in 0..7 {
            practitioner_availability::ActiveModel {
                id: Set(Uuid::now_v7()),
                practitioner_id: Set(p.id),
                kind: Set("hours".to_owned()),
                weekday: Set(weekday),
                start_minute: Set(0),
                end_minute: Set(24 * 60),
            }
            .insert(&self.app.db)
            .await
            .unwrap();
        }
    }

    /// An active one-hour service on `channel` at `price`, bookable on the hour.
    pub async fn service(&self, p: &Practitioner, channel: &str, price: i64) -> Uuid {
        let now = self.now();
        let id = Uuid::now_v7();
        service::ActiveModel {
            id: Set(id),
            practitioner_id: Set(p.id),
            service_type_id: Set(None),
            name: Set(format!("Reading ({channel})")),
            description: Set(String::new()),
            channel: Set(channel.to_owned()),
            duration_minutes: Set(60),
            price_minor: Set(price),
            currency: Set("INR".to_owned()),
            active: Set(true),
            buffer_before_minutes: Set(0),
            buffer_after_minutes: Set(0),
            min_notice_minutes: Set(0),
            slot_interval_minutes: Set(60),
            booking_window_days: Set(30),
            max_per_day: Set(None),
            max_per_week: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        id
    }

    /// Gives `user` `amount` of promotional credit.
    pub async fn fund(&self, user: Uuid, amount: i64) {
        let txn = store::begin_write(&self.app.db).await.unwrap();
        domain::wallet::promotional_credit(
            &txn,
            domain::wallet::PromotionalCredit {
                user,
                currency: INR,
                amount,
                reference: "test".to_owned(),
                idempotency_key: format!("test-fund:{}", Uuid::now_v7()),
                description: "Test credit".to_owned(),
            },
            self.now(),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }

    pub async fn available(&self, user: Uuid) -> i64 {
        domain::live::engine::available_balance(&self.app.db, user, INR)
            .await
            .unwrap()
    }

    /// (available, held) of the wallet row.
    pub async fn wallet(&self, user: Uuid) -> (i64, i64) {
        let w = wallet::Entity::find()
            .filter(wallet::Column::UserId.eq(user))
            .filter(wallet::Column::Currency.eq("INR"))
            .one(&self.app.db)
            .await
            .unwrap()
            .expect("the wallet exists");
        assert_eq!(w.balance, w.available + w.held, "wallet row adds up");
        (w.available, w.held)
    }

    pub async fn earnings(&self, p: &Practitioner) -> i64 {
        domain::payouts::balance(&self.app.db, AccountKind::PractitionerEarnings, p.id, INR)
            .await
            .unwrap()
    }

    /// A platform account's balance (credits minus debits).
    pub async fn platform(&self, kind: AccountKind) -> i64 {
        ledger_account::Entity::find()
            .filter(ledger_account::Column::Kind.eq(kind.as_str()))
            .filter(ledger_account::Column::OwnerKey.eq(""))
            .filter(ledger_account::Column::Currency.eq("INR"))
            .one(&self.app.db)
            .await
            .unwrap()
            .map_or(0, |a| a.balance)
    }

    pub async fn assert_balanced(&self) {
        let r = domain::wallet::reconciliation(&self.app.db).await.unwrap();
        assert!(
            r.balanced,
            "books do not balance: sums {:?}, wallet mismatches {:?}",
            r.currencies
                .iter()
                .map(|c| (&c.currency, c.sum))
                .collect::<Vec<_>>(),
            r.wallet_mismatches
        );
    }
}

pub struct Practitioner {
    pub id: Uuid,
    pub user_id: Uuid,
}
