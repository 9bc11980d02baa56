#!/bin/sh
# Encrypted vs plain stores, side by side in one run (doc/encryption.md):
#   make:    v2 into an empty store, plain vs --encrypt-key (target: within 15%)
#   extract: v2 seeded from v1 with its saved index, plain store vs encrypted
#            store and index with --key-file (target: within 10%)
#
# usage: tools/bench-crypt.sh [CADU] [WORKDIR] [SIZE_MIB]
#
# Images of SIZE_MIB (default 1024) come from tools/mkimages.sh (v2 is v1
# after an OS update). The variants take turns, RUNS times each (default
# 5); the table gives the median, the spread (min..max) and the ratio of the
# medians. WORKDIR defaults to tmpfs (/dev/shm) so that the disk does not
# decide. Use a build without sanitizers (tools/build.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cadu=$(realpath "${1:-$top/build/cadu}")
work=${2:-/dev/shm/cadu-bench-crypt}
size=${3:-1024}
runs=${RUNS:-5}
[ -x "$cadu" ] || { echo "no cadu binary at $cadu (give its path)" >&2; exit 1; }
mkdir -p "$work"
cd "$work"

if [ -f v1.img ] && [ "$(stat -c %s v1.img)" -ne $((size << 20)) ]; then
        rm -f v1.img v2.img
fi
[ -f v1.img ] || "$top/tools/mkimages.sh" "$work" "$size"
[ -f key ] || (umask 077; openssl rand -hex 32 > key)

# The stores to extract from, and v1's plaintext index (the saved index of
# the running slot on a device).
rm -rf plain enc p1.caibx p2.caibx e2.caibx
"$cadu" -q make --store plain v1.img p1.caibx
"$cadu" -q make --store plain v2.img p2.caibx
"$cadu" -q make --encrypt-key key --store enc v2.img e2.caibx

# time_s CMD...: wall seconds of one run
time_s() {
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t1=$(date +%s.%N)
        echo "$t1 - $t0" | bc -l
}
# stats FILE: "median min max" of the numbers in FILE
stats() {
        sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

: > make-plain.t; : > make-enc.t; : > extract-plain.t; : > extract-enc.t
for i in $(seq "$runs"); do
        rm -rf m
        time_s "$cadu" -q make --store m/store v2.img m/v2.caibx >> make-plain.t
        rm -rf m
        time_s "$cadu" -q make --encrypt-key key --store m/store v2.img m/v2.caibx >> make-enc.t
        rm -f out.img
        time_s "$cadu" -q extract --store plain --seed v1.img:p1.caibx p2.caibx out.img >> extract-plain.t
        cmp -s out.img v2.img || { echo "plain extract differs" >&2; exit 1; }
        rm -f out.img
        time_s "$cadu" -q extract --key-file key --store enc --seed v1.img:p1.caibx e2.caibx out.img >> extract-enc.t
        cmp -s out.img v2.img || { echo "encrypted extract differs" >&2; exit 1; }
        rm -f out.img
done
rm -rf m

new=$("$cadu" --json extract --key-file key --store enc --seed v1.img:p1.caibx e2.caibx out.img |
      python3 -c 'import json,sys; d=[json.loads(l) for l in sys.stdin][-1]; print(sum(s["chunks"] for s in d["sources"] if s["source"]=="store"))')
rm -f out.img
echo "cadu encrypted vs plain store, ${size} MiB images (tools/mkimages.sh), $runs runs each, taking turns"
echo "seeded extract fetched $new chunks from the store; nproc $(nproc)"
printf '%-28s %10s %18s %10s %18s %7s %7s\n' operation plain "(min..max)" encrypted "(min..max)" ratio target
for op in make extract; do
        set -- $(stats "$op-plain.t") $(stats "$op-enc.t")
        target=$([ "$op" = make ] && echo 1.15 || echo 1.10)
        ratio=$(echo "$4 / $1" | bc -l)
        ok=$(echo "$ratio <= $target" | bc -l)
        label=$([ "$op" = make ] && echo "make v2 (empty store)" || echo "extract v2 (seed v1:index)")
        printf '%-28s %9.3fs %18s %9.3fs %18s %6.3f %5s %s\n' "$label" "$1" "($2..$3)" "$4" "($5..$6)" "$ratio" \
                "$target" "$([ "$ok" = 1 ] && echo met || echo MISSED)"
done
