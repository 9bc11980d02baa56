#!/bin/sh
# Trials that fail, on both backends, with the shipped boot script:
#  - the trial slot boots but never reaches mark-good: its single attempt is
#    used up and the next power-on starts the old slot again; status says
#    so and mark-good records the failed trial as bad;
#  - the trial slot's kernel does not even load: the script falls back
#    within the same power-on (after one reset);
#  - neither slot boots: counts are reset and the rescue system runs;
#  - a BOOT_ORDER naming no slot is repaired by the script.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/boot-lib.sh"

for backend in uboot file; do
        dev_setup $backend
        [ "$(sim)" = A ] || fail "$backend: first boot"
        "$CADU" -q mark-good -c "$CONF"

        # Trial of B; B boots but hangs before mark-good (watchdog reset).
        "$BOOT_TOOL" trial "$CONF" B 3.0 || fail "$backend: trial"
        [ "$(sim)" = B ] || fail "$backend: trial boot did not start B"
        expect_env BOOT_B_LEFT 0
        # The watchdog resets the board: attempts used up, A boots again.
        [ "$(sim)" = A ] || fail "$backend: did not fall back to A"
        [ "$(booted_from_cmdline)" = A ] || fail "$backend: cmdline: $(cat "$CMDLINE")"
        expect_env BOOT_ORDER "B A"
        expect_env BOOT_A_LEFT 2
        [ "$(json_get 's["booted"]')" = A ] || fail "$backend: status: booted"
        [ "$(json_get 's["failed_trial"]')" = B ] || fail "$backend: status: failed trial not reported"
        [ "$(json_get 's["pending_trial"]')" = None ] || fail "$backend: status: still pending"
        "$CADU" status -c "$CONF" >"$T/status"
        grep -q 'the trial of slot B failed (no attempts left); slot A is running' "$T/status" ||
                fail "$backend: status text: $(cat "$T/status")"
        grep -q '^booted:      A' "$T/status" || fail "$backend: status text: $(cat "$T/status")"
        # The fallback keeps booting A.
        [ "$(sim)" = A ] || fail "$backend: second fallback boot"
        # mark-good on the fallback slot commits A and records B's failure.
        "$CADU" mark-good -c "$CONF" >"$T/out" || fail "$backend: mark-good after fallback"
        grep -q 'the failed trial of slot B is recorded as bad' "$T/out" || fail "$backend: $(cat "$T/out")"
        expect_env BOOT_ORDER "A B"
        expect_env BOOT_A_LEFT 3
        [ "$(json_get 's["slots"][1]["state"]')" = bad ] || fail "$backend: B not recorded bad"
        [ "$(json_get 's["failed_trial"]')" = None ] || fail "$backend: failed trial still reported"
        # Rolling back to the failed slot is refused.
        expect_fail 4 'refusing to roll back to slot B' "$CADU" rollback -c "$CONF"

        # A trial whose kernel does not load: fallback within one power-on.
        "$BOOT_TOOL" trial "$CONF" B 4.0 || fail "$backend: second trial"
        [ "$(sim --fail B)" = A ] || fail "$backend: no fallback when B's kernel does not load"
        expect_env BOOT_B_LEFT 0
        expect_env BOOT_A_LEFT 2
        grep -q 'cadu_boot_B returned without booting; resetting' "$T/sim.log" || fail "$backend: sim log"

        # Nothing boots: the script resets the counts every round; with
        # cadu_rescue set, the rescue system starts instead.
        rc=0
        sim --fail A --fail B >/dev/null || rc=$?
        [ $rc -eq 2 ] || fail "$backend: boot-sim exit $rc when nothing boots"
        grep -q 'no boot after 4 resets' "$T/sim.log" || fail "$backend: sim log"
        grep -q 'no slot has boot attempts left; resetting them to 3' "$T/sim.log" || fail "$backend: no reset of counts"
        if [ $backend = uboot ]; then
                fw_setenv -c "$FWCFG" cadu_rescue 'bootm ${rescue_addr}' 2>/dev/null
        else
                echo 'cadu_rescue=bootm ${rescue_addr}' >>"$ENVFILE"
        fi
        [ "$(sim --fail A --fail B)" = rescue ] || fail "$backend: rescue did not boot"
        expect_env BOOT_A_LEFT 3
        expect_env BOOT_B_LEFT 3

        # A BOOT_ORDER that names no slot (say, hand-edited): the script
        # repairs it; cadu refuses to guess and says why.
        if [ $backend = uboot ]; then
                fw_setenv -c "$FWCFG" BOOT_ORDER 'X Y' 2>/dev/null
        else
                sed -i 's/^BOOT_ORDER=.*/BOOT_ORDER=X Y/' "$ENVFILE"
        fi
        expect_fail 3 "bootloader environment: BOOT_ORDER='X Y' names 'X', not a slot \(A or B\)" \
                "$CADU" status -c "$CONF"
        [ "$(sim --fail A --fail B)" = rescue ] || fail "$backend: no boot with a broken BOOT_ORDER"
        expect_env BOOT_ORDER "A B"
        [ "$(sim)" = A ] || fail "$backend: repaired order does not boot A"
done
echo "boot-fallback: ok"
