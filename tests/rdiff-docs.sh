#!/bin/sh
# Every long option of `cadu rdiff` is in its --help and in cadu-rdiff(1),
# and the man page renders without warnings.
. "$top_srcdir/tests/lib.sh"

src="$top_srcdir/src/cmd-rdiff.c"
man="$top_srcdir/doc/cadu-rdiff.1"
"$CADU" rdiff --help >"$T/help" || fail "cadu rdiff --help failed"
opts=$(sed -n 's/^ *{ "\([a-z0-9-]*\)", *\(no\|required\)_argument.*/\1/p' "$src")
[ "$(echo "$opts" | wc -l)" -ge 10 ] || fail "could not read the option table from $src"
for o in $opts; do
        grep -q -- "--$o" "$T/help" || fail "--$o missing from cadu rdiff --help"
        # the man page escapes dashes: \-\-block\-size
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        grep -q -- "\\\\-\\\\-$esc" "$man" || fail "--$o missing from cadu-rdiff(1)"
done
# global options documented too
for o in quiet json; do
        grep -q -- "\\\\-\\\\-$o" "$man" || fail "--$o missing from cadu-rdiff(1)"
done
# the command appears in cadu --help
"$CADU" --help | grep -q '^  rdiff ' || fail "rdiff missing from cadu --help"
if have groff; then
        groff -man -ww -z "$man" 2>"$T/groff" || fail "groff failed on cadu-rdiff.1"
        [ ! -s "$T/groff" ] || fail "groff warnings: $(cat "$T/groff")"
fi
echo "ok: $(echo "$opts" | wc -l) options documented"
