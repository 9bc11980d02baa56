#!/bin/sh
# Extract into a block device (a loop device): in place, resumable, and a
# too-small device is refused. Needs root and loop devices.
. "$top_srcdir/tests/lib.sh"
need losetup python3
need_root "loop devices"
cd "$T"
truncate -s 16M dev.img
loop=$(losetup --find --show dev.img 2>/dev/null) || prereq_skip "no loop devices here"
CLEANUP="losetup -d $loop"
python3 -c 'import random; open("v1.img","wb").write(random.Random(1).randbytes(12 << 20))'
python3 - <<'PY'
import random
v1 = open("v1.img", "rb").read()
open("v2.img", "wb").write(v1[:4 << 20] + random.Random(2).randbytes(2 << 20) + bytes(2 << 20) + v1[8 << 20:])
PY
"$CADU" -q make --store st v1.img v1.caibx
"$CADU" -q make --store st v2.img v2.caibx
"$CADU" -q extract --store st v1.caibx "$loop"
cmp -n $((12 << 20)) "$loop" v1.img || fail "v1 on the device differs"
# Update in place: the device's own content is reused.
"$CADU" --json extract --store st v2.caibx "$loop" > s.json
cmp -n $((12 << 20)) "$loop" v2.img || fail "v2 on the device differs"
python3 - s.json <<'PY'
import json, sys
s = {x["source"]: x for x in [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["sources"]}
assert s["in-place"]["bytes"] >= 7 << 20, s
assert s["store"]["bytes"] <= 3 << 20, s
PY
# A device smaller than the image is refused before anything is written.
truncate -s 4M small.img
small=$(losetup --find --show small.img)
CLEANUP="losetup -d $loop; losetup -d $small"
expect_fail 1 "output $small holds 4194304 bytes, the image needs" "$CADU" extract --store st v2.caibx "$small"
echo "block device ok"
