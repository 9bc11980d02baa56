#!/bin/sh
# libcadu's installer through the shared library and the public header only
# (tests/libcadu-install.c), on the simulated device of boot-lib.sh: a real,
# redundant, file-backed U-Boot environment (libubootenv; read back with
# fw_printenv) and file-backed A/B slots. A manifest changed after signing
# is refused with -EBADMSG (a verification failure) and nothing is written;
# a download limit below the plan is refused with -EDQUOT; a dry run plans
# without writing; the install writes slot B byte-identical, arms the trial
# boot, and says where each image came from; run again, it has nothing to
# do. The library prints nothing itself.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
API=$top_builddir/tests/libcadu-install
[ -x "$API" ] || fail "no $API"
make_pki
dev_setup uboot
device_release "$T/v1" 1.0.0
device_release "$T/v2" 2.0.0
factory "$T/v1"
cd "$T"

# api OUT ARGS...: run the program; its stderr must stay empty.
api() {
        local out=$1
        shift
        rc=0
        "$API" "$CONF" "$@" > "$out" 2> err.txt || rc=$?
        [ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
}

# nothing_written: the slots and the environment are as before.
before=$(slots_digest)
gen=$(env_generation)
nothing_written() {
        [ "$(slots_digest)" = "$before" ] || fail "$1: slots written"
        [ "$(env_generation)" = "$gen" ] || fail "$1: environment stored"
}

# A manifest byte changed after signing.
cp -r "$T/v2" "$T/v2bad"
sed -i 's/^version = 2.0.0/version = 2.0.1/' "$T/v2bad/update.manifest"
api bad.txt "$T/v2bad/update.manifest"
[ "$rc" -eq 1 ] || fail "tampered manifest: exit $rc: $(cat bad.txt)"
grep -q "^failed -74 kind 3 last-error manifest $T/v2bad/update.manifest: signature does not match the manifest" bad.txt ||
        fail "tampered manifest: not -EBADMSG, a verification failure: $(cat bad.txt)"
grep -q "^log 3 manifest $T/v2bad/update.manifest: signature does not match" bad.txt ||
        fail "tampered manifest: no error logged: $(cat bad.txt)"
grep -q "^event verify-manifest - $T/v2bad/update.manifest$" bad.txt || fail "no verify-manifest event: $(cat bad.txt)"
nothing_written "tampered manifest"

# A download limit below what the install needs.
api limit.txt "$T/v2/update.manifest" max=1000
[ "$rc" -eq 1 ] || fail "download limit: exit $rc: $(cat limit.txt)"
grep -q "^failed -122 kind 4 last-error .*: the download needs .* bytes, more than the limit of 1000 bytes$" limit.txt ||
        fail "download limit: not -EDQUOT, a refusal: $(cat limit.txt)"
nothing_written "download limit"

# A dry run: planned, from chunks, nothing written.
api plan.txt "$T/v2/update.manifest" dry-run
[ "$rc" -eq 0 ] || fail "dry run: exit $rc: $(cat plan.txt)"
grep -q "^result planned$" plan.txt || fail "dry run: $(cat plan.txt)"
grep -q "^event done - dry run: nothing written$" plan.txt || fail "dry run: no done event: $(cat plan.txt)"
grep -q "^image rootfs device $D/b.img from chunks downloaded [1-9]" plan.txt || fail "dry run: rootfs plan: $(cat plan.txt)"
planned=$(sed -n 's/^version .* downloaded \([0-9]*\)$/\1/p' plan.txt)
[ "${planned:-0}" -gt 0 ] || fail "dry run: no bytes planned: $(cat plan.txt)"
nothing_written "dry run"

# The install.
api install.txt "$T/v2/update.manifest"
[ "$rc" -eq 0 ] || fail "install: exit $rc: $(cat install.txt)"
grep -q "^result installed$" install.txt || fail "install: $(cat install.txt)"
grep -q "^version 2.0.0 signer release-signer booted A target B downloaded [1-9]" install.txt ||
        fail "install: version, signer, slots: $(cat install.txt)"
slot_has b "$T/v2" || fail "slot B does not hold v2"
slot_has a "$T/v1" || fail "slot A was touched"
expect_env BOOT_ORDER "B A"
expect_env BOOT_B_LEFT 1
# The phases, in order.
sed -n 's/^event \([a-z-]*\) \([a-z-]*\) .*/\1 \2/p' install.txt | tr '\n' ',' > phases
[ "$(cat phases)" = "verify-manifest -,write rootfs,verify rootfs,write kernel,verify kernel,switch -," ] ||
        fail "install: phases: $(cat phases)"
# Where each image came from: chunks, mostly the running slot's.
size=$(stat -c %s "$T/v2/rootfs.img")
grep -q "^image rootfs device $D/b.img from chunks downloaded [1-9]" install.txt || fail "install: rootfs: $(cat install.txt)"
grep -q "^image kernel device $D/kb.img from chunks downloaded " install.txt || fail "install: kernel: $(cat install.txt)"
seeds=$(sed -n 's/^source rootfs seeds [0-9]* \([0-9]*\)$/\1/p' install.txt)
stores=$(sed -n 's/^source rootfs stores [0-9]* \([0-9]*\)$/\1/p' install.txt)
[ "${seeds:-0}" -gt "${stores:-0}" ] && [ "${stores:-0}" -gt 0 ] ||
        fail "install: rootfs not mostly from the running slot (seeds $seeds, stores $stores)"
sum=$(awk '$1 == "source" && $2 == "rootfs" && $3 != "missing" { s += $5 } END { print s }' install.txt)
[ "$sum" -eq "$size" ] || fail "install: rootfs sources add up to $sum bytes, not $size"
grep -q "^progress install rootfs starts 1 ends 1 backwards 0 total $size$" install.txt ||
        fail "install: progress of rootfs: $(grep ^progress install.txt)"
! grep -q "^log " install.txt || fail "install: logged: $(grep ^log install.txt)"

# The slots as the library reads them: A runs, B's trial is pending.
api st1.txt status
[ "$rc" -eq 0 ] || fail "status: exit $rc: $(cat st1.txt)"
[ "$(cat st1.txt)" = "booted A next B pending B failed -
slot A unknown 2
slot B trial 1" ] || fail "status after the install: $(cat st1.txt)"

# Again: installed, its trial pending: nothing to do, nothing written.
before=$(slots_digest)
gen=$(env_generation)
api again.txt "$T/v2/update.manifest"
[ "$rc" -eq 0 ] || fail "again: exit $rc: $(cat again.txt)"
grep -q "^result already-pending$" again.txt || fail "again: $(cat again.txt)"
nothing_written "again"

# The trial boot of B, then the commit through the library: without the
# lock refused, with it B is good with its attempts reset, in the
# environment (fw_printenv) and in `cadu status`; 2.0.0 is the floor.
[ "$(sim)" = B ] || fail "the trial boot did not boot B"
api st2.txt status
grep -q "^booted B next A pending - failed -$" st2.txt && grep -q "^slot B trial 0$" st2.txt ||
        fail "status on trial: $(cat st2.txt)"
api mg0.txt mark-good-unlocked
[ "$rc" -eq 1 ] && grep -q "^failed -1 " mg0.txt || fail "mark-good without the lock: exit $rc: $(cat mg0.txt)"
expect_env BOOT_B_LEFT 0
api mg.txt mark-good
[ "$rc" -eq 0 ] || fail "mark-good: exit $rc: $(cat mg.txt)"
[ "$(cat mg.txt)" = "booted B next B pending - failed -
slot A unknown 2
slot B good 3" ] || fail "mark-good: $(cat mg.txt)"
expect_env BOOT_ORDER "B A"
expect_env BOOT_B_LEFT 3
expect_env cadu_min_version 2.0.0
[ "$(json_get 's["slots"][1]["state"]')" = good ] || fail "cadu status: B is not good"

# mark-bad and rollback through the library. B runs and is good, A is
# unknown: without the lock -EPERM; marking B bad and rolling back to A are
# refused with -ENOTRECOVERABLE and their line logged, nothing changed.
before=$(slots_digest)
gen=$(env_generation)
api mb0.txt mark-bad-unlocked
[ "$rc" -eq 1 ] && grep -q "^failed -1 " mb0.txt || fail "mark-bad without the lock: exit $rc: $(cat mb0.txt)"
api mb1.txt mark-bad
[ "$rc" -eq 1 ] || fail "mark-bad of the running slot, A unknown: exit $rc: $(cat mb1.txt)"
grep -q "^log 3 refusing to mark slot B bad: it is running, and slot A does not hold a good image (state unknown); use --force to do it anyway$" mb1.txt &&
        grep -q "^failed -131 last-error refusing to mark slot B bad" mb1.txt || fail "mark-bad not refused: $(cat mb1.txt)"
api rb1.txt rollback
[ "$rc" -eq 1 ] || fail "rollback to an unknown A: exit $rc: $(cat rb1.txt)"
grep -q "^log 3 refusing to roll back to slot A: it does not hold a good image (state unknown)$" rb1.txt &&
        grep -q "^failed -131 last-error refusing to roll back to slot A" rb1.txt || fail "rollback not refused: $(cat rb1.txt)"
nothing_written "refused mark-bad and rollback"
api st3.txt status
[ "$(cat st3.txt)" = "$(cat mg.txt)" ] || fail "status after the refusals: $(cat st3.txt)"

# Forced: B is bad, out of the boot order's lead with no attempts, and A
# boots next.
api mb2.txt mark-bad-force
[ "$rc" -eq 0 ] || fail "mark-bad --force: exit $rc: $(cat mb2.txt)"
[ "$(cat mb2.txt)" = "booted B next A pending - failed -
slot A unknown 2
slot B bad 0" ] || fail "mark-bad --force: $(cat mb2.txt)"
expect_env BOOT_ORDER "A B"
expect_env BOOT_B_LEFT 0
[ "$(json_get 's["slots"][1]["state"]')" = bad ] || fail "cadu status: B is not bad"

# A boots and is committed; B is bad: rolling back is refused.
[ "$(sim)" = A ] || fail "A did not boot after B was marked bad"
api mg2.txt mark-good
[ "$rc" -eq 0 ] || fail "mark-good of A: exit $rc: $(cat mg2.txt)"
gen=$(env_generation)
api rb2.txt rollback
[ "$rc" -eq 1 ] && grep -q "^failed -131 last-error refusing to roll back to slot B: it does not hold a good image (state bad)$" rb2.txt ||
        fail "rollback to a bad B: exit $rc: $(cat rb2.txt)"
[ "$(env_generation)" = "$gen" ] || fail "refused rollback: environment stored"

# B installed again, booted and committed: both are good, and the rollback
# to A is accepted: A boots next with its attempts reset.
api install2.txt "$T/v2/update.manifest"
[ "$rc" -eq 0 ] && grep -q "^result installed$" install2.txt || fail "install into B again: exit $rc: $(cat install2.txt)"
[ "$(sim)" = B ] || fail "the second trial boot did not boot B"
api mg3.txt mark-good
[ "$rc" -eq 0 ] || fail "mark-good of B again: exit $rc: $(cat mg3.txt)"
api rb3.txt rollback
[ "$rc" -eq 0 ] || fail "rollback to a good A: exit $rc: $(cat rb3.txt)"
[ "$(cat rb3.txt)" = "booted B next A pending - failed -
slot A good 3
slot B good 3" ] || fail "rollback: $(cat rb3.txt)"
expect_env BOOT_ORDER "A B"
expect_env BOOT_A_LEFT 3
[ "$(sim)" = A ] || fail "the rollback did not boot A"

# With A good, marking the running A bad needs no force.
api mb3.txt mark-bad
[ "$rc" -eq 0 ] || fail "mark-bad of A, B good: exit $rc: $(cat mb3.txt)"
grep -q "^slot A bad 0$" mb3.txt || fail "mark-bad of A: $(cat mb3.txt)"
expect_env BOOT_A_LEFT 0
expect_env BOOT_ORDER "B A"
exit 0
