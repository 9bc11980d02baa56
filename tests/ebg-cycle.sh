#!/bin/sh
# The A/B cycle on EFI Boot Guard's environments, through the real
# libebgenv in cadu and read back with the real bg_printenv: install marks
# the target environment in progress while its slot is written, then gives it
# the highest revision, INSTALLED; Boot Guard's loader (tests/ebg-lib.sh)
# boots it once as TESTING; mark-good confirms it (OK) and it stays.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/ebg-lib.sh"
make_pki
ebg_device
echo "configuration partitions: $EBG_PARTS ($EBG_MODE)"
device_release "$T/v1" 1.0.0 2
device_release "$T/v2" 2.0.0 2
device_release "$T/v3" 3.0.0 2
ebg_factory "$T/v1"
expect_ebg A 2 0 0
expect_ebg B 1 0 0
[ "$(json_get 's["bootloader"]')" = efibootguard ] || fail "status: bootloader"
"$CADU" status -c "$CONF" >"$T/status"
grep -q "bootloader .*config partition #$(ebg_part A): revision 2, ustate 0 (OK), in_progress 0, kernel C:BOOT0:linux.efi" \
        "$T/status" || fail "status does not show Boot Guard's view: $(cat "$T/status")"

# Install v2 into B. A hook records what bg_printenv shows around each
# image written: B's environment in progress (and out of the order) while
# its slot is written; afterwards B is the latest, INSTALLED.
mkdir -p "$D/hooks"
cat >"$D/hooks/10-ebg" <<HOOK
#!/bin/sh
p=\$(for i in 0 1; do bg_printenv -p \$i -r -o kernelargs 2>/dev/null | grep -q "cadu.slot=\$CADU_TARGET_SLOT" && echo \$i; done)
echo "\$CADU_HOOK \$CADU_CLASS \$(bg_printenv -p \$p -r -o revision,ustate,in_progress 2>/dev/null | tr '\\n' ' ')" >>"$T/hook.log"
HOOK
chmod +x "$D/hooks/10-ebg"
sed -i "s|^cmdline = .*|&\nhooks-dir = $D/hooks|" "$CONF"
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
slot_has b "$T/v2" || fail "slot B does not hold v2"
grep -q . "$T/hook.log" || fail "the hook did not run"
if grep -E '^(pre|post)-install ' "$T/hook.log" | grep -vq 'IN_PROGRESS=1 REVISION=0 USTATE=3 $'; then
        fail "slot B was written while its environment was not in progress: $(cat "$T/hook.log")"
fi
grep -q '^post-switch  IN_PROGRESS=0 REVISION=3 USTATE=1 $' "$T/hook.log" || fail "after the switch: $(cat "$T/hook.log")"
expect_ebg B 3 1 0
expect_ebg A 2 0 0
[ "$(json_get 's["pending_trial"]')" = B ] || fail "status: no pending trial of B"
[ "$(json_get 's["next_boot"]')" = B ] || fail "status: next boot is not B"
json_get 's["slots"][1]["bootloader_state"]' | grep -q 'revision 3, ustate 1 (INSTALLED), in_progress 0' ||
        fail "status --json: $(json_get 's["slots"][1]["bootloader_state"]')"

# The trial boot: Boot Guard marks B TESTING and boots it.
ebg_boot
[ "$BOOTED" = B ] || fail "trial boot started '$BOOTED'"
expect_ebg B 3 2 0
[ "$(json_get 's["on_trial"]')" = True ] || fail "status: B not on trial"
[ "$(json_get 's["next_boot"]')" = A ] || fail "status: an unconfirmed trial must fall back at the next boot"
"$CADU" -q mark-good -c "$CONF"
expect_ebg B 3 0 0
expect_ebg A 2 0 0

# The rollback floor is a Boot Guard user variable in both environments.
for s in A B; do
        [ "$(bg_printenv -p "$(ebg_part $s)" -r -o user 2>/dev/null)" = cadu_min_version=2.0.0 ] ||
                fail "slot $s's environment lacks the floor: $(bg_printenv -p "$(ebg_part $s)" -r -o user 2>&1)"
done
expect_fail 4 'older than' "$CADU" install -c "$CONF" "$T/v1/update.manifest"

# B stays.
for i in 1 2; do
        ebg_boot
        [ "$BOOTED" = B ] || fail "power-on $i after mark-good started '$BOOTED'"
        "$CADU" -q mark-good -c "$CONF"
        expect_ebg B 3 0 0
done

# The next release goes to A, the slot not running: revision 4.
"$CADU" -q install -c "$CONF" "$T/v3/update.manifest"
slot_has a "$T/v3" || fail "slot A does not hold v3"
slot_has b "$T/v2" || fail "the running slot B was touched"
expect_ebg A 4 1 0
ebg_boot
[ "$BOOTED" = A ] || fail "trial of A started '$BOOTED'"
"$CADU" -q mark-good -c "$CONF"
expect_ebg A 4 0 0
expect_ebg B 3 0 0

# rollback to the good B: B becomes the latest, OK.
"$CADU" -q rollback -c "$CONF"
expect_ebg B 5 0 0
ebg_boot
[ "$BOOTED" = B ] || fail "after rollback booted '$BOOTED'"
# mark-bad of the other slot A: FAILED, revision 0, in progress: never booted.
"$CADU" -q mark-bad -c "$CONF" A
expect_ebg A 0 3 1
ebg_boot
[ "$BOOTED" = B ] || fail "after mark-bad A booted '$BOOTED'"
echo "ebg-cycle: ok ($EBG_MODE)"
