#!/bin/bash
# Every long option of info, verify-store, gc and mirror is in the command's
# --help and in its man page; the man pages name the exit statuses.
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"

storeopts=$(sed -n '/define CADU_STOREOPTS_LONG_OPTIONS/,/^$/p' "$top_srcdir/lib/storeopts.h" |
        grep -o '{ "[a-z-]*"' | sed 's/{ "//; s/"//')
[ -n "$storeopts" ] || fail "cannot read the store options from storeopts.h"
for cmd in info verify-store gc mirror; do
        fn=cadu_cmd_$(echo "$cmd" | tr - _)
        src=$top_srcdir/src/cmd-$cmd.c
        # The options[] array of the command's function.
        opts=$(awk -v fn="$fn" '$0 ~ "^int " fn "\\(" { on = 1 } on && /\{\}/ { exit } on' "$src" |
                grep -o '{ "[a-z-]*"' | sed 's/{ "//; s/"//')
        awk -v fn="$fn" '$0 ~ "^int " fn "\\(" { on = 1 } on && /\{\}/ { exit } on' "$src" |
                grep -q CADU_STOREOPTS_LONG_OPTIONS && opts="$opts $storeopts"
        [ -n "$opts" ] || fail "no options found for $cmd"
        man=$top_srcdir/doc/cadu-$cmd.1
        [ -f "$man" ] || fail "no man page $man"
        "$CADU" "$cmd" --help >help || fail "cadu $cmd --help failed"
        for o in $opts; do
                grep -q -- "--$o\b" help || fail "cadu $cmd --help does not mention --$o"
                # In roff source, "--max-transfers" is written \-\-max\-transfers.
                pat=$(printf '%s' "--$o" | sed 's/-/\\\\-/g')
                grep -q -- "$pat\b" "$man" || fail "$man does not document --$o"
        done
        grep -q '^\.SH EXIT STATUS' "$man" || fail "$man has no EXIT STATUS section"
        # The man page renders without warnings.
        if have groff; then
                w=$(groff -man -Tutf8 -ww -z "$man" 2>&1) || fail "$man: groff failed"
                [ -z "$w" ] || fail "$man: groff warnings: $w"
        fi
done
# Global options are accepted by every command.
for cmd in info verify-store gc mirror; do "$CADU" "$cmd" --help --json >/dev/null || fail "$cmd --json --help"; done
exit 0
