//! `RUN --mount=...` options, with BuildKit's keys and defaults (the Dockerfile reference's
//! "RUN --mount"): the value is a CSV list of `key=value` fields (or bare boolean keys like
//! `ro`), checked here so that a bad type or option fails at parse time, naming itself.
//! The executor expands variables in the raw text first and parses it again.

/// What a mount gives the RUN step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// Files of the context, a stage or an image (read-only unless `rw`: then a throwaway).
    Bind,
    /// A directory kept between builds, out of the image and of the cache key.
    Cache,
    Tmpfs,
    /// A build secret as a file (or an environment variable).
    Secret,
    /// An SSH agent socket forwarded from the client.
    Ssh,
}

impl MountType {
    pub fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// Every user at once.
    #[default]
    Shared,
    /// A user that finds it in use gets a fresh instance.
    Private,
    /// Users wait for each other.
    Locked,
}

impl Sharing {
    pub fn name(self) -> &'static str {
        match self {
            Sharing::Shared => "shared",
            Sharing::Private => "private",
            Sharing::Locked => "locked",
        }
    }
}

/// One `--mount`, parsed. Unset fields take BuildKit's defaults through the accessors.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMount {
    pub kind: MountType,
    pub target: Option<String>,
    pub source: Option<String>,
    /// A stage name or index, or an image (bind and cache).
    pub from: Option<String>,
    /// `ro`/`rw` as written (None: the type's default).
    pub readonly: Option<bool>,
    pub id: Option<String>,
    pub sharing: Sharing,
    /// The mode of a cache's root directory or a secret's file (octal as written).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// tmpfs size in bytes.
    pub size: Option<u64>,
    pub required: Option<bool>,
    /// secret: the environment variable the secret is exposed as.
    pub env: Option<String>,
}

impl RunMount {
    /// Read-only unless asked: bind mounts are read-only by default, others writable.
    pub fn is_readonly(&self) -> bool {
        self.readonly.unwrap_or(self.kind == MountType::Bind)
    }

    /// A cache mount's id: `id=`, else its target (BuildKit's default).
    pub fn cache_id(&self) -> String {
        self.id
            .clone()
            .or_else(|| self.target.clone())
            .unwrap_or_default()
    }

    /// A secret's id: `id=`, else the base name of its target.
    pub fn secret_id(&self) -> Option<String> {
        self.id.clone().or_else(|| {
            self.target
                .as_deref()
                .and_then(|t| t.rsplit('/').next())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    }

    /// An ssh mount's id (`default` unless named).
    pub fn ssh_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| "default".into())
    }

    /// Whether a missing secret or ssh agent fails the step (ssh: no by default; secret: no).
    pub fn is_required(&self) -> bool {
        self.required.unwrap_or(false)
    }
}

/// Parses one `--mount` value.
pub fn parse_mount(raw: &str) -> Result<RunMount, String> {
    let fields = split_csv(raw)?;
    let mut kind = MountType::Bind;
    let mut mount = RunMount {
        kind,
        target: None,
        source: None,
        from: None,
        readonly: None,
        id: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: None,
        env: None,
    };
    // The type decides which keys are allowed: read it first wherever it is.
    for field in &fields {
        if let Some(("type", value)) = field.split_once('=').map(|(k, v)| (k.trim(), v)) {
            kind = match value.to_ascii_lowercase().as_str() {
                "bind" => MountType::Bind,
                "cache" => MountType::Cache,
                "tmpfs" => MountType::Tmpfs,
                "secret" => MountType::Secret,
                "ssh" => MountType::Ssh,
                other => return Err(format!("unsupported mount type {other:?}")),
            };
        }
    }
    mount.kind = kind;
    for field in &fields {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.to_string())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need = |v: &Option<String>| {
            v.clone()
                .ok_or_else(|| format!("invalid mount option {key:?}: expected {key}=VALUE"))
        };
        let allowed: &[&str] = match kind {
            MountType::Bind => &["target", "source", "from", "readonly", "readwrite"],
            MountType::Cache => &[
                "target",
                "source",
                "from",
                "readonly",
                "readwrite",
                "id",
                "sharing",
                "mode",
                "uid",
                "gid",
            ],
            MountType::Tmpfs => &["target", "size"],
            MountType::Secret => &["target", "id", "required", "mode", "uid", "gid", "env"],
            MountType::Ssh => &["target", "id", "required", "mode", "uid", "gid"],
        };
        let canonical = match key.as_str() {
            "type" => continue,
            "target" | "dst" | "destination" => "target",
            "source" | "src" => "source",
            "readonly" | "ro" => "readonly",
            "readwrite" | "rw" => "readwrite",
            other => other,
        };
        if !allowed.contains(&canonical) {
            return Err(format!(
                "unknown mount option {key:?} for type={}",
                kind.name()
            ));
        }
        match canonical {
            "target" => mount.target = Some(need(&value)?),
            "source" => mount.source = Some(need(&value)?),
            "from" => mount.from = Some(need(&value)?),
            "readonly" => mount.readonly = Some(boolean(&key, value.as_deref())?),
            "readwrite" => mount.readonly = Some(!boolean(&key, value.as_deref())?),
            "id" => mount.id = Some(need(&value)?),
            "sharing" => {
                mount.sharing = match need(&value)?.as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    other => {
                        return Err(format!(
                            "invalid mount option sharing={other}: expected shared, private or locked"
                        ));
                    }
                }
            }
            "mode" => {
                let v = need(&value)?;
                mount.mode = Some(u32::from_str_radix(&v, 8).map_err(|_| {
                    format!("invalid mount option mode={v}: expected an octal mode")
                })?)
            }
            "uid" | "gid" => {
                let v = need(&value)?;
                let n: u32 = v
                    .parse()
                    .map_err(|_| format!("invalid mount option {key}={v}: expected a number"))?;
                if canonical == "uid" {
                    mount.uid = Some(n);
                } else {
                    mount.gid = Some(n);
                }
            }
            "size" => {
                let v = need(&value)?;
                mount.size =
                    Some(parse_size(&v).ok_or_else(|| {
                        format!("invalid mount option size={v}: expected a size")
                    })?);
            }
            "required" => mount.required = Some(boolean(&key, value.as_deref())?),
            "env" => mount.env = Some(need(&value)?),
            _ => unreachable!("every allowed key is handled"),
        }
    }
    let needs_target = matches!(kind, MountType::Bind | MountType::Cache | MountType::Tmpfs);
    if needs_target && mount.target.is_none() {
        return Err(format!("mount type={} requires a target", kind.name()));
    }
    if kind == MountType::Secret && mount.secret_id().is_none() {
        return Err("mount type=secret requires an id or a target".into());
    }
    Ok(mount)
}

