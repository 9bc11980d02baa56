# Real servers for the HTTP store tests. Source it after tests/lib.sh:
#
#   . "$top_srcdir/tests/nginx-harness.sh"
#   certs_make "$T/pki"            # test CA, server and client certificates
#   nginx_start "$T/www"           # serve a directory on three ports
#   faultproxy_start MODE [ARGS]   # a misbehaving server (tests/faultproxy.py)
#
# Everything listens on 127.0.0.1 only, lives under $T and is stopped by the
# EXIT trap of lib.sh. Proxy variables are cleared so that libcurl talks to
# the servers directly (a test that wants a proxy sets its own).

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
        python3 - "$1" "${2:-10}" <<'EOF'
import socket, sys, time
port, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# stop_pid PID: TERM, then KILL after two seconds.
stop_pid() {
        local pid=$1 n=40
        kill -TERM "$pid" 2>/dev/null || return 0
        while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; n=$((n - 1)); done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
}

# certs_make DIR: with openssl, in DIR:
#   ca.pem               CA of the server certificate (what --ca-file trusts)
#   server.pem/.key      for 127.0.0.1 and localhost
#   client-ca.pem        CA the mutual-TLS server accepts clients from
#   client.pem/.key      a client certificate from client-ca
#   rogue.pem/.key       a client certificate from another CA (must be refused)
#   other-ca.pem         an unrelated CA (server verification must fail with it)
certs_make() {
        local d=$1
        need openssl
        mkdir -p "$d"
        (
                cd "$d"
                ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                for ca in ca client-ca rogue-ca other-ca; do
                        openssl req -x509 $ec -keyout "$ca.key" -out "$ca.pem" -days 2 \
                                -subj "/CN=cadu test $ca" \
                                -addext basicConstraints=critical,CA:TRUE \
                                -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
                done
                printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
                printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
                sign() { # NAME CA EXT CN
                        openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "/CN=$4" 2>/dev/null
                        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
                                -out "$1.pem" -days 2 -extfile "$3" 2>/dev/null
                }
                sign server ca server.ext 127.0.0.1
                sign client client-ca client.ext device-0001
                sign rogue rogue-ca client.ext intruder
        ) || fail "openssl could not make the test certificates"
        CERTS=$d
}

# nginx_start ROOT: serve directory ROOT with real nginx on three ports:
#   $HTTP_URL   plain HTTP/1.1 (keep-alive)
#   $HTTPS_URL  HTTPS with HTTP/2 (needs certs_make first; ca.pem verifies it)
#   $MTLS_URL   HTTPS + HTTP/2 requiring a client certificate from client-ca
#   $HTTP_URL/private/...  the same files, only with "Authorization: Bearer s3cret"
#   $HTTP_URL/single-range/...  the same files, multi-range requests answered 200
#   $HTTP_URL/no-range/...  the same files, Range ignored (max_ranges 0: 200)
# Access log: $NGINX_LOG, one line per request:
#   connection-serial requests-on-connection status bytes-sent body-bytes "request" port tls-protocol
nginx_start() {
        local root=$1 n="$T/nginx" user=""
        need nginx
        mkdir -p "$n/tmp"
        NGINX_HTTP_PORT=$(free_port)
        NGINX_HTTPS_PORT=$(free_port)
        NGINX_MTLS_PORT=$(free_port)
        NGINX_LOG="$n/access.log"
        [ "$(id -u)" -eq 0 ] && user="user root;"
        local tls=""
        if [ -n "${CERTS:-}" ]; then
                tls="
        server {
                listen 127.0.0.1:$NGINX_HTTPS_PORT ssl http2;
                ssl_protocols TLSv1.2 TLSv1.3;
                ssl_certificate $CERTS/server.pem;
                ssl_certificate_key $CERTS/server.key;
                root $root;
        }
        server {
                listen 127.0.0.1:$NGINX_MTLS_PORT ssl http2;
                ssl_protocols TLSv1.2 TLSv1.3;
                ssl_certificate $CERTS/server.pem;
                ssl_certificate_key $CERTS/server.key;
                ssl_client_certificate $CERTS/client-ca.pem;
                ssl_verify_client on;
                root $root;
        }"
        fi
        cat >"$n/nginx.conf" <<EOF
$user
daemon off;
master_process on;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/error.log info;
events { worker_connections 512; }
http {
        log_format cadu '\$connection \$connection_requests \$status \$bytes_sent \$body_bytes_sent "\$request" \$server_port \$ssl_protocol \"\$http_authorization\"';
        access_log $NGINX_LOG cadu;
        client_body_temp_path $n/tmp/body;
        proxy_temp_path $n/tmp/proxy;
        fastcgi_temp_path $n/tmp/fastcgi;
        uwsgi_temp_path $n/tmp/uwsgi;
        scgi_temp_path $n/tmp/scgi;
        default_type application/octet-stream;
        sendfile on;
        keepalive_requests 100000;
        keepalive_timeout 60s;
        server {
                listen 127.0.0.1:$NGINX_HTTP_PORT;
                root $root;
                # the same files behind a bearer token
                location /private/ {
                        if (\$http_authorization != "Bearer s3cret") { return 401; }
                        alias $root/;
                }
                location /single-range/ { alias $root/; max_ranges 1; }
                location /no-range/ { alias $root/; max_ranges 0; }
        }$tls
}
EOF
        nginx -c "$n/nginx.conf" -p "$n" >"$n/stderr" 2>&1 &
        NGINX_PID=$!
        CLEANUP="${CLEANUP:+$CLEANUP; }stop_pid $NGINX_PID"
        wait_port "$NGINX_HTTP_PORT" 10 || fail "nginx did not start: $(cat "$n/stderr" "$n/error.log" 2>/dev/null)"
        if [ -n "${CERTS:-}" ]; then
                wait_port "$NGINX_HTTPS_PORT" 5 && wait_port "$NGINX_MTLS_PORT" 5 || fail "nginx TLS ports did not open"
        fi
        HTTP_URL="http://127.0.0.1:$NGINX_HTTP_PORT"
        HTTPS_URL="https://127.0.0.1:$NGINX_HTTPS_PORT"
        MTLS_URL="https://127.0.0.1:$NGINX_MTLS_PORT"
}

# faultproxy_start NAME ARGS...: tests/faultproxy.py in the background; sets
# FP_URL (http://127.0.0.1:PORT) and FP_LOG (one line per request it saw).
faultproxy_start() {
        local name=$1
        shift
        need python3
        FP_LOG="$T/fp-$name.log"
        rm -f "$T/fp-$name.port"
        python3 "$top_srcdir/tests/faultproxy.py" --port-file "$T/fp-$name.port" --log "$FP_LOG" "$@" \
                2>"$T/fp-$name.stderr" &
        local pid=$! n=200
        CLEANUP="${CLEANUP:+$CLEANUP; }stop_pid $pid"
        while [ ! -s "$T/fp-$name.port" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
        [ -s "$T/fp-$name.port" ] || fail "faultproxy did not start: $(cat "$T/fp-$name.stderr")"
        FP_URL="http://127.0.0.1:$(cat "$T/fp-$name.port")"
        FP_PID=$pid
}

# nginx_log_summary [PORT]: "requests=N connections=N bytes=N" from the
# access log (all ports, or requests served on PORT only).
nginx_log_summary() {
        awk -v port="${1:-}" '
                port == "" || $9 == port { req++; conn[$1] = 1; bytes += $4 }
                END { n = 0; for (c in conn) n++; printf "requests=%d connections=%d bytes=%d\n", req, n, bytes }
        ' "$NGINX_LOG"
}
