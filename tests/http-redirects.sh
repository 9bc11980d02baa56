#!/bin/sh
# Secrets do not follow redirects: the configured request headers (a token)
# reach the configured origin, and a redirect target on another origin (here
# another port of 127.0.0.1) gets the request without them, for the index
# (cadu_fetch) and the chunks (the HTTP store). A redirect within the origin
# keeps them.
. "$top_srcdir/tests/lib.sh"
need python3
gen_data random 600000 img
"$CADU" -q make --store www/store --chunk-size 16K:32K:64K img www/img.caibx

# Two servers: "origin" answers every request with a redirect, "other"
# serves the files; both log each request's path and its X-Token header.
cat >servers.py <<'PY'
import http.server, os, sys, threading
root, log, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
def record(name, h):
    with lock, open(log, "a") as f:
        f.write(f"{name} {h.path} token={h.headers.get('X-Token', '-')}\n")
class Other(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        record("other", self)
        p = os.path.join(root, self.path.split("?")[0].lstrip("/").removeprefix("_r/"))
        if not os.path.isfile(p):
            self.send_error(404); return
        data = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
class Origin(Other):
    def do_GET(self):
        if self.path.startswith("/_r/"):           # the same-origin hop
            return Other.do_GET(self)
        record("origin", self)
        same = self.path.startswith("/same/")
        target = (f"/_r/{self.path[len('/same/'):]}" if same
                  else f"http://127.0.0.1:{other.server_address[1]}{self.path}")
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()
other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
for s in (other, origin):
    threading.Thread(target=s.serve_forever, daemon=True).start()
open(portfile + ".tmp", "w").write(str(origin.server_address[1]))
os.rename(portfile + ".tmp", portfile)
threading.Event().wait()
PY
python3 servers.py "$T/www" "$T/req.log" "$T/port" 2>servers.err &
CLEANUP="kill $!"
n=0
until [ -s port ]; do n=$((n + 1)); [ "$n" -lt 200 ] || fail "servers did not start: $(cat servers.err)"; sleep 0.05; done
url=http://127.0.0.1:$(cat port)

# Cross-origin: the token goes to the origin only.
"$CADU" -q extract --header "X-Token: s3cret" --store "$url/store" "$url/img.caibx" out.img ||
        fail "extract through a cross-origin redirect failed"
cmp -s img out.img || fail "extracted image differs"
grep -q '^origin /img.caibx token=s3cret$' req.log || fail "the origin did not get the token: $(cat req.log)"
grep -q '^origin /store/.* token=s3cret$' req.log || fail "the origin did not get the token for chunks"
grep -q '^other /img.caibx ' req.log || fail "the index was not fetched from the redirect target"
grep -q '^other /store/' req.log || fail "no chunk was fetched from the redirect target"
if grep '^other ' req.log | grep -qv ' token=-$'; then
        fail "the token was sent to another origin: $(grep '^other ' req.log | grep -v ' token=-$' | head -n 3)"
fi

# Within the origin, the redirected request keeps the token.
: >req.log
rm -f out.img
"$CADU" -q extract --header "X-Token: s3cret" --store "$url/same/store" "$url/same/img.caibx" out.img ||
        fail "extract through a same-origin redirect failed"
cmp -s img out.img || fail "extracted image differs (same origin)"
grep -q '^other /_r/img.caibx token=s3cret$' req.log || fail "same-origin hop lost the token: $(cat req.log)"
if grep '^other /_r/store/' req.log | grep -qv ' token=s3cret$'; then
        fail "a same-origin chunk hop lost the token"
fi
echo "http-redirects: ok"
