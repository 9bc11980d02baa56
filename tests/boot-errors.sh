#!/bin/sh
# Bad input for the slot commands: a corrupt or unreadable environment, a
# broken fw_env.config, an environment too small for the change, a kernel
# command line naming no slot, invalid variables, a held lock. Each gives one
# clear message and a known exit code, and no slot is switched (the stored
# environment is byte for byte what it was).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/boot-lib.sh"

snapshot() { cat "$D/env0" "$D/env1" | sha256sum; }

dev_setup uboot
[ "$(sim)" = A ] || fail "first boot"
"$CADU" -q mark-good -c "$CONF"

# One corrupt copy: the redundant copy still carries the environment.
cp "$D/env0" "$T/env0.good"
cp "$D/env1" "$T/env1.good"
# The copy written last is the one with the higher flags byte; break it.
newer=env0
[ "$(od -An -tu1 -j4 -N1 "$D/env1" | tr -d ' ')" -gt "$(od -An -tu1 -j4 -N1 "$D/env0" | tr -d ' ')" ] && newer=env1
printf 'garbage' | dd of="$D/$newer" bs=1 seek=100 conv=notrunc 2>/dev/null
"$CADU" status -c "$CONF" >/dev/null || fail "status fails with one corrupt copy"
fw_printenv -c "$FWCFG" >/dev/null 2>&1 || fail "fw_printenv fails with one corrupt copy"
# A store then goes to the corrupt copy's place and both are valid again.
"$BOOT_TOOL" trial "$CONF" B 2.0 || fail "trial with one corrupt copy"
expect_env BOOT_ORDER "B A"
cp "$T/env0.good" "$D/env0"
cp "$T/env1.good" "$D/env1"

# Both copies corrupt: clear message, exit 3, nothing written.
printf 'garbage' | dd of="$D/env0" bs=1 seek=100 conv=notrunc 2>/dev/null
printf 'garbage' | dd of="$D/env1" bs=1 seek=100 conv=notrunc 2>/dev/null
s0=$(snapshot)
for cmd in status mark-good rollback "mark-bad B"; do
        # shellcheck disable=SC2086
        expect_fail 3 "^cadu: (reading the bootloader environment: )?U-Boot environment of $FWCFG: no copy has a valid CRC \(corrupt or never written\)$" \
                "$CADU" $cmd -c "$CONF"
done
# The library itself (boot-tool): the same detail, exit 1 (not a crash).
expect_fail 1 "^boot-tool: trial: Bad message: U-Boot environment of $FWCFG: no copy has a valid CRC \(corrupt or never written\)$" \
        "$BOOT_TOOL" trial "$CONF" B 2.0
[ "$(wc -l <"$T/.err")" -eq 1 ] || fail "more than one error line: $(cat "$T/.err")"
[ "$(snapshot)" = "$s0" ] || fail "a corrupt environment was written"
cp "$T/env0.good" "$D/env0"
cp "$T/env1.good" "$D/env1"

# fw_env.config missing, or naming a device that does not exist.
mv "$FWCFG" "$T/fwcfg"
expect_fail 1 "^cadu: reading the bootloader environment: $FWCFG: No such file or directory$" "$CADU" status -c "$CONF"
printf '%s 0x0 0x4000\n%s 0x0 0x4000\n' "$D/env0" "$D/nonexistent" >"$FWCFG"
expect_fail 1 "^cadu: reading the bootloader environment: $FWCFG: invalid, or an environment device it names is missing" \
        "$CADU" mark-good -c "$CONF"
mv "$T/fwcfg" "$FWCFG"
"$CADU" status -c "$CONF" >/dev/null || fail "status after restoring fw_env.config"

# Unreadable environment device (not for root, who reads anything).
if [ "$(id -u)" != 0 ]; then
        chmod 000 "$D/env0"
        expect_fail '*' "^cadu: reading the bootloader environment: " "$CADU" status -c "$CONF"
        chmod 644 "$D/env0"
fi

# An environment too small for the change: -ENOSPC, the old one stays.
dev_setup uboot
printf '%s 0x0 0x80\n%s 0x0 0x80\n' "$D/env0" "$D/env1" >"$FWCFG"
rm -f "$D/env0" "$D/env1"
$MKENV "$FWCFG" "pad=$(printf '%095d' 0)" 'BOOT_ORDER=A B'
echo "cadu.slot=A" >"$CMDLINE"
s0=$(snapshot)
expect_fail 1 "^cadu: writing the bootloader environment \(nothing switched\): U-Boot environment of $FWCFG: the variables do not fit its size$" \
        "$CADU" mark-good -c "$CONF"
