#!/bin/sh
# The operator's path end to end: a release served by real nginx is
# mirrored with its signed manifest onto a "USB stick" directory, leaving
# out what the devices already run; nginx is stopped; a device running the
# old release installs the new one from the stick with no network at all.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
# The harness appends "; stop_pid PID" to CLEANUP: start with a no-op.
CLEANUP=${CLEANUP:-:}
need nginx

make_pki
dev_setup file
device_release "$T/v1" 1.0.0
device_release "$T/v2" 2.0.0
factory "$T/v1"

nginx_start "$T/v2"
"$CADU" -q mirror --from "$HTTP_URL/store" --to "$T/stick" \
        --except-index "$T/v1/rootfs.caibx" --except-index "$T/v1/kernel.caibx" \
        "$T/v2/update.manifest" || fail "mirror of the release failed"
for f in update.manifest update.manifest.sig rootfs.caibx kernel.caibx; do
        cmp "$T/v2/$f" "$T/stick/$f" || fail "stick/$f differs from the release"
done
# Only what v1 lacks went onto the stick.
n_stick=$(find "$T/stick/store" -name '*.cacnk' | wc -l)
n_rel=$(find "$T/v2/store" -name '*.cacnk' | wc -l)
[ "$n_stick" -gt 0 ] && [ "$n_stick" -lt "$n_rel" ] || fail "stick holds $n_stick of the release's $n_rel chunks"
"$CADU" -q verify --ca "$P/ca.pem" "$T/stick/update.manifest" || fail "the stick's manifest does not verify"

# No network from here on.
stop_pid "$NGINX_PID"
"$CADU" -q install -c "$CONF" "$T/stick/update.manifest" || fail "offline install from the stick failed"
slot_has b "$T/v2" || fail "slot B does not hold v2 after the offline install"
slot_has a "$T/v1" || fail "slot A was touched"
[ "$(sim)" = B ] || fail "the device did not boot the new slot"
exit 0
