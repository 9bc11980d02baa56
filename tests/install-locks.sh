#!/bin/sh
# Locks during a slow install: the bootloader environment's lock (the one
# fw_printenv and fw_setenv take) is held only around each environment
# store, so they and `cadu status` answer while chunks trickle in; cadu's
# own install lock is held throughout, so a second install is refused.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need timeout python3
make_pki
dev_setup uboot
device_release "$T/v1" 1.0.0
device_release "$T/www/v2" 2.0.0
factory "$T/v1"
# The manifest and indexes at full speed, every chunk at 20 kB/s.
faultproxy_start slow --root "$T/www" --mode slow --rate 20000 --path-regex '\.cacnk$'

"$CADU" --json install -c "$CONF" "$FP_URL/v2/update.manifest" >install.json 2>install.err &
pid=$!
CLEANUP="${CLEANUP:+$CLEANUP; }kill -KILL $pid 2>/dev/null"
# Wait (by progress, not by time) until the install is writing slot B.
n=0
until grep -q '"phase":"write","image":"rootfs"' install.json; do
        kill -0 "$pid" 2>/dev/null || fail "install ended early: $(cat install.err)"
        n=$((n + 1))
        [ "$n" -lt 600 ] || fail "install did not start writing: $(cat install.err)"
        sleep 0.05
done
timeout 3 fw_printenv -c "$FWCFG" >env.txt || fail "fw_printenv blocked by a running install"
grep -q '^BOOT_B_LEFT=0$' env.txt || fail "slot B not out of the boot order while written: $(cat env.txt)"
timeout 3 fw_setenv -c "$FWCFG" board_note hello || fail "fw_setenv blocked by a running install"
timeout 3 "$CADU" status -c "$CONF" >status.txt || fail "cadu status blocked by a running install"
grep -q '^booted:      A' status.txt || fail "status: $(cat status.txt)"
expect_fail 1 "^cadu: another cadu is changing the slots \\($D/state is locked\\)$" \
        timeout 10 "$CADU" install -c "$CONF" "$T/www/v2/update.manifest"
kill -0 "$pid" 2>/dev/null || fail "the slow install was not running during the checks"
# The install re-reads the environment before its last store: what
# fw_setenv changed meanwhile is kept.
stop_pid "$FP_PID"
faultproxy_start fast --root "$T/www"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
"$CADU" -q install -c "$CONF" "$FP_URL/v2/update.manifest" || fail "resumed install failed"
expect_env board_note hello
expect_env BOOT_ORDER "B A"
[ "$(sim)" = B ] || fail "the update does not boot"
slot_has b "$T/www/v2" || fail "slot B does not hold v2"
echo "install-locks: ok"