[ "$(snapshot)" = "$s0" ] || fail "a failed store changed the environment"
expect_env BOOT_ORDER "A B"
[ "$(envget BOOT_A_LEFT)" = "" ] || fail "BOOT_A_LEFT appeared"

# Invalid scheme variables: refused with the variable named.
dev_setup uboot
echo "root=/dev/sda cadu.slot=A" >"$CMDLINE"
fw_setenv -c "$FWCFG" BOOT_A_LEFT x 2>/dev/null
s0=$(snapshot)
expect_fail 3 "^cadu: bootloader environment: BOOT_A_LEFT='x' is not a number of attempts from 0 to 9$" \
        "$CADU" mark-good -c "$CONF"
fw_setenv -c "$FWCFG" BOOT_A_LEFT 12 2>/dev/null
expect_fail 3 "BOOT_A_LEFT='12' is not a number of attempts from 0 to 9" "$CADU" status -c "$CONF"
fw_setenv -c "$FWCFG" BOOT_A_LEFT 3 2>/dev/null
fw_setenv -c "$FWCFG" BOOT_ORDER 'A B A' 2>/dev/null
expect_fail 3 "^cadu: bootloader environment: BOOT_ORDER='A B A' names slot A twice$" "$CADU" status -c "$CONF"
fw_setenv -c "$FWCFG" BOOT_ORDER 'B' 2>/dev/null
"$CADU" status -c "$CONF" >"$T/status" || fail "a one-slot BOOT_ORDER is valid"
grep -q '^boot order:  B$' "$T/status" || fail "status: $(cat "$T/status")"

# Which slot is running: unknown, or named wrongly.
fw_setenv -c "$FWCFG" BOOT_ORDER 'A B' 2>/dev/null
echo "root=/dev/sda quiet" >"$CMDLINE"
expect_fail 1 "^cadu: cannot tell which slot is running: $CMDLINE names no cadu.slot= or rauc.slot=$" \
        "$CADU" mark-good -c "$CONF"
expect_fail 1 "cannot tell which slot is running" "$CADU" rollback -c "$CONF"
"$CADU" status -c "$CONF" | grep -q '^booted:      unknown' || fail "status without a booted slot"
echo "root=/dev/sda rauc.slot=B" >"$CMDLINE"
[ "$(json_get 's["booted"]')" = B ] || fail "rauc.slot= not understood"
echo "cadu.slot=C" >"$CMDLINE"
expect_fail 3 "^cadu: finding the booted slot: $CMDLINE: cadu.slot= or rauc.slot= names neither A nor B$" \
        "$CADU" status -c "$CONF"
# The bootloader variable as a fallback (slot-variable in cadu.conf).
dev_setup uboot "slot-variable = cadu_slot"
[ "$(sim)" = A ] || fail "boot"
rm -f "$CMDLINE"
[ "$(json_get 's["booted"] + s["booted_from"]')" = Avariable ] || fail "slot-variable not used"

# Another cadu holds the state directory's lock.
if command -v flock >/dev/null; then
        mkdir -p "$D/state"
        # Held for sure once the holder says so (not after a guessed delay).
        flock "$D/state/lock" sh -c ': >"$1"; exec sleep 30' sh "$T/held" &
        holder=$!
        n=0
        until [ -e "$T/held" ]; do
                n=$((n + 1))
                [ "$n" -lt 200 ] || fail "the lock holder did not start"
                sleep 0.05
        done
        s0=$(snapshot)
        expect_fail 1 "^cadu: state directory $D/state is locked: another cadu \(an install\?\) is running$" \
                "$CADU" mark-good -c "$CONF"
        [ "$(snapshot)" = "$s0" ] || fail "a locked mark-good wrote the environment"
        "$CADU" status -c "$CONF" >/dev/null || fail "status must not need the lock"
        kill "$holder"
        wait "$holder" 2>/dev/null || true
fi

# The file backend: malformed, missing.
dev_setup file
echo "cadu.slot=A" >"$CMDLINE"
printf 'BOOT_ORDER=A B\nthis line is wrong\n' >"$ENVFILE"
expect_fail 3 "^cadu: reading the bootloader environment: $ENVFILE:2: expected NAME=VALUE$" "$CADU" mark-good -c "$CONF"
printf 'BOOT_ORDER=A B\nBOOT_ORDER=B A\n' >"$ENVFILE"
expect_fail 3 "$ENVFILE:2: variable 'BOOT_ORDER' set twice" "$CADU" status -c "$CONF"
rm "$ENVFILE"
expect_fail 1 "^cadu: reading the bootloader environment: $ENVFILE: No such file or directory$" "$CADU" status -c "$CONF"
no_tmp_left "$D"
echo "boot-errors: ok"
