#!/bin/sh
# Range requests vs one request per chunk file, over a slow HTTP link, side
# by side in one run.
#
# usage: tools/bench-ranges.sh [BUILD_DIR]
#
# A pack of NCHUNKS chunk files (8-64 KiB of random bytes each, default
# 1500) is served by nginx on 127.0.0.1 behind tools/delayproxy.py (DELAY_MS
# each way, default 25; RATE_KBIT limits the link, default none). A device
# wants WANT_PCT percent of the chunks (default 40), in runs, as a device
# one release behind wants the new chunks of a pack. Fetched three ways:
#   per-chunk    every wanted chunk as its own file (GET STORE/xxxx/ID.cacnk),
#                8 transfers at once: what cadu does without packs
#   single-range cadu_store_get_ranges() on a server that answers one range
#                per request (nginx max_ranges 1, like object stores): runs
#                merged by the cost model
#   multi-range  cadu_store_get_ranges() on plain nginx (multipart answers)
# Printed for each: wall time, requests and bytes sent (nginx's access log),
# bytes received (headers and bodies, the store's statistics), connections.
# Every byte is checked against the pack. (A 200 cut off at its headers
# counts in "bytes sent" with what nginx pushed into the proxy, which reads
# ahead; on a real link that is at most what the TCP window holds.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$top/build}")
delay=${DELAY_MS:-25}
nchunks=${NCHUNKS:-1500}
want=${WANT_PCT:-40}

top_srcdir=$top
top_builddir=$build
. "$top/tests/lib.sh"
. "$top/tests/nginx-harness.sh"
need nginx python3 bc
tool=$build/tests/http-store-tool
[ -x "$tool" ] || fail "no $tool (make check builds it: make -C $build tests/http-store-tool)"

mkdir -p "$T/www/packs" "$T/www/store"
python3 - "$T/www" "$nchunks" "$want" >"$T/spec" <<'EOF'
import hashlib, os, random, sys
root, n, want = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 100
rnd = random.Random(12)
pack, ranges, off, take = bytearray(), [], 0, False
for i in range(n):
    data = rnd.randbytes(rnd.randint(8 << 10, 64 << 10))
    # runs: switch between wanted and not with a probability giving `want`
    if rnd.random() < 0.15:
        take = rnd.random() < want
    if take:
        ranges.append(f"{off}+{len(data)}")
        h = hashlib.sha256(data).hexdigest()
        os.makedirs(f"{root}/store/{h[:4]}", exist_ok=True)
        open(f"{root}/store/{h[:4]}/{h}.cacnk", "wb").write(data)
    pack += data
    off += len(data)
open(f"{root}/packs/p.capack", "wb").write(pack)
print(",".join(ranges))
EOF
nginx_start "$T/www"
rate=""
[ -z "${RATE_KBIT:-}" ] || rate="--rate-kbit $RATE_KBIT"
python3 "$top/tools/delayproxy.py" --upstream "127.0.0.1:$NGINX_HTTP_PORT" --delay-ms "$delay" $rate \
        --port-file "$T/dp.port" &
dp=$!
CLEANUP="$CLEANUP; stop_pid $dp"
n=100
while [ ! -s "$T/dp.port" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
url="http://127.0.0.1:$(cat "$T/dp.port")"

run() { # NAME CMD...
        name=$1
        shift
        : >"$NGINX_LOG"
        s=$(date +%s.%N)
        "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; fail "$name failed"; }
        e=$(date +%s.%N)
        got=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$T/err" | tail -n 1)
        awk -v n="$name" -v t="$(echo "$e - $s" | bc)" -v got="$got" '{ req++; conn[$1] = 1; bytes += $4 }
                END { c = 0; for (k in conn) c++; printf "%-13s %8.2f s %9d %14d %14d %12d\n", n, t, req, bytes, got, c }' "$NGINX_LOG"
}

nwant=$(find "$T/www/store" -name '*.cacnk' | wc -l)
wbytes=$(find "$T/www/store" -name '*.cacnk' -printf '%s\n' | awk '{ s += $1 } END { print s }')
echo "pack: $nchunks chunk files, $(stat -c %s "$T/www/packs/p.capack") bytes; wanted: $nwant chunks, $wbytes bytes"
echo "link: +$delay ms each way${RATE_KBIT:+, $RATE_KBIT kbit/s} (tools/delayproxy.py), 8 transfers at once"
printf '\n%-13s %10s %9s %14s %14s %12s\n' "" "time" "requests" "bytes sent" "received" "connections"
run per-chunk "$tool" fetch-split "$url/store" "$T/www/store" 8
run single-range "$tool" ranges "$url/single-range" packs/p.capack "$T/www/packs/p.capack" "$(cat "$T/spec")"
run multi-range "$tool" ranges "$url" packs/p.capack "$T/www/packs/p.capack" "$(cat "$T/spec")"
