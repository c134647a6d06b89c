//! Seccomp profiles compiled once to BPF and cached, for the embedded runtime.
//!
//! libcontainer 0.7 translates the OCI profile rule by rule through libseccomp and compiles it in
//! every container's init process: for Docker's default profile (~350 syscalls) that is about
//! half of the time a container takes to create here. The profile of a given image and option
//! set never changes, so this module compiles it once, with the same translation libcontainer
//! uses (so the filter is the one libcontainer would have loaded), caches the BPF program under
//! the runtime's state root keyed by the profile's digest, and loads the cached program with one
//! `seccomp(2)` call right before the container's process is exec'd ([`SeccompExecutor`]).
//!
//! Loading a filter without `no_new_privs` needs CAP_SYS_ADMIN. The container's own capability
//! set usually lacks it, so [`prepare_spec`] lends it to the init (effective and permitted only,
//! never the bounding, inheritable or ambient sets) and the executor gives it back right after
//! the filter is in place, before exec: the process the user sees has exactly its spec's sets.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, Spec,
};
use sha2::Digest;

use super::RuntimeError;

/// A compiled filter: the raw `struct sock_filter` array.
#[derive(Clone, Debug)]
pub struct Program(Vec<u8>);

impl Program {
    /// Installs the filter on the calling thread. Needs CAP_SYS_ADMIN or no_new_privs.
    pub fn load(&self) -> std::io::Result<()> {
        let prog = libc::sock_fprog {
            len: (self.0.len() / std::mem::size_of::<libc::sock_filter>()) as u16,
            filter: self.0.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at a valid BPF program (exported by libseccomp) that outlives
        // the call; the kernel copies it.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

fn seccomp_err(context: &str, err: impl Into<crate::Cause>) -> RuntimeError {
    RuntimeError::Seccomp {
        context: context.to_string(),
        source: err.into(),
    }
}

/// The compiled program for `profile`, from the cache in `cache_dir` or compiled (and cached)
/// now. `None` for profiles this module leaves to libcontainer (user notification).
pub fn program(profile: &LinuxSeccomp, cache_dir: &Path) -> Result<Option<Program>, RuntimeError> {
    if uses_notify(profile) {
        return Ok(None);
    }
    let json = serde_json::to_vec(profile).map_err(|e| seccomp_err("encoding the profile", e))?;
    let key = hex::encode(sha2::Sha256::digest(&json));
    let path = cache_dir.join(format!("{key}.bpf"));
    if let Ok(bytes) = std::fs::read(&path)
        && !bytes.is_empty()
        && bytes.len() % std::mem::size_of::<libc::sock_filter>() == 0
    {
        return Ok(Some(Program(bytes)));
    }
    let filter = compile(profile)?;
    // Written to a temporary file and renamed: a concurrent start reads either nothing or the
    // whole program. (libseccomp 2.5, Debian 12's, exports only to a file descriptor.)
    let io = |context: String| move |source| RuntimeError::Io { context, source };
    std::fs::create_dir_all(cache_dir).map_err(io(format!("creating {}", cache_dir.display())))?;
    let tmp = cache_dir.join(format!(".{key}.{}", std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    filter
        .export_bpf(&file)
        .map_err(|e| seccomp_err("exporting the filter", e))?;
    drop(file);
    let bytes = std::fs::read(&tmp).map_err(io(format!("reading {}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(io(format!("renaming to {}", path.display())))?;
    Ok(Some(Program(bytes)))
}

fn uses_notify(profile: &LinuxSeccomp) -> bool {
    profile.default_action() == LinuxSeccompAction::ScmpActNotify
        || profile
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify)
}

/// Compiles `profile` to BPF with libcontainer 0.7's translation (`seccomp::initialize_seccomp`),
/// which that crate only offers as compile-and-load. Its argument handling included (see
/// `crate::seccomp::adapt_for_libcontainer` for the masked-equality operand order), so a
/// profile prepared for libcontainer gives the same filter here.
fn compile(profile: &LinuxSeccomp) -> Result<ScmpFilterContext, RuntimeError> {
    let default_action = action(profile.default_action(), profile.default_errno_ret())?;
    let mut ctx =
        ScmpFilterContext::new(default_action).map_err(|e| seccomp_err("new filter", e))?;
    if profile.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(seccomp_err(
            "profile",
            "filter flags are not supported by the embedded runtime's seccomp cache",
        ));
    }
    for &arch in profile.architectures().iter().flatten() {
        ctx.add_arch(translate_arch(arch))
            .map_err(|e| seccomp_err("adding an architecture", e))?;
    }
    ctx.set_ctl_nnp(false)
        .map_err(|e| seccomp_err("clearing the NNP attribute", e))?;
    for syscall in profile.syscalls().iter().flatten() {
        let act = action(syscall.action(), syscall.errno_ret())?;
        if act == default_action {
            continue;
        }
        for name in syscall.names() {
            // Unknown to this libseccomp or kernel: nothing to filter.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let Some(args) = syscall.args() else {
                ctx.add_rule(act, sc)
                    .map_err(|e| seccomp_err(&format!("rule for {name}"), e))?;
                continue;
            };
            let comparators: Vec<ScmpArgCompare> = args
                .iter()
                .map(|arg| {
                    let op = match arg.op() {
                        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
                        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
                        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
                        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
                        LinuxSeccompOperator::ScmpCmpMaskedEq => {
                            ScmpCompareOp::MaskedEqual(arg.value_two().unwrap_or(0))
                        }
                    };
                    ScmpArgCompare::new(arg.index() as u32, op, arg.value())
                })
                .collect();
            // One comparison per argument per rule (libseccomp): several on one argument are
            // separate rules, as runc and libcontainer do.
            let mut seen = HashSet::new();
            let distinct = args.iter().all(|a| seen.insert(a.index()));
            let result = if distinct {
                ctx.add_rule_conditional(act, sc, &comparators).map(|_| ())
            } else {
                comparators.iter().try_for_each(|c| {
                    ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))
                        .map(|_| ())
                })
            };
            result.map_err(|e| seccomp_err(&format!("rule for {name}"), e))?;
        }
    }
    Ok(ctx)
}

fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, RuntimeError> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(
            errno
                .try_into()
                .map_err(|e| seccomp_err("trace action errno", e))?,
        ),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn translate_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// Which capability sets of the init [`prepare_spec`] lent CAP_SYS_ADMIN to.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lent {
    effective: bool,
    permitted: bool,
}

/// Takes the seccomp profile out of `spec` (libcontainer must not compile it again) and, when
/// the process has neither no_new_privs nor CAP_SYS_ADMIN, lends it CAP_SYS_ADMIN to load the
/// filter with. Returns what was lent, for [`SeccompExecutor`] to give back.
pub fn prepare_spec(spec: &mut Spec) -> Lent {
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(None);
    }
    let mut lent = Lent::default();
    let Some(process) = spec.process_mut() else {
        return lent;
    };
    if process.no_new_privileges() == Some(true) {
        return lent;
    }
    let mut caps = process.capabilities().clone().unwrap_or_default();
    let mut effective = caps.effective().clone().unwrap_or_default();
    let mut permitted = caps.permitted().clone().unwrap_or_default();
    lent.effective = effective.insert(Capability::SysAdmin);
    lent.permitted = permitted.insert(Capability::SysAdmin);
    caps.set_effective(Some(effective));
    caps.set_permitted(Some(permitted));
    process.set_capabilities(Some(caps));
    lent
}

/// libcontainer's default executor, with the cached seccomp filter loaded just before exec and
/// the lent capability given back.
#[derive(Clone)]
pub struct SeccompExecutor {
    pub program: Program,
    pub lent: Lent,
}

impl Executor for SeccompExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        self.program
            .load()
            .map_err(|e| ExecutorError::Other(format!("loading the seccomp filter: {e}")))?;
        // capset(2) is allowed by any profile that lets a container drop privileges (Docker's
        // does); the filter is already in place, so a profile that forbids it fails here.
        for (lent, set) in [
            (self.lent.effective, caps::CapSet::Effective),
            (self.lent.permitted, caps::CapSet::Permitted),
        ] {
            if lent {
                caps::drop(None, set, caps::Capability::CAP_SYS_ADMIN).map_err(|e| {
                    ExecutorError::Other(format!("dropping the lent CAP_SYS_ADMIN: {e}"))
                })?;
            }
        }
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }
}

