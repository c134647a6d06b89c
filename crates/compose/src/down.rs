//! `down`: stop and remove the project's containers (dependents first), then its networks;
//! with `volumes`, its named volumes and the containers' anonymous ones too (those a
//! recreated container inherited included); with `rmi`, the services' images.

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
    /// `--rmi local`: the images built without an `image` name; `all`: every service's.
    pub rmi: Option<String>,
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
    stop_levels(engine, &stop_order(project, &mine), opts.timeout, progress)?;
    let mut anonymous = Vec::new();
    for c in &mine {
        if opts.volumes {
            anonymous.extend(crate::up::anonymous_volumes(engine, &c.id)?);
        }
        progress("Container", &c.name, "Removing");
        engine.remove_container_and_volumes(&c.id, true, opts.volumes)?;
        progress("Container", &c.name, "Removed");
    }
    // What `rm -v` left: volumes inherited by name. One still used elsewhere stays.
    for (_, name) in anonymous {
        if engine.volume(&name).is_ok() && engine.remove_volume(&name, false).is_ok() {
            progress("Volume", &name, "Removed");
        }
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
    if let Some(which) = &opts.rmi {
        for (name, service) in &project.services {
            if which == "local" && service.image.is_some() {
                continue;
            }
            let image = crate::request::image_name(project, name);
            if engine.resolve_image(&image).is_err() {
                continue;
            }
            progress("Image", &image, "Removing");
            engine.remove_image(&image, false)?;
            progress("Image", &image, "Removed");
        }
    }
    Ok(())
}

/// Stops each level's running containers in parallel, level after level.
pub fn stop_levels(
    engine: &Engine,
    levels: &[Vec<&ContainerRecord>],
    timeout: Option<i64>,
    progress: Progress,
) -> Result<(), Error> {
    for level in levels {
        let mut running = Vec::new();
        for c in level {
            if engine.container(&c.id)?.state.has_shim() {
                running.push(*c);
            }
        }
        for c in &running {
            progress("Container", &c.name, "Stopping");
        }
        let results: Vec<Result<(), Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = running
                .iter()
                .map(|c| {
                    let id = c.id.clone();
                    let handle = engine.reopen();
                    scope.spawn(move || -> Result<(), Error> {
                        handle?.stop_container(&id, timeout)?;
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Run("a stop thread panicked".into())))
                })
                .collect()
        });
        for (c, result) in running.iter().zip(results) {
            result?;
            progress("Container", &c.name, "Stopped");
        }
    }
    Ok(())
}

/// The project's containers grouped for stopping: orphans first, then dependents before
/// what they depend on (a service's level is the length of its longest dependency chain).
pub fn stop_order<'a>(
    project: &Project,
    containers: &'a [&'a ContainerRecord],
) -> Vec<Vec<&'a ContainerRecord>> {
    fn depth(project: &Project, name: &str, seen: &mut Vec<String>) -> usize {
        if seen.iter().any(|s| s == name) {
            return 0;
        }
        seen.push(name.to_string());
        let d = project
            .services
            .get(name)
            .map(|s| {
                s.depends_on
                    .keys()
                    .map(|dep| 1 + depth(project, dep, seen))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        seen.pop();
        d
    }
    let level_of = |c: &ContainerRecord| -> Option<usize> {
        let name = service_of(c);
        project
            .services
            .contains_key(name)
            .then(|| depth(project, name, &mut Vec::new()))
    };
    let max = containers
        .iter()
        .filter_map(|c| level_of(c))
        .max()
        .unwrap_or(0);
    let mut levels: Vec<Vec<&ContainerRecord>> = vec![Vec::new(); max + 2];
    for c in containers {
        match level_of(c) {
            // Orphans (and services out of the project) first.
            None => levels[0].push(c),
            Some(d) => levels[1 + max - d].push(c),
        }
    }
    levels.retain(|l| !l.is_empty());
    levels
}
