//! `up`: converge the engine to the project. Networks and volumes first, then each service
//! after the ones it depends on (waiting for their condition), keeping a container whose
//! config hash still matches and recreating one whose hash changed, as Compose v2 does.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use berth_engine::Engine;
use berth_engine::containers::ContainerRecord;
use berth_engine::networks::NetworkCreate;
use berth_engine::types::State;
use berth_engine::volumes::VolumeCreate;

use crate::containers::{label, number_of, project_containers, service_of};
use crate::error::Error;
use crate::labels;
use crate::loader::start_order;
use crate::model::{Condition, Project};
use crate::request::{config_hash, container_name, create_request, endpoint, image_name};

/// What `up` is asked to do beyond the project itself.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub remove_orphans: bool,
    /// `--no-start`: create only.
    pub no_start: bool,
    /// `--scale SERVICE=N`
    pub scale: BTreeMap<String, u32>,
    /// `--wait`: return only when every container runs (and is healthy if it has a check).
    pub wait: bool,
    pub wait_timeout: Option<Duration>,
    /// `-t`: seconds to stop a container being replaced.
    pub timeout: Option<i64>,
    /// `--build`: build images before starting; `--no-build`: never (a missing image fails).
    pub build: bool,
    pub no_build: bool,
    /// `-V`: a recreated container gets new anonymous volumes, not its predecessor's.
    pub renew_anon_volumes: bool,
}

/// One line of progress: ("Network"/"Volume"/"Container", name, status), as Compose prints.
pub type Progress<'a> = &'a mut dyn FnMut(&str, &str, &str);

