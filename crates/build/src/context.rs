//! The build context: every file under the context directory that `.dockerignore` keeps, with
//! its metadata and a content digest (computed once per build), so the cache can tell whether
//! the files a COPY/ADD reads changed without copying anything.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ignore::{Ignore, clean};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

/// One kept entry of the context.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub mode: u32,
    pub size: u64,
    /// sha256 hex of a file's content, a symlink's target; empty for directories.
    pub digest: String,
}

/// The kept files of a context directory, by `/`-separated relative path ("" is the root).
#[derive(Debug)]
pub struct Context {
    root: PathBuf,
    pub entries: BTreeMap<String, Entry>,
}

impl Context {
    /// Lists and digests the context under `root`, leaving out what `ignore` excludes.
    pub fn scan(root: &Path, ignore: &Ignore) -> std::io::Result<Context> {
        Context::scan_with(root, ignore, &mut DigestCache::default())
    }

    /// [`Context::scan`], reusing the digests in `cache` of files whose stat (inode, size,
    /// mtime, ctime) did not change, and recording the new ones there.
    pub fn scan_with(
        root: &Path,
        ignore: &Ignore,
        cache: &mut DigestCache,
    ) -> std::io::Result<Context> {
        let mut entries = BTreeMap::new();
        let meta = std::fs::metadata(root)?;
        entries.insert(
            String::new(),
            Entry {
                kind: Kind::Dir,
                mode: meta.mode(),
                size: 0,
                digest: String::new(),
            },
        );
        let mut fresh = DigestCache::default();
        walk(root, root, "", ignore, &mut entries, cache, &mut fresh)?;
        *cache = fresh;
        Ok(Context {
            root: root.to_path_buf(),
            entries,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Paths (relative) matching a COPY/ADD source: a literal path, or a glob whose `*`, `?`
    /// and `[...]` stay within one path segment.
    pub fn matching(&self, source: &str) -> Vec<String> {
        let cleaned = clean(source);
        if !source.contains(['*', '?', '[']) {
            return self
                .entries
                .contains_key(&cleaned)
                .then_some(cleaned)
                .into_iter()
                .collect();
        }
        let pattern: Vec<char> = cleaned.chars().collect();
        self.entries
            .keys()
            .filter(|k| !k.is_empty() && crate::ignore::glob_path(&pattern, k))
            .cloned()
            .collect()
    }

    /// A digest of `rel` and, for a directory, everything under it: names, kinds, modes and
    /// contents. Two equal digests mean a COPY of `rel` produces the same files.
    pub fn digest_of(&self, rel: &str) -> Option<String> {
        let top = self.entries.get(rel)?;
        let mut hasher = Sha256::new();
        let mut add = |path: &str, e: &Entry| {
            hasher.update(format!("{path}\0{:?}\0{:o}\0{}\n", e.kind, e.mode, e.digest).as_bytes());
        };
        add("", top);
        if top.kind == Kind::Dir {
            let prefix = if rel.is_empty() {
                String::new()
            } else {
                format!("{rel}/")
            };
            for (path, e) in self.entries.range(prefix.clone()..) {
                if !path.starts_with(&prefix) {
                    break;
                }
                if !path.is_empty() {
                    add(&path[prefix.len()..], e);
                }
            }
        }
        Some(hex::encode(hasher.finalize()))
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    rel: &str,
    ignore: &Ignore,
    out: &mut BTreeMap<String, Entry>,
    cache: &DigestCache,
    fresh: &mut DigestCache,
) -> std::io::Result<()> {
    for dirent in std::fs::read_dir(dir)? {
        let dirent = dirent?;
        let name = dirent.file_name();
        let name = name.to_string_lossy();
        let path_rel = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let path = dirent.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let excluded = ignore.excludes(&path_rel);
        if meta.is_dir() {
            // An excluded directory may still hold files a `!` exception brings back.
            if excluded && !ignore.has_exceptions() {
                continue;
            }
            if !excluded {
                out.insert(
                    path_rel.clone(),
                    Entry {
                        kind: Kind::Dir,
                        mode: meta.mode(),
                        size: 0,
                        digest: String::new(),
                    },
                );
            }
            walk(root, &path, &path_rel, ignore, out, cache, fresh)?;
            continue;
        }
        if excluded {
            continue;
        }
        let (kind, digest) = if meta.file_type().is_symlink() {
            (
                Kind::Symlink,
                std::fs::read_link(&path)?.to_string_lossy().into_owned(),
            )
        } else if meta.is_file() {
            {
                let stat = StatKey::of(&meta);
                let digest = match cache.files.get(&path_rel) {
                    Some((known, digest)) if *known == stat => digest.clone(),
                    _ => file_digest(&path)?,
                };
                fresh.files.insert(path_rel.clone(), (stat, digest.clone()));
                (Kind::File, digest)
            }
        } else {
            continue; // sockets, fifos, devices are not part of a context
        };
        // Parents of a file kept by an exception are part of the context too.
        let mut parent = rel.to_string();
        while !parent.is_empty() && !out.contains_key(&parent) {
            let m = std::fs::metadata(root.join(&parent))?;
            out.insert(
                parent.clone(),
                Entry {
                    kind: Kind::Dir,
                    mode: m.mode(),
                    size: 0,
                    digest: String::new(),
                },
            );
            parent = parent
                .rsplit_once('/')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
        }
        out.insert(
            path_rel,
            Entry {
                kind,
                mode: meta.mode(),
                size: meta.len(),
                digest,
            },
        );
    }
    Ok(())
}

/// What must be unchanged for a file's recorded digest to still hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatKey([i64; 6]);

impl StatKey {
    fn of(meta: &std::fs::Metadata) -> StatKey {
        StatKey([
            meta.ino() as i64,
            meta.size() as i64,
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
        ])
    }
}

/// File digests from an earlier scan of the same context, by relative path, with the stat
/// they were computed for. Saved between builds as text: one `STAT... DIGEST PATH` per line.
#[derive(Debug, Default, Clone)]
pub struct DigestCache {
    files: std::collections::HashMap<String, (StatKey, String)>,
}

impl DigestCache {
    pub fn parse(text: &str) -> DigestCache {
        let mut files = std::collections::HashMap::new();
        for line in text.lines() {
            let mut parts = line.splitn(8, ' ');
            let nums: Option<Vec<i64>> = (0..6)
                .map(|_| parts.next().and_then(|n| n.parse().ok()))
                .collect();
            let (Some(nums), Some(digest), Some(path)) = (nums, parts.next(), parts.next()) else {
                continue;
            };
            let stat = StatKey([nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]]);
            files.insert(path.to_string(), (stat, digest.to_string()));
        }
        DigestCache { files }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (path, (stat, digest)) in &self.files {
            if path.contains('\n') {
                continue;
            }
            let s = stat.0;
            out.push_str(&format!(
                "{} {} {} {} {} {} {digest} {path}\n",
                s[0], s[1], s[2], s[3], s[4], s[5]
            ));
        }
        out
    }
}

fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_ignores_and_digests() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/sub")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join("src/a.rs"), "a").unwrap();
        std::fs::write(root.join("src/sub/b.rs"), "b").unwrap();
        std::fs::write(root.join("target/out"), "o").unwrap();
        std::fs::write(root.join("target/keep"), "k").unwrap();
        std::fs::write(root.join("x.log"), "l").unwrap();
        let ig = Ignore::parse("target\n*.log\n!target/keep\n");
        let ctx = Context::scan(root, &ig).unwrap();
        let keys: Vec<&str> = ctx.entries.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "",
                "src",
                "src/a.rs",
                "src/sub",
                "src/sub/b.rs",
                "target",
                "target/keep"
            ]
        );
        assert_eq!(ctx.matching("src/*.rs"), vec!["src/a.rs"]);
        assert_eq!(ctx.matching("./src"), vec!["src"]);
        assert!(ctx.matching("nope").is_empty());
        let mut cache = DigestCache::default();
        Context::scan_with(root, &ig, &mut cache).unwrap();
        let saved = DigestCache::parse(&cache.to_text());
        assert_eq!(saved.files.len(), 3);
        let before = ctx.digest_of("src").unwrap();
        std::fs::write(root.join("src/sub/b.rs"), "changed").unwrap();
        let after = Context::scan(root, &ig).unwrap().digest_of("src").unwrap();
        assert_ne!(before, after);
        // A changed file is re-hashed even with a saved digest.
        let mut saved = saved;
        let cached = Context::scan_with(root, &ig, &mut saved)
            .unwrap()
            .digest_of("src")
            .unwrap();
        assert_eq!(cached, after);
        assert_eq!(
            ctx.digest_of("src/a.rs"),
            Context::scan(root, &ig).unwrap().digest_of("src/a.rs")
        );
    }
}
