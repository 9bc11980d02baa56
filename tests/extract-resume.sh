#!/bin/sh
# Resume: kill -9 an in-place extract at points spread over its run, re-run
# it; the result is exact and the re-run fetches no chunk that was already
# correct. The kills are aimed by the extract's own progress (JSON events of
# bytes done), not by wall time: chunks come over HTTP at a limited rate, so
# every kill lands while the extract runs, however fast the build.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need python3 nginx
cd "$T"
python3 -c 'import random; open("v2.img","wb").write(random.Random(7).randbytes(4 << 20))'
python3 -c 'import random; open("v1.img","wb").write(random.Random(8).randbytes(4 << 20))'
"$CADU" -q make --store st --chunk-size 4K:8K:16K v2.img v2.caibx
nginx_start "$T"

# kill_at.py FRACTION CMD...: run CMD (with --json), SIGKILL it at its first
# progress event at or beyond FRACTION of the total; prints the bytes done
# then, or "finished" when it ended first.
cat > kill_at.py <<'PY'
import json, signal, subprocess, sys
frac, cmd = float(sys.argv[1]), sys.argv[2:]
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
at = "finished"
for line in p.stdout:
    e = json.loads(line)
    if e.get("event") == "progress" and e["total"] and frac * e["total"] <= e["done"] < e["total"]:
        p.send_signal(signal.SIGKILL)
        at = e["done"]
        break
p.wait()
print(at)
PY

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
# Kill points spread over the run (3 MB/s for 4 MiB: over a second, a
# progress event every 0.2 s); keep going until a dozen landed mid-extract.
for frac in 0.05 0.12 0.2 0.28 0.35 0.42 0.5 0.58 0.65 0.72 0.8 0.88 0.1 0.3 0.6 0.9; do
        [ "$points" -ge 12 ] && break
        tries=$((tries + 1))
        cp v1.img target.img
        at=$(python3 kill_at.py "$frac" "$CADU" --json extract --threads 1 --rate-limit 3M --in-place \
                --store "$HTTP_URL/st" v2.caibx target.img)
        before=$(python3 correct.py v2.caibx target.img)
        "$CADU" --json extract --in-place --store st v2.caibx target.img > s.json
        cmp target.img v2.img || fail "resume after a kill at $at bytes not exact"
        fetched=$(python3 -c 'import json; s=[json.loads(l) for l in open("s.json") if l.strip()][-1]; print(sum(x["chunks"] for x in s["sources"] if x["source"]=="store"))')
        inplace=$(python3 -c 'import json; s=[json.loads(l) for l in open("s.json") if l.strip()][-1]; print(sum(x["chunks"] for x in s["sources"] if x["source"]=="in-place"))')
        [ "$inplace" -eq "$before" ] || fail "after a kill at $at bytes: $before chunks were correct, re-run kept $inplace"
        [ "$fetched" -eq $((total - before)) ] || fail "after a kill at $at bytes: re-run fetched $fetched, expected $((total - before))"
        [ "$at" != finished ] && [ "$before" -gt 0 ] && [ "$before" -lt "$total" ] && points=$((points + 1))
done
echo "$points of $tries interruptions hit mid-extract"
[ "$points" -ge 12 ] || fail "too few kills landed mid-extract ($points)"
no_tmp_left .
