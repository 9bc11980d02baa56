#!/bin/sh
# Configure and build cadu out of tree in BUILD_DIR (default ./build).
# Extra arguments go to configure (e.g. --enable-sanitizers).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
"$top/configure" -q "$@"
make -j"$(nproc)" >/dev/null
echo "built $build/cadu"
