#!/bin/sh
# mkdebpair.sh - a realistic update pair from real Debian packages, for the
# bandwidth benchmark (tools/bench-bytes.sh) and for tuning.
#
# usage: tools/mkdebpair.sh [OUTDIR] [CACHEDIR]
#   OUTDIR    default /var/tmp/cadu-bench
#   CACHEDIR  default OUTDIR/cache (downloaded .debs and the two trees; a
#             rerun reuses them and only rebuilds what is missing)
#
# v1: debootstrap of Debian 12 "bookworm" (VARIANT, default: debootstrap's
#     default variant; "minbase" is smaller) from MIRROR (default
#     http://deb.debian.org/debian), suite bookworm only.
# v2: v1 after `apt-get upgrade` with bookworm-updates and bookworm-security
#     enabled, plus NEW_PKGS (default: curl less nano) and a few edited
#     configuration files, all in a chroot (proc, sys and dev mounted for the
#     run and unmounted after; policy-rc.d keeps services from starting).
# Both trees lose apt's package lists and caches, as image builders do.
#
# Writes OUTDIR/v1.img and v2.img (SIZE_MIB, default 1024, ext4 filled by
# mkfs.ext4 -d without mounting: fixed UUID, hash seed and inode times other
# than mtime), v1.sqfs and v2.sqfs (xz squashfs of each tree), v2-changes.txt
# (what the upgrade changed) and, last, READY (what was built, how long it
# took). Needs root (debootstrap, chroot, mount), network access to the
# mirrors, debootstrap, e2fsprogs (mkfs.ext4, debugfs), squashfs-tools and
# python3.
set -eu

