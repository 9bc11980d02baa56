#!/bin/sh
# Every long option of status, mark-good, mark-bad and rollback is in both
# the command's --help and its man page, and nothing else is; cadu.conf(5)
# documents every key the parser knows (and no other).
. "$top_srcdir/tests/lib.sh"

for cmd in status mark-good mark-bad rollback; do
        man=$top_srcdir/doc/cadu-$cmd.1
        [ -f "$man" ] || fail "no man page for $cmd"
        "$CADU" $cmd --help >"$T/help" || fail "$cmd --help failed"
        grep -q "^Usage: cadu $cmd" "$T/help" || fail "$cmd --help lacks a usage line"
        grep -o -- '--[a-z][a-z-]*' "$T/help" | sort -u >"$T/h"
        sed 's/\\-/-/g' "$man" | grep -o -- '--[a-z][a-z-]*' | sort -u >"$T/m"
        diff "$T/h" "$T/m" >"$T/d" || fail "$cmd: options differ between --help (<) and the man page (>): $(cat "$T/d")"
        "$CADU" --help | grep -q "^  $cmd " || fail "cadu --help does not list $cmd"
done

# Keys in the parser's table and the slot keys, against cadu.conf.5.
sed -n 's/^ *{ SEC_[A-Z]*, "\([a-z-]*\)".*/\1/p' "$top_srcdir/lib/config.c" | sort -u >"$T/keys"
[ "$(wc -l <"$T/keys")" -gt 15 ] || fail "could not read the key table of lib/config.c"
printf 'a\nb\n' >>"$T/keys"
sort -u -o "$T/keys" "$T/keys"
sed -n 's/^\.B[IR] \([a-z][a-z\\-]*\) " = .*/\1/p' "$top_srcdir/doc/cadu.conf.5" | sed 's/\\-/-/g' | sort -u >"$T/doc"
diff "$T/keys" "$T/doc" >"$T/d" || fail "keys differ between lib/config.c (<) and cadu.conf.5 (>): $(cat "$T/d")"
echo "boot-docs: ok"
