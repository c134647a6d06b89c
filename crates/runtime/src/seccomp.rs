//! Docker's default seccomp profile, as an OCI `LinuxSeccomp`.
//!
//! The profile is the one moby ships as `profiles/seccomp/default.json` (the syscall names and
//! argument conditions are Docker's; the representation here is our own): everything not listed
//! fails with `EPERM`, a large group of harmless syscalls is allowed, a few are allowed only with
//! particular arguments, and some groups are allowed only when the container holds the matching
//! capability. Like Docker, the profile is resolved for the architecture the engine runs on:
//! groups that only concern other architectures are left out, and the capability conditions
//! ("includes"/"excludes") are evaluated against the capability set passed in.
//!
//! Syscall names unknown to the libseccomp that loads the filter are harmless: libcontainer (like
//! runc and crun) skips a name it cannot resolve. Debian 12's libseccomp 2.5.4 (+deb12u1) knows
//! every name used here, up to `futex_requeue` (kernel 6.7), so nothing had to be left out.
//!
//! libcontainer reads masked argument comparisons differently from runc and crun; a profile it
//! is going to load must go through [`adapt_for_libcontainer`] first.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

/// `errno` returned for everything the profile does not allow.
const EPERM: u32 = 1;
/// `errno` returned for `clone3` without `CAP_SYS_ADMIN`, so libc falls back to `clone`.
const ENOSYS: u32 = 38;

/// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
/// CLONE_NEWNET`: `clone` is allowed without `CAP_SYS_ADMIN` only when none of these is set.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// `AF_VSOCK`: sockets of this family are refused.
const AF_VSOCK: u64 = 40;

/// What a rule does when it matches.
#[derive(Clone, Copy)]
enum Action {
    Allow,
    Errno(u32),
}

/// When a rule is part of the profile.
#[derive(Clone, Copy)]
enum When {
    Always,
    /// Docker's `"includes": {"caps": [..]}`.
    HasCap(&'static str),
    /// Docker's `"excludes": {"caps": [..]}`.
    LacksCap(&'static str),
    /// Docker's `"includes": {"minKernel": ".."}`, as (major, minor).
    MinKernel(u32, u32),
}

/// One argument comparison: `(index, op, value, value_two)`.
type ArgCmp = (usize, LinuxSeccompOperator, u64, u64);

/// One entry of the profile.
struct Rule {
    names: &'static [&'static str],
    action: Action,
    args: &'static [ArgCmp],
    when: When,
}

impl Rule {
    const fn allow(names: &'static [&'static str], when: When) -> Rule {
        Rule {
            names,
            action: Action::Allow,
            args: &[],
            when,
        }
    }

    const fn allow_if(names: &'static [&'static str], args: &'static [ArgCmp], when: When) -> Rule {
        Rule {
            names,
            action: Action::Allow,
            args,
            when,
        }
    }
}

use LinuxSeccompOperator::{ScmpCmpEq as EQ, ScmpCmpMaskedEq as MASKED_EQ, ScmpCmpNe as NE};

/// Syscalls every container may use.
#[rustfmt::skip]
const ALWAYS_ALLOWED: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
    "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
    "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
    "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
    "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
    "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
    "io_uring_setup", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
    "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
    "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
    "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
    "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
    "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
];

