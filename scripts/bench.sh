#!/usr/bin/env bash
# Side-by-side benchmark: `berth run --rm IMG true` against the peers installed here, on the
# same busybox rootfs, as ratios. Peers: `runc run` on a ready OCI bundle (the floor), podman and
# docker (dockerd from Debian's docker.io, started and stopped by this script) when present.
# Also: the shim's RSS per idle running container, over N containers.
# Usage: scripts/bench.sh [--install] [RUNS] [IDLE_CONTAINERS]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--install" ]; then
    shift
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq hyperfine runc busybox-static podman docker.io >/dev/null || true
fi
RUNS=${1:-50}
IDLE=${2:-50}
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
cargo build --release -p berth -q
berth=$PWD/target/release/berth
work=$(mktemp -d)
export BERTH_ROOT=$work/root BERTH_RUN=$work/run
dockerd_pid=""
cleanup() {
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
    [ -n "$dockerd_pid" ] && kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
    runc delete -f bench-runc >/dev/null 2>&1 || true
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for c in sh true sleep; do ln -s busybox "$rootfs/bin/$c"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
tar -C "$rootfs" -c . > "$work/rootfs.tar"
"$berth" import "$work/rootfs.tar" bench >/dev/null
"$berth" run --rm bench true

cmds=(-n berth "$berth run --rm bench true")
if command -v runc >/dev/null; then
    (cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
    cmds+=(-n runc "runc run --bundle $work/bundle bench-runc")
fi
if command -v podman >/dev/null; then
    podman rm -af >/dev/null 2>&1 || true
    # podman raises RLIMIT_NOFILE/NPROC by default, which this host forbids (no CAP_SYS_RESOURCE):
    # give it limits it can set.
    p="podman run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
    if podman import "$work/rootfs.tar" localhost/bench:latest >/dev/null 2>&1 &&
        $p localhost/bench true >/dev/null 2>&1; then
        cmds+=(-n podman "$p localhost/bench true")
    else
        echo "podman: skipped (it cannot run a container here)"
    fi
fi
if command -v dockerd >/dev/null; then
    dockerd --data-root "$work/docker" --exec-root "$work/docker-run" -H "unix://$work/docker.sock" \
        --pidfile "$work/docker.pid" --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 100); do [ -S "$work/docker.sock" ] && break; sleep 0.1; done
    d="docker -H unix://$work/docker.sock"
    if $d import "$work/rootfs.tar" bench:latest >/dev/null 2>&1 && $d run --rm --network=none bench true >/dev/null 2>&1; then
        cmds+=(-n docker "$d run --rm --network=none bench true")
    else
        echo "docker: skipped (dockerd did not run a container; see $work/dockerd.log)"
    fi
fi
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/run.json" "${cmds[@]}" >/dev/null 2>&1 || \
    hyperfine --warmup 5 --runs "$RUNS" --export-json "$work/run.json" "${cmds[@]}" >/dev/null
python3 - "$work/run.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
berth = results["berth"]["median"]
print(f"{'run --rm true':<16}{'median ms':>10}{'berth / peer':>14}")
for name, r in results.items():
    print(f"{name:<16}{r['median']*1000:>10.1f}{berth / r['median']:>14.2f}")
PY

# Shim memory: N idle containers, RSS of their shims.
for i in $(seq "$IDLE"); do "$berth" run -d bench sleep 600 >/dev/null; done
sleep 2  # idle: a shim trims its memory after a quiet second
total=0
for pid in $(pgrep -f "berth shim" || true); do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    total=$((total + rss))
done
count=$(pgrep -fc "berth shim" || echo 0)
echo "idle containers: $count, shim RSS total ${total} kB, per container $((total / (count > 0 ? count : 1))) kB"
