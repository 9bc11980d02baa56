#!/bin/sh
# Extraction through packs against real nginx: the image is right, the plan
# (made before anything is written) is exactly what is fetched, by the
# JSON statistics and by nginx's access log; a server that ignores Range
# gets per-chunk requests and sends no pack body; a corrupt pack entry falls
# back to the per-chunk file; --max-download refuses with nothing written.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3 zstd
cd "$T"
python3 -c 'import random; r = random.Random(7); open("a", "wb").write(r.randbytes(3000000)); open("b", "wb").write(r.randbytes(600000))'
cp a v1.img
head -c 1500000 a > v2.img; cat b >> v2.img; tail -c 1500000 a >> v2.img; head -c 300000 a >> v2.img
mkdir www
"$CADU" -q make --packs --store www/st v1.img v1.caibx
"$CADU" -q make --packs --store www/st v2.img v2.caibx
nginx_start "$T/www"
log_lines() { wc -l <"$NGINX_LOG"; }
# body bytes and requests nginx logged since line $1 (optionally only lines matching $2)
logged() { tail -n +"$(($1 + 1))" "$NGINX_LOG" | awk -v m="${2:-}" 'm == "" || index($0, m) { n++; b += $5 } END { printf "%d %d\n", n, b }'; }
# jget FILE EXPR: a value from the last JSON line (the statistics)
jget() { python3 -c 'import json, sys; d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); src = {s["source"]: s for s in d["sources"]}; print(eval(sys.argv[2]))' "$1" "$2"; }

# --- through packs: right image, plan = fetched = logged
n0=$(log_lines)
"$CADU" --json extract --store "$HTTP_URL/st" --seed v1.img:v1.caibx v2.caibx out.img > j1 || fail "extract: $(tail -n 1 j1)"
cmp out.img v2.img || fail "extract via packs differs from the image"
[ "$(jget j1 'd["plan"]["pack_index"]')" = True ] || fail "no pack index used: $(tail -n 1 j1)"
chunks=$(jget j1 'src["pack"]["chunks"]')
[ "$chunks" -gt 0 ] && [ "$chunks" -eq "$(jget j1 'd["plan"]["pack_chunks"]')" ] || fail "pack chunks $chunks vs plan: $(tail -n 1 j1)"
[ "$(jget j1 'src["pack"]["raw_bytes"]')" -eq "$(jget j1 'd["plan"]["pack_bytes"]')" ] || fail "pack bytes differ from the plan"
[ "$(jget j1 'src["store"]["chunks"]')" -eq 0 ] || fail "per-chunk files fetched: $(tail -n 1 j1)"
total=$(jget j1 'd["plan"]["total_bytes"]')
[ "$(jget j1 'd["downloaded"]')" -eq "$total" ] || fail "downloaded differs from the plan: $(tail -n 1 j1)"
set -- $(logged "$n0")
[ "$2" -eq "$total" ] || fail "nginx sent $2 body bytes, the plan said $total"
[ "$1" -le "$(jget j1 'd["plan"]["requests"]')" ] || fail "nginx saw $1 requests, the plan said $(jget j1 'd["plan"]["requests"]')"
[ "$1" -le 3 ] || fail "$1 requests for one run of new chunks"

# --- a server that ignores Range: per-chunk files, no pack body
n0=$(log_lines)
"$CADU" --json extract --store "$HTTP_URL/no-range/st" --seed v1.img:v1.caibx v2.caibx out2.img > j2 || fail "no-range: $(tail -n 1 j2)"
cmp out2.img v2.img || fail "no-range extract differs"
[ "$(jget j2 'src["store"]["chunks"]')" -eq "$chunks" ] || fail "no-range: $(tail -n 1 j2)"
set -- $(logged "$n0" .capack)
[ "$1" -eq 1 ] || fail "no-range: $1 pack requests"
recv=$(jget j2 'src["store"]["bytes_received"]')
files=$(jget j2 'src["store"]["raw_bytes"]')
idx=$(jget j2 'd["plan"]["index_bytes"]')
reqs=$(jget j2 'src["store"]["requests"]')
[ "$recv" -lt $((files + idx + reqs * 400 + 65536)) ] || fail "no-range: received $recv bytes for $files of chunk files: a pack body was read"

# --- a corrupt entry in the pack: that chunk from its per-chunk file
cp -r www/st www/bad
pack=$(ls -S www/bad/packs/*.capack | tail -n 1)
python3 - "$pack" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[len(d) // 2] ^= 0x55; open(p, "wb").write(d)
PY
"$CADU" --json extract --store "$HTTP_URL/bad" --seed v1.img:v1.caibx v2.caibx out3.img > j3 || fail "corrupt pack: $(tail -n 1 j3)"
cmp out3.img v2.img || fail "corrupt pack: wrong image"
[ "$(jget j3 'src["pack"]["rejected"]')" -eq 1 ] && [ "$(jget j3 'src["store"]["chunks"]')" -eq 1 ] ||
        fail "corrupt pack entry: $(tail -n 1 j3)"

# --- the budget: refused before any chunk byte, nothing written
n0=$(log_lines)
expect_fail 4 "needs $total bytes, more than the limit of $((total - 1)) bytes" \
        "$CADU" extract --max-download $((total - 1)) --store "$HTTP_URL/st" --seed v1.img:v1.caibx v2.caibx out4.img
[ ! -e out4.img ] || fail "budget refusal wrote the output"
no_tmp_left .
set -- $(logged "$n0" .capack)
[ "$1" -eq 0 ] || fail "budget refusal fetched from a pack"
"$CADU" -q extract --max-download "$total" --store "$HTTP_URL/st" --seed v1.img:v1.caibx v2.caibx out4.img || fail "within the budget"
cmp out4.img v2.img || fail "budget: wrong image"
# Without packs, per-chunk files count at their largest possible size.
cp -r www/st nopacks && rm -r nopacks/packs
expect_fail 4 "needs up to [0-9]+ bytes, more than the limit of 1000 bytes$" \
        "$CADU" extract --max-download 1000 --store nopacks v1.caibx out5.img
echo "extract via packs ok: $(tail -n 1 j1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["plan"])')"
