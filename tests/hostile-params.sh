#!/bin/sh
# Chunker parameters from an index file or the command line are checked
# before any chunker or buffer is sized by them (issue 18, class 1): a
# content-defined max below the 48-byte hash window used to make the chunker
# write past its chunk buffer when a seed was chunked with an index's sizes.
. "$top_srcdir/tests/lib.sh"
need python3
cd "$T"
gen_data mixed 4096 seed
"$CADU" -q make --chunk-size 4:4:4 --store st seed seed.caibx
# Same chunks, header claiming content-defined sizes 1:2:4.
python3 -c '
import struct, sys
b = bytearray(open("seed.caibx", "rb").read())
b[24:40] = struct.pack("<QQ", 1, 2)
open("hostile.caibx", "wb").write(b)'
rule="index chunk sizes invalid \\(need 1 B <= min <= avg <= max <= 128 MiB, and max >= 48 B unless min == max\\)"
expect_fail 3 "index hostile.caibx: $rule" "$CADU" extract --store st --seed seed hostile.caibx out
[ ! -e out ] || fail "output left behind"
expect_fail 3 "hostile.caibx: $rule" "$CADU" info --seed seed hostile.caibx
# As a seed's own index too.
expect_fail 3 "hostile.caibx: $rule" "$CADU" extract --store st --seed seed:hostile.caibx seed.caibx out

expect_fail 2 "invalid --chunk-size '1:2:4': need MIN:AVG:MAX with 1 <= MIN <= AVG <= MAX <= 128M, and MAX >= 48 unless MIN == MAX" \
        "$CADU" make --chunk-size 1:2:4 seed img.caibx
expect_fail 2 "invalid --chunk-size '1:1:47'" "$CADU" make --chunk-size 1:1:47 seed img.caibx
[ ! -e img.caibx ] || fail "index written for invalid sizes"
# The edges that are valid still work: fixed tiny chunks and max == window.
"$CADU" -q make --chunk-size 1:1:1 seed one.caibx
"$CADU" -q make --chunk-size 1:2:48 --store st2 seed w.caibx
"$CADU" -q extract --store st2 --seed seed w.caibx w.out
cmp seed w.out
