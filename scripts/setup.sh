#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, once: a fresh machine
# runs the demo and the test suite with nothing else done first. Called by scripts/demo.sh,
# scripts/test.sh and .ci/run; does nothing when everything is there already.
set -euo pipefail
# libseccomp-dev, pkg-config: libcontainer links libseccomp. busybox-static: the test and demo
# images. runc: the --runtime tests and the benchmark floor. tini: --init. procps: `top`.
# docker-registry + apache2-utils (htpasswd): the pull/push/login tests. nftables: `nft` for
# published ports; iptables: berth's accept chain beside dockerd's rules; iproute2: the tests'
# own network namespaces. openssl: the token-auth and TLS tests make their keys and
# certificates. docker-compose (1.29): the compose tests drive berth serve with it. skopeo:
# reads berth's OCI archives. docker.io: the tests beside a real dockerd (save/load round trip,
# bridges under its FORWARD policy). python3: the hostile-container probe and the demo.
packages=(libseccomp-dev pkg-config busybox-static runc tini procps docker-registry apache2-utils
    nftables iptables iproute2 openssl skopeo docker-compose docker.io python3)
# bind9-dnsutils: `dig`, which the embedded DNS tests point at 127.0.0.11 (UDP, TCP, PTR).
packages+=(bind9-dnsutils)
# qemu-system-x86 + linux-image-amd64: `run --vm` and `berth machine` boot Debian's kernel (its
# 9p and virtio modules) under QEMU; qemu-utils: `qemu-img` makes a machine's qcow2 disk.
packages+=(qemu-system-x86 qemu-utils linux-image-amd64)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/setup.sh: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Docker SDK for Python (the lifecycle and build parity tests drive berth serve with it),
# for whichever python3 is first on PATH: Debian's python3-docker serves /usr/bin/python3 only.
python3 -c 'import docker' 2>/dev/null || python3 -m pip install -q docker
