//! The accelerator a guest runs under. `/dev/kvm` existing proves nothing: under nested
//! virtualization without VT-x/AMD-V passed through (KVM-PVM here), guest kernel code runs
//! through KVM's instruction emulator a thousand times slower than TCG, and a stock kernel
//! needs minutes to boot or dies on an instruction the emulator lacks. So KVM is chosen only
//! when a self-test runs a short real-mode (CPL0) loop in a fresh VM at hardware speed; the
//! verdict is cached for the host's boot.
//!
//! The probe uses six raw KVM ioctls rather than `kvm-ioctls`: that crate brings kvm-bindings
//! and vmm-sys-util along for what is here a hundred lines.

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How guests run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "accel", rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualization that passed the self-test.
    Kvm,
    /// QEMU's emulator, and why not KVM.
    Tcg { reason: String },
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Accel::Kvm => write!(f, "kvm"),
            Accel::Tcg { reason } => write!(f, "tcg ({reason})"),
        }
    }
}

/// Loop iterations of the probe (two instructions each).
const ITERATIONS: u32 = 200_000;
/// Guest kernel code must run at least this fast, instructions per second.
const MIN_SPEED: f64 = 100e6;
/// Past this the probe's answer no longer matters: it is slow.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// KVM when the self-test proves it fast, else TCG with the reason; cached in `cache_dir` for
/// the host's current boot.
pub fn choose(cache_dir: &Path) -> Accel {
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    choose_cached(cache_dir, &boot_id, probe)
}

#[derive(Serialize, Deserialize)]
struct Verdict {
    boot_id: String,
    #[serde(flatten)]
    accel: Accel,
}

const VERDICT_FILE: &str = "accel.json";

/// The cached verdict for `boot_id`, else `probe`'s, stored (best effort: a cache that cannot
/// be written only means probing again).
fn choose_cached(cache_dir: &Path, boot_id: &str, probe: impl FnOnce() -> Accel) -> Accel {
    let path = cache_dir.join(VERDICT_FILE);
    if let Ok(text) = fs::read_to_string(&path)
        && let Ok(verdict) = serde_json::from_str::<Verdict>(&text)
        && !boot_id.is_empty()
        && verdict.boot_id == boot_id
    {
        return verdict.accel;
    }
    let accel = probe();
    let verdict = Verdict {
        boot_id: boot_id.to_string(),
        accel: accel.clone(),
    };
    if fs::create_dir_all(cache_dir).is_ok()
        && let Ok(mut temp) = tempfile::NamedTempFile::new_in(cache_dir)
        && serde_json::to_writer(&mut temp, &verdict).is_ok()
    {
        let _ = temp.persist(&path);
    }
    accel
}

/// Runs the self-test (on a thread: a probe stuck in the kernel's emulator must not hold the
/// caller past [`PROBE_TIMEOUT`]).
fn probe() -> Accel {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(measure());
    });
    let speed = match receive.recv_timeout(PROBE_TIMEOUT) {
        Ok(Ok(speed)) => speed,
        Ok(Err(reason)) => return Accel::Tcg { reason },
        Err(_) => {
            return Accel::Tcg {
                reason: format!(
                    "KVM's self-test did not finish within {} s",
                    PROBE_TIMEOUT.as_secs()
                ),
            };
        }
    };
    if speed >= MIN_SPEED {
        Accel::Kvm
    } else {
        Accel::Tcg {
            reason: format!(
                "KVM present but not usable for stock guests: guest kernel code ran at {:.1} M instructions/s (nested or PVM virtualization)",
                speed / 1e6
            ),
        }
    }
}

// ioctl numbers from <linux/kvm.h> (KVMIO = 0xAE).
const KVM_GET_API_VERSION: libc::c_ulong = 0xAE00;
const KVM_CREATE_VM: libc::c_ulong = 0xAE01;
const KVM_GET_VCPU_MMAP_SIZE: libc::c_ulong = 0xAE04;
const KVM_CREATE_VCPU: libc::c_ulong = 0xAE41;
const KVM_SET_USER_MEMORY_REGION: libc::c_ulong = 0x4020_AE46;
const KVM_RUN: libc::c_ulong = 0xAE80;
const KVM_SET_REGS: libc::c_ulong = 0x4090_AE82;
const KVM_GET_SREGS: libc::c_ulong = 0x8138_AE83;
const KVM_SET_SREGS: libc::c_ulong = 0x4138_AE84;
const KVM_EXIT_HLT: u32 = 5;

#[repr(C)]
struct UserspaceMemoryRegion {
    slot: u32,
    flags: u32,
    guest_phys_addr: u64,
    memory_size: u64,
    userspace_addr: u64,
}

/// `struct kvm_sregs` (312 bytes); only the code segment is touched, at its offset.
#[repr(C)]
struct Sregs {
    bytes: [u8; 312],
}

/// `struct kvm_regs`: rax..r15, rip, rflags.
#[repr(C)]
#[derive(Default)]
struct Regs {
    general: [u64; 16],
    rip: u64,
    rflags: u64,
}

const GUEST_MEMORY: usize = 0x10000;
const CODE_AT: usize = 0x1000;

