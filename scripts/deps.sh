#!/usr/bin/env bash
# Installs the Debian 12 packages Arca builds and tests with; skips what is already there.
# Usage: scripts/deps.sh [build|test|bench]   (test and bench include build)
set -euo pipefail
what=${1:-build}
build_pkgs=(g++ cmake ninja-build ccache pkg-config libboost1.81-dev libssl-dev libsqlite3-dev
  nlohmann-json3-dev libyaml-cpp-dev libxml2-dev libgtest-dev python3 python3-pytest python3-requests)
test_pkgs=(skopeo umoci podman buildah uidmap fuse-overlayfs golang-go curl json-schema-test-suite strace)
bench_pkgs=(docker-registry wrk)
pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$what" = bench ] && pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Go and pytest may come from outside Debian on a developer machine; that is fine.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    golang-go) command -v go >/dev/null || filtered+=("$p") ;;
    python3-pytest) python3 -c 'import pytest' 2>/dev/null || filtered+=("$p") ;;
    python3-requests) python3 -c 'import requests' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  echo "deps: installing ${filtered[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}" >&2
fi
