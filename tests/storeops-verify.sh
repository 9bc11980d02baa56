#!/bin/bash
# cadu verify-store on a directory store: a sound store passes; a corrupt
# chunk, a deleted chunk and stray files are each reported exactly, by id or
# path, with exit status 3; the result does not depend on the thread count.
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"

cd "$T"
released_store store .

# A sound store: nothing on stdout, exit 0, with and without indexes.
"$CADU" verify-store store >out 2>err || fail "sound store rejected: $(cat out err)"
[ ! -s out ] || fail "sound store reported problems: $(cat out)"
grep -q "chunks verified" err || fail "no summary: $(cat err)"
"$CADU" verify-store store v1.caibx v2.caibx >out 2>err || fail "sound store rejected with indexes: $(cat out err)"
[ ! -s out ] || fail "problems reported: $(cat out)"
n=$(cat <(idx_ids v1.caibx) <(idx_ids v2.caibx) | sort -u | wc -l)
"$CADU" --json verify-store store >out.json || fail "json run failed"
[ "$(json_get out.json 'j["verified"]')" = "$n" ] || fail "verified $(json_get out.json 'j["verified"]') chunks, store has $n"
[ "$(json_get out.json 'j["sound"]')" = True ] || fail "not sound in JSON"

# Damage: chunk A replaced by another chunk's file (valid zstd, wrong
# content), chunk B truncated (corrupt frame), chunk C deleted, and strays.
mapfile -t ids < <(idx_ids v2.caibx | sort -u)
A=${ids[3]} B=${ids[7]} C=${ids[11]} D=${ids[12]}
cp "$(chunk_file store "$D")" "$(chunk_file store "$A")"
head -c 20 "$(chunk_file store "$B")" >b.tmp && mv b.tmp "$(chunk_file store "$B")"
rm "$(chunk_file store "$C")"
P=$(echo "$D" | cut -c1-4)
echo hello >store/README
mkdir store/tmp
printf x >"store/$P/$D.0123456789abcdef.tmp"
printf x >"store/$P/.#$D.cacnkAbCdEf"
printf x >"store/$P/notes.txt"
printf x >"store/$P/$(echo "$D" | tr a-f A-F).cacnk"
other=ffff; [ "$P" = ffff ] && other=eeee
mkdir -p "store/$other"
cp "$(chunk_file store "$D")" "store/$other/$D.cacnk"
ln -s ../README "store/$P/link.cacnk"

cat >expect-all <<EOF2
corrupt $A: content does not match its id
corrupt $B: compressed data is corrupt
stray README: not part of a chunk store
stray tmp: not a chunk prefix directory
stray $P/$D.0123456789abcdef.tmp: leftover temporary file
stray $P/.#$D.cacnkAbCdEf: leftover temporary file
stray $P/notes.txt: not a chunk file
stray $P/$(echo "$D" | tr a-f A-F).cacnk: bad chunk name (upper-case hex)
stray $other/$D.cacnk: chunk in the wrong prefix directory
stray $P/link.cacnk: not a regular file
EOF2
for threads in 1 2 4; do
        rc=0
        "$CADU" verify-store --threads $threads store >out 2>err || rc=$?
        [ $rc -eq 3 ] || fail "exit $rc with a damaged store (threads $threads): $(cat err)"
        diff <(sort expect-all) <(sort out) >&2 || fail "verify-store without index (threads $threads) reported otherwise"
        grep -q "^cadu: store store is not sound: 0 missing, 2 corrupt, 8 stray$" err || fail "error line: $(cat err)"
done
# The lines come in a stable order: chunks by id, then strays by path.
"$CADU" verify-store --threads 3 store >out2 2>/dev/null || true
cmp out out2 || fail "output order depends on the run"

# With the indexes: the deleted chunk is missing; the wrong size is named.
sizeA=$(idx_sizes v2.caibx | awk -v id="$A" '$1 == id { print $2; exit }')
rc=0
"$CADU" verify-store store v2.caibx >out 2>err || rc=$?
[ $rc -eq 3 ] || fail "exit $rc with indexes"
grep -qx "missing $C" out || fail "missing chunk not reported: $(cat out)"
grep -q "^corrupt $A: decompresses to [0-9]* bytes, the index says $sizeA$" out || fail "size mismatch: $(cat out)"
grep -qx "corrupt $B: compressed data is corrupt" out || fail "corrupt frame: $(cat out)"
[ "$(grep -c '^stray ' out)" -eq 8 ] || fail "strays with indexes: $(cat out)"
[ "$(grep -vc '^stray ' out)" -eq 3 ] || fail "extra chunk problems: $(cat out)"
grep -q "1 missing, 2 corrupt, 8 stray" err || fail "summary: $(cat err)"

