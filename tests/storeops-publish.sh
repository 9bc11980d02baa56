#!/bin/bash
# The nginx configuration of doc/publishing.md, taken from the document as
# it is, serves a release laid out as the document says: chunks, indexes
# and deltas cached as immutable, manifests revalidated, a 404 not cached,
# files outside the layout refused; and cadu reads the store through it
# over HTTPS (extract byte-identical, verify-store sound).
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
# Cleanup commands are appended as "$CLEANUP; cmd": start with a no-op so
# that the first one still parses.
CLEANUP=${CLEANUP:-:}
need nginx openssl curl

cd "$T"
certs_make "$T/pki"
# The release layout of the guide.
R=$T/srv
mkdir -p "$R/2.1.0"
releases "$T" 1000000
"$CADU" -q make --store "$R/store" v2.img "$R/2.1.0/rootfs.caibx"
"$CADU" -q manifest --compatible acme,board --version 2.1.0 \
        --image rootfs:rootfs:v2.img:"$R/2.1.0/rootfs.caibx":"$R/store" "$R/acme-board-2.1.0.manifest" ||
        fail "cadu manifest with the guide's layout"
openssl cms -sign -binary -outform DER -nosmimecap -in "$R/acme-board-2.1.0.manifest" \
        -signer "$CERTS/server.pem" -inkey "$CERTS/server.key" -out "$R/acme-board-2.1.0.manifest.sig" ||
        fail "signing"
echo secret >"$R/release.key"

# The server block, exactly as documented, on a free port with test paths.
port=$(free_port)
python3 - "$top_srcdir/doc/publishing.md" >server.conf <<'PY' || fail "no nginx server block in doc/publishing.md"
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"```nginx\n(server \{.*?\n\})\n```", text, re.S)
assert blocks, "no block"
print(blocks[0])
PY
sed -i -e "s|listen 443 ssl http2;|listen 127.0.0.1:$port ssl http2;|" \
        -e "s|/etc/ssl/updates.example.com/fullchain.pem|$CERTS/server.pem|" \
        -e "s|/etc/ssl/updates.example.com/privkey.pem|$CERTS/server.key|" \
        -e "s|root /srv/cadu;|root $R;|" server.conf
grep -q "listen 127.0.0.1:$port" server.conf && grep -q "root $R;" server.conf || fail "the guide's block changed shape"
mkdir -p nginx/tmp
user=""; [ "$(id -u)" -eq 0 ] && user="user root;"
cat >nginx/nginx.conf <<EOF2
$user
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 256; }
http {
        access_log $T/nginx/access.log;
        client_body_temp_path $T/nginx/tmp/body;
        proxy_temp_path $T/nginx/tmp/proxy;
        fastcgi_temp_path $T/nginx/tmp/fastcgi;
        uwsgi_temp_path $T/nginx/tmp/uwsgi;
        scgi_temp_path $T/nginx/tmp/scgi;
        include /etc/nginx/mime.types;
$(cat server.conf)
}
EOF2
nginx -t -c "$T/nginx/nginx.conf" -p "$T/nginx" >nginx-t.log 2>&1 || fail "nginx rejects the guide's config: $(cat nginx-t.log)"
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" >nginx/stderr 2>&1 &
pid=$!
CLEANUP="$CLEANUP; stop_pid $pid"
wait_port "$port" 10 || fail "nginx did not start: $(cat nginx/stderr nginx/error.log)"
U=https://127.0.0.1:$port

# hdr PATH: status line and Cache-Control of a GET.
hdr() { curl -s -o /dev/null -D - --cacert "$CERTS/ca.pem" "$U/$1" | tr -d '\r' | grep -iE '^(HTTP|cache-control)'; }
id=$(idx_ids "$R/2.1.0/rootfs.caibx" | head -1)
h=$(hdr "store/$(echo "$id" | cut -c1-4)/$id.cacnk")
echo "$h" | grep -q "^HTTP/2 200" && echo "$h" | grep -qi "^cache-control: public, max-age=31536000, immutable$" ||
        fail "chunk headers: $h"
h=$(hdr 2.1.0/rootfs.caibx)
echo "$h" | grep -q "^HTTP/2 200" && echo "$h" | grep -qi "immutable" || fail "index headers: $h"
for f in acme-board-2.1.0.manifest acme-board-2.1.0.manifest.sig; do
        h=$(hdr "$f")
        echo "$h" | grep -q "^HTTP/2 200" && echo "$h" | grep -qi "^cache-control: no-cache$" || fail "$f headers: $h"
done
h=$(hdr "store/0000/0000000000000000000000000000000000000000000000000000000000000000.cacnk")
echo "$h" | grep -q "^HTTP/2 404" && ! echo "$h" | grep -qi "cache-control" || fail "a missing chunk's 404 is cached: $h"
h=$(hdr release.key)
echo "$h" | grep -q "^HTTP/2 404" || fail "a file outside the layout is served: $h"
curl -s --cacert "$CERTS/ca.pem" -H 'Accept-Encoding: gzip' -o got.cacnk "$U/store/$(echo "$id" | cut -c1-4)/$id.cacnk"
cmp got.cacnk "$(chunk_file "$R/store" "$id")" || fail "the chunk was transformed on the way"

# cadu through it.
"$CADU" -q extract --ca-file "$CERTS/ca.pem" --store "$U/store" "$R/2.1.0/rootfs.caibx" out.img || fail "extract over HTTPS"
cmp v2.img out.img || fail "extract over the guide's nginx differs"
"$CADU" -q verify-store --ca-file "$CERTS/ca.pem" --download "$U/store" "$R/2.1.0/rootfs.caibx" || fail "verify-store over HTTPS"
exit 0
