#!/bin/sh
# libcadu's public API through the shared library (tests/libcadu-api.c):
# cadu_maker_run() writes the same index as cadu make and stores the same
# chunks; progress runs from 0 to the image size; a dry run says what would
# come from where; a download limit refuses a plan above it before anything
# is written; argument and file errors return -errno with one message; the
# library prints nothing itself.
. "$top_srcdir/tests/lib.sh"
API=$top_builddir/tests/libcadu-api
[ -x "$API" ] || fail "no $API"
cd "$T"
gen_data mixed 3000000 v1.img
head -c 2000000 v1.img > part
python3 -c 'import random; open("new","wb").write(random.Random(3).randbytes(700000))'
cat part new > v2.img

# Making: the same index and chunks as the command, stats, progress.
"$API" make v1.img st v1.caibx > make1.txt 2> err.txt || fail "make through the API failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
"$CADU" -q make --store st-cmd v1.img v1-cmd.caibx
cmp v1.caibx v1-cmd.caibx || fail "the API's index differs from cadu make's"
(cd st && find . -type f | sort) > files
(cd st-cmd && find . -type f | sort) > files-cmd
diff files files-cmd > d || fail "stores differ: $(head d)"
# Every chunk file is new; a chunk repeated in the image may be stored by two
# workers at once and count twice (as in cadu make), never more often.
n=$(wc -l < files)
set -- $(sed -n 's/^chunks \([0-9]*\) new \([0-9]*\) bytes \([0-9]*\) compressed \([0-9]*\)$/\1 \2 \3 \4/p' make1.txt)
[ $# -eq 4 ] || fail "make stats: $(cat make1.txt)"
[ "$2" -ge "$n" ] && [ "$2" -le "$1" ] || fail "make stats: $2 new chunks, $n chunk files, $1 chunks"
[ "$4" -gt 0 ] && [ "$4" -lt "$3" ] || fail "make stats: $3 bytes compressed to $4"
grep -q "^progress starts 1 ends 1 backwards 0 total 3000000$" make1.txt || fail "make progress: $(cat make1.txt)"
"$API" make v1.img st v1.caibx > make2.txt || fail "second make failed"
grep -q "^chunks [0-9]* new 0 bytes 0 compressed 0$" make2.txt || fail "second make stored chunks again: $(cat make2.txt)"
# Chunk sizes are taken: casync's defaults give the command's index, others not.
"$API" make v1.img st-small small.caibx 4096 16384 65536 > /dev/null || fail "make with chunk sizes failed"
"$CADU" -q make --store st-small-cmd --chunk-size 4096:16384:65536 v1.img small-cmd.caibx
cmp small.caibx small-cmd.caibx || fail "chunk sizes: the API's index differs from cadu make's"
"$API" make v2.img st v2.caibx > /dev/null || fail "make v2 failed"

# A dry run: all from the store, or mostly from the seed.
"$API" plan v2.caibx st > plan1.txt 2> err.txt || fail "plan failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
grep -q '^stores [1-9]' plan1.txt || fail "dry run without a seed: $(cat plan1.txt)"
"$API" plan v2.caibx st v1.img > plan2.txt || fail "plan with a seed failed"
grep -q '^seeds [1-9]' plan2.txt || fail "dry run with a seed: nothing from it: $(cat plan2.txt)"
s1=$(sed -n 's/^stores \([0-9]*\) .*/\1/p' plan1.txt)
s2=$(sed -n 's/^stores \([0-9]*\) .*/\1/p' plan2.txt)
[ "${s2:-0}" -lt "$s1" ] || fail "the seed did not lower the planned fetches ($s1 -> ${s2:-0})"

# A download limit: refused before writing, then met.
rc=0
"$API" limit v2.caibx st out.img 1000 2> err.txt || rc=$?
[ "$rc" -eq 3 ] || fail "a 1000-byte limit: exit $rc (want 3, -EDQUOT): $(cat err.txt)"
[ ! -e out.img ] || fail "the refused extraction wrote out.img"
"$API" limit v2.caibx st out.img 100000000 > lim.txt || fail "a large limit failed"
cmp out.img v2.img || fail "limited extraction differs"

# Errors.
mkdir empty
"$API" errors empty > errs.txt 2> err.txt || fail "argument checks: $(cat err.txt)"
[ "$(cat errs.txt)" = ok ] || fail "argument checks: $(cat errs.txt)"
no_tmp_left .
exit 0
