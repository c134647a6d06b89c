//! A project's containers as the engine knows them, found by Compose's labels.

use berth_engine::Engine;
use berth_engine::containers::ContainerRecord;
use berth_engine::filters::Filters;

use crate::error::Error;
use crate::labels;

/// The project's containers (`all`: stopped ones too), one-off `run` containers left out,
/// sorted by service then replica number.
pub fn project_containers(
    engine: &Engine,
    project: &str,
    all: bool,
) -> Result<Vec<ContainerRecord>, Error> {
    let filters = Filters::new().with("label", &format!("{}={project}", labels::PROJECT));
    let mut found: Vec<ContainerRecord> = engine
        .list_containers_filtered(all, &filters)?
        .into_iter()
        .filter(|c| label(c, labels::ONEOFF) != Some("True"))
        .collect();
    found.sort_by_key(|c| (service_of(c).to_string(), number_of(c)));
    Ok(found)
}

pub fn label<'a>(c: &'a ContainerRecord, key: &str) -> Option<&'a str> {
    c.config
        .config
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

pub fn service_of(c: &ContainerRecord) -> &str {
    label(c, labels::SERVICE).unwrap_or("")
}

pub fn number_of(c: &ContainerRecord) -> u32 {
    label(c, labels::NUMBER)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
