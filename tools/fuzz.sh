#!/bin/sh
# Run fuzz targets under libFuzzer (clang), coverage-guided.
#
# usage: tools/fuzz.sh TARGET [SECONDS]     e.g. tools/fuzz.sh caibx 60
#        tools/fuzz.sh all [SECONDS]        every target, SECONDS each
#        tools/fuzz.sh list                 the targets
#
# Builds the libraries with clang and -fsanitize=fuzzer-no-link,address,undefined
# in build-fuzz/, links tests/fuzz/fuzz-TARGET.c (plus the other sources its
# Makefile rule names, e.g. lib/config.c) with libFuzzer, and runs it on a
# copy of tests/fuzz/corpus-TARGET (new inputs land in build-fuzz/corpus-TARGET;
# copy the interesting ones back). Crashes are saved as
# build-fuzz/crash-TARGET-*. Each run appends "TARGET SECONDS EXECS RESULT"
# to build-fuzz/summary.txt. make check replays the corpora without clang.
# The machine may be shared: run it under nice (nice -n 10 tools/fuzz.sh all).
# FUZZ_RUNS=N stops a target after N executions (or SECONDS, whichever first).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: tools/fuzz.sh TARGET|all|list [SECONDS]}
secs=${2:-60}
build=$top/build-fuzz
command -v clang >/dev/null || { echo "clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -g -O1"
[ -f Makefile ] || "$top/configure" -q CC=clang CFLAGS="$san"
# Bring the Makefile up to date first: regenerating it prints to stdout.
make -s Makefile >/dev/null

# mkvar EXPR: a make expression evaluated with the build's Makefile.
mkvar() {
        make -s -f - print-var <<MK
include Makefile
print-var:
	@echo $1
MK
}

# Every tests/fuzz/fuzz-NAME.c (make check replays some of them from their
# own test script rather than through FUZZ_TARGETS).
targets=$(cd "$top/tests/fuzz" && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//' | tr '\n' ' ')
if [ "$target" = list ]; then
        echo $targets
        exit 0
fi
if [ "$target" != all ]; then
        case " $targets " in
        *" $target "*) ;;
        *) echo "no fuzz target '$target' (targets: $targets)" >&2; exit 1 ;;
        esac
        targets=$target
fi

# link T: build-fuzz/fuzz-T from the sources and libraries its rule names.
link() {
        v=tests_fuzz_fuzz_$(echo "$1" | tr - _)
        srcs=$(mkvar "\$(filter %.c,\$(${v}_SOURCES))" | tr ' ' '\n' | grep -v '/driver\.c$' | sed "s|^|$top/|")
        libs=$(mkvar "\$(${v}_LDADD)")
        # shellcheck disable=SC2086
        make -j"$(nproc)" $(echo "$libs" | tr ' ' '\n' | grep '\.la$') >/dev/null
        # libtool convenience libraries: the archive libtool keeps in .libs/.
        libs=$(echo "$libs" | sed -E 's#([^ ]*)/([^/ ]*)\.la#\1/.libs/\2.a#g')
        # shellcheck disable=SC2086
        clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -include config.h \
                $incs $srcs $libs -lpthread -o "fuzz-$1"
}

# Every top-level directory with headers (util, chunker, index, store, ...).
incs=$(for d in "$top"/*/; do if ls "$d"*.h >/dev/null 2>&1; then printf -- '-I%s ' "${d%/}"; fi; done)

status=0
for t in $targets; do
        link "$t"
        mkdir -p "corpus-$t"
        cp -n "$top/tests/fuzz/corpus-$t"/* "corpus-$t"/ 2>/dev/null || true
        rc=0
        "./fuzz-$t" -max_total_time="$secs" -runs="${FUZZ_RUNS:--1}" -max_len=65536 -print_final_stats=1 \
                -artifact_prefix="$build/crash-$t-" "corpus-$t" >"fuzz-$t.log" 2>&1 || rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz-$t.log" | tail -n 1)
        if [ "$rc" -eq 0 ]; then result=ok; else result="FOUND (exit $rc, see build-fuzz/fuzz-$t.log)"; status=1; fi
        echo "$t ${secs}s ${execs:-?} execs $result" | tee -a summary.txt
done
exit $status
