#!/usr/bin/env bash
# Installs the Debian 12 packages Arca builds and tests with; skips what is already there.
# Usage: scripts/deps.sh [build|test|bench]   (test and bench include build)
# For test and bench it also makes sure a Go recent enough for the pinned Go tools is here
# (scripts/ensure-go.sh: the one on the machine, else one fetched from the Go module proxy;
# Debian 12's golang-go is 1.19, too old for them, so it is not installed).
set -euo pipefail
what=${1:-build}
build_pkgs=(g++ cmake ninja-build ccache pkg-config libboost1.81-dev libssl-dev libsqlite3-dev
  nlohmann-json3-dev libyaml-cpp-dev libxml2-dev libgtest-dev libargon2-dev libcurl4-openssl-dev libpq-dev
  python3 python3-pytest
  python3-requests)
test_pkgs=(skopeo umoci podman buildah uidmap fuse-overlayfs curl unzip ca-certificates
  json-schema-test-suite strace python3-cryptography containerd
  ceph-mon ceph-osd radosgw ceph-common postgresql-15 haproxy prometheus)
bench_pkgs=(docker-registry wrk)
pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$what" = bench ] && pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# pytest may come from outside Debian on a developer machine; that is fine.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    python3-pytest) python3 -c 'import pytest' 2>/dev/null || filtered+=("$p") ;;
    python3-requests) python3 -c 'import requests' 2>/dev/null || filtered+=("$p") ;;
    python3-cryptography) python3 -c 'import cryptography' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  echo "deps: installing ${filtered[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}" >&2
fi
if [ "$what" = test ] || [ "$what" = bench ]; then
  "$(dirname "$0")/ensure-go.sh" >/dev/null
fi