/// The architecture-independent part of the profile, in Docker's order.
const RULES: &[Rule] = &[
    Rule::allow(ALWAYS_ALLOWED, When::Always),
    Rule::allow(
        &["process_vm_readv", "process_vm_writev", "ptrace"],
        When::MinKernel(4, 8),
    ),
    // Any socket family but AF_VSOCK.
    Rule::allow_if(&["socket"], &[(0, NE, AF_VSOCK, 0)], When::Always),
    // personality(2) only for PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and the
    // 0xffffffff query.
    Rule::allow_if(&["personality"], &[(0, EQ, 0x0, 0)], When::Always),
    Rule::allow_if(&["personality"], &[(0, EQ, 0x8, 0)], When::Always),
    Rule::allow_if(&["personality"], &[(0, EQ, 0x2_0000, 0)], When::Always),
    Rule::allow_if(&["personality"], &[(0, EQ, 0x2_0008, 0)], When::Always),
    Rule::allow_if(&["personality"], &[(0, EQ, 0xffff_ffff, 0)], When::Always),
    Rule::allow(&["open_by_handle_at"], When::HasCap("CAP_DAC_READ_SEARCH")),
    Rule::allow(
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
        When::HasCap("CAP_SYS_ADMIN"),
    ),
    // clone(2) without any namespace flag: (flags & CLONE_NAMESPACE_FLAGS) == 0. As in the OCI
    // spec, `value` is the mask and `valueTwo` (absent: 0) the expected result; see
    // `adapt_for_libcontainer` for the embedded runtime.
    Rule::allow_if(
        &["clone"],
        &[(CLONE_ARG_INDEX, MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0)],
        When::LacksCap("CAP_SYS_ADMIN"),
    ),
    // clone3(2) passes its flags in memory, where seccomp cannot see them: refuse it with ENOSYS
    // so that libc falls back to clone(2).
    Rule {
        names: &["clone3"],
        action: Action::Errno(ENOSYS),
        args: &[],
        when: When::LacksCap("CAP_SYS_ADMIN"),
    },
    Rule::allow(&["reboot"], When::HasCap("CAP_SYS_BOOT")),
    Rule::allow(&["chroot"], When::HasCap("CAP_SYS_CHROOT")),
    Rule::allow(
        &["delete_module", "init_module", "finit_module"],
        When::HasCap("CAP_SYS_MODULE"),
    ),
    Rule::allow(&["acct"], When::HasCap("CAP_SYS_PACCT")),
    Rule::allow(
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
        When::HasCap("CAP_SYS_PTRACE"),
    ),
    Rule::allow(&["iopl", "ioperm"], When::HasCap("CAP_SYS_RAWIO")),
    Rule::allow(
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
        When::HasCap("CAP_SYS_TIME"),
    ),
    Rule::allow(&["vhangup"], When::HasCap("CAP_SYS_TTY_CONFIG")),
    Rule::allow(
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
        When::HasCap("CAP_SYS_NICE"),
    ),
    Rule::allow(&["syslog"], When::HasCap("CAP_SYSLOG")),
    Rule::allow(&["bpf"], When::HasCap("CAP_BPF")),
    Rule::allow(&["perf_event_open"], When::HasCap("CAP_PERFMON")),
];

/// Argument carrying clone(2)'s flags (s390 swaps the first two arguments).
#[cfg(not(target_arch = "s390x"))]
const CLONE_ARG_INDEX: usize = 0;
#[cfg(target_arch = "s390x")]
const CLONE_ARG_INDEX: usize = 1;

/// The filter's architectures: the native one and the compat ABIs it can run.
#[cfg(target_arch = "x86_64")]
const ARCHITECTURES: &[Arch] = &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32];
#[cfg(target_arch = "aarch64")]
const ARCHITECTURES: &[Arch] = &[Arch::ScmpArchAarch64, Arch::ScmpArchArm];
#[cfg(target_arch = "riscv64")]
const ARCHITECTURES: &[Arch] = &[Arch::ScmpArchRiscv64];
#[cfg(target_arch = "s390x")]
const ARCHITECTURES: &[Arch] = &[Arch::ScmpArchS390x, Arch::ScmpArchS390];
// Docker's arch map has no entry for other architectures: the filter covers the native one.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "s390x"
)))]
const ARCHITECTURES: &[Arch] = &[];

/// Docker's `"includes": {"arches": [..]}` groups that apply to the architecture we run on.
#[cfg(target_arch = "x86_64")]
const ARCH_RULES: &[Rule] = &[
    Rule::allow(&["arch_prctl"], When::Always),
    Rule::allow(&["modify_ldt"], When::Always),
];
#[cfg(target_arch = "aarch64")]
const ARCH_RULES: &[Rule] = &[Rule::allow(
    &[
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "sync_file_range2",
        "breakpoint",
        "cacheflush",
        "set_tls",
    ],
    When::Always,
)];
#[cfg(target_arch = "riscv64")]
const ARCH_RULES: &[Rule] = &[Rule::allow(&["riscv_flush_icache"], When::Always)];
#[cfg(target_arch = "s390x")]
const ARCH_RULES: &[Rule] = &[Rule::allow(
    &[
        "s390_pci_mmio_read",
        "s390_pci_mmio_write",
        "s390_runtime_instr",
    ],
    When::Always,
)];
#[cfg(target_arch = "powerpc64")]
const ARCH_RULES: &[Rule] = &[Rule::allow(
    &["sync_file_range2", "swapcontext"],
    When::Always,
)];
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "s390x",
    target_arch = "powerpc64"
)))]
const ARCH_RULES: &[Rule] = &[];

