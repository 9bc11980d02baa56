#!/bin/sh
# Power loss: kill -9 an install at many points spread over its run (fetch,
# write, verify, environment stores). After each, the simulated boot (the
# shipped script on the real redundant environment) must start a slot that
# holds a complete, verified image, and a re-run of the install completes
# with an exact image.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
make_pki
dev_setup uboot
device_release "$T/v1" 1.0.0 24
device_release "$T/v2" 2.0.0 24 2       # another base: most chunks must be fetched
factory "$T/v1"
cp -a "$D" "$T/snapshot"
restore() { rm -rf "$D" && cp -a "$T/snapshot" "$D"; }

# How long an install takes here (the kill points are spread over it).
start=$(date +%s%N)
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
slot_has b "$T/v2" || fail "reference install failed"
echo "an install takes ${dur_ms} ms"

points=0 mid=0 late=0
# check_after_kill WHAT: after a kill, B is bootable only when whole, the
# device boots a whole release, and a re-run completes exactly.
check_after_kill() {
        # Killed after an image was written and read back (the late phases).
        if grep -q '^phase verified ' "$D/state/install.journal" 2>/dev/null &&
           ! grep -q '^done ' "$D/state/install.journal"; then
                late=$((late + 1))
        fi
        points=$((points + 1))
        # Whatever the point, once B's content changed, B may only be bootable
        # when it holds all of v2.
        if [ "$(envget BOOT_B_LEFT)" != 0 ] && ! cmp -s "$D/b.img" "$T/snapshot/b.img" && ! slot_has b "$T/v2"; then
                fail "kill $1: slot B bootable ($(envget BOOT_ORDER), $(envget BOOT_B_LEFT) left) but incomplete"
        fi
        # Power on: the booted slot must hold a whole release.
        booted=$(sim) || fail "kill $1: device does not boot"
        case $booted in
        A) slot_has a "$T/v1" || fail "kill $1: booted A without a whole v1" ;;
        B) slot_has b "$T/v2" || fail "kill $1: booted B without a whole v2"; return 0 ;;
        *) fail "kill $1: booted '$booted'" ;;
        esac
        "$CADU" -q mark-good -c "$CONF"
        # Still on A: installing again completes with an exact image.
        "$CADU" --json install -c "$CONF" "$T/v2/update.manifest" > "$T/rerun.json" ||
                fail "kill $1: re-run failed"
        slot_has b "$T/v2" || fail "kill $1: re-run did not give an exact v2"
        [ "$(sim)" = B ] || fail "kill $1: re-run did not arm the trial of B"
}
# Kill points spread over 0..90% of an install (in a shuffled order), until
# 20 have landed while the install ran.
for i in $(seq 1 60); do
        [ "$mid" -ge 20 ] && break
        restore
        delay_ms=$(( dur_ms * ((i * 7) % 30) / 33 + 1 ))
        "$CADU" -q install -c "$CONF" "$T/v2/update.manifest" 2>/dev/null &
        pid=$!
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        if kill -9 $pid 2>/dev/null; then mid=$((mid + 1)); fi
        wait $pid 2>/dev/null || true
        check_after_kill "at ${delay_ms} ms"
done
# Kills aimed by progress at the late phases: as soon as the journal says an
# image was verified (the other image, the seed index and the environment
# store are still to come), whatever this machine's speed.
for i in $(seq 1 10); do
        [ "$late" -ge 3 ] && break
        restore
        "$CADU" -q install -c "$CONF" "$T/v2/update.manifest" 2>/dev/null &
        pid=$!
        while kill -0 $pid 2>/dev/null && ! grep -q '^phase verified ' "$D/state/install.journal" 2>/dev/null; do :; done
        kill -9 $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        check_after_kill "after a verified image (attempt $i)"
done
echo "$points kill points, $mid of them while install was running, $late after an image was verified"
[ "$mid" -ge 20 ] || fail "only $mid kills landed during the install"
[ "$late" -ge 1 ] || fail "no kill landed after an image was verified: the late phases went untested"
