//! `berth machine create [-d qemu] [--cpus N] [--memory SIZE] [--disk SIZE] [--kernel PATH]
//! NAME`: makes the machine (config, certificates, a persistent disk) and starts it; returns
//! when its engine's API answers. `--image` is refused: see [`Args::image`].

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
    /// docker-machine's OS image. A berth machine boots berth's own kernel and initramfs, so
    /// there is no OS image to choose: this flag is refused with that explanation
    #[arg(long)]
    image: Option<String>,
    /// The guest kernel (a vmlinux or bzImage); default: the newest Debian kernel installed
    #[arg(long)]
    kernel: Option<std::path::PathBuf>,
    name: String,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    berth_machine::name::validate(&args.name)?;
    if let Some(image) = args.image {
        return Err(berth_machine::MachineError::Unsupported(format!(
            "--image {image:?} is not supported: a berth machine boots berth's own kernel and \
             initramfs (no OS image); to have an image inside, run `eval $(berth machine env {})` \
             and `docker load` or `docker pull` it",
            args.name
        ))
        .into());
    }
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