/// Brings the project up; returns the ids of its service containers, in start order.
pub fn up(
    engine: &Engine,
    project: &Project,
    opts: &UpOptions,
    progress: Progress,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<String>, Error> {
    prepare(engine, project, progress)?;
    let existing = project_containers(engine, &project.name, true)?;
    let orphans: Vec<&ContainerRecord> = existing
        .iter()
        .filter(|c| {
            !project.services.contains_key(service_of(c))
                && !project.disabled.contains_key(service_of(c))
        })
        .collect();
    if !orphans.is_empty() {
        if opts.remove_orphans {
            for c in orphans {
                progress("Container", &c.name, "Removing");
                engine.remove_container(&c.id, true)?;
                progress("Container", &c.name, "Removed");
            }
        } else {
            let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
            warn(format!(
                "Found orphan containers ({}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
                names.join(", ")
            ));
        }
    }
    // Services start as soon as what they depend on is ready (a service with no waiting
    // dependency does not queue behind another's health check), in start order otherwise.
    let mut ids = Vec::new();
    let mut pending = start_order(project);
    let mut done: Vec<String> = Vec::new();
    // Services whose containers this run created anew: dependents that asked for
    // `restart: true` are restarted after them.
    let mut replaced: Vec<String> = Vec::new();
    let mut said = std::collections::BTreeSet::new();
    while !pending.is_empty() {
        let mut started_one = false;
        for name in pending.clone() {
            let service = &project.services[&name];
            let mut ready = true;
            for (dep, d) in &service.depends_on {
                if !project.services.contains_key(dep) {
                    continue;
                }
                if !done.contains(dep) {
                    ready = false;
                    break;
                }
                if !opts.no_start
                    && !dependency_met(engine, project, dep, d.condition, progress, &mut said)?
                {
                    ready = false;
                    break;
                }
            }
            if !ready {
                continue;
            }
            if service.build.is_some() && !opts.no_build {
                let missing = engine.resolve_image(&image_name(project, &name)).is_err();
                let always = service.pull_policy.as_deref() == Some("build");
                if opts.build || missing || always {
                    progress("Image", &image_name(project, &name), "Building");
                    let quiet = |_: &str| {};
                    crate::build::build_service(engine, project, &name, false, &quiet)?;
                    progress("Image", &image_name(project, &name), "Built");
                }
            }
            let replicas = opts
                .scale
                .get(&name)
                .copied()
                .unwrap_or_else(|| service.replicas());
            let converged =
                converge_service(engine, project, &name, replicas, &existing, opts, progress)?;
            if converged.replaced {
                replaced.push(name.clone());
            } else if !opts.no_start
                && service
                    .depends_on
                    .iter()
                    .any(|(dep, d)| d.restart && replaced.contains(dep))
            {
                for id in &converged.ids {
                    let rec = engine.container(id)?;
                    progress("Container", &rec.name, "Restarting");
                    engine.restart_container(id, opts.timeout)?;
                    progress("Container", &rec.name, "Started");
                }
            }
            ids.extend(converged.ids);
            pending.retain(|p| *p != name);
            done.push(name);
            started_one = true;
        }
        if !started_one {
            std::thread::sleep(POLL);
        }
    }
    if opts.wait {
        wait_healthy(engine, project, &ids, opts.wait_timeout, progress)?;
    }
    Ok(ids)
}

/// The project's networks (those its services use) and volumes, made when missing.
pub fn prepare(engine: &Engine, project: &Project, progress: Progress) -> Result<(), Error> {
    ensure_networks(engine, project, progress)?;
    ensure_volumes(engine, project, progress)
}

fn ensure_networks(engine: &Engine, project: &Project, progress: Progress) -> Result<(), Error> {
    for (key, net) in &project.networks {
        let used = project
            .services
            .values()
            .any(|s| s.networks.contains_key(key));
        if !used {
            continue;
        }
        if engine.network(&net.name).is_ok() {
            continue;
        }
        if net.external {
            return Err(Error::Run(format!(
                "network {} declared as external, but could not be found",
                net.name
            )));
        }
        progress("Network", &net.name, "Creating");
        let mut labels = net.labels.clone();
        labels.insert(labels::PROJECT.into(), project.name.clone());
        labels.insert(labels::NETWORK.into(), key.clone());
        labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let pool = net.ipam.as_ref().and_then(|i| i.config.first());
        engine.create_network(NetworkCreate {
            name: net.name.clone(),
            driver: net.driver.clone().unwrap_or_default(),
            subnet: pool.and_then(|p| p.subnet.clone()).unwrap_or_default(),
            gateway: pool.and_then(|p| p.gateway.clone()).unwrap_or_default(),
            ip_range: pool.and_then(|p| p.ip_range.clone()).unwrap_or_default(),
            internal: net.internal,
            labels,
            options: net.driver_opts.clone(),
            enable_ipv6: net.enable_ipv6,
            ..NetworkCreate::default()
        })?;
        progress("Network", &net.name, "Created");
    }
    Ok(())
}

fn ensure_volumes(engine: &Engine, project: &Project, progress: Progress) -> Result<(), Error> {
    for (key, vol) in &project.volumes {
        if engine.volume(&vol.name).is_ok() {
            continue;
        }
        if vol.external {
            return Err(Error::Run(format!(
                "external volume \"{}\" not found",
                vol.name
            )));
        }
        progress("Volume", &vol.name, "Creating");
        let mut labels = vol.labels.clone();
        labels.insert(labels::PROJECT.into(), project.name.clone());
        labels.insert(labels::VOLUME.into(), key.clone());
        labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        engine.create_volume(VolumeCreate {
            name: Some(vol.name.clone()),
            driver: vol.driver.clone().unwrap_or_default(),
            labels,
            options: vol.driver_opts.clone(),
        })?;
        progress("Volume", &vol.name, "Created");
    }
    Ok(())
}

/// What converging one service did.
struct Converged {
    ids: Vec<String>,
    /// A container was created (new or recreated).
    replaced: bool,
}

fn converge_service(
    engine: &Engine,
    project: &Project,
    name: &str,
    replicas: u32,
    existing: &[ContainerRecord],
    opts: &UpOptions,
    progress: Progress,
) -> Result<Converged, Error> {
    let service = &project.services[name];
    let hash = config_hash(service);
    let mut replaced = false;
    let image_id = engine.resolve_image(&image_name(project, name)).ok();
    let mine: Vec<&ContainerRecord> = existing.iter().filter(|c| service_of(c) == name).collect();
    // Replicas beyond the wanted count go, highest numbers first.
    for c in mine.iter().rev().filter(|c| number_of(c) > replicas) {
        progress("Container", &c.name, "Stopping");
        engine.stop_container(&c.id, opts.timeout)?;
        engine.remove_container(&c.id, true)?;
        progress("Container", &c.name, "Removed");
    }
    let mut ids = Vec::new();
    for number in 1..=replicas {
        let current = mine.iter().find(|c| number_of(c) == number);
        let id = match current {
            Some(c)
                if opts.no_recreate
                    || (!opts.force_recreate
                        && label(c, labels::CONFIG_HASH) == Some(&hash)
                        && image_id.as_ref().is_none_or(|id| *id == c.image_id)) =>
            {
                let running = engine.container(&c.id)?.state.has_shim();
                if running {
                    progress("Container", &c.name, "Running");
                } else if !opts.no_start {
                    progress("Container", &c.name, "Starting");
                    engine.start_container(&c.id, None)?;
                    progress("Container", &c.name, "Started");
                }
                c.id.clone()
            }
            Some(c) => {
                replaced = true;
                progress("Container", &c.name, "Recreate");
                engine.stop_container(&c.id, opts.timeout)?;
                let id = replace(engine, project, name, number, c, opts.renew_anon_volumes)?;
                progress("Container", &c.name, "Recreated");
                if !opts.no_start {
                    start_one(engine, &id, &c.name, progress)?;
                }
                id
            }
            None => {
                replaced = true;
                let cname = container_name(project, name, number);
                progress("Container", &cname, "Creating");
                let id = create_one(engine, project, name, number, &[])?;
                progress("Container", &cname, "Created");
                if !opts.no_start {
                    start_one(engine, &id, &cname, progress)?;
                }
                id
            }
        };
        ids.push(id);
    }
    Ok(Converged { ids, replaced })
}

fn start_one(engine: &Engine, id: &str, name: &str, progress: Progress) -> Result<(), Error> {
    progress("Container", name, "Starting");
    engine.start_container(id, None)?;
    progress("Container", name, "Started");
    Ok(())
}

/// Replaces the stopped container `old` (replica `number` of `name`) by a new one, as Compose
/// does: `old` steps aside under `ID12_NAME` until its successor exists, so a failed create
/// (or a kill between the steps) leaves it, and the anonymous volumes its successor inherits
/// (a database's image VOLUME keeps its data), in place; `renew` (`-V`) gives new ones.
fn replace(
    engine: &Engine,
    project: &Project,
    name: &str,
    number: u32,
    old: &ContainerRecord,
    renew: bool,
) -> Result<String, Error> {
    let anonymous = anonymous_volumes(engine, &old.id)?;
    let aside = format!("{}_{}", &old.id[..12.min(old.id.len())], old.name);
    engine.rename_container(&old.id, &aside)?;
    let inherited = if renew { &[][..] } else { &anonymous[..] };
    let id = match create_one(engine, project, name, number, inherited) {
        Ok(id) => id,
        Err(e) => {
            let _ = engine.rename_container(&old.id, &old.name);
            return Err(e);
        }
    };
    engine.remove_container(&old.id, true)?;
    if renew {
        for (_, volume) in &anonymous {
            // One another container still uses stays.
            let _ = engine.remove_volume(volume, false);
        }
    }
    Ok(id)
}

/// The anonymous volumes container `id` mounts: (destination, volume name). A volume it
/// inherited by name counts too: it was made anonymous for an earlier replica.
pub fn anonymous_volumes(engine: &Engine, id: &str) -> Result<Vec<(String, String)>, Error> {
    Ok(engine
        .container_mounts(id)?
        .into_iter()
        .filter(|m| {
            m.kind == "volume" && (m.anonymous || engine.volume(&m.name).is_ok_and(|v| v.anonymous))
        })
        .map(|m| (m.destination, m.name))
        .collect())
}

/// Creates replica `number` and connects it to the service's other networks. `inherited`:
/// anonymous volumes of the container it replaces, mounted at the same places.
pub fn create_one(
    engine: &Engine,
    project: &Project,
    name: &str,
    number: u32,
    inherited: &[(String, String)],
) -> Result<String, Error> {
    let service = &project.services[name];
    let via_service = match service
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
    {
        Some(other) => Some(
            project_containers(engine, &project.name, true)?
                .into_iter()
                .find(|c| service_of(c) == other)
                .map(|c| c.id)
                .ok_or_else(|| {
                    Error::Run(format!(
                        "service {name:?} uses the network of {other:?}, which has no container"
                    ))
                })?,
        ),
        None => None,
    };
    let mut request = create_request(project, name, number, via_service)?;
    inherit_volumes(&mut request, inherited);
    let cname = container_name(project, name, number);
    let id = engine.create_container(request, Some(&cname))?;
    if let Err(e) = crate::files::copy_into(engine, project, name, &id) {
        // Not left half made: the next `up` creates it whole.
        let _ = engine.remove_container(&id, true);
        return Err(e);
    }
    if service.network_mode.is_none() {
        for (key, settings) in service.networks.iter().skip(1) {
            let net = &project.networks[key];
            let ep = endpoint(name, settings.as_ref());
            let ip = ep
                .ipam_config
                .as_ref()
                .map(|i| i.ipv4_address.clone())
                .filter(|a| !a.is_empty());
            engine.connect_network(
                &net.name,
                &id,
                ip.as_deref(),
                ep.aliases.as_deref().unwrap_or_default(),
            )?;
        }
    }
    Ok(id)
}

/// Mounts each inherited volume by name where the service asks for an anonymous one (or
/// the image has a VOLUME), unless a bind or named volume already takes that place.
fn inherit_volumes(
    request: &mut berth_engine::types::CreateRequest,
    inherited: &[(String, String)],
) {
    let hc = &mut request.host_config;
    let mounts = hc.mounts.get_or_insert_with(Vec::new);
    let bound: Vec<String> = hc
        .binds
        .iter()
        .flatten()
        .filter_map(|b| b.split(':').nth(1).map(str::to_string))
        .collect();
    for (destination, volume) in inherited {
        match mounts.iter_mut().find(|m| &m.target == destination) {
            Some(m) if m.kind == "volume" && m.source.is_empty() => m.source = volume.clone(),
            Some(_) => {}
            None if bound.contains(destination) => {}
            None => mounts.push(berth_engine::types::MountSpec {
                kind: "volume".into(),
                source: volume.clone(),
                target: destination.clone(),
                ..Default::default()
            }),
        }
    }
    if mounts.is_empty() {
        hc.mounts = None;
    }
}

/// How often a wait looks again: a health status or an exit is a row in the state database.
const POLL: Duration = Duration::from_millis(25);

/// Whether a dependency's containers meet the condition a dependent asked for now; a
/// condition that can no longer be met (unhealthy, exited with an error) is an error. Each
/// "Waiting" / "Healthy" line is said once (`said`).
fn dependency_met(
    engine: &Engine,
    project: &Project,
    dep: &str,
    condition: Condition,
    progress: Progress,
    said: &mut std::collections::BTreeSet<(String, &'static str)>,
) -> Result<bool, Error> {
    if condition == Condition::ServiceStarted {
        return Ok(true);
    }
    let containers: Vec<ContainerRecord> = project_containers(engine, &project.name, true)?
        .into_iter()
        .filter(|c| service_of(c) == dep)
        .collect();
    let mut say = |name: &str, status: &'static str| {
        if said.insert((name.to_string(), status)) {
            progress("Container", name, status);
        }
    };
    let mut all = true;
    for rec in containers {
        say(&rec.name, "Waiting");
        let met = match condition {
            Condition::ServiceHealthy => match rec.health.as_ref().map(|h| h.status.as_str()) {
                Some("healthy") => true,
                Some("unhealthy") => {
                    return Err(Error::Run(format!(
                        "dependency failed to start: container {} is unhealthy",
                        rec.name
                    )));
                }
                _ if !rec.state.has_shim() && rec.state != State::Created => {
                    return Err(Error::Run(format!(
                        "dependency failed to start: container {} exited ({})",
                        rec.name, rec.exit_code
                    )));
                }
                _ if rec.state.has_shim()
                    && !berth_engine::health::has_healthcheck(
                        rec.config.config.healthcheck.as_ref(),
                    ) =>
                {
                    return Err(Error::Run(format!(
                        "container {} has no healthcheck configured",
                        rec.name
                    )));
                }
                _ => false,
            },
            Condition::ServiceCompletedSuccessfully => {
                if matches!(rec.state, State::Exited | State::Dead) {
                    if rec.exit_code != 0 {
                        return Err(Error::Run(format!(
                            "service {dep:?} didn't complete successfully: exit {}",
                            rec.exit_code
                        )));
                    }
                    true
                } else {
                    false
                }
            }
            Condition::ServiceStarted => true,
        };
        if met {
            let status = if condition == Condition::ServiceHealthy {
                "Healthy"
            } else {
                "Exited"
            };
            say(&rec.name, status);
        }
        all &= met;
    }
    Ok(all)
}

/// `--wait`: every container running, and healthy where it has a check.
fn wait_healthy(
    engine: &Engine,
    _project: &Project,
    ids: &[String],
    timeout: Option<Duration>,
    progress: Progress,
) -> Result<(), Error> {
    let start = Instant::now();
    for id in ids {
        let mut announced = false;
        loop {
            let rec = engine.container(id)?;
            if !announced {
                progress("Container", &rec.name, "Waiting");
                announced = true;
            }
            let checked =
                berth_engine::health::has_healthcheck(rec.config.config.healthcheck.as_ref());
            // A checked container has no status until its first probe: that is "starting".
            let health = match rec.health.as_ref().map(|h| h.status.as_str()) {
                None if checked => Some("starting"),
                other => other,
            };
            match (rec.state.has_shim(), health) {
                (true, None) | (true, Some("healthy")) => {
                    progress(
                        "Container",
                        &rec.name,
                        if health.is_some() {
                            "Healthy"
                        } else {
                            "Running"
                        },
                    );
                    break;
                }
                (_, Some("unhealthy")) => {
                    let output = rec
                        .health
                        .as_ref()
                        .and_then(|h| h.log.last())
                        .map(|l| l.output.trim().to_string())
                        .unwrap_or_default();
                    return Err(Error::Run(format!(
                        "container {} is unhealthy (service {:?}): {output}",
                        rec.name,
                        service_of(&rec)
                    )));
                }
                (false, _) if rec.state != State::Created => {
                    return Err(Error::Run(format!(
                        "container {} exited ({})",
                        rec.name, rec.exit_code
                    )));
                }
                _ => {}
            }
            if timeout.is_some_and(|t| start.elapsed() > t) {
                return Err(Error::Run(format!(
                    "timeout waiting for container {} to be healthy",
                    rec.name
                )));
            }
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}