# Only the chunks v1 needs: a problem in a chunk only v2 has is not v1's.
# X is such a chunk, damaged on purpose (whatever A, B and C turned out to be).
only2=$(comm -13 <(idx_ids v1.caibx | sort -u) <(idx_ids v2.caibx | sort -u))
X=$(echo "$only2" | grep -vx -e "$A" -e "$B" -e "$C" -e "$D" | head -n 1)
[ -n "$X" ] || fail "test needs a chunk only v2 has"
cp "$(chunk_file store "$X")" x.save
printf 'damaged' >"$(chunk_file store "$X")"
rc=0
"$CADU" verify-store store v1.caibx >out 2>err || rc=$?
[ $rc -eq 3 ] || fail "exit $rc for v1 (the strays make the store unsound): $(cat err)"
[ "$(grep -c '^stray ' out)" -eq 8 ] || fail "v1's run did not report the strays: $(cat out err)"
! grep -q "$X" out || fail "chunk $X that only v2 needs was reported for v1"
for id in "$A" "$B" "$C"; do
        if echo "$only2" | grep -qx "$id"; then
                ! grep -q "$id" out || fail "chunk $id that v1 does not need was reported"
        else
                grep -q " $id" out || fail "chunk $id that v1 needs was not reported: $(cat out)"
        fi
done
mv x.save "$(chunk_file store "$X")"

# Chunk files no index names are counted, not reported: v1's view of the
# store has v2's own chunks (less the deleted C, a chunk of both) as extra.
files=$(find store -mindepth 2 -maxdepth 2 -type f -name '*.cacnk' |
        sed -n 's|^store/\([0-9a-f]\{4\}\)/\(\1[0-9a-f]\{60\}\)\.cacnk$|\2|p' | sort -u)
want=$(comm -13 <(idx_ids v1.caibx | sort -u) <(echo "$files") | wc -l)
[ "$want" -gt 0 ] || fail "test needs chunks only v2 has"
"$CADU" --json verify-store store v1.caibx >out1.json 2>/dev/null || true
[ "$(json_get out1.json 'j["unreferenced"]')" = "$want" ] ||
        fail "unreferenced: $(json_get out1.json 'j["unreferenced"]'), expected $want"

# JSON events name the same problems.
"$CADU" --json verify-store store v2.caibx >out.json 2>/dev/null || true
python3 - out.json "$A" "$B" "$C" <<'PY' || fail "JSON problems differ"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
p = {(e["kind"], e.get("id") or e.get("path")) for e in ev if e["event"] == "problem"}
a, b, c = sys.argv[2:5]
assert ("corrupt", a) in p and ("corrupt", b) in p and ("missing", c) in p, p
assert sum(1 for k, _ in p if k == "stray") == 8, p
done = [e for e in ev if e["event"] == "done"][-1]
assert done["sound"] is False and done["missing"] == 1 and done["corrupt"] == 2 and done["stray"] == 8, done
PY

# Repaired store: sound again.
rm -rf store/README store/tmp "store/$other" "store/$P/link.cacnk" "store/$P/notes.txt" "store/$P"/*.tmp "store/$P"/.#* \
        "store/$P/$(echo "$D" | tr a-f A-F).cacnk"
"$CADU" -q make --store store v2.img v2.caibx
rc=0
"$CADU" verify-store store >out 2>err || rc=$?
[ $rc -eq 3 ] || fail "exit $rc: A and B are still wrong: $(cat out err)"
diff <(printf 'corrupt %s: content does not match its id\ncorrupt %s: compressed data is corrupt\n' "$A" "$B" | sort) \
        <(sort out) >&2 || fail "make does not repair existing chunks, verify-store must still name A and B"
rm "$(chunk_file store "$A")" "$(chunk_file store "$B")"
"$CADU" -q make --store store v2.img v2.caibx
"$CADU" verify-store store v1.caibx v2.caibx >out 2>err || fail "repaired store not sound: $(cat out err)"

# Digests: a sha512-256 store passes with the default (either digest), and
# with the right --digest; the wrong one makes every chunk corrupt.
"$CADU" -q make --digest sha512-256 --store store512 v1.img v1-512.caibx
"$CADU" -q verify-store store512 || fail "sha512-256 store rejected"
"$CADU" -q verify-store --digest sha512-256 store512 || fail "sha512-256 store rejected with --digest"
n512=$(idx_ids v1-512.caibx | sort -u | wc -l)
rc=0
"$CADU" -q verify-store --digest sha256 store512 >out 2>/dev/null || rc=$?
[ $rc -eq 3 ] && [ "$(grep -c '^corrupt .*: content does not match its id$' out)" -eq "$n512" ] ||
        fail "wrong --digest: exit $rc, $(wc -l <out) lines for $n512 chunks"
"$CADU" -q verify-store store512 v1-512.caibx || fail "sha512-256 store rejected with its index"

# Casync's own store is sound for cadu.
if command -v casync >/dev/null; then
        casync make --store=castore v1c.caibx v1.img >/dev/null 2>&1 || fail "casync make failed"
        [ -n "$(store_chunks castore)" ] || fail "casync wrote no chunks"
        "$CADU" verify-store castore >out 2>err || fail "casync store rejected: $(cat out err)"
fi

# Bad usage and bad input: one clear line each.
expect_fail 2 "cannot be listed" "$CADU" verify-store http://127.0.0.1:1/store
expect_fail 2 "digest is for a store checked without INDEX" "$CADU" verify-store --digest sha256 store v1.caibx
expect_fail 2 "unknown digest" "$CADU" verify-store --digest md5 store
expect_fail 2 "invalid --threads" "$CADU" verify-store --threads 0 store
expect_fail 1 "cannot open store nonexistent" "$CADU" verify-store nonexistent
head -c 100 v1.caibx >bad.caibx
expect_fail 3 "index bad.caibx: " "$CADU" verify-store store bad.caibx
exit 0
