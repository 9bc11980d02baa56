#!/bin/sh
# Fallback with EFI Boot Guard (real libebgenv, bg_printenv, bg_setenv): a
# trial that never comes up is marked FAILED with revision 0 by Boot Guard
# at the next boot, which starts the committed slot; cadu status says so
# and mark-good records the failed slot bad. A corrupt environment: cadu
# refuses with one line and writes nothing, Boot Guard boots the other
# environment, and cadu works again once the environment is rewritten.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/ebg-lib.sh"
make_pki
ebg_device
device_release "$T/v1" 1.0.0 2
device_release "$T/v2" 2.0.0 2
ebg_factory "$T/v1"

# 1. The trial of B never comes up.
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
expect_ebg B 3 1 0
ebg_boot --fail
[ "$BOOTED" = B ] || fail "the trial boot started '$BOOTED'"
expect_ebg B 3 2 0
# The watchdog's reset: Boot Guard finds B still TESTING.
ebg_boot
[ "$BOOTED" = A ] || fail "Boot Guard did not fall back to A: '$BOOTED'"
expect_ebg B 0 3 0
expect_ebg A 2 0 0
"$CADU" status -c "$CONF" >"$T/status"
grep -q "the trial of slot B failed (no attempts left); slot A is running" "$T/status" || fail "status: $(cat "$T/status")"
grep -q "config partition #$(ebg_part B): revision 0, ustate 3 (FAILED)" "$T/status" || fail "status lacks Boot Guard's view"
[ "$(json_get 's["failed_trial"]')" = B ] || fail "status --json: no failed trial"
"$CADU" mark-good -c "$CONF" >"$T/mg"
grep -q "the failed trial of slot B is recorded as bad" "$T/mg" || fail "mark-good: $(cat "$T/mg")"
[ "$(json_get 's["slots"][1]["state"]')" = bad ] || fail "B not recorded bad"
expect_ebg A 2 0 0
expect_ebg B 0 3 0
ebg_boot
[ "$BOOTED" = A ] || fail "booted '$BOOTED' after the failed trial"

# Another install into B works from there (B's revision 0 is no obstacle).
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
expect_ebg B 3 1 0
ebg_boot
[ "$BOOTED" = B ] || fail "second trial started '$BOOTED'"
"$CADU" -q mark-good -c "$CONF"
expect_ebg B 3 0 0

# 2. mark-bad of the running slot B (A is good): B leaves, A boots.
"$CADU" -q mark-bad -c "$CONF"
expect_ebg B 0 3 1
ebg_boot
[ "$BOOTED" = A ] || fail "after mark-bad of B booted '$BOOTED'"
"$CADU" -q mark-good -c "$CONF"

# 3. A corrupt environment (B's BGENV.DAT with a flipped byte).
pb=$(ebg_part B)
if [ "$EBG_MODE" = tmpfs ]; then
        printf 'X' | dd of="$T/cfg$pb/BGENV.DAT" bs=1 seek=600 conv=notrunc status=none
else
        mcopy -i "${EBG_LOOP}p$((pb + 1))" -n ::BGENV.DAT "$T/env.dat" 2>/dev/null
        printf 'X' | dd of="$T/env.dat" bs=1 seek=600 conv=notrunc status=none
        mcopy -i "${EBG_LOOP}p$((pb + 1))" -o "$T/env.dat" ::BGENV.DAT 2>/dev/null
fi
digest() { cat "$D/a.img" "$D/b.img" "$D/ka.img" "$D/kb.img" | sha256sum | cut -d' ' -f1; }
before=$(digest)
expect_fail 3 "config partition #$pb holds no valid environment \(CRC\); write it again with bg_setenv -p $pb" \
        "$CADU" status -c "$CONF"
expect_fail '*' "config partition #$pb holds no valid environment" "$CADU" install -c "$CONF" "$T/v2/update.manifest"
[ "$(digest)" = "$before" ] || fail "a slot was written with a corrupt environment"
[ "$(ebg_get "$pb" revision)" = 0 ] || fail "bg_printenv reads the corrupt environment"
ebg_boot
[ "$BOOTED" = A ] || fail "Boot Guard did not boot the valid environment: '$BOOTED'"
# Rewritten (as the factory would), cadu works again.
bg_setenv -p "$pb" -r 1 -s 0 -i 0 -w 0 -k 'C:BOOT1:linux.efi' -a 'console=ttyS0 cadu.slot=B' >/dev/null 2>&1
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
ebg_boot
[ "$BOOTED" = B ] || fail "after repair the trial started '$BOOTED'"
echo "ebg-fallback: ok ($EBG_MODE)"
