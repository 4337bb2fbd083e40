#!/bin/sh
# Installs the Debian packages this project needs, only those missing (Debian 12).
# Usage: scripts/install-deps.sh [--fuzz]     (--fuzz adds clang-14 and its libFuzzer runtime)
set -eu
PKGS="cmake make g++ libtorch-dev libopenblas0-pthread libgtest-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libstb-dev libboost-dev zlib1g-dev libgloo-dev dataset-fashion-mnist"
# The Python package, its tests and the report figures (python3-torch is the same libtorch1.13 as
# libtorch-dev; make bench runs the PyTorch reference on it).
PKGS="$PKGS pybind11-dev python3-dev python3-torch python3-pytest python3-numpy python3-matplotlib"
if [ "${1:-}" = "--fuzz" ]; then PKGS="$PKGS clang-14 libclang-rt-14-dev"; fi
MISSING=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    MISSING="$MISSING $p"
  fi
done
if [ -z "$MISSING" ]; then exit 0; fi
echo "installing:$MISSING"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $MISSING
