#!/bin/sh
# cadu vs casync, side by side on the same data, runs alternating.
#
# usage: tools/bench-casync.sh [--disk DIR | --tmpfs DIR | --xfs DIR]
#                              [--images DIR] [--runs N] [CADU]
#
#   --disk DIR   stores and outputs in DIR on an ordinary disk (default
#                /var/tmp/cadu-bench-disk): cadu pays for its fsync there,
#                as a device does
#   --tmpfs DIR  in DIR on tmpfs (default mode, /dev/shm/cadu-bench)
#   --xfs DIR    (root) in a loop-mounted XFS made in DIR: outputs share the
#                seed's blocks (reflinks)
#   --images DIR take v1.img and v2.img from DIR (e.g. /var/tmp/cadu-bench of
#                tools/mkdebpair.sh); otherwise tools/mkimages.sh makes a
#                1 GiB pair (SIZE_MIB=... for another size) in the work
#                directory
#   --runs N     alternating runs of each pair (default RUNS or 5)
#
# Both use sha256 and zstd level 3 (casync's defaults). Times: make v1 into
# a fresh store; extract v2 with no seed; extract v2 seeded from v1 (casync
# --seed; cadu --seed v1.img and --seed v1.img:v1.caibx). Runs alternate:
# casync then cadu, then the reverse order; `sync` before each run,
# so that neither pays for the other's writeback. Printed: the median wall
# time and the spread (min-max), the median ratio casync/cadu, and the peak
# RSS (/usr/bin/time, largest of the runs). cadu fsyncs its outputs, casync
# does not. Then the peak RSS of a 16 GiB sparse image extract (SPARSE=0:
# skip). Build without sanitizers first (tools/build.sh).
#
# The stores of earlier rounds are moved aside, not deleted, until the end:
# an ext4 without a journal (as some VMs' root file systems are) skips, and
# scans past, every inode freed in the last 60 to 300 seconds when it
# allocates one (fs/ext4/ialloc.c, recently_deleted()), so a make right
# after deleting the last round's 2,600 chunk files and directories paid
# about 1 ms per file it created. Leave a few minutes between two runs of
# this script on such a file system: its last step deletes them.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mode=tmpfs
work=""
images=""
runs=${RUNS:-5}
while [ $# -gt 0 ]; do
        case $1 in
        --disk | --tmpfs | --xfs) mode=${1#--}; work=$2; shift 2 ;;
        --images) images=$(realpath "$2"); shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        -*) sed -n '3,16p' "$0" >&2; exit 2 ;;
        *) break ;;
        esac
done
cadu=$(realpath "${1:-$top/build/cadu}")
case $mode in
tmpfs) work=${work:-/dev/shm/cadu-bench} ;;
disk) work=${work:-/var/tmp/cadu-bench-disk} ;;
xfs) [ -n "$work" ] || { echo "--xfs needs a directory" >&2; exit 2; } ;;
esac
command -v casync >/dev/null || { echo "casync is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (Debian package 'time')" >&2; exit 1; }
mkdir -p "$work"
cd "$work"
if [ "$mode" = xfs ]; then
        command -v mkfs.xfs >/dev/null || { echo "mkfs.xfs is not installed (xfsprogs)" >&2; exit 1; }
        [ "$(id -u)" -eq 0 ] || { echo "--xfs needs root (loop mount)" >&2; exit 1; }
        mountpoint -q mnt || {
                rm -f xfs.img
                truncate -s 8G xfs.img
                mkfs.xfs -q -m reflink=1 xfs.img
                mkdir -p mnt
                mount -o loop xfs.img mnt
        }
        trap 'cd / && umount "$work/mnt" && rm -f "$work/xfs.img"' EXIT
        cd mnt
fi
if [ -n "$images" ]; then
        # Seeds must be on the file system of the outputs to share blocks.
        if [ "$mode" = xfs ]; then
                [ -f v1.img ] || cp "$images/v1.img" "$images/v2.img" .
        else
                ln -sf "$images/v1.img" "$images/v2.img" .
        fi
fi
[ -f v1.img ] && [ -f v2.img ] || "$top/tools/mkimages.sh" . "${SIZE_MIB:-1024}"

