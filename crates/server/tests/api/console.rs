//! The console over plain HTTP: sign-in by cookie, CSRF, roles, escaping, and that its
//! forms act through the API (same audit entries, same idempotency). The browser walks
//! are in `browser.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{
    Backend, PASSWORD, TestApp, application, approved_practitioner, bookable_hours_and_service,
};

both_backends!(
    a_signed_out_browser_is_sent_to_sign_in,
    a_form_without_its_csrf_token_is_refused,
    a_client_opening_an_admin_page_gets_403,
    a_practitioner_bio_with_script_renders_as_text,
    console_actions_are_the_apis_actions,
    a_refund_form_sent_twice_refunds_once,
    signing_out_ends_the_console_session,
    admin_lists_filter_page_and_export,
    the_dashboard_counts_from_the_ledger,
    promo_codes_packages_and_queues_are_run_from_the_console,
    a_practitioner_edits_the_profile_replies_and_reads_earnings,
    a_client_books_cancels_and_sees_the_chart,
    an_admin_oversees_commission_consultations_and_reviews,
    a_practitioner_sets_hours_overrides_and_services,
    the_catalogue_is_kept_from_the_console,
);

/// A browser without JavaScript: keeps cookies, follows no redirects.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The value of the first `name="_csrf"` field on the page.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "_csrf").unwrap_or_else(|| panic!("no CSRF field in {}", self.body))
    }
}

/// HTML text as the browser reads it (the escapes the console's templates write).
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first hidden field `name`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

