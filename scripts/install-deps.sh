#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages tapwatch needs, only those absent.
# Idempotent: a machine that has everything runs no apt-get at all.
set -euo pipefail

PKGS=(
    build-essential pkg-config
    libdpdk-dev dpdk libnuma-dev libbsd-dev
    libndpi-dev libndpi-bin
    libhiredis-dev
    libzstd-dev
    libsodium-dev
    libpcap-dev
    libyaml-dev
    libjson-c-dev
    zlib1g-dev
    libcmocka-dev
    redis-server redis-tools
    nftables iproute2
    libxdp-dev libbpf-dev tcpreplay
    python3-scapy
    libssl-dev openssl
    wireshark-common
    clang libclang-rt-14-dev
    libfixbuf-dev nfdump tshark
    libmicrohttpd-dev curl prometheus
    systemd strace
    libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl
    # the console's browser tests (tests/integration/test_console.sh)
    chromium chromium-driver python3-selenium
)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# redis-server's package starts a system instance; tapwatch runs its own private ones.
if command -v systemctl >/dev/null && systemctl is-active -q redis-server 2>/dev/null; then
    $SUDO systemctl stop redis-server || true
fi
# prometheus's package (tests need only its promtool) starts a server on :9090: not ours.
if command -v systemctl >/dev/null && systemctl is-active -q prometheus 2>/dev/null; then
    $SUDO systemctl disable --now prometheus || true
fi
echo "install-deps: done"