/// Instructions per second of a real-mode `dec ecx; jnz` loop in a fresh VM.
fn measure() -> Result<f64, String> {
    let kvm = open("/dev/kvm")?;
    let api = ioctl(&kvm, KVM_GET_API_VERSION, 0).map_err(|e| format!("/dev/kvm: {e}"))?;
    if api != 12 {
        return Err(format!("/dev/kvm speaks API {api}, not 12"));
    }
    let vm = fd(ioctl(&kvm, KVM_CREATE_VM, 0).map_err(|e| format!("KVM_CREATE_VM: {e}"))?);
    let memory = Mapping::anonymous(GUEST_MEMORY)?;
    // mov ecx, ITERATIONS; dec ecx; jnz -4; hlt  (16-bit code with operand-size prefixes)
    let mut code = vec![0x66, 0xB9];
    code.extend_from_slice(&ITERATIONS.to_le_bytes());
    code.extend_from_slice(&[0x66, 0x49, 0x75, 0xFC, 0xF4]);
    // SAFETY: the mapping is GUEST_MEMORY bytes long, writable, and the code fits at CODE_AT.
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), memory.ptr.add(CODE_AT), code.len());
    }
    let region = UserspaceMemoryRegion {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: GUEST_MEMORY as u64,
        userspace_addr: memory.ptr as u64,
    };
    ioctl(
        &vm,
        KVM_SET_USER_MEMORY_REGION,
        &region as *const _ as usize,
    )
    .map_err(|e| format!("KVM_SET_USER_MEMORY_REGION: {e}"))?;
    let vcpu = fd(ioctl(&vm, KVM_CREATE_VCPU, 0).map_err(|e| format!("KVM_CREATE_VCPU: {e}"))?);
    let run_size = ioctl(&kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
        .map_err(|e| format!("KVM_GET_VCPU_MMAP_SIZE: {e}"))? as usize;
    let run = Mapping::of_fd(&vcpu, run_size)?;

    let mut sregs = Sregs { bytes: [0; 312] };
    ioctl(&vcpu, KVM_GET_SREGS, &mut sregs as *mut _ as usize)
        .map_err(|e| format!("KVM_GET_SREGS: {e}"))?;
    // cs is the first kvm_segment: base u64 at 0, selector u16 at 12. Real mode, CS = 0.
    sregs.bytes[0..8].fill(0);
    sregs.bytes[12..14].fill(0);
    ioctl(&vcpu, KVM_SET_SREGS, &sregs as *const _ as usize)
        .map_err(|e| format!("KVM_SET_SREGS: {e}"))?;
    let regs = Regs {
        rip: CODE_AT as u64,
        rflags: 0x2,
        ..Regs::default()
    };
    ioctl(&vcpu, KVM_SET_REGS, &regs as *const _ as usize)
        .map_err(|e| format!("KVM_SET_REGS: {e}"))?;

    let started = Instant::now();
    ioctl(&vcpu, KVM_RUN, 0).map_err(|e| format!("KVM_RUN: {e}"))?;
    let elapsed = started.elapsed();
    // SAFETY: kvm_run's exit_reason is a u32 at offset 8 of the vCPU's run mapping, which is
    // at least a page long.
    let exit_reason = unsafe { std::ptr::read_volatile(run.ptr.add(8) as *const u32) };
    if exit_reason != KVM_EXIT_HLT {
        return Err(format!(
            "KVM's self-test stopped with exit reason {exit_reason}, not HLT"
        ));
    }
    Ok(2.0 * ITERATIONS as f64 / elapsed.as_secs_f64().max(1e-9))
}

fn open(path: &str) -> Result<OwnedFd, String> {
    let c_path = std::ffi::CString::new(path).expect("no NUL");
    // SAFETY: a valid C string; the result is checked.
    let raw = unsafe { libc::open(c_path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(format!("{path}: {}", std::io::Error::last_os_error()));
    }
    Ok(fd(raw))
}

fn fd(raw: i32) -> OwnedFd {
    // SAFETY: `raw` is a descriptor KVM or open(2) just returned to us, owned by no one else.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

fn ioctl(fd: &OwnedFd, request: libc::c_ulong, arg: usize) -> std::io::Result<i32> {
    // SAFETY: every request above takes either no argument or a pointer to a live struct of
    // the size the request number encodes.
    let result = unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) };
    if result < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(result)
}

/// A memory mapping unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn anonymous(len: usize) -> Result<Mapping, String> {
        Self::map(len, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)
    }

    fn of_fd(fd: &OwnedFd, len: usize) -> Result<Mapping, String> {
        Self::map(len, libc::MAP_SHARED, fd.as_raw_fd())
    }

    fn map(len: usize, flags: i32, fd: i32) -> Result<Mapping, String> {
        // SAFETY: a fresh mapping at an address the kernel picks; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        Ok(Mapping {
            ptr: ptr as *mut u8,
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are the mapping made in `map`, unmapped once.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_cached_per_host_boot() {
        let dir = tempfile::tempdir().unwrap();
        let slow = || Accel::Tcg {
            reason: "slow".to_string(),
        };
        assert_eq!(choose_cached(dir.path(), "boot-1", slow), slow());
        // Same boot: the cache answers, the probe is not run.
        let answered = choose_cached(dir.path(), "boot-1", || panic!("probed again"));
        assert_eq!(answered, slow());
        // Another boot: probed again.
        assert_eq!(
            choose_cached(dir.path(), "boot-2", || Accel::Kvm),
            Accel::Kvm
        );
        assert_eq!(
            choose_cached(dir.path(), "boot-2", || panic!("probed again")),
            Accel::Kvm
        );
    }

    #[test]
    fn the_probe_gives_a_verdict_with_a_reason() {
        // Whatever this host has, the probe answers (never panics or hangs), and a TCG verdict
        // says why.
        match probe() {
            Accel::Kvm => {}
            Accel::Tcg { reason } => assert!(!reason.is_empty()),
        }
    }
}
