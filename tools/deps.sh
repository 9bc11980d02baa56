#!/bin/sh
# Install what building and testing cadu needs on Debian 12 (run as root).
# Installs only what is missing; safe to run again.
set -eu
pkgs="build-essential autoconf automake pkg-config
      libzstd-dev libssl-dev libcurl4-openssl-dev libxxhash-dev libubootenv-dev check
      libubootenv-tool casync rdiff nginx openssl python3 zstd e2fsprogs time util-linux procps
      curl bc swupdate cpio"
missing=""
for p in $pkgs; do
        dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
        echo "tools/deps.sh: missing packages:$missing (run as root to install them)" >&2
        exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# nginx's Debian package starts a server on port 80; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q nginx 2>/dev/null; then
        systemctl stop nginx || true
fi
