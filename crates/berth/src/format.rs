//! The CLI's printing of Docker output: `inspect`-style documents (indented JSON or a
//! `--format` template). The template engine, table alignment and Go number printing live in
//! the model ([`berth_model::template`], [`berth_model::humanize`]); they are re-exported here
//! for the commands.

pub use berth_model::humanize::{human_duration, human_size};
pub use berth_model::reference::repository_tag_rows;
pub use berth_model::template::{FormatError, align_table, render};

/// Prints `inspect`-style documents: through `template` when given, else as Docker's indented
/// JSON array.
pub fn print_documents(
    docs: &[serde_json::Value],
    template: Option<&str>,
) -> Result<(), FormatError> {
    match template {
        Some(template) => print!("{}", render(template, docs, &[])?),
        None => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(&docs, &mut ser).map_err(|e| FormatError(e.to_string()))?;
            println!("{}", String::from_utf8_lossy(&out));
        }
    }
    Ok(())
}

/// Docker's `formatter.Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #[test]
    fn ellipsis_cuts_like_docker() {
        assert_eq!(super::ellipsis("short", 45), "short");
        let long = "x".repeat(50);
        let cut = super::ellipsis(&long, 45);
        assert_eq!(cut.chars().count(), 45);
        assert!(cut.ends_with('…'));
    }
}