/// Where the cached programs live: beside the runtime's per-container state.
pub fn cache_dir(state_root: &Path) -> PathBuf {
    state_root.join(".seccomp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_profile_compiles_and_is_cached() {
        let mut profile = crate::seccomp::docker_default(&[]);
        crate::seccomp::adapt_for_libcontainer(&mut profile);
        let dir = tempfile::tempdir().unwrap();
        let first = program(&profile, dir.path()).unwrap().unwrap();
        assert!(
            first.0.len() > 100 * 8,
            "a real filter has hundreds of instructions"
        );
        let cached: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(cached.len(), 1);
        let again = program(&profile, dir.path()).unwrap().unwrap();
        assert_eq!(first.0, again.0);
    }

    #[test]
    fn lending_sys_admin_touches_only_effective_and_permitted() {
        let mut spec = Spec::default();
        let mut nnp = spec.clone();
        assert!(
            !prepare_spec(&mut nnp).effective,
            "no_new_privs needs no capability"
        );
        spec.process_mut()
            .as_mut()
            .unwrap()
            .set_no_new_privileges(None);
        let lent = prepare_spec(&mut spec);
        assert!(spec.linux().as_ref().unwrap().seccomp().is_none());
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap();
        assert!(
            caps.effective()
                .as_ref()
                .unwrap()
                .contains(&Capability::SysAdmin)
        );
        assert!(
            !caps
                .bounding()
                .as_ref()
                .unwrap()
                .contains(&Capability::SysAdmin)
        );
        assert!(lent.effective && lent.permitted);
    }
}
