#!/bin/sh
# Replay the manifest fuzz corpus (tests/fuzz/corpus-manifest) plus mutations
# through tests/fuzz/run.sh, under whatever sanitizers the build has.
. "$top_srcdir/tests/lib.sh"
[ -x "$top_builddir/tests/fuzz/fuzz-manifest" ] || fail "tests/fuzz/fuzz-manifest is not built"
FUZZ_TARGETS=manifest sh "$top_srcdir/tests/fuzz/run.sh"
