//! `berth build [OPTIONS] PATH|-` (also `berth image build`): builds an image from a Dockerfile.
//! Progress goes to stderr in BuildKit's plain format; `-q` prints only the image id.

use std::collections::BTreeMap;
use std::io::Read;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short, long = "tag")]
    tag: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile"; "-" reads it from stdin)
    #[arg(short, long)]
    file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg")]
    build_arg: Vec<String>,
    /// Set the target build stage to build
    #[arg(long)]
    target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    no_cache: bool,
    /// Set metadata for an image
    #[arg(long = "label")]
    label: Vec<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    quiet: bool,
    /// Set type of progress output
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Write the image ID to the file
    #[arg(long)]
    iidfile: Option<String>,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pull: bool,
    /// What RUN --mount=type=secret|ssh and --security=insecure may use (boxed, as `step`).
    #[command(flatten)]
    grants: Box<GrantFlags>,
    /// The RUN steps' network and limits (boxed: the command's arguments stay small).
    #[command(flatten)]
    step: Box<StepFlags>,
    /// The build context: a directory, or "-" for a tar on stdin
    context: String,
}

/// `--progress`: every mode shows BuildKit's plain lines but `quiet` (a one-byte value, which
/// keeps the command's arguments small).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProgressMode {
    Auto,
    Plain,
    Tty,
    Quiet,
    Rawjson,
}

/// A size flag in Docker's units (`64m`, `1g`); unset is 0.
fn size(value: &Option<String>, flag: &str) -> Result<i64, CliError> {
    match value.as_deref() {
        None => Ok(0),
        Some("-1") if flag == "--memory-swap" => Ok(-1),
        Some(v) => berth_model::grammar::parse_memory(v)
            .map_err(|e| CliError::usage(berth_model::grammar::flag_error(v, flag, &e))),
    }
}

/// What every RUN step's container gets.
#[derive(clap::Args)]
struct StepFlags {
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    network: String,
    /// Add a custom host-to-IP mapping ("host:ip")
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    /// Memory limit of the RUN instructions
    #[arg(short, long)]
    memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long)]
    memory_swap: Option<String>,
    /// Size of /dev/shm
    #[arg(long)]
    shm_size: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    cpu_shares: Option<i64>,
    /// Limit the CPU CFS (Completely Fair Scheduler) quota
    #[arg(long)]
    cpu_quota: Option<i64>,
    /// Limit the CPU CFS (Completely Fair Scheduler) period
    #[arg(long)]
    cpu_period: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    cpuset_cpus: Option<String>,
}

/// What the build hands its RUN steps beyond the context: secrets, agents, entitlements.
#[derive(clap::Args)]
struct GrantFlags {
    /// Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=X,env=VAR")
    #[arg(long)]
    secret: Vec<String>,
    /// SSH agent socket to expose to the build (format: "default|<id>[=<socket>]")
    #[arg(long)]
    ssh: Vec<String>,
    /// Allow extra privileged entitlement (e.g., "security.insecure")
    #[arg(long)]
    allow: Vec<String>,
    /// Set target platform for build
    #[arg(long)]
    platform: Option<String>,
    /// Additional build contexts (e.g., name=path or name=docker-image://image)
    #[arg(long = "build-context")]
    build_context: Vec<String>,
    /// Output destination (format: "type=local,dest=path" or "type=tar,dest=file")
    #[arg(short, long)]
    output: Vec<String>,
    /// Write build result metadata to a file
    #[arg(long)]
    metadata_file: Option<String>,
    /// Do not cache specified stages
    #[arg(long)]
    no_cache_filter: Vec<String>,
}

fn key_values(
    items: &[String],
    what: &str,
    from_env: bool,
) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for item in items {
        match item.split_once('=') {
            Some(("", _)) => {
                return Err(CliError::usage(format!(
                    "invalid {what} {item:?}: empty key"
                )));
            }
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            // `--build-arg NAME` takes the value from the environment, as Docker does.
            None if from_env => {
                if let Ok(v) = std::env::var(item) {
                    out.insert(item.clone(), v);
                }
            }
            None => {
                out.insert(item.clone(), String::new());
            }
        }
    }
    Ok(out)
}

