#!/bin/sh
# cadu make --packs: packs hold exactly the chunk files (checked by an
# independent reader, tests/packlib.py), a second release packs only its new
# chunks and points into the first release's pack for the rest, and making a
# release again changes nothing.
. "$top_srcdir/tests/lib.sh"
need python3 zstd
cd "$T"
python3 -c 'import random; r = random.Random(7); open("a", "wb").write(r.randbytes(3000000)); open("b", "wb").write(r.randbytes(600000))'
cat a > v1.img
# v2: v1 with a new region in the middle and a repeated chunk-sized run.
head -c 1500000 a > v2.img; cat b >> v2.img; tail -c 1500000 a >> v2.img; head -c 300000 a >> v2.img
"$CADU" -q make --packs --store st v1.img v1.caibx
python3 "$top_srcdir/tests/packlib.py" check st v1.caibx > c1 || fail "v1 packs: $(cat c1)"
grep -q "packs=1 .* unpacked=0" c1 || fail "v1: $(cat c1)"
[ "$(ls st/packs/*.capack | wc -l)" -eq 1 ] || fail "v1: $(ls st/packs)"

"$CADU" --json make --packs --store st v2.img v2.caibx > j2
python3 "$top_srcdir/tests/packlib.py" check st v2.caibx > c2 || fail "v2 packs: $(cat c2)"
grep -q "packs=2 .* unpacked=0" c2 || fail "v2: $(cat c2)"
new=$(sed -n 's/.*"event":"done".*"new_chunks":\([0-9]*\).*/\1/p' j2)
packed=$(sed -n 's/.*"packed_chunks":\([0-9]*\).*/\1/p' j2)
ref=$(sed -n 's/.*"referenced_chunks":\([0-9]*\).*/\1/p' j2)
[ "$new" -gt 0 ] && [ "$packed" -eq "$new" ] && [ "$ref" -gt 0 ] || fail "v2: new=$new packed=$packed referenced=$ref"
# The new pack holds only v2's new chunks: its size is theirs.
newpack=$(ls -t st/packs/*.capack | head -1)
want=$(python3 - <<'PY'
import os
def ids(p):
    d = open(p, "rb").read(); return [d[72 + 40*i:104 + 40*i].hex() for i in range((len(d) - 104) // 40)]
new = set(ids("v2.caibx")) - set(ids("v1.caibx"))
print(sum(os.path.getsize("st/%s/%s.cacnk" % (h[:4], h)) for h in new))
PY
)
[ "$(stat -c %s "$newpack")" -eq "$want" ] || fail "new pack $(stat -c %s "$newpack") bytes, new chunk files $want"

# Again: nothing is rewritten.
ls -l --time-style=+%s.%N st/packs > before
"$CADU" --json make --packs --store st v2.img v2.caibx > j3
grep -q '"existed":true' j3 || fail "again: $(cat j3)"
ls -l --time-style=+%s.%N st/packs > after
cmp -s before after || fail "making v2 again changed st/packs"
ls -a st/packs | grep -q '^\.pack-' && fail "temporary pack left"

# A store whose pack disagrees with its catalog is not silently reused.
cp -r st st2
rm st2/packs/*.capx
printf x >> "$newpack"
cp "$newpack" st2/packs/
expect_fail 3 "bytes, its catalog says" "$CADU" make --packs --store st2 v2.img v2.caibx
echo "make --packs ok: $(cat c2)"
