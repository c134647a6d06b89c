#!/usr/bin/env bash
# Registry transfer benchmark: pull and push of a 200 MB, 5-layer image (random data, so
# compression cannot help anyone) against Debian's docker-registry on a free 127.0.0.1 port, with
# berth side by side with podman and docker (dockerd from Debian's docker.io, started with its
# own data root and stopped by this script) when installed. Prints medians and berth's ratios.
#
# Pull: into an empty store each run (a fresh BERTH_ROOT / podman root; docker after rmi).
# Push: each tool pushes the image it just pulled, each run to a fresh registry, so no tool finds
# a blob already there or mounts one.
#
# Usage: scripts/bench-registry.sh [--install] [RUNS]
#   BERTH_BIN=path: time another berth build; PEERS="podman docker": which peers to run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--install" ]; then
    shift
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker-registry podman docker.io >/dev/null || true
fi
RUNS=${1:-3}
PEERS=${PEERS:-podman docker}
LAYERS=5
LAYER_MB=40
command -v docker-registry >/dev/null || { echo "needs docker-registry (apt-get install docker-registry)"; exit 1; }
if [ -z "${BERTH_BIN:-}" ]; then
    cargo build -p berth -q
    BERTH_BIN=$PWD/target/debug/berth
fi
berth=$BERTH_BIN
work=$(mktemp -d /tmp/bench-registry.XXXXXX)
dockerd_pid=""
cleanup() {
    # start_registry runs in a command substitution (a subshell): its pids are kept in a file.
    for p in $(cat "$work/registry.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry NAME: a registry with its own storage; prints its host:port.
start_registry() {
    local dir=$work/registry-$1 port
    port=$(free_port)
    mkdir -p "$dir"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
EOF
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    echo $! >>"$work/registry.pids"
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
        sleep 0.05
    done
    echo "127.0.0.1:$port"
}

# seconds CMD...: wall time of one run, output discarded; fails the script when CMD fails.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/last.log" 2>&1 || { echo "failed: $*" >&2; cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The image: a docker-archive with LAYERS layers of LAYER_MB MB of random data, loaded by berth.
echo "making a $((LAYERS * LAYER_MB)) MB, $LAYERS-layer image..."
export BERTH_ROOT=$work/berth-src BERTH_RUN=$work/berth-src-run
archive=$work/archive
mkdir -p "$archive"
diff_ids="" layers="" history=""
for i in $(seq 1 $LAYERS); do
    mkdir -p "$archive/c$i" "$archive/l$i"
    head -c $((LAYER_MB * 1000 * 1000)) /dev/urandom >"$archive/c$i/data$i.bin"
    tar -C "$archive/c$i" -cf "$archive/l$i/layer.tar" "data$i.bin"
    rm -rf "$archive/c$i"
    diff_ids+="${diff_ids:+,}\"sha256:$(sha256sum "$archive/l$i/layer.tar" | cut -d' ' -f1)\""
    layers+="${layers:+,}\"l$i/layer.tar\""
    history+="${history:+,}{\"created_by\":\"layer $i\"}"
done
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
    "$diff_ids" "$history" >"$archive/config.json"
printf '[{"Config":"config.json","RepoTags":["bench:1"],"Layers":[%s]}]' "$layers" >"$archive/manifest.json"
(cd "$archive" && tar -cf "$work/bench.tar" manifest.json config.json l*)
rm -rf "$archive"
"$berth" load -i "$work/bench.tar" >/dev/null
rm -f "$work/bench.tar"
source_registry=$(start_registry source)
image=$source_registry/bench:1
"$berth" tag bench:1 "$image"
"$berth" push "$image" >/dev/null

declare -A pull push
# berth
for i in $(seq "$RUNS"); do
    export BERTH_ROOT=$work/berth-pull-$i BERTH_RUN=$work/berth-pull-run-$i
    pull[berth]+="$(seconds "$berth" pull "$image") "
    # Push what was just pulled, as the peers do below.
    target=$(start_registry "berth-push-$i")/bench:1
    "$berth" tag "$image" "$target"
    push[berth]+="$(seconds "$berth" push "$target") "
    rm -rf "$work/berth-pull-$i" "$work/berth-pull-run-$i"
done
export BERTH_ROOT=$work/berth-src BERTH_RUN=$work/berth-src-run

# podman
if [[ " $PEERS " == *" podman "* ]] && command -v podman >/dev/null; then
    for i in $(seq "$RUNS"); do
        p=(podman --root "$work/podman-$i/root" --runroot "$work/podman-$i/run" --storage-driver overlay)
        pull[podman]+="$(seconds "${p[@]}" pull --tls-verify=false "$image") "
        target=$(start_registry "podman-push-$i")/bench:1
        "${p[@]}" tag "$image" "$target"
        push[podman]+="$(seconds "${p[@]}" push --tls-verify=false "$target") "
        "${p[@]}" rmi -af >/dev/null 2>&1 || true
        grep " $work/podman-$i" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        rm -rf "$work/podman-$i"
    done
else
    echo "podman: skipped (not installed)"
fi

# docker: its own dockerd, no bridge and no iptables (127.0.0.0/8 registries are insecure by default)
if [[ " $PEERS " == *" docker "* ]] && command -v dockerd >/dev/null && command -v docker >/dev/null; then
    dockerd --data-root "$work/docker" --exec-root "$work/docker-run" -H "unix://$work/docker.sock" \
        --pidfile "$work/docker.pid" --iptables=false --ip6tables=false --bridge=none >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    d=(docker -H "unix://$work/docker.sock")
    for _ in $(seq 200); do "${d[@]}" info >/dev/null 2>&1 && break; sleep 0.1; done
    if "${d[@]}" info >/dev/null 2>&1; then
        for i in $(seq "$RUNS"); do
            pull[docker]+="$(seconds "${d[@]}" pull "$image") "
            target=$(start_registry "docker-push-$i")/bench:1
            "${d[@]}" tag "$image" "$target"
            push[docker]+="$(seconds "${d[@]}" push "$target") "
            "${d[@]}" rmi -f "$image" "$target" >/dev/null 2>&1 || true
        done
    else
        echo "docker: skipped (dockerd did not start; see $work/dockerd.log)"
    fi
else
    echo "docker: skipped (not installed)"
fi

echo
echo "$((LAYERS * LAYER_MB)) MB, $LAYERS layers, median of $RUNS runs (seconds); ratio = berth / peer"
printf '%-6s %8s %8s %8s %14s %14s\n' op berth podman docker berth/podman berth/docker
for op in pull push; do
    declare -n times=$op
    b=$(median ${times[berth]})
    row=$(printf '%-6s %8s' "$op" "$b")
    ratios=""
    for peer in podman docker; do
        if [ -n "${times[$peer]:-}" ]; then
            m=$(median ${times[$peer]})
            row+=$(printf ' %8s' "$m")
            ratios+=$(printf ' %14s' "$(echo "scale=2; $b / $m" | bc -l)")
        else
            row+=$(printf ' %8s' -)
            ratios+=$(printf ' %14s' -)
        fi
    done
    echo "$row$ratios"
done
