#!/bin/sh
# rdiff interoperability on an ext4 image pair (tools/mkimages.sh, small):
# identical signatures, deltas applied across implementations, delta size
# within 1% of rdiff's, and patch --sha256.
. "$top_srcdir/tests/lib.sh"
need rdiff python3
PATH=$PATH:/sbin:/usr/sbin
need mkfs.ext4 debugfs
cd "$T"

sh "$top_srcdir/tools/mkimages.sh" img 32 >/dev/null || fail "mkimages.sh failed"
[ "$(stat -c %s img/v1.img)" -eq $((32 * 1024 * 1024)) ] || fail "v1.img has the wrong size"
cmp -s img/v1.img img/v2.img && fail "v1 and v2 are the same"

for kind in "" "-H md4" "-R rollsum" "-H md4 -R rollsum"; do
        # shellcheck disable=SC2086
        rdiff -f $kind signature img/v1.img ref.sig
        # shellcheck disable=SC2086
        "$CADU" rdiff -f $kind signature img/v1.img my.sig
        cmp -s ref.sig my.sig || fail "signature of v1.img ($kind) differs from rdiff's"
        "$CADU" rdiff -f delta ref.sig img/v2.img my.delta
        rdiff -f delta ref.sig img/v2.img ref.delta
        rdiff -f patch img/v1.img my.delta out.rdiff
        cmp -s out.rdiff img/v2.img || fail "rdiff patch of cadu's delta ($kind) is wrong"
        "$CADU" rdiff -f patch img/v1.img ref.delta out.cadu
        cmp -s out.cadu img/v2.img || fail "cadu patch of rdiff's delta ($kind) is wrong"
        mine=$(wc -c <my.delta) theirs=$(wc -c <ref.delta)
        echo "delta ($kind): cadu $mine bytes, rdiff $theirs bytes"
        [ $((mine * 100)) -le $((theirs * 101)) ] || fail "cadu's delta is more than 1% larger than rdiff's"
done
sum=$(sha256sum img/v2.img | cut -c1-64)
"$CADU" rdiff -f patch --sha256 "$sum" img/v1.img my.delta checked.img
cmp -s checked.img img/v2.img || fail "patch --sha256 result"
expect_fail 3 'not the expected one' "$CADU" rdiff patch --sha256 "$sum" img/v2.img my.delta wrong.img
[ ! -e wrong.img ] || fail "a mismatching result was kept"
echo ok
