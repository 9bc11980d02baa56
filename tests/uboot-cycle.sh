#!/bin/sh
# The A/B cycle on real U-Boot: the real cadu installs into the slot U-Boot
# does not run and arms a trial; U-Boot (running the shipped boot script)
# boots the new slot once; cadu mark-good on it keeps it for every later
# power-on. See tests/uboot-lib.sh for the device.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/uboot-lib.sh"
make_pki
uboot_device
uboot_release "$T/v1" 1.0.0
uboot_release "$T/v2" 2.0.0
uboot_release "$T/v3" 3.0.0

factory "$T/v1"
expect_env BOOT_ORDER "A B"
expect_env BOOT_A_LEFT 3
expect_env cadu_slot A
[ "$(cat "$CMDLINE")" = "console=ttyAMA0 cadu.slot=A" ] || fail "bootargs: $(cat "$CMDLINE")"

# Install v2: into B, trial armed in the environment U-Boot reads.
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
slot_has b "$T/v2" || fail "slot B does not hold v2"
expect_env BOOT_ORDER "B A"
expect_env BOOT_B_LEFT 1
[ "$(json_get 's["pending_trial"]')" = B ] || fail "status shows no pending trial of B"

# The trial boot: U-Boot spends B's only attempt and boots B's kernel.
expect_boot B 2.0.0
grep -q '^cadu: booting slot B (attempts left: A 3, B 0)$' "$LOG.txt" || fail "boot script message: $(grep '^cadu' "$LOG.txt")"
expect_env BOOT_B_LEFT 0
[ "$(json_get 's["on_trial"]')" = True ] || fail "status does not show B on trial"
"$CADU" status -c "$CONF" | grep -q "slot B is on trial" || fail "status text lacks the trial note"
"$CADU" -q mark-good -c "$CONF"
expect_env BOOT_ORDER "B A"
expect_env BOOT_B_LEFT 3

# B stays: every power-on boots B again and mark-good restores its count.
for i in 1 2; do
        expect_boot B 2.0.0
        expect_env BOOT_B_LEFT 2
        "$CADU" -q mark-good -c "$CONF"
done
[ "$(json_get 's["slots"][1]["state"]')" = good ] || fail "B not recorded good"

# And the next release goes to A, the slot not running.
"$CADU" -q install -c "$CONF" "$T/v3/update.manifest"
slot_has a "$T/v3" || fail "slot A does not hold v3"
slot_has b "$T/v2" || fail "the running slot B was touched"
expect_boot A 3.0.0
"$CADU" -q mark-good -c "$CONF"
expect_boot A 3.0.0
echo "real U-Boot: $UBOOT_BOOTS power-ons"
