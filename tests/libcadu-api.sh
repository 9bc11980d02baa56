#!/bin/sh
# libcadu's public API through the shared library (tests/libcadu-api.c):
# cadu_maker_run() writes the same index as cadu make and stores the same
# chunks; progress runs from 0 to the image size; a dry run says what would
# come from where; a download limit refuses a plan above it before anything
# is written; argument and file errors return -errno with one message; the
# library prints nothing itself.
. "$top_srcdir/tests/lib.sh"
API=$top_builddir/tests/libcadu-api
[ -x "$API" ] || fail "no $API"
cd "$T"
gen_data mixed 3000000 v1.img
head -c 2000000 v1.img > part
python3 -c 'import random; open("new","wb").write(random.Random(3).randbytes(700000))'
cat part new > v2.img

# Making: the same index and chunks as the command, stats, progress.
"$API" make v1.img st v1.caibx > make1.txt 2> err.txt || fail "make through the API failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
"$CADU" -q make --store st-cmd v1.img v1-cmd.caibx
cmp v1.caibx v1-cmd.caibx || fail "the API's index differs from cadu make's"
(cd st && find . -type f | sort) > files
(cd st-cmd && find . -type f | sort) > files-cmd
diff files files-cmd > d || fail "stores differ: $(head d)"
# Every chunk file is new; a chunk repeated in the image may be stored by two
# workers at once and count twice (as in cadu make), never more often.
n=$(wc -l < files)
set -- $(sed -n 's/^chunks \([0-9]*\) new \([0-9]*\) bytes \([0-9]*\) compressed \([0-9]*\)$/\1 \2 \3 \4/p' make1.txt)
[ $# -eq 4 ] || fail "make stats: $(cat make1.txt)"
[ "$2" -ge "$n" ] && [ "$2" -le "$1" ] || fail "make stats: $2 new chunks, $n chunk files, $1 chunks"
[ "$4" -gt 0 ] && [ "$4" -lt "$3" ] || fail "make stats: $3 bytes compressed to $4"
grep -q "^progress starts 1 ends 1 backwards 0 total 3000000$" make1.txt || fail "make progress: $(cat make1.txt)"
"$API" make v1.img st v1.caibx > make2.txt || fail "second make failed"
grep -q "^chunks [0-9]* new 0 bytes 0 compressed 0$" make2.txt || fail "second make stored chunks again: $(cat make2.txt)"
# Chunk sizes are taken: casync's defaults give the command's index, others not.
"$API" make v1.img st-small small.caibx 4096 16384 65536 > /dev/null || fail "make with chunk sizes failed"
"$CADU" -q make --store st-small-cmd --chunk-size 4096:16384:65536 v1.img small-cmd.caibx
cmp small.caibx small-cmd.caibx || fail "chunk sizes: the API's index differs from cadu make's"
"$API" make v2.img st v2.caibx > /dev/null || fail "make v2 failed"

# A dry run: all from the store, or mostly from the seed.
"$API" plan v2.caibx st > plan1.txt 2> err.txt || fail "plan failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
grep -q '^stores [1-9]' plan1.txt || fail "dry run without a seed: $(cat plan1.txt)"
"$API" plan v2.caibx st v1.img > plan2.txt || fail "plan with a seed failed"
grep -q '^seeds [1-9]' plan2.txt || fail "dry run with a seed: nothing from it: $(cat plan2.txt)"
s1=$(sed -n 's/^stores \([0-9]*\) .*/\1/p' plan1.txt)
s2=$(sed -n 's/^stores \([0-9]*\) .*/\1/p' plan2.txt)
[ "${s2:-0}" -lt "$s1" ] || fail "the seed did not lower the planned fetches ($s1 -> ${s2:-0})"

# A download limit: refused before writing, then met.
rc=0
"$API" limit v2.caibx st out.img 1000 2> err.txt || rc=$?
[ "$rc" -eq 3 ] || fail "a 1000-byte limit: exit $rc (want 3, -EDQUOT): $(cat err.txt)"
[ ! -e out.img ] || fail "the refused extraction wrote out.img"
"$API" limit v2.caibx st out.img 100000000 > lim.txt || fail "a large limit failed"
cmp out.img v2.img || fail "limited extraction differs"

# A release with deltas, packs and encryption: the same store files (names
# and bytes) and manifests as cadu make with the same options, and cadu
# extract rebuilds it.
(umask 077; for k in k1 k2; do python3 -c "import os; print(os.urandom(32).hex())" > $k; done)
mkdir api cmd
for v in v1 v2; do
        (cd api && "$API" release ../$v.img st $v.caibx key=../k1 packs deltas=3 manifest=$v.manifest,board,1.0.${v#v}) \
                > rel-$v.txt 2> err.txt || fail "release $v through the API failed: $(cat err.txt)"
        (cd cmd && "$CADU" -q make --encrypt-key ../k1 --packs --deltas --delta-level 3 --store st \
                --manifest $v.manifest --compatible board --version 1.0.${v#v} ../$v.img $v.caibx)
done
[ -n "$(find api/st/deltas -type f)" ] && [ -n "$(find api/st/packs -type f)" ] || fail "no deltas or packs: $(cd api && find . | head)"
grep -q '^deltas [1-9][0-9]* with [1-9]' rel-v2.txt || fail "no delta stats: $(cat rel-v2.txt)"
grep -q '^packs [1-9][0-9]* bytes [1-9]' rel-v2.txt || fail "no pack stats: $(cat rel-v2.txt)"
grep -q '^image 2700000$' rel-v2.txt || fail "image size: $(cat rel-v2.txt)"
# An encrypted index is sealed under a random nonce: it, and the pack index
# named by its sha256, differ from run to run; all else is deterministic.
diff -r -x '*.caibx' -x '*.capx' api cmd > d || fail "the API's release differs from cadu make's: $(head d)"
[ "$(find api/st/packs -name '*.capx' | wc -l)" -eq 2 ] || fail "pack indexes: $(ls api/st/packs)"
"$CADU" -q extract --key-file k1 --store api/st api/v2.caibx out1.img || fail "cadu extract of the API's release failed"
cmp out1.img v2.img || fail "cadu extract of the API's release differs"
! grep -q "$(cut -c1-20 k1)" api/v2.manifest || fail "the key is in the manifest"
! cmp -s api/v2.caibx v2.caibx || fail "the index is not encrypted"
# Its extraction with the key is exact; without it or with another it fails.
"$API" extract api/v2.caibx api/st out2.img key=k1 > x.txt 2> err.txt || fail "extract with the key: $(cat x.txt err.txt)"
cmp out2.img v2.img || fail "the encrypted extraction differs"
rc=0; "$API" extract api/v2.caibx api/st out3.img > x.txt 2> err.txt || rc=$?
[ $rc -eq 4 ] && [ "$(cat x.txt)" = "errno 126" ] || fail "extract without the key: $rc $(cat x.txt err.txt) (want ENOKEY)"
grep -q "is encrypted (key [0-9a-f]*)" err.txt || fail "without the key: $(cat err.txt)"
rc=0; "$API" extract api/v2.caibx api/st out3.img key=k2 > x.txt 2> err.txt || rc=$?
[ $rc -eq 4 ] && [ "$(cat x.txt)" = "errno 129" ] || fail "extract with another key: $rc $(cat x.txt err.txt) (want EKEYREJECTED)"
rc=0; "$API" extract v1.caibx st out3.img key=k1 > x.txt 2> err.txt || rc=$?
[ $rc -eq 4 ] && [ "$(cat x.txt)" = "errno 22" ] || fail "a plain index with a key: $rc $(cat x.txt err.txt) (want EINVAL)"
[ ! -e out3.img ] || fail "a failed extraction left out3.img"
# Plaintext hashes are refused with a key; a loose key file is refused.
rc=0; "$API" release v1.img st-fp fp.caibx key=k1 fp 2> err.txt || rc=$?
[ $rc -eq 1 ] && grep -q "not with a key" err.txt || fail "fingerprints with a key: $rc $(cat err.txt)"
cp k1 k-loose && chmod 644 k-loose
rc=0; "$API" extract api/v2.caibx api/st out3.img key=k-loose > x.txt 2> err.txt || rc=$?
[ $rc -eq 1 ] && grep -q "key file k-loose" err.txt || fail "a loose key file: $rc $(cat err.txt)"
# Unencrypted: fingerprints and compact indexes as cadu make writes them.
mkdir api-p cmd-p
(cd api-p && "$API" release ../v1.img st v1.caibx packs fp > /dev/null && "$API" release ../v2.img st v2.caibx packs fp base=v1.caibx) \
        > /dev/null 2> err.txt || fail "plain release through the API: $(cat err.txt)"
(cd cmd-p && "$CADU" -q make --packs -f --store st ../v1.img v1.caibx && \
        "$CADU" -q make --packs -f --index-base v1.caibx --store st ../v2.img v2.caibx)
[ -f api-p/v2.caibx.fp ] && [ "$(find api-p/st/packs -name '*-*.caibz' | wc -l)" -eq 1 ] || \
        fail "no fingerprints or compact index against the base: $(cd api-p && find . -name '*.fp' -o -name '*.caibz')"
diff -r api-p cmd-p > d || fail "the API's plain release differs from cadu make's: $(head d)"

# Per-source detail and the plan: consistent with the sums of
# cadu_extraction_get_source() and the bytes downloaded (per-chunk files of
# the one store, compressed), and what cadu extract --json reports.
"$API" extract v2.caibx st out4.img seed=v1.img > det.txt 2> err.txt || fail "extract with a seed: $(cat err.txt)"
cmp out4.img v2.img || fail "the seeded extraction differs"
"$CADU" -q --json extract --store st --seed v1.img v2.caibx out5.img | tail -n 1 > det.json
python3 - det.txt det.json <<'PY' || fail "detail differs from cadu extract --json: $(cat det.txt det.json)"
import json, sys
api, sums = {}, {}
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] == "source":
        api[(w[1], int(w[2]))] = tuple(map(int, w[3:]))
    elif w[0] == "sum":
        sums[w[1]] = (int(w[2]), int(w[3]))
    elif w[0] == "downloaded":
        downloaded = int(w[1])
    else:
        written, plan, requests = int(w[1]), int(w[3]), int(w[5])
for name, (chunks, nbytes) in sums.items():
    mine = [v for (n, _), v in api.items() if n == name]
    assert (sum(v[0] for v in mine), sum(v[1] for v in mine)) == (chunks, nbytes), (name, mine, sums)
store = api[("stores", 0)]
assert 0 < store[2] == downloaded != store[1], (store, downloaded)
assert api[("seeds", 0)][2] == 0, api
d = json.loads(open(sys.argv[2]).read())
names = {"seed": "seeds", "store": "stores", "zero": "zero", "duplicate": "duplicate", "in-place": "in-place",
         "pack": "packs", "delta": "deltas", "cache": "cache"}
cmd, seen = {}, {}
for s in d["sources"]:
    n = names[s["source"]]
    k = seen.get(n, 0); seen[n] = k + 1
    if s["chunks"] or s["rejected"]:
        cmd[(n, k)] = (s["chunks"], s["bytes"], s["raw_bytes"], s["rejected"])
assert api == cmd, (api, cmd)
assert ("seeds", 0) in api and ("stores", 0) in api, api
assert written == d["bytes_written"] and plan == d["plan"]["total_bytes"] and requests == d["plan"]["requests"]
PY

# Errors.
mkdir empty
"$API" errors empty > errs.txt 2> err.txt || fail "argument checks: $(cat err.txt)"
[ "$(cat errs.txt)" = ok ] || fail "argument checks: $(cat errs.txt)"
no_tmp_left .
exit 0
