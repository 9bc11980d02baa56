#!/bin/sh
# Replay every fuzz target's corpus plus mutations under whatever sanitizers
# the build has.
set -eu
[ -n "${FUZZ_TARGETS:-}" ] || { echo "no fuzz targets"; exit 77; }
for t in $FUZZ_TARGETS; do
        echo "fuzz-$t:"
        "$top_builddir/tests/fuzz/fuzz-$t" -n "${FUZZ_MUTATIONS:-2000}" "$top_srcdir/tests/fuzz/corpus-$t"
done
