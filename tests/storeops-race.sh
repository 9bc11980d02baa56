#!/bin/bash
# Several `cadu make` runs writing into one store at once (sharing most
# chunks, so they race on the same files), while `cadu gc` with the default
# grace period deletes an old, unlisted release from the same store: no
# chunk is lost or torn, verify-store finds the store sound, both images
# extract identically, and no temporary file is left behind.
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"

cd "$T"
releases "$T" 3000000
python3 -c 'import random; open("old.img", "wb").write(random.Random(99).randbytes(1500000))'
for round in 1 2 3; do
        rm -rf store
        # An old release nobody lists any more, aged past the grace period.
        "$CADU" -q make --store store old.img old.caibx
        "$CADU" -q make --store store v1.img keep.caibx
        find store -exec touch -d '2 hours ago' {} +
        # The same image twice at once, and v2 besides, with a gc loop.
        "$CADU" -q make --threads 2 --store store v1.img a.caibx & pa=$!
        "$CADU" -q make --threads 2 --store store v1.img b.caibx & pb=$!
        "$CADU" -q make --threads 2 --store store v2.img c.caibx & pc=$!
        ( for _ in 1 2 3 4 5 6; do "$CADU" -q gc store keep.caibx || exit 1; done ) & pg=$!
        wait $pa || fail "round $round: make a failed"
        wait $pb || fail "round $round: make b failed"
        wait $pc || fail "round $round: make c failed"
        wait $pg || fail "round $round: gc failed"
        cmp a.caibx b.caibx || fail "round $round: the same image gave two indexes"
        "$CADU" verify-store store a.caibx c.caibx keep.caibx >out 2>err ||
                fail "round $round: store unsound after racing makes: $(cat out err)"
        # Only the old release's own chunks may have gone.
        "$CADU" -q gc --grace 0 store a.caibx c.caibx
        "$CADU" verify-store store >out 2>err || fail "round $round: store unsound: $(cat out err)"
        [ -z "$(find store -name '*.tmp')" ] || fail "round $round: temporary files left"
        "$CADU" -q extract --store store a.caibx a.out && cmp v1.img a.out || fail "round $round: v1 differs"
        "$CADU" -q extract --store store c.caibx c.out && cmp v2.img c.out || fail "round $round: v2 differs"
done
exit 0