/// `--secret id=ID[,src=FILE|,env=VAR][,type=file|env]`, as buildx reads it: without a
/// source, the environment variable named like the id, else a file of that name.
fn secrets(specs: &[String]) -> Result<BTreeMap<String, berth_engine::build::Secret>, CliError> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let bad = |why: &str| CliError::usage(format!("invalid secret {spec:?}: {why}"));
        let (mut id, mut src, mut env, mut kind) = (None, None, None, None);
        for field in spec.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(v.to_string()),
                Some(("env", v)) => env = Some(v.to_string()),
                Some(("type", v @ ("file" | "env"))) => kind = Some(v.to_string()),
                _ => return Err(bad(&format!("unexpected field {field:?}"))),
            }
        }
        let id = id.ok_or_else(|| bad("id is required"))?;
        if kind.as_deref() == Some("env") && env.is_none() {
            env = src.take().or_else(|| Some(id.clone()));
        }
        let bytes = match (src, env) {
            (Some(path), _) => {
                std::fs::read(&path).map_err(|e| bad(&format!("reading {path}: {e}")))?
            }
            (None, Some(var)) => std::env::var_os(&var)
                .ok_or_else(|| bad(&format!("environment variable {var} is not set")))?
                .into_encoded_bytes(),
            (None, None) => match std::env::var_os(&id) {
                Some(v) => v.into_encoded_bytes(),
                None => std::fs::read(&id).map_err(|e| bad(&format!("reading {id}: {e}")))?,
            },
        };
        out.insert(id, berth_engine::build::Secret(bytes));
    }
    Ok(out)
}

/// `--allow`: the entitlements berth knows.
fn allows_insecure(allow: &[String]) -> Result<bool, CliError> {
    let mut insecure = false;
    for entry in allow.iter().flat_map(|a| a.split(',')) {
        match entry {
            "security.insecure" => insecure = true,
            "network.host" => {}
            other => {
                return Err(CliError::usage(format!(
                    "invalid --allow {other:?}: expected security.insecure or network.host"
                )));
            }
        }
    }
    Ok(insecure)
}

