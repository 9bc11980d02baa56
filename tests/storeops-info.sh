#!/bin/bash
# cadu info: its arithmetic checked against the index files themselves
# (computed here in Python) and against what a real extract then fetches.
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"

cd "$T"
released_store store .

# Counts, dedup and size distribution of each index and of both.
"$CADU" --json info --store store v1.caibx v2.caibx >info.json || fail "info failed"
python3 - info.json v1.caibx v2.caibx store <<'PY' || fail "info statistics differ from the indexes"
import json, os, struct, sys
j = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]   # after any progress events
def items(path):
    b = open(path, "rb").read()
    out, prev = [], 0
    for i in range((len(b) - 104) // 40):
        end = struct.unpack_from("<Q", b, 64 + 40 * i)[0]
        out.append((b[72 + 40 * i:104 + 40 * i].hex(), end - prev))
        prev = end
    return out
def rank(v, p):
    r = (len(v) * p + 99) // 100
    return v[max(r, 1) - 1]
allids = {}
for k, path in enumerate(sys.argv[2:4]):
    it = items(path)
    x = j["indexes"][k]
    d = dict(it)
    sizes = sorted(s for _, s in it)
    assert x["path"] == path
    assert x["chunks"] == len(it), (x["chunks"], len(it))
    assert x["bytes"] == sum(sizes)
    assert x["distinct_chunks"] == len(d)
    assert x["distinct_bytes"] == sum(d.values())
    assert abs(x["dedup_ratio"] - sum(sizes) / sum(d.values())) < 1e-3
    s = x["sizes"]
    assert (s["min"], s["max"]) == (sizes[0], sizes[-1])
    assert (s["p10"], s["p50"], s["p90"], s["p99"]) == tuple(rank(sizes, p) for p in (10, 50, 90, 99)), s
    assert x["chunk_size_min"] == 16384 and x["chunk_size_avg"] == 65536 and x["chunk_size_max"] == 262144
    assert x["digest"] == "sha256"
    allids.update(d)
t = j["total"]
assert t["distinct_chunks"] == len(allids) and t["distinct_bytes"] == sum(allids.values()), t
assert t["chunks"] == sum(x["chunks"] for x in j["indexes"])
st = j["store"]
raw = sum(os.path.getsize("%s/%s/%s.cacnk" % (sys.argv[4], i[:4], i)) for i in allids)
assert st["present_chunks"] == len(allids) and st["missing_chunks"] == 0 and st["missing"] == []
assert st["compressed_bytes"] == raw, (st["compressed_bytes"], raw)
PY
# A dedup ratio above 1 shows: v1 repeats a block.
"$CADU" info v1.caibx >out || fail "text info failed"
grep -q "^v1.caibx: .* in [0-9]* chunks, [0-9]* distinct (.*dedup 1\.[0-9][0-9]x)$" out || fail "text: $(cat out)"
grep -q "chunk sizes: min [0-9]*, p10 [0-9]*, median [0-9]*, avg [0-9]*, p90 [0-9]*, p99 [0-9]*, max [0-9]*$" out ||
        fail "text sizes: $(cat out)"

# Missing chunks are listed by id.
gone=$(idx_ids v2.caibx | sort -u | sed -n 5p)
mv "$(chunk_file store "$gone")" gone.cacnk
"$CADU" --json info --store store v2.caibx >info.json
[ "$(json_get info.json 'j["store"]["missing"]')" = "['$gone']" ] || fail "missing list: $(json_get info.json 'j["store"]')"
"$CADU" info --store store v2.caibx >out
grep -q "missing 1 chunks" out && grep -qx "    $gone" out || fail "text missing list: $(cat out)"
mv gone.cacnk "$(chunk_file store "$gone")"

# The cost of an update: v1.img as seed (chunked, or with its saved index).
# Expected: the distinct chunks of v2 that v1 lacks, except all-zero ones.
expect=$(python3 - v1.caibx v2.caibx v2.img store <<'PY'
import os, struct, sys
def items(path):
    b = open(path, "rb").read()
    out, prev = [], 0
    for i in range((len(b) - 104) // 40):
        end = struct.unpack_from("<Q", b, 64 + 40 * i)[0]
        out.append((b[72 + 40 * i:104 + 40 * i].hex(), prev, end - prev))
        prev = end
    return out
have = {i for i, _, _ in items(sys.argv[1])}
img = open(sys.argv[3], "rb").read()
need = {}
for i, off, size in items(sys.argv[2]):
    if i not in have and img[off:off + size].count(0) != size:
        need[i] = size
raw = sum(os.path.getsize("%s/%s/%s.cacnk" % (sys.argv[4], i[:4], i)) for i in need)
print(len(need), sum(need.values()), raw)
PY
)
read -r nfetch bfetch rfetch <<<"$expect"
[ "$nfetch" -gt 0 ] || fail "test data: v2 has nothing new"
for seed in v1.img v1.img:v1.caibx; do
        "$CADU" --json info --store store --seed "$seed" v2.caibx >plan.json || fail "info --seed $seed failed"
        got="$(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["chunks"]') $(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["bytes"]') $(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["compressed_bytes"]')"
        [ "$got" = "$expect" ] || fail "info --seed $seed: fetch '$got', the indexes say '$expect'"
        [ "$(json_get plan.json 'j["indexes"][0]["update"]["seeds"][0]["path"]')" = v1.img ] || fail "seed name"
done
# Without a store, the same uncompressed numbers, compressed unknown.
"$CADU" --json info --seed v1.img:v1.caibx v2.caibx >plan.json || fail "info --seed without store"
[ "$(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["bytes"]')" = "$bfetch" ] || fail "bytes without store"
[ "$(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["compressed_bytes"]')" = None ] || fail "compressed without store"
# Text form.
"$CADU" info --store store --seed v1.img v2.caibx >out
grep -q "update with 1 seed: fetch $nfetch chunks, .* ($bfetch bytes), .* ($rfetch bytes) compressed" out ||
        fail "text plan: $(cat out)"

# And a real extract fetches exactly that from the store.
"$CADU" --json extract --store store --seed v1.img v2.caibx v2.out >ex.json
cmp v2.img v2.out || fail "extract differs"
[ "$(json_get ex.json '[s for s in j["sources"] if s["source"] == "store"][0]["bytes"]')" = "$bfetch" ] ||
        fail "extract fetched other bytes than info predicted: $(tail -1 ex.json)"
[ "$(json_get ex.json '[s for s in j["sources"] if s["source"] == "store"][0]["raw_bytes"]')" = "$rfetch" ] ||
        fail "extract transferred other bytes than info predicted"

# Two seeds: v2 itself as second seed leaves nothing to fetch.
"$CADU" --json info --seed v1.img --seed v2.img:v2.caibx v2.caibx >plan.json
[ "$(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["chunks"]')" = 0 ] || fail "nothing should be left to fetch"
# The chunk to fetch is missing from the store: info says so.
one=$(comm -13 <(idx_ids v1.caibx | sort -u) <(idx_ids v2.caibx | sort -u) | head -1)
rm "$(chunk_file store "$one")"
"$CADU" --json info --store store --seed v1.img v2.caibx >plan.json
[ "$(json_get plan.json 'j["indexes"][0]["update"]["fetch"]["missing_from_store"]["chunks"]')" = 1 ] ||
        fail "missing chunk to fetch not counted"

# Bad input: one clear line each.
head -c 150 v1.caibx >bad.caibx
expect_fail 3 "index bad.caibx: " "$CADU" info bad.caibx
expect_fail 1 "cannot read index nothere.caibx" "$CADU" info nothere.caibx
expect_fail 1 "planning the update to v2.caibx: cannot open seed nothere.img" "$CADU" info --seed nothere.img v2.caibx
expect_fail 2 "expected at least one INDEX" "$CADU" info
expect_fail 1 "cannot open store nostore" "$CADU" info --store nostore v2.caibx
exit 0
