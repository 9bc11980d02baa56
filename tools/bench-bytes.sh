#!/bin/sh
# bench-bytes.sh - every byte and request a seeded device downloads, cadu
# against its peers, on a real Debian update pair (tools/mkdebpair.sh).
#
# usage: tools/bench-bytes.sh [OPTIONS] [CADU]
#   CADU                 the cadu binary to measure (default ./build/cadu)
#   --baseline CADU      also measure this (older) cadu, per-chunk only
#   --chunk-sizes LIST   average chunk sizes for cadu, e.g. "16K 64K 128K"
#                        (each as AVG/4:AVG:AVG*4; default 64K)
#   --modes LIST         cadu modes among plain, packs, deltas, deltas+packs,
#                        each also as enc-MODE: the same encrypted
#                        (--encrypt-key, the device holding the key file;
#                        doc/encryption.md) (default: the plain modes that
#                        `cadu make --help` offers)
#   --peers LIST         peers among casync-default, casync-small, xdelta3,
#                        zstd, rdiff (default: all)
#   --no-peers           cadu only (the same as --peers "")
#   --timing             also time installs through tools/delayproxy.py
#                        (DELAY_MS each way, default 25; RATE_KBIT, default
#                        10000): cadu vs casync, alternating, RUNS times
#   --runs N             runs of each timed install (default 3; medians)
#   --timed LIST         the methods timed (default: every cadu and
#                        casync-default)
#   --extract            the device runs `cadu extract` (after fetching the
#                        manifest and its signature) instead of `cadu install`
#
# The pair comes from PAIR (default /var/tmp/cadu-bench: v1.img, v2.img and
# READY); when READY is missing tools/mkdebpair.sh builds it (root, network).
# IMAGE=sqfs measures the squashfs pair instead of the ext4 images. Work
# files (releases, device) go to WORK (default PAIR/work); releases are kept
# and remade only when the pair, the binary or the options change.
#
# Everything is served by a real nginx on 127.0.0.1, and counted from its
# access log ($bytes_sent: headers included; request line; Range header):
#   cadu      `cadu install` of a signed manifest (test PKI made here with
#             openssl) on a simulated A/B device whose running slot holds
#             v1: manifest, signature, index, chunks and whatever else the
#             device fetches (pack index, packs, deltas). Release: v1 then
#             v2 made into one store (so that v2 can have deltas against v1;
#             with packs, v2's index also compressed against v1's). Each
#             release is measured twice: on a device with no state (it
#             chunks its running slot and fetches the index alone), and as
#             LABEL+saved on one that installed v1 with cadu (v1's signed
#             manifest installed once into the slot that holds it, then
#             marked good: its state directory keeps v1's index, which is
#             the seed's index and the base of the compact index). Timed
#             installs use the second.
#   casync    casync extract seeded from v1, default chunks and 2K:8K:32K
#             (index fetched with curl, chunks through casync's HTTP store)
#   xdelta3   xdelta3 -e -9 -s v1 v2: one file, one request, then decoded
#   zstd      zstd -19 --long=31 --patch-from=v1: likewise
#   rdiff     rdiff delta against v1's signature, zstd -19: likewise
# Every method's output is compared with v2. Also reported: the device's
# peak RSS (/usr/bin/time -v, the whole process tree) and the release side's
# time (cadu make of v2; encode for the one-file peers) and peak RSS.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PAIR=${PAIR:-/var/tmp/cadu-bench}
WORK=${WORK:-$PAIR/work}
IMAGE=${IMAGE:-img}
DELAY_MS=${DELAY_MS:-25}
RATE_KBIT=${RATE_KBIT:-10000}

die() { echo "bench-bytes: $*" >&2; exit 1; }
usage() { sed -n '/^# usage/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cadu=$top/build/cadu baseline="" chunks=64K modes="" timing=0 runs=3 extract=0 timed=""
peers="casync-default casync-small xdelta3 zstd rdiff"
while [ $# -gt 0 ]; do
        case $1 in
        --baseline) baseline=$(realpath "$2"); shift ;;
        --chunk-sizes) chunks=$2; shift ;;
        --modes) modes=$2; shift ;;
        --no-peers) peers="" ;;
        --peers) peers=$2; shift ;;
        --timed) timed=$2; shift ;;
        --timing) timing=1 ;;
        --runs) runs=$2; shift ;;
        --extract) extract=1 ;;
        -h | --help) usage ;;
        -*) usage ;;
        *) cadu=$1 ;;
        esac
        shift
