#!/bin/sh
# libcadu's example (doc/examples/extract-seeded.c), built against the
# public header and the shared library only: a seeded extraction through the
# library yields the exact image and fetches fewer chunks than without the
# seed (exactly those the seed lacks); failures come back as one message.
. "$top_srcdir/tests/lib.sh"
need python3
EX=$top_builddir/doc/examples/extract-seeded
[ -x "$EX" ] || fail "no $EX"
cd "$T"
python3 -c 'import random; r = random.Random(7); open("a","wb").write(r.randbytes(3000000)); open("c","wb").write(r.randbytes(300000))'
gen_data mixed 2000000 b
cat a b > v1.img
# v2: v1 with a changed region and new data at the end.
python3 - <<'PY'
a = bytearray(open("a", "rb").read()); b = open("b", "rb").read(); c = open("c", "rb").read()
a[1500000:1600000] = bytes(range(256)) * 390 + bytes(160)
open("v2.img", "wb").write(bytes(a) + b + c)
PY
"$CADU" -q make --store st v1.img v1.caibx
"$CADU" -q make --store st v2.img v2.caibx

field() { sed -n "s/^$1 \([0-9]*\) chunks.*/\1/p" "$2"; }

# Without a seed: everything from the store.
"$EX" v2.caibx st noseed.img > noseed.txt 2> err.txt || fail "extract without a seed failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
cmp noseed.img v2.img || fail "unseeded output differs from v2.img"
all=$(field stores noseed.txt)
[ -n "$all" ] && [ "$all" -gt 0 ] || fail "no chunks from the store without a seed: $(cat noseed.txt)"
grep -q '^image [0-9]* bytes in [0-9]* chunks, 1 progress phases completed$' noseed.txt ||
        fail "progress: expected one completed phase: $(head -n 1 noseed.txt)"

# With v1 as the seed, chunked here and with its saved index.
for seed in "v1.img" "v1.img v1.caibx"; do
        # shellcheck disable=SC2086
        "$EX" v2.caibx st seeded.img $seed > seeded.txt 2> err.txt || fail "seeded extract ($seed) failed: $(cat err.txt)"
        [ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
        cmp seeded.img v2.img || fail "seeded output ($seed) differs from v2.img"
        fetched=$(field stores seeded.txt)
        from_seed=$(field seeds seeded.txt)
        [ -n "$from_seed" ] && [ "$from_seed" -gt 0 ] || fail "nothing from the seed ($seed): $(cat seeded.txt)"
        [ "${fetched:-0}" -lt "$all" ] || fail "seeded ($seed): fetched ${fetched:-0} chunks, not fewer than $all"
        # Exactly the chunks of v2 that v1 lacks (counted once per id).
        want=$(python3 - v1.caibx v2.caibx <<'PY'
import sys
def ids(p):
    d = open(p, "rb").read()
    return [d[72 + 40*i:104 + 40*i] for i in range((len(d) - 104) // 40)]
print(len(set(ids(sys.argv[2])) - set(ids(sys.argv[1]))))
PY
)
        [ "${fetched:-0}" -eq "$want" ] || fail "seeded ($seed): fetched ${fetched:-0} chunks, expected $want"
        rm -f seeded.img
done

# Failures: the library's one line, through the log callback and the last
# error, and no output left behind.
expect_fail 1 '^extract-seeded: cannot open store nostore: ' "$EX" v2.caibx nostore out.img
mkdir st2
expect_fail 1 '^extract-seeded: extracting v2.caibx: ' "$EX" v2.caibx st2 out.img
[ ! -e out.img ] || fail "a failed extraction left out.img"
printf 'junk' > bad.caibx
expect_fail 1 '^extract-seeded: index bad.caibx: ' "$EX" bad.caibx st out.img
[ "$(wc -l < "$T/.err")" -eq 1 ] || fail "more than one line for a corrupt index: $(cat "$T/.err")"
no_tmp_left .
exit 0
