#!/bin/sh
# cadu make --deltas: delta files decode from their bases to the chunks
# they replace (as a device decodes them), sketches are kept and not
# recomputed, corrupt deltas and missing bases are errors, corrupt sketch
# files are ignored and rebuilt, and the store still extracts.
. "$top_srcdir/tests/lib.sh"
need python3 cmp
TOOL=$top_builddir/tests/delta-tool
cd "$T"

gen_data mixed 4194304 v1.img
# v2: v1 with a byte changed every 3000 bytes in its first half and 777
# bytes inserted; v3: v2 with more changes further on.
python3 - <<'PY'
d = bytearray(open("v1.img", "rb").read())
for i in range(1000, len(d) // 2, 3000):
    d[i] ^= 0x5a
d[1234567:1234567] = b"inserted" * 97 + b"x"
open("v2.img", "wb").write(bytes(d))
for i in range(len(d) // 2, len(d), 2500):
    d[i] ^= 0xa5
open("v3.img", "wb").write(bytes(d))
PY

json() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
deltas_event() { grep '"event":"deltas"' "$1"; }

"$CADU" -q make -s st -c 4K:16K:64K v1.img v1.caibx
[ ! -e st/sketches ] || fail "plain make wrote sketches"
"$CADU" --json make --deltas -s st -c 4K:16K:64K v2.img v2.caibx > out2.json
ev=$(deltas_event out2.json)
new=$(json "$ev" new_chunks); with=$(json "$ev" with_delta); sketched=$(json "$ev" sketched)
plain=$(json "$ev" chunk_file_bytes); best=$(json "$ev" best_bytes)
echo "v2: $with of $new new chunks with a delta, $plain -> $best bytes, $sketched sketched"
[ "$new" -gt 10 ] || fail "expected new chunks, got $new"
# Nearly every changed chunk resembles its old version.
[ $((with * 10)) -ge $((new * 8)) ] || fail "only $with of $new new chunks got a delta"
[ $((best * 4)) -lt "$plain" ] || fail "deltas did not pay: $plain -> $best bytes"
# The first --deltas run sketches the whole store once (v1's and v2's chunks).
total=$(find st -name '*.cacnk' | wc -l)
[ "$sketched" -eq "$total" ] || fail "sketched $sketched, store has $total chunks"
[ "$(find st/deltas -name '*.cadelta' | wc -l)" -eq "$with" ] || fail "delta files != $with"
"$TOOL" verify st > verify.out || fail "a delta does not decode: $(cat verify.out)"
grep -qx "$with deltas verified" verify.out || fail "verify: $(cat verify.out)"
no_tmp_left st/deltas/*
no_tmp_left st/sketches

# v3: only its new chunks are sketched, bases may be v2's chunks too.
"$CADU" --json make --deltas -s st -c 4K:16K:64K v3.img v3.caibx > out3.json
ev=$(deltas_event out3.json)
new3=$(json "$ev" new_chunks); with3=$(json "$ev" with_delta); sketched3=$(json "$ev" sketched)
[ "$sketched3" -eq "$new3" ] || fail "v3 sketched $sketched3 chunks, not just its $new3 new ones"
[ "$with3" -gt 0 ] || fail "v3: no deltas"
[ "$(ls st/sketches | wc -l)" -eq 2 ] || fail "expected 2 sketch files: $(ls st/sketches)"
"$TOOL" verify st > verify.out || fail "a delta does not decode: $(cat verify.out)"
grep -qx "$((with + with3)) deltas verified" verify.out || fail "verify: $(cat verify.out)"

# The store still extracts every release (deltas/ and sketches/ are extra).
for v in v1 v2 v3; do
        "$CADU" -q extract -s st $v.caibx $v.out
        cmp $v.out $v.img || fail "extract $v differs"
done

# A corrupt delta is EBADMSG; a delta whose base is gone cannot decode.
d=$(find st/deltas -name '*.cadelta' | sort | head -n 1)
cp "$d" saved.cadelta
python3 - "$d" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-3] ^= 0xff
open(p, "wb").write(bytes(b))
PY
[ "$("$TOOL" decode st "$d" || true)" = EBADMSG ] || fail "corrupt delta decoded"
cp saved.cadelta "$d"
[ "$("$TOOL" decode st "$d")" = ok ] || fail "restored delta does not decode"
base=$(python3 - "$d" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
print(b[56:88].hex())
PY
)
mv "st/$(echo "$base" | cut -c1-4)/$base.cacnk" base.cacnk
[ "$("$TOOL" decode st "$d" || true)" = ENOENT ] || fail "delta decoded without its base"
mv base.cacnk "st/$(echo "$base" | cut -c1-4)/$base.cacnk"

# A corrupt sketch file is ignored (with a warning) and its chunks are
# sketched again; the damaged file stays for the operator to see.
s=$(ls st/sketches | head -n 1)
printf 'X' | dd of="st/sketches/$s" bs=1 seek=30 conv=notrunc 2>/dev/null
gen_data random 300000 v4.img
"$CADU" --json make --deltas -s st -c 4K:16K:64K v4.img v4.caibx > out4.json 2> err4.txt
grep -q 'warning: ignored 1 corrupt sketch file' err4.txt || fail "no warning: $(cat err4.txt)"
ev=$(deltas_event out4.json)
[ "$(json "$ev" sketched)" -gt "$(json "$ev" new_chunks)" ] || fail "the corrupt file's chunks were not sketched again"

# Options.
expect_fail 2 "invalid --delta-level" "$CADU" make --deltas --delta-level 20 -s st v1.img x.caibx
expect_fail 1 "^cadu: make --deltas needs a directory store, not http://127.0.0.1:1/$" \
        "$CADU" make --deltas -s http://127.0.0.1:1/ v1.img x.caibx
echo "ok"
