//! `berth compose watch [--no-up] [SERVICE...]`: brings the project up, then acts on
//! `develop.watch` rules as files change: `sync` copies them into the service's containers,
//! `sync+restart` also restarts them, `rebuild` builds the image and recreates the service.
//! Ctrl-C or SIGTERM ends the watch (the containers keep running, as Compose leaves them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_compose::model::WatchAction;
use berth_compose::up::UpOptions;

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

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    super::up::only(&mut project, &args.services, false)?;
    let engine = berth_engine::Engine::open()?;
    let mut warn = |m: String| eprintln!("WARN[0000] {m}");
    if !args.no_up {
        super::pull::by_policy(&engine, &project, None)?;
        berth_compose::up::up(
            &engine,
            &project,
            &UpOptions::default(),
            &mut progress::plain,
            &mut warn,
        )?;
    }
    let rules: Vec<(String, berth_compose::model::WatchRule)> = project
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
    // A handler, not a blocked mask: a mask would be inherited by the containers a rebuild
    // starts, a handler is reset by exec.
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
    let mut snapshots: Vec<_> = rules
        .iter()
        .map(|(_, r)| berth_compose::watch::snapshot(r))
        .collect();
    eprintln!("Watch enabled");
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(250));
        for (i, (service, rule)) in rules.iter().enumerate() {
            let now = berth_compose::watch::snapshot(rule);
            let files = berth_compose::watch::changed(&snapshots[i], &now);
            snapshots[i] = now;
            if files.is_empty() {
                continue;
            }
            match rule.action {
                WatchAction::Sync | WatchAction::SyncRestart => {
                    eprintln!(
                        "Syncing service {service:?} after {} changes were detected",
                        files.len()
                    );
                    let ids = berth_compose::watch::sync(&engine, &project, service, rule, &files)?;
                    if rule.action == WatchAction::SyncRestart {
                        for id in &ids {
                            engine.restart_container(id, None)?;
                        }
                        eprintln!("service {service:?} restarted");
                    }
                }
                WatchAction::Rebuild => {
                    eprintln!("Rebuilding service(s) [{service:?}] after changes were detected...");
                    let quiet = args.quiet;
                    let show = move |line: &str| {
                        if !quiet {
                            eprintln!("{line}");
                        }
                    };
                    berth_compose::build::build_service(&engine, &project, service, false, &show)?;
                    let mut only = project.clone();
                    only.services.retain(|k, _| k == service);
                    berth_compose::up::up(
                        &engine,
                        &only,
                        &UpOptions::default(),
                        &mut progress::plain,
                        &mut warn,
                    )?;
                }
            }
        }
    }
    Ok(0)
}
