#!/bin/sh
# The HTTP(S) store backend against a misbehaving server (tests/faultproxy.py,
# standalone or in front of nginx): every fault either recovers to the exact
# bytes or fails with the right error code, within bounded time and memory.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3 timeout

TOOL="timeout -k 5 60 $top_builddir/tests/http-store-tool"
mkdir -p "$T/www"
head -c 1000000 /dev/urandom >"$T/img"
"$CADU" make -q --store "$T/www/store" "$T/img" "$T/img.caibx"
nginx_start "$T/www"
S="$T/www/store"
nchunks=$(find "$S" -name '*.cacnk' | wc -l)
id=$(basename "$(find "$S" -name '*.cacnk' | head -n 1)" .cacnk)
file=$(find "$S" -name "$id.cacnk")
path="/store/$(echo "$id" | cut -c1-4)/$id.cacnk"

T0=$(date +%s)
section() { echo "== $* (at $(( $(date +%s) - T0 )) s)"; }
stat_of() { # KEY FILE
        sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1
}
want_stat() { # KEY VALUE FILE
        [ "$(stat_of "$1" "$3")" = "$2" ] || fail "want $1=$2: $(cat "$3")"
}
# requests the fault server saw for the chunk
seen() { grep -c " $path " "$FP_LOG" || true; }

# get_ok NAME: the chunk comes through byte for byte
get_ok() {
        $TOOL $OPTS get "$FP_URL/store" "$id" >"$T/raw" 2>"$T/st" || fail "$1: $(cat "$T/st")"
        cmp -s "$T/raw" "$file" || fail "$1: wrong bytes"
}

# --- transient faults are retried until the bytes arrive
section "transient faults are retried until the bytes arrive"
OPTS=""
for mode in drop reset status:500 status:503 status:429 status:408; do
        faultproxy_start "$mode" --upstream "$HTTP_URL" --mode "$mode" --count 2
        get_ok "$mode x2"
        want_stat retries 2 "$T/st"
        [ "$(seen)" -eq 3 ] || fail "$mode: the server saw $(seen) requests, want 3"
        stop_pid "$FP_PID"
done

# Retry-After of a 503 is honoured (bounded)
section "Retry-After of a 503 is honoured (bounded)"
faultproxy_start retry-after --root "$T/www" --mode status:503 --count 1 --retry-after 1
start=$(date +%s%N)
get_ok "503 with Retry-After"
waited_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# In milliseconds: with whole seconds, a wait of a few ms across a second
# boundary would pass.
[ "$waited_ms" -ge 1000 ] || fail "Retry-After: 1 was not waited for (${waited_ms} ms)"

# stalls: the low-speed timeout cuts them, the retry succeeds
section "stalls: the low-speed timeout cuts them, the retry succeeds"
OPTS="--low-speed-time 1"
for mode in stall stall-headers; do
        faultproxy_start "$mode" --root "$T/www" --mode "$mode" --count 1 --stall 30
        get_ok "$mode x1"
        want_stat retries 1 "$T/st"
        stop_pid "$FP_PID"
done

# --- persistent faults end with the right error, after the retries
section "persistent faults end with the right error, after the retries"
faultproxy_start s503 --root "$T/www" --mode status:503
expect_fail 1 "error: EREMOTEIO: get: GET $FP_URL$path: HTTP 503: injected failure \\(after 3 attempts\\)" \
        $TOOL --retries 2 get "$FP_URL/store" "$id"
want_stat requests 3 "$T/.err"

# --retries 0: the first transient failure is final (a chain fails over at once)
faultproxy_start r0 --root "$T/www" --mode status:503 --count 1
expect_fail 1 "error: EREMOTEIO: get: GET $FP_URL$path: HTTP 503: injected failure$" \
        $TOOL --retries 0 get "$FP_URL/store" "$id"
want_stat requests 1 "$T/.err"
want_stat retries 0 "$T/.err"
[ "$(seen)" -eq 1 ] || fail "--retries 0: the server saw $(seen) requests, want 1"

faultproxy_start stall --root "$T/www" --mode stall --stall 30
expect_fail 1 "error: ETIMEDOUT: get: GET .*: .*(after 2 attempts)" \
        $TOOL --retries 1 --low-speed-time 1 get "$FP_URL/store" "$id"

# the overall deadline ends retrying and stalled transfers alike
section "the overall deadline ends retrying and stalled transfers alike"
start=$(date +%s)
expect_fail 1 "error: ETIMEDOUT: get: GET .*deadline of 2 s" \
        $TOOL --deadline 2 get "$FP_URL/store" "$id"
[ $(( $(date +%s) - start )) -le 6 ] || fail "--deadline 2 took $(( $(date +%s) - start )) s"

