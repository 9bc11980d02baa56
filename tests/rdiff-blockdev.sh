#!/bin/sh
# cadu rdiff with block devices, as the installer uses it: the signature of
# a device, a patch from one device (the active slot) into another (the
# inactive slot) in place with --sha256, and the output being the basis
# refused. Needs root and loop devices.
. "$top_srcdir/tests/lib.sh"
need losetup python3 rdiff
need_root "loop devices"
cd "$T"
python3 - <<'PY'
import random
r = random.Random(7)
v1 = r.randbytes(12 << 20) + bytes(4 << 20)
v2 = bytearray(v1)
v2[1 << 20:(1 << 20) + 300000] = r.randbytes(300000)
v2[5 << 20:5 << 20] = b"inserted" * 1000
v2 = bytes(v2[:16 << 20])
open("v1.img", "wb").write(v1)
open("v2.img", "wb").write(v2)
PY
cp v1.img a.img
truncate -s 16M b.img
a=$(losetup --find --show a.img 2>/dev/null) || prereq_skip "no loop devices here"
CLEANUP="losetup -d $a"
b=$(losetup --find --show b.img 2>/dev/null) || prereq_skip "no second loop device"
CLEANUP="losetup -d $a; losetup -d $b"

# rdiff takes a device's size as unknown (2048-byte blocks); so does cadu
"$CADU" rdiff signature "$a" dev.sig
rdiff signature "$a" ref.sig
cmp -s dev.sig ref.sig || fail "signature of the device differs from rdiff's"
"$CADU" rdiff -b 4096 signature "$a" dev4k.sig
rdiff -f -b 4096 signature v1.img ref.sig
cmp -s dev4k.sig ref.sig || fail "signature of the device with -b differs from rdiff's of the image"
"$CADU" rdiff delta dev4k.sig v2.img v1-v2.delta
sum=$(sha256sum v2.img | cut -c1-64)
"$CADU" rdiff patch --sha256 "$sum" "$a" v1-v2.delta "$b"
cmp -s "$b" v2.img || fail "the patched device differs from v2"
# rdiff's own delta, applied device to device
rdiff -f delta dev.sig v2.img ref.delta
dd if=/dev/zero of="$b" bs=1M count=16 status=none
"$CADU" rdiff patch "$a" ref.delta "$b"
cmp -s "$b" v2.img || fail "rdiff's delta applied to the device differs from v2"
# a wrong digest: the device has been written, the command says so
bad=$(echo "$sum" | tr 0-9a-f 1-9a-f0)
expect_fail 3 'the device was written' "$CADU" rdiff patch --sha256 "$bad" "$a" v1-v2.delta "$b"
# the output must not be the basis
expect_fail 1 'the output is the basis itself' "$CADU" rdiff patch "$a" v1-v2.delta "$a"
cmp -s "$a" v1.img || fail "the basis device was changed"
echo "block devices ok"
