#!/bin/sh
# Every command has --help and a man page, and the man page documents every
# long option that --help lists.
. "$top_srcdir/tests/lib.sh"
cmds=$("$CADU" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 && $1 != "Commands:" { print $1 }')
[ -n "$cmds" ] || fail "no commands listed by cadu --help"
n=0
for c in $cmds; do
        "$CADU" "$c" --help > "$T/help" || fail "cadu $c --help failed"
        grep -q "Usage: cadu $c" "$T/help" || fail "cadu $c --help has no usage line"
        man="$top_srcdir/doc/cadu-$c.1"
        [ -f "$man" ] || fail "no man page for $c ($man)"
        for opt in $(grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u); do
                roff=$(echo "$opt" | sed 's/-/\\\\-/g')
                grep -q -- "$roff" "$man" || grep -q -- "$opt" "$man" || fail "cadu-$c.1 does not document $opt"
        done
        n=$((n + 1))
done
grep -q -- '\\-\\-json' "$top_srcdir/doc/cadu.1" || fail "cadu.1 lacks global options"
echo "$n commands documented"
