#!/usr/bin/env bash
# Side-by-side benchmark, as ratios against the peers installed here, on the same busybox rootfs.
# Sections (BENCH, comma-separated; default all):
#   start     start latency, paired (scripts/start-latency.py: one start each in turn, START_PAIRS
#             rounds, default 20): `berth run --rm --network none IMG true` against `runc run` on
#             the same rootfs as a ready bundle, with berth's phases from BERTH_TIMING; `run --rm`
#             on the default bridge against podman and docker (when dockerd runs) on theirs;
#             START_SERIES (default 100) detached starts in a row against podman's; the idle
#             shim's RSS over those containers.
#   run       `berth run --rm --network none IMG true` against `runc run` on a ready OCI bundle
#             (the floor), `podman run --rm --network=none` and `docker run --rm --network=none`.
#   idle      the shim's RSS per idle running container, over IDLE_CONTAINERS containers.
#   build     a cold multi-stage build (RUN and COPY steps) and a fully cached rebuild, against
#             `podman build` and docker's classic builder; a rebuild reusing a cache mount of
#             200 files (RUN --mount=type=cache) against buildah.
#   api       the real docker CLI (`docker ps`, `docker run --rm IMG true`) against `berth serve`
#             and against dockerd.
#   registry  pull and push of a 200 MB, 5-layer image (scripts/bench-registry.sh).
#   bridge    `berth run --rm IMG true` on its default bridge against `docker run --rm` (dockerd's
#             default bridge, docker0; --iptables=false keeps the host's rules as they are, so
#             docker skips its NAT rules) and `podman run --rm` (its default network).
#   throughput  iperf3 (the host's, its /usr bind-mounted into the container) through a
#             published 127.0.0.1 port against straight to the container's address.
#   latency   line latency (scripts/line-latency.py, LATENCY_LINES lines, default 50): from the
#             host making a running container print a line to a client having it, for
#             `berth logs -f`, HTTP logs?follow=1, `docker logs -f` and HTTP attach against
#             `berth serve` and dockerd, and `podman logs -f`; median and p95.
#   vm        micro-VMs (`run --vm`), under the accelerator berth picks (its KVM self-test's
#             verdict is printed): the floor (QEMU with berth's own kernel, initramfs and command
#             line, the agent powering off as soon as it is PID 1: `berth vm-floor --print`)
#             against `berth run --vm --rm IMG true`, interleaved, VM_RUNS (default 10) each,
#             medians and the ratio (targets: <= 1.3x the floor, < 2.5 s); host memory per idle
#             `--vm` container with a 256 MB guest (QEMU + relay + shim RSS, and what dominates
#             QEMU's); `berth machine create` to an answering `docker ps`, and `machine start` of
#             a stopped machine to an answering `docker ps` (skipped without `berth machine`).
#   dns       the embedded DNS (127.0.0.11 on a user network, 5 containers on it): answer time
#             of DNS_QUERIES (default 2000) queries from inside a container's namespace, median
#             and p99; and `berth run --rm` on that network against the default bridge.
#   compose   `berth compose up -d` of a three-service project (one service built, one healthcheck
#             dependency, a named volume, a user network) from nothing, against docker-compose
#             1.29 driving `berth serve` and podman-compose driving podman (when installed); then
#             a second `up -d` with nothing changed and `compose ps` (targets: <= 0.3x the peers,
#             < 100 ms, < 30 ms).
# dockerd (Debian's docker.io) is started on a private socket and data root, and stopped.
# BERTH_BEFORE=/path/to/an/older/berth adds that binary (its own state root) to the run and
# bridge sections: a before/after comparison of a change, side by side in one run.
# Usage: [BENCH=start,run,idle,build,api,registry,bridge,throughput,latency,dns,vm,compose] scripts/bench.sh [--install] [RUNS] [IDLE_CONTAINERS]
set -euo pipefail
cd "$(dirname "$0")/.."
install=""
if [ "${1:-}" = "--install" ]; then
    shift
    install="--install"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq hyperfine runc busybox-static podman podman-compose docker.io >/dev/null || true
