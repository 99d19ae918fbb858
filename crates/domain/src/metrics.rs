//! Prometheus metrics owned by one app instance (not a process-global recorder, so
//! several servers in one test process keep separate counts), and who may read them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Whether the public listener serves `/metrics`: not when they have an address of their
/// own (`metrics_bind`); with a token, yes (the handler asks for it); with neither, only
/// outside production, so a demo shows them and a production node does not tell anyone its
/// traffic.
pub fn on_public_listener(cfg: &crate::config::Config) -> bool {
    cfg.metrics_bind.is_none()
        && (cfg.metrics_token.is_some()
            || cfg.environment != crate::config::Environment::Production)
}

/// Whether `authorization` carries `Bearer <token>`. Both sides are hashed first so the
/// constant-time comparison does not reveal the token's length either.
pub fn token_matches(authorization: Option<&str>, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let given = authorization
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or_default();
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(token.as_bytes()),
    );
    !given.is_empty() && bool::from(a.ct_eq(&b))
}

/// Latency bucket upper bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    /// Open WebSockets on this node.
    pub ws_connections: std::sync::atomic::AtomicI64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        // Any other method string would add a label value per request.
        let method = match method {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
            _ => "OTHER",
        };
        {
            let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *map.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        let secs = elapsed.as_secs_f64();
        let mut map = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = map
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP augur_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE augur_http_requests_total counter\n");
        for ((method, route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "augur_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP augur_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE augur_http_request_duration_seconds histogram\n");
        for ((method, route), h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "augur_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "augur_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "augur_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "augur_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP augur_ws_connections Open WebSockets on this node.\n");
        out.push_str("# TYPE augur_ws_connections gauge\n");
        out.push_str(&format!(
            "augur_ws_connections {}\n",
            self.ws_connections
                .load(std::sync::atomic::Ordering::Relaxed)
        ));
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/a", 200, Duration::from_millis(3));
        m.observe("GET", "/a", 500, Duration::from_millis(300));
        let text = m.render();
        assert!(
            text.contains(
                "augur_http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 1"
            )
        );
        assert!(
            text.contains(
                "augur_http_requests_total{method=\"GET\",route=\"/a\",status=\"500\"} 1"
            )
        );
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.5\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}

#[cfg(test)]
mod exposure_tests {
    use super::*;
    use crate::config::{Config, Environment};
    use secrecy::SecretString;

    #[test]
    fn production_serves_metrics_publicly_only_behind_a_token() {
        let dev = Config::default();
        assert!(on_public_listener(&dev));
        let prod = Config {
            environment: Environment::Production,
            ..Config::default()
        };
        assert!(!on_public_listener(&prod));
        let prod_token = Config {
            metrics_token: Some(SecretString::from("s3cret")),
            ..prod.clone()
        };
        assert!(on_public_listener(&prod_token));
        let own_address = Config {
            metrics_bind: Some("127.0.0.1:9100".parse().unwrap()),
            ..dev
        };
        assert!(!on_public_listener(&own_address));
    }

    #[test]
    fn the_token_is_a_bearer_token() {
        assert!(token_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(token_matches(Some("bearer s3cret"), "s3cret"));
        assert!(!token_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!token_matches(Some("s3cret"), "s3cret"));
        assert!(!token_matches(None, "s3cret"));
        assert!(!token_matches(Some("Bearer "), ""));
    }
}
