#!/bin/sh
# The shipped systemd units: systemd-analyze verify accepts them (any
# warning fails), and their commands, run as the units run them, do the
# pull-mode cycle on a simulated device: the update service installs a newer
# release from an HTTP manifest URL, asks again without doing anything, the
# trial boot comes up, the mark-good service commits it, and an unchanged or
# older release is "nothing to do" (exit 0, environment untouched).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
if [ "${CI:-}" = true ]; then
        command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (CI)"
fi
need systemd-analyze

units=$T/units
mkdir "$units"
for u in cadu-mark-good.service cadu-update.service; do
        [ -f "$top_builddir/systemd/$u" ] || fail "$u was not built"
        # The installed path of cadu becomes the one under test.
        sed "s|^ExecStart=[^ ]*/cadu |ExecStart=$CADU |" "$top_builddir/systemd/$u" >"$units/$u"
done
cp "$top_srcdir/systemd/cadu-update.timer" "$units/"
systemd-analyze verify --man=no "$units/cadu-mark-good.service" "$units/cadu-update.service" \
        "$units/cadu-update.timer" >verify.out 2>&1 || fail "systemd-analyze verify: $(cat verify.out)"
[ ! -s verify.out ] || fail "systemd-analyze verify warns: $(cat verify.out)"
# It does catch mistakes.
sed 's/^Type=oneshot/Type=oneshoot/' "$units/cadu-update.service" >"$units/broken.service"
systemd-analyze verify --man=no "$units/broken.service" >broken.out 2>&1 || true
grep -q oneshoot broken.out || fail "systemd-analyze verify did not see a broken unit"

# unit_cmd UNIT: the unit's ExecStart command, with the device's config and
# ${CADU_MANIFEST_URL} from the environment file, as systemd would run it.
unit_cmd() {
        sed -n 's/^ExecStart=//p' "$units/$1" | sed "s| install | install -c $CONF |; s| mark-good$| mark-good -c $CONF|"
}
run_unit() {
        local cmd
        cmd=$(unit_cmd "$1")
        # shellcheck disable=SC1090
        (. "$T/default-cadu-update" && export CADU_MANIFEST_URL && eval "exec $cmd") >"$T/unit.out" 2>&1
}

make_pki
dev_setup uboot
mkdir www
device_release "$T/www/v1" 1.0.0
device_release "$T/www/v2" 2.0.0
factory "$T/www/v1"
nginx_start "$T/www"
url=http://127.0.0.1:$NGINX_HTTP_PORT

# A newer release is installed and armed for one trial boot.
echo "CADU_MANIFEST_URL=$url/v2/update.manifest" >"$T/default-cadu-update"
run_unit cadu-update.service || fail "update service failed: $(cat unit.out)"
slot_has b "$T/www/v2" || fail "slot B does not hold v2"
expect_env BOOT_ORDER "B A"
# The timer fires again before the reboot: nothing more happens.
gen=$(env_generation)
run_unit cadu-update.service || fail "second run failed: $(cat unit.out)"
grep -q "already installed" unit.out || fail "second run did not see the pending trial: $(cat unit.out)"
[ "$(env_generation)" = "$gen" ] || fail "second run wrote the environment"

# The trial boot comes up; boot-complete.target pulls in mark-good.
[ "$(sim)" = B ] || fail "trial boot did not boot B"
run_unit cadu-mark-good.service || fail "mark-good service failed: $(cat unit.out)"
expect_env BOOT_B_LEFT 3

# Now v2 runs: v2 again and the older v1 are nothing to do.
for v in v2 v1; do
        echo "CADU_MANIFEST_URL=$url/$v/update.manifest" >"$T/default-cadu-update"
        gen=$(env_generation)
        run_unit cadu-update.service || fail "update service failed on $v: $(cat unit.out)"
        grep -q "nothing to do" unit.out || fail "$v: no 'nothing to do': $(cat unit.out)"
        [ "$(env_generation)" = "$gen" ] || fail "$v wrote the environment"
done

# A manifest that does not verify is still an error.
echo "tampered" >>"$T/www/v2/update.manifest"
echo "CADU_MANIFEST_URL=$url/v2/update.manifest" >"$T/default-cadu-update"
rc=0
run_unit cadu-update.service || rc=$?
[ "$rc" -eq 3 ] || fail "tampered manifest: exit $rc, want 3: $(cat unit.out)"
echo "ok: units verify; pull-mode install, re-poll, commit, nothing-to-do, refusal"
