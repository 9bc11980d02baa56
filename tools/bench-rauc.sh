#!/bin/bash
# RAUC installing a casync bundle over a slow HTTP link: with the real
# casync, and with cadu as casync (--enable-casync-compat), side by side in
# one run, alternating.
#
# usage: tools/bench-rauc.sh [CADU] [WORKDIR] [SIZE_MIB]    (as root)
#
# The bundle is made once (`rauc bundle`, then `rauc convert` with the real
# casync), so both installs read the same index and the same store, served
# by nginx on 127.0.0.1 behind tools/delayproxy.py (DELAY_MS, default 25,
# each way) and named by the device's [casync] storepath. The device runs
# v1 in slot A; RAUC installs v2 into slot B seeded from A, with its service
# on a private D-Bus bus (tests/rauc-lib.sh). Printed for each: the median
# and range of RUNS (default 3) wall times of `rauc install`, HTTP requests
# and bytes nginx sent (last run), and the time ratio casync/cadu.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cadu=$(realpath "${1:-$top/build/cadu}")
work=$(mkdir -p "${2:-/var/tmp/cadu-bench-rauc}" && cd "${2:-/var/tmp/cadu-bench-rauc}" && pwd)
size=${3:-256}
delay=${DELAY_MS:-25}
runs=${RUNS:-3}

top_srcdir=$top
top_builddir=$(dirname "$cadu")
CADU=$cadu
. "$top/tests/lib.sh"
. "$top/tests/nginx-harness.sh"
. "$top/tests/rauc-lib.sh"
need rauc casync nginx python3 dbus-daemon dbus-send mksquashfs openssl
[ "$(id -u)" -eq 0 ] || fail "run as root (RAUC loop-mounts the bundle)"
[ -x "$cadu" ] || fail "no cadu binary at $cadu"

cd "$work"
[ -f v1.img ] && [ -f v2.img ] || "$top/tools/mkimages.sh" "$work" "$size"
if [ ! -f casync.raucb ]; then
        rm -rf content casync.castr www
        openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 \
                -subj /CN=cadu-bench-rauc 2>/dev/null
        mkdir content
        cp v2.img content/rootfs.img
        printf '[update]\ncompatible=cadu-test\nversion=2.0\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.img\n' \
                >content/manifest.raucm
        rauc bundle --cert cert.pem --key key.pem content plain.raucb >/dev/null 2>&1
        rauc convert --cert cert.pem --key key.pem --keyring cert.pem plain.raucb casync.raucb >/dev/null 2>&1
        rm -rf content plain.raucb
        mkdir www
        mv casync.castr www/store
fi

nginx_start "$work/www"
python3 "$top/tools/delayproxy.py" --upstream "127.0.0.1:$NGINX_HTTP_PORT" --delay-ms "$delay" \
        --port-file "$T/dp.port" --stats "$T/dp.stats" &
dp=$!
CLEANUP="$CLEANUP; stop_pid $dp"
n=100
while [ ! -s "$T/dp.port" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
url="http://127.0.0.1:$(cat "$T/dp.port")/store"

# The two casyncs RAUC can find first on its PATH.
mkdir -p "$T/casync-bin" "$T/cadu-bin"
ln -s "$(command -v casync)" "$T/casync-bin/casync"
ln -s "$cadu" "$T/cadu-bin/casync"
basepath=$PATH

# once NAME: one install with NAME's casync; appends the time to $T/NAME.t
# and leaves the nginx figures of that run in NAME_req and NAME_bytes.
once() {
        local name=$1 s e
        export PATH=$T/$name-bin:$basepath
        rauc_device "$work/cert.pem" "$work/v1.img" "$(stat -c %s "$work/v2.img")" "$url"
        rauc_service_start
        : >"$NGINX_LOG"
        s=$(date +%s.%N)
        rauc install "$work/casync.raucb" >"$T/install.log" 2>&1 ||
                fail "$name: rauc install failed: $(tail -3 "$T/install.log"; tail -3 "$T/service.log")"
        e=$(date +%s.%N)
        rauc_service_stop
        cmp -s "$T/b.img" "$work/v2.img" || fail "$name: slot B differs from v2"
        echo "$e - $s" | bc >>"$T/$name.t"
        eval "$(awk -v n="$name" '{ req++; bytes += $4 } END { printf "%s_req=%d %s_bytes=%d\n", n, req, n, bytes }' "$NGINX_LOG")"
}
for _ in $(seq "$runs"); do
        once casync
        once cadu
done
# stats FILE: "median min max" of the times in FILE.
stats() { sort -n "$1" | awk '{ a[NR] = $1 } END { printf "%.2f %.2f %.2f\n", a[int((NR + 1) / 2)], a[1], a[NR] }'; }
read -r casync_t casync_min casync_max < <(stats "$T/casync.t")
read -r cadu_t cadu_min cadu_max < <(stats "$T/cadu.t")

echo "rauc $(rauc --version | cut -d' ' -f2) install of a casync bundle (v1 -> v2, $(du -h --apparent-size v2.img | cut -f1) image," \
        "slot A as seed); link: +$delay ms each way; $runs alternating runs"
printf '\n%-14s %22s %10s %14s\n' "casync used" "time: median (range)" "requests" "bytes sent"
printf '%-14s %6.2f s (%.2f-%.2f) %10d %14d\n' "real casync" "$casync_t" "$casync_min" "$casync_max" "$casync_req" "$casync_bytes"
printf '%-14s %6.2f s (%.2f-%.2f) %10d %14d\n' "cadu" "$cadu_t" "$cadu_min" "$cadu_max" "$cadu_req" "$cadu_bytes"
printf '\nspeedup (casync time / cadu time): %.2fx\n' "$(echo "scale=4; $casync_t / $cadu_t" | bc)"
