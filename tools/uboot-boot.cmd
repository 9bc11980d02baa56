# uboot-boot.cmd - cadu's A/B slot selection for U-Boot (hush shell).
#
# The scheme (doc/bootloader.md): BOOT_ORDER lists the slots in the order to
# try ("A B"); BOOT_A_LEFT and BOOT_B_LEFT count the boot attempts each slot
# has left. This script boots the first slot of BOOT_ORDER that has attempts
# left, after decrementing its count and saving the environment, so a slot
# that never reaches "cadu mark-good" uses up its attempts and the next slot
# in the order boots instead. When no slot has attempts left, every count is
# reset to 3 and the board resets (or runs cadu_rescue when it is set).
#
# The board provides, in its default environment:
#   cadu_boot_A, cadu_boot_B  commands that load and boot each slot's kernel,
#                             adding to bootargs rather than replacing it, e.g.
#                             setenv cadu_boot_A 'setenv bootargs ${bootargs} root=/dev/mmcblk0p2;
#                               load mmc 0:2 ${kernel_addr_r} /boot/Image; booti ${kernel_addr_r} - ${fdt_addr}'
#   cadu_rescue (optional)    command that boots a rescue system
# This script sets, for the kernel and for "cadu status":
#   bootargs        gets " cadu.slot=X" appended (not saved)
#   cadu_bootargs   "cadu.slot=X", for cadu_boot_X that build bootargs afresh (not saved)
#   cadu_slot       the slot being booted (saved; cadu.conf slot-variable can name it)
#
# Install: mkimage -A arm -O linux -T script -C none -n cadu -d uboot-boot.cmd boot.scr
# and "load ... ${scriptaddr} boot.scr; source ${scriptaddr}" from bootcmd.
#
# Written in the part of hush that is also POSIX sh (test, setenv, setexpr,
# saveenv, run, echo, reset; "x${v}" comparisons because hush drops empty
# words; only single-digit counts because setexpr computes in hex; no single
# quotes inside double quotes, which hush treats as quotes, dropping them and
# the expansions between them), so that tests/boot-sim.sh runs this very file
# against a real environment, and tests/uboot-*.sh run it in real U-Boot. The count
# 3 below matches cadu.conf's default max-attempts; change both together.

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv cadu_slot
cadu_named=no
for cadu_try in ${BOOT_ORDER}; do
	if test "x${cadu_try}" = "xA" || test "x${cadu_try}" = "xB"; then
		cadu_named=yes
	fi
	if test "x${cadu_slot}" = "x" && test "x${cadu_try}" = "xA" && test ${BOOT_A_LEFT} -gt 0; then
		setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
		setenv cadu_slot A
	fi
	if test "x${cadu_slot}" = "x" && test "x${cadu_try}" = "xB" && test ${BOOT_B_LEFT} -gt 0; then
		setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
		setenv cadu_slot B
	fi
done

if test "x${cadu_slot}" = "x"; then
	if test "x${cadu_named}" != "xyes"; then
		echo "cadu: BOOT_ORDER=[${BOOT_ORDER}] names no slot; using [A B]"
		setenv BOOT_ORDER "A B"
	fi
	echo "cadu: no slot has boot attempts left; resetting them to 3"
	setenv BOOT_A_LEFT 3
	setenv BOOT_B_LEFT 3
	saveenv
	if test -n "${cadu_rescue}"; then
		echo "cadu: booting the rescue system"
		run cadu_rescue
	fi
	reset
fi

echo "cadu: booting slot ${cadu_slot} (attempts left: A ${BOOT_A_LEFT}, B ${BOOT_B_LEFT})"
saveenv
setenv cadu_bootargs "cadu.slot=${cadu_slot}"
setenv bootargs "${bootargs} cadu.slot=${cadu_slot}"
run cadu_boot_${cadu_slot}
echo "cadu: cadu_boot_${cadu_slot} returned without booting; resetting"
reset
