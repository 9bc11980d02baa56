#!/bin/sh
# cadu_store_get_ranges() against a hostile server (tests/faultproxy.py):
# wrong Content-Range (start, end, complete length), short and long bodies,
# multipart/byteranges with overlapping, short, missing or unasked parts and
# bad boundaries, a 200 instead of a 206. Each must be one clean error
# (-EBADMSG, or -ENOTSUP for the 200), never retried, and nothing delivered
# that was not exactly asked.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need python3 timeout

TOOL="timeout -k 5 60 $top_builddir/tests/http-store-tool"
mkdir -p "$T/www/packs"
P="$T/www/packs/p.capack"
head -c 300000 /dev/urandom >"$P"

stat_of() { # KEY STATS-FILE
        sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

ONE="1000+5000"
MANY="1000+5000,20000+3000,100000+7000"

# A well-behaved server first: the proxy's range answers are right, and a
# multi-range request is answered with multipart/byteranges.
faultproxy_start good --root "$T/www" --ranges
$TOOL ranges "$FP_URL" packs/p.capack "$P" "$ONE" "$MANY" random:5:200:3000:5000 >"$T/out" 2>"$T/st" ||
        fail "good server: $(cat "$T/st")"
grep -q "range bytes=1000-5999,20000-22999,100000-106999 ok" "$FP_LOG" || fail "no multi-range request: $(cat "$FP_LOG")"

# bad MODE SPEC REGEX: one request, refused with an error matching REGEX
bad() {
        faultproxy_start "$1" --root "$T/www" --mode "$1"
        expect_fail 1 "$3" $TOOL ranges "$FP_URL" packs/p.capack "$P" "$2"
        [ "$(stat_of retries "$T/.err")" -eq 0 ] || fail "$1: a malformed answer was retried: $(cat "$T/.err")"
        [ "$(stat_of requests "$T/.err")" -eq 1 ] || fail "$1: more than one request: $(cat "$T/.err")"
        # What came before the fault may be delivered (the tool compares
        # every delivered range with the file); of a single range, nothing.
        [ "$2" != "$ONE" ] || grep -q 'range_bytes=0' "$T/.err" || fail "$1: bytes delivered: $(cat "$T/.err")"
}
E='error: EBADMSG: ranges: GET http://.*/packs/p.capack: malformed range answer'
bad range-start "$ONE" "$E: Content-Range is not the range requested"
bad range-end "$ONE" "$E: Content-Range is not the range requested"
bad range-total "$ONE" "$E: 206 without a valid Content-Range"
bad range-short "$ONE" "$E: body shorter than the range"
bad range-long "$ONE" "$E: body longer than the range"
bad range-multipart "$ONE" "$E: multipart answer to a single range"
bad multi-overlap "$MANY" "$E: multipart/byteranges: part for a range already received"
bad multi-short "$MANY" "$E: multipart/byteranges: part longer or shorter than its Content-Range"
bad multi-missing "$MANY" "$E: multipart/byteranges: a range requested is missing"
bad multi-boundary "$MANY" "$E: multipart/byteranges: no boundary where one belongs"
bad multi-noboundary "$MANY" "$E: bad multipart/byteranges Content-Type"
bad multi-unasked "$MANY" "$E: multipart/byteranges: part for a range not requested"

# A different complete length in each answer: after the multi-range
# request (answered with its first range only), two single-range requests,
# the second refused.
faultproxy_start range-totals --root "$T/www" --mode range-totals
expect_fail 1 "$E: Content-Range names another file length" \
        $TOOL --max-transfers 1 ranges "$FP_URL" packs/p.capack "$P" "0+10,200000+10"
[ "$(stat_of requests "$T/.err")" -eq 3 ] || fail "range-totals: $(cat "$T/.err")"

# A connection dropped in the middle of a multipart answer is retried, for
# the ranges not yet complete only.
faultproxy_start range-drop --root "$T/www" --ranges --mode range-drop --count 1
$TOOL ranges "$FP_URL" packs/p.capack "$P" "$MANY" >"$T/out" 2>"$T/st" || fail "range-drop: $(cat "$T/st")"
[ "$(stat_of retries "$T/st")" -eq 1 ] || fail "range-drop: $(cat "$T/st")"
grep -q "range bytes=20000-22999,100000-106999 ok" "$FP_LOG" || fail "the retry asked again for a complete range: $(cat "$FP_LOG")"

# ... and when the retry is answered with its first range only (no
# multi-range support after all), the ranges not yet delivered are asked
# again one span per request, and none is delivered twice.
faultproxy_start range-drop-first --root "$T/www" --mode range-drop-first
$TOOL --max-transfers 1 ranges "$FP_URL" packs/p.capack "$P" "$MANY" >"$T/out" 2>"$T/st" ||
        fail "range-drop-first: $(cat "$T/st")"
[ "$(stat_of range_bytes "$T/st")" -eq 15000 ] || fail "range-drop-first: $(cat "$T/st")"
grep -q "^2 GET /packs/p.capack range bytes=20000-22999,100000-106999 " "$FP_LOG" ||
        fail "the retry asked again for a complete range: $(cat "$FP_LOG")"
if tail -n +2 "$FP_LOG" | grep -q "range bytes=1000-"; then fail "a delivered range was asked again: $(cat "$FP_LOG")"; fi

# A stalled range answer is cut off by --low-speed-time and retried; the
# --deadline holds for range requests too.
faultproxy_start range-stall --root "$T/www" --ranges --mode range-stall --count 1 --stall 30
$TOOL --low-speed-time 1 ranges "$FP_URL" packs/p.capack "$P" "$ONE" >"$T/out" 2>"$T/st" || fail "range-stall: $(cat "$T/st")"
[ "$(stat_of retries "$T/st")" -eq 1 ] || fail "range-stall: $(cat "$T/st")"
faultproxy_start range-stall-all --root "$T/www" --ranges --mode range-stall --stall 30
expect_fail 1 'error: ETIMEDOUT: ranges: GET http://.*/packs/p.capack: .*deadline of 2 s' \
        $TOOL --low-speed-time 1 --deadline 2 ranges "$FP_URL" packs/p.capack "$P" "$ONE"

# Redirects are followed with the Range header.
faultproxy_start redirect --root "$T/www" --ranges --mode redirect
$TOOL ranges "$FP_URL" packs/p.capack "$P" "$ONE" "$MANY" >"$T/out" 2>"$T/st" || fail "redirect: $(cat "$T/st")"
grep -q "GET /_r/packs/p.capack range bytes=1000-5999 ok" "$FP_LOG" || fail "redirect: $(cat "$FP_LOG")"
[ "$(stat_of range_requests "$T/st")" -eq "$(stat_of requests "$T/st")" ] || fail "redirect: $(cat "$T/st")"

# A 200 instead of a 206 (Range ignored): -ENOTSUP, the body not read.
head -c 30000000 /dev/urandom >"$T/www/packs/big.capack"
faultproxy_start ignore --root "$T/www"
expect_fail 1 "error: EOPNOTSUPP: ranges: GET http://.*/packs/big.capack: HTTP 200: the server ignores Range" \
        $TOOL ranges "$FP_URL" packs/big.capack "$T/www/packs/big.capack" "$ONE"
[ "$(stat_of bytes "$T/.err")" -lt 2000 ] || fail "read the body of a 200: $(cat "$T/.err")"
[ "$(stat_of retries "$T/.err")" -eq 0 ] || fail "a 200 was retried: $(cat "$T/.err")"

# Only the first of several ranges (no multi-range support): the ranges
# again in single-range requests (neighbours merged as the cost model
# says), and the call succeeds; the store asks no multi-range again.
faultproxy_start multi-first --root "$T/www" --mode multi-first
$TOOL ranges "$FP_URL" packs/p.capack "$P" "$MANY" "$MANY" >"$T/out" 2>"$T/st" ||
        fail "multi-first: $(cat "$T/st")"
[ "$(grep -c 'range bytes=.*,' "$FP_LOG")" -eq 1 ] || fail "multi-range asked more than once: $(cat "$FP_LOG")"
[ "$(grep -c 'range bytes=' "$FP_LOG")" -ge 3 ] || fail "expected single-range requests: $(cat "$FP_LOG")"
exit 0
