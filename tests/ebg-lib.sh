# Shared set-up for the tests/ebg-*.sh tests: a device with EFI Boot Guard.
# A loop device carries an MBR with two FAT16 configuration partitions, each
# with BGENV.DAT, which the real libebgenv (in cadu, bg_setenv and
# bg_printenv) finds by probing every block device. Boot Guard's boot-time
# choice is played by ebg_boot below, line for line the rules of its loader
# (efibootguard env/fatvars.c, load_config), reading and writing the
# environments with the real bg_printenv/bg_setenv.
#
# libebgenv mounts each FAT partition itself (mount -t vfat). On a kernel
# without vfat (some container and microVM kernels) the partitions are
# still probed from the real MBR, but each one's BGENV.DAT lives in a tmpfs
# mounted under the partition's device name, which libebgenv takes for the
# partition's mount; ebg_sync_fat copies them onto the FAT file systems
# (mtools) for whoever reads the disk image itself.
#
# libebgenv refuses more than two configuration partitions on the machine,
# so these tests take a machine-wide lock and refuse to run next to any
# other. Source after tests/lib.sh.

ebg_skip() {
        [ "${CI:-}" != true ] || fail "$* (CI=true: every prerequisite must be there; run tools/deps.sh as root)"
        skip "$*"
}

[ "$(id -u)" -eq 0 ] || ebg_skip "needs root (loop devices, mounts)"
for c in losetup partx mkfs.vfat mcopy bg_setenv bg_printenv flock python3; do
        command -v "$c" >/dev/null 2>&1 || ebg_skip "$c not installed"
done
grep -q '^#define CADU_HAVE_EBGENV 1' "$top_builddir/config.h" ||
        ebg_skip "cadu built without EFI Boot Guard support (libebgenv-dev missing at configure time)"
export MTOOLS_SKIP_CHECK=1

# One EFI Boot Guard device on the machine at a time.
exec 9>/tmp/cadu-ebg-tests.lock
flock -w 600 9 || fail "another EFI Boot Guard test holds /tmp/cadu-ebg-tests.lock"
bg_printenv >/dev/null 2>&1 && fail "this machine already has EFI Boot Guard configuration partitions"

EBG_PARTS=""
EBG_MNTS=""
ebg_cleanup() {
        for m in $EBG_MNTS; do umount "$m" 2>/dev/null; done
        if [ -n "${EBG_LOOP:-}" ]; then
                partx -d "$EBG_LOOP" 2>/dev/null
                losetup -d "$EBG_LOOP"
        fi
}
CLEANUP="ebg_cleanup; $CLEANUP"

# ebg_disk IMG [N1 N2]: the configuration partitions N1 and N2 (default 1
# and 2) of IMG (IMG made with those two when missing; their FAT file systems
# made, labelled BOOT0 and BOOT1, when they hold no BGENV.DAT), attached as a
# loop device; sets EBG_LOOP, EBG_PARTS and EBG_MODE (vfat or tmpfs).
ebg_disk() {
        local img=$1 p i=0
        if [ ! -e "$img" ]; then
                truncate -s 40M "$img"
                mbr "$img" 2048:32768:0e 34816:32768:0e
        fi
        EBG_LOOP=$(losetup -f --show "$img") || ebg_skip "no loop device"
        # Partition nodes: the kernel may not scan a loop device by itself
        # here, and there may be no udev; partx adds them (devtmpfs names them).
        partx -a "$EBG_LOOP" 2>/dev/null || true
        EBG_PARTS="${EBG_LOOP}p${2:-1} ${EBG_LOOP}p${3:-2}"
        for p in $EBG_PARTS; do
                [ -b "$p" ] || ebg_skip "no partition devices for $EBG_LOOP"
                if ! mcopy -i "$p" -n ::BGENV.DAT "$T/.probe" 2>/dev/null; then
                        mkfs.vfat -n "BOOT$i" "$p" >/dev/null
                        : >"$T/BGENV.DAT"
                        mcopy -i "$p" "$T/BGENV.DAT" ::BGENV.DAT 2>/dev/null
                fi
                i=$((i + 1))
        done
        mkdir -p "$T/vfat-probe"
        if mount -t vfat -o ro "${EBG_LOOP}p1" "$T/vfat-probe" 2>/dev/null; then
                umount "$T/vfat-probe"
                EBG_MODE=vfat
        else
                EBG_MODE=tmpfs
                i=0
                for p in $EBG_PARTS; do
                        mkdir -p "$T/cfg$i"
                        mount -t tmpfs -o size=1M "$p" "$T/cfg$i"
                        EBG_MNTS="$T/cfg$i $EBG_MNTS"
                        mcopy -i "$p" -n ::BGENV.DAT "$T/cfg$i/BGENV.DAT" 2>/dev/null
                        i=$((i + 1))
                done
        fi
}

# ebg_sync_fat: with EBG_MODE=tmpfs, copy each BGENV.DAT onto its FAT
# partition (what a kernel vfat mount would have written).
ebg_sync_fat() {
        local i=0 p
        [ "$EBG_MODE" = tmpfs ] || return 0
        for p in $EBG_PARTS; do
                mcopy -i "$p" -o "$T/cfg$i/BGENV.DAT" ::BGENV.DAT 2>/dev/null
                i=$((i + 1))
        done
}