/// Docker's default seccomp profile for the given final capability set ("CAP_SYS_ADMIN", ...).
///
/// Capability names are matched case-insensitively, with or without the `CAP_` prefix.
pub fn docker_default(capabilities: &[String]) -> LinuxSeccomp {
    let caps: Vec<String> = capabilities.iter().map(|c| normalize_cap(c)).collect();
    let has_cap = |cap: &str| caps.iter().any(|c| c == cap);
    let kernel = kernel_version();

    let syscalls: Vec<LinuxSyscall> = RULES
        .iter()
        .chain(ARCH_RULES)
        .filter(|rule| match rule.when {
            When::Always => true,
            When::HasCap(cap) => has_cap(cap),
            When::LacksCap(cap) => !has_cap(cap),
            // An unreadable kernel version counts as new enough, as it does for Docker.
            When::MinKernel(major, minor) => kernel.is_none_or(|v| v >= (major, minor)),
        })
        .map(to_oci)
        .collect();

    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(LinuxSeccompAction::ScmpActErrno);
    seccomp.set_default_errno_ret(Some(EPERM));
    if !ARCHITECTURES.is_empty() {
        seccomp.set_architectures(Some(ARCHITECTURES.to_vec()));
    }
    seccomp.set_syscalls(Some(syscalls));
    seccomp
}

/// Rewrites a profile for youki's libcontainer (0.7), the embedded runtime and the `youki` binary.
///
/// The OCI spec, runc and crun read an `SCMP_CMP_MASKED_EQ` argument as
/// `(arg & value) == valueTwo`. libcontainer hands the two to libseccomp the other way round,
/// `(arg & valueTwo) == value`, and since libseccomp masks the expected value too, Docker's clone
/// rule (`value` = namespace flags, `valueTwo` = 0) becomes `(arg & 0) == 0` there: every clone,
/// namespace flags included, would be allowed. Swapping the two operands of each masked
/// comparison gives libcontainer the intended condition.
///
/// Apply this to a profile that libcontainer will load, and only then: for runc or crun the
/// swapped profile would allow every clone instead.
pub fn adapt_for_libcontainer(seccomp: &mut LinuxSeccomp) {
    let Some(syscalls) = seccomp.syscalls().clone() else {
        return;
    };
    let syscalls = syscalls
        .into_iter()
        .map(|mut syscall| {
            if let Some(args) = syscall.args().clone() {
                let args = args
                    .into_iter()
                    .map(|arg| {
                        if arg.op() != LinuxSeccompOperator::ScmpCmpMaskedEq {
                            return arg;
                        }
                        build_arg(
                            arg.index(),
                            arg.op(),
                            arg.value_two().unwrap_or(0),
                            arg.value(),
                        )
                    })
                    .collect();
                syscall.set_args(Some(args));
            }
            syscall
        })
        .collect();
    seccomp.set_syscalls(Some(syscalls));
}

fn build_arg(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: u64,
) -> LinuxSeccompArg {
    let arg = LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value);
    // Docker leaves a zero `valueTwo` out of the JSON.
    let arg = if value_two != 0 {
        arg.value_two(value_two)
    } else {
        arg
    };
    arg.build()
        .expect("every field of a seccomp argument has a value")
}

fn to_oci(rule: &Rule) -> LinuxSyscall {
    let mut syscall = LinuxSyscall::default();
    syscall.set_names(rule.names.iter().map(|n| n.to_string()).collect());
    match rule.action {
        Action::Allow => {
            syscall.set_action(LinuxSeccompAction::ScmpActAllow);
        }
        Action::Errno(errno) => {
            syscall.set_action(LinuxSeccompAction::ScmpActErrno);
            syscall.set_errno_ret(Some(errno));
        }
    }
    if !rule.args.is_empty() {
        let args = rule
            .args
            .iter()
            .map(|&(index, op, value, value_two)| build_arg(index, op, value, value_two))
            .collect();
        syscall.set_args(Some(args));
    }
    syscall
}

