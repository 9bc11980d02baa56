# Helpers for the store operations tests (info, verify-store, gc, mirror).
# Source after tests/lib.sh. Everything that checks cadu's answers here is
# computed independently, in Python, from the index files and images.
need python3

# idx_ids INDEX: the chunk ids of a caibx, one per line, in index order.
# idx_sizes INDEX: "ID SIZE" per chunk, in index order.
idx_dump() {
        python3 - "$1" "$2" <<'PY'
import struct, sys
mode, path = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
n = (len(b) - 104) // 40
prev = 0
for i in range(n):
    off = 64 + 40 * i
    end = struct.unpack_from("<Q", b, off)[0]
    cid = b[off + 8:off + 40].hex()
    print(cid if mode == "ids" else "%s %d" % (cid, end - prev))
    prev = end
PY
}
idx_ids() { idx_dump ids "$1"; }
idx_sizes() { idx_dump sizes "$1"; }

# chunk_file STORE ID: the path of a chunk in a directory store.
chunk_file() { echo "$1/$(echo "$2" | cut -c1-4)/$2.cacnk"; }

# store_chunks STORE: the ids of the chunk files in a directory store, sorted.
store_chunks() {
        find "$1" -name '*.cacnk' -type f | sed 's|.*/||; s|\.cacnk$||' | sort
}

# releases DIR: two similar images DIR/v1.img and DIR/v2.img (no zero runs,
# so that every chunk of them is fetched from somewhere): v2 is v1 with three
# regions rewritten, one block repeated and a tail appended.
releases() {
        python3 - "$1" "${2:-3000000}" <<'PY'
import random, sys
d, size = sys.argv[1], int(sys.argv[2])
r = random.Random(8)
v1 = bytearray(r.randbytes(size))
# some repetition inside v1, for dedup within an index
v1[size // 2:size // 2 + 200000] = v1[100000:300000]
v2 = bytearray(v1)
for at in (size // 5, size // 2 + 300000, size - 400000):
    v2[at:at + 50000] = r.randbytes(50000)
v2 += v2[0:150000] + r.randbytes(120000)
open(d + "/v1.img", "wb").write(v1)
open(d + "/v2.img", "wb").write(v2)
PY
}

# released_store STORE IDXDIR: releases of 2 MB in $T, made into STORE, with
# their indexes IDXDIR/v1.caibx and IDXDIR/v2.caibx.
released_store() {
        releases "$T" 2000000
        "$CADU" -q make --store "$1" "$T/v1.img" "$2/v1.caibx"
        "$CADU" -q make --store "$1" "$T/v2.img" "$2/v2.caibx"
}

# json_get FILE EXPR: evaluate a Python expression on the JSON object j read
# from the last line of FILE that holds an "event":"done" object.
json_get() {
        python3 - "$1" "$2" <<'PY'
import json, sys
j = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        o = json.loads(line)
        if o.get("event") == "done":
            j = o
print(eval(sys.argv[2], {"j": j}))
PY
}