done
cadu=$(realpath "$cadu")
[ -x "$cadu" ] || die "no cadu binary at $cadu (build it: tools/build.sh)"
case $runs in '' | *[!0-9]* | 0) die "--runs needs a positive number" ;; esac
need="nginx curl python3 openssl cmp"
for p in $peers; do
        case $p in
        casync-default | casync-small) need="$need casync" ;;
        xdelta3 | zstd | rdiff) need="$need $p" ;;
        *) die "unknown peer $p (casync-default, casync-small, xdelta3, zstd, rdiff)" ;;
        esac
done
[ -z "$peers" ] || need="$need zstd"
for c in $need; do command -v "$c" >/dev/null 2>&1 || die "$c not found (see tools/deps.sh)"; done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

if [ ! -f "$PAIR/READY" ]; then
        echo "bench-bytes: no $PAIR/READY: building the pair with tools/mkdebpair.sh" >&2
        "$top/tools/mkdebpair.sh" "$PAIR"
fi
v1=$PAIR/v1.$IMAGE
v2=$PAIR/v2.$IMAGE
[ -f "$v1" ] && [ -f "$v2" ] || die "no $v1 or $v2"
v2size=$(stat -c %s "$v2")

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
www=$WORK/www-$IMAGE
res=$WORK/results-$IMAGE
dev=$WORK/device
mkdir -p "$www" "$res" "$dev"
pairid=$(stat -c %Y "$PAIR/READY")-$IMAGE

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-bytes.XXXXXX")
PIDS=""
cleanup() {
        for p in $PIDS; do kill "$p" 2>/dev/null || true; done
        for p in $PIDS; do wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# timed NAME CMD...: run CMD under /usr/bin/time -v; NAME's wall seconds,
# peak RSS (KiB, whole process tree) and CPU percent into $res/NAME.time.
timed() {
        name=$1
        shift
        s=$(date +%s.%N)
        /usr/bin/time -v -o "$T/time" "$@" >"$T/out" 2>&1 || {
                tail -20 "$T/out" >&2
                die "$name failed: $*"
        }
        e=$(date +%s.%N)
        rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$T/time")
        cpu=$(awk -F': ' '/Percent of CPU/ { sub("%", "", $2); print $2 }' "$T/time")
        echo "wall=$(echo "$e - $s" | bc) rss_kib=$rss cpu_pct=$cpu" >"$res/$name.time"
}
# field NAME KEY: a value timed() recorded.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$res/$1.time" 2>/dev/null; }

# fresh STAMP KEY: STAMP exists and holds KEY (the inputs did not change).
fresh() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# ---------------------------------------------------------------- releases
pki=$WORK/pki
if [ ! -f "$pki/signer.pem" ]; then
        mkdir -p "$pki"
        (
                cd "$pki"
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
                        -out ca.pem -subj "/CN=bench root" -days 3650 \
                        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout signer.key \
                        -out signer.csr -subj "/CN=bench release signer"
                printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >signer.ext
                openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 3650 \
                        -extfile signer.ext -out signer.pem
        ) >/dev/null 2>&1 || die "openssl could not make the test PKI"
fi
# The store key of the enc-* modes (kept with the PKI: releases stay valid).
[ -f "$pki/store.key" ] || (umask 077 && openssl rand -hex 32 >"$pki/store.key") || die "openssl rand failed"

# the cadu modes this binary offers
has_opt() { "$1" make --help 2>&1 | grep -q -- "$2"; }
if [ -z "$modes" ]; then
        modes=plain
        has_opt "$cadu" --packs && modes="$modes packs"
        has_opt "$cadu" --deltas && modes="$modes deltas"
        has_opt "$cadu" --packs && has_opt "$cadu" --deltas && modes="$modes deltas+packs"
fi
mode_flags() {
        case $1 in
        enc-*) echo "--encrypt-key $pki/store.key $(mode_flags "${1#enc-}")" ;;
        plain) echo "" ;;
        packs) echo "--packs" ;;
        deltas) echo "--deltas" ;;
        deltas+packs) echo "--deltas --packs" ;;
        *) die "unknown mode $1 (plain, packs, deltas, deltas+packs, enc-MODE)" ;;
        esac
}
# chunk_spec AVG: MIN:AVG:MAX for an average like 64K
chunk_spec() {
        n=${1%K}
        case $n in '' | *[!0-9]*) die "chunk size $1: give an average in K, e.g. 64K" ;; esac
        echo "$((n / 4))K:${n}K:$((n * 4))K"
}

