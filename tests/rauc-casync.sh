#!/bin/bash
# cadu as RAUC's casync, with Debian's real rauc (1.8): `rauc bundle` and
# `rauc convert` (which runs `casync make`) produce a casync bundle through
# cadu; the RAUC service, on a private D-Bus bus started here, installs it
# onto file-backed raw slots with a custom bootloader backend, running
# `casync extract` -- cadu -- seeded from the active slot. The store holds
# only the chunks the active slot lacks, so the install can only succeed
# when the seed is used; the slot ends byte-identical to the bundle's image.
# Needs root (RAUC loop-mounts the bundle).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/rauc-lib.sh"
set -o pipefail
if [ "${CI:-}" = true ]; then
        for c in rauc dbus-daemon dbus-send mksquashfs; do command -v "$c" >/dev/null || fail "$c not installed (CI)"; done
        [ "$(id -u)" -eq 0 ] || fail "CI runs as root"
fi
need rauc dbus-daemon dbus-send mksquashfs openssl python3
need_root "RAUC loop-mounts the bundle"
if [ ! -e /dev/loop-control ]; then
        [ "${CI:-}" = true ] && fail "no loop devices (CI)"
        skip "no loop devices"
fi

# `casync` on RAUC's PATH is cadu, started under that name; every call is
# logged so the test can see which verbs RAUC used.
mkdir bin
cat >bin/casync <<EOF
#!/bin/bash
echo "\$*" >>"$T/casync.calls"
exec -a casync "$CADU" "\$@"
EOF
chmod +x bin/casync
export PATH=$T/bin:$PATH

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 \
        -subj /CN=cadu-rauc-test 2>/dev/null
mkdir content
python3 - <<'PY'
import random
r = random.Random(7)
a = bytearray(r.randbytes(24 << 20))
open("v1.img", "wb").write(a)
for _ in range(6):                      # a few changed regions
    p = r.randrange(len(a) - 70000)
    a[p:p + 65536] = r.randbytes(65536)
open("content/rootfs.img", "wb").write(a)
PY
cat >content/manifest.raucm <<'EOF'
[update]
compatible=cadu-test
version=2.0

[bundle]
format=plain

[image.rootfs]
filename=rootfs.img
EOF
rauc bundle --cert cert.pem --key key.pem content plain.raucb >bundle.log 2>&1 || fail "rauc bundle: $(tail -3 bundle.log)"
rauc convert --cert cert.pem --key key.pem --keyring cert.pem plain.raucb casync.raucb >convert.log 2>&1 ||
        fail "rauc convert: $(tail -3 convert.log)"
grep -q '^make .*rootfs.img.caibx' casync.calls || fail "rauc convert did not run casync make: $(cat casync.calls)"
[ -d casync.castr ] || fail "no casync.castr store beside the converted bundle"

# Only what the active slot lacks stays in the store: chunk v1 the same way
# and delete its chunks from the bundle's store.
"$CADU" -q make --digest sha512-256 --store v1store v1.img v1.caibx
removed=0
for f in $(cd v1store && find . -name '*.cacnk'); do
        [ -f "casync.castr/$f" ] && rm "casync.castr/$f" && removed=$((removed + 1))
done
[ "$removed" -gt 100 ] || fail "only $removed chunks shared with v1: the seed test would prove nothing"

# The device, and the RAUC service on a private bus.
rauc_device "$T/cert.pem" v1.img 24M
rauc_service_start

: >casync.calls
timeout 120 rauc install casync.raucb >install.log 2>&1 || fail "rauc install: $(tail -3 install.log; tail -5 service.log)"
grep -q '^extract .*--seed .*a.img' casync.calls || fail "RAUC did not seed casync extract from slot A: $(cat casync.calls)"
cmp -s b.img content/rootfs.img || fail "slot B differs from the bundle's image"
cmp -s a.img v1.img || fail "the active slot was touched"
[ "$(cat boot/primary)" = B ] || fail "RAUC did not make B primary"
echo "ok: rauc bundle/convert/install through cadu as casync ($removed chunks came from the seed)"
