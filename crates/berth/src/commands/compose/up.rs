//! `berth compose up`: create and start the project's containers (only what changed is
//! recreated). Attached (no `-d`), it streams their logs with `web-1  | ` prefixes until they
//! all exit, or until Ctrl-C / SIGTERM, which stops them, as Docker Compose does.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_compose::containers::{project_containers, service_of};
use berth_compose::up::UpOptions;
use berth_engine::containers::ContainerRecord;
use berth_engine::logs::LogOptions;

use super::{CliError, ProjectFlags, logs, progress};

#[derive(clap::Args)]
pub struct Args {
    /// Detached mode: Run containers in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long)]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long, conflicts_with = "force_recreate")]
    pub no_recreate: bool,
    /// Don't start the services after creating them
    #[arg(long)]
    pub no_start: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM)
    #[arg(long)]
    pub scale: Vec<String>,
    /// Wait for services to be running|healthy. Implies detached mode
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy
    #[arg(long)]
    pub wait_timeout: Option<u64>,
    /// Stops all containers if any container was stopped. Incompatible with -d
    #[arg(long, conflicts_with = "detach")]
    pub abort_on_container_exit: bool,
    /// Return the exit code of the selected service container. Implies
    /// --abort-on-container-exit
    #[arg(long)]
    pub exit_code_from: Option<String>,
    /// Use this timeout in seconds for container shutdown
    #[arg(short, long)]
    pub timeout: Option<i64>,
    /// Don't print prefix in logs
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Recreate anonymous volumes instead of retrieving data from the previous containers
    #[arg(short = 'V', long)]
    pub renew_anon_volumes: bool,
    /// Watch source code and rebuild/refresh containers when files are updated
    #[arg(short, long, conflicts_with = "detach")]
    pub watch: bool,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long, value_parser = ["always", "missing", "never"])]
    pub pull: Option<String>,
    /// Don't build an image, even if it's missing
    #[arg(long, conflicts_with = "build")]
    pub no_build: bool,
    /// Don't start linked services (accepted; dependencies are started only when listed)
    #[arg(long)]
    pub no_deps: bool,
    /// Services to start (default: all); a service behind a profile is enabled by naming it
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    only(&mut project, &args.services, args.no_deps)?;
    let mut scale = BTreeMap::new();
    for s in &args.scale {
        let (name, n) = s
            .split_once('=')
            .and_then(|(k, v)| Some((k.to_string(), v.parse::<u32>().ok()?)))
            .ok_or_else(|| CliError::usage(format!("invalid --scale {s:?}: use SERVICE=NUM")))?;
        scale.insert(name, n);
    }
    let opts = UpOptions {
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        remove_orphans: args.remove_orphans,
        no_start: args.no_start,
        scale,
        wait: args.wait,
        wait_timeout: args.wait_timeout.map(Duration::from_secs),
        timeout: args.timeout,
        build: args.build,
        no_build: args.no_build,
        renew_anon_volumes: args.renew_anon_volumes,
    };
    let mut watcher = match args.watch {
        true => Some(super::watch::Watcher::new(&project, false)?),
        false => None,
    };
    let engine = berth_engine::Engine::open()?;
    super::pull::by_policy(&engine, &project, args.pull.as_deref())?;
    let attached = !(args.detach || args.wait || args.no_start);
    let mut warn = |m: String| eprintln!("WARN[0000] {m}");
    let ids = berth_compose::up::up(&engine, &project, &opts, &mut progress::plain, &mut warn)?;
    if !attached {
        return Ok(0);
    }
    // Blocked only now: a blocked mask is inherited through exec, so containers started
    // with it would ignore their stop signal. Blocked before the log threads start, so they
    // inherit it and the signals wait for `sigtimedwait` below (a clean stop). A watch
    // starts containers as it goes: it takes the signals with a handler instead.
    let signals = match watcher {
        Some(_) => {
            super::watch::install_stop_handler();
            None
        }
        None => Some(block_stop_signals()),
    };
    let containers: Vec<ContainerRecord> = project_containers(&engine, &project.name, true)?
        .into_iter()
        .filter(|c| ids.contains(&c.id))
        .collect();
    let names: Vec<String> = containers
        .iter()
        .map(|c| logs::short_name(&project.name, c))
        .collect();
    println!("Attaching to {}", names.join(", "));
    let options = LogOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..LogOptions::default()
    };
    let colour = !args.no_color && progress::colour(&flags.ansi);
    let threads = logs::stream(
        &project.name,
        &containers,
        options,
        !args.no_log_prefix,
        colour,
    );
    let abort = args.abort_on_container_exit || args.exit_code_from.is_some();
    let mut exited: BTreeMap<String, i64> = BTreeMap::new();
    let mut code = 0;
    loop {
        if let Some(set) = &signals
            && let Some(signal) = wait_signal(set, Duration::from_millis(200))
        {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
            stop(&engine, &project, &containers, args.timeout)?;
            code = 128 + signal;
            break;
        }
        if let Some(watcher) = &mut watcher {
            if let Some(signal) = super::watch::stop_requested() {
                eprintln!("Gracefully stopping...");
                let current = project_containers(&engine, &project.name, false)?;
                stop(&engine, &project, &current, args.timeout)?;
                code = 128 + signal;
                break;
            }
            watcher.poll(&engine, &project)?;
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let mut first_exit = None;
        for c in &containers {
            let rec = engine.container(&c.id)?;
            if !rec.state.has_shim() && !exited.contains_key(&c.id) {
                exited.insert(c.id.clone(), rec.exit_code);
                println!(
                    "{} exited with code {}",
                    logs::short_name(&project.name, c),
                    rec.exit_code
                );
                first_exit.get_or_insert(rec.exit_code);
            }
        }
        if abort && let Some(first) = first_exit {
            eprintln!("Aborting on container exit...");
            stop(&engine, &project, &containers, args.timeout)?;
            code = match &args.exit_code_from {
                Some(service) => containers
                    .iter()
                    .filter(|c| service_of(c) == service)
                    .map(|c| engine.container(&c.id).map(|r| r.exit_code).unwrap_or(1))
                    .next()
                    .unwrap_or(1) as i32,
                None => first as i32,
            };
            break;
        }
        if exited.len() == containers.len() {
            break;
        }
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(code)
}

/// Stops the attached containers as `down` would: dependents first, a level at once.
fn stop(
    engine: &berth_engine::Engine,
    project: &berth_compose::Project,
    containers: &[ContainerRecord],
    timeout: Option<i64>,
) -> Result<(), CliError> {
    let refs: Vec<&ContainerRecord> = containers.iter().collect();
    let levels = berth_compose::down::stop_order(project, &refs);
    berth_compose::down::stop_levels(engine, &levels, timeout, &mut progress::plain)?;
    Ok(())
}

/// Blocks SIGINT and SIGTERM in this thread (and the threads it starts).
fn block_stop_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data that sigemptyset initialises; pthread_sigmask only
    // changes this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// A blocked stop signal that arrived within `timeout`.
fn wait_signal(set: &libc::sigset_t, timeout: Duration) -> Option<i32> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `set` is an initialised signal set and `ts` a valid timespec; a null siginfo
    // is allowed.
    let signal = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) };
    (signal > 0).then_some(signal)
}

/// Keeps only the named services (enabling any behind a profile) and, unless `no_deps`,
/// what they depend on; no names keeps them all.
pub fn only(
    project: &mut berth_compose::Project,
    names: &[String],
    no_deps: bool,
) -> Result<(), CliError> {
    if names.is_empty() {
        return Ok(());
    }
    for name in names {
        berth_compose::loader::enable(project, name);
        project.service(name)?;
    }
    fn add(p: &berth_compose::Project, name: &str, keep: &mut Vec<String>, deps: bool) {
        if keep.iter().any(|k| k == name) {
            return;
        }
        keep.push(name.to_string());
        if deps && let Some(s) = p.services.get(name) {
            for d in s.depends_on.keys() {
                add(p, d, keep, deps);
            }
        }
    }
    let mut keep = Vec::new();
    for name in names {
        add(project, name, &mut keep, !no_deps);
    }
    project.services.retain(|k, _| keep.contains(k));
    Ok(())
}
