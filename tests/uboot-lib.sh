# Shared set-up for the tests/uboot-*.sh tests: a device that real U-Boot
# boots. Debian's u-boot-qemu build for qemu_arm64 runs in
# qemu-system-aarch64 (TCG); its environment is the second pflash (a 64 MiB
# file, environment at offset 0, size and sector 0x40000, one copy), which the
# real cadu (and fw_printenv) reads through fw_env.config. Three virtio disks:
#   virtio 0  the boot disk: an MBR with one FAT partition holding boot.scr,
#             made by mkimage from the shipped tools/uboot-boot.cmd
#   virtio 1  the kernel slot A, virtio 2  the kernel slot B: each a FAT file
#             system with kernel.scr, a U-Boot script standing in for the
#             kernel: it prints its version and the bootargs it was given and
#             powers off (the "kernel came up") or resets (it "panics")
# The rootfs slots are plain files that U-Boot never reads. Each power-on is
# one qemu run with -no-reboot, so a reset ends it like a watchdog would.
# Source after tests/lib.sh and tests/manifest-lib.sh.

# A missing prerequisite skips, except under CI=true where it fails.
uboot_skip() {
        [ "${CI:-}" != true ] || fail "$* (CI=true: every prerequisite must be installed; run tools/deps.sh)"
        skip "$*"
}

UBOOT_BIN=${CADU_UBOOT_BIN:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}
for c in qemu-system-aarch64 mkimage mkenvimage mkfs.vfat mcopy fw_printenv fw_setenv timeout python3; do
        command -v "$c" >/dev/null 2>&1 || uboot_skip "$c not installed"
