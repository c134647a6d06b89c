//! `save` and `load`: images to and from docker-archive / OCI archives. The image store reads and
//! writes the archive (`berth_image::archive`); here names become tags and tags become names.

use std::io::{Read, Write};

use berth_image::archive::{SaveItem, SaveTag, read_archive, write_archive};

use crate::{Engine, Error, reference};

/// One image `load` added, with the names it now has (normalised, as `images` shows them).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: String,
    pub tags: Vec<String>,
}

/// "busybox:latest" -> "docker.io/library/busybox:latest"; names with a registry host are kept.
fn full_name(normalized: &str) -> String {
    let first = normalized.split('/').next().unwrap_or("");
    let has_host = normalized.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_host {
        normalized.to_string()
    } else if normalized.contains('/') {
        format!("docker.io/{normalized}")
    } else {
        format!("docker.io/library/{normalized}")
    }
}

impl Engine {
    /// `berth save`: writes the named images (names, ids or id prefixes) as one archive.
    pub fn save_images(&self, names: &[String], out: impl Write) -> Result<(), Error> {
        let mut items: Vec<SaveItem> = Vec::new();
        for name in names {
            let id = self.resolve_image(name)?;
            // Saved by a tag: that name goes along; saved by id: no name, as Docker does.
            let tag = reference::normalize(name)
                .ok()
                .filter(|n| !n.contains('@'))
                .filter(|n| self.db.tag(n).ok().flatten().as_deref() == Some(id.as_str()));
            let idx = match items.iter().position(|i| i.id == id) {
                Some(i) => i,
                None => {
                    items.push(SaveItem {
                        id: id.clone(),
                        tags: Vec::new(),
                    });
                    items.len() - 1
                }
            };
            if let Some(tag) = tag
                && !items[idx].tags.iter().any(|t| t.repo_tag == tag)
            {
                items[idx].tags.push(SaveTag {
                    full_name: full_name(&tag),
                    repo_tag: tag,
                });
            }
        }
        write_archive(&self.images, &items, out)?;
        Ok(())
    }

    /// `berth load`: reads an archive into the store and tags its images. Nothing is tagged
    /// unless the whole archive was valid.
    pub fn load_images(&self, input: impl Read) -> Result<Vec<Loaded>, Error> {
        let found = read_archive(&self.images, input)?;
        let mut out = Vec::new();
        for image in &found {
            let mut tags = Vec::new();
            for t in &image.tags {
                let n = reference::normalize(t).map_err(|e| {
                    Error::InvalidArgument(format!(
                        "invalid image archive: image {}: name {t:?}: {e}",
                        image.id
                    ))
                })?;
                if !n.contains('@') && !tags.contains(&n) {
                    tags.push(n);
                }
            }
            out.push(Loaded {
                id: image.id.clone(),
                tags,
            });
        }
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        for l in &out {
            self.db.add_image(&l.id, &created, &l.tags)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::full_name;

    #[test]
    fn full_names_like_containerd() {
        assert_eq!(
            full_name("busybox:latest"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full_name("me/app:1"), "docker.io/me/app:1");
        assert_eq!(full_name("localhost:5000/a/b:t"), "localhost:5000/a/b:t");
        assert_eq!(full_name("quay.io/x/y:z"), "quay.io/x/y:z");
    }
}