fn boolean(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(format!(
            "invalid mount option {key}={other}: expected true or false"
        )),
    }
}

/// `64m`, `1g`, `100k`, `4096`, `1.5g`: bytes (binary units, as Docker's RAMInBytes).
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    Some((n * factor as f64) as u64)
}

/// Splits a CSV record: commas separate, double quotes group (`""` is a quote), as Go's
/// encoding/csv reads BuildKit's mount values.
fn split_csv(raw: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    if quoted {
        return Err(format!("unterminated quote in --mount={raw}"));
    }
    fields.push(field);
    Ok(fields
        .into_iter()
        .filter(|f| !f.trim().is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_defaults_and_options() {
        let m = parse_mount("type=cache,target=/root/.cache").unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.cache_id(), "/root/.cache");
        assert!(!m.is_readonly());
        assert_eq!(m.sharing, Sharing::Shared);
        let m =
            parse_mount("type=cache,id=pip,dst=/c,sharing=locked,mode=0755,uid=1,gid=2").unwrap();
        assert_eq!(
            (m.cache_id(), m.sharing, m.mode, m.uid, m.gid),
            ("pip".into(), Sharing::Locked, Some(0o755), Some(1), Some(2))
        );
    }

    #[test]
    fn bind_secret_ssh_tmpfs() {
        let m = parse_mount("target=/src,from=build,source=/out,rw").unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert!(!m.is_readonly());
        assert_eq!(m.from.as_deref(), Some("build"));
        assert!(parse_mount("type=bind,target=/src").unwrap().is_readonly());
        let m = parse_mount("type=secret,id=tok,env=TOKEN,required").unwrap();
        assert_eq!(
            (m.secret_id().as_deref(), m.env.as_deref(), m.is_required()),
            (Some("tok"), Some("TOKEN"), true)
        );
        assert_eq!(
            parse_mount("type=secret,target=/run/secrets/aws")
                .unwrap()
                .secret_id()
                .as_deref(),
            Some("aws")
        );
        assert_eq!(parse_mount("type=ssh").unwrap().ssh_id(), "default");
        assert_eq!(
            parse_mount("type=tmpfs,target=/t,size=64m").unwrap().size,
            Some(64 << 20)
        );
        assert_eq!(
            parse_mount("\"type=bind\",\"target=/a,b\"")
                .unwrap()
                .target
                .as_deref(),
            Some("/a,b")
        );
    }

    #[test]
    fn bad_options_name_themselves() {
        let e = parse_mount("type=volume,target=/x").unwrap_err();
        assert!(e.contains("\"volume\""), "{e}");
        let e = parse_mount("type=cache,target=/x,colour=red").unwrap_err();
        assert!(e.contains("\"colour\""), "{e}");
        let e = parse_mount("type=tmpfs,target=/x,id=a").unwrap_err();
        assert!(e.contains("\"id\"") && e.contains("tmpfs"), "{e}");
        let e = parse_mount("type=cache,target=/x,sharing=sometimes").unwrap_err();
        assert!(e.contains("sharing=sometimes"), "{e}");
        let e = parse_mount("type=cache").unwrap_err();
        assert!(e.contains("target"), "{e}");
        assert!(parse_mount("type=cache,target=/x,mode=9").is_err());
    }
}
