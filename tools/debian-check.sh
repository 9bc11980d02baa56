#!/bin/sh
# debian-check.sh - build the Debian packages (debian/) from a release
# tarball, check them with lintian, install them on this machine and use
# the installed cadu.
#
# usage: tools/debian-check.sh TARBALL
#   TARBALL  a `make dist` tarball (cadu-VERSION.tar.gz, which carries
#            debian/); tools/run-tests.sh passes the one distcheck checked.
#
# Steps: unpack TARBALL in a temporary directory, dpkg-buildpackage -us -uc
# -b there (no sanitizers, parallel=2, the test suite not run: see
# debian/rules), lintian (any error fails), apt-get install of the packages,
# then with the installed files: `cadu --version`; a seeded extract (two
# image versions made into two stores; the chunks the old version also has
# are removed from the new store, so the extract succeeds only by taking
# them from the seed; the output compared with cmp); the systemd units'
# enablement after installation (cadu-mark-good.service enabled,
# cadu-update.timer not); `pkg-config --cflags --libs cadu`, a two-line
# program built with it against libcadu-dev and run with the installed
# libcadu.so.0, and the packaged example (extract-seeded.c) built the same
# way and run for the same seeded extract; cadu-casync's /usr/bin/casync,
# unpacked with cadu into a scratch directory (installing it would remove
# Debian's casync, which the test suite uses), for the same seeded extract
# under casync's command line. Packages this script installed are purged
# at the end; if they were installed before, they are left upgraded.
#
# Needs root (apt-get install). Elsewhere it skips with a message, except
# with CI=true, where it fails. Needs dpkg-dev, debhelper and lintian
# (tools/deps.sh).
set -eu
me=tools/debian-check.sh
[ $# -eq 1 ] || { echo "usage: $me TARBALL" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
        if [ "${CI:-}" = true ]; then
                echo "$me: needs root to install the packages" >&2
                exit 1
        fi
        echo "$me: skipped: needs root to install the packages"
        exit 0
fi
tarball=$(realpath "$1")
start=$(date +%s)
work=$(mktemp -d /tmp/cadu-debian.XXXXXX)
pkgs="cadu libcadu0 libcadu-dev"
installed_before=""
for p in $pkgs; do
        dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' && installed_before="$installed_before $p"
done
cleanup() {
        purge=""
        for p in $pkgs; do
                case " $installed_before " in *" $p "*) ;; *) purge="$purge $p" ;; esac
        done
        # shellcheck disable=SC2086
        if [ -n "$purge" ] && dpkg-query -W $purge >/dev/null 2>&1; then
                dpkg --purge $purge >/dev/null 2>&1 || echo "$me: could not purge$purge" >&2
        fi
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "$me: $*" >&2; exit 1; }

