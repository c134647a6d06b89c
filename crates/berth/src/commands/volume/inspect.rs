//! `berth volume inspect [-f T] VOLUME...`
use crate::commands::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let mut docs = Vec::new();
    let mut failed = false;
    for name in &args.names {
        match engine.inspect_volume(name) {
            Ok(doc) => docs.push(berth_model::inspect::to_document(&doc)),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    format::print_documents(&docs, args.format.as_deref())?;
    Ok(if failed { 1 } else { 0 })
}
