#!/bin/sh
# cadu verify-store on 1 thread vs 2 threads (target: >= 1.8x on 2 cores),
# with casync alongside: casync has no store verification, and its closest
# operation - extract, which reads, decompresses and checks every chunk an
# index needs - is timed on the same store as a reference.
#
# usage: tools/bench-verify-store.sh [CADU] [WORKDIR] [SIZE_MIB]
#
# Builds (or reuses) images of SIZE_MIB (default 1024) with tools/mkimages.sh
# when it exists, else with a Python generator (a quarter incompressible
# random blocks, the rest text-like data and repeats: about 2:1 with zstd, as
# a root file system), makes a store of them and times
# each run RUNS times (default 5), keeping the best. WORKDIR defaults to
# tmpfs (/dev/shm) so that the disk does not decide. Use a build without
# sanitizers.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cadu=$(realpath "${1:-$top/build/cadu}")
work=${2:-/dev/shm/cadu-bench-verify}
size=${3:-1024}
runs=${RUNS:-5}
[ -x "$cadu" ] || { echo "no cadu binary at $cadu (give its path)" >&2; exit 1; }
mkdir -p "$work"
cd "$work"

if [ ! -f v1.img ]; then
        if [ -x "$top/tools/mkimages.sh" ]; then
                "$top/tools/mkimages.sh" "$work" "$size"
        else
                python3 - "$size" <<'PY'
# Roughly what a root file system looks like to zstd: a quarter already
# compressed (random), most of it text-like, some repeats; about 2:1 overall.
import random, sys
size = int(sys.argv[1]) << 20
r = random.Random(1)
words = [bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz_/.0123456789") for _ in range(r.randrange(2, 12))) + b" "
         for _ in range(4096)]
text = b"".join(r.choice(words) + (b"\n" if r.random() < 0.1 else b"") for _ in range(1 << 20))
out = bytearray()
while len(out) < size:
    n = r.randrange(4096, 1 << 20)
    k = r.random()
    if k < 0.25:
        out += r.randbytes(n)
    elif k < 0.9:
        # a slice of text through a random byte permutation: unique, but
        # as compressible as the text
        i = r.randrange(0, len(text) - n - 1)
        perm = list(range(256))
        r.shuffle(perm)
        out += text[i:i + n].translate(bytes(perm))
    elif len(out) > n:
        i = r.randrange(0, len(out) - n)
        out += out[i:i + n]
open("v1.img", "wb").write(out[:size])
PY
        fi
fi
if [ ! -f v1.caibx ] || [ ! -d store ]; then
        rm -rf store
        "$cadu" -q make --store store v1.img v1.caibx
fi
chunks=$(find store -name '*.cacnk' | wc -l)
bytes=$(du -sb store | cut -f1)

# best NAME CMD...: the best wall time of $runs runs into NAME.
best() {
        name=$1
        shift
        b=""
        for i in $(seq "$runs"); do
                rm -f out.img
                s=$(date +%s.%N)
                "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
                e=$(date +%s.%N)
                t=$(echo "$e - $s" | bc)
                if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" -eq 1 ]; then b=$t; fi
        done
        eval "$name=$b"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
best t1 "$cadu" -q verify-store --threads 1 store
best t2 "$cadu" -q verify-store --threads 2 store
best ti1 "$cadu" -q verify-store --threads 1 store v1.caibx
best ti2 "$cadu" -q verify-store --threads 2 store v1.caibx
cs=""
if command -v casync >/dev/null; then
        best cs casync --store=store extract v1.caibx out.img
fi
rm -f out.img

load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "store: $chunks chunks, $(echo "scale=1; $bytes / 1048576" | bc) MiB compressed, from $(du -h --apparent-size v1.img | cut -f1) image; $(nproc) CPUs; best of $runs"
printf '%-44s %8.2f s\n' "cadu verify-store --threads 1 (whole store)" "$t1"
printf '%-44s %8.2f s   speedup %.2fx\n' "cadu verify-store --threads 2 (whole store)" "$t2" "$(echo "scale=3; $t1 / $t2" | bc)"
printf '%-44s %8.2f s\n' "cadu verify-store --threads 1 v1.caibx" "$ti1"
printf '%-44s %8.2f s   speedup %.2fx\n' "cadu verify-store --threads 2 v1.caibx" "$ti2" "$(echo "scale=3; $ti1 / $ti2" | bc)"
if [ -n "$cs" ]; then
        printf '%-44s %8.2f s   (cadu 2 threads: %.2fx faster)\n' "casync extract v1.caibx (reference)" "$cs" \
                "$(echo "scale=3; $cs / $t2" | bc)"
fi
verdict() {
        if [ "$(echo "$1 >= 1.8" | bc)" -eq 1 ]; then echo "met"; else echo "NOT met"; fi
}
echo "target >= 1.80x on 2 threads: whole store $(verdict "$(echo "scale=3; $t1 / $t2" | bc)"), with index $(verdict "$(echo "scale=3; $ti1 / $ti2" | bc)")"
# Other processes compete for the CPUs with the 2-thread runs only.
echo "load average before: $load0, after: $load1 (a busy machine understates the speedup)"
