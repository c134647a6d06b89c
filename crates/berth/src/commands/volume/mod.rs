//! `berth volume create|ls|inspect|rm|prune`: one file per verb.

pub mod create;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

use super::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a volume
    Create(create::Args),
    /// List volumes
    #[command(alias = "list")]
    Ls(ls::Args),
    /// Display detailed information on one or more volumes
    Inspect(inspect::Args),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(rm::Args),
    /// Remove unused local volumes
    Prune(prune::Args),
}

pub fn run(engine: &berth_engine::Engine, command: Command) -> Result<i32, CliError> {
    match command {
        Command::Create(a) => create::run(engine, a),
        Command::Ls(a) => ls::run(engine, a),
        Command::Inspect(a) => inspect::run(engine, a),
        Command::Rm(a) => rm::run(engine, a),
        Command::Prune(a) => prune::run(engine, a),
    }
}

/// `K=V` options and labels into a map ("K" alone is K="").
pub fn key_values(
    items: &[String],
    flag: &str,
) -> Result<std::collections::BTreeMap<String, String>, CliError> {
    let mut map = std::collections::BTreeMap::new();
    for item in items {
        let (k, v) = item.split_once('=').unwrap_or((item.as_str(), ""));
        if k.is_empty() {
            return Err(CliError::usage(format!(
                "invalid argument {item:?} for \"{flag}\" flag: invalid key=value: {item}"
            )));
        }
        map.insert(k.to_string(), v.to_string());
    }
    Ok(map)
}