# 1. Build from the unpacked tarball, not from the developer's tree.
tar -xzf "$tarball" -C "$work"
set -- "$work"/cadu-*/
[ $# -eq 1 ] && [ -f "$1/debian/control" ] || fail "$tarball: no cadu-*/debian/control in it"
# In a git checkout: the tarball carries every file of debian/ (their list
# is in tools/Makefile.inc).
top=$(cd "$(dirname "$0")/.." && pwd)
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
        for f in $(git -C "$top" ls-files debian); do
                [ -f "$1/$f" ] || fail "$f is not in $tarball: add it to EXTRA_DIST in tools/Makefile.inc"
        done
fi
cd "$1"
# DPKG_GENSYMBOLS_CHECK_LEVEL=4: libcadu's exports must match
# debian/libcadu0.symbols exactly (a function added to lib/libcadu.sym is
# added there too, with the version that brings it).
DEB_BUILD_OPTIONS="parallel=2 nocheck" DPKG_GENSYMBOLS_CHECK_LEVEL=4 \
        dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ||
        { tail -60 "$work/build.log"; fail "dpkg-buildpackage failed (log above)"; }
cd "$work"
changes=$(echo "$work"/cadu_*.changes)
[ -f "$changes" ] || fail "no .changes file after the build"

# 2. lintian: errors fail; warnings and the rest are shown.
lintian --fail-on error --display-info "$changes" >lintian.log 2>&1 || {
        cat lintian.log; fail "lintian found errors (above)"; }
echo "lintian: $(grep -c '^E:' lintian.log) errors, $(grep -c '^W:' lintian.log) warnings, $(grep -c '^I:' lintian.log) info"
grep '^[EWI]:' lintian.log || true

# 3. Install them (throwaway CI machine; purged again at exit unless they
# were installed before).
debs=""
for p in $pkgs; do
        set -- "$work/${p}"_*.deb
        [ $# -eq 1 ] && [ -f "$1" ] || fail "package $p was not built"
        debs="$debs $1"
done
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 $debs >install.log 2>&1 ||
        { cat install.log; fail "apt-get install of the packages failed"; }

# 4. The installed command.
cadu=/usr/bin/cadu
[ "$(dpkg-query -S "$cadu")" = "cadu: $cadu" ] || fail "$cadu does not come from the cadu package"
version=$("$cadu" --version) || fail "cadu --version failed"
echo "installed: $version"
mkdir t
cd t
# v2 is v1 with 64 KiB changed in the middle and 1 MB appended.
head -c 3000000 /dev/urandom >v1.img
cp v1.img v2.img
head -c 65536 /dev/urandom | dd of=v2.img bs=65536 seek=20 conv=notrunc status=none
head -c 1000000 /dev/urandom >>v2.img
"$cadu" -q make --store s1 v1.img v1.caibx
"$cadu" -q make --store s2 v2.img v2.caibx
shared=0
for f in $(cd s1 && find . -name '*.cacnk'); do
        if [ -f "s2/$f" ]; then
                rm "s2/$f"
                shared=$((shared + 1))
        fi
done
left=$(find s2 -name '*.cacnk' | wc -l)
[ "$shared" -gt 0 ] && [ "$left" -gt 0 ] || fail "test images: $shared shared chunks, $left new ones"
"$cadu" -q extract --store s2 v2.caibx noseed.img 2>/dev/null && fail "extract without the seed succeeded with $shared chunks missing"
"$cadu" -q extract --store s2 --seed v1.img v2.caibx out.img || fail "seeded extract failed"
cmp out.img v2.img || fail "seeded extract: output differs from v2.img"
echo "seeded extract: exact, $shared chunks from the seed, $left from the store"
cd ..

# 5. systemd units: mark-good enabled at boot, the update timer left to the
# operator (debian/rules, debian/README.Debian).
[ "$(systemctl is-enabled cadu-mark-good.service 2>&1)" = enabled ] ||
        fail "cadu-mark-good.service is not enabled after installation"
[ "$(systemctl is-enabled cadu-update.timer 2>&1)" = disabled ] ||
        fail "cadu-update.timer: $(systemctl is-enabled cadu-update.timer 2>&1) after installation, expected disabled"

# 6. libcadu-dev: a program built with pkg-config runs with the installed
# libcadu0.
cflags_libs=$(pkg-config --cflags --libs cadu) || fail "pkg-config --cflags --libs cadu failed"
echo "pkg-config --cflags --libs cadu: $cflags_libs"
printf '#include <stdio.h>\n#include <cadu/cadu.h>\nint main(void) { return puts(cadu_library_version()) < 0; }\n' >v.c
# shellcheck disable=SC2086
cc -o v v.c $cflags_libs || fail "a program does not build against libcadu-dev"
[ "$(./v)" = "${version#cadu }" ] || fail "libcadu says version $(./v), cadu --version $version"
lib=$(ldd ./v | sed -n 's/^[[:space:]]*libcadu\.so\.0 => \([^ ]*\) .*/\1/p')
case $(dpkg-query -S "$(realpath "${lib:-/nonexistent}")" 2>/dev/null) in
libcadu0:*) ;;
*) fail "the program does not use libcadu0's libcadu.so.0 (ldd: ${lib:-none})" ;;
esac
example=/usr/share/doc/libcadu-dev/examples/extract-seeded.c
[ -f "$example" ] || fail "no $example"
# shellcheck disable=SC2086
cc -o extract-seeded "$example" $cflags_libs || fail "$example does not build against libcadu-dev"
./extract-seeded t/v2.caibx t/s2 t/lib.img t/v1.img >extract-seeded.txt ||
        fail "the example's seeded extract failed"
cmp t/lib.img t/v2.img || fail "the example's seeded extract: output differs from v2.img"
echo "libcadu: $(./v) from $lib; extract-seeded.c: exact ($(tr "\n" ";" <extract-seeded.txt))"

# 7. cadu-casync: the link, run as casync.
root=$work/root
for p in cadu cadu-casync; do
        set -- "$work/${p}"_*.deb
        [ $# -eq 1 ] && [ -f "$1" ] || fail "package $p was not built"
        dpkg-deb -x "$1" "$root"
done
[ "$(readlink "$root/usr/bin/casync")" = cadu ] || fail "cadu-casync: /usr/bin/casync is not a link to cadu"
"$root/usr/bin/casync" extract --store t/s2 --seed t/v1.img --seed-output=no t/v2.caibx t/casync.img ||
        fail "cadu-casync: casync extract failed"
cmp t/casync.img t/v2.img || fail "cadu-casync: casync extract: output differs from v2.img"
echo "cadu-casync: casync extract through the link: exact"

echo "debian packages: built, lintian-clean of errors, installed and used in $(($(date +%s) - start)) s"
