#!/bin/sh
# The HTTP(S) store backend against real nginx: HTTP/1.1 keep-alive,
# HTTPS with HTTP/2 multiplexing, mutual TLS, certificate checks, bearer
# headers, proxies, presence checks, size caps, rate limit, many threads.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx openssl python3 timeout

TOOL="timeout -k 5 90 $top_builddir/tests/http-store-tool"
certs_make "$T/pki"
mkdir -p "$T/www"
head -c 3000000 /dev/urandom >"$T/img"
"$CADU" make -q --store "$T/www/store" "$T/img" "$T/img.caibx"
nginx_start "$T/www"
S="$T/www/store"
nchunks=$(find "$S" -name '*.cacnk' | wc -l)
[ "$nchunks" -gt 20 ] || fail "expected more than 20 chunks, got $nchunks"
id=$(basename "$(find "$S" -name '*.cacnk' | head -n 1)" .cacnk)
file=$(find "$S" -name "$id.cacnk")
TLS="--ca-file $CERTS/ca.pem"
CLIENT="--client-cert $CERTS/client.pem --client-key $CERTS/client.key"

stat_of() { # KEY STATS-FILE
        sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

# --- plain HTTP/1.1: 12 threads each fetching every chunk 3 times; at most 8
# connections, kept alive
$TOOL fetch-all "$HTTP_URL/store" "$S" 12 3 2>"$T/st" || fail "HTTP fetch: $(cat "$T/st")"
[ "$(stat_of requests "$T/st")" -eq $((nchunks * 3 * 12)) ] || fail "requests: $(cat "$T/st")"
c=$(stat_of connections "$T/st")
[ "$c" -ge 1 ] && [ "$c" -le 8 ] || fail "HTTP/1.1 should use at most 8 kept-alive connections: $(cat "$T/st")"
grep -q 'HTTP/1.1" '"$NGINX_HTTP_PORT" "$NGINX_LOG" || fail "nginx saw no HTTP/1.1 requests"

# --max-transfers bounds the connections
$TOOL --max-transfers 2 fetch-all "$HTTP_URL/store" "$S" 8 1 2>"$T/st" || fail "HTTP fetch: $(cat "$T/st")"
c=$(stat_of connections "$T/st")
[ "$c" -ge 1 ] && [ "$c" -le 2 ] || fail "--max-transfers 2 opened $c connections"

# --- HTTPS + HTTP/2: everything multiplexed over one connection
$TOOL $TLS fetch-all "$HTTPS_URL/store/" "$S" 12 3 2>"$T/st" || fail "HTTPS fetch: $(cat "$T/st")"
[ "$(stat_of connections "$T/st")" -eq 1 ] || fail "HTTP/2 should multiplex over 1 connection: $(cat "$T/st")"
n2=$(grep -c "HTTP/2.0\" $NGINX_HTTPS_PORT" "$NGINX_LOG") || true
[ "$n2" -eq $((nchunks * 3 * 12)) ] || fail "nginx logged $n2 HTTP/2 requests, want $((nchunks * 3 * 12))"

# --- server certificate checks
expect_fail 1 'error: EPROTO: .*(certificate|SSL)' $TOOL fetch-all "$HTTPS_URL/store" "$S" 2 1
expect_fail 1 'error: EPROTO: .*(certificate|SSL)' $TOOL --ca-file "$CERTS/other-ca.pem" get "$HTTPS_URL/store" "$id"
# Verification failures are not retried.
[ "$(stat_of retries "$T/.err")" -eq 0 ] || fail "a certificate failure was retried: $(cat "$T/.err")"
$TOOL --insecure get "$HTTPS_URL/store" "$id" >"$T/raw" 2>"$T/st" || fail "--insecure: $(cat "$T/st")"
cmp -s "$T/raw" "$file" || fail "--insecure fetched different bytes"

# --- mutual TLS
$TOOL $TLS $CLIENT fetch-all "$MTLS_URL/store" "$S" 8 1 2>"$T/st" || fail "mTLS fetch: $(cat "$T/st")"
expect_fail 1 'error: EREMOTEIO: (get|has): GET https://.*: HTTP 400: No required SSL certificate was sent' \
        $TOOL $TLS get "$MTLS_URL/store" "$id"
expect_fail 1 'error: EREMOTEIO: (get|has): GET https://.*: HTTP 400: The SSL certificate error' \
        $TOOL $TLS --client-cert "$CERTS/rogue.pem" --client-key "$CERTS/rogue.key" get "$MTLS_URL/store" "$id"
# a key that does not belong to the certificate
expect_fail 1 'error: EPROTO' $TOOL $TLS --client-cert "$CERTS/client.pem" --client-key "$CERTS/rogue.key" \
        get "$MTLS_URL/store" "$id"

# --- extra headers (bearer token)
expect_fail 1 'error: EACCES: (get|has): GET http://.*/private/.*: HTTP 401' $TOOL get "$HTTP_URL/private/store" "$id"
$TOOL --header 'Authorization: Bearer s3cret' --header 'X-Device: 0001' get "$HTTP_URL/private/store" "$id" \
        >"$T/raw" 2>"$T/st" || fail "bearer header: $(cat "$T/st")"
cmp -s "$T/raw" "$file" || fail "private fetch differs"
expect_fail 2 "invalid --header 'no colon'" $TOOL --header 'no colon' open "$HTTP_URL/store"
expect_fail 2 "invalid --header" $TOOL --header "$(printf 'X-A: b\r\nX-Injected: 1')" open "$HTTP_URL/store"

# --- presence checks (HEAD) and absence
[ "$($TOOL has "$HTTP_URL/store" "$id" 2>/dev/null)" = 1 ] || fail "has() of a present chunk"
zero=0000000000000000000000000000000000000000000000000000000000000000
[ "$($TOOL has "$HTTP_URL/store" $zero 2>/dev/null)" = 0 ] || fail "has() of an absent chunk"
expect_fail 1 'error: ENOENT: (get|has): GET http://.*/0000/0+\.cacnk: HTTP 404: Not Found' $TOOL get "$HTTP_URL/store" $zero
[ "$(stat_of requests "$T/.err")" -eq 1 ] || fail "404 must not be retried: $(cat "$T/.err")"

# --- the size cap: a body larger than max_raw is refused
size=$(wc -c <"$file")
expect_fail 1 "error: EFBIG: get: GET .*: body larger than $((size - 1)) bytes" \
        $TOOL get "$HTTP_URL/store" "$id" $((size - 1))
$TOOL get "$HTTP_URL/store" "$id" "$size" >"$T/raw" 2>/dev/null || fail "max_raw == size must pass"

# --- proxies from the environment (libcurl's default): through the fault
# proxy in pass mode, to a host name that does not even resolve
faultproxy_start fwd --root "$T/www"
http_proxy=$FP_URL $TOOL get "http://store.invalid/store" "$id" >"$T/raw" 2>"$T/st" ||
        fail "via http_proxy: $(cat "$T/st")"
cmp -s "$T/raw" "$file" || fail "proxied fetch differs"
grep -q "GET /store/" "$FP_LOG" || fail "the proxy saw no request"

# --- bad locations and options
expect_fail 1 'error: EINVAL: open' $TOOL open "http://"
expect_fail 1 'error: EINVAL: open' $TOOL open "http://host/store?x=1"
expect_fail 2 "invalid --ca-file '$T/none.pem': not found|No such file" $TOOL --ca-file "$T/none.pem" open "$HTTPS_URL"
expect_fail 2 "invalid --max-transfers '0'" $TOOL --max-transfers 0 open "$HTTP_URL"
expect_fail 2 "invalid --rate-limit 'fast'" $TOOL --rate-limit fast open "$HTTP_URL"

# --- rate limit: 2 x ~3 MB at 2 MiB/s for the whole store takes about 3 s
# (checked as a lower bound only: limiting is what is tested, not speed)
start=$(date +%s.%N)
$TOOL --rate-limit 2M/s --max-transfers 4 fetch-all "$HTTP_URL/store" "$S" 2 1 2>"$T/st" ||
        fail "rate-limited fetch: $(cat "$T/st")"
end=$(date +%s.%N)
bytes=$(stat_of bytes "$T/st")
python3 - "$start" "$end" "$bytes" <<'EOF' || fail "rate limit not applied: $(cat "$T/st")"
import sys
start, end, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
want = n / (2 * 1024 * 1024)
print(f"rate limit: {n} bytes in {end - start:.2f} s (limit implies {want:.2f} s)")
sys.exit(0 if end - start >= 0.7 * want else 1)
EOF

echo "http-backend: all passed"
