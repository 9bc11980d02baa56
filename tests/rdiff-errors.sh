#!/bin/sh
# cadu rdiff on bad input and bad command lines: one clear message, the right
# exit status, and nothing left under the output name.
. "$top_srcdir/tests/lib.sh"

INV="$top_srcdir/tests/rdiff-invalid"
cd "$T"
head -c 5000 /dev/urandom >new

# fails CODE MESSAGE OUTPUT cmd...: exit CODE, MESSAGE (fixed string) on
# stderr in one line, OUTPUT not created, no temporary files.
fails() {
        code=$1 msg=$2 out=$3
        shift 3
        expect_fail "$code" '.' "$@"
        grep -qF -- "$msg" "$T/.err" || fail "stderr of '$*' lacks '$msg': $(cat "$T/.err")"
        [ "$(wc -l <"$T/.err")" -le 2 ] || fail "more than one error for '$*': $(cat "$T/.err")"
        [ -z "$out" ] || [ ! -e "$out" ] || fail "'$*' left $out behind"
        no_tmp_left "$T"
}

# golden invalid signatures and deltas: the reason in EXPECTED
n=0
while IFS="$(printf '\t')" read -r name msg; do
        case $name in
        *.sig) fails 3 "reading signature $INV/$name: $msg" out.delta "$CADU" rdiff delta "$INV/$name" new out.delta ;;
        *.delta) fails 3 "patching $INV/basis.bin with $INV/$name: $msg" out.bin \
                "$CADU" rdiff patch "$INV/basis.bin" "$INV/$name" out.bin ;;
        esac
        n=$((n + 1))
done <"$INV/EXPECTED"
[ "$n" -ge 27 ] || fail "only $n golden cases"

# every truncation of a real delta is refused, and leaves nothing
"$CADU" rdiff signature "$INV/basis.bin" basis.sig
"$CADU" rdiff delta basis.sig new good.delta
len=$(wc -c <good.delta)
for cut in 0 1 3 4 5 6 10 100 $((len / 2)) $((len - 2)) $((len - 1)); do
        head -c "$cut" good.delta >cut.delta
        expect_fail 3 'truncated|no END' "$CADU" rdiff patch "$INV/basis.bin" cut.delta out.bin
        [ ! -e out.bin ] || fail "truncated delta ($cut bytes) left output"
done
no_tmp_left "$T"

# --sha256: match writes, mismatch fails (exit 3) and keeps nothing
sum=$(sha256sum new | cut -c1-64)
"$CADU" rdiff patch --sha256 "$sum" "$INV/basis.bin" good.delta ok.bin
cmp -s ok.bin new || fail "patch with --sha256 wrote a wrong result"
bad=$(echo "$sum" | tr 0-9a-f 1-9a-f0)
fails 3 "not the expected one; nothing written" out.bin \
        "$CADU" rdiff patch --sha256 "$bad" "$INV/basis.bin" good.delta out.bin
expect_fail 2 'invalid --sha256' "$CADU" rdiff patch --sha256 abc "$INV/basis.bin" good.delta out.bin
expect_fail 2 'applies to patch only' "$CADU" rdiff signature --sha256 "$sum" new out.sig

# rdiff's rule: an existing file is replaced only with --force
echo keep >exists
fails 1 "exists (use --force to replace it)" "" "$CADU" rdiff signature new exists
[ "$(cat exists)" = keep ] || fail "existing output was replaced without --force"
"$CADU" rdiff --force signature new exists
rdiff signature new ref.sig
cmp -s exists ref.sig || fail "--force did not replace the output"
# devices are written in place
"$CADU" rdiff signature new /dev/null

# bad command lines
expect_fail 2 'missing command' "$CADU" rdiff
expect_fail 2 "unknown rdiff command 'sig'" "$CADU" rdiff sig new
expect_fail 2 "invalid --hash 'sha1'" "$CADU" rdiff -H sha1 signature new x.sig
expect_fail 2 "invalid --rollsum 'adler'" "$CADU" rdiff -R adler signature new x.sig
expect_fail 2 "invalid --sum-size '33'" "$CADU" rdiff -S 33 signature new x.sig
expect_fail 2 "invalid --sum-size 17 for md4" "$CADU" rdiff -H md4 -S 17 signature new x.sig
expect_fail 2 "invalid --sum-size '-2'" "$CADU" rdiff -S -2 signature new x.sig
expect_fail 2 "invalid --block-size" "$CADU" rdiff -b 1073741825 signature new x.sig
expect_fail 2 "invalid --threads" "$CADU" rdiff -j 0 signature new x.sig
expect_fail 2 "unknown option" "$CADU" rdiff --frobnicate signature new x.sig
expect_fail 2 "needs an argument" "$CADU" rdiff signature new x.sig -b
expect_fail 2 'at most BASIS and SIGNATURE' "$CADU" rdiff signature a b c
expect_fail 2 'delta needs a SIGNATURE' "$CADU" rdiff delta
expect_fail 2 'cannot both be standard input' "$CADU" rdiff delta - - out.delta
expect_fail 2 'patch needs a BASIS' "$CADU" rdiff patch
expect_fail 2 'not standard input' "$CADU" rdiff patch - good.delta out.bin
expect_fail 2 'needs a SIGNATURE file' "$CADU" --json rdiff signature new
[ ! -e x.sig ] || fail "a bad command line wrote output"

# missing and unusable inputs
fails 1 "opening nosuch: not found" x.sig "$CADU" rdiff signature nosuch x.sig
fails 1 "opening nosuch" out.delta "$CADU" rdiff delta nosuch new out.delta
mkfifo fifo
fails 1 "the basis must be a file or block device" out.bin "$CADU" rdiff patch fifo good.delta out.bin
# a signature given where a delta belongs, and the other way round
fails 3 "this is a signature, not a delta" out.bin "$CADU" rdiff patch "$INV/basis.bin" basis.sig out.bin
fails 3 "this is a delta, not a signature" out.delta "$CADU" rdiff delta good.delta new out.delta
# a short strong sum is allowed with a warning, as with rdiff
"$CADU" rdiff -S 2 signature new short.sig 2>"$T/warn"
grep -q 'warning: a strong sum of 2 bytes is shorter than recommended' "$T/warn" || fail "no warning for -S 2"
"$CADU" -q rdiff -S 2 -f signature new short.sig 2>"$T/warn"
[ ! -s "$T/warn" ] || fail "--quiet did not silence the warning"
echo ok