OUT=${1:-/var/tmp/cadu-bench}
CACHE=${2:-$OUT/cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
VARIANT=${VARIANT:-}
NEW_PKGS=${NEW_PKGS:-curl less nano}
SIZE=${SIZE_MIB:-1024}
EPOCH=1700000000
UUID=c0ffee00-cad0-4d1f-8e1f-00000000deb1
PATH=$PATH:/sbin:/usr/sbin

die() { echo "mkdebpair: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mount)"
for c in debootstrap chroot mount umount mkfs.ext4 debugfs mksquashfs python3; do
        command -v "$c" >/dev/null 2>&1 ||
                die "$c not found (apt-get install debootstrap e2fsprogs squashfs-tools python3)"
done

start=$(date +%s)
mkdir -p "$OUT" "$CACHE/debs" "$CACHE/archives/partial"
OUT=$(cd "$OUT" && pwd)
CACHE=$(cd "$CACHE" && pwd)
rm -f "$OUT/READY"
export SOURCE_DATE_EPOCH=$EPOCH E2FSPROGS_FAKE_TIME=$EPOCH LC_ALL=C
export DEBIAN_FRONTEND=noninteractive

MOUNTED=""
cleanup() {
        for m in $MOUNTED; do umount -l "$m" 2>/dev/null || true; done
        MOUNTED=""
}
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT TERM

# chroot_run TREE CMD...: CMD inside TREE with proc, sys, dev and the .deb
# cache mounted, services kept from starting.
chroot_run() {
        t=$1
        shift
        mount -t proc proc "$t/proc" && MOUNTED="$t/proc $MOUNTED"
        mount -t sysfs sys "$t/sys" && MOUNTED="$t/sys $MOUNTED"
        mount --bind /dev "$t/dev" && MOUNTED="$t/dev $MOUNTED"
        mount --bind /dev/pts "$t/dev/pts" && MOUNTED="$t/dev/pts $MOUNTED"
        mount --bind "$CACHE/archives" "$t/var/cache/apt/archives" &&
                MOUNTED="$t/var/cache/apt/archives $MOUNTED"
        printf '#!/bin/sh\nexit 101\n' >"$t/usr/sbin/policy-rc.d"
        chmod 755 "$t/usr/sbin/policy-rc.d"
        rc=0
        chroot "$t" "$@" || rc=$?
        rm -f "$t/usr/sbin/policy-rc.d"
        cleanup
        return $rc
}

# apt_clean TREE: what an image builder removes (package lists, caches).
apt_clean() {
        rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb
        mkdir -p "$1/var/lib/apt/lists/partial"
}

if [ ! -f "$CACHE/v1.done" ]; then
        echo "mkdebpair: debootstrap bookworm${VARIANT:+ ($VARIANT)} from $MIRROR" >&2
        rm -rf "$CACHE/v1"
        debootstrap ${VARIANT:+--variant="$VARIANT"} --cache-dir="$CACHE/debs" \
                bookworm "$CACHE/v1" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
                die "debootstrap failed: see $CACHE/debootstrap.log"
        echo "deb $MIRROR bookworm main" >"$CACHE/v1/etc/apt/sources.list"
        echo device >"$CACHE/v1/etc/hostname"
        apt_clean "$CACHE/v1"
        touch "$CACHE/v1.done"
fi

if [ ! -f "$CACHE/v2.done" ]; then
        echo "mkdebpair: v2 = v1 + upgrade from bookworm-updates, bookworm-security + $NEW_PKGS" >&2
        rm -rf "$CACHE/v2"
        cp -a "$CACHE/v1" "$CACHE/v2"
        t=$CACHE/v2
        cat >"$t/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
        chroot_run "$t" sh -c "dpkg-query -W -f '\${Package} \${Version}\n' >/tmp/before &&
                apt-get -q update && apt-get -q -y upgrade &&
                apt-get -q -y install --no-install-recommends $NEW_PKGS &&
                dpkg-query -W -f '\${Package} \${Version}\n' >/tmp/after" \
                >"$CACHE/upgrade.log" 2>&1 || die "upgrade failed: see $CACHE/upgrade.log"
        # configuration edits, as a device maker would make them
        echo device-v2 >"$t/etc/hostname"
        sed -i 's/^127\.0\.1\.1.*//' "$t/etc/hosts"
        echo "127.0.1.1	device-v2" >>"$t/etc/hosts"
        printf '\nThis device is updated by cadu.\n' >>"$t/etc/motd"
        printf 'net.ipv4.tcp_keepalive_time = 120\nvm.swappiness = 10\n' >"$t/etc/sysctl.d/90-device.conf"
        sed -i 's/^UMASK.*/UMASK\t\t027/' "$t/etc/login.defs"
        printf "alias ll='ls -l'\n" >>"$t/etc/bash.bashrc"
        diff "$t/tmp/before" "$t/tmp/after" | grep '^[<>]' >"$CACHE/v2-changes.txt" || true
        rm -f "$t/tmp/before" "$t/tmp/after"
        apt_clean "$t"
        touch "$CACHE/v2.done"
fi
cp "$CACHE/v2-changes.txt" "$OUT/v2-changes.txt"

for v in v1 v2; do
        t=$CACHE/$v
        if [ ! -f "$OUT/$v.img" ] || [ "$CACHE/$v.done" -nt "$OUT/$v.img" ]; then
                echo "mkdebpair: $v.img ($SIZE MiB ext4)" >&2
                # mkfs.ext4 -d copies atime and ctime, which cannot be set on
                # the tree: pin them (and crtime) to each inode's mtime.
                python3 - "$t" >"$CACHE/$v.debugfs" <<'PY'
import os, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        rel = "/" + os.path.relpath(p, root)
        if '"' in rel or "\n" in rel:
            continue
        m = int(os.lstat(p).st_mtime)
        for f in ("atime", "ctime", "crtime"):
            print('sif "%s" %s @%d' % (rel, f, m))
for f in ("atime", "ctime", "crtime", "mtime"):
    print('sif / %s @%d' % (f, int(os.lstat(root).st_mtime)))
PY
                rm -f "$OUT/$v.img.tmp"
                mkfs.ext4 -q -F -b 4096 -I 256 -L "device" -U "$UUID" \
                        -E "hash_seed=$UUID,root_owner=0:0,nodiscard" -d "$t" "$OUT/$v.img.tmp" "${SIZE}M"
                debugfs -w -f "$CACHE/$v.debugfs" "$OUT/$v.img.tmp" >/dev/null 2>&1
                mv "$OUT/$v.img.tmp" "$OUT/$v.img"
        fi
        if [ ! -f "$OUT/$v.sqfs" ] || [ "$CACHE/$v.done" -nt "$OUT/$v.sqfs" ]; then
                echo "mkdebpair: $v.sqfs (xz)" >&2
                rm -f "$OUT/$v.sqfs.tmp"
                nice mksquashfs "$t" "$OUT/$v.sqfs.tmp" -comp xz -noappend -no-progress -quiet \
                        -processors 2 >/dev/null
                mv "$OUT/$v.sqfs.tmp" "$OUT/$v.sqfs"
        fi
done

end=$(date +%s)
{
        echo "built by tools/mkdebpair.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((end - start)) s"
        echo "v1: debootstrap bookworm${VARIANT:+ --variant=$VARIANT} from $MIRROR"
        echo "v2: v1 + apt-get upgrade (bookworm-updates, bookworm-security) + $NEW_PKGS + config edits"
        echo "packages changed: $(grep -c '^>' "$OUT/v2-changes.txt")"
        echo "tree sizes: v1 $(du -sm "$CACHE/v1" | cut -f1) MiB, v2 $(du -sm "$CACHE/v2" | cut -f1) MiB"
        ls -l "$OUT"/v1.img "$OUT"/v2.img "$OUT"/v1.sqfs "$OUT"/v2.sqfs
} >"$OUT/READY.tmp"
mv "$OUT/READY.tmp" "$OUT/READY"
cat "$OUT/READY"
