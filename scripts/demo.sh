#!/usr/bin/env bash
# The offline demo: a tiny base image from Debian's busybox-static (`berth import`), an image
# built on it from a Dockerfile (`berth build`), and containers from both: attached, detached,
# exec, a web server on a user network reached by name from another container and through a
# published port from the host, data kept in a named volume. Needs root; uses its own state
# dirs under a temp dir and removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p berth -q
berth=$PWD/target/release/berth
export BERTH_ROOT=$(mktemp -d) BERTH_RUN=$(mktemp -d)
work=$(mktemp -d)
cleanup() {
    "$berth" rm -f $("$berth" ps -aq) >/dev/null 2>&1 || true
    "$berth" network prune -f >/dev/null 2>&1 || true
    "$berth" network prune -f --include-default-bridge >/dev/null 2>&1 || true
    rm -rf "$work" "$BERTH_ROOT" "$BERTH_RUN"
}
trap cleanup EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$work/site"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for cmd in sh echo cat ls ps sleep hostname id uname wget httpd mkdir; do ln -s busybox "$rootfs/bin/$cmd"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
echo "hello from a berth-built web server" > "$work/site/index.html"
cat > "$work/Dockerfile" <<'DF'
FROM demo
RUN mkdir -p /www && echo "built by berth" > /www/about.txt
COPY site/ /www/
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
DF
port=$((20000 + RANDOM % 20000))
set -x
tar -C "$rootfs" -c . | "$berth" import --change 'CMD ["sh"]' - demo:latest
"$berth" run --rm demo echo "hello from a berth container"
"$berth" run --rm --hostname demo-box demo sh -c 'echo "pid $$ on $(hostname) as $(id -u)"; ls /'
"$berth" build -t demo-web "$work"
"$berth" images
"$berth" network create demo-net
"$berth" run -d --name web --network demo-net -p "127.0.0.1:$port:80" demo-web
"$berth" run --rm --network demo-net demo wget -qO- http://web/
"$berth" run --rm --network demo-net demo wget -qO- http://web/about.txt
python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/').read().decode().strip())"
"$berth" run --rm -v demo-data:/data demo sh -c 'echo kept > /data/note'
"$berth" run --rm -v demo-data:/data demo cat /data/note
"$berth" ps
"$berth" exec web ps
"$berth" stop -t 1 web
"$berth" ps -a
"$berth" rm web
"$berth" volume rm demo-data
"$berth" network rm demo-net
