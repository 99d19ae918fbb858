//! A small W3C WebDriver client over reqwest, driving Debian's headless Chromium through
//! chromedriver: enough to open pages, fill forms, click, read text and take screenshots.
//!
//! Each browser test starts its own chromedriver on a free port and its own browser, so
//! tests run in parallel and nothing outlives them. Without chromedriver on the machine
//! the browser tests are skipped, unless `AUGUR_REQUIRE_BROWSER=1` (CI) makes that a
//! failure.

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_binary(name: &str, env: &str) -> Option<String> {
    if let Ok(path) = std::env::var(env)
        && !path.is_empty()
    {
        return Some(path);
    }
    ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"]
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| std::path::Path::new(p).exists())
}

/// The chromedriver and Chromium to use, or `None` (the test is skipped) when absent.
pub fn available() -> Option<(String, String)> {
    let found = find_binary("chromedriver", "AUGUR_CHROMEDRIVER")
        .zip(find_binary("chromium", "AUGUR_CHROMIUM"));
    if found.is_none() {
        if std::env::var("AUGUR_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "AUGUR_REQUIRE_BROWSER=1 but chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!("skipping browser test: chromium or chromedriver is not installed");
    }
    found
}

pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    _profile: tempdir::Dir,
}

/// A throwaway profile folder, removed on drop.
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, 390 px wide when
    /// `phone` (the narrow screen the console must work on), else a laptop's width.
    pub async fn start(driver: &str, chromium: &str, phone: bool) -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!("augur-browser-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&profile).unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let size = if phone { "390,844" } else { "1280,900" };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // Confirmation dialogs are accepted, as a person clicking OK would.
            "unhandledPromptBehavior": "accept",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--window-size={size}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {res}"))
            .to_owned();
        let browser = Browser {
            http,
            base,
            session,
            driver: child,
            _profile: tempdir::Dir(profile),
        };
        browser
            .cmd(
                "POST",
                "timeouts",
                json!({"implicit": 0, "pageLoad": 30000, "script": 30000}),
            )
            .await;
        browser
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        res["value"].clone()
    }

    async fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let v = self.cmd(method, path, body).await;
        match v.get("error") {
            Some(e) => Err(format!("{e}: {}", v["message"])),
            None => Ok(v),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.try_cmd("POST", "url", json!({"url": url}))
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    pub async fn url(&self) -> String {
        self.cmd("GET", "url", json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(v) = self
                .try_cmd(
                    "POST",
                    "element",
                    json!({"using": "css selector", "value": css}),
                )
                .await
                && let Some(id) = v[ELEMENT_KEY].as_str()
            {
                return Element(id.to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "no element matches {css} at {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        self.cmd(
            "POST",
            "elements",
            json!({"using": "css selector", "value": css}),
        )
        .await
        .as_array()
        .map_or(0, Vec::len)
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.try_cmd("POST", &format!("element/{}/click", el.0), json!({}))
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Replaces the text of the field matching `css` with `text`, as typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("element/{}/clear", el.0), json!({}))
            .await;
        self.try_cmd(
            "POST",
            &format!("element/{}/value", el.0),
            json!({"text": text}),
        )
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Picks the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd("GET", &format!("element/{}/text", el.0), json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits up to 10 s for the element matching `css` to show text containing `want`.
    pub async fn wait_for_text(&self, css: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = if self.count(css).await > 0 {
                self.text(css).await
            } else {
                String::new()
            };
            if found.contains(want) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{css} shows {found:?}, not {want:?}, at {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and answers its return value.
    pub async fn run(&self, script: &str) -> Value {
        self.try_cmd(
            "POST",
            "execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let shot = self.cmd("GET", "screenshot", json!({})).await;
        if let Some(b64) = shot.as_str()
            && let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(path, png);
        }
    }

    /// With `AUGUR_CONSOLE_SCREENSHOTS=<folder>` set, saves the page as `<folder>/<name>.png`
    /// (how docs/console.md gets its pictures); otherwise does nothing.
    pub async fn keep(&self, name: &str) {
        if let Ok(dir) = std::env::var("AUGUR_CONSOLE_SCREENSHOTS")
            && !dir.is_empty()
        {
            self.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")))
                .await;
        }
    }

    /// Runs `test` with this browser; when it fails, a screenshot of the page it failed
    /// on is saved under `target/browser-screenshots/<name>.png` before the failure goes on.
    pub async fn run_test<F, Fut>(self, name: &str, test: F)
    where
        F: FnOnce(std::sync::Arc<Browser>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let browser = std::sync::Arc::new(self);
        let outcome = std::panic::AssertUnwindSafe(test(browser.clone()))
            .catch_unwind()
            .await;
        if let Err(panic) = outcome {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/browser-screenshots")
                .join(format!("{name}.png"));
            browser.screenshot(&path).await;
            eprintln!("screenshot of the failing page: {}", path.display());
            std::panic::resume_unwind(panic);
        }
        let _ = browser
            .http
            .delete(format!("{}/session/{}", browser.base, browser.session))
            .send()
            .await;
    }
}
