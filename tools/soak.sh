#!/bin/sh
# Soak: N simulated devices (default 200; each its own slots, bootloader
# file, state directory and cadu process) install one release at once from
# one nginx on 127.0.0.1, through tests/faultproxy.py dropping the first
# request of every file, with nginx restarted midway. Loopback only.
#
#   tools/soak.sh [DEVICES] [ROOTFS_MIB]
#   (CADU=path/to/cadu, SOAK_TIMEOUT=s per install, SOAK_DOWN=s nginx is down)
#
# Prints requests and bytes per device against a single device alone, the
# retries, the wall time, and checks that every device ends with the exact
# images in slot B and a trial of B armed. Exit 1 if any device does not.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-200}
MIB=${2:-4}
TIMEOUT=${SOAK_TIMEOUT:-900}
export top_srcdir=$top
: "${CADU:=$top/build/cadu}"
export CADU
[ -x "$CADU" ] || { echo "tools/soak.sh: build cadu first (or set CADU)" >&2; exit 1; }
. "$top/tests/lib.sh"
. "$top/tests/manifest-lib.sh"
. "$top/tests/install-lib.sh"
. "$top/tests/nginx-harness.sh"
need nginx python3 timeout
make_pki
mkdir -p "$T/www"
device_release "$T/v1" 1.0.0 "$MIB"
device_release "$T/www/v2" 2.0.0 "$MIB"
cp "$P/ca.pem" "$T/ca.pem"

# device I: a factory-fresh device in $T/dev/I running v1 from slot A.
device() {
        local d=$T/dev/$1
        mkdir -p "$d"
        cp "$T/v1/rootfs.img" "$d/a.img"
        cp "$T/v1/kernel.img" "$d/ka.img"
        : >"$d/b.img"
        : >"$d/kb.img"
        echo "cadu.slot=A" >"$d/cmdline"
        printf 'BOOT_ORDER=A B\n' >"$d/env"
        cat >"$d/cadu.conf" <<CONF
[system]
compatible = cadu-test-board
bootloader = file
bootloader-file = $d/env
state-dir = $d/state
cmdline = $d/cmdline

[slot rootfs]
a = $d/a.img
b = $d/b.img

[slot kernel]
a = $d/ka.img
b = $d/kb.img

[trust]
ca = $T/ca.pem

[store]
max-transfers = 4
retries = 10
CONF
}

# exact I: device I has v2 in slot B and a trial of B armed.
exact() {
        local d=$T/dev/$1
        cmp -s "$d/b.img" "$T/www/v2/rootfs.img" && cmp -s "$d/kb.img" "$T/www/v2/kernel.img" &&
                grep -q '^BOOT_ORDER=B A$' "$d/env" && grep -q '^BOOT_B_LEFT=1$' "$d/env"
}

nginx_start "$T/www"
restart_nginx() {
        stop_pid "$NGINX_PID"
        sleep "${SOAK_DOWN:-1}"         # down for a second: requests meanwhile fail
        nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" >>"$T/nginx/stderr" 2>&1 &
        NGINX_PID=$!
        CLEANUP="${CLEANUP:+$CLEANUP; }stop_pid $NGINX_PID"
        wait_port "$NGINX_HTTP_PORT" 10 || fail "nginx did not come back"
}
faultproxy_start soak --upstream "$HTTP_URL" --mode drop --count 1
url=$FP_URL/v2/update.manifest

# counts: "requests bytes drops down" seen so far (proxy log, nginx log):
# down = requests answered 502 while nginx was down.
counts() {
        printf '%s %s %s %s\n' "$(wc -l <"$FP_LOG")" \
                "$(awk '{ b += $4 } END { print b + 0 }' "$NGINX_LOG")" \
                "$(grep -c ' drop' "$FP_LOG" || true)" "$(grep -c ' upstream down' "$FP_LOG" || true)"
}

# One device alone: the reference (the proxy drops each file's first
# request, so it retries every file once).
device single
"$CADU" -q install -c "$T/dev/single/cadu.conf" "$url" || fail "the single device's install failed"
exact single || fail "the single device does not hold v2"
set -- $(counts)
one_req=$1 one_bytes=$2 one_drops=$3

# N devices at once; the files were all requested once already, so the
# proxy passes them now: restart it to drop each file's first request again.
stop_pid "$FP_PID"
: >"$NGINX_LOG"
faultproxy_start soak2 --upstream "$HTTP_URL" --mode drop --count 1
url=$FP_URL/v2/update.manifest
i=1
while [ "$i" -le "$N" ]; do device "$i"; i=$((i + 1)); done
start=$(date +%s%N)
pids=""
i=1
while [ "$i" -le "$N" ]; do
        timeout -k 5 "$TIMEOUT" "$CADU" -q install -c "$T/dev/$i/cadu.conf" "$url" 2>"$T/dev/$i/err" &
        pids="$pids $!"
        i=$((i + 1))
done
# Midway (half the requests the devices need, as the single one counts),
# nginx restarts: in-flight requests fail and are retried.
running() { for p in $pids; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
half=$((N * (one_req - one_drops) / 2))
while [ "$(wc -l <"$FP_LOG")" -lt "$half" ] && running; do sleep 0.1; done
restart_nginx
restarted_at=$(wc -l <"$FP_LOG")
failed=0
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
secs=$(( ($(date +%s%N) - start) / 1000000 ))
set -- $(counts)
req=$1 bytes=$2 drops=$3 down=$4
bad=0
i=1
while [ "$i" -le "$N" ]; do exact "$i" || bad=$((bad + 1)); i=$((i + 1)); done

echo "soak: $N devices, rootfs $MIB MiB, nginx restarted after $restarted_at of $req proxied requests"
printf '%-22s %12s %14s %10s\n' "" requests bytes "first-request drops"
printf '%-22s %12s %14s %10s\n' "one device alone" "$one_req" "$one_bytes" "$one_drops"
printf '%-22s %12s %14s %10s\n' "per device, $N at once" "$((req / N))" "$((bytes / N))" "$(echo "scale=2; $drops / $N" | bc)"
printf '%-22s %12s %14s %10s\n' "all $N devices" "$req" "$bytes" "$drops"
clean=$((one_req - one_drops))
echo "requests answered 502 while nginx was down: $down"
echo "requests beyond $N x the $clean a device needs without faults (drops and 502s, retried): $((req - N * clean))"
echo "wall time: $secs ms; installs failed: $failed; devices without the exact image and trial: $bad"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ] || fail "$failed installs failed, $bad devices not exact: $(cat "$T"/dev/*/err | sort | uniq -c | sort -rn | head -n 5)"