# nobody listening: connection refused, retried, then refused at once
section "nobody listening: connection refused, retried, then refused at once"
dead=$(free_port)
expect_fail 1 "error: ECONNREFUSED: get: GET http://127.0.0.1:$dead.*(after 3 attempts)" \
        $TOOL --retries 2 get "http://127.0.0.1:$dead/store" "$id"
# a dead store answers the other requests at once instead of retrying each
start=$(date +%s)
expect_fail 1 "error: ECONNREFUSED" $TOOL --retries 3 fetch-all "http://127.0.0.1:$dead/store" "$S" 4 1
[ "$(stat_of requests "$T/.err")" -le 16 ] || fail "a dead store was asked too often: $(cat "$T/.err")"
[ $(( $(date +%s) - start )) -le 10 ] || fail "a dead store took $(( $(date +%s) - start )) s to give up"

# 404 (and 410) mean "not here": no retry, the chain moves on
section "404 (and 410) mean 'not here': no retry, the chain moves on"
faultproxy_start s404 --root "$T/www" --mode status:404 --count 1
expect_fail 1 "error: ENOENT: get: GET .*: HTTP 404" $TOOL get "$FP_URL/store" "$id"
want_stat requests 1 "$T/.err"
# auth failures are final too
faultproxy_start s403 --root "$T/www" --mode status:403
expect_fail 1 "error: EACCES: get: GET .*: HTTP 403" $TOOL get "$FP_URL/store" "$id"
want_stat requests 1 "$T/.err"

# --- wrong content: the backend passes it up, verification above rejects it,
section "wrong content: the backend passes it up, verification above rejects it,"
# and a new get really goes to the network again (nothing is cached)
for mode in truncate flip garbage; do
        faultproxy_start "$mode" --upstream "$HTTP_URL" --mode "$mode" --count 2
        $TOOL verify "$FP_URL/store" "$id" 5 2>"$T/st" || fail "$mode: $(cat "$T/st")"
        grep -q "attempt 1: EBADMSG" "$T/st" && grep -q "attempt 3: verified" "$T/st" || fail "$mode: $(cat "$T/st")"
        [ "$(seen)" -eq 3 ] || fail "$mode: refetches did not reach the server ($(seen) requests)"
        [ "$(grep -c " $path .* no-cache$" "$FP_LOG")" -eq 2 ] || fail "$mode: refetches lack Cache-Control: no-cache"
        stop_pid "$FP_PID"
done
faultproxy_start garbage-all --root "$T/www" --mode garbage
expect_fail 1 "error: EBADMSG: verify" $TOOL verify "$FP_URL/store" "$id" 3

# --- hostile bodies are cut off at the size limit, whatever is announced
section "hostile bodies are cut off at the size limit, whatever is announced"
size=$(wc -c <"$file")
faultproxy_start huge --root "$T/www" --mode huge
expect_fail 1 "error: EFBIG: get: GET .*: body larger than $size bytes" $TOOL get "$FP_URL/store" "$id" "$size"
want_stat requests 1 "$T/.err"
faultproxy_start endless --root "$T/www" --mode endless
expect_fail 1 "error: EFBIG: get: GET .*: body larger than $size bytes" $TOOL get "$FP_URL/store" "$id" "$size"
want_stat requests 1 "$T/.err"
b=$(stat_of bytes "$T/.err")
[ "$b" -lt $((size + 1024 * 1024)) ] || fail "read $b bytes of an endless body with a $size byte limit"

# --- redirects: followed within limits, to http(s) only
section "redirects: followed within limits, to http(s) only"
faultproxy_start redirect --upstream "$HTTP_URL" --mode redirect
get_ok "one redirect"
faultproxy_start loop --root "$T/www" --mode redirect-loop
expect_fail 1 "error: ELOOP: get: GET .*[Rr]edirect" $TOOL get "$FP_URL/store" "$id"
want_stat requests 6 "$T/.err"   # 5 redirects followed, the 6th refused; not retried
expect_fail 1 "error: ELOOP" $TOOL --max-redirects 2 get "$FP_URL/store" "$id"
faultproxy_start ftp --root "$T/www" --mode redirect-ftp
expect_fail 1 "error: EPROTONOSUPPORT: get: GET .*" $TOOL get "$FP_URL/store" "$id"

# --- many threads through a server that drops every chunk's first request
section "many threads through a server that drops every chunk's first request"
faultproxy_start drop-all --upstream "$HTTP_URL" --mode drop --count 1
$TOOL fetch-all "$FP_URL/store" "$S" 8 1 2>"$T/st" || fail "drop x1 with 8 threads: $(cat "$T/st")"
[ "$(stat_of retries "$T/st")" -eq "$nchunks" ] || fail "want $nchunks retries: $(cat "$T/st")"

echo "http-faults: all passed"
