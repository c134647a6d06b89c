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
