#!/bin/sh
# bench-deltas.sh - what cadu make --deltas saves and costs on an image pair:
# for each average chunk size, v1 is made into a store (and sketched, as a
# store made with --deltas would be), then v2 is made into a copy of that
# store plainly and into the store with --deltas. Prints the bytes of v2's
# new chunks as chunk files, the same with deltas (the smallest entry of
# each new chunk: its delta or its chunk file), the share of new chunks
# with a delta, and both makes' wall and CPU time; with xdelta3 installed,
# also the size of `xdelta3 -9` (one delta for the whole pair) to compare.
# Every delta is decoded from its bases and verified when DELTA_TOOL names
# the test tool (tests/delta-tool of a build).
#
# usage: tools/bench-deltas.sh [WORKDIR [AVG...]]
#   WORKDIR   holds v1.img and v2.img (default /var/tmp/cadu-bench, the
#             Debian pair tools/mkdebpair.sh builds; or make a synthetic
#             pair with tools/mkimages.sh WORKDIR)
#   AVG       average chunk sizes in bytes (default 65536 131072); min is
#             AVG/4, max AVG*4
#   CADU=path the cadu binary (default ./cadu); use an optimised build
#   LEVEL=n   zstd level of the chunk files (default 3, make's default)
#   OUT=dir   scratch directory for the stores (default WORKDIR/bench-deltas)
set -eu

WORK=${1:-/var/tmp/cadu-bench}
[ $# -gt 0 ] && shift
SIZES=${*:-65536 131072}
LEVEL=${LEVEL:-3}
CADU=${CADU:-./cadu}
OUT=${OUT:-$WORK/bench-deltas}
[ -x "$CADU" ] || { echo "bench-deltas: no cadu binary at $CADU (set CADU=)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-deltas: /usr/bin/time not installed (apt-get install time)" >&2; exit 2; }
for v in v1 v2; do
        [ -f "$WORK/$v.img" ] || { echo "bench-deltas: $WORK/$v.img missing" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "bench-deltas: python3 needed" >&2; exit 2; }
mkdir -p "$OUT"

# field JSON-LINES-FILE EVENT KEY
field() {
        python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == sys.argv[2]: print(e[sys.argv[3]])' "$1" "$2" "$3"
}
# timed NAME cmd...: run, keep --json output in OUT/NAME.json, times in NAME.time
timed() {
        name=$1
        shift
        /usr/bin/time -f '%e %U %S' -o "$OUT/$name.time" "$@" > "$OUT/$name.json"
}
secs() { cut -d' ' -f1 "$OUT/$1.time"; }
cpu() { awk '{ printf "%.2f", $2 + $3 }' "$OUT/$1.time"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

xd=""
if command -v xdelta3 >/dev/null; then
        xdelta3 -9 -e -f -s "$WORK/v1.img" "$WORK/v2.img" "$OUT/v2.xd3"
        xd=$(stat -c %s "$OUT/v2.xd3")
fi

printf '%-8s %7s %9s %9s %6s %8s %10s %8s %10s %6s\n' avg new files_MB deltas_MB with plain_s plain_cpu deltas_s deltas_cpu ratio
for avg in $SIZES; do
        c=$((avg / 4)):$avg:$((avg * 4))
        s=$OUT/store-$avg
        rm -rf "$s" "$s.plain"
        "$CADU" -q make -l "$LEVEL" -c "$c" -s "$s" "$WORK/v1.img" "$OUT/v1-$avg.caibx"
        "$CADU" -q make -l "$LEVEL" -c "$c" -s "$s" --deltas "$WORK/v1.img" "$OUT/v1-$avg.caibx"
        cp -a "$s" "$s.plain"
        timed plain-$avg "$CADU" --json make -l "$LEVEL" -c "$c" -s "$s.plain" "$WORK/v2.img" "$OUT/v2-$avg.caibx"
        timed deltas-$avg "$CADU" --json make -l "$LEVEL" -c "$c" -s "$s" --deltas "$WORK/v2.img" "$OUT/v2-$avg.caibx"
        new=$(field "$OUT/deltas-$avg.json" deltas new_chunks)
        with=$(field "$OUT/deltas-$avg.json" deltas with_delta)
        files=$(field "$OUT/deltas-$avg.json" deltas chunk_file_bytes)
        best=$(field "$OUT/deltas-$avg.json" deltas best_bytes)
        if [ -n "${DELTA_TOOL:-}" ]; then
                "$DELTA_TOOL" verify "$s" | tail -n 1 | grep -qx "$with deltas verified" ||
                        { echo "bench-deltas: deltas of $s do not all verify" >&2; exit 1; }
        fi
        printf '%-8s %7s %9s %9s %5s%% %8s %10s %8s %10s %5sx\n' "$avg" "$new" "$(mb "$files")" "$(mb "$best")" \
                "$(awk -v a="$with" -v b="$new" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }')" \
                "$(secs plain-$avg)" "$(cpu plain-$avg)" "$(secs deltas-$avg)" "$(cpu deltas-$avg)" \
                "$(awk -v a="$(secs deltas-$avg)" -v b="$(secs plain-$avg)" 'BEGIN { printf "%.1f", a / b }')"
        rm -rf "$s.plain"
done
[ -z "$xd" ] || echo "xdelta3 -9 of the whole pair: $(mb "$xd") MB"
