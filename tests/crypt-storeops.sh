#!/bin/sh
# Store operations on an encrypted store (doc/encryption.md): verify-store
# checks structure without the key and everything with it, gc keeps what
# encrypted indexes name, mirror copies ciphertext by keyed name without the
# key (by index and by manifest), info shows what it can without the key
# and everything with it.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
need openssl python3 cmp
make_pki
cd "$T"
head -c 2000000 /dev/urandom > a.img
{ head -c 1000000 a.img; head -c 1000000 /dev/urandom; } > b.img
(umask 077; openssl rand -hex 32 > k; openssl rand -hex 32 > k2)
"$CADU" -q make --encrypt-key k --store rel/store a.img rel/a.caibx
"$CADU" -q make --encrypt-key k --store rel/store b.img rel/b.caibx
total=$(find rel/store -name '*.cacnk' | wc -l)

# --- verify-store: structure without the key, everything with it
"$CADU" -q verify-store rel/store || fail "verify-store without key"
"$CADU" -q verify-store --key-file k rel/store || fail "verify-store with key"
"$CADU" -q verify-store --key-file k rel/store rel/b.caibx || fail "verify-store with key and index"
first=$(find rel/store -name '*.cacnk' | sort | head -n 1)
second=$(find rel/store -name '*.cacnk' | sort | sed -n 2p)
cp "$first" save
cp "$second" "$first"           # another valid ciphertext of the store
"$CADU" -q verify-store rel/store || fail "the structure check should pass a swapped chunk"
expect_fail 3 "store rel/store is not sound: 0 missing, 1 corrupt" "$CADU" -q verify-store --key-file k rel/store
grep -q "^corrupt $(basename "$first" .cacnk): does not authenticate under the store key" "$T/.out" ||
        fail "verify-store did not name the swapped chunk: $(cat "$T/.out")"
head -c 40 save > "$first"      # truncated below the header and tag
expect_fail 3 "not sound: 0 missing, 1 corrupt" "$CADU" -q verify-store rel/store
grep -q "encrypted chunk file is truncated" "$T/.out" || fail "truncation not reported: $(cat "$T/.out")"
cp save "$first"
"$CADU" -q make --encrypt-key k2 --store other a.img other.caibx
cp "$(find other -name '*.cacnk' | head -n 1)" "$first"
expect_fail 3 "not sound" "$CADU" -q verify-store --key-file k rel/store
grep -q "encrypted under another key" "$T/.out" || fail "another key's chunk not reported: $(cat "$T/.out")"
cp save "$first"

# --- mirror by index: ciphertext copied by keyed name, no key
"$CADU" -q mirror --from rel/store --to usb b.caibx 2>/dev/null && fail "mirror of a missing index"
"$CADU" -q mirror --from rel/store --to usb rel/b.caibx
"$CADU" -q extract --key-file k --store usb rel/b.caibx out.img
cmp b.img out.img || fail "extract from the mirror differs"
rm out.img
[ "$(find usb -name '*.cacnk' | wc -l)" -lt "$total" ] || fail "mirror copied chunks b does not need"

# --- mirror by manifest
"$CADU" -q manifest --key-file k --compatible board --version 2.0 \
        --image "rootfs:rootfs:b.img:rel/b.caibx:rel/store" rel/update.manifest
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" rel/update.manifest
"$CADU" -q mirror --to stick rel/update.manifest
cmp rel/b.caibx stick/b.caibx || fail "mirror did not copy the encrypted index"
"$CADU" -q verify --ca "$P/ca.pem" --key-file k stick/update.manifest || fail "the mirrored release does not verify"
"$CADU" -q extract --key-file k --store stick/store stick/b.caibx out.img
cmp b.img out.img || fail "extract from the mirrored release differs"
rm out.img

# --- gc keeps the chunks the encrypted indexes name, by keyed name
"$CADU" -q gc --grace 0 rel/store rel/b.caibx
left=$(find rel/store -name '*.cacnk' | wc -l)
[ "$left" -lt "$total" ] || fail "gc deleted nothing"
"$CADU" -q verify-store --key-file k rel/store rel/b.caibx || fail "gc deleted a chunk b needs"
"$CADU" -q extract --key-file k --store rel/store rel/b.caibx out.img
cmp b.img out.img || fail "extract after gc differs"

# --- info: without the key what the header tells (exit 0), with it all
"$CADU" info rel/b.caibx > info.out || fail "info without the key failed"
grep -q "^rel/b.caibx: encrypted with key [0-9a-f]\{32\}: [0-9]* chunks" info.out &&
        grep -q "need the store key (--key-file)$" info.out || fail "info without the key: $(cat info.out)"
"$CADU" info --key-file k --store rel/store rel/b.caibx > info.out || fail "info with the key failed"
grep -q "^rel/b.caibx: 1.9 MiB (2000000 bytes) in" info.out && grep -q "^store rel/store: \([0-9]*\) of \1 distinct chunks present" info.out ||
        fail "info with the key: $(cat info.out)"
expect_fail 4 "index rel/b.caibx is encrypted with key [0-9a-f]*, not with the given key" \
        "$CADU" info --key-file k2 rel/b.caibx
echo "encrypted store operations: all checks passed"
