#!/bin/sh
# Resume: kill -9 an in-place extract at random points, re-run it; the
# result is exact and the re-run fetches no chunk that was already correct.
. "$top_srcdir/tests/lib.sh"
need python3
cd "$T"
python3 -c 'import random; open("v2.img","wb").write(random.Random(7).randbytes(24 << 20))'
python3 -c 'import random; open("v1.img","wb").write(random.Random(8).randbytes(24 << 20))'
"$CADU" -q make --store st --chunk-size 4K:8K:16K v2.img v2.caibx

# correct.py INDEX FILE: how many of the index's chunks FILE already holds.
cat > correct.py <<'PY'
import sys, hashlib
d = open(sys.argv[1], "rb").read()
f = open(sys.argv[2], "rb").read()
prev = n = 0
for i in range((len(d) - 104) // 40):
    end = int.from_bytes(d[64 + 40*i:72 + 40*i], "little")
    if hashlib.sha256(f[prev:end]).digest() == d[72 + 40*i:104 + 40*i]:
        n += 1
    prev = end
print(n)
PY
total=$(( ($(stat -c %s v2.caibx) - 104) / 40 ))
points=0
tries=0
# Kill points spread over the run; keep going until a dozen landed mid-extract.
for delay in 0.01 0.02 0.03 0.04 0.05 0.06 0.07 0.08 0.09 0.10 0.11 0.12 0.13 0.14 0.16 0.18 0.20 0.23 \
             0.015 0.025 0.035 0.045 0.055 0.065 0.075 0.085 0.095 0.105 0.115 0.125; do
        [ "$points" -ge 12 ] && break
        tries=$((tries + 1))
        cp v1.img target.img
        # Slow enough to be interrupted: one thread.
        "$CADU" -q extract --threads 1 --in-place --store st v2.caibx target.img &
        pid=$!
        sleep "$delay"
        kill -9 $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        before=$(python3 correct.py v2.caibx target.img)
        "$CADU" --json extract --in-place --store st v2.caibx target.img > s.json
        cmp target.img v2.img || fail "resume after ${delay}s not exact"
        fetched=$(python3 -c 'import json; s=[json.loads(l) for l in open("s.json") if l.strip()][-1]; print(sum(x["chunks"] for x in s["sources"] if x["source"]=="store"))')
        inplace=$(python3 -c 'import json; s=[json.loads(l) for l in open("s.json") if l.strip()][-1]; print(sum(x["chunks"] for x in s["sources"] if x["source"]=="in-place"))')
        [ "$inplace" -eq "$before" ] || fail "after ${delay}s: $before chunks were correct, re-run kept $inplace"
        [ "$fetched" -eq $((total - before)) ] || fail "after ${delay}s: re-run fetched $fetched, expected $((total - before))"
        [ "$before" -gt 0 ] && [ "$before" -lt "$total" ] && points=$((points + 1))
done
echo "$points of $tries interruptions hit mid-extract"
[ "$points" -ge 12 ] || fail "too few kills landed mid-extract ($points)"
no_tmp_left .