# cadu_release LABEL BINARY CHUNK FLAGS: v1 then v2 into $www/LABEL/store,
# both manifests signed (v1's: the device installs it first, see provision);
# with packs, v2's index also compressed against v1's; the v2 make timed as
# LABEL.make.
cadu_release() {
        label=$1 bin=$2 spec=$(chunk_spec "$3") flags=$4
        d=$www/$label
        key="$(sha256sum <"$bin" | cut -c1-16) $spec $flags $pairid ${MAKE_OPTS:-} v1-manifest"
        fresh "$d/.done" "$key" && return 0
        echo "bench-bytes: release $label (make $spec $flags)" >&2
        rm -rf "$d"
        mkdir -p "$d"
        base=""
        # (not for an encrypted release: a compact index holds plaintext ids)
        case " $flags " in *" --encrypt-key "*) ;; *" --packs "*) has_opt "$bin" --index-base && base="--index-base $d/v1.caibx" ;; esac
        v1m=""
        [ "$bin" = "$cadu" ] && v1m="--manifest $d/v1.manifest --compatible bench-board --version 1.0 --image-name rootfs"
        # shellcheck disable=SC2086
        nice "$bin" -q make --store "$d/store" --chunk-size "$spec" $flags ${MAKE_OPTS:-} $v1m "$v1" "$d/v1.caibx" ||
                die "$label: make v1 failed"
        # shellcheck disable=SC2086
        timed "$label.make" nice "$bin" -q make --store "$d/store" --chunk-size "$spec" $flags $base ${MAKE_OPTS:-} \
                --manifest "$d/update.manifest" --compatible bench-board --version 2.0 --image-name rootfs \
                "$v2" "$d/rootfs.caibx"
        for m in update.manifest ${v1m:+v1.manifest}; do
                "$bin" -q sign --key "$pki/signer.key" --cert "$pki/signer.pem" "$d/$m" || die "$label: sign failed"
        done
        echo "$key" >"$d/.done"
}

casync_release() {
        label=$1 spec=$2
        d=$www/$label
        key="$spec $pairid"
        fresh "$d/.done" "$key" && return 0
        echo "bench-bytes: release $label (casync make${spec:+ --chunk-size=$spec})" >&2
        rm -rf "$d"
        mkdir -p "$d"
        timed "$label.make" nice casync make --store="$d/store" ${spec:+--chunk-size=$spec} "$d/v2.caibx" "$v2"
        echo "$key" >"$d/.done"
}

# peer_release LABEL FILE CMD...: CMD writes $www/peers/FILE (encode timed).
peer_release() {
        label=$1 file=$2
        shift 2
        key="$pairid $*"
        fresh "$www/peers/$file.done" "$key" && return 0
        echo "bench-bytes: release $label ($*)" >&2
        mkdir -p "$www/peers"
        rm -f "$www/peers/$file"
        timed "$label.make" nice sh -c "$*"
        [ -s "$www/peers/$file" ] || die "$label: no $file made"
        echo "$key" >"$www/peers/$file.done"
}

labels=""
for c in $chunks; do
        for m in $modes; do
                l="cadu-$c-$m"
                cadu_release "$l" "$cadu" "$c" "$(mode_flags "$m")"
                labels="$labels $l"
        done
done
if [ -n "$baseline" ]; then
        cadu_release cadu-baseline "$baseline" 64K ""
        labels="$labels cadu-baseline"
fi
p=$www/peers
for peer in $peers; do
        case $peer in
        casync-default) casync_release casync-default "" ;;
        casync-small) casync_release casync-2K:8K:32K 2K:8K:32K && peer=casync-2K:8K:32K ;;
        xdelta3) peer_release xdelta3 v2.xd3 "xdelta3 -e -9 -f -s '$v1' '$v2' '$p/v2.xd3'" ;;
        zstd) peer_release zstd v2.zst "zstd -q -19 --long=31 -T0 --patch-from='$v1' '$v2' -o '$p/v2.zst' -f" ;;
        rdiff) peer_release rdiff v2.rdiff.zst "rdiff signature '$v1' '$p/v1.sig' &&
                rdiff delta '$p/v1.sig' '$v2' '$p/v1-v2.rdiff' && zstd -q -19 -T0 '$p/v1-v2.rdiff' -o '$p/v2.rdiff.zst' -f &&
                rm '$p/v1.sig' '$p/v1-v2.rdiff'" ;;
        esac
        labels="$labels $peer"
