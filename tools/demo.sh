#!/bin/sh
# Demo: two versions of a 64 MiB image, both made into one store; then the
# second is rebuilt from the store with the first as seed, and cadu reports
# where every byte came from.
set -eu
cadu=${1:-cadu}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cadu-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== 1. Two versions of a 64 MiB image (v2 changes ~3 MiB of v1)"
python3 - <<'PY'
import random
r = random.Random(2026)
v1 = bytearray()
for i in range(64):                       # 1 MiB each: text, binary or empty
    kind = i % 4
    if kind == 0:
        v1 += bytes(1 << 20)
    elif kind == 1:
        v1 += r.randbytes(1 << 20)
    else:
        words = [b"sensor ", b"valve ", b"pump ", b"reading ", b"ok\n", b"alarm\n"]
        blk = b"".join(r.choice(words) for _ in range(200000))
        v1 += blk[: 1 << 20]
v2 = bytearray(v1)
for off in (5 << 20, 23 << 20, 41 << 20):  # three changed regions
    v2[off:off + (1 << 20)] = r.randbytes(1 << 20)
open("v1.img", "wb").write(v1)
open("v2.img", "wb").write(v2)
PY
ls -l v1.img v2.img

echo
echo "== 2. Release side: cadu make both versions into one store"
"$cadu" make --store store v1.img v1.caibx
"$cadu" make --store store v2.img v2.caibx
echo "store: $(find store -name '*.cacnk' | wc -l) chunks, $(du -sh store | cut -f1)"

echo
echo "== 3. Device side: rebuild v2 with v1 (and its saved index) as seed"
"$cadu" extract --store store --seed v1.img:v1.caibx v2.caibx slot-b.img
cmp slot-b.img v2.img && echo "slot-b.img is identical to v2.img"

echo
echo "== 4. An interrupted update resumes: rebuild in place over v1"
cp v1.img slot-a.img
"$cadu" extract --in-place --store store v2.caibx slot-a.img
cmp slot-a.img v2.img && echo "slot-a.img is identical to v2.img"

echo
echo "== 5. Release: a signed manifest pins v2's index and image (test PKI made with openssl)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -subj "/CN=demo root" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout signer.key -out signer.csr \
        -subj "/CN=demo release signer" 2>/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > signer.ext
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 30 -extfile signer.ext \
        -out signer.pem 2>/dev/null
mkdir -p usb
cp v2.img usb/rootfs.img
"$cadu" -q make --store usb/store --manifest usb/update.manifest --compatible demo-board --version 2.0 \
        usb/rootfs.img usb/rootfs.caibx
rm usb/rootfs.img
"$cadu" sign --key signer.key --cert signer.pem usb/update.manifest
cat usb/update.manifest

echo
echo "== 6. Device: slot A runs v1; install the USB stick's update into slot B"
mkdir -p device
cp v1.img device/slot-a.img
: > device/slot-b.img
echo "console=ttyS0 cadu.slot=A" > device/cmdline
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' > device/bootenv
cat > device/cadu.conf <<EOF
[system]
compatible = demo-board
bootloader = file
bootloader-file = $work/device/bootenv
state-dir = $work/device/state
cmdline = $work/device/cmdline

[slot rootfs]
a = $work/device/slot-a.img
b = $work/device/slot-b.img

[trust]
ca = $work/ca.pem
EOF
"$cadu" install --config device/cadu.conf usb/update.manifest
cmp -n "$(stat -c %s v2.img)" device/slot-b.img v2.img && echo "slot B holds v2, verified"
echo "bootloader environment:"
sed 's/^/  /' device/bootenv

echo
echo "== 7. The trial boot of B comes up; the device commits it"
echo "console=ttyS0 cadu.slot=B" > device/cmdline
"$cadu" mark-good --config device/cadu.conf
"$cadu" status --config device/cadu.conf

echo
echo "Demo done."
