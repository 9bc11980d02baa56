#!/bin/bash
# Encrypted releases with an rdiff delta and a compressed full image
# (doc/encryption.md, "Sealed streams"): cadu manifest seals both with the
# store key, the published files hold no plaintext of the image, and the
# device opens them with its key and installs exactly. Damaged or forged
# files, even when re-pinned by a signed manifest (bit flipped, truncated at
# a segment boundary, segments swapped, another file's role, another key),
# are refused in one line before anything is written, or (a full image that
# streams to the slot) give way to the chunk store.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
set -o pipefail
need openssl python3 zstd
make_pki
dev_setup file
(umask 077; openssl rand -hex 32 > "$T/k1"; openssl rand -hex 32 > "$T/k2")

# enc_release DIR VERSION KEY [text] [MANIFEST OPTIONS...]: device_release's
# images (with "text", a text-like rootfs) encrypted under KEY.
enc_release() {
        local dir=$1 version=$2 key=$3
        shift 3
        device_release "$dir" "$version"
        if [ "${1:-}" = text ]; then
                python3 - "$dir/rootfs.img" "$version" <<'PY'
import random, sys
r = random.Random(sys.argv[2])
words = [bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(60)) + b"\n" for _ in range(64)]
out = bytearray()
while len(out) < 4 << 20:
    out += r.choice(words)
open(sys.argv[1], "wb").write(out[:4 << 20])
PY
                shift
        fi
        rm -r "$dir/store" "$dir/update.manifest" "$dir/update.manifest.sig"
        "$CADU" -q make --encrypt-key "$key" --store "$dir/store" --chunk-size 16K:32K:64K \
                "$dir/rootfs.img" "$dir/rootfs.caibx"
        "$CADU" -q make --encrypt-key "$key" --store "$dir/store" --chunk-size 4K:8K:16K \
                "$dir/kernel.img" "$dir/kernel.caibx"
        "$CADU" -q manifest --key-file "$key" --compatible cadu-test-board --version "$version" \
                --image "rootfs:rootfs:$dir/rootfs.img:$dir/rootfs.caibx:$dir/store" \
                --image "kernel:kernel:$dir/kernel.img:$dir/kernel.caibx:$dir/store" "$@" \
                "$dir/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$dir/update.manifest"
}

# forged NAME KIND FILE: a copy of v2 whose KIND (delta or full) is FILE,
# re-pinned by a manifest signed again (as by a compromised signer).
forged() {
        local d=$T/$1 kind=$2 file=$3
        cp -r "$T/v2" "$d"
        cp "$file" "$d/$(sed -n "s/^$kind = //p" "$d/update.manifest")"
        file=$d/$(sed -n "s/^$kind = //p" "$d/update.manifest")
        sed -i -e "s/^$kind-size = .*/$kind-size = $(stat -c %s "$file")/" \
                -e "s/^$kind-sha256 = .*/$kind-sha256 = $(sha256sum "$file" | cut -d' ' -f1)/" "$d/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$d/update.manifest"
}

refused() { # CODE REGEX MANIFEST: refused in one line, nothing written
        local code=$1 re=$2 m=$3 before
        before=$(slots_digest)
        expect_fail "$code" "$re" "$CADU" -q install -c "$CONF" "$m"
        [ "$(slots_digest)" = "$before" ] || fail "slots written by a refused install ($re)"
        [ "$(wc -l < "$T/.err")" -eq 1 ] || fail "not one line: $(cat "$T/.err")"
        [ -z "$(ls "$D/state"/rdiff-* 2>/dev/null)" ] || fail "a delta was left in the state directory ($re)"
}

enc_release "$T/v1" 1.0.0 "$T/k1"
"$CADU" rdiff signature "$T/v1/rootfs.img" "$T/v1.sig"
mkdir "$T/v2"
enc_release "$T/v2" 2.0.0 "$T/k1"
"$CADU" rdiff delta "$T/v1.sig" "$T/v2/rootfs.img" "$T/v2/rootfs.rdiff"
enc_release "$T/v2" 2.0.0 "$T/k1" --delta "rootfs:$T/v2/rootfs.rdiff:$T/v1/rootfs.img" --full "rootfs:$T/v2/rootfs.img.zst" --full-level 3
enc_release "$T/v3" 3.0.0 "$T/k1" text --full "rootfs:$T/v3/rootfs.img.zst" --full-level 3
enc_release "$T/v4" 4.0.0 "$T/k1" text --full "rootfs:$T/v4/rootfs.img.zst" --full-level 3
mkdir "$T/v2k2"
enc_release "$T/v2k2" 2.0.0 "$T/k2"
"$CADU" rdiff delta "$T/v1.sig" "$T/v2k2/rootfs.img" "$T/v2k2/rootfs.rdiff"
enc_release "$T/v2k2" 2.0.0 "$T/k2" --delta "rootfs:$T/v2k2/rootfs.rdiff:$T/v1/rootfs.img"

