#!/bin/sh
# boot-sim.sh - simulate one power-on of a device: run the shipped U-Boot
# boot script (tools/uboot-boot.cmd) with /bin/sh against a real environment.
#
# usage: boot-sim.sh (--uboot FW_ENV_CONFIG | --file ENVFILE) --cmdline FILE
#                    [--fail SLOT]... [--script FILE] [--max-resets N]
#
# The environment is loaded with the real `fw_printenv -c` (or read from the
# file backend's NAME=VALUE file) into shell variables; U-Boot's commands
# are shell functions:
#   setenv NAME [VALUE...]  set (or, without a value, unset) a variable
#   setexpr NAME A OP B     arithmetic in hex, as U-Boot computes
#   saveenv                 write every variable set since power-on with ONE
#                           `fw_setenv -c FW_ENV_CONFIG -s SCRIPT` (or an
#                           atomic rewrite of the file)
#   run VAR...              execute the commands stored in variables
#   boot, bootm, bootz, booti, bootefi
#                           "boot the kernel": write $bootargs to the fake
#                           /proc/cmdline (--cmdline) and end the power-on;
#                           for a slot given with --fail the kernel does not
#                           load and the command returns 1
#   reset                   end this power-on and start the script again
# Prints the booted slot (A, B, or "rescue" when cadu_rescue booted) on
# stdout; the script's own messages go to stderr. Exit status: 0 booted,
# 2 no boot after --max-resets resets (default 4), 3 environment error.
set -eu

SIM_SCRIPT=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tools/uboot-boot.cmd
SIM_BACKEND= SIM_PATH= SIM_CMDLINE= SIM_FAIL= SIM_MAX_RESETS=4
while [ $# -gt 0 ]; do
        case $1 in
        --uboot) SIM_BACKEND=uboot SIM_PATH=$2; shift 2 ;;
        --file) SIM_BACKEND=file SIM_PATH=$2; shift 2 ;;
        --cmdline) SIM_CMDLINE=$2; shift 2 ;;
        --fail) SIM_FAIL="$SIM_FAIL $2"; shift 2 ;;
        --script) SIM_SCRIPT=$2; shift 2 ;;
        --max-resets) SIM_MAX_RESETS=$2; shift 2 ;;
        *) echo "boot-sim: unknown argument '$1'" >&2; exit 64 ;;
        esac
done
[ -n "$SIM_BACKEND" ] && [ -n "$SIM_CMDLINE" ] || { echo "boot-sim: need --uboot or --file, and --cmdline" >&2; exit 64; }
SIM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/boot-sim.XXXXXX")
trap 'rm -rf "$SIM_TMP"' EXIT

