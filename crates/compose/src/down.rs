//! `down`: stop and remove the project's containers (dependents first), then its networks;
//! with `volumes`, its named volumes and the containers' anonymous ones too.

use berth_engine::Engine;
use berth_engine::containers::ContainerRecord;

use crate::containers::{project_containers, service_of};
use crate::error::Error;
use crate::loader::start_order;
use crate::model::Project;
use crate::up::Progress;

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub remove_orphans: bool,
    pub timeout: Option<i64>,
}

pub fn down(
    engine: &Engine,
    project: &Project,
    opts: &DownOptions,
    progress: Progress,
) -> Result<(), Error> {
    let containers = project_containers(engine, &project.name, true)?;
    let order = start_order(project);
    let rank = |c: &ContainerRecord| order.iter().position(|s| s == service_of(c));
    let mut mine: Vec<&ContainerRecord> = containers
        .iter()
        .filter(|c| {
            opts.remove_orphans || rank(c).is_some() || project.disabled.contains_key(service_of(c))
        })
        .collect();
    // Dependents before what they depend on (orphans first of all).
    mine.sort_by_key(|c| std::cmp::Reverse(rank(c).map(|r| r as i64).unwrap_or(i64::MAX)));
    stop_all(engine, &mine, opts.timeout, progress)?;
    for c in &mine {
        progress("Container", &c.name, "Removing");
        engine.remove_container_and_volumes(&c.id, true, opts.volumes)?;
        progress("Container", &c.name, "Removed");
    }
    for net in project.networks.values() {
        if net.external || engine.network(&net.name).is_err() {
            continue;
        }
        progress("Network", &net.name, "Removing");
        engine.remove_network(&net.name)?;
        progress("Network", &net.name, "Removed");
    }
    if opts.volumes {
        for vol in project.volumes.values() {
            if vol.external || engine.volume(&vol.name).is_err() {
                continue;
            }
            progress("Volume", &vol.name, "Removing");
            engine.remove_volume(&vol.name, false)?;
            progress("Volume", &vol.name, "Removed");
        }
    }
    Ok(())
}

/// Stops containers in the given order.
pub fn stop_all(
    engine: &Engine,
    containers: &[&ContainerRecord],
    timeout: Option<i64>,
    progress: Progress,
) -> Result<(), Error> {
    for c in containers {
        if !engine.container(&c.id)?.state.has_shim() {
            continue;
        }
        progress("Container", &c.name, "Stopping");
        engine.stop_container(&c.id, timeout)?;
        progress("Container", &c.name, "Stopped");
    }
    Ok(())
}