done

# ------------------------------------------------------------------ server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/nginx/tmp"
log=$T/nginx/access.log
cat >"$T/nginx/nginx.conf" <<EOF
$([ "$(id -u)" -eq 0 ] && echo "user root;")
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
        log_format bench '\$connection \$status \$bytes_sent \$body_bytes_sent "\$request" "\$http_range"';
        access_log $log bench;
        client_body_temp_path $T/nginx/tmp/body;
        proxy_temp_path $T/nginx/tmp/proxy;
        fastcgi_temp_path $T/nginx/tmp/fastcgi;
        uwsgi_temp_path $T/nginx/tmp/uwsgi;
        scgi_temp_path $T/nginx/tmp/scgi;
        default_type application/octet-stream;
        sendfile on;
        keepalive_requests 100000;
        keepalive_timeout 60s;
        server {
                listen 127.0.0.1:$port;
                root $www;
        }
}
EOF
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" >"$T/nginx/stderr" 2>&1 &
PIDS="$PIDS $!"
n=100
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || die "nginx did not start: $(cat "$T/nginx/stderr" "$T/nginx/error.log")"
        sleep 0.1
done

# ------------------------------------------------------------------ device
# A simulated A/B device (bootloader environment in a file) running v1.
if ! cmp -s "$v1" "$dev/a.img"; then cp "$v1" "$dev/a.img"; fi
# device_reset [STATE] [LABEL]: booted from slot A, slot B empty; the state
# directory a copy of STATE (what cadu kept when it installed v1: the saved
# index of slot A), or none; for an enc-* LABEL, the store key file.
device_reset() {
        rm -rf "$dev/state" "$dev/out.img" "$dev/dl"
        [ -z "${1:-}" ] || cp -a "$1" "$dev/state"
        : >"$dev/b.img"
        echo "console=ttyS0 cadu.slot=A" >"$dev/cmdline"
        printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' >"$dev/bootenv"
        cat >"$dev/cadu.conf" <<EOF
[system]
compatible = bench-board
bootloader = file
bootloader-file = $dev/bootenv
state-dir = $dev/state
cmdline = $dev/cmdline

[slot rootfs]
a = $dev/a.img
b = $dev/b.img

[trust]
ca = $pki/ca.pem
EOF
        case ${2:-} in *-enc-*) printf '\n[store]\nkey-file = %s\n' "$pki/store.key" >>"$dev/cadu.conf" ;; esac
}

# $T/device.sh LABEL URL: install or extract LABEL's v2 from URL, as the
# device would (a script, for /usr/bin/time).
cat >"$T/device.sh" <<EOF
set -eu
label=\$1 url=\$2 dev='$dev' bin='$cadu'
[ "\$label" != cadu-baseline ] || bin='$baseline'
case \$label in
cadu-*)
        if [ $extract = 1 ]; then
                curl -sSf -o "\$dev/dl" "\$url/\$label/update.manifest"
                curl -sSf -o "\$dev/dl.sig" "\$url/\$label/update.manifest.sig"
                key=""
                case \$label in *-enc-*) key="--key-file $pki/store.key" ;; esac
                "\$bin" -q extract \$key --store "\$url/\$label/store" --seed "\$dev/a.img" \
                        "\$url/\$label/rootfs.caibx" "\$dev/out.img"
        else
                "\$bin" -q install -c "\$dev/cadu.conf" "\$url/\$label/update.manifest"
        fi ;;
casync-*)
        curl -sSf -o "\$dev/v2.caibx" "\$url/\$label/v2.caibx"
        casync --store="\$url/\$label/store" --seed="\$dev/a.img" extract "\$dev/v2.caibx" "\$dev/out.img" ;;
xdelta3)
        curl -sSf -o "\$dev/dl" "\$url/peers/v2.xd3"
        xdelta3 -d -f -s "\$dev/a.img" "\$dev/dl" "\$dev/out.img" ;;
zstd)
        curl -sSf -o "\$dev/dl" "\$url/peers/v2.zst"
        zstd -q -d --long=31 --patch-from="\$dev/a.img" "\$dev/dl" -o "\$dev/out.img" -f ;;
rdiff)
        curl -sSf -o "\$dev/dl" "\$url/peers/v2.rdiff.zst"
        zstd -q -d -f "\$dev/dl" -o "\$dev/dl.rdiff"
        rdiff patch "\$dev/a.img" "\$dev/dl.rdiff" "\$dev/out.img" ;;