fi
RUNS=${1:-50}
IDLE=${2:-50}
BENCH=${BENCH:-start,run,idle,build,api,registry,bridge,throughput,latency,dns,vm,compose}
want() { [[ ",$BENCH," == *",$1,"* ]]; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
cargo build --release -p berth -q
berth=${CARGO_TARGET_DIR:-$PWD/target}/release/berth
work=$(mktemp -d)
export BERTH_ROOT=$work/root BERTH_RUN=$work/run
dockerd_pid=""
serve_pid=""
replay_pid=""
had_docker0=""
[ -e /sys/class/net/docker0 ] && had_docker0=1
cleanup() {
    "$berth" machine rm -f bench-machine >/dev/null 2>&1 || true
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
    # The root's bridges and firewall table (its containers' namespaces, and veths, are gone).
    "$berth" network prune -f --include-default-bridge >/dev/null 2>&1 || true
    if [ -n "${BERTH_BEFORE:-}" ]; then
        BERTH_ROOT="$work/root-before" BERTH_RUN="$work/run-before" \
            "$BERTH_BEFORE" network prune -f --include-default-bridge >/dev/null 2>&1 || true
    fi
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    [ -n "$replay_pid" ] && kill "$replay_pid" 2>/dev/null && wait "$replay_pid" 2>/dev/null || true
    if [ -n "$dockerd_pid" ]; then
        docker -H "unix://$work/docker.sock" rm -f $(docker -H "unix://$work/docker.sock" ps -aq) >/dev/null 2>&1 || true
        kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
        # The bridge section's dockerd leaves docker0 behind: a bridge (never a veth), deleted
        # only when it made it and nothing is attached any more.
        if [ -z "$had_docker0" ] && [ -d /sys/class/net/docker0/brif ] &&
            [ -z "$(ls /sys/class/net/docker0/brif)" ]; then
            ip link del docker0 type bridge 2>/dev/null || true
        fi
    fi
    podman rm -af >/dev/null 2>&1 || true
    podman rmi -f localhost/bench localhost/bench-built localhost/bench-cm >/dev/null 2>&1 || true
    runc delete -f bench-runc >/dev/null 2>&1 || true
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Prints a hyperfine JSON export as a table of medians and berth / peer ratios.
ratios() {
    python3 - "$1" "$2" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
berth = results["berth"]["median"]
print(f"{sys.argv[2]:<28}{'median ms':>10}{'berth / peer':>14}")
for name, r in results.items():
    print(f"{name:<28}{r['median']*1000:>10.1f}{berth / r['median']:>14.2f}")
PY
}

# The shims of this run's berth (this binary's path leads their command line), not those of
# another berth on the machine (a test suite's, a second checkout's).
own_shims() { pgrep -f "^$berth shim " || true; }

rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for c in sh true sleep cat echo; do ln -s busybox "$rootfs/bin/$c"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
tar -C "$rootfs" -c . > "$work/rootfs.tar"
"$berth" import "$work/rootfs.tar" bench >/dev/null
"$berth" run --rm bench true
before=()
if [ -n "${BERTH_BEFORE:-}" ]; then
    before=(env BERTH_ROOT="$work/root-before" BERTH_RUN="$work/run-before" "$BERTH_BEFORE")
    "${before[@]}" import "$work/rootfs.tar" bench >/dev/null
    "${before[@]}" run --rm bench true
fi

have_podman=""
# podman raises RLIMIT_NOFILE/NPROC by default, which this host forbids (no CAP_SYS_RESOURCE):
# give it limits it can set.
podman_limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
if command -v podman >/dev/null; then
    podman rm -af >/dev/null 2>&1 || true
    if podman import "$work/rootfs.tar" localhost/bench:latest >/dev/null 2>&1 &&
        podman run --rm --network=none $podman_limits localhost/bench true >/dev/null 2>&1; then
        have_podman=1
    else
        echo "podman: skipped (it cannot run a container here)"
    fi
fi
have_docker=""
d="docker -H unix://$work/docker.sock"
if command -v dockerd >/dev/null && { want start || want run || want build || want api || want bridge || want latency; }; then
    # Its default bridge only when the bridge section compares against it.
    docker_bridge="--bridge=none"
    { want bridge || want start; } && docker_bridge=""
    dockerd --data-root "$work/docker" --exec-root "$work/docker-run" -H "unix://$work/docker.sock" \
        --pidfile "$work/docker.pid" --iptables=false $docker_bridge >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 100); do [ -S "$work/docker.sock" ] && break; sleep 0.1; done
    if $d import "$work/rootfs.tar" bench:latest >/dev/null 2>&1 && $d run --rm --network=none bench true >/dev/null 2>&1; then
        have_docker=1
    else
        echo "docker: skipped (dockerd did not run a container; see $work/dockerd.log)"
    fi
fi

if want start; then
    pairs=${START_PAIRS:-20}
    if command -v runc >/dev/null; then
        (cd "$work/bundle" && [ -e config.json ] || { runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json; })
        python3 scripts/start-latency.py paired --runs "$pairs" --timing "$work/timing" \
            --title "run --rm --network none IMG true" \
            berth "$berth run --rm --network none bench true" runc "runc run --bundle $work/bundle bench-runc"
    else
        echo "start: no runc to compare against"
    fi
    peers=()
    [ -n "$have_podman" ] && peers+=(podman "podman run --rm $podman_limits localhost/bench true")
    [ -n "$have_docker" ] && peers+=(docker "$d run --rm bench true")
    python3 scripts/start-latency.py paired --runs "$pairs" --title "run --rm IMG true, default bridge" \
        berth "$berth run --rm bench true" "${peers[@]}"
    series=${START_SERIES:-100}
    peers=()
    [ -n "$have_podman" ] && peers+=(podman "podman run -d $podman_limits localhost/bench sleep 600")
    python3 scripts/start-latency.py series --count "$series" --title "run -d IMG sleep 600" \
        --cleanup "podman=podman rm -af -t 0" berth "$berth run -d bench sleep 600" "${peers[@]}"
    sleep 2 # idle: a shim trims its memory after a quiet second
    total=0
    count=0
    for pid in $(own_shims); do
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + rss))
        count=$((count + 1))
    done
    echo "idle shim RSS over $count containers: total ${total} kB, per container $((total / (count > 0 ? count : 1))) kB"
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
fi

