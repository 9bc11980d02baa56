#!/bin/sh
# Quick start on a fresh Debian 12 machine (as root): install what is missing,
# build cadu, and run the demo update end to end.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh"
BUILD_DIR=$top/build "$top/tools/build.sh"
exec "$top/tools/demo.sh" "$top/build/cadu"
