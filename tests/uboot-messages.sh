#!/bin/sh
# Every message of the shipped boot script prints the same in real U-Boot's
# hush as in POSIX sh (tests/boot-sim.sh, which the boot-* tests use): for
# each path through tools/uboot-boot.cmd, one power-on in U-Boot and one in
# boot-sim.sh from the same environment, and their "cadu:" lines compared.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/uboot-lib.sh"
uboot_device
# Both kernel slots are empty: every cadu_boot_X returns (in sh, as "load"
# is no command there), so each power-on ends in the script's reset.
rescue='load virtio 1 ${kernel_addr_r} rescue.scr && source ${kernel_addr_r}'
n=0
compare() {
        n=$((n + 1))
        uboot_env_image "$@"
        cp "$ENV_FLASH" "$D/env.start"
        power_on
        [ "$BOOTED" = reset ] || fail "case $n: booted '$BOOTED'"
        grep '^cadu:' "$LOG.txt" >"$T/uboot.$n" || true
        cp "$D/env.start" "$ENV_FLASH"
        sh "$top_srcdir/tests/boot-sim.sh" --uboot "$FWCFG" --cmdline "$CMDLINE" --max-resets 0 \
                >/dev/null 2>"$T/sim.$n.log" && fail "case $n: boot-sim booted"
        grep '^cadu:' "$T/sim.$n.log" >"$T/sim.$n" || true
        [ -s "$T/uboot.$n" ] || fail "case $n: U-Boot printed no message"
        diff -u "$T/sim.$n" "$T/uboot.$n" >"$T/diff.$n" ||
                fail "case $n ($*): U-Boot's hush prints differently from sh: $(cat "$T/diff.$n")"
}
compare                                                 # defaults: slot A, its kernel returns
compare 'BOOT_ORDER=B A' BOOT_B_LEFT=1                  # a trial of B
compare 'BOOT_ORDER=X Y'                                # an order naming no slot
compare 'BOOT_ORDER=X Y' "cadu_rescue=$rescue"          # ... with a rescue system
compare BOOT_A_LEFT=0 BOOT_B_LEFT=0                     # no attempts left
# Every echo of the script was printed by some case.
grep -c '^[[:space:]]*echo ' "$top_srcdir/tools/uboot-boot.cmd" >"$T/n_echo"
cat "$T"/uboot.* | sed 's/[0-9AB]/#/g; s/\[.*\]/[]/' | sort -u | wc -l >"$T/n_seen"
[ "$(cat "$T/n_seen")" -ge "$(cat "$T/n_echo")" ] ||
        fail "only $(cat "$T/n_seen") of $(cat "$T/n_echo") messages of the script were printed: $(cat "$T"/uboot.* | sort -u)"
echo "$n cases, $(cat "$T/n_echo") messages: the same in U-Boot and sh"
