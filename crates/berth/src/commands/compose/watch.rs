//! `berth compose watch [--no-up] [SERVICE...]`: brings the project up, then acts on
//! `develop.watch` rules as files change: `sync` copies them into the service's containers
//! (and deletes there what was deleted here), `sync+restart` also restarts them, `rebuild`
//! builds the image and recreates the service. Ctrl-C or SIGTERM ends the watch (the
//! containers keep running, as Compose leaves them). `up --watch` runs the same [`Watcher`].

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use berth_compose::model::{WatchAction, WatchRule};
use berth_compose::up::UpOptions;
use berth_compose::watch::Snapshot;

use super::{CliError, ProjectFlags, progress};

#[derive(clap::Args)]
pub struct Args {
    /// Do not build & start services before watching
    #[arg(long)]
    pub no_up: bool,
    /// Hide build output
    #[arg(long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

/// The stop signal that arrived (0: none yet).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(signal: libc::c_int) {
    STOP.store(signal, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM answer [`stop_requested`]. A handler, not a blocked mask: a mask
/// would be inherited by the containers a rebuild starts, a handler is reset by exec.
pub fn install_stop_handler() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_stop_signal as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_stop_signal as *const () as libc::sighandler_t,
        );
    }
}

/// The stop signal that arrived, if one did.
pub fn stop_requested() -> Option<i32> {
    Some(STOP.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// The project's watch rules and what their files looked like at the last look.
pub struct Watcher {
    rules: Vec<(String, WatchRule)>,
    snapshots: Vec<Snapshot>,
    quiet: bool,
}

impl Watcher {
    /// The rules of the project's services; an error when none has any.
    pub fn new(project: &berth_compose::Project, quiet: bool) -> Result<Watcher, CliError> {
        let rules: Vec<(String, WatchRule)> = project
            .services
            .iter()
            .flat_map(|(name, s)| {
                s.develop
                    .iter()
                    .flat_map(|d| d.watch.iter().map(|r| (name.clone(), r.clone())))
            })
            .collect();
        if rules.is_empty() {
            return Err(CliError {
                message: "none of the selected services is configured for watch, consider setting a 'develop' section".into(),
                code: 1,
                daemon: false,
            });
        }
        let snapshots = rules
            .iter()
            .map(|(_, r)| berth_compose::watch::snapshot(r))
            .collect();
        Ok(Watcher {
            rules,
            snapshots,
            quiet,
        })
    }

    /// One look at the files: acts on each rule whose files changed since the last.
    pub fn poll(
        &mut self,
        engine: &berth_engine::Engine,
        project: &berth_compose::Project,
    ) -> Result<(), CliError> {
        use berth_compose::watch::{changed, delete, removed, snapshot, sync};
        let mut warn = |m: String| eprintln!("WARN[0000] {m}");
        for (i, (service, rule)) in self.rules.iter().enumerate() {
            let now = snapshot(rule);
            let files = changed(&self.snapshots[i], &now);
            let gone = removed(&self.snapshots[i], &now);
            self.snapshots[i] = now;
            if files.is_empty() && gone.is_empty() {
                continue;
            }
            match rule.action {
                WatchAction::Sync | WatchAction::SyncRestart => {
                    eprintln!(
                        "Syncing service {service:?} after {} changes were detected",
                        files.len() + gone.len()
                    );
                    if !gone.is_empty() {
                        delete(engine, project, service, rule, &gone)?;
                    }
                    let ids = if files.is_empty() {
                        Vec::new()
                    } else {
                        sync(engine, project, service, rule, &files)?
                    };
                    if rule.action == WatchAction::SyncRestart {
                        for id in &ids {
                            engine.restart_container(id, None)?;
                        }
                        eprintln!("service {service:?} restarted");
                    }
                }
                WatchAction::Rebuild => {
                    eprintln!("Rebuilding service(s) [{service:?}] after changes were detected...");
                    let quiet = self.quiet;
                    let show = move |line: &str| {
                        if !quiet {
                            eprintln!("{line}");
                        }
                    };
                    berth_compose::build::build_service(engine, project, service, false, &show)?;
                    let mut only = project.clone();
                    only.services.retain(|k, _| k == service);
                    berth_compose::up::up(
                        engine,
                        &only,
                        &UpOptions::default(),
                        &mut progress::plain,
                        &mut warn,
                    )?;
                }
            }
        }
        Ok(())
    }
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    super::up::only(&mut project, &args.services, false)?;
    let engine = berth_engine::Engine::open()?;
    let mut watcher = Watcher::new(&project, args.quiet)?;
    if !args.no_up {
        let mut warn = |m: String| eprintln!("WARN[0000] {m}");
        super::pull::by_policy(&engine, &project, None)?;
        berth_compose::up::up(
            &engine,
            &project,
            &UpOptions::default(),
            &mut progress::plain,
            &mut warn,
        )?;
    }
    install_stop_handler();
    eprintln!("Watch enabled");
    while stop_requested().is_none() {
        std::thread::sleep(Duration::from_millis(250));
        watcher.poll(&engine, &project)?;
    }
    Ok(0)
}
