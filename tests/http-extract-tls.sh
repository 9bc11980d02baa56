#!/bin/sh
# cadu extract over HTTPS with HTTP/2 and with mutual TLS from real nginx,
# certificates made by openssl here, and the network options on the command
# line (--ca-file, --client-cert/--client-key, --header, --insecure,
# --retries, --low-speed-time, --deadline, --max-transfers, --json stats).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx openssl python3 timeout cmp

CADU_T="timeout -k 5 120 $CADU"
certs_make "$T/pki"
mkdir -p "$T/www" "$T/out"
head -c 2000000 /dev/urandom >"$T/v.img"
"$CADU" make -q --store "$T/www/store" "$T/v.img" "$T/v.caibx"
nginx_start "$T/www"
TLS="--ca-file $CERTS/ca.pem"
CLIENT="--client-cert $CERTS/client.pem --client-key $CERTS/client.key"

check_out() { # NAME FILE
        cmp -s "$T/v.img" "$2" || fail "$1: the extracted image differs"
        no_tmp_left "$(dirname "$2")"
}
check_no_out() { # NAME FILE
        [ ! -e "$2" ] || fail "$1: a failed extract left $2"
        no_tmp_left "$(dirname "$2")"
}

# --- HTTPS + HTTP/2: identical image, every request multiplexed on one connection
: >"$NGINX_LOG"
$CADU_T --json extract $TLS --store "$HTTPS_URL/store" "$T/v.caibx" "$T/out/a.img" >"$T/a.json" ||
        fail "HTTPS extract"
check_out "HTTPS" "$T/out/a.img"
grep -q "HTTP/2.0\" $NGINX_HTTPS_PORT TLSv1.3" "$NGINX_LOG" || fail "no HTTP/2 over TLS 1.3 in the access log"
conns=$(awk '{ print $1 }' "$NGINX_LOG" | sort -u | wc -l)
[ "$conns" -eq 1 ] || fail "HTTP/2: nginx saw $conns connections, want 1"
grep -q '"connections":1[,}]' "$T/a.json" || fail "JSON statistics lack connections=1: $(cat "$T/a.json")"
grep -q '"requests":[1-9]' "$T/a.json" || fail "JSON statistics lack requests: $(cat "$T/a.json")"

# --- server verification: on by default, --ca-file, --insecure
expect_fail 5 "certificate" $CADU_T extract -q --store "$HTTPS_URL/store" "$T/v.caibx" "$T/out/b.img"
check_no_out "untrusted server" "$T/out/b.img"
expect_fail 5 "certificate" \
        $CADU_T extract -q --ca-file "$CERTS/other-ca.pem" --store "$HTTPS_URL/store" "$T/v.caibx" "$T/out/b.img"
check_no_out "wrong CA" "$T/out/b.img"
$CADU_T extract -q --insecure --store "$HTTPS_URL/store" "$T/v.caibx" "$T/out/c.img" || fail "--insecure"
check_out "--insecure" "$T/out/c.img"

# --- mutual TLS
$CADU_T extract -q $TLS $CLIENT --store "$MTLS_URL/store" "$T/v.caibx" "$T/out/d.img" || fail "mTLS extract"
check_out "mTLS" "$T/out/d.img"
expect_fail 5 "No required SSL certificate was sent" \
        $CADU_T extract -q $TLS --store "$MTLS_URL/store" "$T/v.caibx" "$T/out/e.img"
check_no_out "mTLS without a client certificate" "$T/out/e.img"
expect_fail 5 "SSL certificate error" \
        $CADU_T extract -q $TLS --client-cert "$CERTS/rogue.pem" --client-key "$CERTS/rogue.key" \
        --store "$MTLS_URL/store" "$T/v.caibx" "$T/out/e.img"
check_no_out "mTLS with a foreign client certificate" "$T/out/e.img"
# failover from the mTLS store that refuses us to plain HTTPS
$CADU_T extract -q $TLS --store "$MTLS_URL/store" --store "$HTTPS_URL/store" "$T/v.caibx" "$T/out/f.img" ||
        fail "refused mTLS store + HTTPS store"
check_out "mTLS failover" "$T/out/f.img"

# --- bearer token in an extra header
expect_fail 5 "HTTP 401" $CADU_T extract -q --store "$HTTP_URL/private/store" "$T/v.caibx" "$T/out/g.img"
check_no_out "no token" "$T/out/g.img"
$CADU_T extract -q --header 'Authorization: Bearer s3cret' --store "$HTTP_URL/private/store" \
        "$T/v.caibx" "$T/out/h.img" || fail "bearer token"
check_out "bearer token" "$T/out/h.img"

# --- --max-transfers over HTTP/1.1 bounds the connections
: >"$NGINX_LOG"
$CADU_T extract -q --max-transfers 2 --store "$HTTP_URL/store" "$T/v.caibx" "$T/out/i.img" || fail "--max-transfers 2"
check_out "--max-transfers 2" "$T/out/i.img"
conns=$(awk '{ print $1 }' "$NGINX_LOG" | sort -u | wc -l)
[ "$conns" -le 2 ] || fail "--max-transfers 2: nginx saw $conns connections"

# --- stalls: --low-speed-time cuts them and the retry recovers; --deadline ends it all
faultproxy_start stall1 --upstream "$HTTP_URL" --mode stall --count 1 --stall 60
start=$(date +%s)
$CADU_T extract -q --low-speed-time 1 --store "$FP_URL/store" "$T/v.caibx" "$T/out/j.img" || fail "stall x1"
check_out "stall x1" "$T/out/j.img"
[ $(( $(date +%s) - start )) -le 20 ] || fail "stall x1 took $(( $(date +%s) - start )) s"
faultproxy_start stall --root "$T/www" --mode stall --stall 60
start=$(date +%s)
expect_fail 5 "deadline of 3 s" \
        $CADU_T extract -q --deadline 3 --store "$FP_URL/store" "$T/v.caibx" "$T/out/k.img"
check_no_out "deadline" "$T/out/k.img"
[ $(( $(date +%s) - start )) -le 10 ] || fail "--deadline 3 took $(( $(date +%s) - start )) s"
faultproxy_start s503 --root "$T/www" --mode status:503
expect_fail 5 "HTTP 503.*after 2 attempts" \
        $CADU_T extract -q --retries 1 --store "$FP_URL/store" "$T/v.caibx" "$T/out/l.img"
check_no_out "503 for ever" "$T/out/l.img"

# --- bad option values are usage errors
expect_fail 2 "invalid --ca-file" $CADU extract --ca-file "$T/missing.pem" --store "$HTTPS_URL/store" "$T/v.caibx" "$T/out/m.img"
expect_fail 2 "invalid --header" $CADU extract --header 'Bad Header' --store "$HTTP_URL/store" "$T/v.caibx" "$T/out/m.img"
expect_fail 2 "invalid --rate-limit" $CADU extract --rate-limit 0 --store "$HTTP_URL/store" "$T/v.caibx" "$T/out/m.img"
check_no_out "usage errors" "$T/out/m.img"

echo "http-extract-tls: all passed"