/// `--build-context NAME=DIR|docker-image://IMAGE`.
fn build_contexts(
    specs: &[String],
) -> Result<BTreeMap<String, berth_engine::build::NamedContext>, CliError> {
    use berth_engine::build::NamedContext;
    let mut out = BTreeMap::new();
    for spec in specs {
        let Some((name, value)) = spec
            .split_once('=')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        else {
            return Err(CliError::usage(format!(
                "invalid --build-context {spec:?}: expected NAME=DIR or NAME=docker-image://IMAGE"
            )));
        };
        let context = match value.strip_prefix("docker-image://") {
            Some(image) => NamedContext::Image(image.to_string()),
            None if value.contains("://") => {
                return Err(CliError::usage(format!(
                    "invalid --build-context {spec:?}: only a directory or docker-image:// is supported"
                )));
            }
            None => {
                let dir = std::path::Path::new(value);
                if !dir.is_dir() {
                    return Err(CliError::usage(format!(
                        "invalid --build-context {spec:?}: {value} is not a directory"
                    )));
                }
                NamedContext::Dir(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
            }
        };
        out.insert(name.to_string(), context);
    }
    Ok(out)
}

/// `--output type=local,dest=DIR|type=tar,dest=FILE` (a bare DIR is `type=local`).
fn outputs(specs: &[String]) -> Result<Vec<berth_engine::build::Output>, CliError> {
    use berth_engine::build::Output;
    specs
        .iter()
        .map(|spec| {
            let bad = |why: &str| CliError::usage(format!("invalid --output {spec:?}: {why}"));
            if !spec.contains('=') {
                return Ok(Output::Local(spec.into()));
            }
            let (mut kind, mut dest) = (None, None);
            for field in spec.split(',') {
                match field.split_once('=') {
                    Some(("type", v)) => kind = Some(v.to_string()),
                    Some(("dest", v)) => dest = Some(std::path::PathBuf::from(v)),
                    _ => return Err(bad(&format!("unexpected field {field:?}"))),
                }
            }
            let dest = dest
                .filter(|d| d.as_os_str() != "-")
                .ok_or_else(|| bad("dest=PATH is required (berth does not write to stdout)"))?;
            match kind.as_deref() {
                Some("local") | None => Ok(Output::Local(dest)),
                Some("tar") => Ok(Output::Tar(dest)),
                Some(other) => Err(bad(&format!(
                    "type={other} is not supported (local or tar)"
                ))),
            }
        })
        .collect()
}

impl Args {
    /// Whether the context is a directory here (not a tar on stdin).
    pub fn context_is_a_directory(&self) -> bool {
        self.context != "-"
    }
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let quiet = args.quiet || args.progress == ProgressMode::Quiet;
    let context_is_tar = args.context == "-";
    if context_is_tar && args.file.as_deref() == Some("-") {
        return Err(CliError::usage(
            "invalid argument: can't use stdin for both build context and dockerfile",
        ));
    }
    let mut request = berth_engine::build::BuildRequest {
        context_dir: std::path::PathBuf::from(&args.context),
        tags: args.tag.clone(),
        build_args: key_values(&args.build_arg, "--build-arg", true)?,
        target: args.target.clone(),
        no_cache: args.no_cache,
        labels: key_values(&args.label, "--label", false)?,
        step_options: berth_engine::build::StepOptions {
            memory: size(&args.step.memory, "-m, --memory")?,
            memory_swap: size(&args.step.memory_swap, "--memory-swap")?,
            shm_size: size(&args.step.shm_size, "--shm-size")?,
            cpu_shares: args.step.cpu_shares.unwrap_or(0),
            cpu_quota: args.step.cpu_quota.unwrap_or(0),
            cpu_period: args.step.cpu_period.unwrap_or(0),
            cpuset_cpus: args.step.cpuset_cpus.clone().unwrap_or_default(),
            network_mode: args.step.network.clone(),
            extra_hosts: args.step.add_host.clone(),
        },
        pull: args.pull,
        secrets: secrets(&args.grants.secret)?,
        ssh: berth_engine::build::ssh_sockets(&args.grants.ssh).map_err(CliError::usage)?,
        allow_insecure: allows_insecure(&args.grants.allow)?,
        platform: args.grants.platform.clone(),
        build_contexts: build_contexts(&args.grants.build_context)?,
        outputs: outputs(&args.grants.output)?,
        no_cache_filter: args.grants.no_cache_filter.clone(),
        ..Default::default()
    };
    match args.file.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::usage(format!("reading the Dockerfile from stdin: {e}")))?;
            request.dockerfile = text;
            request.dockerfile_name = "Dockerfile".into();
        }
        Some(path) if context_is_tar => request.dockerfile_name = path.to_string(),
        Some(path) => {
            request.dockerfile = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("failed to read dockerfile: {path}: {e}")))?;
            request.dockerfile_name = path.to_string();
        }
        None if context_is_tar => request.dockerfile_name = "Dockerfile".into(),
        None => {
            if !std::path::Path::new(&args.context).is_dir() {
                return Err(CliError::usage(format!(
                    "unable to prepare context: path {:?} not found",
                    args.context
                )));
            }
            let path = std::path::Path::new(&args.context).join("Dockerfile");
            request.dockerfile = std::fs::read_to_string(&path).map_err(|e| {
                CliError::usage(format!(
                    "failed to read dockerfile: open {}: {e}",
                    path.display()
                ))
            })?;
            request.dockerfile_name = "Dockerfile".into();
        }
    }
    let progress = |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let result = if context_is_tar {
        engine.build_tar(std::io::stdin().lock(), &request, &progress)
    } else {
        engine.build(&request, &progress)
    };
    let result = result.map_err(|e| CliError {
        code: e.exit_code(),
        daemon: false,
        message: e.to_string(),
    })?;
    if let Some(path) = &args.iidfile {
        std::fs::write(path, &result.image_id)
            .map_err(|e| CliError::usage(format!("writing the image ID to {path}: {e}")))?;
    }
    if let Some(path) = &args.grants.metadata_file {
        // BuildKit's keys for an image result.
        let metadata = serde_json::json!({
            "containerimage.config.digest": result.image_id,
            "containerimage.digest": result.image_id,
            "image.name": result.tags.join(","),
        });
        std::fs::write(
            path,
            serde_json::to_string_pretty(&metadata).unwrap_or_default(),
        )
        .map_err(|e| CliError::usage(format!("writing the metadata to {path}: {e}")))?;
    }
    if quiet {
        println!("{}", result.image_id);
    }
    Ok(0)
}
