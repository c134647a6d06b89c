#!/usr/bin/env python3
"""The micro-VM measurements of scripts/bench.sh (group `vm`).

boot    RUNS FLOOR_JSON -- BERTH_ARGV...
        The accelerator's verdict and the floor (FLOOR_JSON, from `berth vm-floor --print`:
        {"accel": the verdict, "argv": QEMU's argv}) against a berth
        command, interleaved (floor, berth, floor, ...: both see the same background load),
        RUNS each; medians, the ratio, and the issue's targets (<= 1.3x the floor, < 2.5 s).
memory  [--guest-meminfo FILE] PID...
        Host memory of idle `--vm` containers, each named by its init's pid (the relay's, as
        `inspect .State.Pid` gives it): the relay, its QEMU child and the shim above it, RSS;
        and what dominates QEMU's (its largest resident mappings); with FILE (a guest's
        /proc/meminfo), what the guest itself holds.
machine T0 T1 T2 T3
        The machine rows from four timestamps (create at T0, answering at T1, start at T2,
        answering at T3) against their targets (< 10 s, < 4 s).
"""
import json
import os
import statistics
import subprocess
import sys
import time


def timed(argv):
    start = time.perf_counter()
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])}... exited {result.returncode}: "
                 f"{result.stderr.decode(errors='replace').strip()[-800:]}")
    return elapsed


def boot(runs, floor_json, berth_argv):
    floor_spec = json.load(open(floor_json))
    floor_argv = floor_spec["argv"]
    print(f"VM accelerator (berth's KVM self-test): {floor_spec['accel']}")
    # One of each first: page cache, the kernel cache, the accelerator verdict.
    timed(floor_argv)
    timed(berth_argv)
    floor, berth = [], []
    for _ in range(runs):
        floor.append(timed(floor_argv))
        berth.append(timed(berth_argv))
    f, b = statistics.median(floor), statistics.median(berth)
    print(f"{'run --vm --rm true':<34}{'median ms':>10}{'min ms':>9}{'/ floor':>9}")
    print(f"{'floor (QEMU, agent powers off)':<34}{f * 1000:>10.0f}{min(floor) * 1000:>9.0f}{1:>9.2f}")
    print(f"{'berth run --vm --rm IMG true':<34}{b * 1000:>10.0f}{min(berth) * 1000:>9.0f}{b / f:>9.2f}")
    ok = b / f <= 1.3 and b < 2.5
    print(f"  target <= 1.3x the floor and < 2.5 s: {'met' if ok else 'NOT met'} "
          f"({b / f:.2f}x, {b:.2f} s; {runs} runs each, interleaved)")


