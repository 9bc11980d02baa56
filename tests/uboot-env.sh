#!/bin/sh
# A corrupt, erased or missing U-Boot environment. cadu refuses to act on
# it with one clear line and writes nothing; real U-Boot falls back to its
# built-in default environment, whose distro boot finds boot.scr on the boot
# disk; the shipped script recreates the scheme's variables and saves them,
# after which cadu reads the environment again. (Debian's generic build has
# no cadu_boot_A/B in its default environment, so that boot ends in a reset;
# a board puts them there, see doc/bootloader.md.)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/uboot-lib.sh"
make_pki
uboot_device
uboot_release "$T/v1" 1.0.0
uboot_release "$T/v2" 2.0.0
factory "$T/v1"
digest() { cat "$D/a.img" "$D/b.img" "$D/ka.img" "$D/kb.img" | sha256sum | cut -d' ' -f1; }

# recover WHAT: U-Boot boots with its default environment and the script
# saves a valid one; the board's variables are then restored (what its
# default environment would have held) and slot A boots.
recover() {
        power_on
        grep -q 'bad CRC, using default environment' "$LOG.txt" || fail "$1: U-Boot did not report the bad CRC"
        grep -q '^cadu: booting slot A (attempts left: A 2, B 3)$' "$LOG.txt" ||
                fail "$1: the boot script did not run from the default environment: $(grep '^cadu' "$LOG.txt")"
        [ "$BOOTED" = reset ] || fail "$1: booted '$BOOTED' without the board's boot commands"
        expect_env BOOT_ORDER "A B"
        expect_env BOOT_A_LEFT 2
        expect_env cadu_slot A
        [ "$(json_get 's["next_boot"]')" = A ] || fail "$1: cadu cannot read the environment U-Boot saved"
        uboot_board_env | while IFS='=' read -r n v; do fw_setenv -c "$FWCFG" "$n" "$v"; done
        expect_boot A 1.0.0
        "$CADU" -q mark-good -c "$CONF"
}

# 1. Corrupt: one flipped byte in the variables.
before=$(digest)
printf '\377' | dd of="$ENV_FLASH" bs=1 seek=40 conv=notrunc status=none
expect_fail 3 'no copy has a valid CRC' "$CADU" status -c "$CONF"
expect_fail 3 'no copy has a valid CRC' "$CADU" mark-good -c "$CONF"
expect_fail '*' 'no copy has a valid CRC' "$CADU" install -c "$CONF" "$T/v2/update.manifest"
[ "$(digest)" = "$before" ] || fail "a slot was written with a corrupt environment"
recover corrupt

# 2. Erased (never written): the flash holds no environment at all.
dd if=/dev/zero of="$ENV_FLASH" bs=64K count=4 conv=notrunc status=none
expect_fail 3 'no copy has a valid CRC' "$CADU" status -c "$CONF"
recover erased

# 3. Missing: fw_env.config names a device that is not there.
mv "$ENV_FLASH" "$D/env.away"
expect_fail '*' 'fw_env.config: invalid, or an environment device it names is missing' "$CADU" status -c "$CONF"
expect_fail '*' 'fw_env.config: invalid, or an environment device it names is missing' \
        "$CADU" install -c "$CONF" "$T/v2/update.manifest"
[ "$(digest)" = "$before" ] || fail "a slot was written without an environment"
mv "$D/env.away" "$ENV_FLASH"

# Whole again: the cycle works on the environment U-Boot rebuilt.
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
expect_boot B 2.0.0
"$CADU" -q mark-good -c "$CONF"
expect_boot B 2.0.0
echo "real U-Boot: $UBOOT_BOOTS power-ons"
