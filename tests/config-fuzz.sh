#!/bin/sh
# Replay the corpora of the configuration and boot-state parsers (plus
# mutations) under the build's sanitizers. boot/Makefile.inc cannot append
# to FUZZ_TARGETS (tests/Makefile.inc sets it later), hence this script.
. "$top_srcdir/tests/lib.sh"
FUZZ_TARGETS="config bootstate" sh "$top_srcdir/tests/fuzz/run.sh"
