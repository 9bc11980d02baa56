#!/bin/sh
# Power loss with EFI Boot Guard: kill -9 the real cadu install at points
# spread over its run, then let Boot Guard's loader choose (tests/ebg-lib.sh,
# reading the environments with the real bg_printenv): the slot it boots
# always holds a whole release, and whenever B's content is incomplete its
# environment is in progress or not the latest. Half of the points start
# from a pending trial of v2 in B (B's environment the latest, INSTALLED)
# and install v3 over it: there only in_progress keeps Boot Guard off B.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/ebg-lib.sh"
make_pki
ebg_device
device_release "$T/v1" 1.0.0 8
device_release "$T/v2" 2.0.0 8 2
device_release "$T/v3" 3.0.0 8 3
ebg_factory "$T/v1"
cp -a "$D" "$T/snapshot"
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
cp -a "$D" "$T/snapshot2"
# restore N: the device of snapshot N (1: A runs v1; 2: and a trial of v2 is pending in B).
restore() {
        rm -rf "$D"
        if [ "$1" = 1 ]; then
                cp -a "$T/snapshot" "$D" && ebg_factory_env
        else
                cp -a "$T/snapshot2" "$D" && ebg_factory_env &&
                        bg_setenv -p "$(ebg_part B)" -r 3 -s 1 >/dev/null 2>&1
        fi
}
restore 1

start=$(date +%s%N)
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "an install takes ${dur_ms} ms"

mid=0 points=0 on_a=0 on_b=0 torn=0
for i in $(seq 1 40); do
        [ "$mid" -ge 15 ] && break
        snap=$((i % 2 + 1))
        restore $snap
        new=$T/v2 old=$T/snapshot/b.img
        [ $snap = 1 ] || new=$T/v3 old=$T/snapshot2/b.img
        delay_ms=$(( dur_ms * ((i * 7) % 30) / 30 + 1 ))
        "$CADU" -q install -c "$CONF" "$new/update.manifest" 2>/dev/null &
        pid=$!
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        if kill -9 $pid 2>/dev/null; then mid=$((mid + 1)); fi
        wait $pid 2>/dev/null || true
        points=$((points + 1))
        pb=$(ebg_part B 2>/dev/null) || { torn=$((torn + 1)); pb=; }
        if [ -n "$pb" ] && ! slot_has b "$new" && ! cmp -s "$D/b.img" "$old"; then
                # B half-written: Boot Guard must not pick it.
                [ "$(ebg_get "$pb" in_progress)" = 1 ] || [ "$(ebg_get "$pb" revision)" -lt 2 ] ||
                        fail "kill at ${delay_ms} ms (from $snap): B incomplete, its environment neither in progress nor older"
        fi
        ebg_boot
        case $BOOTED in
        A) slot_has a "$T/v1" || fail "kill at ${delay_ms} ms: Boot Guard booted A without a whole v1"
           on_a=$((on_a + 1)) ;;
        B) slot_has b "$T/v2" || slot_has b "$T/v3" ||
                fail "kill at ${delay_ms} ms (from $snap): Boot Guard booted B without a whole release"
           on_b=$((on_b + 1)) ;;
        *) fail "kill at ${delay_ms} ms: booted '$BOOTED'" ;;
        esac
done
echo "$points kill points, $mid during the install: Boot Guard booted A (v1) $on_a times, B (v2 or v3) $on_b times;" \
        "$torn times B's environment was torn (CRC) and Boot Guard used A's"
[ "$mid" -ge 15 ] || fail "only $mid kills landed during the install"
