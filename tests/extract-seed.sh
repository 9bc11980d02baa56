#!/bin/sh
# Seeded extraction: only chunks no seed has are fetched, each once; seeds
# with and without saved indexes; a seed changed after its index was saved;
# cache; zeros and sparse output; bad seeds.
. "$top_srcdir/tests/lib.sh"
need python3
cd "$T"
# a: random data unlike anything in b (gen_data streams all start alike).
python3 -c 'import random; open("a","wb").write(random.Random(5).randbytes(4000000))'
gen_data mixed 4000000 b
head -c 2000000 /dev/zero > z
cat a b > v1.img
# v2: a changed region, b unchanged, a zero run, part of a repeated.
python3 - <<'PY'
a = open("a", "rb").read(); b = open("b", "rb").read()
a2 = bytearray(a); a2[1000000:1100000] = bytes(range(256)) * 390 + bytes(160)
open("v2.img", "wb").write(bytes(a2) + b + bytes(2000000) + a[:700000])
PY
"$CADU" -q make --store st v1.img v1.caibx
"$CADU" -q make --store st v2.img v2.caibx

# cost.py V2 SEED-INDEX...: bytes and chunks the store must deliver: chunks
# of v2 that are not all-zero and in no seed index, counted once per id.
cat > cost.py <<'PY'
import sys, hashlib
def chunks(path):
    d = open(path, "rb").read(); prev = 0; out = []
    for i in range((len(d) - 104) // 40):
        end = int.from_bytes(d[64 + 40*i:72 + 40*i], "little")
        out.append((d[72 + 40*i:104 + 40*i], end - prev)); prev = end
    return out
have = set()
for s in sys.argv[2:]:
    have |= {cid for cid, _ in chunks(s)}
seen = set(); n = size = 0
for cid, ln in chunks(sys.argv[1]):
    if cid in have or cid in seen or cid == hashlib.sha256(bytes(ln)).digest():
        continue
    seen.add(cid); n += 1; size += ln
print(n, size)
PY
source_stat() { # JSON SOURCE FIELD [N]: sum of FIELD over sources named SOURCE
        python3 -c 'import json,sys; s=[json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]; print(sum(x[sys.argv[3]] for x in s["sources"] if x["source"]==sys.argv[2]))' "$@"
}

# 1. With v1's saved index: fetched = exactly what v1 lacks, once each.
"$CADU" --json extract --store st --seed v1.img:v1.caibx v2.caibx out.img > s1.json
cmp out.img v2.img
set -- $(python3 cost.py v2.caibx v1.caibx)
[ "$(source_stat s1.json store chunks)" -eq "$1" ] || fail "fetched $(source_stat s1.json store chunks) chunks, expected $1"
[ "$(source_stat s1.json store bytes)" -eq "$2" ] || fail "fetched $(source_stat s1.json store bytes) bytes, expected $2"
[ "$(source_stat s1.json zero chunks)" -gt 0 ] || fail "no zero chunks recognised"
[ "$(source_stat s1.json duplicate chunks)" -gt 0 ] || fail "repeated chunks not copied locally"
rm out.img

# 2. Without an index the seed is chunked here: same cost.
"$CADU" --json extract --store st --seed v1.img v2.caibx out.img > s2.json
cmp out.img v2.img
[ "$(source_stat s2.json store bytes)" -eq "$2" ] || fail "unindexed seed: fetched $(source_stat s2.json store bytes), expected $2"
# ... and says so: the scan's last progress event covers the whole seed,
# before the statistics.
python3 - s2.json "$(stat -c %s v1.img)" <<'PY' || fail "seed scan progress: $(cat s2.json)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
scan = [e for e in ev if e.get("event") == "progress" and e["phase"] == "scanning seed v1.img"]
assert scan and scan[-1]["done"] == scan[-1]["total"] == int(sys.argv[2]), ev
assert "sources" in ev[-1], ev
PY
rm out.img

# 3. The seed changed after its index was saved: exact result, the changed
#    chunks rejected from the seed and fetched instead.
cp v1.img v1-changed.img
printf 'XXXXXXXX' | dd of=v1-changed.img bs=1 seek=3000000 conv=notrunc status=none
"$CADU" --json extract --store st --seed v1-changed.img:v1.caibx v2.caibx out.img > s3.json
cmp out.img v2.img
[ "$(source_stat s3.json seed rejected)" -ge 1 ] || fail "changed seed chunk not rejected"
[ "$(source_stat s3.json store bytes)" -gt "$2" ] || fail "changed chunk not fetched"
rm out.img

# 3b. The same with fingerprints (INDEX.fp from make --fingerprints): the
#     changed chunk fails its XXH3-128 check and is fetched instead.
"$CADU" -q make --fingerprints --store st v1.img v1fp.caibx
[ -s v1fp.caibx.fp ] || fail "no fingerprint file"
cmp v1fp.caibx v1.caibx || fail "--fingerprints changed the index"
"$CADU" --json extract --store st --seed v1-changed.img:v1fp.caibx v2.caibx out.img > s3b.json
cmp out.img v2.img
[ "$(source_stat s3b.json seed rejected)" -ge 1 ] || fail "fingerprints did not catch the changed seed chunk"
[ "$(source_stat s3b.json store bytes)" = "$(source_stat s3.json store bytes)" ] || fail "fingerprints fetched other chunks than digests"
rm out.img
# A sidecar that belongs to another index is ignored (digests are used).
"$CADU" -q make --fingerprints --store st2 --chunk-size 4K:16K:64K v1.img other.caibx
cp other.caibx.fp v1fp.caibx.fp
"$CADU" --json extract --store st --seed v1-changed.img:v1fp.caibx v2.caibx out.img > s3c.json
cmp out.img v2.img
[ "$(source_stat s3c.json seed rejected)" -ge 1 ] || fail "stale fingerprints were used"
rm out.img

# 4. A seed index with other chunk parameters, or longer than the seed:
#    documented fallback, the seed is chunked; still exact.
"$CADU" -q make --store st2 --chunk-size 4K:16K:64K v1.img v1-small.caibx
"$CADU" --json extract --store st --seed v1.img:v1-small.caibx v2.caibx out.img > s4.json
cmp out.img v2.img
[ "$(source_stat s4.json store bytes)" -eq "$2" ] || fail "fallback chunking differs"
rm out.img
head -c 5000000 v1.img > v1-short.img
"$CADU" -q extract --store st --seed v1-short.img:v1.caibx v2.caibx out.img
cmp out.img v2.img
rm out.img

# 5. Cache: filled by the first run, enough for a second run without stores.
mkdir -p empty-store empty
"$CADU" -q extract --store st --cache cache --seed v1.img:v1.caibx v2.caibx out.img
rm out.img
"$CADU" --json extract --store empty-store --cache cache --seed v1.img:v1.caibx v2.caibx out.img > s5.json 2>/dev/null ||
        fail "extract from cache failed"
cmp out.img v2.img
[ "$(source_stat s5.json cache chunks)" -eq "$1" ] || fail "cache did not deliver the fetched chunks"
rm out.img

# 6. Sparse output where the image has zeros.
"$CADU" -q make --store st z z.caibx
"$CADU" -q extract --store st z.caibx z.out
cmp z z.out
[ "$(du -k z.out | cut -f1)" -lt 100 ] || fail "zero image not sparse: $(du -k z.out)"

# 7. Bad seeds and missing chunks.
expect_fail 1 "cannot open seed nope.img" "$CADU" extract --store st --seed nope.img v2.caibx out.img
expect_fail 1 "is in no seed or store" "$CADU" extract --store empty --seed a v2.caibx out.img
[ ! -e out.img ] || fail "output left behind"
no_tmp_left .

echo "seeded extraction ok"