esac
EOF

# provision LABEL: the device as cadu leaves it after installing LABEL's
# v1 (booted from slot B, v1's signed manifest installed into slot A, which
# holds v1 already: every chunk is found in place; then slot A booted and
# marked good): its state directory, kept as $WORK/state-IMAGE/LABEL.
provision() {
        label=$1
        s=$WORK/state-$IMAGE/$label
        fresh "$s.done" "$(cat "$www/$label/.done")" && return 0
        echo "bench-bytes: provision: $label (install v1)" >&2
        device_reset "" "$label"
        echo "console=ttyS0 cadu.slot=B" >"$dev/cmdline"
        "$cadu" -q install -c "$dev/cadu.conf" "http://127.0.0.1:$port/$label/v1.manifest" ||
                die "$label: installing v1 failed"
        echo "console=ttyS0 cadu.slot=A" >"$dev/cmdline"
        "$cadu" -q mark-good -c "$dev/cadu.conf" || die "$label: mark-good failed"
        cmp -s "$v1" "$dev/a.img" || die "$label: installing v1 changed slot A"
        [ -n "$(find "$dev/state" -name '*.A.caibx')" ] || die "$label: no saved index of slot A"
        mkdir -p "$WORK/state-$IMAGE"
        rm -rf "$s"
        cp -a "$dev/state" "$s"
        cat "$www/$label/.done" >"$s.done"
}
# the state to start LABEL's device runs from ("" for none)
state_of() {
        case $1 in *+saved) echo "$WORK/state-$IMAGE/${1%+saved}" ;; *) echo "" ;; esac
}

# run LABEL URL TAG: one device run, timed as LABEL.TAG; the image checked
# against v2; the access log lines kept as $res/LABEL.TAG.log. LABEL+saved:
# LABEL's release on a device that has v1's saved index (provision).
run() {
        label=$1 url=$2 tag=$3
        device_reset "$(state_of "$label")" "$label"
        : >"$log"
        timed "$label.$tag" nice sh "$T/device.sh" "${label%+saved}" "$url"
        out=$dev/out.img
        case $label in cadu-*) [ "$extract" = 1 ] || out=$dev/b.img ;; esac
        [ "$(stat -c %s "$out")" -ge "$v2size" ] || die "$label: the device's image is short"
        cmp -s -n "$v2size" "$out" "$v2" || die "$label: the device's image differs from v2"
        sleep 0.3 # nginx logs a request once its response is sent
        cp "$log" "$res/$label.$tag.log"
}

# summary LOG: "requests bytes body conns ranged errors"
summary() {
        awk '{ req++; bytes += $3; body += $4; conn[$1] = 1; if ($NF != "\"-\"") ranged++; if ($2 >= 400) err++ }
                END { c = 0; for (k in conn) c++; printf "%d %d %d %d %d %d\n", req, bytes, body, c, ranged, err }' "$1"
}
# breakdown LOG: bytes and requests by kind of file
breakdown() {
        awk '{ p = $6; k = "other"
                if (p ~ /\.cacnk$/) k = "chunks"; else if (p ~ /\.cadelta$/) k = "deltas"
                else if (p ~ /\.capack$/) k = "packs"; else if (p ~ /\.capx$/) k = "pack-index"
                else if (p ~ /\.caib[xz]$/) k = "index"; else if (p ~ /\.sig$/) k = "signature"
                else if (p ~ /manifest$/) k = "manifest"; else if (p ~ /\/peers\//) k = "delta-file"
                n[k]++; b[k] += $3 }
                END { for (k in n) printf "%s=%d/%d ", k, b[k], n[k]; print "" }' "$1"
}
mb() { echo "scale=2; $1 / 1000000" | bc | sed 's/^\./0./'; }
mib() { echo "scale=1; $1 / 1024" | bc; }

# ------------------------------------------------------------- bytes table
# cadu's releases on a device that has v1's saved index, as one that
# installed v1 with cadu has: the index comes compressed against it.
for l in $labels; do
        case $l in cadu-baseline) ;; cadu-*) [ -f "$www/$l/v1.manifest" ] && provision "$l" &&
                labels="$labels $l+saved" ;; esac
done
for l in $labels; do
        echo "bench-bytes: device: $l" >&2
        run "$l" "http://127.0.0.1:$port" bytes
done

