//! `berth inspect [-f T] [--type container|image] NAME...`
use berth_model::inspect::to_document;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    /// Return JSON for specified type
    #[arg(long = "type")]
    kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    size: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(
    engine: &berth_engine::Engine,
    args: Args,
    forced_kind: Option<&str>,
) -> Result<i32, CliError> {
    let kind = forced_kind.map(str::to_string).or(args.kind.clone());
    let mut docs = Vec::new();
    let mut failed = false;
    for name in &args.names {
        let found = match kind.as_deref() {
            Some("image") => engine.inspect_image(name).map(|d| to_document(&d)),
            Some("container") => engine.inspect_container(name).map(|d| to_document(&d)),
            Some("volume") => engine.inspect_volume(name).map(|d| to_document(&d)),
            Some(other) => {
                return Err(CliError::usage(format!(
                    "\"{other}\" is not a valid value for --type"
                )));
            }
            None => engine
                .inspect_container(name)
                .map(|d| to_document(&d))
                .or_else(|_| engine.inspect_image(name).map(|d| to_document(&d)))
                .or_else(|_| engine.inspect_volume(name).map(|d| to_document(&d)))
                .map_err(|_| berth_engine::Error::NotFound(format!("No such object: {name}"))),
        };
        match found {
            Ok(doc) => docs.push(doc),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    format::print_documents(&docs, args.format.as_deref())?;
    Ok(if failed { 1 } else { 0 })
}
