//! `berth compose run [--rm] [-d] [-T] [-e K=V] [--name N] [--no-deps] [--service-ports]
//! [-p P] [--entrypoint E] [-u U] [-w W] SERVICE [COMMAND...]`: a one-off container of a
//! service (its dependencies started first), attached as `berth run` is.

use std::io::IsTerminal;

use berth_compose::request::{OneOff, one_off_name, one_off_request};
use berth_compose::up::UpOptions;

use super::{CliError, ProjectFlags, progress};

#[derive(clap::Args)]
pub struct Args {
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Run command with all service's ports enabled and mapped to the host
    #[arg(long)]
    pub service_ports: bool,
    /// Publish a container's port(s) to the host
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Override the entrypoint of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Disable pseudo-TTY allocation (default: auto-detected)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Keep STDIN open even if not attached (default true)
    #[arg(short, long)]
    pub interactive: bool,
    /// Run as specified username or uid
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Bind mount a volume
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Add or override a label
    #[arg(short, long)]
    pub label: Vec<String>,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    berth_compose::loader::enable(&mut project, &args.service);
    let service = project.service(&args.service)?.clone();
    let engine = berth_engine::Engine::open()?;
    // The service's networks and volumes, and (unless --no-deps) its dependencies, running.
    let mut deps = project.clone();
    let wanted: Vec<String> = if args.no_deps {
        Vec::new()
    } else {
        service.depends_on.keys().cloned().collect()
    };
    deps.services
        .retain(|k, _| wanted.contains(k) || *k == args.service);
    berth_compose::up::prepare(&engine, &deps, &mut progress::plain)?;
    deps.services.retain(|k, _| *k != args.service);
    if !deps.services.is_empty() {
        let mut warn = |m: String| eprintln!("WARN[0000] {m}");
        berth_compose::up::up(
            &engine,
            &deps,
            &UpOptions::default(),
            &mut progress::plain,
            &mut warn,
        )?;
    }
    let interactive = !args.detach;
    let tty = !args.no_tty && !args.detach && std::io::stdin().is_terminal();
    let entrypoint = match &args.entrypoint {
        Some(e) => Some(
            shell_words(e).ok_or_else(|| CliError::usage(format!("invalid entrypoint {e:?}")))?,
        ),
        None => None,
    };
    let opts = OneOff {
        command: (!args.command.is_empty()).then(|| args.command.clone()),
        entrypoint,
        env: args.env.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        service_ports: args.service_ports,
        publish: args.publish.clone(),
        volumes: args.volume.clone(),
        labels: args.label.clone(),
        remove: args.rm,
        interactive,
        tty,
    };
    let request = one_off_request(&project, &args.service, &opts)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| one_off_name(&project, &args.service));
    let id = engine.create_container(request, Some(&name))?;
    if let Err(e) = berth_compose::files::copy_into(&engine, &project, &args.service, &id) {
        let _ = engine.remove_container(&id, true);
        return Err(e.into());
    }
    if args.detach {
        engine.start_container(&id, None)?;
        println!("{name}");
        return Ok(0);
    }
    crate::commands::run::attached(&engine, &id, interactive, tty)
}

fn shell_words(text: &str) -> Option<Vec<String>> {
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    (!words.is_empty()).then_some(words)
}
