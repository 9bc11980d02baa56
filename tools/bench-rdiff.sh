#!/bin/sh
# bench-rdiff.sh - cadu rdiff against the real rdiff (librsync), side by side
# on a reproducible ext4 image pair: signature of v1, delta v1 -> v2, patch.
# Prints wall time (best of RUNS), throughput, the ratio cadu/rdiff, delta
# sizes and peak RSS, and checks the targets: signature and delta at least
# 2x rdiff's throughput, patch at least rdiff's, delta at most 1% larger.
#
# usage: tools/bench-rdiff.sh [WORKDIR [SIZE_MIB]]
#   WORKDIR   where the images and outputs live (default /tmp/cadu-bench);
#             WORKDIR/v1.img and v2.img are reused if present, else made by
#             tools/mkimages.sh WORKDIR SIZE_MIB (default 1024)
#   CADU=path the cadu binary (default ./cadu, else cadu on PATH); use an
#             optimised build without sanitizers
#   RUNS=n    runs per measurement (default 3; the best counts)
# Both tools write to standard output redirected to a file, so neither
# fsyncs; cadu's own temp+fsync+rename output is timed separately.
# Exit status 1 when a target is missed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-/tmp/cadu-bench}
SIZE=${2:-1024}
RUNS=${RUNS:-3}
if [ -z "${CADU:-}" ]; then
        if [ -x ./cadu ]; then CADU=./cadu; else CADU=$(command -v cadu || true); fi
fi
[ -n "$CADU" ] && [ -x "$CADU" ] || { echo "bench-rdiff: no cadu binary (set CADU=)" >&2; exit 2; }
CADU=$(cd "$(dirname "$CADU")" && pwd)/$(basename "$CADU")
command -v rdiff >/dev/null || { echo "bench-rdiff: rdiff not installed (apt-get install rdiff)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-rdiff: /usr/bin/time not installed (apt-get install time)" >&2; exit 2; }
if ldd "$CADU" 2>/dev/null | grep -q 'libasan\|libubsan'; then
        echo "bench-rdiff: warning: $CADU is built with sanitizers; numbers will be meaningless" >&2
fi

mkdir -p "$WORK"
if [ ! -f "$WORK/v1.img" ] || [ ! -f "$WORK/v2.img" ]; then
        echo "building the image pair in $WORK ($SIZE MiB each)..."
        sh "$here/mkimages.sh" "$WORK" "$SIZE"
fi
cd "$WORK"
v1size=$(stat -c %s v1.img)
v2size=$(stat -c %s v2.img)
cat v1.img v2.img >/dev/null # page cache

# measure NAME OUTFILE cmd...: best wall time and max RSS of RUNS runs,
# stdout to OUTFILE; sets best and rss.
measure() {
        name=$1 out=$2
        shift 2
        best= rss=0
        i=0
        while [ "$i" -lt "$RUNS" ]; do
                rm -f "$out"
                /usr/bin/time -f '%e %M' -o time.txt "$@" >"$out"
                read -r t m <time.txt
                if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
                [ "$m" -gt "$rss" ] && rss=$m
                i=$((i + 1))
        done
        printf '  %-34s %7.2f s %9.1f MiB/s %8d KiB RSS\n' "$name" "$best" \
                "$(awk "BEGIN{print ($bytes / 1048576) / ($best > 0 ? $best : 0.001)}")" "$rss"
}

ratio() { awk "BEGIN{printf \"%.2f\", $1 / ($2 > 0 ? $2 : 0.001)}"; }

echo "rdiff: $(rdiff --version | head -1); cadu: $("$CADU" --version)"
echo "v1.img $v1size bytes, v2.img $v2size bytes, $(nproc) CPUs, best of $RUNS runs"
fail=0

echo "signature of v1.img:"
bytes=$v1size
measure "rdiff signature" r.sig rdiff signature v1.img -
t_rs=$best rss_rs=$rss
measure "cadu rdiff signature" c.sig "$CADU" rdiff signature v1.img -
t_cs=$best rss_cs=$rss
measure "cadu rdiff signature -j1" c1.sig "$CADU" rdiff -j1 signature v1.img -
t_cs1=$best
cmp -s r.sig c.sig || { echo "  signatures DIFFER"; fail=1; }
cmp -s r.sig c1.sig || { echo "  signatures (-j1) DIFFER"; fail=1; }

