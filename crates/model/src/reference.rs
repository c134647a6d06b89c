//! Image references as Docker users type them: `busybox`, `busybox:1.36`, `localhost:5000/a/b:t`,
//! `name@sha256:...`. Stored in the database normalised to `name:tag`.

/// A reference Docker would refuse, worded as Docker's daemon words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: empty image name")]
    Empty,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    NotLowercase(String),
}

/// `busybox` -> `busybox:latest`; a reference with a tag or digest is kept. Docker's implicit
/// `docker.io/library/` prefix is dropped so that `docker.io/library/busybox` and `busybox` agree.
pub fn normalize(reference: &str) -> Result<String, ReferenceError> {
    let trimmed = reference.trim();
    if trimmed.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let mut name = trimmed;
    for prefix in [
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
        "index.docker.io/",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
            break;
        }
    }
    let valid = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:@".contains(c))
        && !name.starts_with(['/', ':', '.', '-'])
        && !name.ends_with([':', '/']);
    if !valid {
        return Err(ReferenceError::NotLowercase(trimmed.to_string()));
    }
    if name.contains('@') {
        return Ok(name.to_string());
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        Ok(name.to_string())
    } else {
        Ok(format!("{name}:latest"))
    }
}

/// Splits `name:tag` into (repository, tag).
pub fn split(normalized: &str) -> (&str, &str) {
    if let Some((repo, digest)) = normalized.split_once('@') {
        return (repo, digest);
    }
    match normalized.rfind(':') {
        Some(i) if !normalized[i..].contains('/') => (&normalized[..i], &normalized[i + 1..]),
        _ => (normalized, "latest"),
    }
}

/// An image's (REPOSITORY, TAG) rows as `images` lists them: one per tag, `<none>` without.
pub fn repository_tag_rows(repo_tags: &[String]) -> Vec<(String, String)> {
    if repo_tags.is_empty() {
        return vec![("<none>".into(), "<none>".into())];
    }
    repo_tags
        .iter()
        .map(|t| {
            let (repository, tag) = split(t);
            (repository.to_string(), tag.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(normalize("busybox").unwrap(), "busybox:latest");
        assert_eq!(
            normalize("docker.io/library/busybox:1.36").unwrap(),
            "busybox:1.36"
        );
        assert_eq!(
            normalize("localhost:5000/a/b").unwrap(),
            "localhost:5000/a/b:latest"
        );
        assert_eq!(split("localhost:5000/a/b:t"), ("localhost:5000/a/b", "t"));
        assert!(normalize("BusyBox").is_err());
        assert_eq!(normalize(""), Err(ReferenceError::Empty));
        assert_eq!(
            normalize("BusyBox").unwrap_err().to_string(),
            "invalid reference format: repository name (BusyBox) must be lowercase"
        );
    }
}
