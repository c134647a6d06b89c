//! `berth compose top [SERVICE...]`: the processes of each running container.

use super::{CliError, ProjectFlags, service_containers};

#[derive(clap::Args)]
pub struct Args {
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    for c in service_containers(&engine, &project, &args.services, false, false)? {
        let (titles, rows) = engine.top(&c.id, "")?;
        println!("{}", c.name);
        let mut widths: Vec<usize> = titles.iter().map(String::len).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.len());
                }
            }
        }
        let line = |cells: &[String]| {
            let text: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
                .collect();
            println!("{}", text.join("   ").trim_end());
        };
        line(&titles);
        for row in &rows {
            line(row);
        }
        println!();
    }
    Ok(0)
}
