//! `berth machine create [-d qemu] [--cpus N] [--memory SIZE] [--disk SIZE] [--kernel PATH]
//! [--image IMG] NAME`: makes the machine (config, certificates, a persistent disk) and starts
//! it; returns when its engine's API answers. docker-machine's `--image` chose the guest OS; a
//! berth machine's OS is berth's own kernel and initramfs, so `--image` names a berth image of
//! this host to preload into the machine: saved here first (a missing image creates nothing),
//! loaded through the machine's API once it answers (a failed load removes the machine).

use std::time::Instant;

use berth_machine::store::CreateOptions;

use crate::commands::CliError;

const MIB: u64 = 1024 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// Driver to create the machine with
    #[arg(short, long, default_value = "qemu")]
    driver: String,
    /// Number of vCPUs
    #[arg(long, default_value_t = 1)]
    cpus: u32,
    /// Memory (a plain number is MiB; units b, k, m, g)
    #[arg(long, default_value = "1024")]
    memory: String,
    /// Size of the persistent disk (a plain number is MiB; units b, k, m, g, t); sparse
    #[arg(long = "disk", alias = "disk-size", default_value = "20g")]
    disk: String,
    /// An image of this host's berth to preload into the machine (repeatable)
    #[arg(long = "image")]
    images: Vec<String>,
    /// The guest kernel (a vmlinux or bzImage); default: the newest Debian kernel installed
    #[arg(long)]
    kernel: Option<std::path::PathBuf>,
    name: String,
}

fn failed(message: String) -> CliError {
    CliError {
        message,
        code: 1,
        daemon: false,
    }
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    berth_machine::name::validate(&args.name)?;
    if args.cpus == 0 || args.cpus > 64 {
        return Err(berth_machine::MachineError::BadSize {
            what: "--cpus",
            value: args.cpus.to_string(),
            reason: "between 1 and 64".into(),
        }
        .into());
    }
    let memory = berth_machine::size::parse_at_least("--memory", &args.memory, 256 * MIB)?;
    let disk = berth_machine::size::parse_at_least("--disk", &args.disk, 256 * MIB)?;
    let scratch = tempfile::Builder::new()
        .prefix("berth-machine-images")
        .tempdir()
        .map_err(|e| failed(format!("a directory for the images: {e}")))?;
    let archive = scratch.path().join("images.tar");
    if !args.images.is_empty() {
        save_images(&args.images, &archive)?;
    }
    let started = Instant::now();
    println!("Creating machine {:?} ({})...", args.name, args.driver);
    let machine = machines.create(CreateOptions {
        name: args.name.clone(),
        driver: args.driver,
        cpus: args.cpus,
        memory_mib: memory / MIB,
        disk_bytes: disk,
        kernel: args.kernel,
    })?;
    if !args.images.is_empty() {
        println!("Loading {} into {:?}...", args.images.join(", "), args.name);
        if let Err(e) = machines.load_image(&args.name, &archive) {
            let _ = machines.remove(&args.name, true);
            return Err(e.into());
        }
    }
    println!(
        "Machine {:?} is running: its engine answers at tcp://127.0.0.1:{} ({:.1} s)",
        machine.name(),
        machine.config.api_port,
        started.elapsed().as_secs_f64()
    );
    println!(
        "To see how to connect your Docker client to it, run: berth machine env {}",
        machine.name()
    );
    Ok(0)
}

/// `berth save -o ARCHIVE IMAGE...` against this host's engine (a child process: the machine
/// commands never open the host's engine themselves).
fn save_images(images: &[String], archive: &std::path::Path) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(|e| failed(format!("berth's own binary: {e}")))?;
    let output = std::process::Command::new(exe)
        .arg("save")
        .arg("-o")
        .arg(archive)
        .args(images)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| failed(format!("berth save: {e}")))?;
    if !output.status.success() {
        return Err(failed(format!(
            "--image: {}",
            String::from_utf8_lossy(&output.stderr)
                .trim()
                .trim_start_matches("Error: ")
        )));
    }
    Ok(())
}
