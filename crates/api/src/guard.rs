//! Who may call the API from a web browser: nobody, unless `berth serve` is told which origins
//! may (`--api-cors-header`). The API is root on the machine, and a page in a browser on it
//! (or on any machine that reaches a TCP listener) can send requests there.
//!
//! Every listener refuses (403) a request that
//! - carries an `Origin` header that is not allowed: browsers send one on every cross-origin
//!   request and on every POST; docker clients (the CLI, docker-py, compose, bollard) never do;
//! - says it comes from another site (`Sec-Fetch-Site: cross-site` or `same-site`, which
//!   browsers send even where they send no Origin: a link, an image, a form GET).
//!
//! A plain TCP listener (`--insecure-tcp`) also refuses a request whose `Host` is a name other
//! than `localhost` (or `*.localhost`) or a name allowed with `--api-allow-host`: an IP literal
//! is fine. That stops DNS rebinding, where a page's own name is made to resolve to the
//! listener's address so that the browser counts the API as the page's own origin. A unix
//! socket gets any Host (the CLI sends `api.moby.localhost`, bollard the socket path in hex), and
//! so does a TLS listener (a browser cannot present the client certificate it requires, and
//! would not accept the server's certificate for the page's name).
//!
//! A request from an allowed origin is served whatever its Host and Sec-Fetch-Site say (a
//! browser does not let a page send another page's Origin); it is answered as dockerd answered `--api-cors-header` (before dockerd 27
//! deprecated and 28 removed it): `Access-Control-Allow-*` headers on every response, and a
//! 200 to every `OPTIONS` preflight.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// What `berth serve` allows beyond docker clients.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    /// Origins (`scheme://host[:port]`) whose browser requests are served, or `*` for any
    /// (`--api-cors-header`).
    pub cors_origins: Vec<String>,
    /// Host names a plain TCP listener answers besides IP addresses and `localhost`
    /// (`--api-allow-host`), or `*` for any.
    pub allowed_hosts: Vec<String>,
}

/// A request the policy refuses.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "request from the browser origin {origin:?} refused: berth serve answers browsers only \
         for the origins given with --api-cors-header"
    )]
    Origin { origin: String },
    #[error(
        "cross-site browser request refused (Sec-Fetch-Site: {site}): berth serve answers \
         browsers only for the origins given with --api-cors-header"
    )]
    CrossSite { site: String },
    #[error(
        "request for host {host:?} refused: a TCP listener without TLS answers only for IP \
         addresses and localhost (a name could be a DNS rebinding); allow a name with \
         --api-allow-host"
    )]
    Host { host: String },
}

/// Every refusal is Docker's 403.
impl From<Refused> for ApiError {
    fn from(e: Refused) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, e.to_string())
    }
}

/// The kind of listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Unix,
    /// TCP with mutual TLS.
    Tls,
    /// TCP without TLS (`--insecure-tcp`).
    PlainTcp,
}

/// The policy as one listener applies it (the state of [`check`]).
#[derive(Debug, Clone)]
pub struct Guard {
    policy: Arc<AccessPolicy>,
    listener: Listener,
}

/// What an admitted request gets.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// Not from a browser (or from one that says the user asked for it): served as it is.
    Plain,
    /// From an allowed origin: served, with CORS headers allowing this origin value.
    Cors(HeaderValue),
    /// A CORS preflight from an allowed origin: answered here.
    Preflight(HeaderValue),
}

impl AccessPolicy {
    /// Checks the values `berth serve` was given, so a typo fails at start rather than
    /// refusing every request.
    pub fn validate(&self) -> Result<(), String> {
        for origin in &self.cors_origins {
            if origin == "*" {
                continue;
            }
            let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                    && !rest.trim_end_matches('/').is_empty()
                    && !rest.trim_end_matches('/').contains(['/', '?', '#', ' '])
            });
            if !valid {
                return Err(format!(
                    "invalid --api-cors-header {origin:?}: expected an origin such as \
                     http://localhost:8080 (scheme://host[:port]) or *"
                ));
            }
        }
        for host in &self.allowed_hosts {
            if host.is_empty() || host.contains(['/', ' ', ':']) {
                return Err(format!(
                    "invalid --api-allow-host {host:?}: expected a host name such as \
                     build.example.com (no scheme, no port), or *"
                ));
            }
        }
        Ok(())
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, or None when it
    /// is not allowed.
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        let text = origin.to_str().ok()?;
        for allowed in &self.cors_origins {
            if allowed == "*" {
                return Some(HeaderValue::from_static("*"));
            }
            if allowed.trim_end_matches('/').eq_ignore_ascii_case(text) {
                return Some(origin.clone());
            }
        }
        None
    }

    fn allows_host(&self, name: &str) -> bool {
        self.allowed_hosts
            .iter()
            .any(|h| h == "*" || h.trim_end_matches('.').eq_ignore_ascii_case(name))
    }
}