pub struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: Mutex<HashMap<String, String>>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::default(),
        }
    }

    fn cookie_header(&self) -> String {
        let jar = self.cookies.lock().unwrap();
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.lock().unwrap();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn forget_cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().remove(name)
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    async fn read(&self, res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        self.keep_cookies(&headers);
        Page {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let res = self
            .http
            .get(format!("{}{path}", self.app.base))
            .header("accept", "text/html")
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(format!("{}{path}", self.app.base))
            .header("accept", "text/html")
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn post_with_origin(&self, path: &str, origin: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header())
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Signs in through the form; panics unless it lands on `home`.
    pub async fn sign_in(&self, email: &str, home: &str) {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        let done = self
            .post(
                "/console/sign-in",
                &[("_csrf", &csrf), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location(), home);
    }

    /// Opens `path` and sends its first form with `fields` (the CSRF token added).
    pub async fn submit(&self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        let mut form = vec![("_csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(action, &form).await
    }
}

async fn a_signed_out_browser_is_sent_to_sign_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let browser = Browser::new(&app);
    let page = browser.get("/console/admin/users?q=x").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location(),
        "/console/sign-in?next=/console/admin/users%3Fq%3Dx"
    );
    let root = browser.get("/").await;
    assert_eq!(
        (root.status, root.location().as_str()),
        (StatusCode::SEE_OTHER, "/console")
    );
    assert_eq!(browser.get("/console").await.status, 303);

    // A browser lost outside the API gets a page, an API client the problem document.
    let lost = browser.get("/no-such-page").await;
    assert_eq!(lost.status, 404);
    assert!(
        lost.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(lost.body.contains("Nothing here"), "{}", lost.body);
    app.get("/no-such-page", None)
        .await
        .problem(404, "not_found");
    let api = browser.get("/api/v1/no-such-route").await;
    assert_eq!(api.headers["content-type"], "application/problem+json");

    // The sign-in page is strict about where it runs and what it loads.
    let form = browser.get("/console/sign-in").await;
    let csp = form.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!form.body.contains("<script>"), "no inline script");

    // Wrong password: the form again, with the API's words next to it.
    let (email, _) = app.admin_account().await;
    let csrf = form.csrf();
    let wrong = browser
        .post(
            "/console/sign-in",
            &[
                ("_csrf", &csrf),
                ("email", &email),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("Email or password is incorrect"),
        "{}",
        wrong.body
    );

    // The right one, with `next`: back where the browser was going, and only there.
    let done = browser
        .post(
            "/console/sign-in",
            &[
                ("_csrf", &csrf),
                ("email", &email),
                ("password", PASSWORD),
                ("next", "/console/admin/users"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/console/admin/users");
    let cookie = done.headers[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("augur_console="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(browser.get("/console/admin/users").await.status, 200);

    let other = Browser::new(&app);
    let form = other.get("/console/sign-in").await;
    let away = other
        .post(
            "/console/sign-in",
            &[
                ("_csrf", &form.csrf()),
                ("email", &email),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(
        away.location(),
        "/console/admin",
        "an outside `next` is ignored"
    );
}

async fn a_form_without_its_csrf_token_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    let (token, _, _) = app.register("applicant@example.com").await;
    let p = app
        .post(
            "/api/v1/practitioners/apply",
            Some(&token),
            application("Careful Reader"),
        )
        .await
        .expect(201);
    let id = p["id"].as_str().unwrap();
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let approve = format!("/console/admin/practitioners/{id}/approve");

    let missing = browser.post(&approve, &[]).await;
    assert_eq!(missing.status, 403);
    assert!(
        missing.body.contains("This form has expired"),
        "{}",
        missing.body
    );
    let forged = browser
        .post(&approve, &[("_csrf", "0".repeat(64).as_str())])
        .await;
    assert_eq!(forged.status, 403);
    let page = browser.get("/console/admin/practitioners").await;
    let csrf = page.csrf();
    let elsewhere = browser
        .post_with_origin(&approve, "https://evil.example", &[("_csrf", &csrf)])
        .await;
    assert_eq!(
        elsewhere.status, 403,
        "another site's form is refused even with a token"
    );
    let still = app
        .get("/api/v1/admin/practitioners?status=pending", Some(&admin))
        .await
        .expect(200);
    assert_eq!(
        still["items"].as_array().unwrap().len(),
        1,
        "nothing was approved"
    );

    // A token is bound to its session: another admin's token does not work here.
    let (other_email, _) = app.admin_account().await;
    let other = Browser::new(&app);
    other.sign_in(&other_email, "/console/admin").await;
    let theirs = other.get("/console/admin/practitioners").await.csrf();
    assert_ne!(theirs, csrf);
    assert_eq!(
        browser.post(&approve, &[("_csrf", &theirs)]).await.status,
        403
    );

    // The sign-in form itself is bound to its own cookie.
    let fresh = Browser::new(&app);
    let signin = fresh
        .post(
            "/console/sign-in",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signin.status, 403);

    let done = browser
        .post(
            &approve,
            &[
                ("_csrf", &csrf),
                ("_back", "/console/admin/practitioners?status=pending"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let landed = browser.get(&done.location()).await;
    assert!(
        landed
            .body
            .contains("Approved: the practitioner can now take clients."),
        "{}",
        landed.body
    );
    assert!(
        app.get("/api/v1/admin/practitioners?status=pending", Some(&admin))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The message was shown once.
    let again = browser.get(&done.location()).await;
    assert!(
        !again.body.contains("Approved: the practitioner"),
        "{}",
        again.body
    );
    // A message planted in the cookie by someone else is not shown.
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"ok":true,"text":"Your payout of 10,00,000 was approved"}"#,
    );
    browser.set_cookie(
        "augur_console_flash",
        &format!("{forged}.{}", "0".repeat(64)),
    );
    let planted = browser.get("/console/admin").await;
    assert!(!planted.body.contains("Your payout"), "{}", planted.body);
}

async fn a_client_opening_an_admin_page_gets_403(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.register("client@example.com").await;
    let browser = Browser::new(&app);
    browser
        .sign_in("client@example.com", "/console/client")
        .await;
    for path in [
        "/console/admin",
        "/console/admin/users",
        "/console/admin/topups",
        "/console/admin/audit",
        "/console/admin/consultations",
        "/console/admin/consultations?status=ended",
        "/console/admin/reviews",
        "/console/admin/reviews?hidden=true",
        "/console/admin/catalogue",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(
            page.body.contains("This page is for admin accounts."),
            "{}",
            page.body
        );
    }
    // Nor can a client post an admin form, even with its own valid token.
    let (_, admin) = app.admin_account().await;
    let (token, _, _) = app.register("applicant@example.com").await;
    let p = app
        .post(
            "/api/v1/practitioners/apply",
            Some(&token),
            application("Hopeful"),
        )
        .await
        .expect(201);
    let page = browser.get("/console/sign-in").await;
    assert_eq!(
        page.status, 303,
        "a signed-in client is sent home from the sign-in page"
    );
    let csrf = {
        let mut jar_csrf = None;
        // The client's own CSRF token, as any of its pages would carry it.
        for path in ["/console/admin"] {
            let p = browser.get(path).await;
            jar_csrf = crate::console::hidden(&p.body, "_csrf");
        }
        jar_csrf
    };
    assert!(csrf.is_none(), "the refusal page carries no form");
    let refused = browser
        .post(
            &format!(
                "/console/admin/practitioners/{}/approve",
                p["id"].as_str().unwrap()
            ),
            &[("_csrf", "x")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        app.get("/api/v1/admin/practitioners?status=pending", Some(&admin))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn a_practitioner_bio_with_script_renders_as_text(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, _) = app.admin_account().await;
    let (token, _, _) = app.register("sneaky@example.com").await;
    let mut body = application("Sneaky <b>Reader</b>");
    body["bio"] = json!("Hello <script>alert('owned')</script> & welcome \"friend\"");
    let p = app
        .post("/api/v1/practitioners/apply", Some(&token), body)
        .await
        .expect(201);
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let page = browser
        .get(&format!(
            "/console/admin/practitioners/{}",
            p["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<b>Reader"), "{}", page.body);
    assert!(
        page.body.contains("Hello &lt;script&gt;alert(&#x27;owned&#x27;)&lt;&#x2f;script&gt; &amp; welcome &quot;friend&quot;"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Sneaky &lt;b&gt;Reader&lt;&#x2f;b&gt;"));
    let list = browser.get("/console/admin/practitioners").await;
    assert!(
        list.body.contains("Sneaky &lt;b&gt;Reader&lt;&#x2f;b&gt;")
            && !list.body.contains("<b>Reader")
    );
}

async fn console_actions_are_the_apis_actions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    let (_, _, client_id) = app.register("member@example.com").await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let user_page = format!("/console/admin/users/{client_id}");

    // Validation errors come back in words, next to the form.
    let empty = browser
        .submit(
            &user_page,
            &format!("{user_page}/suspend"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(empty.status, 303);
    let shown = browser.get(&user_page).await;
    assert!(
        shown.body.contains("id=\"suspend-error\""),
        "{}",
        shown.body
    );

    let done = browser
        .submit(
            &user_page,
            &format!("{user_page}/suspend"),
            &[("reason", "chargeback fraud")],
        )
        .await;
    assert_eq!(done.status, 303);
    let after = browser.get(&user_page).await;
    assert!(
        after.body.contains("The account is suspended"),
        "{}",
        after.body
    );
    app.login("member@example.com", PASSWORD)
        .await
        .problem(403, "account_suspended");

    // The audit entry is the API's own: action, actor, target, the browser's address.
    let log = app
        .get(
            &format!("/api/v1/admin/audit-logs?target_id={client_id}"),
            Some(&admin),
        )
        .await
        .expect(200);
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "user.suspend", "{log}");
    let me = app.get("/api/v1/me", Some(&admin)).await.expect(200);
    assert_eq!(entry["actor_id"], me["id"]);
    assert_eq!(entry["ip"], "127.0.0.1");
    let audit = browser
        .get("/console/admin/audit?action=user.suspend")
        .await;
    assert!(audit.body.contains("user.suspend"), "{}", audit.body);

    // Goodwill credit: amount typed in rupees, credited in paise.
    let credit = browser
        .submit(&user_page, &format!("{user_page}/reactivate"), &[])
        .await;
    assert_eq!(credit.status, 303);
    let page = browser.get(&user_page).await;
    let key = crate::console::hidden(&page.body, "_key").unwrap();
    let sent = browser
        .post(
            &format!("{user_page}/credit"),
            &[
                ("_csrf", &page.csrf()),
                ("_key", &key),
                ("amount", "1,250.50"),
                ("reason", "goodwill"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303);
    let wallet = app
        .get(&format!("/api/v1/admin/wallets/{client_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(wallet["available"], 125_050);
    let shown = browser.get(&user_page).await;
    assert!(shown.body.contains("₹1,250.50"), "{}", shown.body);
    let bad = browser
        .post(
            &format!("{user_page}/credit"),
            &[
                ("_csrf", &page.csrf()),
                ("amount", "12.345"),
                ("reason", "goodwill"),
            ],
        )
        .await;
    assert_eq!(bad.status, 303);
    assert!(
        browser
            .get(&user_page)
            .await
            .body
            .contains("Enter an amount such as 250 or 250.50")
    );
}

/// A client with a paid top-up of `amount`; returns (client id, top-up id).
async fn paid_topup(app: &TestApp, email: &str, amount: i64) -> (String, String) {
    let (token, _, client_id) = app.register(email).await;
    let topup = app
        .post_keyed(
            "/api/v1/wallet/topups",
            &token,
            &format!("t-{email}"),
            json!({"amount": amount}),
        )
        .await
        .expect(201);
    let checkout = topup["checkout_url"].as_str().unwrap().to_owned();
    let res = app
        .client
        .post(format!("{checkout}/pay"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    domain::jobs::run_pending(&app.state).await.unwrap();
    (client_id, topup["id"].as_str().unwrap().to_owned())
}

async fn a_refund_form_sent_twice_refunds_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    let (client_id, topup) = paid_topup(&app, "payer@example.com", 50_000).await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let page = browser.get("/console/admin/topups?status=paid").await;
    assert!(page.body.contains("₹500.00"), "{}", page.body);
    let form_start = page
        .body
        .find(&format!("/console/admin/topups/{topup}/refund"))
        .unwrap();
    let key = crate::console::hidden(&page.body[form_start..], "_key").unwrap();
    let fields = [
        ("_csrf", page.csrf()),
        ("_key", key),
        ("amount", "120".to_owned()),
        ("reason", "technical_fault".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let action = format!("/console/admin/topups/{topup}/refund");
    let first = browser.post(&action, &fields).await;
    let second = browser.post(&action, &fields).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    let wallet = app
        .get(&format!("/api/v1/admin/wallets/{client_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(wallet["available"], 38_000, "one refund of ₹120, not two");
    let listed = app
        .get(
            &format!("/api/v1/admin/topups?user_id={client_id}"),
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["refunded"], 12_000);

    // More than is left: the gateway's refusal in words, next to the form.
    let page = browser.get("/console/admin/topups").await;
    let form_start = page.body.find(&action).unwrap();
    let key = crate::console::hidden(&page.body[form_start..], "_key").unwrap();
    let too_much = browser
        .post(
            &action,
            &[
                ("_csrf", &page.csrf()),
                ("_key", &key),
                ("amount", "900"),
                ("reason", "other"),
            ],
        )
        .await;
    assert_eq!(too_much.status, 303);
    let shown = browser.get("/console/admin/topups").await;
    assert!(
        shown.body.contains(&format!("id=\"refund-{topup}-error\"")),
        "{}",
        shown.body
    );
    let reconciliation = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(reconciliation["balanced"], true);
}

async fn signing_out_ends_the_console_session(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, _) = app.admin_account().await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let cookie = browser.forget_cookie("augur_console").unwrap();
    browser.set_cookie("augur_console", &cookie);
    let out = browser
        .submit("/console/admin", "/console/sign-out", &[])
        .await;
    assert_eq!(
        (out.status, out.location().as_str()),
        (StatusCode::SEE_OTHER, "/console/sign-in")
    );
    // The old cookie, kept by an attacker, no longer opens anything.
    browser.set_cookie("augur_console", &cookie);
    assert_eq!(browser.get("/console/admin").await.status, 303);
    // Nor does a cookie whose tag was edited.
    let (ids, _) = cookie.rsplit_once('.').unwrap();
    browser.set_cookie("augur_console", &format!("{ids}.{}", "a".repeat(64)));
    assert_eq!(browser.get("/console/admin").await.status, 303);

    // A cookie left over from the ended session never locks its owner out of signing in.
    browser.set_cookie("augur_console", &cookie);
    let form = browser.get("/console/sign-in").await;
    assert_eq!(form.status, 200);
    browser.set_cookie("augur_console", &cookie);
    let again = browser
        .post(
            "/console/sign-in",
            &[
                ("_csrf", &form.csrf()),
                ("email", &email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (again.status, again.location().as_str()),
        (StatusCode::SEE_OTHER, "/console/admin")
    );
    assert_eq!(browser.get("/console/admin").await.status, 200);
    // Private pages and exports are never cached.
    let csv = browser.get("/console/admin/users?format=csv").await;
    assert_eq!(csv.headers["cache-control"], "no-store");
}

async fn admin_lists_filter_page_and_export(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    for i in 0..23 {
        app.register(&format!("person{i:02}@example.com")).await;
    }
    app.register("=cmd@example.com").await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let first = browser.get("/console/admin/users?role=client").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body.matches("/console/admin/users/0").count(),
        20,
        "20 a page"
    );
    let next = first.body.split("rel=\"next\"").next().unwrap();
    let href_start = next.rfind("href=\"").unwrap() + 6;
    let href = unescape(next[href_start..].split('"').next().unwrap());
    assert!(
        href.contains("role=client") && href.contains("cursor="),
        "{href}"
    );
    let second = browser.get(&href).await;
    assert_eq!(second.body.matches("/console/admin/users/0").count(), 4);

    // Sorted: newest first by default, oldest first on request, paging in that order.
    let newest = browser.get("/console/admin/users?role=client").await;
    let oldest = browser
        .get("/console/admin/users?role=client&sort=oldest")
        .await;
    let first_email = |html: &str| {
        let at = html.find("@example.com").unwrap();
        let start = html[..at].rfind("<td>").unwrap() + 4;
        html[start..at].to_owned()
    };
    assert_eq!(first_email(&newest.body), "=cmd");
    assert_eq!(first_email(&oldest.body), "person00");
    let api = app
        .get(
            "/api/v1/admin/users?role=client&sort=oldest&limit=20",
            Some(&admin),
        )
        .await
        .expect(200);
    let next = api["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/admin/users?role=client&sort=oldest&limit=20&cursor={next}"),
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 4);
    assert_eq!(rest["items"][3]["email"], "=cmd@example.com");
    app.get("/api/v1/admin/users?sort=sideways", Some(&admin))
        .await
        .problem(400, "invalid_query");

    let found = browser.get("/console/admin/users?q=PERSON07").await;
    assert!(found.body.contains("person07@example.com"));
    assert!(!found.body.contains("person08@example.com"));
    let api = app
        .get("/api/v1/admin/users?q=person_", Some(&admin))
        .await
        .expect(200);
    assert!(
        api["items"].as_array().unwrap().is_empty(),
        "`_` is matched literally"
    );
    app.get("/api/v1/admin/users?role=wizard", Some(&admin))
        .await
        .problem(422, "validation_failed");

    let csv = browser
        .get("/console/admin/users?format=csv&role=client")
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("users.csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 1 + 24, "every page, not only the first");
    assert!(lines[0].starts_with("id,email,phone"));
    assert!(
        csv.body.contains("'=cmd@example.com"),
        "formulas are neutralised"
    );

    let bad = browser.get("/console/admin/users?role=wizard").await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("That filter is not valid"),
        "{}",
        bad.body
    );
}

async fn the_dashboard_counts_from_the_ledger(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    paid_topup(&app, "payer@example.com", 50_000).await;
    paid_topup(&app, "payer2@example.com", 25_050).await;
    let (token, _, _) = app.register("applicant@example.com").await;
    app.post(
        "/api/v1/practitioners/apply",
        Some(&token),
        application("New Reader"),
    )
    .await
    .expect(201);
    let d = app
        .get(
            "/api/v1/admin/dashboard?time_zone=Asia/Kolkata",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(d["today"]["topups"], 75_050, "{d}");
    assert_eq!(d["last_30_days"]["topups"], 75_050);
    assert_eq!(d["days"].as_array().unwrap().len(), 30);
    assert_eq!(d["applications_waiting"], 1);
    assert_eq!(d["books_balanced"], true);
    app.get("/api/v1/admin/dashboard?time_zone=Mars/Base", Some(&admin))
        .await
        .problem(422, "validation_failed");
    let (token, _, _) = app.register("nosy@example.com").await;
    app.get("/api/v1/admin/dashboard", Some(&token))
        .await
        .problem(403, "forbidden");

    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let page = browser.get("/console/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("₹750.50"), "{}", page.body);
    assert!(
        page.body.contains("<svg class=\"chart\""),
        "charts are drawn"
    );
    assert!(
        page.body.contains("id=\"applications-waiting\">1<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Balanced"));
}

async fn promo_codes_packages_and_queues_are_run_from_the_console(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let promos = "/console/admin/promo-codes";

    // A percentage code for sessions without a cap is the API's refusal, in words.
    let refused = browser
        .submit(
            promos,
            promos,
            &[
                ("code", "OPEN10"),
                ("kind", "percentage"),
                ("value", "10"),
                ("context_session", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status, 303);
    let page = browser.get(promos).await;
    assert!(
        page.body.contains("id=\"new-promo-error\""),
        "{}",
        page.body
    );

    let made = browser
        .submit(
            promos,
            promos,
            &[
                ("code", "diwali50"),
                ("kind", "fixed"),
                ("value", "50"),
                ("usage_limit", "100"),
                ("context_topup", "on"),
                ("valid_until", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(made.status, 303);
    let listed = app
        .get("/api/v1/admin/promo-codes", Some(&admin))
        .await
        .expect(200);
    let code = &listed["items"][0];
    assert_eq!(code["code"], "DIWALI50");
    assert_eq!(code["discount"]["fixed"]["amount"], 5_000);
    assert_eq!(code["usage_limit"], 100);
    assert_eq!(code["contexts"], json!(["topup"]));
    let page = browser.get(promos).await;
    assert!(
        page.body.contains("₹50.00") && page.body.contains("The promo code is live."),
        "{}",
        page.body
    );
    let id = code["id"].as_str().unwrap();
    let off = browser
        .submit(promos, &format!("{promos}/{id}/deactivate"), &[])
        .await;
    assert_eq!(off.status, 303);
    let listed = app
        .get("/api/v1/admin/promo-codes", Some(&admin))
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["active"], false);

    // A credit package: ₹500 buys ₹550 of credit.
    let packages = "/console/admin/packages";
    let sold = browser
        .submit(
            packages,
            packages,
            &[("name", "Starter"), ("price", "500"), ("credit", "550")],
        )
        .await;
    assert_eq!(sold.status, 303);
    let on_sale = app.get("/api/v1/wallet/packages", None).await.expect(200);
    assert_eq!(
        (on_sale[0]["price"].as_i64(), on_sale[0]["bonus"].as_i64()),
        (Some(50_000), Some(5_000))
    );
    let id = on_sale[0]["id"].as_str().unwrap();
    browser
        .submit(packages, &format!("{packages}/{id}/deactivate"), &[])
        .await;
    assert!(
        app.get("/api/v1/wallet/packages", None)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Every admin page draws, with the data above.
    for path in [
        "/console/admin",
        "/console/admin/users",
        "/console/admin/practitioners",
        "/console/admin/topups",
        "/console/admin/payouts",
        "/console/admin/bookings",
        "/console/admin/promo-codes",
        "/console/admin/packages",
        "/console/admin/templates",
        "/console/admin/deliveries",
        "/console/admin/deliveries?status=sent",
        "/console/admin/jobs",
        "/console/admin/jobs?status=done",
        "/console/admin/audit",
        "/console/admin/consultations",
        "/console/admin/consultations?status=ended",
        "/console/admin/reviews",
        "/console/admin/reviews?hidden=true",
        "/console/admin/catalogue",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let audit = app
        .get("/api/v1/admin/audit-logs", Some(&admin))
        .await
        .expect(200);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.iter().any(|a| a.starts_with("promo")),
        "{actions:?}"
    );
}

async fn a_practitioner_edits_the_profile_replies_and_reads_earnings(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (practitioner, pid) =
        approved_practitioner(&app, &admin, "reader@example.com", "Asha Reader").await;
    app.call(
        reqwest::Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let (client, _, client_id) = app.register("seeker@example.com").await;
    app.credit(&admin, &client_id, 100_000).await;
    // A session, a review and a tip, through the API.
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&client),
            json!({"practitioner_id": pid, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/consultations/{id}/end"),
        Some(&client),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/consultations/{id}/review"),
        Some(&client),
        json!({"rating": 5, "text": "Wonderful <b>insight</b>"}),
    )
    .await
    .expect(201);
    app.post_keyed(
        &format!("/api/v1/consultations/{id}/tip"),
        &client,
        "tip-1",
        json!({"amount": 10_000}),
    )
    .await
    .expect(201);

    let browser = Browser::new(&app);
    browser
        .sign_in("reader@example.com", "/console/practitioner")
        .await;

    // Reviews, with a reply.
    let page = browser.get("/console/practitioner/reviews").await;
    assert!(
        page.body
            .contains("Wonderful &lt;b&gt;insight&lt;&#x2f;b&gt;"),
        "{}",
        page.body
    );
    let review = app
        .get(&format!("/api/v1/practitioners/{pid}/reviews"), None)
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let replied = browser
        .submit(
            "/console/practitioner/reviews",
            &format!("/console/practitioner/reviews/{review}/reply"),
            &[("text", "Thank you, come back soon")],
        )
        .await;
    assert_eq!(replied.status, 303);
    let shown = app
        .get(&format!("/api/v1/practitioners/{pid}/reviews"), None)
        .await
        .expect(200);
    assert_eq!(shown["items"][0]["reply"], "Thank you, come back soon");

    // Earnings: the tip is this week's bar, and the payout form answers in words.
    let earned = app
        .get("/api/v1/practitioners/me/earnings", Some(&practitioner))
        .await
        .expect(200);
    let weeks = earned["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    let net = earned["available"].as_i64().unwrap();
    assert!(net > 0 && net <= 10_000, "{earned}");
    assert_eq!(weeks[11]["earned"].as_i64(), Some(net), "{earned}");
    assert!(weeks[..11].iter().all(|w| w["earned"] == 0));
    let page = browser.get("/console/practitioner/earnings").await;
    assert!(page.body.contains("Earnings by week:"), "{}", page.body);
    let asked = browser
        .submit(
            "/console/practitioner/earnings",
            "/console/practitioner/earnings",
            &[("amount", "50")],
        )
        .await;
    assert_eq!(asked.status, 303);
    let page = browser.get("/console/practitioner/earnings").await;
    assert!(page.body.contains("id=\"payout-error\""), "{}", page.body);

    // The profile: rates typed in rupees, lists typed with commas.
    let page = browser.get("/console/practitioner/profile").await;
    assert!(
        page.body.contains("value=\"20.00\""),
        "the chat rate is shown in rupees"
    );
    let form = [
        ("display_name", "Asha Reader"),
        ("kind", "tarot_reader"),
        ("bio", "Tarot for hard choices."),
        ("experience_years", "9"),
        ("languages", "en, hi, mr"),
        ("specializations", "tarot, career"),
        ("education", ""),
        ("currency", "INR"),
        ("rate_chat", "25"),
        ("rate_call", ""),
        ("rate_video", "40.50"),
        ("max_concurrent_sessions", "3"),
        ("avatar_url", ""),
    ];
    let saved = browser
        .submit(
            "/console/practitioner/profile",
            "/console/practitioner/profile",
            &form,
        )
        .await;
    assert_eq!(saved.status, 303);
    let me = app
        .get("/api/v1/practitioners/me", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(
        (
            me["kind"].as_str(),
            me["rates"]["chat"].as_i64(),
            me["rates"]["call"].as_i64(),
            me["rates"]["video"].as_i64()
        ),
        (Some("tarot_reader"), Some(2_500), None, Some(4_050))
    );
    assert_eq!(me["languages"], json!(["en", "hi", "mr"]));
    let mut bad = form.to_vec();
    bad[3] = ("experience_years", "nine");
    browser
        .submit(
            "/console/practitioner/profile",
            "/console/practitioner/profile",
            &bad,
        )
        .await;
    let page = browser.get("/console/practitioner/profile").await;
    assert!(page.body.contains("id=\"profile-error\""), "{}", page.body);
}

async fn a_client_books_cancels_and_sees_the_chart(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (practitioner, pid) =
        approved_practitioner(&app, &admin, "healer@example.com", "Healer One").await;
    let service = bookable_hours_and_service(&app, &practitioner).await;
    let sid = service["id"].as_str().unwrap();
    let (client, _, client_id) = app.register("seeker@example.com").await;
    app.credit(&admin, &client_id, 200_000).await;
    let browser = Browser::new(&app);
    browser
        .sign_in("seeker@example.com", "/console/client")
        .await;

    let tomorrow = (app.state.clock.now() + chrono::Duration::days(1)).date_naive();
    let page = browser
        .get(&format!(
            "/console/client/book?practitioner={pid}&service={sid}&from={tomorrow}"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Kundli reading") && page.body.contains("₹1,500.00"));
    let start = crate::console::hidden(&page.body, "start").expect("a free slot");
    let key = crate::console::hidden(&page.body, "_key").unwrap();
    let form = [
        ("_csrf", page.csrf()),
        ("_key", key),
        ("service_id", sid.to_owned()),
        ("practitioner", pid.clone()),
        ("start", start),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let booked = browser.post("/console/client/book", &form).await;
    assert_eq!(
        (booked.status, booked.location().as_str()),
        (StatusCode::SEE_OTHER, "/console/client/bookings")
    );
    let again = browser.post("/console/client/book", &form).await;
    assert_eq!(again.status, 303, "the same form sent twice books once");
    let mine = app
        .get("/api/v1/bookings?role=client", Some(&client))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    let listed = browser.get("/console/client/bookings").await;
    assert!(
        listed
            .body
            .contains("Requested: the practitioner confirms it"),
        "{}",
        listed.body
    );
    assert!(listed.body.contains("₹1,500.00"));
    let booking = mine["items"][0]["id"].as_str().unwrap();
    let cancelled = browser
        .submit(
            "/console/client/bookings",
            &format!("/console/client/bookings/{booking}/cancel"),
            &[],
        )
        .await;
    assert_eq!(cancelled.status, 303);
    let listed = browser.get("/console/client/bookings").await;
    assert!(
        listed
            .body
            .contains("Cancelled: ₹1,500.00 is back in your wallet."),
        "{}",
        listed.body
    );
    let wallet = app.get("/api/v1/wallet", Some(&client)).await.expect(200);
    assert_eq!(wallet["available"], 200_000);

    // The chart: birth details first, then the drawing and the planets.
    let page = browser.get("/console/client/chart").await;
    assert!(
        page.body.contains("Add your birth details"),
        "{}",
        page.body
    );
    let bad = browser
        .submit(
            "/console/client/chart",
            "/console/client/chart",
            &[
                ("birth_date", "1990-05-17"),
                ("birth_time", "14:30"),
                ("place_name", "Mumbai"),
                ("latitude", "north"),
                ("longitude", "72.8777"),
                ("time_zone", "Asia/Kolkata"),
            ],
        )
        .await;
    assert_eq!(bad.status, 303);
    assert!(
        browser
            .get("/console/client/chart")
            .await
            .body
            .contains("id=\"birth-error\"")
    );
    let saved = browser
        .submit(
            "/console/client/chart",
            "/console/client/chart",
            &[
                ("birth_date", "1990-05-17"),
                ("birth_time", "14:30"),
                ("place_name", "Mumbai"),
                ("latitude", "19.076"),
                ("longitude", "72.8777"),
                ("time_zone", "Asia/Kolkata"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = browser.get("/console/client/chart").await;
    assert!(
        page.body.contains("Ascendant") && page.body.contains("src=\"/console/client/chart.svg\""),
        "{}",
        page.body
    );
    let svg = browser.get("/console/client/chart.svg").await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert!(svg.body.contains("<svg"), "{}", svg.body);
}

async fn an_admin_oversees_commission_consultations_and_reviews(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    let (practitioner, pid) =
        approved_practitioner(&app, &admin, "reader@example.com", "Asha Reader").await;
    app.call(
        reqwest::Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let (client, _, client_id) = app.register("seeker@example.com").await;
    app.credit(&admin, &client_id, 100_000).await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;

    // Commission: a rate of their own, audited, then back to the platform's.
    let page_path = format!("/console/admin/practitioners/{pid}");
    let page = browser.get(&page_path).await;
    assert!(
        page.body.contains("id=\"commission\">20.00 %"),
        "{}",
        page.body
    );
    browser
        .submit(
            &page_path,
            &format!("{page_path}/commission"),
            &[("commission", "17.5")],
        )
        .await;
    let p = app
        .get(&format!("/api/v1/admin/practitioners/{pid}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(
        (
            p["commission_override_bps"].as_i64(),
            p["commission_bps"].as_i64()
        ),
        (Some(1_750), Some(1_750))
    );
    let earned = app
        .get("/api/v1/practitioners/me/earnings", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(earned["commission_bps"], 1_750);
    browser
        .submit(
            &page_path,
            &format!("{page_path}/commission"),
            &[("commission", "150")],
        )
        .await;
    assert!(
        browser
            .get(&page_path)
            .await
            .body
            .contains(&format!("id=\"commission-{pid}-error\""))
    );
    browser
        .submit(
            &page_path,
            &format!("{page_path}/commission"),
            &[("commission", "")],
        )
        .await;
    let p = app
        .get(&format!("/api/v1/admin/practitioners/{pid}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(
        (
            p["commission_override_bps"].as_i64(),
            p["commission_bps"].as_i64()
        ),
        (None, Some(2_000))
    );
    let log = app
        .get(
            &format!("/api/v1/admin/audit-logs?action=practitioner.commission&target_id={pid}"),
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(log["items"].as_array().unwrap().len(), 2);

    // A session: live in the list, then ended, with its transcript.
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&client),
            json!({"practitioner_id": pid, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/consultations/{id}/messages"),
        Some(&client),
        json!({"client_id": "m1", "text": "Will I <move> abroad?"}),
    )
    .await
    .expect(201);
    let live = browser.get("/console/admin/consultations").await;
    assert!(
        live.body.contains(c["reference"].as_str().unwrap()),
        "{}",
        live.body
    );
    app.post(
        &format!("/api/v1/consultations/{id}/end"),
        Some(&client),
        json!({}),
    )
    .await
    .expect(200);
    let detail = browser
        .get(&format!("/console/admin/consultations/{id}"))
        .await;
    assert!(
        detail.body.contains("Will I &lt;move&gt; abroad?"),
        "{}",
        detail.body
    );
    assert!(
        detail.body.contains("Ended by the client"),
        "{}",
        detail.body
    );

    // A review, hidden and shown again.
    app.post(
        &format!("/api/v1/consultations/{id}/review"),
        Some(&client),
        json!({"rating": 1, "text": "Call me on 98xxxxxx"}),
    )
    .await
    .expect(201);
    let listed = app
        .get("/api/v1/admin/reviews", Some(&admin))
        .await
        .expect(200);
    let review = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let hid = browser
        .submit(
            "/console/admin/reviews",
            &format!("/console/admin/reviews/{review}/visibility"),
            &[("hidden", "true"), ("reason", "contact details")],
        )
        .await;
    assert_eq!(hid.status, 303);
    let hidden = app
        .get("/api/v1/admin/reviews?hidden=true", Some(&admin))
        .await
        .expect(200);
    assert_eq!(hidden["items"][0]["id"], review.as_str());
    assert!(
        app.get(&format!("/api/v1/practitioners/{pid}/reviews"), None)
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    browser
        .submit(
            "/console/admin/reviews?hidden=true",
            &format!("/console/admin/reviews/{review}/visibility"),
            &[("hidden", "false")],
        )
        .await;
    assert!(
        app.get("/api/v1/admin/reviews?hidden=true", Some(&admin))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn a_practitioner_sets_hours_overrides_and_services(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (practitioner, _) =
        approved_practitioner(&app, &admin, "healer@example.com", "Healer One").await;
    let browser = Browser::new(&app);
    browser
        .sign_in("healer@example.com", "/console/practitioner")
        .await;
    let hours = "/console/practitioner/hours";
    let page = browser.get(hours).await;
    assert_eq!(page.status, 200, "{}", page.body);

    let week = [
        ("time_zone", "Asia/Kolkata"),
        ("monday", "09:00-13:00, 14:00-18:00"),
        ("tuesday", ""),
        ("wednesday", "10:00-12:00"),
        ("thursday", ""),
        ("friday", ""),
        ("saturday", ""),
        ("sunday", ""),
    ];
    let saved = browser.submit(hours, hours, &week).await;
    assert_eq!(saved.status, 303);
    let doc = app
        .get("/api/v1/practitioners/me/availability", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(doc["time_zone"], "Asia/Kolkata");
    assert_eq!(doc["weekly"].as_array().unwrap().len(), 3, "{doc}");
    let page = browser.get(hours).await;
    assert!(
        page.body.contains("<title>Mon 09:00–13:00</title>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"09:00-13:00, 14:00-18:00\""));

    let mut bad = week.to_vec();
    bad[1] = ("monday", "9 to 5");
    browser.submit(hours, hours, &bad).await;
    assert!(browser.get(hours).await.body.contains("id=\"hours-error\""));

    browser
        .submit(
            hours,
            &format!("{hours}/override"),
            &[("date", "2030-01-01"), ("hours", "")],
        )
        .await;
    let doc = app
        .get("/api/v1/practitioners/me/availability", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(
        doc["overrides"],
        json!([{"date": "2030-01-01", "hours": []}]),
        "{doc}"
    );
    assert_eq!(
        doc["weekly"].as_array().unwrap().len(),
        3,
        "the week is kept"
    );
    browser
        .submit(hours, &format!("{hours}/override/2030-01-01/remove"), &[])
        .await;
    let doc = app
        .get("/api/v1/practitioners/me/availability", Some(&practitioner))
        .await
        .expect(200);
    assert!(
        doc["overrides"].as_array().is_none_or(Vec::is_empty),
        "{doc}"
    );

    let services = "/console/practitioner/services";
    browser
        .submit(
            services,
            services,
            &[
                ("name", "Tarot spread"),
                ("description", "Three cards"),
                ("channel", "chat"),
                ("duration_minutes", "30"),
                ("price", "500"),
            ],
        )
        .await;
    let mine = app
        .get("/api/v1/practitioners/me/services", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(
        (mine[0]["name"].as_str(), mine[0]["price"].as_i64()),
        (Some("Tarot spread"), Some(50_000))
    );
    let id = mine[0]["id"].as_str().unwrap();
    browser
        .submit(services, &format!("{services}/{id}/toggle"), &[])
        .await;
    let mine = app
        .get("/api/v1/practitioners/me/services", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(mine[0]["active"], false);
    browser
        .submit(services, &format!("{services}/{id}/toggle"), &[])
        .await;
    let mine = app
        .get("/api/v1/practitioners/me/services", Some(&practitioner))
        .await
        .expect(200);
    assert_eq!(mine[0]["active"], true);
}

async fn the_catalogue_is_kept_from_the_console(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, _) = app.admin_account().await;
    let browser = Browser::new(&app);
    browser.sign_in(&email, "/console/admin").await;
    let page = "/console/admin/catalogue";
    assert_eq!(browser.get(page).await.status, 200);

    let decks = app.get("/api/v1/tarot/decks", None).await.expect(200);
    let deck = decks[0]["slug"].as_str().expect("a seeded deck").to_owned();
    browser
        .submit(
            page,
            &format!("{page}/decks/{deck}"),
            &[("reversal", "12.5")],
        )
        .await;
    let decks = app.get("/api/v1/tarot/decks", None).await.expect(200);
    let found = decks
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slug"] == deck.as_str())
        .unwrap();
    assert_eq!(found["reversal_bps"], 1_250);
    browser
        .submit(
            page,
            &format!("{page}/decks/{deck}"),
            &[("active", "false")],
        )
        .await;
    let decks = app.get("/api/v1/tarot/decks", None).await.expect(200);
    assert!(
        decks
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["slug"] != deck.as_str())
    );
    browser
        .submit(
            page,
            &format!("{page}/switch-on"),
            &[("kind", "deck"), ("slug", &deck)],
        )
        .await;
    let decks = app.get("/api/v1/tarot/decks", None).await.expect(200);
    assert!(
        decks
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["slug"] == deck.as_str())
    );

    let spreads = app.get("/api/v1/tarot/spreads", None).await.expect(200);
    let spread = spreads[0]["slug"].as_str().unwrap().to_owned();
    browser
        .submit(
            page,
            &format!("{page}/spreads/{spread}"),
            &[("active", "false")],
        )
        .await;
    let spreads = app.get("/api/v1/tarot/spreads", None).await.expect(200);
    assert!(
        spreads
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["slug"] != spread.as_str())
    );
    browser
        .submit(
            page,
            &format!("{page}/switch-on"),
            &[("kind", "spread"), ("slug", &spread)],
        )
        .await;

    browser
        .submit(
            page,
            &format!("{page}/service-types"),
            &[
                ("slug", "vastu-visit"),
                ("name", "Vastu visit"),
                ("description", "At home"),
            ],
        )
        .await;
    let types = app.get("/api/v1/service-types", None).await.expect(200);
    let made = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "vastu-visit")
        .expect("added")
        .clone();
    browser
        .submit(
            page,
            &format!("{page}/service-types/{}", made["id"].as_str().unwrap()),
            &[("name", "Vastu home visit")],
        )
        .await;
    let types = app.get("/api/v1/service-types", None).await.expect(200);
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "Vastu home visit")
    );

    let day = "2030-03-21";
    let at = format!("{page}?date={day}");
    browser
        .submit(
            &at,
            &format!("{page}/horoscopes/{day}/aries"),
            &[
                ("text", "A bold start <today>."),
                ("mood", "bright"),
                ("lucky_color", "red"),
                ("lucky_number", "9"),
            ],
        )
        .await;
    let written = app
        .get(&format!("/api/v1/horoscopes?date={day}"), None)
        .await
        .expect(200);
    assert_eq!(written[0]["text"], "A bold start <today>.");
    assert_eq!(written[0]["lucky_number"], 9);
    let shown = browser.get(&at).await;
    assert!(
        shown.body.contains("A bold start &lt;today&gt;."),
        "{}",
        shown.body
    );
    browser
        .submit(
            &at,
            &format!("{page}/horoscopes/{day}/aries"),
            &[("_form", "delete"), ("text", "")],
        )
        .await;
    let written = app
        .get(&format!("/api/v1/horoscopes?date={day}"), None)
        .await
        .expect(200);
    assert!(written.as_array().unwrap().is_empty(), "{written}");
}
