#!/bin/sh
# mkenv.sh - create the U-Boot environment that an fw_env.config describes,
# when its devices are plain files (tests, emulators, image builders), and
# write initial variables into it with the real libubootenv tool.
#
# usage: mkenv.sh FW_ENV_CONFIG [NAME=VALUE]...
#
# Every file named in FW_ENV_CONFIG (one copy, or two for a redundant
# environment) is created, or extended, to OFFSET + SIZE bytes of zeros when
# it is shorter. The variables are then written with a single
#   fw_setenv -c FW_ENV_CONFIG -f VARS -s VARS
# (-f supplies them as the default environment when no copy is valid yet).
# Check the result with: fw_printenv -c FW_ENV_CONFIG
set -eu

[ $# -ge 1 ] || { echo "usage: mkenv.sh FW_ENV_CONFIG [NAME=VALUE]..." >&2; exit 64; }
config=$1
shift
command -v fw_setenv >/dev/null || { echo "mkenv.sh: fw_setenv not found (Debian: libubootenv-tool)" >&2; exit 69; }
[ -r "$config" ] || { echo "mkenv.sh: cannot read $config" >&2; exit 66; }

devices=0
while read -r dev off size _rest; do
        case $dev in ''|\#*) continue ;; esac
        [ -n "${size:-}" ] || { echo "mkenv.sh: $config: '$dev' lacks offset and size" >&2; exit 65; }
        end=$((off + size))
        if [ -b "$dev" ] || [ -c "$dev" ]; then
                echo "mkenv.sh: $dev is a device; refusing to touch it" >&2
                exit 65
        fi
        have=0
        [ -e "$dev" ] && have=$(wc -c <"$dev")
        if [ "$have" -lt "$end" ]; then
                mkdir -p "$(dirname "$dev")"
                truncate -s "$end" "$dev"
        fi
        devices=$((devices + 1))
done <"$config"
[ "$devices" -gt 0 ] || { echo "mkenv.sh: $config names no environment device" >&2; exit 65; }

vars=$(mktemp "${TMPDIR:-/tmp}/mkenv.XXXXXX")
trap 'rm -f "$vars"' EXIT
for v in "$@"; do
        case $v in
        =*|[!=]*=*) ;;
        *) echo "mkenv.sh: '$v' is not NAME=VALUE" >&2; exit 64 ;;
        esac
        [ "${v%%=*}" != "" ] || { echo "mkenv.sh: '$v' has no name" >&2; exit 64; }
        printf '%s\n' "$v" >>"$vars"
done
fw_setenv -c "$config" -f "$vars" -s "$vars" 2>/dev/null || {
        # fw_setenv reports "Cannot read environment, using default" on a
        # first write; only a failing status matters.
        echo "mkenv.sh: fw_setenv -c $config failed" >&2
        exit 1
}
fw_printenv -c "$config" >/dev/null 2>&1 || { echo "mkenv.sh: $config: environment unreadable after writing" >&2; exit 1; }