echo "delta v1 -> v2 (rdiff's signature):"
bytes=$v2size
measure "rdiff delta" r.delta rdiff delta r.sig v2.img -
t_rd=$best rss_rd=$rss
measure "cadu rdiff delta" c.delta "$CADU" rdiff delta r.sig v2.img -
t_cd=$best rss_cd=$rss
measure "cadu rdiff delta -j1" c1.delta "$CADU" rdiff -j1 delta r.sig v2.img -
t_cd1=$best
cmp -s c.delta c1.delta || { echo "  cadu's delta depends on the thread count"; fail=1; }
size_r=$(stat -c %s r.delta) size_c=$(stat -c %s c.delta)

echo "patch v1 + rdiff's delta -> v2:"
bytes=$v2size
measure "rdiff patch" r.out rdiff patch v1.img r.delta -
t_rp=$best rss_rp=$rss
measure "cadu rdiff patch" c.out "$CADU" rdiff patch v1.img r.delta -
t_cp=$best rss_cp=$rss
cmp -s r.out v2.img || { echo "  rdiff's patch result is wrong"; fail=1; }
cmp -s c.out v2.img || { echo "  cadu's patch result is wrong"; fail=1; }
echo "  (cadu writes a regular file sparse: $(du -k c.out | cut -f1) KiB allocated, rdiff $(du -k r.out | cut -f1) KiB)"
measure "rdiff patch into a pipe" p.out sh -c 'rdiff patch v1.img r.delta - | cat >/dev/null'
t_rpp=$best
measure "cadu rdiff patch into a pipe" p.out sh -c '"$0" rdiff patch v1.img r.delta - | cat >/dev/null' "$CADU"
t_cpp=$best
# cross-checks: rdiff applies cadu's delta; cadu with --sha256 into a file
rdiff patch v1.img c.delta - >x.out
cmp -s x.out v2.img || { echo "  rdiff patch of cadu's delta is wrong"; fail=1; }
sum=$(sha256sum v2.img | cut -c1-64)
rm -f c.file
start=$(date +%s.%N)
"$CADU" rdiff patch --sha256 "$sum" v1.img r.delta c.file
end=$(date +%s.%N)
printf '  %-34s %7.2f s (sha256 checked, temp file, fsync, rename)\n' "cadu rdiff patch --sha256 to a file" \
        "$(awk "BEGIN{print $end - $start}")"
rm -f c.file x.out r.out c.out p.out

r_sig=$(ratio "$t_rs" "$t_cs") r_sig1=$(ratio "$t_rs" "$t_cs1")
r_delta=$(ratio "$t_rd" "$t_cd") r_delta1=$(ratio "$t_rd" "$t_cd1")
r_patch=$(ratio "$t_rp" "$t_cp") r_patchp=$(ratio "$t_rpp" "$t_cpp")
r_size=$(awk "BEGIN{printf \"%.4f\", $size_c / $size_r}")
echo "summary (throughput cadu / rdiff; target):"
check() { # NAME VALUE OP LIMIT
        if awk "BEGIN{exit !($2 $3 $4)}"; then v=met; else v=MISSED; fail=1; fi
        printf '  %-34s %8s  (%s %s) %s\n' "$1" "$2" "$3" "$4" "$v"
}
check "signature speed" "$r_sig" ">=" 2
printf '  %-34s %8s\n' "signature speed, one thread" "$r_sig1"
check "delta speed" "$r_delta" ">=" 2
printf '  %-34s %8s\n' "delta speed, one thread" "$r_delta1"
check "patch speed" "$r_patch" ">=" 1
printf '  %-34s %8s\n' "patch speed into a pipe (no holes)" "$r_patchp"
check "delta size (cadu $size_c / rdiff $size_r)" "$r_size" "<=" 1.01
echo "  peak RSS KiB: signature rdiff $rss_rs cadu $rss_cs; delta rdiff $rss_rd cadu $rss_cd; patch rdiff $rss_rp cadu $rss_cp"
rm -f time.txt
exit $fail
