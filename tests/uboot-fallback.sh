#!/bin/sh
# Fallback on real U-Boot: a trial boot whose kernel never comes up makes
# U-Boot fall back to the committed slot, and cadu status says so; with no
# attempts left in either slot, the boot script's documented recovery
# (doc/bootloader.md): reset the counts, save, run cadu_rescue when set,
# else reset and boot the first slot of BOOT_ORDER.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/uboot-lib.sh"
make_pki
uboot_device
uboot_release "$T/v1" 1.0.0
uboot_release "$T/v2" 2.0.0 panic
factory "$T/v1"

# 1. A trial that never comes up: B's kernel panics (resets the board).
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
power_on
[ "$BOOTED" = reset ] || fail "the panicking trial kernel booted: $BOOTED"
grep -q '^cadu-test: kernel 2.0.0 panics$' "$LOG.txt" || fail "U-Boot did not start B's kernel"
expect_env BOOT_B_LEFT 0
# The watchdog's reset: B has no attempts left, U-Boot falls back to A.
expect_boot A 1.0.0
grep -q '^cadu: booting slot A (attempts left: A 2, B 0)$' "$LOG.txt" || fail "fallback message: $(grep '^cadu' "$LOG.txt")"
"$CADU" status -c "$CONF" >"$T/status"
grep -q "the trial of slot B failed (no attempts left); slot A is running" "$T/status" || fail "status: $(cat "$T/status")"
[ "$(json_get 's["failed_trial"]')" = B ] || fail "status --json: no failed trial of B"
[ "$(json_get 's["booted"]')" = A ] || fail "status --json: booted is not A"
"$CADU" mark-good -c "$CONF" >"$T/mg"
grep -q "the failed trial of slot B is recorded as bad" "$T/mg" || fail "mark-good: $(cat "$T/mg")"
expect_env BOOT_ORDER "A B"
[ "$(json_get 's["slots"][1]["state"]')" = bad ] || fail "B not recorded bad"
expect_boot A 1.0.0

# 2. Both slots out of attempts (every kernel fails to load), with a rescue
# system: the script resets the counts to 3, saves, and runs cadu_rescue.
fw_setenv -c "$FWCFG" cadu_rescue 'echo cadu-test: rescue; poweroff'
fw_setenv -c "$FWCFG" BOOT_A_LEFT 1
fw_setenv -c "$FWCFG" BOOT_B_LEFT 1
truncate -s 0 "$D/ka.img" "$D/kb.img"
truncate -s 1M "$D/ka.img" "$D/kb.img"
for s in A B; do
        power_on
        [ "$BOOTED" = reset ] || fail "an empty slot booted: $BOOTED"
        grep -q "^cadu: cadu_boot_$s returned without booting; resetting$" "$LOG.txt" ||
                fail "slot $s: $(grep '^cadu' "$LOG.txt")"
done
expect_env BOOT_A_LEFT 0
expect_env BOOT_B_LEFT 0
power_on
[ "$BOOTED" = rescue ] || fail "no attempts left: booted '$BOOTED', not the rescue system"
grep -q '^cadu: no slot has boot attempts left; resetting them to 3$' "$LOG.txt" || fail "recovery message missing"
grep -q '^cadu: booting the rescue system$' "$LOG.txt" || fail "rescue message missing"
expect_env BOOT_A_LEFT 3
expect_env BOOT_B_LEFT 3
expect_env BOOT_ORDER "A B"
# cadu reads the recovered environment; the first slot of the order is next.
[ "$(json_get 's["next_boot"]')" = A ] || fail "status: next boot is not A"

# 3. The same without a rescue system: the board resets and the next
# power-on boots the first slot of BOOT_ORDER again.
fw_setenv -c "$FWCFG" cadu_rescue
fw_setenv -c "$FWCFG" BOOT_A_LEFT 0
fw_setenv -c "$FWCFG" BOOT_B_LEFT 0
cp "$T/v1/kernel.img" "$D/ka.img"
power_on
[ "$BOOTED" = reset ] || fail "no attempts and no rescue: '$BOOTED' instead of a reset"
grep -q '^cadu: no slot has boot attempts left; resetting them to 3$' "$LOG.txt" || fail "recovery message missing"
expect_boot A 1.0.0
expect_env BOOT_A_LEFT 2
echo "real U-Boot: $UBOOT_BOOTS power-ons"