/// "sys_admin" / "CAP_SYS_ADMIN" -> "CAP_SYS_ADMIN".
fn normalize_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// The running kernel's (major, minor) version, from uname(2).
fn kernel_version() -> Option<(u32, u32)> {
    // SAFETY: utsname is plain old data; all zeroes is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname only writes into the struct we pass it.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: the kernel NUL-terminates `release`.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy();
    parse_kernel_version(&release)
}

fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn rules_for<'a>(profile: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
        profile
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|s| s.names().iter().any(|n| n == name))
            .collect()
    }

    /// Allowed with no argument condition.
    fn allowed(profile: &LinuxSeccomp, name: &str) -> bool {
        rules_for(profile, name)
            .iter()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActAllow && s.args().is_none())
    }

    /// Not mentioned at all, so the default action (EPERM) applies.
    fn denied(profile: &LinuxSeccomp, name: &str) -> bool {
        rules_for(profile, name).is_empty()
    }

    fn allowed_names(profile: &LinuxSeccomp) -> BTreeSet<String> {
        profile
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|s| s.action() == LinuxSeccompAction::ScmpActAllow)
            .flat_map(|s| s.names().iter().cloned())
            .collect()
    }

    #[test]
    fn default_action_is_eperm() {
        let p = docker_default(&[]);
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            p.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        #[cfg(target_arch = "aarch64")]
        assert_eq!(
            p.architectures().as_deref(),
            Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
        );
    }

    #[test]
    fn common_syscalls_allowed() {
        let p = docker_default(&crate::spec::default_capabilities());
        for name in [
            "read",
            "write",
            "execve",
            "openat",
            "mmap",
            "futex",
            "exit_group",
            "wait4",
            "fork",
            "vfork",
            "rt_sigreturn",
            "io_uring_setup",
            "chroot",
            "ptrace",
        ] {
            assert!(allowed(&p, name), "{name} should be allowed");
        }
        #[cfg(target_arch = "x86_64")]
        assert!(allowed(&p, "arch_prctl"));
    }

    #[test]
    fn clone_needs_no_namespace_flags_without_sys_admin() {
        let p = docker_default(&crate::spec::default_capabilities());
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].action(), LinuxSeccompAction::ScmpActAllow);
        let args = clone[0].args().as_ref().unwrap();
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].index(), 0);
        assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        // Docker's form: mask in `value`, expected result 0 (left out).
        assert_eq!((args[0].value(), args[0].value_two()), (0x7E02_0000, None));

        let clone3 = rules_for(&p, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(38));
    }

    #[test]
    fn personality_and_socket_are_conditional() {
        let p = docker_default(&[]);
        let values: Vec<u64> = rules_for(&p, "personality")
            .iter()
            .map(|r| r.args().as_ref().unwrap()[0].value())
            .collect();
        assert_eq!(values, [0, 8, 0x20000, 0x20008, 0xffff_ffff]);
        let socket = rules_for(&p, "socket");
        assert_eq!(socket.len(), 1);
        let arg = socket[0].args().as_ref().unwrap()[0];
        assert_eq!(
            (arg.index(), arg.op(), arg.value()),
            (0, LinuxSeccompOperator::ScmpCmpNe, 40)
        );
    }

    #[test]
    fn privileged_syscalls_denied_without_caps() {
        let p = docker_default(&crate::spec::default_capabilities());
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "reboot",
            "kexec_load",
            "init_module",
            "bpf",
            "perf_event_open",
            "syslog",
            "settimeofday",
            "acct",
            "iopl",
            "vhangup",
            "open_by_handle_at",
            "mbind",
            "keyctl",
            "add_key",
            "swapon",
            "pivot_root",
            "userfaultfd",
            "kcmp",
        ] {
            assert!(denied(&p, name), "{name} should be denied");
        }
        assert!(denied(&docker_default(&[]), "chroot"));
    }

    #[test]
    fn sys_admin_unlocks_its_group() {
        let p = docker_default(&caps(&["CAP_SYS_ADMIN"]));
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "clone",
            "clone3",
            "sethostname",
            "bpf",
        ] {
            assert!(
                allowed(&p, name),
                "{name} should be allowed with CAP_SYS_ADMIN"
            );
        }
        // No conditional clone rules and no clone3 ENOSYS rule any more.
        assert_eq!(rules_for(&p, "clone").len(), 1);
        assert_eq!(rules_for(&p, "clone3").len(), 1);
        assert!(denied(&p, "reboot"));
        assert!(denied(&p, "kexec_load"));
    }

    #[test]
    fn other_capabilities_unlock_their_groups() {
        let cases: &[(&str, &[&str])] = &[
            ("CAP_SYS_BOOT", &["reboot"]),
            ("CAP_SYS_CHROOT", &["chroot"]),
            (
                "CAP_SYS_MODULE",
                &["init_module", "finit_module", "delete_module"],
            ),
            ("CAP_SYS_PACCT", &["acct"]),
            (
                "CAP_SYS_PTRACE",
                &["ptrace", "kcmp", "pidfd_getfd", "process_madvise"],
            ),
            ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
            ("CAP_SYS_TIME", &["settimeofday", "clock_settime"]),
            ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
            ("CAP_SYS_NICE", &["mbind", "set_mempolicy", "get_mempolicy"]),
            ("CAP_SYSLOG", &["syslog"]),
            ("CAP_BPF", &["bpf"]),
            ("CAP_PERFMON", &["perf_event_open"]),
            ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
        ];
        for (cap, names) in cases {
            let without = docker_default(&[]);
            let with = docker_default(&caps(&[cap]));
            for name in *names {
                assert!(allowed(&with, name), "{name} should be allowed with {cap}");
                if *name != "ptrace" {
                    assert!(
                        denied(&without, name),
                        "{name} should be denied without {cap}"
                    );
                }
            }
        }
        // Lower-case and prefix-less names work too.
        assert!(allowed(&docker_default(&caps(&["sys_admin"])), "mount"));
    }

    #[test]
    fn libcontainer_adaptation_swaps_masked_operands_only() {
        let docker = docker_default(&[]);
        let mut adapted = docker.clone();
        adapt_for_libcontainer(&mut adapted);
        let arg = rules_for(&adapted, "clone")[0].args().as_ref().unwrap()[0];
        assert_eq!((arg.value(), arg.value_two()), (0, Some(0x7E02_0000)));
        // Everything else is untouched.
        assert_eq!(rules_for(&adapted, "socket"), rules_for(&docker, "socket"));
        assert_eq!(
            rules_for(&adapted, "personality"),
            rules_for(&docker, "personality")
        );
        assert_eq!(
            adapted.syscalls().as_ref().unwrap().len(),
            docker.syscalls().as_ref().unwrap().len()
        );
        // With CAP_SYS_ADMIN there is nothing to swap.
        let admin = docker_default(&caps(&["CAP_SYS_ADMIN"]));
        let mut adapted_admin = admin.clone();
        adapt_for_libcontainer(&mut adapted_admin);
        assert_eq!(adapted_admin, admin);
    }

    #[test]
    fn kernel_version_parsing() {
        assert_eq!(parse_kernel_version("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(parse_kernel_version("4.19.112+"), Some((4, 19)));
        assert_eq!(parse_kernel_version("garbage"), None);
        assert!(kernel_version().is_some());
    }

    #[test]
    fn serializes_to_oci_json() {
        let p = docker_default(&crate::spec::default_capabilities());
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(json["defaultErrnoRet"], 1);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            json["architectures"],
            serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        let syscalls = json["syscalls"].as_array().unwrap();
        assert_eq!(syscalls[0]["action"], "SCMP_ACT_ALLOW");
        let clone3 = syscalls.iter().find(|s| s["names"][0] == "clone3").unwrap();
        assert_eq!(clone3["errnoRet"], 38);
        let socket = syscalls.iter().find(|s| s["names"][0] == "socket").unwrap();
        assert_eq!(
            socket["args"],
            serde_json::json!([{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}])
        );
        // And back.
        let back: LinuxSeccomp = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn allowed_syscall_count() {
        let none = allowed_names(&docker_default(&[]));
        let docker = allowed_names(&docker_default(&crate::spec::default_capabilities()));
        eprintln!(
            "allowed syscall names: {} without caps, {} with Docker's default caps",
            none.len(),
            docker.len()
        );
        assert!(none.len() > 350);
        assert_eq!(docker.len(), none.len() + 1); // chroot
    }

    // End to end: compile and load the profile with libcontainer's seccomp module, in a child
    // process (re-running this test binary) because a loaded filter cannot be removed.

    const CHILD_ENV: &str = "BERTH_SECCOMP_TEST_CHILD";

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    /// Runs only when re-executed by `libcontainer_loads_profile`.
    #[test]
    fn filter_child() {
        let Ok(mode) = std::env::var(CHILD_ENV) else {
            return;
        };
        let mut profile = match mode.as_str() {
            "default" | "quirk" => docker_default(&crate::spec::default_capabilities()),
            "sys_admin" => docker_default(&caps(&["CAP_SYS_ADMIN"])),
            other => panic!("unknown mode {other}"),
        };
        if mode != "quirk" {
            adapt_for_libcontainer(&mut profile);
        }
        // SAFETY: prctl with integer arguments; this is the canary child process.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        libcontainer::seccomp::initialize_seccomp(&profile).expect("load seccomp filter");

        // SAFETY: the canary is a single-threaded child: fork, waitpid, socket and close with
        // valid arguments; the forked child only calls _exit.
        unsafe {
            // Plain fork goes through clone(2) without namespace flags.
            let pid = libc::fork();
            assert!(pid >= 0, "fork failed: errno {}", errno());
            if pid == 0 {
                libc::_exit(7);
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7);

            // Sockets: AF_UNIX yes, AF_VSOCK no.
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            assert!(fd >= 0);
            libc::close(fd);
            assert_eq!(libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM, 0), -1);
            assert_eq!(errno(), libc::EPERM);

            // personality: query allowed, other values refused.
            assert_ne!(libc::personality(0xffff_ffff), -1);
            assert_eq!(libc::personality(0x0040_0000), -1); // READ_IMPLIES_EXEC
            assert_eq!(errno(), libc::EPERM);

            // Never allowed in the default profile, whatever the caps.
            assert_eq!(libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0), -1);
            assert_eq!(errno(), libc::EPERM);

            if mode == "quirk" {
                // Canary for `adapt_for_libcontainer`: loaded as is, Docker's clone rule lets
                // namespace flags through libcontainer. If this starts failing, libcontainer
                // reads MASKED_EQ operands like runc now and the adaptation must go.
                let ret = libc::syscall(
                    libc::SYS_clone,
                    (libc::SIGCHLD | libc::CLONE_NEWUTS) as libc::c_ulong,
                    0,
                    0,
                    0,
                    0,
                );
                if ret == 0 {
                    libc::_exit(0);
                }
                assert!(
                    ret > 0,
                    "libcontainer no longer swaps MASKED_EQ operands (errno {})",
                    errno()
                );
                libc::waitpid(ret as libc::pid_t, std::ptr::null_mut(), 0);
            } else if mode == "default" {
                // unshare(0) is a no-op the kernel accepts, so EPERM can only come from seccomp.
                assert_eq!(libc::unshare(0), -1);
                assert_eq!(errno(), libc::EPERM);
                assert_eq!(
                    libc::mount(
                        std::ptr::null(),
                        std::ptr::null(),
                        std::ptr::null(),
                        0,
                        std::ptr::null()
                    ),
                    -1
                );
                assert_eq!(errno(), libc::EPERM);
                assert_eq!(libc::syscall(libc::SYS_clone3, 0, 0), -1);
                assert_eq!(errno(), libc::ENOSYS);
                // clone with a namespace flag: refused before the kernel sees it.
                let ret = libc::syscall(
                    libc::SYS_clone,
                    (libc::SIGCHLD | libc::CLONE_NEWUTS) as libc::c_ulong,
                    0,
                    0,
                    0,
                    0,
                );
                if ret == 0 {
                    libc::_exit(0);
                }
                assert_eq!(ret, -1, "clone(CLONE_NEWUTS) must be refused");
                assert_eq!(errno(), libc::EPERM);
            } else {
                assert_eq!(libc::unshare(0), 0);
                // clone3 with a NULL argument reaches the kernel, which rejects it itself.
                assert_eq!(libc::syscall(libc::SYS_clone3, 0, 0), -1);
                assert_ne!(errno(), libc::ENOSYS);
            }
        }
    }

    #[test]
    fn libcontainer_loads_profile() {
        let mut modes = vec!["default", "sys_admin"];
        // The canary needs to be able to create a UTS namespace at all.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            modes.push("quirk");
        }
        for mode in modes {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "seccomp::tests::filter_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, mode)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "mode {mode}: child failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
