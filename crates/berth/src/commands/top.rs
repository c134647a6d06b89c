//! `berth top CONTAINER [ps OPTIONS]`
use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let (titles, rows) = engine.top(&args.container, &args.ps_args.join(" "))?;
    let mut lines = vec![titles.join("\t")];
    lines.extend(rows.iter().map(|r| r.join("\t")));
    print!("{}", format::align_table(&lines));
    Ok(0)
}