# ebg_detach: release the loop device (after ebg_sync_fat), for a firmware
# that reads the image.
ebg_detach() {
        for m in $EBG_MNTS; do umount "$m"; done
        EBG_MNTS=""
        partx -d "$EBG_LOOP" 2>/dev/null || true
        losetup -d "$EBG_LOOP"
        EBG_LOOP=""
}

# ebg_get PART FIELD: a field of config partition PART as bg_printenv prints
# it raw (revision, ustate, in_progress, kernel, kernelargs).
ebg_get() {
        bg_printenv -p "$1" -r -o "$2" 2>/dev/null | sed -n 's/^[A-Z_]*=//p'
}

# ebg_part SLOT: the config partition whose kernelargs name SLOT.
ebg_part() {
        local i
        for i in 0 1; do
                case " $(ebg_get $i kernelargs) " in *" cadu.slot=$1 "*) echo $i; return 0 ;; esac
        done
        fail "no config partition boots slot $1"
}

# expect_ebg SLOT REVISION USTATE IN_PROGRESS: what bg_printenv shows for SLOT.
expect_ebg() {
        local p got
        p=$(ebg_part "$1")
        got="$(ebg_get "$p" revision) $(ebg_get "$p" ustate) $(ebg_get "$p" in_progress)"
        [ "$got" = "$2 $3 $4" ] ||
                fail "slot $1 (config partition #$p): revision ustate in_progress = '$got', expected '$2 $3 $4'"
}

# ebg_boot [--fail]: one power-on as Boot Guard's loader does it: the valid
# environment with the highest revision is the latest; in progress: boot
# the one before; TESTING: mark it FAILED with revision 0 and boot the one
# before; INSTALLED: mark it TESTING and boot it. Writes the booted
# environment's kernelparams to $CMDLINE (what the kernel gets) and sets
# BOOTED; with --fail the kernel never comes up (no command line).
ebg_boot() {
        local rev0 rev1 latest pre
        rev0=$(ebg_get 0 revision)
        rev1=$(ebg_get 1 revision)
        [ -n "$rev0" ] && [ -n "$rev1" ] || fail "bg_printenv cannot read the environments"
        # Ties go to partition 0, as in the loader's loop (strictly greater).
        if [ "$rev1" -gt "$rev0" ]; then latest=1 pre=0; else latest=0 pre=1; fi
        boot=$latest
        if [ "$(ebg_get $latest in_progress)" = 1 ]; then
                boot=$pre
        elif [ "$(ebg_get $latest ustate)" = 2 ]; then
                bg_setenv -p $latest -s 3 -r 0 >/dev/null 2>&1 || fail "bg_setenv (loader: FAILED) failed"
                boot=$pre
        elif [ "$(ebg_get $latest ustate)" = 1 ]; then
                bg_setenv -p $latest -s 2 >/dev/null 2>&1 || fail "bg_setenv (loader: TESTING) failed"
        fi
        BOOTED=$(ebg_get $boot kernelargs | sed -n 's/.*cadu\.slot=\([AB]\).*/\1/p')
        rm -f "$CMDLINE"
        [ "${1:-}" = --fail ] || ebg_get $boot kernelargs >"$CMDLINE"
}

# ebg_factory_env: both environments as the factory writes them (slot A
# revision 2, slot B revision 1, both OK, no watchdog).
# The kernel files: EBG_KERNEL with %d for the partition (0 or 1).
ebg_factory_env() {
        local k=${EBG_KERNEL:-C:BOOT%d:linux.efi}
        # shellcheck disable=SC2059
        bg_setenv -p 0 -r 2 -s 0 -i 0 -w 0 -k "$(printf "$k" 0)" -a 'console=ttyS0 cadu.slot=A' >/dev/null 2>&1 &&
                bg_setenv -p 1 -r 1 -s 0 -i 0 -w 0 -k "$(printf "$k" 1)" -a 'console=ttyS0 cadu.slot=B' >/dev/null 2>&1 ||
                fail "bg_setenv cannot write the configuration partitions ($EBG_MODE)"
}

# ebg_device: the configuration partitions with factory environments (slot A
# revision 2 and OK, slot B revision 1), the cadu.conf of a device whose
# rootfs and kernel slots are files.
# ebg_device [IMG N1 N2]: as ebg_disk (default $T/disk.img).
ebg_device() {
        D=$T/dev
        mkdir -p "$D"
        CONF=$D/cadu.conf
        CMDLINE=$D/cmdline
        ebg_disk "${1:-$T/disk.img}" "${2:-1}" "${3:-2}"
        ebg_factory_env
        : >"$D/a.img"
        : >"$D/b.img"
        : >"$D/ka.img"
        : >"$D/kb.img"
        cat >"$CONF" <<EOF
[system]
compatible = cadu-test-board
bootloader = efibootguard
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

# json_get EXPR: evaluate a Python expression on `cadu status --json` (as s).
json_get() {
        "$CADU" status --json -c "$CONF" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

# ebg_factory DIR: slot A holds DIR's release, boots and is committed.
ebg_factory() {
        cp "$1/rootfs.img" "$D/a.img"
        cp "$1/kernel.img" "$D/ka.img"
        cp "$P/ca.pem" "$D/ca.pem"
        ebg_boot
        [ "$BOOTED" = A ] || fail "the factory device booted '$BOOTED'"
        "$CADU" -q mark-good -c "$CONF"
}