# The manifest names the sealed files; they hold nothing of the image that
# the plaintext delta gives away, and nothing that opens without the key.
grep -q '^delta = rootfs.rdiff.enc$' "$T/v2/update.manifest" || fail "the manifest does not name the sealed delta"
grep -q '^full = rootfs.img.zst$' "$T/v2/update.manifest" || fail "the manifest does not name the full image"
"$CADU" -q verify --ca "$P/ca.pem" --key-file "$T/k1" "$T/v2/update.manifest" || fail "verify"
python3 - "$T/v2/rootfs.img" "$T/v2/rootfs.rdiff" "$T/v2/rootfs.rdiff.enc" "$T/v2/rootfs.img.zst" "$T/v3/rootfs.img" \
        "$T/v3/rootfs.img.zst" <<'PY' || fail "plaintext in a published file"
import sys
img, plain, sealed, full, img3, full3 = (open(p, "rb").read() for p in sys.argv[1:])
# 24-byte windows of the image that the plaintext delta carries literally.
leaks = {plain[i:i + 24] for i in range(0, len(plain) - 24, 61)} & {img[i:i + 24] for i in range(len(img) - 24)}
assert len(leaks) > 100, f"the plaintext delta leaks only {len(leaks)} windows: the check could not fail"
for f in (sealed, full):
    bad = [w for w in leaks if w in f]
    assert not bad, f"{len(bad)} windows of the image in a sealed file"
for f in (sealed, full, full3):
    assert f[:8] == b"\xca\xd0SG\r\n\x1a\x01", "not a sealed stream"
lines = {l for l in img3.split(b"\n") if len(l) == 60}
assert lines and not any(l in full3 for l in lines), "a line of the text image in its sealed full image"
PY
! zstd -q -t "$T/v2/rootfs.img.zst" 2>/dev/null || fail "the sealed full image is a plain zstd stream"

factory "$T/v1"
printf '%s\n\n[store]\nkey-file = %s\n' "$(cat "$CONF")" "$T/k1" > "$CONF"
"$CADU" -q install -c "$CONF" --allow-downgrade "$T/v1/update.manifest" || fail "install of 1.0.0"
[ "$(sim)" = B ] || fail "trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"

# Forged files, all re-pinned by a signed manifest: refused by the sealing.
delta=$T/v2/rootfs.rdiff.enc
seg=$((65536 + 16))
[ "$(stat -c %s "$delta")" -gt $((40 + 2 * seg)) ] || fail "the delta is too small for the segment tests"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[5000]^=1; open(sys.argv[2],"wb").write(b)' "$delta" "$T/flip.bin"
forged flip delta "$T/flip.bin"
refused 3 "^cadu: delta $T/flip/rootfs.rdiff.enc: not a sealed delta of this image, or damaged \\(authentication failed\\)$" \
        "$T/flip/update.manifest"
head -c $((40 + seg)) "$delta" > "$T/cut.bin"
forged cut delta "$T/cut.bin"
refused 3 "^cadu: delta $T/cut/rootfs.rdiff.enc: not a sealed delta of this image, or damaged" "$T/cut/update.manifest"
python3 -c 'import sys; s=65552; b=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(b[:40]+b[40+s:40+2*s]+b[40:40+s]+b[40+2*s:])' \
        "$delta" "$T/swap.bin"
