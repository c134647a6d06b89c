//! JSON request bodies: the one extractor every handler that decodes a JSON body takes.
//!
//! It refuses, before reading a byte of it, a body whose `Content-Type` is not
//! `application/json`, as dockerd's `CheckForJSON` does and with its words. That is what keeps
//! a web page from creating containers: a browser sends `text/plain`, form or multipart bodies
//! across origins without asking (a CORS "simple request"), but never an `application/json`
//! one. A request without a body needs no Content-Type (the docker CLI sends none on a
//! bodyless POST), and an empty body decodes to the type's default.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::ApiError;

/// A request body that failed to become the value a handler asked for.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// dockerd's wording (moby `httputils.matchesContentType`), which clients may match on.
    #[error("unsupported Content-Type header ({content_type}): must be 'application/json'")]
    NotJson { content_type: String },
    /// A Content-Type that is not a media type at all (dockerd's wording; the reason is Go's
    /// `mime.ParseMediaType`'s, as dockerd passes it on).
    #[error("malformed Content-Type header ({content_type}): {reason}")]
    MalformedContentType {
        content_type: String,
        reason: &'static str,
    },
    /// Reading the body failed (over the size limit: 413).
    #[error("{0}")]
    Read(#[from] BytesRejection),
    #[error("invalid JSON in request body: {0}")]
    Json(#[from] serde_json::Error),
}

/// A body that could not be read keeps the reader's status (413 over the size limit); any
/// other is the client's mistake (400).
impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        let status = match &e {
            BodyError::Read(rejection) => rejection.status(),
            BodyError::NotJson { .. }
            | BodyError::MalformedContentType { .. }
            | BodyError::Json(_) => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

/// The decoded JSON body of a request; `T::default()` when the body is empty.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if let Err(refused) = check_json(request.headers()) {
            crate::body::drain(request.into_body()).await;
            return Err(refused.into());
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(BodyError::from)?;
        Ok(JsonBody(decode(&body)?))
    }
}

/// Decodes a JSON body; an empty (or all-blank) one is `T::default()`.
pub fn decode<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, BodyError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    Ok(serde_json::from_slice(body)?)
}

/// Whether the request says a body follows: a non-zero Content-Length, or any
/// Transfer-Encoding (a chunked body's length is unknown until read; dockerd counts it too).
fn has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes().iter().any(|b| *b != b'0'))
}

/// A request with a body must say it is `application/json` (parameters such as
/// `; charset=utf-8` allowed). One without a body passes whatever it says: old Go clients send
/// `text/plain` on every bodyless POST, and an empty body carries nothing to refuse.
pub fn check_json(headers: &HeaderMap) -> Result<(), BodyError> {
    if !has_body(headers) {
        return Ok(());
    }
    // The first one, as Go's Header.Get reads it.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    match media_type(&content_type) {
        Ok(media) if media == "application/json" => Ok(()),
        Ok(_) => Err(BodyError::NotJson { content_type }),
        Err(reason) => Err(BodyError::MalformedContentType {
            content_type,
            reason,
        }),
    }
}

