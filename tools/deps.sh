#!/bin/sh
# Install what building and testing cadu needs on Debian 12 (run as root).
# Installs only what is missing; safe to run again.
#
# The real-U-Boot tests (tests/uboot-*.sh) need qemu-system-arm 8.0 or later:
# Debian 12's own 7.2 loses U-Boot's saveenv (only the first 4 KiB of each
# pflash sector reaches the file, QEMU issue 2343). It comes from
# bookworm-backports, which this script adds to APT's sources when needed;
# qemu-system-x86 (OVMF and EFI Boot Guard, tests/ebg-ovmf.sh) comes from
# there too, so that both are the same QEMU.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config
      libzstd-dev libssl-dev libcurl4-openssl-dev libxxhash-dev libubootenv-dev check
      libubootenv-tool casync rdiff nginx openssl python3 zstd e2fsprogs time util-linux procps xfsprogs strace
      curl bc swupdate cpio u-boot-qemu u-boot-tools dosfstools mtools groff-base
      systemd rauc dbus squashfs-tools
      efibootguard libebgenv-dev libjson-c-dev ovmf grub-efi-amd64-bin
      debhelper dpkg-dev lintian"
backports_pkgs="qemu-system-arm qemu-system-x86"
BACKPORTS="deb http://deb.debian.org/debian bookworm-backports main"
missing=""
for p in $pkgs; do
        dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
missing_bpo=""
for p in $backports_pkgs; do
        v=$(dpkg-query -W -f '${Status} ${Version}\n' "$p" 2>/dev/null | sed -n 's/^install ok installed \([0-9]*:\)\{0,1\}\([0-9]*\)\..*/\2/p')
        [ "${v:-0}" -ge 8 ] || missing_bpo="$missing_bpo $p"
done
[ -z "$missing$missing_bpo" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
        echo "tools/deps.sh: missing packages:$missing$missing_bpo (run as root to install them)" >&2
        exit 1
fi
echo "Installing:$missing$missing_bpo"
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing_bpo" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "$BACKPORTS" >/etc/apt/sources.list.d/cadu-bookworm-backports.list
fi
apt-get update -q
# shellcheck disable=SC2086
[ -z "$missing" ] || apt-get install -y -q --no-install-recommends $missing
# shellcheck disable=SC2086
[ -z "$missing_bpo" ] || apt-get install -y -q --no-install-recommends -t bookworm-backports $missing_bpo
# nginx's Debian package starts a server on port 80; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q nginx 2>/dev/null; then
        systemctl stop nginx || true
fi
