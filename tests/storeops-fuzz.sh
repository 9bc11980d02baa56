#!/bin/sh
# Replay the store-name classifier's fuzz corpus plus mutations under the
# build's sanitizers (see tests/fuzz/driver.c).
set -eu
exec "$top_builddir/tests/fuzz/fuzz-storename" -n "${FUZZ_MUTATIONS:-20000}" "$top_srcdir/tests/fuzz/corpus-storename"
