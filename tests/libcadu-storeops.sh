#!/bin/bash
# libcadu's store operations through the shared library
# (tests/libcadu-storeops.c): cadu_store_verify() reports exactly the
# problems cadu verify-store prints (a flipped bit, a deleted chunk, a
# stray file), with and without indexes; cadu_store_gc() deletes what the
# command deletes (the same files are left), a dry run nothing;
# cadu_index_survey() counts what cadu info --json does;
# cadu_store_mirror() copies what cadu mirror copies, byte for byte, and
# reports a chunk the source lacks; cadu_manifest_mirror() mirrors a
# signed release as cadu mirror does; argument errors
# return -errno; the library prints nothing itself.
# make check may run this with sh: it needs bash (mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"
API=$top_builddir/tests/libcadu-storeops
[ -x "$API" ] || fail "no $API"
cd "$T"
released_store store .
files() { (cd "$1" && find . | sort); }

# A sound store: no problems, every chunk file checked, progress 0..total.
"$API" verify store > out 2> stats || fail "verify failed: $(cat stats)"
[ ! -s out ] || fail "sound store: problems: $(cat out)"
n=$(store_chunks store | wc -l)
grep -q "^chunks $n sound $n missing 0 corrupt 0 stray 0 errors 0 unreferenced 0 bytes [1-9][0-9]* raw [1-9]" stats ||
        fail "sound store: $(cat stats) (want $n chunks)"
grep -q "^progress starts 1 ends 1 backwards 0$" stats || fail "verify progress: $(cat stats)"
"$API" verify store v1.caibx > out 2> stats || fail "verify with an index failed: $(cat stats)"
[ ! -s out ] || fail "problems with an index: $(cat out)"
n1=$(idx_ids v1.caibx | sort -u | wc -l)
grep -q "^chunks $n1 sound $n1 .* unreferenced $((n - n1)) " stats || fail "with v1.caibx: $(cat stats)"

# Damage: one bit flipped in a chunk file, one chunk deleted, a stray file.
mapfile -t ids < <(idx_ids v2.caibx | sort -u)
A=${ids[3]} C=${ids[11]}
python3 - "$(chunk_file store "$A")" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x10
open(p, "wb").write(bytes(b))
PY
rm "$(chunk_file store "$C")"
echo hello > store/README
for args in "" "v1.caibx v2.caibx"; do
        # shellcheck disable=SC2086
        "$API" verify store $args > api.out 2> stats || fail "verify ($args) failed: $(cat stats)"
        rc=0
        # shellcheck disable=SC2086
        "$CADU" -q verify-store store $args > cmd.out 2> /dev/null || rc=$?
        [ "$rc" -eq 3 ] || fail "cadu verify-store ($args): exit $rc"
        diff cmd.out api.out > d || fail "verify ($args): the command's problems (<) and the API's (>) differ: $(cat d)"
        grep -q "^corrupt $A: " api.out || fail "the flipped bit in $A not reported ($args): $(cat api.out)"
        grep -q "^stray README: " api.out || fail "stray README not reported ($args)"
        grep -q " corrupt 1 stray 1 " stats || fail "counts ($args): $(cat stats)"
done
grep -q "^missing $C$" api.out || fail "deleted $C not reported missing: $(cat api.out)"
grep -q " missing 1 corrupt 1 " stats || fail "counts with indexes: $(cat stats)"
rm store/README "$(chunk_file store "$A")"
"$CADU" -q make --store store v2.img v2.caibx         # stores A and C again
"$CADU" -q verify-store store || fail "the store is not sound again"

# The survey: the same counts as cadu info, with a chunk missing and without
# a store.
rm "$(chunk_file store "$C")"
"$API" survey store v1.caibx v2.caibx > survey.txt 2> stats || fail "survey failed: $(cat stats)"
grep -q "^progress starts 1 ends 1 backwards 0$" stats || fail "survey progress: $(cat stats)"
"$CADU" --json info --store store v1.caibx v2.caibx > info.json
want=$(json_get info.json '" ".join(str(x) for x in ["bytes", j["total"]["bytes"], "chunks", j["total"]["chunks"],
        "distinct", j["total"]["distinct_chunks"], "distinct-bytes", j["total"]["distinct_bytes"],
        "present", j["store"]["present_chunks"], "present-bytes", j["store"]["present_bytes"],
        "stored", j["store"]["compressed_bytes"], "missing", j["store"]["missing_chunks"],
        "missing-bytes", j["store"]["missing_bytes"]])')
[ "$(cat survey.txt)" = "$want" ] || fail "survey: $(cat survey.txt), cadu info: $want"
grep -q " missing 1 " survey.txt || fail "survey: the deleted chunk is not missing: $(cat survey.txt)"
"$API" survey - v1.caibx > survey.txt || fail "survey without a store failed"
grep -q "^bytes 2000000 chunks [1-9][0-9]* distinct $n1 .* present - present-bytes - stored - missing - missing-bytes -$" \
        survey.txt || fail "survey without a store: $(cat survey.txt)"
"$CADU" -q make --store store v2.img v2.caibx

