//! The `tag` log option: a Go template over the container's identity (`{{.ID}}`,
//! `{{.FullID}}`, `{{.Name}}`, `{{.ImageID}}`, `{{.ImageFullID}}`, `{{.ImageName}}`,
//! `{{.DaemonName}}`), Docker's default being `{{.ID}}` (the short id).

use crate::Error;

/// Who is logging: what a tag template can name.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub id: String,
    pub name: String,
    /// `sha256:...`
    pub image_id: String,
    pub image_name: String,
}

pub const DEFAULT_TAG: &str = "{{.ID}}";

impl Source {
    /// Renders `template` (Docker's `tag` option) for this container.
    pub fn tag(&self, template: Option<&str>) -> Result<String, Error> {
        let template = template.filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TAG);
        let short = |s: &str| s.chars().take(12).collect::<String>();
        let image_hex = self.image_id.trim_start_matches("sha256:");
        let doc = serde_json::json!({
            "ID": short(&self.id),
            "FullID": self.id,
            "Name": self.name.trim_start_matches('/'),
            "ImageID": short(image_hex),
            "ImageFullID": self.image_id,
            "ImageName": self.image_name,
            "DaemonName": "berth",
        });
        let rendered = berth_model::template::render(template, &[doc], &[])
            .map_err(|e| Error::InvalidArgument(format!("invalid tag template: {}", e.0)))?;
        Ok(rendered.strip_suffix('\n').unwrap_or(&rendered).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tag_is_the_short_id_and_templates_see_the_identity() {
        let source = Source {
            id: "0123456789abcdef0123".into(),
            name: "/web".into(),
            image_id: "sha256:fedcba9876543210".into(),
            image_name: "bb:latest".into(),
        };
        assert_eq!(source.tag(None).unwrap(), "0123456789ab");
        assert_eq!(
            source
                .tag(Some(
                    "{{.Name}}/{{.ImageName}}/{{.ImageID}}/{{.DaemonName}}"
                ))
                .unwrap(),
            "web/bb:latest/fedcba987654/berth"
        );
    }
}
