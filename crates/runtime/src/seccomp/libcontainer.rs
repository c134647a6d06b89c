//! The seccomp profile as youki's libcontainer must be given it (it reads masked argument
//! comparisons differently from runc and crun), and the end-to-end check that a profile loads.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompOperator};

use super::default_profile::build_arg;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::default_profile::tests::{caps, rules_for};
    use crate::seccomp::docker_default;

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
            "default" | "quirk" => docker_default(&crate::capabilities::default_capabilities()),
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
                    "seccomp::libcontainer::tests::filter_child",
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
