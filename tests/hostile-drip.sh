#!/bin/sh
# A server that drips a byte now and then is never silent long enough for a
# stall check (issue 18, class 4): a transfer must keep a minimum average
# speed over each --low-speed-time window (chunks through the store's pool,
# small files through cadu_fetch), and fetching a manifest, signature or
# index has a deadline even when none is configured. cadu.conf takes the
# same settings, with the same ranges as the options.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need python3 timeout
cd "$T"
mkdir -p www
gen_data mixed 200000 img
"$CADU" -q make --store www/store img www/img.caibx
to() { timeout -k 5 60 "$@"; }

# Chunks: one byte every 0.3 s is never 2 s of silence, but far below 100 B/s.
faultproxy_start chunks --root "$T/www" --mode drip --drip 0.3 --path-regex '\.cacnk$'
start=$(date +%s)
expect_fail 5 "slower than 100 bytes/s for 2 s" \
        to "$CADU" extract --store "$FP_URL/store" --retries 0 --low-speed-time 2 --low-speed-limit 100 \
        "$FP_URL/img.caibx" out
[ $(( $(date +%s) - start )) -lt 20 ] || fail "the drip was cut off only after $(( $(date +%s) - start )) s"
[ ! -e out ] || fail "output left behind"

# A small file (the index) dripping: curl's average over the window.
faultproxy_start index --root "$T/www" --mode drip --drip 0.3 --path-regex '\.caibx$'
expect_fail 5 "cannot read index $FP_URL/img.caibx: GET $FP_URL/img.caibx: Operation too slow" \
        to "$CADU" extract --store www/store --retries 0 --low-speed-time 2 --low-speed-limit 100 \
        "$FP_URL/img.caibx" out
# Fast enough for the speed check, too slow for the deadline: 50 B/s for
# an index of more than 200 bytes, 2 s allowed.
[ "$(stat -c %s www/img.caibx)" -gt 200 ] || fail "index too small for the deadline case"
faultproxy_start slow --root "$T/www" --mode slow --rate 50 --path-regex '\.caibx$'
expect_fail 5 "cannot read index $FP_URL/img.caibx: GET $FP_URL/img.caibx: deadline of 2 s reached" \
        to "$CADU" extract --store www/store --low-speed-time 1 --low-speed-limit 10 --deadline 2 \
        "$FP_URL/img.caibx" out

# The options' ranges, on the command line and in cadu.conf alike.
expect_fail 2 "invalid --low-speed-limit '0': need bytes per second \\(at least 1\\)" \
        "$CADU" extract --low-speed-limit 0 www/img.caibx out
expect_fail 2 "invalid --max-transfers '257': need a number from 1 to 256" \
        "$CADU" extract --max-transfers 257 www/img.caibx out
expect_fail 2 "invalid --retries '101': need a number from 0 to 100" "$CADU" extract --retries 101 www/img.caibx out
"$CADU" extract --help | grep -q -- "--retries N .*" || fail "no --retries in --help"
"$CADU" extract --help | grep -q "(0..100, default 5)" || fail "--help states another range for --retries"
conf() { # KEY VALUE: a minimal cadu.conf with that [store] setting
        printf '[system]\ncompatible = x\n[slot rootfs]\na = /dev/a\nb = /dev/b\n[trust]\nca = /ca.pem\n[store]\n%s = %s\n' \
                "$1" "$2" > c.conf
}
for kv in "max-transfers 256" "retries 0" "low-speed-time 3600" "low-speed-limit 100" "deadline 600" \
          "connect-timeout 5" "max-redirects 50"; do
        conf $kv
        "$CADU" status -c c.conf > /dev/null 2> st.err || true
        if grep -q "c.conf:" st.err; then fail "cadu.conf refuses '$kv': $(cat st.err)"; fi
done
conf max-transfers 257
expect_fail 2 "^cadu: c.conf:9: invalid max-transfers '257' \\(expected 1 to 256\\)$" "$CADU" status -c c.conf
conf retries 101
expect_fail 2 "^cadu: c.conf:9: invalid retries '101' \\(expected 0 to 100\\)$" "$CADU" status -c c.conf