/// RFC 2045 tspecials, which end a token.
fn is_token_byte(b: u8) -> bool {
    b > b' ' && b < 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// (the token at the start of `s`, the rest).
fn token(s: &str) -> (&str, &str) {
    let end = s.bytes().position(|b| !is_token_byte(b)).unwrap_or(s.len());
    s.split_at(end)
}

/// The lowercased media type of a Content-Type value, checked the way Go's
/// `mime.ParseMediaType` checks it (dockerd's parser), so the same values are malformed;
/// the error is Go's text.
fn media_type(value: &str) -> Result<String, &'static str> {
    let (base, mut params) = match value.find(';') {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    let media = base.trim().to_ascii_lowercase();
    let (kind, rest) = token(&media);
    if kind.is_empty() {
        return Err("mime: no media type");
    }
    if !rest.is_empty() {
        let Some(rest) = rest.strip_prefix('/') else {
            return Err("mime: expected slash after first token");
        };
        let (subtype, rest) = token(rest);
        if subtype.is_empty() {
            return Err("mime: expected token after slash");
        }
        if !rest.is_empty() {
            return Err("mime: unexpected content after media subtype");
        }
    }
    let mut seen = Vec::new();
    loop {
        params = params.trim_start();
        if params.is_empty() {
            break;
        }
        match parameter(params) {
            Some((name, rest)) => {
                if seen.contains(&name) {
                    return Err("mime: duplicate parameter name");
                }
                seen.push(name);
                params = rest;
            }
            // A trailing `;` is allowed.
            None if params.trim() == ";" => break,
            None => return Err("mime: invalid media parameter"),
        }
    }
    Ok(media)
}

/// `; name=value` (value a token or a quoted string) at the start of `s`: (lowercased name,
/// rest), or None when it is not one.
fn parameter(s: &str) -> Option<(String, &str)> {
    let rest = s.trim_start().strip_prefix(';')?.trim_start();
    let (name, rest) = token(rest);
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let rest = if let Some(quoted) = rest.strip_prefix('"') {
        let mut escaped = false;
        let end = quoted.char_indices().find_map(|(i, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes.then_some(i)
        })?;
        &quoted[end + 1..]
    } else {
        let (value, rest) = token(rest);
        if value.is_empty() {
            return None;
        }
        rest
    };
    Some((name.to_ascii_lowercase(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: Option<&str>, length: Option<&str>, chunked: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = content_type {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        if let Some(len) = length {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from_str(len).unwrap());
        }
        if chunked {
            h.insert(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            );
        }
        h
    }

    #[test]
    fn json_media_types_pass_with_or_without_parameters() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"utf-8\"",
            " application/json ;",
        ] {
            assert!(
                check_json(&headers(Some(ct), Some("2"), false)).is_ok(),
                "{ct}"
            );
            assert!(check_json(&headers(Some(ct), None, true)).is_ok(), "{ct}");
        }
    }

    #[test]
    fn other_media_types_with_a_body_get_dockerds_message() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "json",
        ] {
            let err = check_json(&headers(Some(ct), Some("12"), false)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("unsupported Content-Type header ({ct}): must be 'application/json'")
            );
        }
        let err = check_json(&headers(Some("text/plain"), None, true)).unwrap_err();
        assert!(matches!(err, BodyError::NotJson { .. }), "{err}");
    }

    #[test]
    fn a_body_without_a_media_type_or_with_a_broken_one_is_malformed() {
        for (ct, reason) in [
            (None, "mime: no media type"),
            (Some(""), "mime: no media type"),
            (Some("application/"), "mime: expected token after slash"),
            (
                Some("application json"),
                "mime: expected slash after first token",
            ),
            (
                Some("a/b/c"),
                "mime: unexpected content after media subtype",
            ),
            (
                Some("application/json; charset"),
                "mime: invalid media parameter",
            ),
            (
                Some("application/json;;a=b"),
                "mime: invalid media parameter",
            ),
            (
                Some("application/json; a=\"x"),
                "mime: invalid media parameter",
            ),
            (
                Some("application/json; a=1; A=2"),
                "mime: duplicate parameter name",
            ),
        ] {
            let err = check_json(&headers(ct, Some("5"), false)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "malformed Content-Type header ({}): {reason}",
                    ct.unwrap_or("")
                ),
            );
        }
    }

    #[test]
    fn requests_without_a_body_pass_whatever_they_say() {
        for ct in [None, Some("text/plain"), Some("application/json")] {
            assert!(check_json(&headers(ct, None, false)).is_ok());
            assert!(check_json(&headers(ct, Some("0"), false)).is_ok());
            assert!(check_json(&headers(ct, Some("00"), false)).is_ok());
        }
    }

    #[test]
    fn empty_bodies_decode_to_the_default() {
        let v: Option<serde_json::Value> = decode(b"  \n").unwrap();
        assert_eq!(v, None);
        let err = decode::<serde_json::Value>(b"{x").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid JSON in request body: ")
        );
    }
}
