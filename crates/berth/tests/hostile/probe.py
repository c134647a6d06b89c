# What a hostile process tries from inside a default container. Run by tests/hostile.rs with
# the host's /usr bound read-only; prints one "name result" line per attempt, where result is
# "ok" or the errno's name, and "name: detail" lines for lists.
import ctypes
import errno
import os
import socket
import stat

libc = ctypes.CDLL(None, use_errno=True)
results = []


def show(name, value):
    results.append(f"{name} {value}")


def attempt(name, fn):
    try:
        fn()
        show(name, "ok")
    except OSError as e:
        show(name, errno.errorcode.get(e.errno, str(e.errno)))


def checked(ret):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def syscall(nr, *args):
    return checked(libc.syscall(nr, *args))


def open_for_write(path):
    os.close(os.open(path, os.O_WRONLY))


def writable_files(top, skip=()):
    """Regular files under `top` that open for writing (none should)."""
    found = []
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for f in files:
            p = os.path.join(root, f)
            try:
                if not stat.S_ISREG(os.lstat(p).st_mode):
                    continue
                open_for_write(p)
                found.append(p)
            except OSError:
                pass
    return found


# cgroups: no file opens for writing, no directory takes a new cgroup, no release_agent shows.
cgroup_files = 0
cgroup_writable = []
cgroup_mkdir = []
release_agents = []
for root, dirs, files in os.walk("/sys/fs/cgroup"):
    for f in files:
        p = os.path.join(root, f)
        cgroup_files += 1
        if f == "release_agent":
            release_agents.append(p)
        try:
            open_for_write(p)
            cgroup_writable.append(p)
        except OSError:
            pass
    probe = os.path.join(root, "berth-probe")
    try:
        os.mkdir(probe)
        cgroup_mkdir.append(root)
        os.rmdir(probe)
    except OSError:
        pass
show("cgroup_files", cgroup_files)
show("cgroup_writable:", " ".join(cgroup_writable))
show("cgroup_mkdir:", " ".join(cgroup_mkdir))
show("release_agent:", " ".join(release_agents))
for name, path, value in [
    ("pids_max", "/sys/fs/cgroup/pids/pids.max", "max"),
    ("cfs_quota", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"),
    ("memory_limit", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "1073741824"),
]:
    def write(path=path, value=value):
        with open(path, "w") as f:
            f.write(value)
    if os.path.exists(path):
        attempt("write_" + name, write)
        with open(path) as f:
            show("read_" + name, f.read().strip())
attempt("mkdir_systemd", lambda: os.mkdir("/sys/fs/cgroup/systemd/probe"))
with open("/proc/self/cgroup") as f:
    for line in f:
        parts = line.strip().split(":", 2)
        if parts[1] in ("name=systemd", "pids", "memory"):
            show("cgroup_of_" + parts[1].replace("name=", ""), parts[2])

# /proc/sys, /proc/sysrq-trigger, /sys
show("proc_sys_writable:", " ".join(writable_files("/proc/sys")))
def attempt_write(name, path):
    """A write into `path`; "absent" when this kernel has no such file."""
    if os.path.exists(path):
        attempt(name, lambda: open_for_write(path))
    else:
        show(name, "absent")


attempt_write("sysrq_trigger", "/proc/sysrq-trigger")
attempt_write("core_pattern", "/proc/sys/kernel/core_pattern")
show(
    "sys_writable:",
    " ".join(writable_files("/sys", skip=("/sys/devices", "/sys/bus", "/sys/class", "/sys/module",
                                          "/sys/fs/cgroup"))),
)
attempt_write("sys_uevent_helper", "/sys/kernel/uevent_helper")
attempt("sys_mkdir", lambda: os.mkdir("/sys/kernel/berth-probe"))
# Docker's masked paths: files read as /dev/null, directories are empty.
masked_seen = []
for path in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
             "/proc/latency_stats", "/proc/acpi", "/proc/scsi", "/sys/firmware",
             "/sys/devices/virtual/powercap"]:
    if os.path.isdir(path):
        masked_seen.append(f"{path}={len(os.listdir(path))}")
    elif os.path.exists(path):
        with open(path, "rb") as f:
            masked_seen.append(f"{path}={len(f.read(16))}")
show("masked:", " ".join(masked_seen))

# Mounts
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
attempt("mount_tmpfs", lambda: checked(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
attempt("remount_sys_rw", lambda: checked(libc.mount(None, b"/sys", None, MS_REMOUNT, None)))
attempt(
    "remount_cgroup_rw",
    lambda: checked(libc.mount(None, b"/sys/fs/cgroup", None, MS_REMOUNT | MS_BIND, None)),
)
attempt("umount_proc_sys", lambda: checked(libc.umount2(b"/proc/sys", 2)))

# Devices: mknod works (CAP_MKNOD, as in Docker), opening the device does not.
attempt("mknod_sda", lambda: os.mknod("/tmp/sda", stat.S_IFBLK | 0o600, os.makedev(8, 0)))
attempt("open_sda", lambda: os.close(os.open("/tmp/sda", os.O_RDONLY)))
attempt("mknod_mem", lambda: os.mknod("/tmp/mem", stat.S_IFCHR | 0o600, os.makedev(1, 1)))
attempt("open_mem", lambda: os.close(os.open("/tmp/mem", os.O_RDONLY)))

# Namespaces
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
attempt("unshare_mount", lambda: checked(libc.unshare(CLONE_NEWNS)))
attempt("unshare_user", lambda: checked(libc.unshare(CLONE_NEWUSER)))
attempt("unshare_net", lambda: checked(libc.unshare(CLONE_NEWNET)))
attempt("setns_host", lambda: syscall(308, os.open("/proc/1/ns/mnt", os.O_RDONLY), 0))

# Other processes: the host's are out of sight.
host_pid = int(os.environ["HOST_PID"])
PTRACE_ATTACH = 16
attempt("ptrace_host", lambda: syscall(101, PTRACE_ATTACH, host_pid, None, None))
attempt("kill_host", lambda: os.kill(host_pid, 0))

# Sockets
attempt("packet_socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close())
attempt(
    "raw_icmp_socket",
    lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close(),
)

# Syscalls Docker's seccomp profile and capability set refuse.
attempt("keyctl", lambda: syscall(250, 0, -3, 1))
attempt("add_key", lambda: syscall(248, b"user", b"probe", b"x", 1, -3))
attempt("open_by_handle_at", lambda: syscall(304, -100, None, 0))
attempt("init_module", lambda: syscall(175, None, 0, b""))
attempt("kexec_load", lambda: syscall(246, 0, 0, None, 0))
attempt("bpf", lambda: syscall(321, 0, None, 0))
attempt("perf_event_open", lambda: syscall(298, None, 0, -1, -1, 0))
attempt("reboot", lambda: syscall(169, 0xFEE1DEAD, 672274793, 0x1234567, None))
attempt("swapon", lambda: syscall(167, b"/tmp/sda", 0))
attempt("settimeofday", lambda: syscall(164, None, None))
attempt("sethostname", lambda: checked(libc.sethostname(b"evil", 4)))
attempt("pivot_root", lambda: syscall(155, b"/tmp", b"/tmp"))
attempt("iopl", lambda: syscall(172, 3))
attempt("syslog", lambda: syscall(103, 3, None, 0))
attempt("userfaultfd", lambda: syscall(323, 0))

print("\n".join(results))
