#!/bin/sh
# Seed and output on one reflink-capable file system (a loop-mounted XFS,
# else btrfs): the output shares the seed's blocks (FICLONERANGE) and is
# exact; writing to it afterwards leaves the seed alone. Needs root and
# mkfs.xfs or mkfs.btrfs.
. "$top_srcdir/tests/lib.sh"
need python3 filefrag
need_root "loop mounts"
PATH=$PATH:/sbin:/usr/sbin
if command -v mkfs.xfs >/dev/null 2>&1; then
        mkfs="mkfs.xfs -q -m reflink=1"
elif command -v mkfs.btrfs >/dev/null 2>&1; then
        mkfs="mkfs.btrfs -q"
else
        prereq_skip "neither mkfs.xfs nor mkfs.btrfs installed"
fi
cd "$T"
truncate -s 300M fs.img
$mkfs fs.img >/dev/null
mkdir mnt
mount -o loop fs.img mnt 2>/dev/null || prereq_skip "cannot loop-mount a file system here"
CLEANUP="cd /; umount $T/mnt"
cd mnt
python3 - <<'PY'
import random
r = random.Random(12)
v1 = r.randbytes(8 << 20)
open("v1.img", "wb").write(v1)
open("v2.img", "wb").write(v1[:2 << 20] + r.randbytes(100000) + v1[(2 << 20) + 100000:] + r.randbytes(777))
PY
"$CADU" -q make --store st v1.img v1.caibx
"$CADU" -q make --store st v2.img v2.caibx
sync
"$CADU" --json extract --store st --seed v1.img:v1.caibx v2.caibx out.img > s.json
cmp out.img v2.img || fail "reflinked output differs"
cloned=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["bytes_cloned"])' s.json)
[ "$cloned" -gt $((6 << 20)) ] || fail "only $cloned bytes shared with the seed"
# The file system agrees: the output's extents are shared (FIEMAP).
sync
shared=$(filefrag -v out.img | grep -c shared || true)
[ "$shared" -gt 0 ] || fail "no shared extent in the output: $(filefrag -v out.img | head -20)"
# Copy on write: changing the output leaves the seed as it was.
cp v1.img v1.orig
printf 'xxxxxxxx' | dd of=out.img bs=1 seek=$((4 << 20)) conv=notrunc status=none
cmp v1.img v1.orig || fail "writing the output changed the seed"
cd "$T"
echo "reflinks ok ($cloned bytes shared, $shared shared extents)"
