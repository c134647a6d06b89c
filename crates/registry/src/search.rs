//! `docker search`: a registry's repositories whose name contains a term. A registry that
//! speaks the distribution API is searched through its catalog (`GET /v2/_catalog`); Docker
//! Hub (no catalog) through its v1 search endpoint, as dockerd does.

use crate::{Error, RegistryConfig, Result, credentials};

/// One repository found, in the fields `GET /images/search` answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchResult {
    pub name: String,
    pub description: String,
    pub star_count: u64,
    pub is_official: bool,
    pub is_automated: bool,
}

/// Where a search for `term` goes and what it looks for: `localhost:5000/foo` searches
/// localhost:5000 for `foo`; a term without a registry searches docker.io's first mirror when
/// one is configured, else Docker Hub.
pub fn search(config: &RegistryConfig, term: &str, limit: usize) -> Result<Vec<SearchResult>> {
    crate::session::install_crypto();
    let term = term.trim();
    let (registry, wanted, prefix) = match term.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string(), format!("{first}/"))
        }
        _ => {
            let endpoints = config.endpoints("docker.io");
            match endpoints.iter().find(|e| e.mirror) {
                Some(mirror) => (mirror.host.clone(), term.to_string(), String::new()),
                None => return hub_search(term, limit),
            }
        }
    };
    let plain = config.is_insecure(&registry)
        || config.mirrors.iter().any(|m| {
            m.strip_prefix("http://")
                .is_some_and(|h| h.starts_with(&registry))
        });
    let names = catalog(&registry, plain)?;
    let wanted = wanted.to_ascii_lowercase();
    Ok(names
        .into_iter()
        .filter(|name| name.to_ascii_lowercase().contains(&wanted))
        .map(|name| {
            let official = prefix.is_empty() && name.starts_with("library/");
            let shown = if prefix.is_empty() {
                name.strip_prefix("library/").unwrap_or(&name).to_string()
            } else {
                format!("{prefix}{name}")
            };
            SearchResult {
                name: shown,
                description: String::new(),
                star_count: 0,
                is_official: official,
                is_automated: false,
            }
        })
        .take(limit)
        .collect())
}

fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| Error::Transport(e.to_string()))
}

fn transport(url: &str) -> impl Fn(reqwest::Error) -> Error + '_ {
    move |e| {
        let mut msg = format!("Get \"{url}\": {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        Error::Transport(msg)
    }
}

/// Every repository of `registry`'s catalog, following its `Link` pages.
fn catalog(registry: &str, plain_http: bool) -> Result<Vec<String>> {
    let scheme = if plain_http { "http" } else { "https" };
    let base = format!("{scheme}://{registry}");
    let rt = crate::session::runtime()?;
    let client = client()?;
    let auth = credentials::get(registry)?;
    rt.block_on(async {
        let mut names = Vec::new();
        let mut next = Some(format!("{base}/v2/_catalog?n=1000"));
        while let Some(url) = next.take() {
            let mut request = client.get(&url);
            if let Some((user, password)) = &auth {
                request = request.basic_auth(user, Some(password));
            }
            let res = request.send().await.map_err(transport(&url))?;
            let status = res.status();
            if status == reqwest::StatusCode::UNAUTHORIZED {
                return Err(Error::Unauthorized(format!(
                    "{registry}: unauthorized: authentication required"
                )));
            }
            if !status.is_success() {
                return Err(Error::Transport(format!(
                    "searching {registry}: {url} answered {status}"
                )));
            }
            let link = res
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.split_once('<'))
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(path, _)| format!("{base}{path}"));
            let bytes = res.bytes().await.map_err(transport(&url))?;
            let body: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| Error::BadContent(format!("{url}: {e}")))?;
            names.extend(
                body["repositories"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string)),
            );
            next = link.filter(|l| *l != url);
        }
        Ok(names)
    })
}

/// Docker Hub's own search (`index.docker.io/v1/search`), which has no catalog.
fn hub_search(term: &str, limit: usize) -> Result<Vec<SearchResult>> {
    let rt = crate::session::runtime()?;
    let client = client()?;
    let url = "https://index.docker.io/v1/search";
    rt.block_on(async {
        let res = client
            .get(url)
            .query(&[("q", term.to_string()), ("n", limit.to_string())])
            .send()
            .await
            .map_err(transport(url))?;
        let bytes = res.bytes().await.map_err(transport(url))?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::BadContent(format!("{url}: {e}")))?;
        Ok(body["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| SearchResult {
                name: r["name"].as_str().unwrap_or_default().to_string(),
                description: r["description"].as_str().unwrap_or_default().to_string(),
                star_count: r["star_count"].as_u64().unwrap_or(0),
                is_official: r["is_official"].as_bool().unwrap_or(false),
                is_automated: r["is_automated"].as_bool().unwrap_or(false),
            })
            .collect())
    })
}
