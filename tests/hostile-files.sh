#!/bin/sh
# Untrusted files that are not what they claim (issue 18, classes 2 and 3):
# a FIFO where a file is expected must not block (install used to hang
# holding its lock), a symlink to /dev/zero must not be read without end,
# a file larger than its signed pin is refused at the first byte beyond it,
# and a symlink squatting a chunk's name in a store is not that chunk.
# Every command runs under a timeout: a hang fails the test.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
need python3 timeout mkfifo
cd "$T"
to() { timeout 60 "$@"; }

# ---- extract, info, make: index, chunk, seed, fingerprints ----
gen_data mixed 300000 img
"$CADU" -q make --store st img img.caibx
mkfifo fifo.caibx
expect_fail 1 "^cadu: cannot read index fifo.caibx: not a regular file$" to "$CADU" extract --store st fifo.caibx out
ln -s /dev/zero zero.caibx
expect_fail 1 "^cadu: cannot read index zero.caibx: not a regular file$" to "$CADU" extract --store st zero.caibx out
expect_fail 1 "zero.caibx: not a regular file" to "$CADU" info zero.caibx
mkfifo seed.fifo
expect_fail 1 "^cadu: extracting img.caibx: cannot open seed seed.fifo: not a regular file or block device$" \
        to "$CADU" extract --store st --seed seed.fifo img.caibx out
# A seed's fingerprint sidecar that is a FIFO or endless is ignored, not read.
cp img seed.img && "$CADU" -q make --fingerprints seed.img seed.caibx
rm seed.caibx.fp && mkfifo seed.caibx.fp
to "$CADU" -q extract --store st --seed seed.img:seed.caibx img.caibx out && cmp img out && rm out
rm seed.caibx.fp && ln -s /dev/zero seed.caibx.fp
to "$CADU" -q extract --store st --seed seed.img:seed.caibx img.caibx out && cmp img out && rm out
# A seed index of more chunks (4) than the seed has bytes (2) is not read to its end.
head -c 2 img > tiny.img
expect_fail 3 "^cadu: extracting img.caibx: seed index img.caibx: larger than allowed$" to "$CADU" extract --store st --seed tiny.img:img.caibx img.caibx out

# The first chunk of the index as a FIFO, then as a symlink to a good copy.
id=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d[72:104].hex())' img.caibx)
chunk=st/$(echo "$id" | cut -c1-4)/$id.cacnk
mv "$chunk" chunk.save
mkfifo "$chunk"
expect_fail 3 "chunk $id \\(offset 0, [0-9]+ bytes\\): no source delivered it intact" \
        to "$CADU" extract --store st img.caibx out
rm "$chunk" && ln -s "$T/chunk.save" "$chunk"
expect_fail 3 "chunk $id \\(offset 0, [0-9]+ bytes\\): no source delivered it intact" \
        to "$CADU" extract --store st img.caibx out
to "$CADU" info --store st img.caibx > info.out
grep -q "missing 1 chunks" info.out || fail "a squatting symlink counted as the chunk: $(cat info.out)"
# make stores the real chunk over the squatter.
to "$CADU" -q make --store st img img2.caibx
[ -f "$chunk" ] && [ ! -L "$chunk" ] || fail "make left the symlink in place of chunk $id"
to "$CADU" -q extract --store st img.caibx out && cmp img out && rm out
# mirror: a squatter in the source is not a chunk; one in the destination
# is replaced by the real chunk.
rm "$chunk" && ln -s "$T/chunk.save" "$chunk"
expect_fail 3 "^cadu: mirror from st: 1 chunks could not be copied \\(0 missing, 1 corrupt, 0 failed\\)$" \
        to "$CADU" mirror -q --from st --to st2 img.caibx
rm "$chunk" && cp chunk.save "$chunk"
rm -f "st2/$chunk" && mkdir -p "$(dirname "st2/${chunk#st/}")" && ln -s "$T/chunk.save" "st2/${chunk#st/}"
to "$CADU" mirror -q --from st --to st2 img.caibx
[ -f "st2/${chunk#st/}" ] && [ ! -L "st2/${chunk#st/}" ] || fail "mirror kept the symlink in place of chunk $id"

# A configuration file that is a FIFO or endless.
mkfifo conf.fifo
expect_fail 2 "^cadu: conf.fifo: not a regular file$" to "$CADU" status -c conf.fifo
ln -s /dev/zero conf.zero
expect_fail 2 "^cadu: conf.zero: not a regular file$" to "$CADU" status -c conf.zero

# ---- install from release media ----
make_pki
dev_setup uboot
device_release "$T/v1" 1.0.0 1
device_release "$T/v2" 2.0.0 1
factory "$T/v1"
refused() { # CODE REGEX MANIFEST: refused in time, nothing written
        local code=$1 re=$2 m=$3 before
        before=$(slots_digest)
        expect_fail "$code" "$re" to "$CADU" install -c "$CONF" "$m"
        [ "$(slots_digest)" = "$before" ] || fail "slots written by a refused install ($re)"
}
bad() { rm -rf "$T/bad"; cp -r "$T/v2" "$T/bad"; }

bad; rm "$T/bad/update.manifest.sig"; mkfifo "$T/bad/update.manifest.sig"
refused 1 "^cadu: signature $T/bad/update.manifest.sig: not a regular file$" "$T/bad/update.manifest"
bad; rm "$T/bad/update.manifest"; mkfifo "$T/bad/update.manifest"
refused 1 "^cadu: manifest $T/bad/update.manifest: not a regular file$" "$T/bad/update.manifest"
bad; rm "$T/bad/rootfs.caibx"; mkfifo "$T/bad/rootfs.caibx"
refused 1 "^cadu: index $T/bad/rootfs.caibx: not a regular file$" "$T/bad/update.manifest"
bad; rm "$T/bad/rootfs.caibx"; ln -s /dev/zero "$T/bad/rootfs.caibx"
refused 1 "^cadu: index $T/bad/rootfs.caibx: not a regular file$" "$T/bad/update.manifest"
# An index longer than its pin: refused without reading past the pin.
isize=$(stat -c %s "$T/v2/rootfs.caibx")
bad; head -c 1000 /dev/zero >> "$T/bad/rootfs.caibx"
refused 3 "^cadu: index $T/bad/rootfs.caibx: larger than the $isize bytes the manifest pins$" "$T/bad/update.manifest"
# The lock was released each time: a good install still goes through.
to "$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
slot_has b "$T/v2" || fail "v2 not installed after the refusals"
