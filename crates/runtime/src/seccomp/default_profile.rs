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
    let caps: Vec<String> = capabilities
        .iter()
        .map(|c| crate::capabilities::canonical_name(c))
        .collect();
    let has_cap = |cap: &str| caps.iter().any(|c| c == cap);
    let kernel = crate::kernel::host_version();

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

pub(super) fn build_arg(
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::BTreeSet;

    pub(crate) fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    pub(crate) fn rules_for<'a>(profile: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
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
        let p = docker_default(&crate::capabilities::default_capabilities());
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
        let p = docker_default(&crate::capabilities::default_capabilities());
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
        let p = docker_default(&crate::capabilities::default_capabilities());
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
    fn serializes_to_oci_json() {
        let p = docker_default(&crate::capabilities::default_capabilities());
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
        let docker = allowed_names(&docker_default(&crate::capabilities::default_capabilities()));
        eprintln!(
            "allowed syscall names: {} without caps, {} with Docker's default caps",
            none.len(),
            docker.len()
        );
        assert!(none.len() > 350);
        assert_eq!(docker.len(), none.len() + 1); // chroot
    }
}