ref=""
[ -f "$res/xdelta3.bytes.log" ] && ref=$(summary "$res/xdelta3.bytes.log" | cut -d' ' -f2)
echo
echo "pair: $(sed -n 2,3p "$PAIR/READY" | tr '\n' ' ')"
echo "image: $(basename "$v1") -> $(basename "$v2"), $v2size bytes; $("$cadu" --version | head -1)," \
        "device: cadu $([ "$extract" = 1 ] && echo extract || echo install)"
echo "bytes: all nginx sent (headers included), MB = 10^6 bytes; dev RSS: peak of the device's process tree (M = MiB)"
echo "LABEL+saved: on a device that installed v1 with cadu (v1's saved index: the index comes compressed against it)"
printf '\n%-30s %8s %9s %8s %6s %7s %8s %9s %8s\n' method MB "x xdelta3" requests ranged "dev RSS" "dev time" "make time" "make RSS"
for l in $labels; do
        set -- $(summary "$res/$l.bytes.log")
        ratio=-
        [ -n "$ref" ] && ratio=$(echo "scale=2; $2 / $ref" | bc | sed 's/^\./0./')
        mrss=$(field "${l%+saved}.make" rss_kib)
        printf '%-30s %8s %9s %8d %6d %5.1f M %6.1f s %7.1f s %6d M\n' "$l" "$(mb "$2")" "$ratio" "$1" "$5" \
                "$(mib "$(field "$l.bytes" rss_kib)")" "$(field "$l.bytes" wall)" \
                "$(field "${l%+saved}.make" wall)" "$((${mrss:-0} / 1024))"
done
echo
for l in $labels; do
        echo "$l: $(breakdown "$res/$l.bytes.log")(bytes/requests)"
done
echo
for l in $labels; do
        [ "$l" = "${l%+saved}" ] || continue
        echo "$l make: $(cat "$res/$l.make.time" 2>/dev/null)"
done

[ "$timing" = 1 ] || exit 0

# ------------------------------------------------------------ timing table
python3 "$top/tools/delayproxy.py" --upstream "127.0.0.1:$port" --delay-ms "$DELAY_MS" \
        --rate-kbit "$RATE_KBIT" --port-file "$T/dp.port" &
PIDS="$PIDS $!"
n=100
while [ ! -s "$T/dp.port" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
[ -s "$T/dp.port" ] || die "tools/delayproxy.py did not start"
slow="http://127.0.0.1:$(cat "$T/dp.port")"
tlabels=$timed
if [ -z "$tlabels" ]; then
        # cadu as a device that installed v1 with cadu (+saved) when measured so
        for l in $labels; do
                case " $labels " in *" $l+saved "*) continue ;; esac
                case $l in cadu-* | casync-default) tlabels="$tlabels $l" ;; esac
        done
fi
for l in $tlabels; do [ -d "$www/${l%+saved}" ] || die "--timed: no release $l"; done
for i in $(seq "$runs"); do
        for l in $tlabels; do
                echo "bench-bytes: timed run $i: $l" >&2
                run "$l" "$slow" "slow$i"
        done
done
echo
echo "install of v2 on a device running v1 through tools/delayproxy.py: +$DELAY_MS ms each way," \
        "$RATE_KBIT kbit/s; $runs runs alternating, median (min-max)"
printf '\n%-30s %20s %8s %8s %7s\n' method "wall time" requests MB "dev RSS"
for l in $tlabels; do
        ts=$(for i in $(seq "$runs"); do field "$l.slow$i" wall; done | sort -n)
        med=$(echo "$ts" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
        echo "$l $med" >>"$T/medians"
        set -- $(summary "$res/$l.slow1.log")
        printf '%-30s %6.1f s (%5.1f-%5.1f) %8d %8s %5.1f M\n' "$l" "$med" "$(echo "$ts" | head -1)" \
                "$(echo "$ts" | tail -1)" "$1" "$(mb "$2")" "$(mib "$(field "$l.slow1" rss_kib)")"
done
echo
awk '{ t[$1] = $2; order[NR] = $1 }
        END { for (i = 1; i <= NR; i++) { l = order[i]; if (l !~ /^cadu-/) continue
                line = ""
                for (j = 1; j <= NR; j++) { o = order[j]; if (o == l || o ~ /^cadu-[0-9]/ && o !~ /-plain(\+saved)?$/) continue
                        line = line sprintf(" %.2fx vs %s;", t[o] / t[l], o) }
                print "speedup of " l ":" line } }' "$T/medians"
