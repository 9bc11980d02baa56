#!/bin/sh
# cadu extract from HTTP stores served by real nginx and by the misbehaving
# tests/faultproxy.py: byte-identical images, seeding, failover chains, and
# clean failures (clear message, nothing under the output name).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3 timeout cmp

CADU_T="timeout -k 5 120 $CADU"
mkdir -p "$T/www" "$T/out"
head -c 2500000 /dev/urandom >"$T/v1.img"
# v2: v1 with a few regions rewritten and some bytes inserted
python3 - "$T/v1.img" "$T/v2.img" <<'EOF'
import os, sys
d = bytearray(open(sys.argv[1], "rb").read())
for off in (100000, 900000, 1700000):
    d[off:off + 20000] = os.urandom(20000)
d[1300000:1300000] = os.urandom(5000)
open(sys.argv[2], "wb").write(d)
EOF
"$CADU" make -q --store "$T/www/store" "$T/v1.img" "$T/v1.caibx"
"$CADU" make -q --store "$T/www/store" "$T/v2.img" "$T/v2.caibx"
nginx_start "$T/www"
nchunks=$(find "$T/www/store" -name '*.cacnk' | wc -l)

# requests nginx served since the log was last truncated
served() { wc -l <"$NGINX_LOG"; }
reset_log() { : >"$NGINX_LOG"; }
check_out() { # NAME FILE
        cmp -s "$T/v2.img" "$2" || fail "$1: the extracted image differs"
        no_tmp_left "$(dirname "$2")"
}
check_no_out() { # NAME FILE
        [ ! -e "$2" ] || fail "$1: a failed extract left $2"
        no_tmp_left "$(dirname "$2")"
}

# --- plain HTTP: the whole image, each chunk fetched once
reset_log
$CADU_T extract -q --store "$HTTP_URL/store" "$T/v2.caibx" "$T/out/a.img" || fail "HTTP extract"
check_out "HTTP" "$T/out/a.img"
total=$(served)
[ "$total" -le "$nchunks" ] || fail "HTTP: $total requests for at most $nchunks distinct chunks"

# --- seeded from v1: only what changed crosses the network
reset_log
$CADU_T extract -q --store "$HTTP_URL/store/" --seed "$T/v1.img" "$T/v2.caibx" "$T/out/b.img" || fail "seeded extract"
check_out "seeded" "$T/out/b.img"
seeded=$(served)
[ "$seeded" -ge 1 ] && [ "$seeded" -lt $((total / 2)) ] ||
        fail "seeded extract made $seeded requests (unseeded: $total)"
echo "unseeded: $total requests, seeded from v1: $seeded requests"

# --- failover: a dead mirror first, then the good one
dead=$(free_port)
start=$(date +%s)
$CADU_T extract -q --store "http://127.0.0.1:$dead/store" --store "$HTTP_URL/store" \
        "$T/v2.caibx" "$T/out/c.img" || fail "dead mirror + good store"
check_out "failover" "$T/out/c.img"
[ $(( $(date +%s) - start )) -le 30 ] || fail "failover past a dead mirror took $(( $(date +%s) - start )) s"
# only the dead one: a clear error, no output
expect_fail 5 "^cadu: extracting $T/v2.caibx: chunk [0-9a-f]{64} \\(offset [0-9]+, [0-9]+ bytes\\) could not be fetched: GET http://127\\.0\\.0\\.1:$dead/store/[0-9a-f]{4}/[0-9a-f]{64}\\.cacnk: .*Failed to connect to 127\\.0\\.0\\.1 port $dead.*: Connection refused$" \
        $CADU_T extract -q --store "http://127.0.0.1:$dead/store" "$T/v2.caibx" "$T/out/d.img"
check_no_out "dead store" "$T/out/d.img"

# a mirror that lacks everything (404): the next store serves
faultproxy_start s404 --root "$T/www" --mode status:404
$CADU_T extract -q --store "$FP_URL/store" --store "$HTTP_URL/store" "$T/v2.caibx" "$T/out/e.img" ||
        fail "404 mirror + good store"
check_out "404 failover" "$T/out/e.img"
expect_fail 1 "^cadu: extracting $T/v2.caibx: chunk [0-9a-f]{64} \\(offset [0-9]+, [0-9]+ bytes\\) is in no seed or store: not found$" \
        $CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/e2.img"
check_no_out "404 only" "$T/out/e2.img"

# --- transient faults recover to the exact image
for mode in drop reset status:503; do
        faultproxy_start "x$mode" --upstream "$HTTP_URL" --mode "$mode" --count 1
        $CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/f.img" || fail "$mode x1"
        check_out "$mode x1" "$T/out/f.img"
        rm -f "$T/out/f.img"
        stop_pid "$FP_PID"
done

# --- corrupt answers are never written: fetched again, or from the next store
faultproxy_start flip1 --upstream "$HTTP_URL" --mode flip --count 1
$CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/g.img" || fail "flip x1"
check_out "flip x1" "$T/out/g.img"
flips=$(grep -c " flip$" "$FP_LOG") || true
refetched=$(grep -c " ok no-cache$" "$FP_LOG") || true
[ "$flips" -ge 1 ] && [ "$refetched" -eq "$flips" ] ||
        fail "flip x1: $flips corrupt answers, $refetched refetches past caches"

faultproxy_start garbage --root "$T/www" --mode garbage
expect_fail 3 "corrupt|digest" $CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/h.img"
check_no_out "garbage only" "$T/out/h.img"
$CADU_T extract -q --store "$FP_URL/store" --store "$HTTP_URL/store" "$T/v2.caibx" "$T/out/i.img" ||
        fail "garbage mirror + good store"
check_out "garbage failover" "$T/out/i.img"

faultproxy_start truncate --root "$T/www" --mode truncate
expect_fail 3 "corrupt|digest" $CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/j.img"
check_no_out "truncate only" "$T/out/j.img"

# --- hostile sizes: bounded by the index's chunk size limit
faultproxy_start endless --root "$T/www" --mode endless
start=$(date +%s)
expect_fail 3 "^cadu: extracting $T/v2.caibx: chunk [0-9a-f]{64} \\(offset [0-9]+, [0-9]+ bytes\\): no source delivered it intact: larger than allowed$" \
        $CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/k.img"
check_no_out "endless only" "$T/out/k.img"
[ $(( $(date +%s) - start )) -le 20 ] || fail "an endless body took $(( $(date +%s) - start )) s to refuse"
faultproxy_start huge --root "$T/www" --mode huge
$CADU_T extract -q --store "$FP_URL/store" --store "$HTTP_URL/store" "$T/v2.caibx" "$T/out/l.img" ||
        fail "huge mirror + good store"
check_out "huge failover" "$T/out/l.img"

# --- redirect loops end; a single redirect is followed
faultproxy_start loop --root "$T/www" --mode redirect-loop
expect_fail 5 "^cadu: extracting $T/v2.caibx: chunk [0-9a-f]{64} \\(offset [0-9]+, [0-9]+ bytes\\) could not be fetched: GET http://127\\.0\\.0\\.1:[0-9]+/store/[0-9a-f]{4}/[0-9a-f]{64}\\.cacnk: more than 5 redirects: Too many levels of symbolic links$" \
        $CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/m.img"
check_no_out "redirect loop" "$T/out/m.img"
faultproxy_start redirect --upstream "$HTTP_URL" --mode redirect
$CADU_T extract -q --store "$FP_URL/store" "$T/v2.caibx" "$T/out/n.img" || fail "one redirect"
check_out "redirect" "$T/out/n.img"

echo "http-extract: all passed"