def status_kb(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def parent(pid):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    return int(stat[stat.rindex(")") + 2:].split()[1])


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and parent(int(entry)) == pid:
            found.append(int(entry))
    return found


def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def largest_mappings(pid, count=3):
    """QEMU's largest resident mappings: (rss kB, size kB, what)."""
    mappings, current = [], None
    try:
        lines = open(f"/proc/{pid}/smaps").read().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else "[anonymous]"
            current = {"size": (end - start) // 1024, "name": name, "rss": 0}
            mappings.append(current)
        elif fields[0] == "Rss:" and current is not None:
            current["rss"] = int(fields[1])
    mappings.sort(key=lambda m: -m["rss"])
    return mappings[:count]


def describe(mapping, guest_mib):
    size_mib = mapping["size"] / 1024
    if mapping["name"] == "[anonymous]" and abs(size_mib - guest_mib) < 1:
        return "guest RAM"
    if mapping["name"] == "[anonymous]" and size_mib > guest_mib:
        return "TCG's code cache (reserved; what is resident was used)"
    if mapping["name"] == "[heap]":
        return "QEMU's heap"
    if "vmlinux" in mapping["name"]:
        return "the guest kernel's vmlinux, mapped by QEMU (shared page cache)"
    return mapping["name"]


def pss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pids, guest_mib=256):
    """RSS as the issue counts it (QEMU + relay + shim), with QEMU's split: anonymous (the guest's
    RAM, TCG's code cache, QEMU's own heap) and file-backed (the vmlinux QEMU keeps mapped, its
    binary and libraries: page cache shared by every VM), and PSS (shared pages divided among
    the processes sharing them: what one more VM costs)."""
    rows = []
    for init in pids:
        qemu = [c for c in children(init) if "qemu-system" in cmdline(c)]
        shim = parent(init)
        if not (shim and "shim" in cmdline(shim)):
            shim = None
        procs = [init] + qemu + ([shim] if shim else [])
        rows.append({
            "init": init,
            "qemu": qemu,
            "qemu_rss": sum(status_kb(q, "VmRSS") for q in qemu),
            "qemu_anon": sum(status_kb(q, "RssAnon") for q in qemu),
            "qemu_file": sum(status_kb(q, "RssFile") for q in qemu),
            "relay": status_kb(init, "VmRSS"),
            "shim": status_kb(shim, "VmRSS") if shim else 0,
            "pss": sum(pss_kb(p) for p in procs),
        })
    mb = lambda kb: kb / 1024
    print(f"{'idle --vm container, 256 MB guest':<34}{'QEMU':>7}{'anon':>7}{'file':>7}"
          f"{'relay':>7}{'shim':>7}{'RSS':>7}{'PSS':>7}  (MB)")
    for r in rows:
        total = r["qemu_rss"] + r["relay"] + r["shim"]
        print(f"{'relay pid ' + str(r['init']):<34}{mb(r['qemu_rss']):>7.1f}{mb(r['qemu_anon']):>7.1f}"
              f"{mb(r['qemu_file']):>7.1f}{mb(r['relay']):>7.1f}{mb(r['shim']):>7.1f}"
              f"{mb(total):>7.1f}{mb(r['pss']):>7.1f}")
    if rows:
        rss = statistics.mean(r["qemu_rss"] + r["relay"] + r["shim"] for r in rows) / 1024
        pss = statistics.mean(r["pss"] for r in rows) / 1024
        print(f"  per container: RSS {rss:.1f} MB, PSS {pss:.1f} MB ({len(rows)} at once); "
              f"target < 150 MB (RSS): {'met' if rss < 150 else 'NOT met'}")
    for r in rows[:1]:
        for q in r["qemu"]:
            print(f"  what dominates QEMU's RSS (pid {q}), its largest resident mappings:")
            for m in largest_mappings(q):
                print(f"    {m['rss'] / 1024:>7.1f} MB resident of {m['size'] / 1024:>7.1f} MB  "
                      f"{describe(m, guest_mib)}")


def guest_memory(path, guest_mib=256):
    """The guest's side: what its kernel keeps for itself (the image, page structures: the
    part of -m the guest never sees as MemTotal) and what it uses (slab, the initramfs it
    runs from as shmem, page tables, processes)."""
    fields = {}
    try:
        for line in open(path):
            name, value = line.split(":", 1)
            fields[name] = int(value.split()[0])
    except (OSError, ValueError):
        print("  (the guest's /proc/meminfo could not be read)")
        return
    total, free = fields.get("MemTotal", 0), fields.get("MemFree", 0)
    mb = lambda kb: kb / 1024
    print(f"  inside the guest: {mb(guest_mib * 1024 - total):.0f} MB kept by the kernel (image, "
          f"page structures), {mb(total - free):.0f} MB in use: slab {mb(fields.get('Slab', 0)):.0f}, "
          f"shmem (the initramfs it runs from) {mb(fields.get('Shmem', 0)):.0f}, "
          f"processes {mb(fields.get('AnonPages', 0)):.0f}, "
          f"page tables {mb(fields.get('PageTables', 0)):.1f}; free {mb(free):.0f} MB")


def machine(t0, t1, t2, t3):
    create_s, start_s = t1 - t0, t3 - t2
    print(f"{'berth machine':<40}{'seconds':>9}{'target':>9}")
    for label, value, target in (("create -> docker ps answers", create_s, 10),
                                 ("start (stopped) -> docker ps answers", start_s, 4)):
        verdict = "met" if value < target else "NOT met"
        print(f"{label:<40}{value:>9.2f}{'< ' + str(target) + ' s':>9}  {verdict}")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "boot":
        split = args.index("--")
        boot(int(args[0]), args[1], args[split + 1:])
    elif command == "memory":
        meminfo = None
        if args[:1] == ["--guest-meminfo"]:
            meminfo, args = args[1], args[2:]
        memory([int(p) for p in args])
        if meminfo:
            guest_memory(meminfo)
    elif command == "machine":
        machine(*(float(a) for a in args[:4]))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
