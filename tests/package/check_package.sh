#!/bin/sh
# Installs the built library into a private prefix, builds examples/ against it as a separate CMake
# project (find_package(jeffreys), jeffreys::jeffreys, <jeffreys/jeffreys.h>) and runs the example.
# Usage: check_package.sh <source-dir> <build-dir>
set -eu
SRC=$1
BUILD=$2
PREFIX="$BUILD/_package_install"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
cmake -S "$SRC/examples" -B "$BUILD/_package_example" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$BUILD/_package_example" -j 2 >/dev/null
"$BUILD/_package_example/fit_mixture" 200
