#!/bin/sh
# Deltas through packs against real nginx: chunks decoded from deltas
# against the seed, the plan exactly what is fetched; a corrupt delta falls
# back to the chunk file in the pack; a seed without a delta's bases gets the
# whole chunk; a server that ignores Range gets the delta files themselves.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3 zstd
cd "$T"
# Text-like data with small edits: every new chunk resembles an old one.
python3 - <<'PY'
import random
r = random.Random(3)
words = [bytes(r.choice(b"abcdefghijklmnop") for _ in range(r.randint(2, 9))) for _ in range(3000)]
def text(n, rr):
    out = bytearray()
    while len(out) < n:
        out += rr.choice(words) + b" "
    return bytes(out[:n])
v1 = bytearray(text(3000000, random.Random(1)))
v2 = bytearray(v1)
for k in range(40):
    p = r.randrange(len(v2) - 100)
    v2[p:p + 20] = text(20, r)
open("v1.img", "wb").write(v1); open("v2.img", "wb").write(v2)
PY
mkdir www
"$CADU" -q make --packs --store www/st v1.img v1.caibx
"$CADU" -q make --deltas --packs --store www/st v2.img v2.caibx
nginx_start "$T/www"
log_lines() { wc -l <"$NGINX_LOG"; }
logged() { tail -n +"$(($1 + 1))" "$NGINX_LOG" | awk -v m="${2:-}" 'm == "" || index($0, m) { n++; b += $5 } END { printf "%d %d\n", n, b }'; }
jget() { python3 -c 'import json, sys; d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); src = {s["source"]: s for s in d["sources"]}; print(eval(sys.argv[2]))' "$1" "$2"; }

# --- deltas against the seed; plan = fetched = logged
n0=$(log_lines)
"$CADU" --json extract --store "$HTTP_URL/st" --seed v1.img:v1.caibx v2.caibx out.img > j1 || fail "extract: $(tail -n 1 j1)"
cmp out.img v2.img || fail "extract via deltas differs from the image"
deltas=$(jget j1 'src["delta"]["chunks"]')
[ "$deltas" -gt 10 ] && [ "$deltas" -eq "$(jget j1 'd["plan"]["delta_chunks"]')" ] || fail "deltas: $(tail -n 1 j1)"
[ "$(jget j1 'src["delta"]["raw_bytes"]')" -eq "$(jget j1 'd["plan"]["delta_bytes"]')" ] || fail "delta bytes differ from the plan"
[ "$(jget j1 'src["pack"]["chunks"] + src["store"]["chunks"]')" -eq "$(jget j1 'd["plan"]["pack_chunks"] + d["plan"]["file_chunks"]')" ] ||
        fail "other chunks differ from the plan: $(tail -n 1 j1)"
total=$(jget j1 'd["plan"]["total_bytes"]')
set -- $(logged "$n0")
[ "$2" -eq "$total" ] && [ "$(jget j1 'd["downloaded"]')" -eq "$total" ] || fail "nginx sent $2 body bytes, the plan said $total"
[ "$1" -le "$(jget j1 'd["plan"]["requests"]')" ] || fail "nginx saw $1 requests"
# The deltas are far smaller than the chunk files they stand for.
[ "$(jget j1 'src["delta"]["raw_bytes"] * 20 < src["delta"]["bytes"]')" = True ] || fail "deltas too large: $(tail -n 1 j1)"

# --- a corrupt delta: that chunk from its chunk file in the pack
cp -r www/st www/bad
python3 "$top_srcdir/tests/packlib.py" dump www/bad v2.caibx | awk '$5 > 0' | head -n 1 > entry
read pos pack off len nb < entry
python3 - "www/bad/packs/$pack.capack" "$off" "$len" <<'PY'
import sys
p, off, ln = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = bytearray(open(p, "rb").read()); d[off + ln - 2] ^= 0x55; open(p, "wb").write(d)
PY
"$CADU" --json extract --store "$HTTP_URL/bad" --seed v1.img:v1.caibx v2.caibx out2.img > j2 || fail "corrupt delta: $(tail -n 1 j2)"
cmp out2.img v2.img || fail "corrupt delta: wrong image"
[ "$(jget j2 'src["delta"]["rejected"]')" -eq 1 ] && [ "$(jget j2 'src["delta"]["chunks"]')" -eq $((deltas - 1)) ] &&
        [ "$(jget j2 'src["pack"]["chunks"]')" -eq "$(($(jget j1 'src["pack"]["chunks"]') + 1))" ] ||
        fail "corrupt delta did not fall back to the chunk file: $(tail -n 1 j2)"

