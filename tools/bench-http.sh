#!/bin/sh
# cadu vs casync fetching over a slow HTTP link, side by side in one run.
#
# usage: tools/bench-http.sh [CADU] [WORKDIR] [SIZE_MIB]
#
# v2 is extracted seeded from v1 from the same chunk store (made by casync,
# sha256), served by nginx on 127.0.0.1 behind tools/delayproxy.py, which
# adds DELAY_MS (default 25) each way: a 50 ms round trip, like a distant
# mirror. netem would need privileges; the proxy needs python3 only.
# Printed for each tool: wall time, HTTP requests, bytes nginx sent and TCP
# connections opened (from nginx's access log, which logs $connection and
# $bytes_sent), and the time ratio casync/cadu (target: >= 5).
#
# Images: tools/mkimages.sh WORKDIR SIZE_MIB (an ext4 pair, v1 -> v2) when it
# exists, else a synthetic pair made here (v2 = v1 with scattered rewrites
# and insertions, about CHANGE_PCT percent, default 8). RUNS (default 1)
# repeats each extract and keeps the best time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cadu=$(realpath "${1:-$top/build/cadu}")
work=$(mkdir -p "${2:-/dev/shm/cadu-bench-http}" && cd "${2:-/dev/shm/cadu-bench-http}" && pwd)
size=${3:-256}
delay=${DELAY_MS:-25}
runs=${RUNS:-1}
change=${CHANGE_PCT:-8}

# The test harness provides scratch space, nginx and cleanup.
top_srcdir=$top
top_builddir=$(dirname "$cadu")
CADU=$cadu
. "$top/tests/lib.sh"
. "$top/tests/nginx-harness.sh"
need casync nginx python3 bc
[ -x "$cadu" ] || fail "no cadu binary at $cadu"

cd "$work"
if [ ! -f v1.img ] || [ ! -f v2.img ]; then
        if [ -x "$top/tools/mkimages.sh" ]; then
                "$top/tools/mkimages.sh" "$work" "$size"
                echo "tools/mkimages.sh ext4 pair" >images.txt
        else
                echo "tools/mkimages.sh not found: making a synthetic image pair" >&2
                python3 - "$size" "$change" v1.img v2.img <<'EOF'
import random, sys
size, change = int(sys.argv[1]) << 20, float(sys.argv[2]) / 100
rnd = random.Random(42)
# v1: incompressible blocks, zero runs and text, like a filesystem image
out = bytearray()
words = [b"update ", b"kernel ", b"firmware ", b"library ", b"config ", b"\n"]
while len(out) < size:
    kind, n = rnd.random(), rnd.randint(4096, 1 << 20)
    if kind < 0.6:
        out += rnd.randbytes(n)
    elif kind < 0.8:
        out += bytes(n)
    else:
        out += b"".join(rnd.choice(words) for _ in range(n // 7))
v1 = bytes(out[:size])
open(sys.argv[3], "wb").write(v1)
# v2: rewrite and insert at random places until `change` of it is new
v2 = bytearray(v1)
done = 0
while done < change * size:
    n = rnd.randint(2048, 256 << 10)
    at = rnd.randrange(0, len(v2) - n)
    if rnd.random() < 0.7:
        v2[at:at + n] = rnd.randbytes(n)
    else:
        v2[at:at] = rnd.randbytes(n // 8)
        n //= 8
    done += n
open(sys.argv[4], "wb").write(v2)
EOF
                echo "synthetic pair, ~$change% changed" >images.txt
        fi
fi
images=$(cat images.txt 2>/dev/null || echo "given pair")
[ -f v2.caibx ] && [ -d www/store ] ||
        { rm -rf www && mkdir -p www && casync --store=www/store --digest=sha256 make v2.caibx v2.img >/dev/null; }

nginx_start "$work/www"
python3 "$top/tools/delayproxy.py" --upstream "127.0.0.1:$NGINX_HTTP_PORT" --delay-ms "$delay" \
        --port-file "$T/dp.port" --stats "$T/dp.stats" &
dp=$!
CLEANUP="$CLEANUP; stop_pid $dp"
n=100
while [ ! -s "$T/dp.port" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
url="http://127.0.0.1:$(cat "$T/dp.port")/store"

# run NAME CMD...: best wall time of $runs into NAME_t, and the nginx
# figures of the last run into NAME_req, NAME_bytes, NAME_conn.
run() {
        name=$1
        shift
        best=""
        for i in $(seq "$runs"); do
                rm -f out.img
                : >"$NGINX_LOG"
                s=$(date +%s.%N)
                "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; fail "$name failed"; }
                e=$(date +%s.%N)
                t=$(echo "$e - $s" | bc)
                if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" -eq 1 ]; then best=$t; fi
                cmp -s out.img v2.img || fail "$name: output differs from v2.img"
        done
        eval "$(awk -v n="$name" '{ req++; conn[$1] = 1; bytes += $4 }
                END { c = 0; for (k in conn) c++; printf "%s_req=%d %s_bytes=%d %s_conn=%d\n", n, req, n, bytes, n, c }' "$NGINX_LOG")"
        eval "${name}_t=$best"
}

run casync casync --store="$url" --seed=v1.img extract v2.caibx out.img
run cadu "$cadu" -q extract --store "$url" --seed v1.img v2.caibx out.img

echo "images: $images, v1 $(du -h --apparent-size v1.img | cut -f1), v2 $(du -h --apparent-size v2.img | cut -f1);" \
        "link: +$delay ms each way (tools/delayproxy.py); best of $runs"
printf '\n%-8s %10s %10s %14s %12s\n' "" "time" "requests" "bytes sent" "connections"
printf '%-8s %8.2f s %10d %14d %12d\n' casync "$casync_t" "$casync_req" "$casync_bytes" "$casync_conn"
printf '%-8s %8.2f s %10d %14d %12d\n' cadu "$cadu_t" "$cadu_req" "$cadu_bytes" "$cadu_conn"
printf '\nspeedup (casync time / cadu time): %.2fx\n' "$(echo "scale=4; $casync_t / $cadu_t" | bc)"
