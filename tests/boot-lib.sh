# Shared set-up for the boot-* shell tests: a simulated device with two
# slots, a bootloader environment (a redundant file-backed U-Boot
# environment through the real libubootenv, or the plain-file backend), a
# fake /proc/cmdline written by the boot simulator, and a state directory.
# Source after tests/lib.sh.

need fw_printenv fw_setenv

BOOT_TOOL=$top_builddir/tests/boot-tool
BOOT_SIM="sh $top_srcdir/tests/boot-sim.sh"
MKENV="sh $top_srcdir/tools/mkenv.sh"

# dev_setup BACKEND [EXTRA-SYSTEM-LINES]: a fresh device in $T/dev.
dev_setup() {
        DEV_BACKEND=$1
        D=$T/dev
        rm -rf "$D"
        mkdir -p "$D"
        CONF=$D/cadu.conf
        FWCFG=$D/fw_env.config
        ENVFILE=$D/bootenv
        CMDLINE=$D/cmdline
        : >"$D/a.img"
        : >"$D/b.img"
        : >"$D/ka.img"
        : >"$D/kb.img"
        # Power is off: no kernel command line yet.
        rm -f "$CMDLINE"
        {
                echo "[system]"
                echo "compatible = cadu-test-board"
                if [ "$DEV_BACKEND" = uboot ]; then
                        echo "bootloader = uboot"
                        echo "fw-env-config = $FWCFG"
                else
                        echo "bootloader = file"
                        echo "bootloader-file = $ENVFILE"
                fi
                echo "state-dir = $D/state"
                echo "cmdline = $CMDLINE"
                [ $# -lt 2 ] || printf '%s\n' "$2"
                echo
                echo "[slot rootfs]"
                echo "a = $D/a.img"
                echo "b = $D/b.img"
                echo
                echo "[slot kernel]"
                echo "a = $D/ka.img"
                echo "b = $D/kb.img"
                echo
                echo "[trust]"
                echo "ca = $D/ca.pem"
        } >"$CONF"
        # The board's default environment: how to boot each slot.
        set -- 'bootargs=console=ttyS0' 'cadu_boot_A=booti ${kernel_addr_r}' 'cadu_boot_B=booti ${kernel_addr_r}'
        if [ "$DEV_BACKEND" = uboot ]; then
                printf '%s 0x0 0x4000\n%s 0x0 0x4000\n' "$D/env0" "$D/env1" >"$FWCFG"
                $MKENV "$FWCFG" "$@" || fail "mkenv.sh failed"
        else
                printf '%s\n' "$@" >"$ENVFILE"
        fi
}

# sim [boot-sim options]: power the device on; prints the booted slot.
sim() {
        if [ "$DEV_BACKEND" = uboot ]; then
                $BOOT_SIM --uboot "$FWCFG" --cmdline "$CMDLINE" "$@"
        else
                $BOOT_SIM --file "$ENVFILE" --cmdline "$CMDLINE" "$@"
        fi 2>>"$T/sim.log"
}

# envget NAME: a variable of the stored environment ("" when unset), read
# with the real fw_printenv for U-Boot.
envget() {
        if [ "$DEV_BACKEND" = uboot ]; then
                fw_printenv -c "$FWCFG" 2>/dev/null | sed -n "s/^$1=//p"
        else
                sed -n "s/^$1=//p" "$ENVFILE"
        fi
}

# env_generation: how many times the environment has been stored (the
# larger flags byte of the two redundant copies; the file's inode for the
# file backend, which every atomic store replaces).
env_generation() {
        if [ "$DEV_BACKEND" = uboot ]; then
                a=$(od -An -tu1 -j4 -N1 "$D/env0" | tr -d ' ')
                b=$(od -An -tu1 -j4 -N1 "$D/env1" | tr -d ' ')
                [ "$a" -gt "$b" ] && echo "$a" || echo "$b"
        else
                ls -i "$ENVFILE" | cut -d' ' -f1
        fi
}

# expect_env NAME VALUE
expect_env() {
        v=$(envget "$1")
        [ "$v" = "$2" ] || fail "$DEV_BACKEND: $1='$v', expected '$2'"
}

# json_get EXPR: evaluate a Python expression on `cadu status --json` (as s).
json_get() {
        "$CADU" status --json -c "$CONF" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

booted_from_cmdline() {
        sed -n 's/.*cadu\.slot=\([AB]\).*/\1/p' "$CMDLINE"
}
