#!/usr/bin/env bash
# The offline demo: builds a tiny image from Debian's busybox-static with `berth import` and
# runs containers from it. Needs root; uses its own state dirs under a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v busybox >/dev/null || { apt-get update -qq && apt-get install -y -qq busybox-static libseccomp-dev >/dev/null; }
cargo build --release -p berth -q
berth=$PWD/target/release/berth
export BERTH_ROOT=$(mktemp -d) BERTH_RUN=$(mktemp -d)
rootfs=$(mktemp -d)
cleanup() {
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
    rm -rf "$rootfs" "$BERTH_ROOT" "$BERTH_RUN"
}
trap cleanup EXIT
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for cmd in sh echo cat ls ps sleep hostname id uname; do ln -s busybox "$rootfs/bin/$cmd"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
set -x
tar -C "$rootfs" -c . | "$berth" import --change 'CMD ["sh"]' - demo:latest
"$berth" images
"$berth" run --rm demo echo "hello from a berth container"
"$berth" run --rm --hostname demo-box demo sh -c 'echo "pid $$ on $(hostname) as $(id -u)"; ls /'
"$berth" run -d --name sleeper demo sleep 30
"$berth" ps
"$berth" exec sleeper ps
"$berth" stop -t 1 sleeper
"$berth" ps -a
"$berth" rm sleeper
