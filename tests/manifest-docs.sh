#!/bin/sh
# Documentation stays complete: every option of manifest, sign and verify is
# in both --help and the man page, every manifest key is in
# doc/manifest-format.md, the format document's example is a valid manifest,
# and the man pages render without warnings.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"

for cmd in manifest sign verify; do
        man=$top_srcdir/doc/cadu-$cmd.1
        [ -f "$man" ] || fail "no $man"
        "$CADU" "$cmd" --help >"$T/help" || fail "cadu $cmd --help failed"
        grep -Eo -- '--[a-z][a-z-]*' "$T/help" | sort -u >"$T/help-opts"
        [ -s "$T/help-opts" ] || fail "cadu $cmd --help lists no options"
        # Options the man page documents: the tag lines of .TP paragraphs.
        awk '/^\.TP/ { tp = 1; next } tp { print; tp = 0 }' "$man" | sed 's/\\-/-/g' |
                grep -Eo -- '--[a-z][a-z-]*' | sort -u >"$T/man-opts"
        if ! cmp -s "$T/help-opts" "$T/man-opts"; then
                diff "$T/help-opts" "$T/man-opts" >&2 || true
                fail "cadu $cmd: --help and $man document different options"
        fi
        # Every documented option is accepted by the command.
        for o in $(cat "$T/help-opts"); do
                "$CADU" "$cmd" "$o" x --help >/dev/null 2>"$T/opt.err" || true
                if grep -q "unrecognized option" "$T/opt.err"; then
                        fail "cadu $cmd does not accept its documented option $o"
                fi
        done
        "$CADU" "$cmd" --no-such-option x --help >/dev/null 2>"$T/opt.err" || true
        grep -q "unrecognized option" "$T/opt.err" || fail "the option check cannot fail"
        if have groff; then
                groff -man -ww -z "$man" 2>"$T/groff" || fail "$man: groff failed: $(cat "$T/groff")"
                [ ! -s "$T/groff" ] || fail "$man: $(cat "$T/groff")"
        fi
done

# Every key of the parser is documented in the format document.
doc=$top_srcdir/doc/manifest-format.md
keys=$(sed -n 's/^ *\[K_[A-Z0-9_]*\] *= { "\([a-z0-9-]*\)".*/\1/p' "$top_srcdir/index/manifest.c")
[ "$(echo "$keys" | wc -w)" -ge 16 ] || fail "could not read the key table of index/manifest.c"
for k in $keys; do
        grep -q "^| \`$k\` |" "$doc" || fail "key '$k' is not in the tables of $doc"
done

# The format document's example is a valid manifest (cadu sign parses it first).
make_pki
awk '/^```ini$/ { on = 1; next } /^```$/ { on = 0 } on' "$doc" >"$T/example.txt"
grep -q '^\[image kernel\]$' "$T/example.txt" || fail "no example found in $doc"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" "$T/example.txt" ||
        fail "the example in $doc is not a valid manifest"
