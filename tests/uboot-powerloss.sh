#!/bin/sh
# Power loss on real U-Boot: kill -9 the real cadu install at points spread
# over its run (fetch, write, verify, environment stores), then power the
# device on in U-Boot: the slot whose kernel comes up always holds a whole
# release, and the kernel U-Boot started is that release's.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/uboot-lib.sh"
make_pki
uboot_device
uboot_release "$T/v1" 1.0.0
uboot_release "$T/v2" 2.0.0
factory "$T/v1"
cp -a "$D" "$T/snapshot"
restore() { rm -rf "$D" && cp -a "$T/snapshot" "$D"; }

start=$(date +%s%N)
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "an install takes ${dur_ms} ms"

mid=0 points=0 on_a=0 on_b=0
for i in $(seq 1 30); do
        [ "$mid" -ge 10 ] && break
        restore
        delay_ms=$(( dur_ms * ((i * 7) % 30) / 30 + 1 ))
        "$CADU" -q install -c "$CONF" "$T/v2/update.manifest" 2>/dev/null &
        pid=$!
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        if kill -9 $pid 2>/dev/null; then mid=$((mid + 1)); fi
        wait $pid 2>/dev/null || true
        points=$((points + 1))
        power_on
        case $BOOTED in
        A) slot_has a "$T/v1" && [ "$BOOTED_VERSION" = 1.0.0 ] ||
                fail "kill at ${delay_ms} ms: U-Boot booted A ($BOOTED_VERSION) without a whole v1"
           on_a=$((on_a + 1)) ;;
        B) slot_has b "$T/v2" && [ "$BOOTED_VERSION" = 2.0.0 ] ||
                fail "kill at ${delay_ms} ms: U-Boot booted B ($BOOTED_VERSION) without a whole v2"
           on_b=$((on_b + 1)) ;;
        *) fail "kill at ${delay_ms} ms: the device did not boot ($BOOTED): $(grep '^cadu' "$LOG.txt")" ;;
        esac
done
echo "$points kill points, $mid of them while the install ran; U-Boot then booted A (v1) $on_a times, B (v2) $on_b times"
[ "$mid" -ge 10 ] || fail "only $mid kills landed during the install"
