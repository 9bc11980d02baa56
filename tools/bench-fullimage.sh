#!/bin/sh
# A compressed full image (manifest key full) against the chunk plan, side
# by side in one run, for a device that has nothing of the image (blank
# slots) and for one seeded with the previous release (v1 in its running
# slot). Each install is from a real nginx; what the device downloads
# (bodies and requests, from nginx's log), the install's wall time and peak
# RSS, and which source cadu chose.
#
# usage: tools/bench-fullimage.sh [CADU] [WORKDIR] [SIZE_MIB]
#
# Images of SIZE_MIB (default 256) come from tools/mkimages.sh (v2 is v1
# after an OS update). Rows "chunks only" install from a manifest without
# full image; rows "full offered" from one with it (zstd level FULL_LEVEL,
# default 19), where cadu takes whichever costs fewer bytes. KINDS (default
# "blank seeded") picks the devices. WORKDIR defaults to tmpfs (/dev/shm).
# Use a build without sanitizers (tools/build.sh). Needs nginx, openssl and
# /usr/bin/time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cadu=$(realpath "${1:-$top/build/cadu}")
work=${2:-/dev/shm/cadu-bench-fullimage}
size=${3:-256}
[ -x "$cadu" ] || { echo "no cadu binary at $cadu (give its path)" >&2; exit 1; }
for c in nginx openssl /usr/bin/time zstd; do
        command -v "$c" >/dev/null 2>&1 || { echo "$0: $c not found" >&2; exit 1; }
done
mkdir -p "$work"
cd "$work"
if [ -f v1.img ] && [ "$(stat -c %s v1.img)" -ne $((size << 20)) ]; then
        rm -f v1.img v2.img
fi
[ -f v1.img ] || "$top/tools/mkimages.sh" "$work" "$size"
rm -rf www dev pki nginx
mkdir -p www/rel www/full pki nginx/tmp

# A test PKI: a root and a code-signing leaf.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pki/ca.key -out pki/ca.pem \
        -subj /CN=bench-root -days 2 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pki/signer.key -out pki/signer.csr \
        -subj /CN=bench-signer 2>/dev/null
printf 'extendedKeyUsage=codeSigning\nkeyUsage=digitalSignature\n' > pki/ext
openssl x509 -req -in pki/signer.csr -CA pki/ca.pem -CAkey pki/ca.key -CAcreateserial -days 2 \
        -extfile pki/ext -out pki/signer.pem 2>/dev/null

# nginx on a free port, logging body bytes per request.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > nginx/nginx.conf <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
        access_log $work/nginx/access.log combined;
        log_format b '\$status \$body_bytes_sent "\$request"';
        client_body_temp_path $work/nginx/tmp/body;
        proxy_temp_path $work/nginx/tmp/proxy;
        fastcgi_temp_path $work/nginx/tmp/fastcgi;
        uwsgi_temp_path $work/nginx/tmp/uwsgi;
        scgi_temp_path $work/nginx/tmp/scgi;
        server {
                listen 127.0.0.1:$port;
                root $work/www;
                access_log $work/nginx/access.log b;
        }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >nginx/stderr 2>&1 &
ngx=$!
trap 'kill $ngx 2>/dev/null' EXIT
sleep 1

# v2 released twice beside one store: without and with a full image.
url=http://127.0.0.1:$port
t0=$(date +%s.%N)
"$cadu" -q make --store www/store v2.img www/rel/v2.caibx
t1=$(date +%s.%N)
cp www/rel/v2.caibx www/full/v2.caibx
"$cadu" -q manifest --compatible bench --version 2.0.0 --image "rootfs:rootfs:v2.img:www/rel/v2.caibx:$url/store" \
        www/rel/update.manifest
"$cadu" -q manifest --compatible bench --version 2.0.0 --image "rootfs:rootfs:v2.img:www/full/v2.caibx:$url/store" \
        --full rootfs:www/full/v2.img.zst --full-level "${FULL_LEVEL:-19}" www/full/update.manifest
t2=$(date +%s.%N)
for m in rel full; do
        "$cadu" -q sign --key pki/signer.key --cert pki/signer.pem www/$m/update.manifest
done

# device KIND MANIFEST: install v2 into slot B of a device whose slot A holds
# v1 (seeded) or zeros (blank); prints one table row.
device() {
        rm -rf dev && mkdir -p dev/state
        if [ "$1" = seeded ]; then cp v1.img dev/a.img; else head -c $((size << 20)) /dev/zero > dev/a.img; fi
        head -c $((size << 20)) /dev/zero > dev/b.img
        cp pki/ca.pem dev/ca.pem
        printf '%s\n' 'bootargs=console=ttyS0' 'cadu_boot_A=booti ${kernel_addr_r}' 'cadu_boot_B=booti ${kernel_addr_r}' \
                > dev/env
        cat > dev/cadu.conf <<EOF
[system]
compatible = bench
bootloader = file
bootloader-file = $work/dev/env
state-dir = $work/dev/state
cmdline = $work/dev/cmdline

[slot rootfs]
a = $work/dev/a.img
b = $work/dev/b.img

[trust]
ca = $work/dev/ca.pem
EOF
        sh "$top/tests/boot-sim.sh" --file "$work/dev/env" --cmdline "$work/dev/cmdline" >/dev/null 2>&1 ||
                { echo "boot-sim failed" >&2; exit 1; }
        : > nginx/access.log
        /usr/bin/time -f '%e %M' -o dev/time "$cadu" install -c dev/cadu.conf --allow-downgrade "$url/$2/update.manifest" \
                > dev/out 2>&1 || { cat dev/out >&2; exit 1; }
        sleep 0.3
        cmp -s dev/b.img v2.img || { echo "slot B is not v2" >&2; exit 1; }
        chose=$(sed -n 's/^plan rootfs: \([a-z ]*\):.*/\1/p' dev/out)
        awk -v kind="$1" -v m="$2" -v chose="${chose:-chunks}" -v t="$(cat dev/time)" '
                { n++; b += $2 } END { split(t, a, " ");
                printf "| %s | %s | %s | %.2f | %d | %s | %.0f |\n", kind, m == "full" ? "full offered" : "chunks only",
                        chose, b / 1e6, n, a[1], a[2] / 1024 }' nginx/access.log
}
echo "v2: $((size)) MiB, zstd -19 of the image (cadu manifest --full): $(stat -c %s www/full/v2.img.zst) bytes;" \
        "cadu make $(echo "$t1 - $t0" | bc) s, manifest with --full $(echo "$t2 - $t1" | bc) s"
echo
echo "| device | manifest | install used | MB downloaded | requests | wall s | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for kind in ${KINDS:-blank seeded}; do
        device $kind rel
        device $kind full
done
