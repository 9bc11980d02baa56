#!/bin/sh
# Configuration errors reach the user as one line "FILE:LINE: message" with
# exit status 2, from every slot command, and nothing is switched.
. "$top_srcdir/tests/lib.sh"

C=$T/cadu.conf
good() {
        cat >"$C" <<EOT
[system]
compatible = board
bootloader = file
bootloader-file = $T/env
state-dir = $T/state
cmdline = $T/cmdline

[slot rootfs]
a = $T/a
b = $T/b

[trust]
ca = $T/ca.pem
EOT
}
good
printf 'BOOT_ORDER=A B\n' >"$T/env"
echo "cadu.slot=A" >"$T/cmdline"
"$CADU" status -c "$C" >/dev/null || fail "the good configuration is refused"
"$CADU" status --config="$C" >/dev/null || fail "--config=FILE is not understood"

for cmd in status mark-good mark-bad rollback; do
        good
        sed -i 's/^compatible = board$/compatible = board\nfrobnicate = yes/' "$C"
        expect_fail 2 "^cadu: $C:3: unknown key 'frobnicate' in \[system\]$" "$CADU" $cmd -c "$C"
        [ "$(wc -l <"$T/.err")" -eq 1 ] || fail "$cmd: more than one line: $(cat "$T/.err")"
        good
        echo "[sloth rootfs]" >>"$C"
        expect_fail 2 "^cadu: $C:14: unknown section \[sloth rootfs\]$" "$CADU" $cmd -c "$C"
        good
        sed -i '/^b = /d' "$C"
        expect_fail 2 "^cadu: $C:8: \[slot rootfs\] needs both 'a' and 'b'$" "$CADU" $cmd -c "$C"
        good
        sed -i '/^compatible/d' "$C"
        expect_fail 2 "^cadu: $C: missing 'compatible' in \[system\]$" "$CADU" $cmd -c "$C"
        expect_fail 2 "^cadu: $T/nonexistent.conf: No such file or directory$" "$CADU" $cmd -c "$T/nonexistent.conf"
done
cmp -s "$T/env" - <<EOT || fail "a configuration error changed the environment"
BOOT_ORDER=A B
EOT
[ ! -e "$T/state" ] || [ -z "$(ls "$T/state")" ] || fail "state written despite configuration errors"

good
sed -i 's/^bootloader = file$/bootloader = grub/' "$C"
expect_fail 2 "^cadu: $C:3: invalid bootloader 'grub' \(expected uboot, file or efibootguard\)$" "$CADU" status -c "$C"
good
echo "max-attempts = 3" >>"$C"
expect_fail 2 "^cadu: $C:14: unknown key 'max-attempts' in \[trust\]$" "$CADU" status -c "$C"
good
sed -i 's|^cmdline = .*|&\nmax-attempts = 10|' "$C"
expect_fail 2 "^cadu: $C:7: invalid max-attempts '10' \(expected 1 to 9\)$" "$CADU" status -c "$C"

# Usage errors.
expect_fail 2 "^cadu: invalid slot 'C' \(expected A or B\)$" "$CADU" mark-bad C -c "$C"
expect_fail 2 "unexpected argument 'x'" "$CADU" rollback x -c "$C"
expect_fail 2 "unrecognized option|unknown option" "$CADU" status --force -c "$C"
echo "config-errors: ok"
