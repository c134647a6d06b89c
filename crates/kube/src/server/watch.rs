//! Watches (`?watch=1`): a chunked stream of `{"type":..,"object":..}` lines. Without a
//! resourceVersion (or "0") the current objects come first as ADDED; with one, the recorded
//! changes after it (410 Expired as an ERROR event when it is older than the history kept),
//! then live changes. Bookmarks when asked (and the initial-events-end bookmark for
//! `sendInitialEvents`); `timeoutSeconds` ends the stream. Tables when kubectl asks for them.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::resources::{Target, list_query};
use super::routes::{App, error};
use crate::objects::ListQuery;
use crate::status::ApiError;
use crate::store::{self, Change};
use crate::table;

const BOOKMARK_EVERY: Duration = Duration::from_secs(10);

struct Watch {
    app: App,
    target: Target,
    query: ListQuery,
    as_table: bool,
    tx: mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
}

impl Watch {
    fn render(&self, object: &Value) -> Value {
        if self.as_table {
            let meta = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
            table::table(
                self.target.kind,
                std::slice::from_ref(object),
                meta,
                "Metadata",
            )
        } else {
            object.clone()
        }
    }

    /// Sends one event; false when the client is gone.
    async fn send(&self, kind: &str, object: Value) -> bool {
        let line = format!("{}\n", json!({"type": kind, "object": object}));
        self.tx.send(Ok(line.into())).await.is_ok()
    }

    fn wanted(&self, change: &Change) -> bool {
        let resource = store::key(self.target.kind.group, self.target.kind.resource);
        change.resource == resource
            && self
                .target
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == change.namespace)
            && self
                .query
                .labels
                .matches(&change.object["metadata"]["labels"])
            && self.query.fields.matches(&change.object)
    }

    async fn bookmark(&self, rv: u64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.target.kind.kind, "apiVersion": self.target.kind.api_version(), "metadata": meta});
        self.send("BOOKMARK", object).await
    }

    async fn run(
        self,
        since: Option<u64>,
        bookmarks: bool,
        initial_end: bool,
        timeout: Option<Duration>,
    ) {
        let mut live = self.app.store.subscribe();
        let mut last = 0;
        let replay: Result<Vec<(String, Value, u64)>, ApiError> = match since {
            None => {
                let scope = if self.target.kind.namespaced {
                    self.target.namespace.as_deref()
                } else {
                    None
                };
                self.app
                    .list(self.target.kind, scope, &self.query)
                    .map(|(objects, _, rv)| {
                        last = rv;
                        objects
                            .into_iter()
                            .map(|o| ("ADDED".to_string(), o, 0))
                            .collect()
                    })
            }
            Some(rv) => {
                last = rv;
                let resource = store::key(self.target.kind.group, self.target.kind.resource);
                match self.app.store.changes_since(&resource, rv) {
                    Ok(Ok(changes)) => Ok(changes
                        .into_iter()
                        .filter(|c| self.wanted(c))
                        .map(|c| (c.kind.to_string(), (*c.object).clone(), c.rv))
                        .collect()),
                    Ok(Err(())) => Err(ApiError::gone(format!("too old resource version: {rv}"))),
                    Err(e) => Err(e),
                }
            }
        };
        let replay = match replay {
            Ok(r) => r,
            Err(e) => {
                self.send("ERROR", e.to_status()).await;
                return;
            }
        };
        for (kind, object, rv) in replay {
            last = last.max(rv);
            let rendered = self.render(&object);
            if !self.send(&kind, rendered).await {
                return;
            }
        }
        if initial_end && !self.bookmark(last, true).await {
            return;
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
        ticker.tick().await;
        loop {
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                change = live.recv() => match change {
                    Ok(change) => {
                        if change.rv <= last || !self.wanted(&change) {
                            continue;
                        }
                        last = change.rv;
                        let rendered = self.render(&change.object);
                        if !self.send(change.kind, rendered).await {
                            return;
                        }
                    }
                    // Fell behind or the store is gone: the client re-lists and watches again.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if !self.bookmark(last, false).await {
                        return;
                    }
                }
                _ = self.tx.closed() => return,
                _ = until_deadline => return,
            }
        }
    }
}

pub fn stream(
    app: App,
    target: Target,
    query: HashMap<String, String>,
    as_table: bool,
) -> Response {
    let list = match list_query(&query) {
        Ok(q) => q,
        Err(e) => return error(&e),
    };
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(text) => match text.parse() {
            Ok(rv) => Some(rv),
            Err(_) => {
                return error(&ApiError::bad_request(format!(
                    "invalid resource version: {text}"
                )));
            }
        },
    };
    let send_initial = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let since = if send_initial { None } else { since };
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map(Duration::from_secs);
    let (tx, mut rx) = mpsc::channel(64);
    let watch = Watch {
        app,
        target,
        query: list,
        as_table,
        tx,
    };
    tokio::spawn(watch.run(since, bookmarks, send_initial, timeout));
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