forged swap delta "$T/swap.bin"
refused 3 "^cadu: delta $T/swap/rootfs.rdiff.enc: not a sealed delta of this image, or damaged" "$T/swap/update.manifest"
forged role delta "$T/v2/rootfs.img.zst"
refused 3 "^cadu: delta $T/role/rootfs.rdiff.enc: not a sealed delta of this image, or damaged" "$T/role/update.manifest"
forged otherkey delta "$T/v2k2/rootfs.rdiff.enc"
refused 3 "^cadu: delta $T/otherkey/rootfs.rdiff.enc: sealed under another store key$" "$T/otherkey/update.manifest"
# Swapped without a new signature: the pins refuse it first.
cp -r "$T/v2" "$T/replay" && cp "$T/v2k2/rootfs.rdiff.enc" "$T/replay/rootfs.rdiff.enc"
refused 3 "^cadu: delta $T/replay/rootfs.rdiff.enc: (size|sha256) mismatch" "$T/replay/update.manifest"

# The sealed delta, opened with the device's key, patches the running slot.
"$CADU" install -c "$CONF" "$T/v2/update.manifest" >i2.out 2>&1 || fail "install of 2.0.0: $(cat i2.out)"
grep -q "^patch rootfs: " i2.out || fail "the delta was not applied: $(cat i2.out)"
slot_has a "$T/v2" || fail "slot A does not hold 2.0.0"
[ -z "$(ls "$D/state"/rdiff-* 2>/dev/null)" ] || fail "the opened delta was left in the state directory"
[ "$(sim)" = A ] || fail "trial boot did not boot A"
"$CADU" -q mark-good -c "$CONF"

# A forged full image (flipped, re-pinned) streams until its first forged
# segment, then the chunk store takes over.
mkdir "$T/v3f" && cp -r "$T/v3/." "$T/v3f/"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-100]^=1; open(sys.argv[1],"wb").write(b)' "$T/v3f/rootfs.img.zst"
sed -i -e "s/^full-size = .*/full-size = $(stat -c %s "$T/v3f/rootfs.img.zst")/" \
        -e "s/^full-sha256 = .*/full-sha256 = $(sha256sum "$T/v3f/rootfs.img.zst" | cut -d' ' -f1)/" "$T/v3f/update.manifest"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$T/v3f/update.manifest"
"$CADU" install -c "$CONF" "$T/v3f/update.manifest" >i3f.out 2>&1 || fail "install of a forged 3.0.0: $(cat i3f.out)"
grep -q "^cadu: full image $T/v3f/rootfs.img.zst: damaged, forged or not this image's (refused); falling back to the chunk store$" i3f.out ||
        fail "no fallback: $(cat i3f.out)"
slot_has b "$T/v3" || fail "slot B does not hold 3.0.0 after the fallback"

# Another release's sealed full image (same key, same image name),
# re-pinned: sealed for another image, it fails at its first segment, so
# not a byte of it reaches the slot (a budget of its size then stops the
# chunks that would follow).
mkdir "$T/v3x" && cp -r "$T/v3/." "$T/v3x/"
cp "$T/v4/rootfs.img.zst" "$T/v3x/rootfs.img.zst"
sed -i -e "s/^full-size = .*/full-size = $(stat -c %s "$T/v3x/rootfs.img.zst")/" \
        -e "s/^full-sha256 = .*/full-sha256 = $(sha256sum "$T/v3x/rootfs.img.zst" | cut -d' ' -f1)/" "$T/v3x/update.manifest"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$T/v3x/update.manifest"
head -c "$(stat -c %s "$D/b.img")" /dev/zero > "$D/b.img"
before=$(slots_digest)
expect_fail 4 "^cadu: full image $T/v3x/rootfs.img.zst: damaged, forged or not this image's \(refused\); falling back" \
        "$CADU" -q install -c "$CONF" --max-download "$(stat -c %s "$T/v3x/rootfs.img.zst")" "$T/v3x/update.manifest"
[ "$(slots_digest)" = "$before" ] || fail "another release's full image reached the slot"

# The sealed full image of a text image the device has nothing of (the
# target slot wiped).
"$CADU" install -c "$CONF" "$T/v3/update.manifest" >i3.out 2>&1 || fail "install of 3.0.0: $(cat i3.out)"
grep -q "^plan rootfs: its compressed full image: $(stat -c %s "$T/v3/rootfs.img.zst") bytes, not [0-9]* bytes of chunks$" i3.out ||
        fail "the full image was not chosen: $(cat i3.out)"
grep -q "^full rootfs: " i3.out || fail "not written from the full image: $(cat i3.out)"
slot_has b "$T/v3" || fail "slot B does not hold 3.0.0"
[ "$(sim)" = B ] || fail "trial boot did not boot B"
echo "ok: sealed rdiff delta and full image, forgeries refused"
