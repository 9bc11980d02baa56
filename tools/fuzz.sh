#!/bin/sh
# Run a fuzz target under libFuzzer (clang), coverage-guided.
#
# usage: tools/fuzz.sh TARGET [SECONDS]     e.g. tools/fuzz.sh caibx 60
#
# Builds the libraries with clang and -fsanitize=fuzzer-no-link,address,undefined
# in build-fuzz/, links tests/fuzz/fuzz-TARGET.c with libFuzzer, and runs it on
# a copy of tests/fuzz/corpus-TARGET (new inputs land in build-fuzz/corpus-TARGET;
# copy the interesting ones back). make check replays the corpora without clang.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: tools/fuzz.sh TARGET [SECONDS]}
secs=${2:-60}
build=$top/build-fuzz
command -v clang >/dev/null || { echo "clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
[ -f "$top/tests/fuzz/fuzz-$target.c" ] || { echo "no target tests/fuzz/fuzz-$target.c" >&2; exit 1; }
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -g -O1"
[ -f Makefile ] || "$top/configure" -q CC=clang CFLAGS="$san"
# Bring the Makefile up to date first: regenerating it prints to stdout.
make -s Makefile >/dev/null
libs=$(make -s -f - print-libs <<'MK'
include Makefile
print-libs:
	@echo $(CADU_FUZZ_LIBS)
MK
)
make -j"$(nproc)" $(echo "$libs" | tr ' ' '\n' | grep '\.a$') >/dev/null
clang -fsanitize=fuzzer,address,undefined -g -O1 -include config.h \
        -I"$top/util" -I"$top/chunker" -I"$top/index" -I"$top/store" -I"$top/rdiff" -I"$top/boot" -I"$top/src" \
        "$top/tests/fuzz/fuzz-$target.c" $libs -lpthread -o "fuzz-$target"
mkdir -p "corpus-$target"
cp -n "$top/tests/fuzz/corpus-$target"/* "corpus-$target"/ 2>/dev/null || true
exec "./fuzz-$target" -max_total_time="$secs" -max_len=65536 "corpus-$target"
