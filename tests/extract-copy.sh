#!/bin/sh
# Chunks from a seed file are copied by the kernel (copy_file_range) where
# seed and output share a file system; a seed on another file system (a
# tmpfs) falls back to read and write without a word, and so does a block
# device output. Every way gives the exact image, and a seed changed after
# its index was saved is still caught before anything is copied. Needs root
# (tmpfs and loop devices).
. "$top_srcdir/tests/lib.sh"
need python3 losetup
need_root "tmpfs mount, loop devices"
cd "$T"
python3 - <<'PY'
import random
r = random.Random(11)
v1 = bytearray(r.randbytes(6 << 20))
open("v1.img", "wb").write(v1)
# v2: v1 with a region replaced, a region inserted (offsets shift) and zeros.
v2 = v1[:1 << 20] + r.randbytes(300000) + v1[(1 << 20) + 300000:3 << 20] + r.randbytes(5000) + v1[3 << 20:] + bytes(1 << 20)
open("v2.img", "wb").write(v2)
PY
"$CADU" -q make --store st v1.img v1.caibx
"$CADU" -q make --store st v2.img v2.caibx
field() { # JSON FIELD: a field of the final event
        python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1][sys.argv[2]])' "$@"
}
seed_bytes() {
        python3 -c 'import json,sys; print(sum(x["bytes"] for x in [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["sources"] if x["source"]=="seed"))' "$1"
}

# 1. Same file system: the kernel copies (or shares) the seed's chunks.
"$CADU" --json extract --store st --seed v1.img:v1.caibx v2.caibx out.img > same.json
cmp out.img v2.img || fail "same file system: output differs"
sb=$(seed_bytes same.json)
[ "$sb" -gt $((4 << 20)) ] || fail "only $sb bytes came from the seed"
kern=$(($(field same.json bytes_copied) + $(field same.json bytes_cloned)))
[ "$kern" -gt $((sb / 2)) ] || fail "same file system: $kern of the seed's $sb bytes copied by the kernel"
rm out.img

# 2. The seed on a tmpfs: copy_file_range refuses (EXDEV), read and write
# take over; the result and the sources are the same.
mkdir fs
mount -t tmpfs -o size=64m cadu-test fs
CLEANUP="cd /; umount $T/fs"
cp v1.img v1.caibx fs/
"$CADU" --json extract --store st --seed fs/v1.img:fs/v1.caibx v2.caibx out.img > cross.json
cmp out.img v2.img || fail "seed on another file system: output differs"
[ "$(seed_bytes cross.json)" -eq "$sb" ] || fail "seed on another file system: $(seed_bytes cross.json) bytes from it, not $sb"
[ "$(field cross.json bytes_copied)" -eq 0 ] && [ "$(field cross.json bytes_cloned)" -eq 0 ] ||
        fail "seed on another file system: bytes counted as copied by the kernel"
rm out.img

# 3. A seed changed after its index was saved: its chunks are read and
# checked, not copied blind; the changed ones come from the store.
python3 -c '
f = open("fs/v1.img", "r+b")
for off in range(0, 6 << 20, 1 << 20):
    f.seek(off + 4096); f.write(b"changed")'
"$CADU" --json extract --store st --seed fs/v1.img:fs/v1.caibx v2.caibx out.img > changed.json
cmp out.img v2.img || fail "changed seed: output differs"
cp fs/v1.img v1c.img
"$CADU" --json extract --store st --seed v1c.img:v1.caibx v2.caibx out2.img > changed2.json
cmp out2.img v2.img || fail "changed seed on the same file system: output differs"
[ "$(seed_bytes changed2.json)" -lt "$sb" ] || fail "changed seed: its changed chunks were taken"
rm out.img out2.img

# 4. A block device output is read and written, never copied into.
truncate -s 8M dev.img
loop=$(losetup --find --show dev.img 2>/dev/null) || prereq_skip "no loop devices here"
CLEANUP="cd /; losetup -d $loop; umount $T/fs"
"$CADU" --json extract --store st --seed v1.img:v1.caibx v2.caibx "$loop" > dev.json
cmp -n "$(stat -c %s v2.img)" "$loop" v2.img || fail "block device: content differs"
[ "$(field dev.json bytes_copied)" -eq 0 ] && [ "$(field dev.json bytes_cloned)" -eq 0 ] ||
        fail "block device: bytes counted as copied by the kernel"
echo "copy paths ok"
