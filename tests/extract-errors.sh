#!/bin/sh
# Bad input to extract: one clear line naming the file and the problem, a
# non-zero exit status and nothing left under the output name.
. "$top_srcdir/tests/lib.sh"
need python3
cd "$T"
gen_data mixed 3000000 img
"$CADU" -q make --store st img img.caibx
out=out.img

check_no_output() {
        [ ! -e "$out" ] || fail "output left behind after: $1"
        no_tmp_left .
        [ "$(wc -l < "$T/.err")" -eq 1 ] || fail "not one line: $(cat "$T/.err")"
}

# Truncated and corrupt indexes.
head -c 150 img.caibx > trunc.caibx
expect_fail 3 "index trunc.caibx: index truncated" "$CADU" extract --store st trunc.caibx $out
check_no_output truncated-index
expect_fail 3 "index $top_srcdir/tests/index-invalid/chunk-above-max.caibx: index chunk larger than the maximum" \
        "$CADU" extract --store st "$top_srcdir/tests/index-invalid/chunk-above-max.caibx" $out
check_no_output chunk-above-max
expect_fail 1 "cannot read index missing.caibx: not found" "$CADU" extract --store st missing.caibx $out
check_no_output missing-index

# The store's chunks: pick the first chunk of the index.
id=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d[72:104].hex())' img.caibx)
chunk=st/$(echo "$id" | cut -c1-4)/$id.cacnk
[ -f "$chunk" ] || fail "no chunk file $chunk"
cp "$chunk" chunk.save

# Missing chunk.
rm "$chunk"
expect_fail 1 "chunk $id \\(offset 0, [0-9]+ bytes\\) is in no seed or store" "$CADU" extract --store st img.caibx $out
check_no_output missing-chunk

# Corrupt chunk: a flipped byte in the compressed data, then a valid frame of other data.
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=0x55; open(sys.argv[2],"wb").write(b)' chunk.save "$chunk"
expect_fail 3 "chunk $id .*: no source delivered it intact" "$CADU" extract --store st img.caibx $out
check_no_output corrupt-chunk
printf 'not the chunk' > "$chunk"
expect_fail 3 "chunk $id .*: no source delivered it intact" "$CADU" extract --store st img.caibx $out
check_no_output wrong-chunk

# A chunk that decompresses to more than the index allows (a zstd bomb):
# its first bytes are the chunk's true content, so only the size cap can
# refuse it (a digest over the first SIZE bytes would match); 100 MB of
# zeros follow in a frame of a few KB.
size=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(int.from_bytes(d[64:72],"little"))' img.caibx)
{ head -c "$size" img; head -c 100000000 /dev/zero; } | zstd -q -c > "$chunk"
expect_fail 3 "^cadu: extracting img.caibx: chunk $id \\(offset 0, $size bytes\\): no source delivered it intact: larger than allowed$" \
        "$CADU" extract --store st img.caibx $out
check_no_output oversized-chunk
# ... and the same frame cut at exactly SIZE bytes is the chunk: accepted.
head -c "$size" img | zstd -q -c > "$chunk"
"$CADU" -q extract --store st img.caibx $out || fail "the chunk recompressed at its exact size was refused"
rm -f $out

# With a second, good store the bad chunk is taken from there instead.
mkdir -p good/$(echo "$id" | cut -c1-4)
cp chunk.save good/$(echo "$id" | cut -c1-4)/$id.cacnk
"$CADU" -q extract --store st --store good img.caibx $out
cmp $out img
rm -f $out

# The image does not fit the output device (a character device here). The
# first write to fail may be any chunk's: workers write in parallel.
expect_fail 1 "^cadu: extracting img.caibx: writing /dev/full at offset [0-9]+: No space left on device$" \
        "$CADU" extract --store good --store st img.caibx /dev/full
[ "$(wc -l < "$T/.err")" -eq 1 ] || fail "not one line: $(cat "$T/.err")"

# make: unreadable image, bad options.
expect_fail 1 "cannot open image nope.img" "$CADU" make --store st nope.img x.caibx
expect_fail 2 "invalid --chunk-size" "$CADU" make --chunk-size 9:8:7 img x.caibx
expect_fail 2 "unknown digest" "$CADU" make --digest md5 img x.caibx
[ ! -e x.caibx ] || fail "index written after a failed make"
echo "bad input handled"
