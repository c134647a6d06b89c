//! `berth vm-floor [--print]` (hidden): the boot-time floor `run --vm` is measured against (the
//! benchmark's `vm` group). QEMU with the very kernel, initramfs and command line `run --vm`
//! uses, the agent told to power off as soon as it is PID 1 (`berth.floor`). Without
//! `--print` it boots that once and says how long QEMU took; with `--print` it writes
//! `{"accel": the accelerator's verdict, "argv": QEMU's argv}` so that the benchmark runs QEMU
//! itself, with no berth process in the timing.

use std::time::Instant;

use berth_vm::config::Launch;
use berth_vm::{Profile, Vm, guest_kernel};

#[derive(clap::Args)]
pub struct Args {
    /// Print the accelerator's verdict and QEMU's argv as JSON instead of booting
    #[arg(long)]
    print: bool,
}

fn vm_error(e: berth_vm::VmError) -> super::CliError {
    super::CliError {
        message: e.to_string(),
        code: 1,
        daemon: false,
    }
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, super::CliError> {
    // The cache `run --vm` fills (`<BERTH_ROOT>/vm`): the same files, not a copy.
    let cache_dir = engine.root().join("vm");
    let kernel = guest_kernel(&cache_dir, None, Profile::Container).map_err(vm_error)?;
    let accel = berth_vm::accel::choose(&cache_dir);
    // As a container's guest, less what it shares: the floor mounts nothing.
    let launch = Launch {
        id: "berth-floor".into(),
        run_dir: cache_dir.join("floor"),
        cache_dir: cache_dir.clone(),
        cpus: 1,
        memory_mib: 256,
        ..Launch::default()
    };
    if args.print {
        std::fs::create_dir_all(&launch.run_dir).map_err(|e| super::CliError {
            message: format!("creating {}: {e}", launch.run_dir.display()),
            code: 1,
            daemon: false,
        })?;
        let cmdline = format!(
            "{} {}",
            berth_vm::qemu::kernel_cmdline(&accel),
            berth_vm::qemu::FLOOR_FLAG
        );
        let mut argv = vec!["qemu-system-x86_64".to_string()];
        argv.extend(berth_vm::qemu::qemu_args(
            &launch, &kernel, &accel, &cmdline,
        ));
        let spec = serde_json::json!({ "accel": accel.to_string(), "argv": argv });
        println!("{spec}");
        return Ok(0);
    }
    let start = Instant::now();
    let mut vm = Vm::spawn_floor(&launch, &kernel, &accel).map_err(vm_error)?;
    let status = vm.wait().map_err(vm_error)?;
    println!(
        "floor: QEMU exited ({status}) after {} ms under {accel}",
        start.elapsed().as_millis()
    );
    Ok(if status.success() { 0 } else { 1 })
}
