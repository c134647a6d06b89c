//! Registry credentials from clients: the `X-Registry-Auth` header on pull and push, and the
//! body of `POST /auth` (docker login, checked against the registry, stored by the client).

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use crate::engine;
use crate::error::{ApiError, ApiResult};

/// Docker's AuthConfig: what `X-Registry-Auth` and `POST /auth` carry. Every field may be
/// absent or `null` (bollard sends all of them, null when unset): both read as empty, as dockerd
/// reads them.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AuthConfig {
    #[serde(deserialize_with = "null_as_empty")]
    pub username: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub password: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub auth: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub serveraddress: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub identitytoken: String,
}

/// A string field that a client may send as `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl AuthConfig {
    /// (user, password) when the config names a user; an `auth` field ("user:password" in
    /// base64) counts too. Identity tokens are not issued by berth, so they give None.
    pub fn credentials(&self) -> Option<(String, String)> {
        if !self.username.is_empty() {
            return Some((self.username.clone(), self.password.clone()));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(self.auth.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        (!user.is_empty()).then(|| (user.to_string(), password.to_string()))
    }
}

/// Decodes an `X-Registry-Auth` value: base64url JSON (padded or not; standard base64 is
/// accepted too, as some clients send it). Empty or `{}` means none.
pub fn decode_header(value: &[u8]) -> Result<Option<AuthConfig>, String> {
    let value = value.trim_ascii();
    if value.is_empty() {
        return Ok(None);
    }
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = [URL_SAFE, URL_SAFE_NO_PAD, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(value).ok())
        .ok_or_else(|| "invalid X-Registry-Auth header: not base64".to_string())?;
    // A bare `null` is no credentials, as dockerd's decoder reads it.
    let config: Option<AuthConfig> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("invalid X-Registry-Auth header: {e}"))?;
    Ok(config)
}

/// The (user, password) of a request's `X-Registry-Auth`, if it gives any.
pub fn from_headers(headers: &HeaderMap) -> ApiResult<Option<(String, String)>> {
    let Some(value) = headers.get("X-Registry-Auth") else {
        return Ok(None);
    };
    let config = decode_header(value.as_bytes()).map_err(ApiError::bad_request)?;
    Ok(config.and_then(|c| c.credentials()))
}

/// `POST /auth`: docker login's check.
pub async fn login(body: Bytes) -> ApiResult<Response> {
    let config: AuthConfig = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid login request: {e}")))?;
    let (user, password) = config
        .credentials()
        .ok_or_else(|| ApiError::bad_request("login: a username is required"))?;
    let server = Some(config.serveraddress.clone()).filter(|s| !s.is_empty());
    let checked =
        engine::call(move |e| e.check_registry_login(server.as_deref(), &user, &password)).await?;
    match checked {
        Ok(_) => {
            Ok(Json(json!({"Status": "Login Succeeded", "IdentityToken": ""})).into_response())
        }
        Err(message) => Err(ApiError::new(StatusCode::UNAUTHORIZED, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_every_clients_encoding() {
        let json =
            br#"{"username":"alice","password":"s3cret?>","serveraddress":"localhost:5000"}"#;
        for engine in [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::STANDARD,
        ] {
            let config = decode_header(engine.encode(json).as_bytes())
                .unwrap()
                .unwrap();
            assert_eq!(
                config.credentials(),
                Some(("alice".into(), "s3cret?>".into()))
            );
        }
        let auth = base64::engine::general_purpose::STANDARD.encode("bob:pw");
        let header =
            base64::engine::general_purpose::URL_SAFE.encode(format!("{{\"auth\":\"{auth}\"}}"));
        assert_eq!(
            decode_header(header.as_bytes())
                .unwrap()
                .unwrap()
                .credentials(),
            Some(("bob".into(), "pw".into()))
        );
        assert_eq!(decode_header(b"").unwrap(), None);
        assert_eq!(decode_header(b"e30=").unwrap().unwrap().credentials(), None);
        assert!(decode_header(b"!!!").is_err());
        let bollard = base64::engine::general_purpose::URL_SAFE.encode(
            br#"{"username":null,"password":null,"auth":null,"email":null,"serveraddress":null,"identitytoken":null,"registrytoken":null}"#,
        );
        assert_eq!(
            decode_header(bollard.as_bytes()).unwrap(),
            Some(AuthConfig::default())
        );
        assert_eq!(decode_header(b"bnVsbA==").unwrap(), None);
    }
}