# One power-on in a subshell: a fresh shell that knows only the stored environment.
sim_power_on() (
        set +eu
        SIM_NAMES=
        sim_known() { case " $SIM_NAMES " in *" $1 "*) ;; *) SIM_NAMES="$SIM_NAMES $1" ;; esac; }
        sim_valid_name() { case $1 in ''|[0-9]*|*[!A-Za-z0-9_]*) return 1 ;; esac; }

        if [ "$SIM_BACKEND" = uboot ]; then
                fw_printenv -c "$SIM_PATH" >"$SIM_TMP/env" 2>"$SIM_TMP/env.err" ||
                        { echo "boot-sim: fw_printenv: $(cat "$SIM_TMP/env.err")" >&2; exit 3; }
        else
                cat "$SIM_PATH" >"$SIM_TMP/env" || exit 3
        fi
        SIM_LOADED=
        : >"$SIM_TMP/keep"
        while IFS= read -r SIM_LINE || [ -n "$SIM_LINE" ]; do
                case $SIM_LINE in \#*|'') continue ;; esac
                SIM_N=${SIM_LINE%%=*}
                SIM_V=${SIM_LINE#*=}
                # Names the shell cannot hold (ethaddr is fine, "a-b" is not)
                # are left alone: the script does not read them.
                if ! sim_valid_name "$SIM_N" || [ "${SIM_N#SIM_}" != "$SIM_N" ]; then
                        printf '%s\n' "$SIM_LINE" >>"$SIM_TMP/keep"
                        continue
                fi
                eval "$SIM_N=\$SIM_V"
                SIM_LOADED="$SIM_LOADED $SIM_N"
        done <"$SIM_TMP/env"

        setenv() {
                SIM_N=$1
                shift
                sim_valid_name "$SIM_N" || { echo "boot-sim: setenv of unusable name '$SIM_N'" >&2; return 1; }
                if [ $# -eq 0 ]; then unset "$SIM_N"; else eval "$SIM_N=\$*"; fi
                sim_known "$SIM_N"
        }
        setexpr() {
                [ $# -eq 4 ] || { echo "boot-sim: setexpr supports NAME A OP B" >&2; return 1; }
                case $3 in
                +) SIM_R=$((0x$2 + 0x$4)) ;;
                -) SIM_R=$((0x$2 - 0x$4)) ;;
                *) echo "boot-sim: setexpr operator '$3' not simulated" >&2; return 1 ;;
                esac
                # U-Boot prints the (unsigned long) result in hex.
                [ "$SIM_R" -ge 0 ] || { echo "boot-sim: setexpr went below 0" >&2; return 1; }
                setenv "$1" "$(printf '%x' "$SIM_R")"
        }
        saveenv() {
                echo "Saving Environment to ${SIM_BACKEND}... OK"
                if [ "$SIM_BACKEND" = uboot ]; then
                        : >"$SIM_TMP/save"
                        for SIM_N in $SIM_NAMES; do
                                eval "SIM_V=\${$SIM_N-}"
                                printf '%s=%s\n' "$SIM_N" "$SIM_V" >>"$SIM_TMP/save"
                        done
                        fw_setenv -c "$SIM_PATH" -s "$SIM_TMP/save" || { echo "boot-sim: fw_setenv failed" >&2; exit 3; }
                else
                        cat "$SIM_TMP/keep" >"$SIM_PATH.sim.tmp"
                        SIM_DONE=
                        for SIM_N in $SIM_LOADED $SIM_NAMES; do
                                case " $SIM_DONE " in *" $SIM_N "*) continue ;; esac
                                SIM_DONE="$SIM_DONE $SIM_N"
                                eval "SIM_SET=\${$SIM_N+y} SIM_V=\${$SIM_N-}"
                                [ -n "$SIM_SET" ] && [ -n "$SIM_V" ] && printf '%s=%s\n' "$SIM_N" "$SIM_V" >>"$SIM_PATH.sim.tmp"
                        done
                        mv "$SIM_PATH.sim.tmp" "$SIM_PATH"
                fi
        }
        run() {
                for SIM_VAR in "$@"; do
                        eval "SIM_CMDS=\${$SIM_VAR-}"
                        [ -n "$SIM_CMDS" ] || { echo "## Error: \"$SIM_VAR\" not defined"; return 1; }
                        eval "$SIM_CMDS" || return 1
                done
        }
        sim_boot() {
                SIM_SLOT=${cadu_slot:-rescue}
                case " $SIM_FAIL " in *" $SIM_SLOT "*)
                        echo "boot-sim: the kernel of slot $SIM_SLOT does not load"
                        return 1 ;;
                esac
                printf '%s\n' "$bootargs" >"$SIM_CMDLINE"
                echo "$SIM_SLOT" >"$SIM_TMP/booted"
                exit 0
        }
        boot() { sim_boot; }
        bootm() { sim_boot; }
        bootz() { sim_boot; }
        booti() { sim_boot; }
        bootefi() { sim_boot; }
        reset() { echo "resetting ..."; exit 100; }

        . "$SIM_SCRIPT"
        echo "boot-sim: the script ended without booting or resetting" >&2
        exit 3
)

SIM_RESETS=0
while :; do
        SIM_RC=0
        sim_power_on >&2 || SIM_RC=$?
        case $SIM_RC in
        0) cat "$SIM_TMP/booted"; exit 0 ;;
        100)
                SIM_RESETS=$((SIM_RESETS + 1))
                if [ "$SIM_RESETS" -gt "$SIM_MAX_RESETS" ]; then
                        echo "boot-sim: no boot after $SIM_MAX_RESETS resets" >&2
                        exit 2
                fi ;;
        *) exit 3 ;;
        esac
done