# once NAME CMD...: one timed run; appends the wall time to NAME.t and
# keeps the largest RSS in NAME.m. Outputs are removed first.
once() {
        name=$1
        shift
        rm -rf out.img out.img.* cs-tmp ds-tmp
        # make: each into a fresh store of its own; the last one moved aside
        # (see the top) and deleted at the end.
        case $name in casync_make) st=cs ;; cadu_make) st=ds ;; *) st= ;; esac
        if [ -n "$st" ] && [ -e "$st" ]; then
                mkdir -p old-stores
                mv "$st" "$(mktemp -d old-stores/XXXXXX)/"
        fi
        sync
        /usr/bin/time -o time.txt -f '%e %M' "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
        cut -d' ' -f1 time.txt >> "$name.t"
        m=$(cut -d' ' -f2 time.txt)
        [ "$m" -gt "$(cat "$name.m" 2>/dev/null || echo 0)" ] && echo "$m" > "$name.m"
        return 0
}
# group NAME CMD [NAME CMD]...: $runs rounds, each running every CMD once,
# in order in odd rounds and in reverse order in even ones.
group() {
        : > group.txt
        while [ $# -gt 0 ]; do
                rm -f "$1.t" "$1.m"
                printf '%s\t%s\n' "$1" "$2" >> group.txt
                shift 2
        done
        for i in $(seq "$runs"); do
                if [ $((i % 2)) -eq 1 ]; then cat group.txt; else tac group.txt; fi > round.txt
                while IFS="$(printf '\t')" read -r name cmd; do
                        once "$name" sh -c "$cmd" </dev/null
                done < round.txt
        done
}
median() { sort -n "$1.t" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -n "$1.t" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
row() { # LABEL CASYNC CADU
        mc=$(median "$2")
        md=$(median "$3")
        printf '| %s | %.2f s (%s) | %.2f s (%s) | %.1fx | %d / %d MiB |\n' "$1" "$mc" "$(spread "$2")" "$md" \
                "$(spread "$3")" "$(echo "$mc / $md" | bc -l)" $(($(cat "$2.m") / 1024)) $(($(cat "$3.m") / 1024))
}

# (xfs: its file system goes at the end anyway)
old_stores=$PWD/old-stores
[ "$mode" = xfs ] || trap 'rm -rf "$old_stores"' EXIT
fs=$(stat -f -c %T .)
echo "image: $(du -hL --apparent-size v1.img | cut -f1) (v1 -> v2), work directory on $fs ($mode), $(nproc) CPUs," \
        "load $(cut -d' ' -f1-3 /proc/loadavg), median (min-max) of $runs alternating runs"
echo "cadu $("$cadu" --version 2>/dev/null | head -1), $(casync --version 2>/dev/null | head -1)"
# make: both into fresh stores each run (see once), so that both compress
# everything.
group casync_make "casync --store=cs --digest=sha256 make v1.casync.caibx v1.img" \
        cadu_make "'$cadu' -q make --store ds --digest sha256 -l 3 v1.img v1.caibx"
casync --store=cs --digest=sha256 make v2.casync.caibx v2.img >/dev/null
"$cadu" -q make --store ds v2.img v2.caibx
cmp v1.caibx v1.casync.caibx && cmp v2.caibx v2.casync.caibx || { echo "indexes differ from casync's" >&2; exit 1; }

group casync_x "casync --store=cs extract v2.caibx out.img" cadu_x "'$cadu' -q extract --store ds v2.caibx out.img"
group casync_seed "casync --store=cs --seed=v1.img extract v2.caibx out.img" \
        cadu_seed "'$cadu' -q extract --store ds --seed v1.img v2.caibx out.img" \
        cadu_seedidx "'$cadu' -q extract --store ds --seed v1.img:v1.caibx v2.caibx out.img"
"$cadu" -q extract --store ds --seed v1.img:v1.caibx v2.caibx out.img && cmp out.img v2.img

printf '\n| operation | casync | cadu | casync/cadu | peak RSS casync / cadu |\n| --- | --- | --- | --- | --- |\n'
row "make v1 (sha256, zstd 3)" casync_make cadu_make
row "extract v2, no seed" casync_x cadu_x
row "extract v2, seed v1" casync_seed cadu_seed
row "extract v2, seed v1 + saved index" casync_seed cadu_seedidx

# Memory on a 16 GiB sparse image: 4 MiB of data every GiB.
if [ "${SPARSE:-1}" = 1 ]; then
        rm -f sparse.img
        truncate -s 16G sparse.img
        for g in $(seq 0 15); do head -c 4M v2.img | dd of=sparse.img bs=1M seek=$((g * 1024)) conv=notrunc status=none; done
        "$cadu" -q make --store ds sparse.img sparse.caibx
        rm -f cadu_sparse.t cadu_sparse.m
        once cadu_sparse "$cadu" -q extract --store ds sparse.caibx out.img
        printf 'extract of a 16 GiB sparse image: %.2f s, peak RSS %d MiB\n' "$(cat cadu_sparse.t)" $(($(cat cadu_sparse.m) / 1024))
        rm -f sparse.img out.img
fi
