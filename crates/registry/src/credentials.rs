//! Credentials kept as Docker keeps them: `{"auths": {"<host>": {"auth": base64("user:pass")}}}` in
//! `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. Other keys in the file are kept.
//! Written atomically (temp file, fsync, rename) with mode 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Error, Result, normalize_registry};

/// Docker Hub's key in config.json.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

pub fn config_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("config.json");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker").join("config.json")
}

fn key_for(registry: &str) -> String {
    let r = normalize_registry(registry);
    if r == "docker.io" {
        DOCKER_HUB_KEY.to_string()
    } else {
        r
    }
}

fn load() -> Result<Value> {
    let path = config_path();
    match std::fs::read(&path) {
        Ok(data) if data.iter().all(u8::is_ascii_whitespace) => Ok(json!({})),
        Ok(data) => serde_json::from_slice(&data)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

fn save(config: &Value) -> Result<()> {
    let path = config_path();
    let dir = path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let io = |what: &str, e: std::io::Error| Error::io(format!("{what} {}", path.display()), e);
    std::fs::create_dir_all(&dir).map_err(|e| io("creating the directory of", e))?;
    let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut data = serde_json::to_vec_pretty(config).map_err(std::io::Error::other)?;
        data.push(b'\n');
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io("writing", e))
}

/// (user, password) stored for `registry`, if any.
pub fn get(registry: &str) -> Result<Option<(String, String)>> {
    let config = load()?;
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let wanted = normalize_registry(registry);
    let entry = auths
        .iter()
        .find(|(k, _)| normalize_registry(k) == wanted)
        .map(|(_, v)| v);
    let Some(entry) = entry else { return Ok(None) };
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| {
                Error::io(
                    format!(
                        "bad auth entry for {registry} in {}",
                        config_path().display()
                    ),
                    e,
                )
            })?;
        let text = String::from_utf8_lossy(&decoded).into_owned();
        let (user, pass) = text.split_once(':').unwrap_or((text.as_str(), ""));
        return Ok(Some((user.to_string(), pass.to_string())));
    }
    let user = entry.get("username").and_then(Value::as_str);
    let pass = entry.get("password").and_then(Value::as_str);
    Ok(user.zip(pass).map(|(u, p)| (u.to_string(), p.to_string())))
}

/// Stores credentials for `registry`.
pub fn store(registry: &str, user: &str, password: &str) -> Result<()> {
    let mut config = load()?;
    if !config.is_object() {
        config = json!({});
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let key = key_for(registry);
    let wanted = normalize_registry(registry);
    let obj = config.as_object_mut().expect("checked above");
    let auths = obj.entry("auths").or_insert_with(|| json!({}));
    if !auths.is_object() {
        *auths = json!({});
    }
    let auths = auths.as_object_mut().expect("checked above");
    auths.retain(|k, _| normalize_registry(k) != wanted);
    auths.insert(key, json!({ "auth": auth }));
    save(&config)
}

/// Removes the credentials for `registry`; false when there were none.
pub fn remove(registry: &str) -> Result<bool> {
    let mut config = load()?;
    let wanted = normalize_registry(registry);
    let Some(auths) = config.get_mut("auths").and_then(Value::as_object_mut) else {
        return Ok(false);
    };
    let before = auths.len();
    auths.retain(|k, _| normalize_registry(k) != wanted);
    if auths.len() == before {
        return Ok(false);
    }
    save(&config)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_get_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: this is the only test in this crate that touches the environment.
        unsafe { std::env::set_var("DOCKER_CONFIG", dir.path()) };
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"credsStore":"","other":1}"#,
        )
        .unwrap();
        store("127.0.0.1:5000", "u", "p:w").unwrap();
        store("docker.io", "hub", "x").unwrap();
        assert_eq!(
            get("127.0.0.1:5000").unwrap(),
            Some(("u".into(), "p:w".into()))
        );
        assert_eq!(
            get("index.docker.io").unwrap(),
            Some(("hub".into(), "x".into()))
        );
        let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["other"], 1);
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "dTpwOnc=");
        assert!(v["auths"][DOCKER_HUB_KEY].is_object());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(remove("127.0.0.1:5000").unwrap());
        assert!(!remove("127.0.0.1:5000").unwrap());
        assert_eq!(get("127.0.0.1:5000").unwrap(), None);
    }
}
