#!/bin/bash
# cadu gc: with two releases in one store, keeping only the newer deletes
# exactly the older release's own chunks, and the newer one still extracts;
# nothing younger than the grace period is deleted; temporary files, empty
# prefix directories and stray files are handled as documented; gc refuses
# to run without a (valid) index.
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"

cd "$T"
released_store store .
idx_ids v1.caibx | sort -u >ids1
idx_ids v2.caibx | sort -u >ids2
comm -23 ids1 ids2 >only1
[ -s only1 ] && [ -s ids2 ] || fail "test data: releases share everything or nothing"
old() { touch -d '2 hours ago' "$@"; }
find store -exec touch -d '2 hours ago' {} +
cp -a store store.orig

# Refusals come before anything is deleted.
expect_fail 2 "refusing to run without an INDEX" "$CADU" gc store
expect_fail 2 "local directory store" "$CADU" gc http://127.0.0.1:1/store v2.caibx
expect_fail 2 "invalid --grace" "$CADU" gc --grace -1 store v2.caibx
head -c 150 v1.caibx >bad.caibx
expect_fail 3 "index bad.caibx" "$CADU" gc store v2.caibx bad.caibx
expect_fail 1 "cannot read index missing.caibx" "$CADU" gc store v2.caibx missing.caibx
diff <(store_chunks store) <(store_chunks store.orig) >/dev/null || fail "a refused gc deleted chunks"

# Dry run: reports v1's own chunks, deletes nothing.
"$CADU" gc --dry-run --verbose store v2.caibx >out 2>err || fail "dry run failed: $(cat err)"
diff <(sed 's|^delete ./*[0-9a-f]*/||; s|\.cacnk$||' out | sort) only1 >&2 || fail "dry run would delete other chunks"
grep -q "would delete $(wc -l <only1) chunks" err || fail "dry-run summary: $(cat err)"
diff <(store_chunks store) <(store_chunks store.orig) >/dev/null || fail "dry run deleted chunks"

# The real run: exactly v1's own chunks go, and the bytes freed are theirs.
freed=0
while read -r id; do freed=$((freed + $(stat -c %s "$(chunk_file store "$id")"))); done <only1
"$CADU" --json gc --verbose store v2.caibx >out.json || fail "gc failed"
[ "$(json_get out.json 'j["deleted_chunks"]')" = "$(wc -l <only1)" ] || fail "deleted count: $(tail -1 out.json)"
[ "$(json_get out.json 'j["deleted_bytes"]')" = "$freed" ] || fail "bytes freed $(json_get out.json 'j["deleted_bytes"]'), want $freed"
[ "$(json_get out.json 'j["kept_chunks"]')" = "$(wc -l <ids2)" ] || fail "kept count"
diff <(store_chunks store) ids2 >&2 || fail "store does not hold exactly v2's chunks after gc"
[ -z "$(find store -mindepth 1 -type d -empty)" ] || fail "empty prefix directories left: $(find store -type d -empty)"
"$CADU" verify-store store v2.caibx >/dev/null 2>&1 || fail "store unsound after gc"
"$CADU" -q extract --store store v2.caibx v2.out
cmp v2.img v2.out || fail "v2 does not extract identically after gc"
# A second run has nothing left to do.
"$CADU" --json gc store v2.caibx >out.json
[ "$(json_get out.json 'j["deleted_chunks"]')" = 0 ] || fail "second gc deleted chunks"

# Grace period: v1 made again (its chunks are new files now) is kept by the
# default grace of an hour, until the files are old enough.
"$CADU" -q make --store store v1.img v1.caibx
"$CADU" --json gc store v2.caibx >out.json
[ "$(json_get out.json 'j["deleted_chunks"]')" = 0 ] || fail "gc deleted chunks younger than the grace period"
[ "$(json_get out.json 'j["young_chunks"]')" = "$(wc -l <only1)" ] || fail "young count: $(tail -1 out.json)"
diff <(store_chunks store) <(sort -u ids1 ids2) >/dev/null || fail "young chunks were deleted"
# Half of them aged past a 60-second grace: just those go.
head -n $(( $(wc -l <only1) / 2 )) only1 >aged
while read -r id; do touch -d '5 minutes ago' "$(chunk_file store "$id")"; done <aged
"$CADU" gc --grace 60 --verbose store v2.caibx >out 2>err || fail "gc --grace 60: $(cat err)"
diff <(sed 's|^delete [0-9a-f]*/||; s|\.cacnk$||' out | sort) <(sort aged) >&2 || fail "--grace 60 deleted other chunks"
[ "$(store_chunks store | wc -l)" -eq $(( $(wc -l <ids2) + $(wc -l <only1) - $(wc -l <aged) )) ] || fail "chunk count after --grace 60"
# --grace 0 takes the rest.
"$CADU" -q gc --grace 0 store v2.caibx
diff <(store_chunks store) ids2 >/dev/null || fail "--grace 0 left unreferenced chunks"

# Temporary files: old ones go, young ones stay; strays are left alone.
id=$(head -1 ids2); P=$(echo "$id" | cut -c1-4)
printf x >"store/$P/$id.00000000000000aa.tmp"; old "store/$P/$id.00000000000000aa.tmp"
printf x >"store/$P/.#$id.cacnkXYZ"; old "store/$P/.#$id.cacnkXYZ"
printf x >"store/$P/$id.00000000000000bb.tmp"
echo notes >store/README; old store/README
printf x >"store/$P/notes.txt"; old "store/$P/notes.txt"
"$CADU" --json gc store v2.caibx >out.json
[ "$(json_get out.json 'j["deleted_temp_files"]')" = 2 ] || fail "old temporary files: $(tail -1 out.json)"
[ "$(json_get out.json 'j["young_temp_files"]')" = 1 ] || fail "young temporary files: $(tail -1 out.json)"
[ "$(json_get out.json 'j["other_files"]')" = 2 ] || fail "other files: $(tail -1 out.json)"
[ ! -e "store/$P/$id.00000000000000aa.tmp" ] && [ ! -e "store/$P/.#$id.cacnkXYZ" ] || fail "old temporary files kept"
[ -e "store/$P/$id.00000000000000bb.tmp" ] || fail "young temporary file deleted"
[ -e store/README ] && [ -e "store/$P/notes.txt" ] || fail "stray files deleted"

# An empty prefix directory is removed once it is old, not while young.
mkdir store/abcd store/abce
old store/abcd
"$CADU" -q gc store v2.caibx
[ ! -e store/abcd ] || fail "old empty prefix directory kept"
[ -d store/abce ] || fail "young empty prefix directory removed"

# A chunk referenced by the index but missing is worth a warning.
rm "$(chunk_file store "$id")"
"$CADU" gc store v2.caibx >out 2>err || fail "gc failed with a missing chunk"
grep -q "warning: 1 chunks the indexes reference are not in store" err || fail "no warning: $(cat err)"
exit 0