# --- a seed without the bases (the first half of v1, chunked here): the
# chunks whose bases it lacks come whole, the others as deltas
head -c 1500000 v1.img > half.img
"$CADU" --json extract --store "$HTTP_URL/st" --seed half.img v2.caibx out3.img > j3 || fail "half seed: $(tail -n 1 j3)"
cmp out3.img v2.img || fail "half seed: wrong image"
[ "$(jget j3 'src["delta"]["chunks"]')" -gt 0 ] && [ "$(jget j3 'src["delta"]["chunks"]')" -lt "$deltas" ] &&
        [ "$(jget j3 'src["delta"]["rejected"]')" -eq 0 ] && [ "$(jget j3 'src["pack"]["chunks"]')" -gt "$(jget j1 'src["pack"]["chunks"]')" ] ||
        fail "half seed: $(tail -n 1 j3)"

# --- no Range: the delta files themselves, no pack body
n0=$(log_lines)
"$CADU" --json extract --store "$HTTP_URL/no-range/st" --seed v1.img:v1.caibx v2.caibx out4.img > j4 || fail "no-range: $(tail -n 1 j4)"
cmp out4.img v2.img || fail "no-range: wrong image"
[ "$(jget j4 'src["delta"]["chunks"]')" -eq "$deltas" ] || fail "no-range: $(tail -n 1 j4)"
set -- $(logged "$n0" .cadelta)
[ "$1" -eq "$deltas" ] || fail "no-range: $1 delta files fetched, want $deltas"
recv=$(jget j4 'src["store"]["bytes_received"]')
[ "$recv" -lt $(($(jget j4 'd["downloaded"]') + $(jget j4 'src["store"]["requests"]') * 400 + 65536)) ] ||
        fail "no-range: received $recv bytes: a pack body was read"
# --- deltas against chunks new in the release: fetched a round after their bases
python3 - <<'PY'
import random
r = random.Random(5)
v1 = r.randbytes(1500000)
R = bytearray(r.randbytes(400000))
R2 = bytearray(R)
for k in range(20):
    p = r.randrange(len(R2) - 50)
    R2[p:p + 8] = r.randbytes(8)
open("c1.img", "wb").write(v1); open("c2.img", "wb").write(v1 + bytes(R) + bytes(R2))
PY
"$CADU" -q make --packs --store www/ch c1.img c1.caibx
"$CADU" -q make --deltas --packs --store www/ch c2.img c2.caibx
n0=$(log_lines)
"$CADU" --json extract --store "$HTTP_URL/ch" --seed c1.img:c1.caibx c2.caibx out5.img > j5 || fail "chained: $(tail -n 1 j5)"
cmp out5.img c2.img || fail "chained deltas: wrong image"
[ "$(jget j5 'src["delta"]["chunks"]')" -gt 0 ] && [ "$(jget j5 'src["delta"]["rejected"]')" -eq 0 ] &&
        [ "$(jget j5 'src["delta"]["chunks"]')" -eq "$(jget j5 'd["plan"]["delta_chunks"]')" ] &&
        [ "$(jget j5 'src["pack"]["chunks"]')" -eq "$(jget j5 'd["plan"]["pack_chunks"]')" ] ||
        fail "chained deltas: $(tail -n 1 j5)"
set -- $(logged "$n0")
[ "$2" -eq "$(jget j5 'd["plan"]["total_bytes"]')" ] || fail "chained: nginx sent $2 bytes, the plan said $(jget j5 'd["plan"]["total_bytes"]')"
# Whole chunk files would have cost far more.
[ "$(jget j5 'd["plan"]["total_bytes"] * 3 < 2 * (src["pack"]["bytes"] + src["delta"]["bytes"])')" = True ] ||
        fail "chained deltas saved too little: $(tail -n 1 j5)"
echo "deltas ok: $(tail -n 1 j1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["plan"])')"