impl Guard {
    pub fn new(policy: Arc<AccessPolicy>, listener: Listener) -> Guard {
        Guard { policy, listener }
    }

    fn admit(&self, method: &Method, headers: &HeaderMap) -> Result<Admission, Refused> {
        let mut origins = headers.get_all(header::ORIGIN).iter();
        if let Some(origin) = origins.next() {
            let refuse = |origin: &HeaderValue| Refused::Origin {
                origin: String::from_utf8_lossy(origin.as_bytes()).into_owned(),
            };
            let allowed = self
                .policy
                .allow_origin(origin)
                .ok_or_else(|| refuse(origin))?;
            if let Some(other) = origins.find(|o| self.policy.allow_origin(o).is_none()) {
                return Err(refuse(other));
            }
            return Ok(if method == Method::OPTIONS {
                Admission::Preflight(allowed)
            } else {
                Admission::Cors(allowed)
            });
        }
        // `none`: the user opened the URL; `same-origin`: a page of this very listener (only
        // reachable under a Host checked below).
        for site in headers.get_all("sec-fetch-site") {
            if !matches!(site.as_bytes(), b"none" | b"same-origin") {
                return Err(Refused::CrossSite {
                    site: String::from_utf8_lossy(site.as_bytes()).into_owned(),
                });
            }
        }
        if self.listener == Listener::PlainTcp {
            for host in headers.get_all(header::HOST) {
                if !self.host_allowed(host) {
                    return Err(Refused::Host {
                        host: String::from_utf8_lossy(host.as_bytes()).into_owned(),
                    });
                }
            }
        }
        Ok(Admission::Plain)
    }

    /// An IP literal, `localhost` or `*.localhost` (browsers resolve those to loopback
    /// themselves), or an allowed name; with or without a port.
    fn host_allowed(&self, host: &HeaderValue) -> bool {
        let Ok(host) = host.to_str() else {
            return false;
        };
        let name = match host.strip_prefix('[') {
            Some(v6) => {
                return v6.split_once(']').is_some_and(|(addr, port)| {
                    addr.parse::<std::net::Ipv6Addr>().is_ok() && is_port_suffix(port)
                });
            }
            None => match host.rsplit_once(':') {
                Some((name, port)) if is_port_suffix(&format!(":{port}")) => name,
                _ => host,
            },
        };
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return true;
        }
        let name = name.trim_end_matches('.');
        let lower = name.to_ascii_lowercase();
        lower == "localhost" || lower.ends_with(".localhost") || self.policy.allows_host(name)
    }
}

/// `""` or `:digits`.
fn is_port_suffix(s: &str) -> bool {
    s.is_empty()
        || s.strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn add_cors_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    if origin != "*" {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("HEAD, GET, POST, DELETE, PUT, OPTIONS"),
    );
}

