#!/bin/sh
# cadu make reproduces every conformance index made by the real casync,
# byte for byte, and extract rebuilds each input.
. "$top_srcdir/tests/lib.sh"
need python3 cmp
cd "$T"
gen_data random 8388608 random-8M.bin
gen_data mixed 8388608 mixed-8M.bin
gen_data random 100 random-100.bin
: > empty.bin
n=0
for v in "$VECTORS"/*.caibx; do
        b=$(basename "$v" .caibx)
        input=${b%%.*}.bin
        rest=${b#*.}
        sizes=$(echo "${rest%%.*}" | tr - :)
        digest=${rest#*.}
        rm -rf st
        "$CADU" -q make --store st --chunk-size "$sizes" --digest "$digest" "$input" out.caibx
        cmp out.caibx "$v" || fail "index differs from casync's: $b"
        "$CADU" -q extract --store st out.caibx out.bin
        cmp out.bin "$input" || fail "extract differs: $b"
        no_tmp_left .
        n=$((n + 1))
done
[ "$n" -eq 24 ] || fail "expected 24 vectors, found $n"
echo "$n vectors byte-identical"