# mirror: v2 less v1's chunks, the same files as cadu mirror's, then all of
# v2 (the chunks already there kept).
"$API" mirror store mir -x v1.caibx v2.caibx > mir.txt 2> err.txt || fail "mirror failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "mirror logged: $(cat err.txt)"
"$CADU" -q mirror --from store --to mir-cmd -x v1.caibx v2.caibx
diff -r mir-cmd mir > d || fail "mirror: cadu mirror's copy (<) and the API's (>) differ: $(head d)"
m=$(store_chunks mir | wc -l)
[ "$m" -gt 0 ] && [ "$m" -lt "$(idx_ids v2.caibx | sort -u | wc -l)" ] || fail "mirror -x: $m chunks"
grep -q "^chunks $m bytes [1-9][0-9]* present 0 copied $m copied-bytes [1-9][0-9]* repaired 0 missing 0 corrupt 0 errors 0 " \
        mir.txt || fail "mirror: $(cat mir.txt)"
"$API" mirror store mir v2.caibx > mir.txt || fail "second mirror failed"
n2=$(idx_ids v2.caibx | sort -u | wc -l)
grep -q "^chunks $n2 .* present $m copied $((n2 - m)) " mir.txt || fail "second mirror: $(cat mir.txt)"
"$CADU" -q verify-store mir v2.caibx || fail "the mirror is not sound"
mapfile -t v2ids < <(idx_ids v2.caibx | sort -u)
rm "$(chunk_file store "${v2ids[5]}")"
"$API" mirror store mir2 v2.caibx > mir.txt 2> err.txt || fail "mirror with a chunk missing failed: $(cat err.txt)"
grep -q " missing 1 " mir.txt || fail "a missing chunk not counted: $(cat mir.txt)"
[ "$(cat err.txt)" = "missing ${v2ids[5]}" ] || fail "a missing chunk not logged: $(cat err.txt)"
cp "$(chunk_file mir "${v2ids[5]}")" "$(chunk_file store "${v2ids[5]}")"

# cadu_manifest_mirror(): a signed release (manifest, signature, index,
# delta and chunks, from the manifest's own store, less v1's chunks) into
# the same directory as cadu mirror's; a chunk the store lacks is counted
# and logged, and then the manifest is not written; a file off its pin is
# refused.
if have openssl; then
        mkdir rel
        "$CADU" -q make --store rel/store v2.img rel/v2.caibx
        "$CADU" rdiff signature v1.img v1.rsig && "$CADU" rdiff delta v1.rsig v2.img rel/v2.rdiff || fail "rdiff delta"
        "$CADU" -q manifest --compatible acme,board --version 2.0.0 \
                --image rootfs:rootfs:v2.img:rel/v2.caibx:rel/store --delta rootfs:rel/v2.rdiff:v1.img rel/rel.manifest ||
                fail "cadu manifest failed"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem \
                -days 2 -subj "/CN=release" 2>/dev/null || fail "openssl req failed"
        "$CADU" -q sign --key key.pem --cert cert.pem rel/rel.manifest || fail "cadu sign failed"
        "$API" release rel/rel.manifest stick v1.caibx > rel.txt 2> err.txt || fail "release mirror failed: $(cat err.txt)"
        [ ! -s err.txt ] || fail "release mirror logged: $(cat err.txt)"
        "$CADU" -q mirror --to stick-cmd -x v1.caibx rel/rel.manifest || fail "cadu mirror of the release failed"
        diff -r stick-cmd stick > d || fail "release: cadu mirror's copy (<) and the API's (>) differ: $(head d)"
        for f in rel.manifest rel.manifest.sig v2.caibx v2.rdiff; do
                cmp "rel/$f" "stick/$f" || fail "release: stick/$f differs"
        done
        "$CADU" -q verify --ca cert.pem stick/rel.manifest || fail "the API's copy of the manifest does not verify"
        m=$(store_chunks stick/store | wc -l)
        [ "$m" -gt 0 ] || fail "release mirror: no chunks"
        grep -q "^chunks $m bytes [1-9][0-9]* present 0 copied $m copied-bytes [1-9][0-9]* repaired 0 missing 0 " \
                rel.txt || fail "release mirror: $(cat rel.txt)"
        gone=$(comm -13 <(idx_ids v1.caibx | sort -u) <(idx_ids rel/v2.caibx | sort -u) | head -n 1)
        rm "$(chunk_file rel/store "$gone")"
        "$API" release rel/rel.manifest stick5 v1.caibx > rel.txt 2> err.txt ||
                fail "release mirror with a chunk missing failed: $(cat err.txt)"
        grep -q " missing 1 " rel.txt || fail "release: a missing chunk not counted: $(cat rel.txt)"
        [ "$(cat err.txt)" = "missing $gone" ] || fail "release: a missing chunk not logged: $(cat err.txt)"
        [ ! -e stick5/rel.manifest ] || fail "an incomplete release mirror wrote its manifest"
        printf 'x' >> rel/v2.rdiff
        rc=0
        "$API" release rel/rel.manifest stick6 > rel.txt 2> err.txt || rc=$?
        [ "$rc" -eq 1 ] && grep -q "manifest rel/rel.manifest: image rootfs: delta" err.txt ||
                fail "a delta off its pin: exit $rc, $(cat err.txt)"
        [ ! -e stick6/rel.manifest ] || fail "a refused release was written"