/// The middleware: refuses what the policy refuses, answers preflights, and puts the CORS
/// headers on what an allowed origin gets.
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match guard.admit(request.method(), request.headers()) {
        Err(refused) => {
            crate::body::drain(request.into_body()).await;
            ApiError::from(refused).into_response()
        }
        Ok(Admission::Plain) => next.run(request).await,
        Ok(Admission::Preflight(origin)) => {
            let mut response = StatusCode::OK.into_response();
            add_cors_headers(response.headers_mut(), origin);
            response
        }
        Ok(Admission::Cors(origin)) => {
            let mut response = next.run(request).await;
            add_cors_headers(response.headers_mut(), origin);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(listener: Listener, origins: &[&str], hosts: &[&str]) -> Guard {
        let policy = AccessPolicy {
            cors_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
        };
        policy.validate().unwrap();
        Guard::new(Arc::new(policy), listener)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn docker_clients_pass_on_every_listener() {
        for listener in [Listener::Unix, Listener::Tls, Listener::PlainTcp] {
            let g = guard(listener, &[], &[]);
            for host in ["127.0.0.1:2375", "localhost", "[::1]:2375", "LOCALHOST.:1"] {
                let h = headers(&[("host", host)]);
                assert_eq!(
                    g.admit(&Method::POST, &h).unwrap(),
                    Admission::Plain,
                    "{host}"
                );
            }
            assert_eq!(
                g.admit(&Method::GET, &HeaderMap::new()).unwrap(),
                Admission::Plain
            );
        }
        // The CLI's and bollard's Host on a socket.
        let g = guard(Listener::Unix, &[], &[]);
        for host in [
            "api.moby.localhost",
            "2f746d702f782e736f636b",
            "evil.example",
        ] {
            let h = headers(&[("host", host)]);
            assert_eq!(g.admit(&Method::GET, &h).unwrap(), Admission::Plain);
        }
    }

    #[test]
    fn browser_requests_are_refused_unless_their_origin_is_allowed() {
        for listener in [Listener::Unix, Listener::Tls, Listener::PlainTcp] {
            let g = guard(listener, &[], &[]);
            for origin in ["http://evil.example", "null", "http://127.0.0.1:2375"] {
                let h = headers(&[("host", "127.0.0.1"), ("origin", origin)]);
                let err = g.admit(&Method::POST, &h).unwrap_err();
                assert!(matches!(err, Refused::Origin { .. }), "{err}");
            }
            for site in ["cross-site", "same-site", "bogus"] {
                let h = headers(&[("host", "127.0.0.1"), ("sec-fetch-site", site)]);
                let err = g.admit(&Method::GET, &h).unwrap_err();
                assert!(matches!(err, Refused::CrossSite { .. }), "{err}");
            }
            for site in ["none", "same-origin"] {
                let h = headers(&[("host", "127.0.0.1"), ("sec-fetch-site", site)]);
                assert_eq!(g.admit(&Method::GET, &h).unwrap(), Admission::Plain);
            }
        }
        let g = guard(Listener::PlainTcp, &["http://ui.example:8080/"], &[]);
        let h = headers(&[("host", "127.0.0.1"), ("origin", "http://UI.example:8080")]);
        let allowed = HeaderValue::from_static("http://UI.example:8080");
        assert_eq!(
            g.admit(&Method::POST, &h).unwrap(),
            Admission::Cors(allowed.clone())
        );
        assert_eq!(
            g.admit(&Method::OPTIONS, &h).unwrap(),
            Admission::Preflight(allowed)
        );
        let h = headers(&[("origin", "http://ui.example:8080"), ("origin", "http://x")]);
        assert!(g.admit(&Method::POST, &h).is_err());
        let h = headers(&[("origin", "http://ui.example:9090")]);
        assert!(g.admit(&Method::POST, &h).is_err());
        let g = guard(Listener::Unix, &["*"], &[]);
        let h = headers(&[("origin", "http://anything")]);
        assert_eq!(
            g.admit(&Method::GET, &h).unwrap(),
            Admission::Cors(HeaderValue::from_static("*"))
        );
    }

    #[test]
    fn plain_tcp_refuses_host_names_unless_allowed() {
        let g = guard(Listener::PlainTcp, &[], &["build.example"]);
        for host in [
            "evil.example",
            "evil.example:2375",
            "localhost.evil.example",
            "[::1",
        ] {
            let h = headers(&[("host", host)]);
            let err = g.admit(&Method::GET, &h).unwrap_err();
            assert!(matches!(err, Refused::Host { .. }), "{host}: {err}");
        }
        for host in [
            "build.example:2375",
            "BUILD.example.",
            "x.localhost:1",
            "10.0.0.1",
        ] {
            let h = headers(&[("host", host)]);
            assert_eq!(
                g.admit(&Method::GET, &h).unwrap(),
                Admission::Plain,
                "{host}"
            );
        }
        for listener in [Listener::Unix, Listener::Tls] {
            let g = guard(listener, &[], &[]);
            let h = headers(&[("host", "evil.example:2376")]);
            assert_eq!(g.admit(&Method::GET, &h).unwrap(), Admission::Plain);
        }
        let g = guard(Listener::PlainTcp, &[], &["*"]);
        let h = headers(&[("host", "anything.example")]);
        assert_eq!(g.admit(&Method::GET, &h).unwrap(), Admission::Plain);
    }

    #[test]
    fn bad_option_values_are_refused_at_start() {
        for origins in [
            &["ui.example"][..],
            &["http://ui.example/app"],
            &["http://"],
        ] {
            let p = AccessPolicy {
                cors_origins: origins.iter().map(|s| s.to_string()).collect(),
                ..AccessPolicy::default()
            };
            assert!(p.validate().is_err(), "{origins:?}");
        }
        for host in ["http://x", "x:2375", ""] {
            let p = AccessPolicy {
                allowed_hosts: vec![host.to_string()],
                ..AccessPolicy::default()
            };
            assert!(p.validate().is_err(), "{host}");
        }
    }
}
