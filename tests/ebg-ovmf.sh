#!/bin/sh
# A real EFI Boot Guard boot and fallback: Debian's efibootguardx64.efi
# started by OVMF in qemu-system-x86_64 (TCG) from a disk with an ESP and
# the two configuration partitions cadu writes through libebgenv. Each
# slot's "kernel" is a GRUB image (grub-mkstandalone) on its configuration
# partition: slot A's prints a line and powers off (it came up), slot B's
# prints a line and resets (it never comes up). cadu arms a trial of B; Boot
# Guard boots B as TESTING; at the next power-on it marks B FAILED and boots
# A; cadu status and bg_printenv show it.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/ebg-lib.sh"
OVMF_CODE=${CADU_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${CADU_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
EBG_EFI=${CADU_EBG_EFI:-/usr/lib/x86_64-linux-gnu/efibootguard/efibootguardx64.efi}
for c in qemu-system-x86_64 grub-mkstandalone mmd timeout; do
        command -v "$c" >/dev/null 2>&1 || ebg_skip "$c not installed"
done
for f in "$OVMF_CODE" "$OVMF_VARS" "$EBG_EFI" /usr/lib/grub/x86_64-efi/halt.mod; do
        [ -r "$f" ] || ebg_skip "$f missing (tools/deps.sh installs ovmf, efibootguard, grub-efi-amd64-bin)"
done

# The disk: ESP (Boot Guard as the default boot loader) and the two
# configuration partitions, labelled BOOT0 and BOOT1 by ebg_disk.
img=$T/disk.img
truncate -s 64M "$img"
mbr "$img" 2048:32768:ef:boot 34816:32768:0e 67584:32768:0e
mkfs.vfat -C "$T/esp.img" 16384 >/dev/null
mmd -i "$T/esp.img" ::EFI ::EFI/BOOT
mcopy -i "$T/esp.img" "$EBG_EFI" ::EFI/BOOT/BOOTX64.EFI
dd if="$T/esp.img" of="$img" bs=512 seek=2048 conv=notrunc status=none
EBG_KERNEL=L:BOOT%d:payload.efi
ebg_device "$img" 2 3
for s in A B; do
        if [ $s = A ]; then act="echo \"cadu-test: payload of slot A up\"
halt"
        else act="echo \"cadu-test: payload of slot B panics\"
reboot"
        fi
        printf '%s\n' "$act" >"$T/grub-$s.cfg"
        grub-mkstandalone -O x86_64-efi --modules="echo halt reboot" --install-modules="echo halt reboot normal" \
                --locales= --themes= --fonts= -o "$T/payload-$s.efi" "boot/grub/grub.cfg=$T/grub-$s.cfg"
done
i=0
for p in $EBG_PARTS; do
        mcopy -i "$p" "$T/payload-$([ $i = 0 ] && echo A || echo B).efi" ::payload.efi 2>/dev/null
        i=$((i + 1))
done

BOOTS=0
# efi_boot: one power-on of the disk in OVMF; sets BOOTED from the
# payload's line, writes the arguments Boot Guard passed to $CMDLINE.
efi_boot() {
        BOOTS=$((BOOTS + 1))
        ebg_sync_fat
        ebg_detach
        cp "$OVMF_VARS" "$T/vars.fd"
        LOG=$T/efi.$BOOTS.log
        timeout 60 qemu-system-x86_64 -m 256 -nographic -no-reboot -nic none \
                -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$T/vars.fd" \
                -drive "file=$img,format=raw,if=virtio" </dev/null >"$LOG" 2>&1 ||
                fail "power-on $BOOTS: qemu failed or timed out: $(tail -c 600 "$LOG")"
        tr -d '\r' <"$LOG" | sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' >"$LOG.txt"
        grep -q 'EFI Boot Guard v' "$LOG.txt" || fail "power-on $BOOTS: Boot Guard did not start"
        BOOTED=$(sed -n 's/^cadu-test: payload of slot \([AB]\) \(up\|panics\)$/\1 \2/p' "$LOG.txt")
        rm -f "$CMDLINE"
        case $BOOTED in
        "A up"|"B up") sed -n 's/^ args: //p' "$LOG.txt" | tail -1 >"$CMDLINE" ;;
        "A panics"|"B panics") ;;
        *) fail "power-on $BOOTS: no payload started: $(tail -5 "$LOG.txt")" ;;
        esac
        ebg_disk "$img" 2 3
}

make_pki
device_release "$T/v1" 1.0.0 2
device_release "$T/v2" 2.0.0 2
cp "$T/v1/rootfs.img" "$D/a.img"
cp "$T/v1/kernel.img" "$D/ka.img"
cp "$P/ca.pem" "$D/ca.pem"
efi_boot
[ "$BOOTED" = "A up" ] || fail "factory boot: '$BOOTED'"
grep -q 'cadu.slot=A' "$CMDLINE" || fail "Boot Guard did not pass slot A's kernelparams: $(cat "$CMDLINE")"
"$CADU" -q mark-good -c "$CONF"

"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
expect_ebg B 3 1 0
# The trial: Boot Guard marks B TESTING and starts it; it never comes up.
efi_boot
[ "$BOOTED" = "B panics" ] || fail "trial boot: '$BOOTED'"
grep -q 'Full path for kernel is: .*HD(3,MBR' "$LOG.txt" || fail "Boot Guard did not load B's kernel from partition 3"
expect_ebg B 3 2 0
# The next power-on: Boot Guard marks B FAILED (revision 0) and boots A.
efi_boot
[ "$BOOTED" = "A up" ] || fail "no fallback to A: '$BOOTED'"
expect_ebg B 0 3 0
expect_ebg A 2 0 0
"$CADU" status -c "$CONF" >"$T/status"
grep -q "the trial of slot B failed (no attempts left); slot A is running" "$T/status" || fail "status: $(cat "$T/status")"
"$CADU" -q mark-good -c "$CONF"
[ "$(json_get 's["slots"][1]["state"]')" = bad ] || fail "B not recorded bad"
efi_boot
[ "$BOOTED" = "A up" ] || fail "after the fallback: '$BOOTED'"
echo "real EFI Boot Guard under OVMF: $BOOTS power-ons ($EBG_MODE)"
