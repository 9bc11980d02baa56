#!/bin/sh
# make on a sparse image: holes are taken as zeros without being read, and
# the index is byte for byte that of the same image with every byte
# written (holes at the start, the end, inside chunks, shorter and longer
# than a chunk, data between them down to one byte).
. "$top_srcdir/tests/lib.sh"
need python3
cd "$T"
python3 - <<'PY'
import random
r = random.Random(21)
size = 24 << 20
with open("sparse.img", "wb") as f:
    f.truncate(size)
    # (offset, length) of data; everything else is a hole.
    for off, n in [(1 << 20, 300000), ((1 << 20) + 409600, 1), (3 << 20, 5 << 20),
                   ((9 << 20) + 12345, 70000), (12 << 20, 4096), ((12 << 20) + 8192, 4096),
                   (16 << 20, 1 << 20), ((20 << 20) + 100, 200000)]:
        f.seek(off)
        f.write(r.randbytes(n))
PY
cp --sparse=never sparse.img dense.img
[ $(($(stat -c %b sparse.img) * 512)) -lt $((12 << 20)) ] || skip "this file system does not keep holes"
for cs in "" "--chunk-size 4K:8K:16K" "--chunk-size 64K:64K:64K"; do
        rm -rf st
        "$CADU" -q make --store st $cs dense.img dense.caibx
        "$CADU" -q make --store st $cs sparse.img sparse.caibx
        cmp dense.caibx sparse.caibx || fail "index of the sparse image differs ($cs)"
        "$CADU" -q extract --store st sparse.caibx out.img
        cmp out.img dense.img || fail "extract of the sparse image's index differs ($cs)"
        rm out.img
done
echo "sparse make ok"
