#!/bin/sh
# In place with the output's own saved index (--seed OUT:INDEX, fingerprints
# beside it): chunks the index puts at their target offset are checked by
# fingerprint and not rewritten; a slot changed since its index was saved
# (bytes overwritten inside chunks, a region zeroed) still ends exact, and
# only the changed chunks are taken elsewhere.
. "$top_srcdir/tests/lib.sh"
need python3
cd "$T"
python3 - <<'PY'
import random
r = random.Random(41)
v1 = r.randbytes(6 << 20)
v2 = bytearray(v1)
v2[2 << 20:(2 << 20) + 200000] = r.randbytes(200000)
open("v1.img", "wb").write(v1)
open("v2.img", "wb").write(bytes(v2))
PY
"$CADU" -q make --store st --fingerprints v1.img v1.caibx
"$CADU" -q make --store st v2.img v2.caibx
[ -f v1.caibx.fp ] || fail "make --fingerprints wrote no v1.caibx.fp"
stat_of() { # JSON SOURCE FIELD
        python3 -c 'import json,sys; s=[json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]; print(sum(x[sys.argv[3]] for x in s["sources"] if x["source"]==sys.argv[2]))' "$@"
}
# 1. The slot holds v1 as its index says: all but the changed region stays.
cp v1.img slot.img
"$CADU" --json extract --in-place --store st --seed slot.img:v1.caibx v2.caibx slot.img > a.json
cmp slot.img v2.img || fail "in place with the slot's own index: not exact"
[ "$(stat_of a.json in-place bytes)" -ge $((5 << 20)) ] || fail "only $(stat_of a.json in-place bytes) bytes kept in place"
[ "$(stat_of a.json store bytes)" -le $((1 << 20)) ] || fail "$(stat_of a.json store bytes) bytes fetched"

# 2. The slot changed after its index was saved: the changed chunks are
# caught by their fingerprints and taken from the store.
cp v1.img slot.img
python3 -c '
f = open("slot.img", "r+b")
for off in (100000, 1 << 20, 5 << 20):
    f.seek(off); f.write(b"changed")
f.seek(3 << 20); f.write(bytes(300000))'
"$CADU" --json extract --in-place --store st --seed slot.img:v1.caibx v2.caibx slot.img > b.json
cmp slot.img v2.img || fail "in place over a changed slot: not exact"
[ "$(stat_of b.json store bytes)" -gt "$(stat_of a.json store bytes)" ] || fail "the changed chunks were not fetched"
echo "in place with the slot's index ok"
