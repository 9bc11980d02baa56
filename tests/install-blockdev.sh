#!/bin/sh
# install onto block-device slots (loop devices over the slot files): the
# slots are written in place, verified, switched and committed. Needs root
# and loop devices.
. "$top_srcdir/tests/lib.sh"
need losetup
need_root "loop devices"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
make_pki
dev_setup uboot
device_release "$T/v1" 1.0.0
device_release "$T/v2" 2.0.0
factory "$T/v1"
# Partitions larger than the images, as on a real device.
for s in a b ka kb; do truncate -s 8M "$D/$s.img"; done
CLEANUP=":"
for s in a b ka kb; do
        dev=$(losetup --find --show "$D/$s.img" 2>/dev/null) || prereq_skip "no loop devices here"
        CLEANUP="$CLEANUP; losetup -d $dev"
        sed -i "s|= $D/$s.img\$|= $dev|" "$CONF"
        eval "LOOP_$s=$dev"
done
grep -q "^b = /dev/loop" "$CONF" || fail "configuration not pointed at loop devices"

"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
cmp -n "$(stat -c %s "$T/v2/rootfs.img")" "$LOOP_b" "$T/v2/rootfs.img" || fail "slot B device does not hold v2"
cmp -n "$(stat -c %s "$T/v2/kernel.img")" "$LOOP_kb" "$T/v2/kernel.img" || fail "kernel B device does not hold v2"
cmp -n "$(stat -c %s "$T/v1/rootfs.img")" "$LOOP_a" "$T/v1/rootfs.img" || fail "slot A device was touched"
expect_env BOOT_ORDER "B A"
[ "$(sim)" = B ] || fail "trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"
[ "$(json_get 's["booted"]')" = B ] || fail "status does not say B"
# The running release is not installed again.
expect_fail 4 "refusing .*: .*(same|older)" "$CADU" install -c "$CONF" "$T/v2/update.manifest"
echo "block-device install ok"