elif [ "${CI:-}" = true ]; then
        fail "openssl missing"
fi

# gc: v1 kept, v2's own chunks go; a dry run deletes nothing.
cp -a store store-cmd
files store > before
"$API" gc -n store 0 v1.caibx > dry.txt 2> err.txt || fail "gc dry run failed: $(cat err.txt)"
[ ! -s err.txt ] || fail "the library printed: $(cat err.txt)"
files store > after
diff before after > /dev/null || fail "the dry run changed the store"
"$CADU" --json gc -n --grace 0 store-cmd v1.caibx > dry.json
want=$(json_get dry.json 'j["deleted_chunks"]')
[ "$want" -gt 0 ] || fail "nothing for gc to delete: the test is void"
grep -q "^deleted $want bytes [1-9][0-9]* kept $n1 " dry.txt || fail "dry run: $(cat dry.txt) (want $want deleted)"
# Each file, through cadu_store_gc_each(): the paths cadu gc --verbose
# prints, as many as the report counts.
"$CADU" gc -n -v --grace 0 store-cmd v1.caibx | grep '^delete ' | sort > cmd-deleted.txt
[ "$(wc -l < cmd-deleted.txt)" -eq "$want" ] || fail "cadu gc --verbose: $(wc -l < cmd-deleted.txt) lines, $want chunks"
"$API" gc -n -v store 0 v1.caibx > dryv.txt 2> err.txt || fail "gc -v dry run failed: $(cat err.txt)"
grep '^delete ' dryv.txt | sort | diff cmd-deleted.txt - > d ||
        fail "gc dry run: cadu gc --verbose's files (<) and the API's (>) differ: $(head d)"
grep -q "^deleted $want .* missing 0$" dryv.txt && [ "$(grep -vc '^delete ' dryv.txt)" -eq 1 ] ||
        fail "gc -v dry run: $(grep -v '^delete ' dryv.txt)"
diff before <(files store) > /dev/null || fail "the dry run changed the store"
"$API" gc -v store 0 v1.caibx > gc.txt 2> err.txt || fail "gc failed: $(cat err.txt)"
grep -q "^deleted $want .* missing 0$" gc.txt || fail "gc: $(cat gc.txt)"
grep '^delete ' gc.txt | sort | diff cmd-deleted.txt - > d || fail "gc: the files reported differ: $(head d)"
[ "$(grep -vc '^delete ' gc.txt)" -eq 1 ] || fail "gc -v: $(grep -v '^delete ' gc.txt)"
"$CADU" -q gc --grace 0 store-cmd v1.caibx
files store > api.files
files store-cmd > cmd.files
diff cmd.files api.files > d || fail "gc: the command's store (<) and the API's (>) differ: $(head d)"
[ "$(store_chunks store | wc -l)" -eq "$n1" ] || fail "gc left $(store_chunks store | wc -l) chunks, v1 has $n1"
"$CADU" -q verify-store store v1.caibx || fail "v1 no longer sound after gc"
# The grace period keeps young files.
"$CADU" -q make --store store v2.img v2.caibx
"$API" gc store 3600 v1.caibx > young.txt || fail "gc with grace failed"
grep -q "^deleted 0 .* young $want " young.txt || fail "grace: $(cat young.txt)"

# An encrypted store: with the key (cadu_context_set_key_file) a chunk file
# swapped for another authenticates under neither name; without it, only the
# structure is checked, as the command does.
if have openssl; then
        (umask 077; openssl rand -hex 32 > k)
        "$CADU" -q make --encrypt-key k --store enc v1.img enc-v1.caibx
        set -- $(find enc -name '*.cacnk' | sort | head -n 2)
        cp "$2" "$1"
        for key in "" k; do
                "$API" verify ${key:+-K $key} enc enc-v1.caibx > api.out 2> stats || fail "verify enc ($key): $(cat stats)"
                rc=0
                "$CADU" -q verify-store ${key:+--key-file $key} enc enc-v1.caibx > cmd.out 2> /dev/null || rc=$?
                diff cmd.out api.out > d || fail "encrypted ($key): the command's (<) and the API's (>) differ: $(cat d)"
        done
        grep -q "^corrupt $(basename "$1" .cacnk): does not authenticate" api.out ||
                fail "with the key, the swapped chunk is not reported: $(cat api.out)"
        "$API" verify enc enc-v1.caibx > api.out 2> stats
        [ ! -s api.out ] || fail "without the key: $(cat api.out)"
elif [ "${CI:-}" = true ]; then
        fail "openssl missing"
fi

# Errors.
mkdir empty
"$API" errors empty > errs.txt 2> err.txt || fail "argument checks: $(cat err.txt)"
[ "$(cat errs.txt)" = ok ] || fail "argument checks: $(cat errs.txt)"
exit 0