if want run; then
    cmds=(-n berth "$berth run --rm --network none bench true")
    [ ${#before[@]} -gt 0 ] && cmds+=(-n berth-before "${before[*]} run --rm --network none bench true")
    if command -v runc >/dev/null; then
        (cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
        cmds+=(-n runc "runc run --bundle $work/bundle bench-runc")
    fi
    [ -n "$have_podman" ] && cmds+=(-n podman "podman run --rm --network=none $podman_limits localhost/bench true")
    [ -n "$have_docker" ] && cmds+=(-n docker "$d run --rm --network=none bench true")
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/run.json" "${cmds[@]}" >/dev/null 2>&1 ||
        hyperfine --warmup 5 --runs "$RUNS" --export-json "$work/run.json" "${cmds[@]}" >/dev/null
    ratios "$work/run.json" "run --rm true"
fi

if want bridge; then
    cmds=(-n berth "$berth run --rm bench true")
    [ ${#before[@]} -gt 0 ] && cmds+=(-n berth-before "${before[*]} run --rm bench true")
    [ -n "$have_podman" ] && cmds+=(-n podman "podman run --rm $podman_limits localhost/bench true")
    [ -n "$have_docker" ] && cmds+=(-n docker "$d run --rm bench true")
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/bridge.json" "${cmds[@]}" >/dev/null 2>&1 ||
        hyperfine --warmup 5 --runs "$RUNS" --export-json "$work/bridge.json" "${cmds[@]}" >/dev/null
    ratios "$work/bridge.json" "run --rm true, bridge"
fi

if want throughput && command -v iperf3 >/dev/null; then
    # The host's dynamic iperf3 runs in the container on the host's /usr (merged-usr Debian).
    net_rootfs=$work/net-rootfs
    mkdir -p "$net_rootfs/bin" "$net_rootfs/etc" "$net_rootfs/tmp"
    cp "$(command -v busybox)" "$net_rootfs/bin/busybox"
    ln -s busybox "$net_rootfs/bin/sh"
    ln -s usr/lib "$net_rootfs/lib"
    ln -s usr/lib64 "$net_rootfs/lib64"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$net_rootfs/etc/passwd"
    tar -C "$net_rootfs" -c . | "$berth" import - bench-net >/dev/null
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$berth" run -d --name bench-iperf -v /usr:/usr:ro -p "127.0.0.1:$port:5201" bench-net \
        sh -c 'exec /usr/bin/iperf3 -s' >/dev/null
    ip=$("$berth" inspect -f '{{.NetworkSettings.IPAddress}}' bench-iperf)
    for _ in $(seq 50); do iperf3 -c "$ip" -t 1 >/dev/null 2>&1 && break; sleep 0.1; done
    gbps() {
        iperf3 -c "$1" -p "$2" -t "${IPERF_SECONDS:-5}" -J |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9)'
    }
    direct=() published=()
    for _ in 1 2 3; do # alternated, so both see the same background load
        direct+=("$(gbps "$ip" 5201)")
        published+=("$(gbps 127.0.0.1 "$port")")
    done
    python3 - "${direct[*]}" "${published[*]}" <<'PY'
import statistics, sys
direct = statistics.median(map(float, sys.argv[1].split()))
published = statistics.median(map(float, sys.argv[2].split()))
print(f"{'iperf3 TCP, median of 3':<28}{'Gbit/s':>10}{'/ direct':>14}")
print(f"{'container address':<28}{direct:>10.2f}{1:>14.2f}")
print(f"{'published 127.0.0.1 port':<28}{published:>10.2f}{published / direct:>14.2f}")
PY
    "$berth" rm -f bench-iperf >/dev/null
fi

if want build && "$berth" build --help >/dev/null 2>&1; then
    # A multi-stage project: two independent stages with RUN and COPY, a final stage that
    # copies from both, runs, and copies the context.
    ctx=$work/project
    mkdir -p "$ctx/src"
    head -c 4000000 /dev/urandom > "$ctx/src/blob1"
    head -c 4000000 /dev/urandom > "$ctx/src/blob2"
    for i in $(seq 50); do echo "file $i" > "$ctx/src/f$i.txt"; done
    cat > "$ctx/Dockerfile" <<'DF'
FROM bench AS one
RUN echo one > /one && mkdir -p /out && cat /one > /out/one
COPY src/blob1 /blob1
FROM bench AS two
RUN echo two > /two
COPY src/blob2 /blob2
FROM bench
ENV GREETING=hello
COPY --from=one /out/one /one
COPY --from=two /two /two
RUN cat /one /two > /both
COPY src /src
WORKDIR /src
CMD ["sh"]
DF
    cold=(-n berth "$berth build -q --no-cache -t bench-built $ctx")
    cached=(-n berth "$berth build -q -t bench-built $ctx")
    if [ -n "$have_podman" ]; then
        p="podman build -q --pull=never --network=none $podman_limits -t localhost/bench-built"
        cold+=(-n "podman build" "$p --no-cache $ctx")
        cached+=(-n "podman build" "$p $ctx")
    fi
    if [ -n "$have_docker" ]; then
        cold+=(-n "docker build (classic)" "env DOCKER_BUILDKIT=0 $d build -q --network=none --no-cache -t bench-built $ctx")
        cached+=(-n "docker build (classic)" "env DOCKER_BUILDKIT=0 $d build -q --network=none -t bench-built $ctx")
    fi
    hyperfine -N --warmup 1 --runs 5 --export-json "$work/build-cold.json" "${cold[@]}" >/dev/null
    ratios "$work/build-cold.json" "build, cold (--no-cache)"
    hyperfine -N --warmup 2 --runs 10 --export-json "$work/build-cached.json" "${cached[@]}" >/dev/null
    ratios "$work/build-cached.json" "build, every step cached"

    # Issue 17: a cache mount that 200 small files are installed into; every measured build
    # has a changed source file, so the RUN step reruns and finds the files the first build
    # left in the cache mount. Against buildah (BuildKit is not installed), side by side.
    cmctx=$work/cache-mount
    mkdir -p "$cmctx"
    cat > "$cmctx/Dockerfile" <<'DF'
ARG BASE=bench
FROM $BASE
COPY app.txt /app.txt
RUN --mount=type=cache,target=/cache sh -c 'if [ ! -e /cache/done ]; then i=0; while [ $i -lt 200 ]; do echo $i > /cache/f$i; i=$((i+1)); done; touch /cache/done; fi; cat /app.txt > /out'
DF
    echo 0 > "$cmctx/app.txt"
    change="sh -c 'date +%s%N > $cmctx/app.txt'"
    cm=(-n berth --prepare "$change" "$berth build -q -t bench-cm $cmctx")
    "$berth" build -q -t bench-cm "$cmctx" >/dev/null
    if [ -n "$have_podman" ] && command -v buildah >/dev/null; then
        b="buildah build -q --layers --network=none $podman_limits --build-arg BASE=localhost/bench -t localhost/bench-cm"
        $b "$cmctx" >/dev/null
        cm+=(-n "buildah build" --prepare "$change" "$b $cmctx")
    fi
    hyperfine -N --warmup 1 --runs 10 --export-json "$work/build-cache-mount.json" "${cm[@]}" >/dev/null
    ratios "$work/build-cache-mount.json" "build, cache mount reused"
fi

# `berth serve` on $work/berth.sock, once for the sections that use it.
start_serve() {
    [ -n "$serve_pid" ] && return
    "$berth" serve -H "unix://$work/berth.sock" >"$work/serve.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 100); do [ -S "$work/berth.sock" ] && break; sleep 0.05; done
}

if want api && "$berth" serve --help >/dev/null 2>&1; then
    start_serve
    b="docker -H unix://$work/berth.sock"
    for i in 1 2 3; do "$berth" run -d bench sleep 600 >/dev/null; done
    ps_cmds=(-n berth "$b ps")
    run_cmds=(-n berth "$b run --rm bench true")
    if [ -n "$have_docker" ]; then
        for i in 1 2 3; do $d run -d --network=none bench sleep 600 >/dev/null; done
        ps_cmds+=(-n dockerd "$d ps")
        run_cmds+=(-n dockerd "$d run --rm --network=none bench true")
    fi
    # The client's floor: a server that does no work replays berth's own answers to the two
    # requests `docker ps` makes. No server can make `docker ps` faster than this.
    mkdir -p "$work/replay"
    for path in /_ping /v1.41/containers/json; do
        curl -s -i --unix-socket "$work/berth.sock" "http://berth$path" >"$work/replay/${path//\//_}"
    done
    python3 scripts/replay-server.py "$work/replay.sock" "$work/replay" &
    replay_pid=$!
    for _ in $(seq 100); do [ -S "$work/replay.sock" ] && break; sleep 0.05; done
    ps_cmds+=(-n "no-op server (floor)" "docker -H unix://$work/replay.sock ps")
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/api-ps.json" "${ps_cmds[@]}" >/dev/null
    ratios "$work/api-ps.json" "docker ps through"
    python3 - "$work/api-ps.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
if "dockerd" in results:
    floor, dockerd = results["no-op server (floor)"], results["dockerd"]
    print(f"  the docker CLI alone (floor) is {floor / dockerd:.2f}x dockerd: no server reaches below that;")
    print(f"  time in the server: berth {(results['berth'] - floor) * 1000:.1f} ms, dockerd {(dockerd - floor) * 1000:.1f} ms")
PY
    kill "$replay_pid" 2>/dev/null && wait "$replay_pid" 2>/dev/null || true
    replay_pid=""
    hyperfine -N --warmup 3 --runs "$((RUNS / 2 > 5 ? RUNS / 2 : 5))" --export-json "$work/api-run.json" "${run_cmds[@]}" >/dev/null
    ratios "$work/api-run.json" "docker run --rm true through"
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
fi

if want latency && "$berth" serve --help >/dev/null 2>&1; then
    start_serve
    lines=${LATENCY_LINES:-50}
    # Echoes each line the host writes into the fifo. `<>`: the shell holds a writer as well,
    # so its read never sees end-of-file when a measurement closes the host's end.
    echo_lines='while read l; do echo "$l"; done <> /trigger/fifo'
    for engine in berth docker podman; do
        mkdir -p "$work/trigger-$engine"
        mkfifo "$work/trigger-$engine/fifo"
    done
    measure() {
        local engine=$1
        shift
        python3 scripts/line-latency.py measure --fifo "$work/trigger-$engine/fifo" --lines "$lines" \
            --results "$work/latency.jsonl" "$@"
    }
    id=$("$berth" run -d --network none -v "$work/trigger-berth:/trigger" bench sh -c "$echo_lines")
    b="docker -H unix://$work/berth.sock"
    measure berth --label "berth logs -f" --kind "logs -f CLI" -- "$berth" logs -f --tail 0 "$id"
    measure berth --label "berth serve, HTTP logs" --kind "HTTP logs" --logs "$work/berth.sock" "$id"
    measure berth --label "berth serve, docker logs -f" --kind "docker logs -f" -- $b logs -f --tail 0 "$id"
    measure berth --label "berth serve, HTTP attach" --kind "HTTP attach" --attach "$work/berth.sock" "$id"
    if [ -n "$have_docker" ]; then
        id=$($d run -d --network=none -v "$work/trigger-docker:/trigger" bench sh -c "$echo_lines")
        measure docker --label "dockerd, HTTP logs" --kind "HTTP logs" --logs "$work/docker.sock" "$id"
        measure docker --label "dockerd, docker logs -f" --kind "docker logs -f" -- $d logs -f --tail 0 "$id"
        measure docker --label "dockerd, HTTP attach" --kind "HTTP attach" --attach "$work/docker.sock" "$id"
        $d rm -f "$id" >/dev/null
    fi
    if [ -n "$have_podman" ]; then
        id=$(podman run -d --network=none $podman_limits -v "$work/trigger-podman:/trigger" localhost/bench \
            sh -c "$echo_lines")
        measure podman --label "podman logs -f" --kind "logs -f CLI" -- podman logs -f --tail 0 "$id"
        podman rm -f -t 0 "$id" >/dev/null
    fi
    python3 scripts/line-latency.py table --results "$work/latency.jsonl" --title "line latency, $lines lines"
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
fi

if want idle; then
    # Shim memory: N idle containers, RSS of their shims.
    for i in $(seq "$IDLE"); do "$berth" run -d bench sleep 600 >/dev/null; done
    sleep 2 # idle: a shim trims its memory after a quiet second
    total=0
    count=0
    for pid in $(own_shims); do
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + rss))
        count=$((count + 1))
    done
    echo "idle containers: $count, shim RSS total ${total} kB, per container $((total / (count > 0 ? count : 1))) kB"
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
fi

if want registry && [ -x scripts/bench-registry.sh ]; then
    BERTH_BIN=$berth scripts/bench-registry.sh $install
fi

if want dns; then
    "$berth" network create bench-dns >/dev/null
    for i in 1 2 3 4; do "$berth" run -d --network bench-dns --name "dns-peer$i" bench sleep 600 >/dev/null; done
    id=$("$berth" run -d --network bench-dns bench sleep 600)
    # One process in the container's namespace asks for a peer, one query after the other.
    nsenter --net="$BERTH_RUN/netns/$id" python3 - "${DNS_QUERIES:-2000}" <<'PY'
import socket, struct, sys, time
query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\tdns-peer2\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter()
    s.sendto(query, ("127.0.0.11", 53))
    s.recv(512)
    times.append(time.perf_counter() - t)
times.sort()
print(f"embedded DNS: {len(times)} queries, median {times[len(times) // 2] * 1e6:.0f} us, "
      f"p99 {times[int(len(times) * 0.99)] * 1e6:.0f} us")
PY
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/dns.json" \
        -n berth "$berth run --rm --network bench-dns bench true" \
        -n "berth, default bridge" "$berth run --rm bench true" >/dev/null 2>&1 ||
        hyperfine --warmup 3 --runs "$RUNS" --export-json "$work/dns.json" \
            -n berth "$berth run --rm --network bench-dns bench true" \
            -n "berth, default bridge" "$berth run --rm bench true" >/dev/null
    ratios "$work/dns.json" "run on a user network (DNS)"
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
    "$berth" network rm bench-dns >/dev/null
fi

if want vm; then
    if ! "$berth" run --help 2>&1 | grep -q -- "--vm"; then
        echo "vm: skipped (this berth has no run --vm)"
    else
        # The first run builds and caches the guest's vmlinux and initramfs, and the KVM verdict.
        "$berth" run --vm --rm bench true >/dev/null
        # {"accel": the self-test's verdict, "argv": QEMU with berth's kernel, initramfs and
        # command line, the agent told to power off at once}.
        "$berth" vm-floor --print >"$work/floor.json"
        python3 scripts/vm-bench.py boot "${VM_RUNS:-10}" "$work/floor.json" -- \
            "$berth" run --vm --rm bench true
        vm_pids=()
        for _ in $(seq "${VM_IDLE:-2}"); do
            id=$("$berth" run -d --vm -m 256m bench sleep 600)
            vm_pids+=("$("$berth" inspect -f '{{.State.Pid}}' "$id")")
        done
        sleep 3 # idle: the guests have booted and the shims trimmed their memory
        # The guest's own view of its memory (the last one's), beside the host's.
        "$berth" exec "$id" cat /proc/meminfo >"$work/guest-meminfo" 2>/dev/null || true
        python3 scripts/vm-bench.py memory --guest-meminfo "$work/guest-meminfo" "${vm_pids[@]}"
        "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
        if ! "$berth" machine --help >/dev/null 2>&1; then
            echo "machine: skipped (this berth has no machine command)"
        else
            # The real docker CLI when installed, else berth's (both honour DOCKER_HOST + TLS).
            client=$(command -v docker || echo "$berth")
            now() { date +%s.%N; }
            # Until the API answers (at most a minute); in a subshell: the machine's env stays
            # out of the rest of the run.
            answers() {
                (
                    eval "$("$berth" machine env bench-machine)"
                    for _ in $(seq 1200); do
                        "$client" ps >/dev/null 2>&1 && exit 0
                        sleep 0.05
                    done
                    exit 1
                )
            }
            t0=$(now)
            "$berth" machine create bench-machine >/dev/null
            answers || echo "machine: docker ps never answered after create"
            t1=$(now)
            "$berth" machine stop bench-machine >/dev/null
            t2=$(now)
            "$berth" machine start bench-machine >/dev/null
            answers || echo "machine: docker ps never answered after start"
            t3=$(now)
            "$berth" machine rm -f bench-machine >/dev/null
            python3 scripts/vm-bench.py machine "$t0" "$t1" "$t2" "$t3"
        fi
    fi
fi

if want compose && "$berth" compose --help >/dev/null 2>&1; then
    project=$work/compose
    mkdir -p "$project/app"
    printf 'FROM bench\nRUN echo built > /built\n' >"$project/app/Dockerfile"
    cat >"$project/compose.yaml" <<'YAML'
services:
  app:
    build: ./app
    image: bench-built
    command: ["sleep", "600"]
    networks: [back]
    depends_on:
      db: {condition: service_healthy}
  db:
    image: bench
    command: ["sh", "-c", "touch /data/ready; exec sleep 600"]
    healthcheck: {test: ["CMD", "cat", "/data/ready"], interval: 200ms, retries: 50}
    volumes: [data:/data]
    networks: [back]
  web:
    image: bench
    command: ["sleep", "600"]
    networks: [back]
volumes:
  data: {}
networks:
  back: {}
YAML
    bc="$berth compose --project-directory $project -f $project/compose.yaml -p benchb"
    $bc build -q
    cmds=(-n berth --prepare "$bc down -v -t 0" "$bc up -d")
    if command -v docker-compose >/dev/null; then
        start_serve
        dc="env DOCKER_HOST=unix://$work/berth.sock docker-compose --no-ansi -f $project/compose.yaml -p benchd"
        cmds+=(-n "docker-compose 1.29" --prepare "$dc down -v -t 0" "$dc up -d")
    fi
    if command -v podman-compose >/dev/null && [ -n "$have_podman" ]; then
        podman tag localhost/bench:latest bench:latest >/dev/null 2>&1 || true
        pc="podman-compose -f $project/compose.yaml -p benchp"
        cmds+=(-n podman-compose --prepare "$pc down -v -t 0" "$pc up -d")
    fi
    hyperfine --warmup 1 --runs "${COMPOSE_RUNS:-10}" --export-json "$work/compose.json" "${cmds[@]}" >/dev/null
    ratios "$work/compose.json" "compose up -d, 3 services"
    $bc up -d >/dev/null 2>&1
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/compose-again.json" \
        -n "up -d, unchanged" "$bc up -d" -n "compose ps" "$bc ps" >/dev/null
    python3 - "$work/compose-again.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"berth compose {r['command']:<22}{r['median']*1000:>10.1f} ms")
PY
    $bc down -v -t 0 >/dev/null 2>&1 || true
    [ -n "${dc:-}" ] && $dc down -v -t 0 >/dev/null 2>&1 || true
    [ -n "${pc:-}" ] && $pc down -v -t 0 >/dev/null 2>&1 || true
fi
