#!/bin/sh
# The whole test suite, as CI runs it: install what is missing, build with
# AddressSanitizer + UndefinedBehaviorSanitizer and -Werror, run make check
# (unit tests, fuzz corpora, integration tests against casync, rdiff,
# openssl, nginx and libubootenv), then make distcheck, then (as root) build
# the Debian packages from the distcheck'd tarball, lintian them, install
# them and use them (tools/debian-check.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh"
cd "$top"
autoreconf -fi >/dev/null

build=${BUILD_DIR:-$top/build-check}
rm -rf "$build"
mkdir -p "$build"
cd "$build"
"$top/configure" -q --enable-sanitizers --enable-werror
make -j"$(nproc)" >/dev/null
status=0
# ASan's leak checker needs ptrace-like access that some containers lack;
# halt on the first error either way.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        make -j"$(nproc)" check || status=$?
if [ "$status" -ne 0 ]; then
        for f in $(find . -name '*.log' -path '*tests*'); do
                grep -q '^FAIL\|^ERROR' "${f%.log}.trs" 2>/dev/null && { echo "==== $f"; tail -50 "$f"; }
        done
        cat test-suite.log 2>/dev/null | head -100
        exit "$status"
fi
make -j"$(nproc)" distcheck >/dev/null 2>distcheck.err || { cat distcheck.err; tail -100 cadu-*/_build/sub/test-suite.log 2>/dev/null; exit 1; }
echo "distcheck passed"
"$top/tools/debian-check.sh" "$build"/cadu-*.tar.gz
