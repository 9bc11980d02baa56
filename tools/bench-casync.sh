#!/bin/sh
# cadu vs casync, side by side on the same data in one run.
#
# usage: tools/bench-casync.sh [CADU] [WORKDIR] [SIZE_MIB]
#
# Builds (or reuses) the ext4 image pair of tools/mkimages.sh (v1 -> v2, a
# realistic OS update), then times with the same digest (sha256) and zstd
# level (3, casync's default):
#   make v1 and v2 into a store; extract v2 with no seed from a local store;
#   extract v2 seeded from v1 (casync --seed, cadu --seed v1.img and
#   cadu --seed v1.img:v1.caibx); and a 16 GiB sparse image extract for peak
#   memory. Each timing is the best of RUNS (default 3); peak RSS from
#   /usr/bin/time. Outputs are fsync'ed by cadu, not by casync: by default
#   WORKDIR is on tmpfs (/dev/shm) so that neither pays for the disk.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cadu=$(realpath "${1:-$top/build/cadu}")
work=${2:-/dev/shm/cadu-bench}
size=${3:-1024}
runs=${RUNS:-3}
command -v casync >/dev/null || { echo "casync is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (Debian package 'time')" >&2; exit 1; }
mkdir -p "$work"
cd "$work"
[ -f v1.img ] && [ -f v2.img ] || "$top/tools/mkimages.sh" "$work" "$size"

# run NAME CMD...: best wall time of $runs runs and the peak RSS, into
# variables NAME_t and NAME_m; the output files are removed before each run.
run() {
        name=$1
        shift
        best=""
        mem=0
        for i in $(seq "$runs"); do
                rm -rf out.img out.img.* cs-tmp ds-tmp
                /usr/bin/time -o time.txt -f '%e %M' "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
                t=$(cut -d' ' -f1 time.txt)
                m=$(cut -d' ' -f2 time.txt)
                if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" -eq 1 ]; then best=$t; fi
                [ "$m" -gt "$mem" ] && mem=$m
        done
        eval "${name}_t=$best ${name}_m=$mem"
}
ratio() { echo "scale=2; $1 / $2" | bc; }
row() { # LABEL CASYNC_T CASYNC_M CADU_T CADU_M
        printf '%-34s %8.2f s %6d MiB   %8.2f s %6d MiB   %6.2fx\n' "$1" "$2" $(($3 / 1024)) "$4" $(($5 / 1024)) "$(ratio "$2" "$4")"
}

echo "image: $(du -h --apparent-size v1.img | cut -f1) ext4 (v1 -> v2), $(nproc) CPUs, best of $runs"
rm -rf cs ds
# make: both into fresh stores each run, so that both compress everything.
run casync_make sh -c 'rm -rf cs && casync --store=cs --digest=sha256 make v1.casync.caibx v1.img'
run cadu_make sh -c "rm -rf ds && '$cadu' -q make --store ds --digest sha256 -l 3 v1.img v1.caibx"
casync --store=cs --digest=sha256 make v2.casync.caibx v2.img >/dev/null
"$cadu" -q make --store ds v2.img v2.caibx
cmp v1.caibx v1.casync.caibx && cmp v2.caibx v2.casync.caibx || { echo "indexes differ from casync's" >&2; exit 1; }

run casync_x casync --store=cs extract v2.caibx out.img
run cadu_x "$cadu" -q extract --store ds v2.caibx out.img
run casync_seed casync --store=cs --seed=v1.img extract v2.caibx out.img
run cadu_seed "$cadu" -q extract --store ds --seed v1.img v2.caibx out.img
run cadu_seedidx "$cadu" -q extract --store ds --seed v1.img:v1.caibx v2.caibx out.img
"$cadu" -q extract --store ds --seed v1.img:v1.caibx v2.caibx out.img && cmp out.img v2.img

printf '\n%-34s %19s   %19s   %7s\n' "" "casync" "cadu" "speedup"
row "make v1 (sha256, zstd 3)" "$casync_make_t" "$casync_make_m" "$cadu_make_t" "$cadu_make_m"
row "extract v2, no seed" "$casync_x_t" "$casync_x_m" "$cadu_x_t" "$cadu_x_m"
row "extract v2, seed v1" "$casync_seed_t" "$casync_seed_m" "$cadu_seed_t" "$cadu_seed_m"
row "extract v2, seed v1 + saved index" "$casync_seed_t" "$casync_seed_m" "$cadu_seedidx_t" "$cadu_seedidx_m"

# Memory on a 16 GiB sparse image: 4 MiB of data every GiB.
if [ "${SPARSE:-1}" = 1 ]; then
        rm -f sparse.img
        truncate -s 16G sparse.img
        for g in $(seq 0 15); do head -c 4M v2.img | dd of=sparse.img bs=1M seek=$((g * 1024)) conv=notrunc status=none; done
        "$cadu" -q make --store ds sparse.img sparse.caibx
        runs=1 run cadu_sparse "$cadu" -q extract --store ds sparse.caibx out.img
        printf '%-34s %19s   %8.2f s %6d MiB\n' "extract 16 GiB sparse image" "" "$cadu_sparse_t" $((cadu_sparse_m / 1024))
        rm -f sparse.img out.img
fi
