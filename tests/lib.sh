# Shared helpers for cadu's shell tests. Source it: . "$top_srcdir/tests/lib.sh"
# Environment from make check: top_srcdir, top_builddir, CADU, VECTORS.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CADU:=$top_builddir/cadu}"
: "${VECTORS:=$top_srcdir/tests/vectors}"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# prereq_skip WHY: a prerequisite is missing: skip (exit 77), except under
# CI=true, where tools/deps.sh installed everything and the tests run as
# root: there a missing prerequisite fails, so that nothing passes untested.
prereq_skip() {
        [ "${CI:-}" != true ] || fail "$* (CI=true: every prerequisite must be there; run tools/deps.sh as root)"
        skip "$*"
}
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || prereq_skip "$c not installed"; done; }
# need_root WHY: root is required (loop devices, mounts).
need_root() { [ "$(id -u)" -eq 0 ] || prereq_skip "needs root ($*)"; }
# have TOOL: true when TOOL is installed; otherwise a part of a test that
# needs it is left out with a note (a failure under CI=true).
have() {
        command -v "$1" >/dev/null 2>&1 && return 0
        [ "${CI:-}" != true ] || fail "$1 not installed (CI=true: run tools/deps.sh)"
        echo "SKIP (part): $1 not installed" >&2
        return 1
}

# A scratch directory removed on exit; extra cleanup commands go in CLEANUP.
CLEANUP=""
T=$(mktemp -d "${TMPDIR:-/tmp}/cadu-test.XXXXXX")
trap 'set +e; eval "$CLEANUP"; cd /; rm -rf "$T"' EXIT
# Work in the scratch directory: nothing a test writes lands in the build tree.
cd "$T"

# gen_data KIND SIZE OUT: the conformance vectors' deterministic generator.
gen_data() { python3 "$VECTORS/gen-data.py" "$@"; }

# expect_fail CODE MESSAGE-REGEX cmd...: the command must exit with CODE
# (or any non-zero code when CODE is '*') and print one line matching REGEX.
expect_fail() {
        local code=$1 re=$2 rc=0
        shift 2
        "$@" >"$T/.out" 2>"$T/.err" || rc=$?
        [ "$rc" -ne 0 ] || fail "expected failure: $*"
        [ "$code" = '*' ] || [ "$rc" -eq "$code" ] || fail "exit $rc (want $code): $* : $(cat "$T/.err")"
        grep -Eq -- "$re" "$T/.err" || fail "stderr of '$*' lacks /$re/: $(cat "$T/.err")"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# no_tmp_left DIR: no temporary output files remain in DIR.
no_tmp_left() {
        if ls "$1" | grep -q '\.tmp$'; then fail "temporary files left in $1: $(ls "$1")"; fi
}

# mbr IMG START:SECTORS:TYPE[:boot]...: write an MBR partition table.
mbr() {
        python3 - "$@" <<'PY'
import struct, sys
ent = b""
for spec in sys.argv[2:]:
    f = spec.split(":")
    ent += struct.pack("<B3sB3sII", 0x80 if len(f) > 3 else 0, b"\xfe\xff\xff", int(f[2], 16),
                       b"\xfe\xff\xff", int(f[0]), int(f[1]))
with open(sys.argv[1], "r+b") as fh:
    fh.seek(446)
    fh.write(ent.ljust(64, b"\0") + b"\x55\xaa")
PY
}