done
[ -r "$UBOOT_BIN" ] || uboot_skip "$UBOOT_BIN missing (apt-get install u-boot-qemu)"
# QEMU before 8.0 writes only the first 4 KiB of each pflash sector back to
# the file (QEMU issue 2343): U-Boot's saveenv would be lost.
qemu_major=$(qemu-system-aarch64 --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
[ "${qemu_major:-0}" -ge 8 ] ||
        uboot_skip "qemu-system-aarch64 $qemu_major.x loses pflash writes; tools/deps.sh installs 8+ from bookworm-backports"

UBOOT_ADDR_SCRIPT=0x40200000
UBOOT_ADDR_KERNEL=0x40400000
UBOOT_BOOTS=0

# mkfat FILE KIB FILE...: a FAT image of KIB KiB holding the files.
mkfat() {
        local img=$1 kib=$2
        shift 2
        rm -f "$img"
        mkfs.vfat -C "$img" "$kib" >/dev/null
        for f in "$@"; do mcopy -i "$img" "$f" "::$(basename "$f")"; done
}

# mkscript OUT TEXT: a U-Boot script image (mkimage -T script) of TEXT.
mkscript() {
        printf '%s\n' "$2" >"$1.cmd"
        mkimage -A arm64 -O linux -T script -C none -n cadu-test -d "$1.cmd" "$1" >/dev/null
}

# The board's part of the environment (what a board's default environment
# provides): the preset bootcmd that sources boot.scr, and how to boot each
# slot's kernel. Printed as NAME=VALUE lines.
uboot_board_env() {
        cat <<EOF
bootdelay=0
scriptaddr=$UBOOT_ADDR_SCRIPT
kernel_addr_r=$UBOOT_ADDR_KERNEL
bootargs=console=ttyAMA0
bootcmd=virtio scan; load virtio 0:1 \${scriptaddr} boot.scr && source \${scriptaddr}; reset
cadu_boot_A=load virtio 1 \${kernel_addr_r} kernel.scr && source \${kernel_addr_r}
cadu_boot_B=load virtio 2 \${kernel_addr_r} kernel.scr && source \${kernel_addr_r}
EOF
}

# uboot_env_image [NAME=VALUE...]: the environment flash $ENV_FLASH written
# afresh with the board's variables and the given ones (mkenvimage).
uboot_env_image() {
        { uboot_board_env; for v in "$@"; do printf '%s\n' "$v"; done; } >"$D/env.txt"
        mkenvimage -s 0x40000 -o "$ENV_FLASH" "$D/env.txt"
        truncate -s 64M "$ENV_FLASH"
}

# uboot_device [SCRIPT]: a fresh device in $D, booting SCRIPT (default the
# shipped tools/uboot-boot.cmd); both kernel slots empty.
uboot_device() {
        local script=${1:-$top_srcdir/tools/uboot-boot.cmd}
        D=$T/dev
        rm -rf "$D"
        mkdir -p "$D"
        CONF=$D/cadu.conf
        FWCFG=$D/fw_env.config
        ENV_FLASH=$D/env.flash
        CMDLINE=$D/cmdline
        printf '%s 0x0 0x40000 0x40000\n' "$ENV_FLASH" >"$FWCFG"
        uboot_env_image
        mkimage -A arm64 -O linux -T script -C none -n cadu -d "$script" "$D/boot.scr" >/dev/null
        mkfat "$D/bootpart.img" 7168 "$D/boot.scr"
        truncate -s 8M "$D/boot.img"
        mbr "$D/boot.img" 2048:14336:0c:boot
        dd if="$D/bootpart.img" of="$D/boot.img" bs=1M seek=1 conv=notrunc status=none
        rm -f "$D/bootpart.img"
        : >"$D/a.img"
        : >"$D/b.img"
        truncate -s 1M "$D/ka.img" "$D/kb.img"
        rm -f "$CMDLINE"
        cat >"$CONF" <<EOF
[system]
compatible = cadu-test-board
bootloader = uboot
fw-env-config = $FWCFG
state-dir = $D/state
cmdline = $CMDLINE

[slot rootfs]
a = $D/a.img
b = $D/b.img

[slot kernel]
a = $D/ka.img
b = $D/kb.img

[trust]
ca = $D/ca.pem
EOF
}

# uboot_release DIR VERSION [up|panic]: a signed release in DIR (laid out
# like a USB stick): a 2 MiB rootfs and a 1 MiB FAT kernel image whose
# kernel.scr comes up (prints "cadu-test: kernel VERSION up" and powers off)
# or panics (prints and resets).
uboot_release() {
        local dir=$1 version=$2 kind=${3:-up}
        mkdir -p "$dir"
        data "$(echo "$version" | cksum | cut -d' ' -f1)" $((2 << 20)) "$dir/rootfs.img"
        if [ "$kind" = up ]; then
                mkscript "$dir/kernel.scr" "echo \"cadu-test: kernel $version up, bootargs=[\${bootargs}]\"
poweroff"
        else
                mkscript "$dir/kernel.scr" "echo \"cadu-test: kernel $version panics\"
reset"
        fi
        mkfat "$dir/kernel.img" 1024 "$dir/kernel.scr"
        "$CADU" -q make --store "$dir/store" --chunk-size 16K:32K:64K "$dir/rootfs.img" "$dir/rootfs.caibx"
        "$CADU" -q make --store "$dir/store" --chunk-size 4K:8K:16K "$dir/kernel.img" "$dir/kernel.caibx"
        "$CADU" -q manifest --compatible cadu-test-board --version "$version" \
                --image "rootfs:rootfs:$dir/rootfs.img:$dir/rootfs.caibx:$dir/store" \
                --image "kernel:kernel:$dir/kernel.img:$dir/kernel.caibx:$dir/store" \
                "$dir/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$dir/update.manifest"
}

# power_on: one power-on of the device in real U-Boot, bounded by a timeout.
# Sets BOOTED to the slot whose kernel came up (A or B), "rescue", or
# "reset" (the power-on ended in a reset), and BOOTED_VERSION; writes the
# kernel's command line (U-Boot's bootargs) to $CMDLINE as the kernel would
# show it in /proc/cmdline. The console goes to $T/boot.N.log.
power_on() {
        UBOOT_BOOTS=$((UBOOT_BOOTS + 1))
        LOG=$T/boot.$UBOOT_BOOTS.log
        rm -f "$CMDLINE"
        # QEMU numbers virtio-mmio devices from the last one added.
        timeout 60 qemu-system-aarch64 -M virt -cpu cortex-a57 -m 128 -nographic -nic none -no-reboot \
                -bios "$UBOOT_BIN" -drive "if=pflash,format=raw,index=1,file=$ENV_FLASH" \
                -drive "if=none,format=raw,id=kb,file=$D/kb.img" -device virtio-blk-device,drive=kb \
                -drive "if=none,format=raw,id=ka,file=$D/ka.img" -device virtio-blk-device,drive=ka \
                -drive "if=none,format=raw,id=boot,file=$D/boot.img" -device virtio-blk-device,drive=boot \
                </dev/null >"$LOG" 2>&1 || fail "power-on $UBOOT_BOOTS: qemu failed or timed out: $(tail -5 "$LOG")"
        tr -d '\r' <"$LOG" >"$LOG.txt"
        local up
        up=$(sed -n 's/^cadu-test: kernel \([^ ]*\) up, bootargs=\[\(.*\)\]$/\1 \2/p' "$LOG.txt")
        if [ -n "$up" ]; then
                BOOTED_VERSION=${up%% *}
                printf '%s\n' "${up#* }" >"$CMDLINE"
                BOOTED=$(sed -n 's/.*cadu\.slot=\([AB]\).*/\1/p' "$CMDLINE")
                [ -n "$BOOTED" ] || fail "power-on $UBOOT_BOOTS: a kernel came up without cadu.slot= in its bootargs"
        elif grep -q '^cadu-test: rescue' "$LOG.txt"; then
                BOOTED=rescue BOOTED_VERSION=
        elif grep -q '^resetting \.\.\.' "$LOG.txt"; then
                BOOTED=reset BOOTED_VERSION=
        else
                fail "power-on $UBOOT_BOOTS: neither a kernel nor a reset: $(tail -5 "$LOG.txt")"
        fi
}

# expect_boot SLOT [VERSION]: power on; SLOT's kernel (of VERSION) comes up.
expect_boot() {
        power_on
        [ "$BOOTED" = "$1" ] || fail "power-on $UBOOT_BOOTS: booted '$BOOTED', expected $1: $(grep '^cadu' "$LOG.txt")"
        [ $# -lt 2 ] || [ "$BOOTED_VERSION" = "$2" ] ||
                fail "power-on $UBOOT_BOOTS: slot $1 runs $BOOTED_VERSION, expected $2"
}

# envget NAME: a variable of the environment flash, read with the real fw_printenv.
envget() {
        fw_printenv -c "$FWCFG" 2>/dev/null | sed -n "s/^$1=//p"
}

expect_env() {
        local v
        v=$(envget "$1")
        [ "$v" = "$2" ] || fail "$1='$v', expected '$2'"
}

# json_get EXPR: evaluate a Python expression on `cadu status --json` (as s).
json_get() {
        "$CADU" status --json -c "$CONF" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

# slot_has SLOT DIR: slot SLOT ("a" or "b") of the device holds DIR's images.
slot_has() {
        cmp -s -n "$(stat -c %s "$2/rootfs.img")" "$D/$1.img" "$2/rootfs.img" &&
                cmp -s -n "$(stat -c %s "$2/kernel.img")" "$D/k$1.img" "$2/kernel.img"
}

# factory DIR: the device as shipped: slot A holds DIR's release, boots, and
# is committed with cadu mark-good.
factory() {
        cp "$1/rootfs.img" "$D/a.img"
        cp "$1/kernel.img" "$D/ka.img"
        cp "$P/ca.pem" "$D/ca.pem"
        expect_boot A
        "$CADU" -q mark-good -c "$CONF"
}
