#!/bin/bash
# cadu run as `casync` (the link --enable-casync-compat installs): casync's
# command line for blob indexes, checked against the real casync. make's
# index and store are what casync extracts, and casync's what cadu extracts;
# digest prints what casync prints; options may follow the arguments; the
# output may be standard output when it is a file; anything else is refused
# with exit status 1 and a line naming it.
. "$top_srcdir/tests/lib.sh"
need casync python3
ln -s "$CADU" casync
gen_data random 3000000 img
gen_data random 2000000 other

./casync make img.caibx img >make.out || fail "casync (cadu) make failed"
[ -d default.castr ] || fail "make without --store did not use default.castr"
# The digest printed is casync's: sha512-256 of the content by default.
[ "$(cat make.out)" = "$(casync digest img)" ] || fail "make printed $(cat make.out), casync digest says $(casync digest img)"
[ "$(./casync digest img)" = "$(casync digest img)" ] || fail "digest of a file differs from casync's"
[ "$(./casync digest img.caibx)" = "$(casync digest img.caibx)" ] || fail "digest of an index differs from casync's"
[ "$(./casync --digest=sha256 digest img)" = "$(sha256sum img | cut -d' ' -f1)" ] || fail "--digest=sha256 is not sha256"
casync extract --store default.castr img.caibx by-casync || fail "casync cannot extract what cadu made"
cmp -s by-casync img || fail "casync extracted something else"

# The other way round, with options after the arguments and a seed, as RAUC calls it.
casync make --store theirs.castr --chunk-size=16384 theirs.caibx img >/dev/null
./casync extract theirs.caibx out --store theirs.castr --seed other --seed-output=no --with=2sec-time ||
        fail "extract of casync's index failed"
cmp -s out img || fail "extract of casync's index differs"
# --chunk-size AVG means AVG/4:AVG:AVG*4, as for casync: the same index.
./casync make --store mine.castr --chunk-size=16384 mine.caibx img >/dev/null
cmp -s mine.caibx theirs.caibx || fail "--chunk-size AVG does not give casync's index"
# Standard output, when it is a file (RAUC passes the slot that way).
: >slot
./casync extract --store theirs.castr theirs.caibx - >slot || fail "extract to standard output failed"
cmp -s slot img || fail "extract to standard output differs"

# Refusals: exit 1, one line naming what is not supported.
refused() {
        local re=$1 rc=0
        shift
        ./casync "$@" >/dev/null 2>err || rc=$?
        [ "$rc" -eq 1 ] || fail "exit $rc (want 1): casync $*"
        grep -Eq "^casync \(cadu\): .*$re" err || fail "casync $*: message lacks /$re/: $(cat err)"
}
refused "'--bogus'" make --bogus x.caibx img
refused "'mount' is not supported" mount img.caibx mnt
refused "'list' is not supported" list img.caibx
refused "only blob indexes" make tree.caidx .
refused "only blob indexes" extract tree.catar out
refused "--compression=xz" make --compression=xz x.caibx img
refused "--seed-output=yes" extract --seed-output=yes img.caibx out
refused "neither a regular file nor a block device" extract img.caibx - 
refused "expected a verb" --store x
echo "ok: casync command line"
