#!/bin/sh
# Encrypted releases on the simulated device (doc/encryption.md): the
# manifest names the store key, the device's key-file decrypts (rootfs
# through its sealed pack index); a replayed
# index, a device with another key or none, and a key rotation are refused
# before anything is written.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
need openssl python3
make_pki
dev_setup file
(umask 077; openssl rand -hex 32 > "$T/k1"; openssl rand -hex 32 > "$T/k2")
kid() { python3 -c 'import sys; print(open(sys.argv[1],"rb").read()[8:24].hex())' "$1"; }

# enc_release DIR VERSION KEY: device_release's images, encrypted under KEY.
enc_release() {
        local dir=$1 version=$2 key=$3
        device_release "$dir" "$version"
        rm -r "$dir/store" "$dir/update.manifest" "$dir/update.manifest.sig"
        # rootfs with sealed packs and deltas: the device takes them by range
        "$CADU" -q make --encrypt-key "$key" --store "$dir/store" --chunk-size 16K:32K:64K --packs --deltas \
                --delta-level 3 "$dir/rootfs.img" "$dir/rootfs.caibx"
        "$CADU" -q make --encrypt-key "$key" --store "$dir/store" --chunk-size 4K:8K:16K \
                "$dir/kernel.img" "$dir/kernel.caibx"
        "$CADU" -q manifest --key-file "$key" --compatible cadu-test-board --version "$version" \
                --image "rootfs:rootfs:$dir/rootfs.img:$dir/rootfs.caibx:$dir/store" \
                --image "kernel:kernel:$dir/kernel.img:$dir/kernel.caibx:$dir/store" \
                "$dir/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$dir/update.manifest"
}

refused() { # CODE REGEX MANIFEST: refused, nothing written
        local code=$1 re=$2 m=$3 before
        before=$(slots_digest)
        expect_fail "$code" "$re" "$CADU" -q install -c "$CONF" "$m"
        [ "$(slots_digest)" = "$before" ] || fail "slots written by a refused install ($re)"
        [ "$(wc -l < "$T/.err")" -eq 1 ] || fail "not one line: $(cat "$T/.err")"
}

device_release "$T/v1" 1.0.0
enc_release "$T/v2" 2.0.0 "$T/k1"
enc_release "$T/v3" 3.0.0 "$T/k1"
grep -q "^store-key = $(kid "$T/v2/rootfs.caibx")$" "$T/v2/update.manifest" || fail "the manifest does not name the key"
# The manifest pins the plaintext index: its size is not the file's.
[ "$(sed -n 's/^index-size = //p' "$T/v2/update.manifest" | head -n 1)" != "$(stat -c %s "$T/v2/rootfs.caibx")" ] ||
        fail "the manifest pins the encrypted file"
# cadu verify decrypts the index with the key, and needs it.
"$CADU" -q verify --ca "$P/ca.pem" --key-file "$T/k1" "$T/v2/update.manifest" || fail "verify with the key"
expect_fail 2 "^cadu: image rootfs: index $T/v2/rootfs.caibx is encrypted \\(store key [0-9a-f]{32}\\): give --key-file$" \
        "$CADU" verify --ca "$P/ca.pem" "$T/v2/update.manifest"
expect_fail 4 "^cadu: index $T/v2/rootfs.caibx is encrypted with key [0-9a-f]{32}, not with the given key" \
        "$CADU" verify --ca "$P/ca.pem" --key-file "$T/k2" "$T/v2/update.manifest"
factory "$T/v1"
conf_plain=$(cat "$CONF")

# No key on the device: refused before anything is written.
refused 4 "^cadu: image rootfs is encrypted with store key $(kid "$T/v2/rootfs.caibx"), and $CONF names no key-file$" \
        "$T/v2/update.manifest"

# The fleet key: installs, seeded from the running slot.
printf '%s\n\n[store]\nkey-file = %s\n' "$conf_plain" "$T/k1" > "$CONF"
"$CADU" --json install -c "$CONF" "$T/v2/update.manifest" > "$T/i2.json" || fail "install: $(tail -n 3 "$T/i2.json")"
grep -q '"pack_index":true' "$T/i2.json" || fail "the install did not use the sealed pack index: $(cat "$T/i2.json")"
[ "$(sim)" = B ] || fail "the device did not boot the new slot"
slot_has b "$T/v2" || fail "slot B does not hold v2"
"$CADU" -q mark-good -c "$CONF"

# A replayed older encrypted index (valid ciphertext under the same key).
mkdir "$T/replay" && cp -r "$T/v3/"* "$T/replay/"
cp "$T/v2/rootfs.caibx" "$T/replay/rootfs.caibx"
refused 3 "^cadu: index $T/replay/rootfs.caibx: (size|sha256) mismatch" "$T/replay/update.manifest"

# A device holding another key.
printf '%s\n\n[store]\nkey-file = %s\n' "$conf_plain" "$T/k2" > "$CONF"
refused 4 "^cadu: image rootfs is encrypted with store key $(kid "$T/v3/rootfs.caibx"); this device holds key [0-9a-f]{32}$" \
        "$T/v3/update.manifest"
# A key file others may read.
chmod 644 "$T/k2"
refused 2 "^cadu: key-file $T/k2: group or others may access it \\(chmod 600\\)$" "$T/v3/update.manifest"
chmod 600 "$T/k2"

# A corrupt chunk file of the new release: refused, the target slot is not
# switched to (the failed slot may hold part of the image).
printf '%s\n\n[store]\nkey-file = %s\n' "$conf_plain" "$T/k1" > "$CONF"
mkdir "$T/bad" && cp -r "$T/v3/"* "$T/bad/"
# Flip a byte in every chunk file v2 does not use (v3's own chunks).
python3 - "$T/v2/rootfs.caibx" "$T/v2/kernel.caibx" "$T/bad/store" <<'EOF'
import os, struct, sys
def names(p):
    d = open(p, "rb").read()
    n = struct.unpack("<Q", d[24:32])[0]
    return {d[32 + 32 * i:64 + 32 * i].hex() for i in range(n)}
keep = names(sys.argv[1]) | names(sys.argv[2])
for r, _, fs in os.walk(sys.argv[3]):
    for f in fs:
        if f.split(".")[0] not in keep:
            p = os.path.join(r, f)
            b = bytearray(open(p, "rb").read()); b[60] ^= 1; open(p, "wb").write(b)
EOF
expect_fail 3 "no source delivered it intact" "$CADU" -q install -c "$CONF" "$T/bad/update.manifest"
[ "$(sim)" = B ] || fail "a failed install switched slots"

# Rotation: release 4 under a new key. The old key is refused cleanly, the
# new one installs.
enc_release "$T/v4" 4.0.0 "$T/k2"
refused 4 "^cadu: image rootfs is encrypted with store key $(kid "$T/v4/rootfs.caibx"); this device holds key $(kid "$T/v3/rootfs.caibx")$" \
        "$T/v4/update.manifest"
printf '%s\n\n[store]\nkey-file = %s\n' "$conf_plain" "$T/k2" > "$CONF"
"$CADU" -q install -c "$CONF" "$T/v4/update.manifest"
[ "$(sim)" = A ] || fail "the device did not boot release 4"
slot_has a "$T/v4" || fail "slot A does not hold v4"
echo "encrypted installs: all checks passed"
