#!/bin/sh
# mirror, verify-store and gc with packs, pack indexes and delta files:
# mirror copies what a release needs (from real nginx, as ranges) and a
# device extracts from the copy with deltas; verify-store checks every pack
# entry against the chunk or delta it claims to be; gc keeps the packs of
# the kept indexes and never keeps a delta whose base it deletes.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3 zstd
cd "$T"
python3 - <<'PY'
import random
r = random.Random(3)
words = [bytes(r.choice(b"abcdefghijklmnop") for _ in range(r.randint(2, 9))) for _ in range(3000)]
def text(n, rr):
    out = bytearray()
    while len(out) < n:
        out += rr.choice(words) + b" "
    return bytes(out[:n])
v1 = bytearray(text(2000000, random.Random(1)))
v2 = bytearray(v1)
for k in range(30):
    p = r.randrange(len(v2) - 100)
    v2[p:p + 20] = text(20, r)
open("v1.img", "wb").write(v1); open("v2.img", "wb").write(v2)
PY
mkdir www
"$CADU" -q make --packs --store www/st v1.img v1.caibx
"$CADU" -q make --deltas --packs --store www/st v2.img v2.caibx
nginx_start "$T/www"
jget() { python3 -c 'import json, sys; d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); src = {s["source"]: s for s in d.get("sources", [])}; print(eval(sys.argv[2]))' "$1" "$2"; }
ndeltas=$(find www/st/deltas -name '*.cadelta' | wc -l)
[ "$ndeltas" -gt 5 ] || fail "only $ndeltas delta files made"

# --- verify-store: packs and deltas are no strays, every entry checked
"$CADU" --json verify-store www/st v1.caibx v2.caibx > vs || fail "verify-store: $(cat vs)"
[ "$(jget vs 'd["pack_indexes"]')" -eq 2 ] && [ "$(jget vs 'd["decoded_deltas"]')" -eq "$ndeltas" ] || fail "verify-store: $(tail -n 1 vs)"
"$CADU" -q verify-store www/st || fail "verify-store without indexes calls packs stray"

# --- mirror from nginx: packs, catalogs, pack index, delta files
"$CADU" --json mirror --from "$HTTP_URL/st" --to mir v2.caibx > m1 || fail "mirror: $(tail -n 1 m1)"
[ "$(jget m1 'd["pack_indexes"]')" -eq 1 ] && [ "$(jget m1 'd["copied_packs"]')" -eq 3 ] &&
        [ "$(jget m1 'd["copied_deltas"]')" -eq "$ndeltas" ] || fail "mirror: $(tail -n 1 m1)"
for f in www/st/packs/*.capack www/st/packs/*.capcat; do cmp "$f" "mir/packs/${f##*/}" || fail "mirror: ${f##*/} differs"; done
grep -q 'Range\|\.capack' "$NGINX_LOG" || fail "mirror did not fetch the packs from nginx"
"$CADU" -q verify-store mir v2.caibx || fail "the mirror is not sound"
"$CADU" --json extract --store mir --seed v1.img:v1.caibx v2.caibx out.img > x1 || fail "extract from the mirror"
cmp out.img v2.img || fail "extract from the mirror: wrong image"
[ "$(jget x1 'src["delta"]["chunks"]')" -gt 0 ] || fail "no deltas from the mirror: $(tail -n 1 x1)"
"$CADU" --json mirror --from "$HTTP_URL/st" --to mir v2.caibx > m2 || fail "mirror again"
[ "$(jget m2 'd["copied_packs"]')" -eq 0 ] && [ "$(jget m2 'd["present_packs"]')" -eq 3 ] || fail "mirror again: $(tail -n 1 m2)"

# --- info --seed with the store: the plan the device will follow
"$CADU" --json info --store "$HTTP_URL/st" --seed v1.img:v1.caibx v2.caibx > inf || fail "info: $(cat inf)"
python3 - inf x1 <<'PY' || fail "info's plan differs from what extract fetched"
import json, sys
plan = [json.loads(l)["plan"] for l in open(sys.argv[1]) if '"event":"plan"' in l][0]
done = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
src = {s["source"]: s for s in done["sources"]}
assert plan["delta_chunks"] == src["delta"]["chunks"] > 0 and plan["delta_bytes"] == src["delta"]["raw_bytes"], (plan, src["delta"])
assert plan["total_bytes"] == done["downloaded"], (plan, done["downloaded"])
PY

# --- verify-store finds a corrupt delta inside a pack
cp -r www/st bad
python3 "$top_srcdir/tests/packlib.py" dump bad v2.caibx | awk '$5 > 0' | head -n 1 > entry
read pos pack off len nb < entry
python3 - "bad/packs/$pack.capack" "$off" "$len" <<'PY'
import sys
p, off, ln = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = bytearray(open(p, "rb").read()); d[off + ln - 2] ^= 0x55; open(p, "wb").write(d)
PY
expect_fail 3 "not sound: 0 missing, 1 corrupt" "$CADU" verify-store bad v2.caibx
grep -q "^corrupt packs/$pack.capack@$off (delta of " "$T/.out" || fail "no corrupt line: $(cat "$T/.out")"

# --- gc: both releases kept: nothing of theirs goes
"$CADU" --json gc --grace 0 www/st v1.caibx v2.caibx > g1 || fail "gc"
[ "$(jget g1 'd["deleted_pack_files"]')" -eq 0 ] && [ "$(jget g1 'd["kept_deltas"]')" -eq "$ndeltas" ] || fail "gc of nothing: $(cat g1)"
# Only v2 kept: v1's pack index goes, v1's pack stays (v2 points into it),
# and the deltas go with their bases (v1's chunks).
packs_before=$(ls www/st/packs/*.capack | wc -l)
"$CADU" --json gc --grace 0 www/st v2.caibx > g2 || fail "gc v2"
[ "$(jget g2 'd["deleted_pack_indexes"]')" -eq 1 ] && [ "$(jget g2 'd["deleted_packs"]')" -eq 0 ] &&
        [ "$(jget g2 'd["deleted_deltas"]')" -eq "$ndeltas" ] || fail "gc v2: $(cat g2)"
[ "$(ls www/st/packs/*.capack | wc -l)" -eq "$packs_before" ] || fail "gc deleted a pack v2 needs"
[ "$(find www/st/deltas -name '*.cadelta' | wc -l)" -eq 0 ] || fail "deltas kept without their bases"
"$CADU" -q verify-store www/st v2.caibx || fail "store unsound after gc"
"$CADU" -q extract --store "$HTTP_URL/st" --seed v1.img:v1.caibx v2.caibx out2.img || fail "extract after gc"
cmp out2.img v2.img || fail "extract after gc: wrong image"
# Nothing kept but an unrelated index: every pack goes.
"$CADU" -q make --store other v1.img v1b.caibx
"$CADU" --json gc --grace 0 www/st v1b.caibx > g3 || fail "gc all"
[ "$(ls www/st/packs | wc -l)" -eq 0 ] || fail "packs left: $(ls www/st/packs)"
echo "mirror, verify-store and gc with packs ok"
