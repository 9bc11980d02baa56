#!/bin/sh
# The A/B cycle on both bootloader backends, with the real libubootenv on a
# redundant file-backed environment and the shipped U-Boot script run by the
# boot simulator: first boot -> mark-good -> trial of B (one environment
# store) -> B boots -> mark-good commits B -> rollback to A -> mark-bad B.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/boot-lib.sh"

for backend in uboot file; do
        dev_setup $backend

        # First power-on: nothing set yet, the script's defaults boot A.
        [ "$(sim)" = A ] || fail "$backend: first boot did not start A"
        [ "$(booted_from_cmdline)" = A ] || fail "$backend: cmdline lacks cadu.slot=A: $(cat "$CMDLINE")"
        grep -q '^console=ttyS0 cadu.slot=A$' "$CMDLINE" || fail "$backend: bootargs not kept: $(cat "$CMDLINE")"
        expect_env BOOT_ORDER "A B"
        expect_env BOOT_A_LEFT 2
        expect_env BOOT_B_LEFT 3
        expect_env cadu_slot A
        # bootargs with cadu.slot are for this boot only, never saved.
        expect_env bootargs console=ttyS0

        # A good boot: mark-good restores A's attempts and records A good.
        "$CADU" mark-good -c "$CONF" >"$T/out" || fail "$backend: mark-good failed"
        grep -q '^slot A marked good; next boot: slot A$' "$T/out" || fail "$backend: mark-good said: $(cat "$T/out")"
        expect_env BOOT_A_LEFT 3
        expect_env BOOT_ORDER "A B"
        [ "$(json_get 's["slots"][0]["state"]')" = good ] || fail "$backend: A not good"
        [ "$(json_get 's["slots"][0]["images"][1]["class"]')" = kernel ] || fail "$backend: classes"

        # mark-good again changes nothing and does not write the environment.
        g0=$(env_generation)
        "$CADU" -q mark-good -c "$CONF" || fail "$backend: second mark-good failed"
        [ "$(env_generation)" = "$g0" ] || fail "$backend: an unchanged environment was written"

        # Install's final step: trial of B in exactly one environment store.
        "$BOOT_TOOL" trial "$CONF" B 2.0 || fail "$backend: trial failed"
        expect_env BOOT_ORDER "B A"
        expect_env BOOT_B_LEFT 1
        expect_env BOOT_A_LEFT 3
        if [ $backend = uboot ]; then
                [ "$(env_generation)" -eq $((g0 + 1)) ] || fail "trial took $(($(env_generation) - g0)) stores, not 1"
        fi
        [ "$(json_get 's["pending_trial"]')" = B ] || fail "$backend: status shows no pending trial"
        [ "$(json_get 's["next_boot"]')" = B ] || fail "$backend: next boot is not B"
        "$CADU" status -c "$CONF" >"$T/status"
        grep -q 'a trial boot of slot B is set up for the next reboot' "$T/status" || fail "$backend: $(cat "$T/status")"

        # mark-good on A while the trial is pending keeps the trial.
        "$CADU" mark-good -c "$CONF" >"$T/out" || fail "$backend: mark-good with pending trial failed"
        grep -q 'trial boot of slot B stays set up' "$T/out" || fail "$backend: $(cat "$T/out")"
        expect_env BOOT_ORDER "B A"
        expect_env BOOT_B_LEFT 1

        # Reboot: the script boots B with its single attempt.
        [ "$(sim)" = B ] || fail "$backend: trial boot did not start B"
        [ "$(booted_from_cmdline)" = B ] || fail "$backend: cmdline: $(cat "$CMDLINE")"
        expect_env BOOT_B_LEFT 0
        [ "$(json_get 's["booted"]')" = B ] || fail "$backend: status does not see B booted"
        [ "$(json_get 's["on_trial"]')" = True ] || fail "$backend: status does not see the trial"
        # Without mark-good, the next boot would fall back to A.
        [ "$(json_get 's["next_boot"]')" = A ] || fail "$backend: next boot after an uncommitted trial is not A"
        "$CADU" status -c "$CONF" >"$T/status"
        grep -q "slot B is on trial: run 'cadu mark-good' to keep it" "$T/status" || fail "$backend: $(cat "$T/status")"

        # B works: commit it.
        "$CADU" mark-good -c "$CONF" >/dev/null || fail "$backend: mark-good of B failed"
        expect_env BOOT_ORDER "B A"
        expect_env BOOT_B_LEFT 3
        [ "$(json_get 's["slots"][1]["state"]')" = good ] || fail "$backend: B not good"
        [ "$(json_get 's["slots"][1]["images"][0]["version"]')" = 2.0 ] || fail "$backend: B version"
        [ "$(sim)" = B ] || fail "$backend: committed B does not boot"
        [ "$(sim)" = B ] || fail "$backend: committed B does not boot twice"
        expect_env BOOT_B_LEFT 1
        "$CADU" -q mark-good -c "$CONF"
        expect_env BOOT_B_LEFT 3

        # Rollback on demand: A holds a good image.
        g0=$(env_generation)
        "$CADU" rollback -c "$CONF" >"$T/out" || fail "$backend: rollback failed"
        grep -q '^slot A set to boot next; next boot: slot A$' "$T/out" || fail "$backend: rollback said: $(cat "$T/out")"
        expect_env BOOT_ORDER "A B"
        expect_env BOOT_A_LEFT 3
        if [ $backend = uboot ]; then
                [ "$(env_generation)" -eq $((g0 + 1)) ] || fail "rollback took more than one store"
        fi
        [ "$(sim)" = A ] || fail "$backend: rollback did not boot A"
        "$CADU" -q mark-good -c "$CONF"

        # Take B out of service: it is not running, so no --force is needed.
        "$CADU" mark-bad B -c "$CONF" >/dev/null || fail "$backend: mark-bad B failed"
        expect_env BOOT_ORDER "A B"
        expect_env BOOT_B_LEFT 0
        [ "$(json_get 's["slots"][1]["state"]')" = bad ] || fail "$backend: B not bad"
        # ... and now rolling back to it is refused, with nothing written.
        g0=$(env_generation)
        expect_fail 4 'refusing to roll back to slot B: it does not hold a good image \(state bad\)' \
                "$CADU" rollback -c "$CONF"
        [ "$(env_generation)" = "$g0" ] || fail "$backend: refused rollback wrote the environment"
        [ "$(sim)" = A ] || fail "$backend: A does not boot after B was marked bad"

        # Marking the running slot bad is refused while B is bad ...
        expect_fail 4 'refusing to mark slot A bad: it is running, and slot B does not hold a good image \(state bad\); use --force' \
                "$CADU" mark-bad -c "$CONF"
        expect_env BOOT_ORDER "A B"
        # ... and done with --force: the next boot then tries B.
        "$CADU" -q mark-bad --force -c "$CONF" || fail "$backend: mark-bad --force failed"
        expect_env BOOT_ORDER "B A"
        expect_env BOOT_A_LEFT 0
        # Both slots without attempts: the script resets the counts and the
        # board resets; then B, first in the order, boots.
        [ "$(sim)" = B ] || fail "$backend: no boot after every count reached 0"
        expect_env BOOT_A_LEFT 3
        expect_env BOOT_B_LEFT 2
done
echo "boot-cycle: ok"
