#!/bin/sh
# Store keys wrapped for device certificates (CMS EnvelopedData,
# doc/encryption.md): interop with openssl cms both ways (RSA-OAEP and
# ECDH), a device that unwraps its release key, and envelopes that must be
# refused: for another device, with algorithms outside the allow-list.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
need openssl python3 cmp
make_pki
dev_setup file
(umask 077; openssl rand -hex 32 > "$T/k")
# Device certificates: RSA, EC (P-256), and another device's.
devcert() { # NAME KEYARGS...
        local n=$1
        shift
        openssl req -x509 -newkey "$@" -nodes -keyout "$T/$n.key" -out "$T/$n.pem" -subj "/CN=$n" -days 3 2>/dev/null ||
                fail "certificate $n"
}
devcert rsa rsa:2048
devcert ec ec -pkeyopt ec_paramgen_curve:P-256
devcert other rsa:2048

device_release "$T/v1" 1.0.0
# v2, encrypted, its key wrapped for the RSA and EC devices.
device_release "$T/v2" 2.0.0
rm -r "$T/v2/store" "$T/v2/update.manifest" "$T/v2/update.manifest.sig"
for i in rootfs:16K:32K:64K kernel:4K:8K:16K; do
        n=${i%%:*}
        "$CADU" -q make --encrypt-key "$T/k" --store "$T/v2/store" --chunk-size "${i#*:}" "$T/v2/$n.img" "$T/v2/$n.caibx"
done
manifest() { # DIR VERSION [options]
        local dir=$1 version=$2
        shift 2
        "$CADU" -q manifest --key-file "$T/k" --compatible cadu-test-board --version "$version" "$@" \
                --image "rootfs:rootfs:$T/v2/rootfs.img:$dir/rootfs.caibx:$dir/store" \
                --image "kernel:kernel:$T/v2/kernel.img:$dir/kernel.caibx:$dir/store" "$dir/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$dir/update.manifest"
}
manifest "$T/v2" 2.0.0 --recipient "$T/rsa.pem" --recipient "$T/ec.pem"
env="$T/v2/update.manifest.keys"
[ -f "$env" ] || fail "no key envelope written"
grep -q "^key-envelope = update.manifest.keys$" "$T/v2/update.manifest" || fail "the manifest does not pin the envelope"

# --- interop: openssl unwraps what cadu wrapped, for both recipients
for d in rsa ec; do
        openssl cms -decrypt -binary -inform DER -in "$env" -recip "$T/$d.pem" -inkey "$T/$d.key" -out "$T/k.$d" ||
                fail "openssl cms -decrypt ($d) failed"
        cmp "$T/k" "$T/k.$d" || fail "openssl unwrapped another key ($d)"
done
openssl cms -cmsout -print -inform DER -in "$env" | grep -q 'rsaesOaep' || fail "the RSA recipient does not use OAEP"
if openssl cms -decrypt -binary -inform DER -in "$env" -recip "$T/other.pem" -inkey "$T/other.key" -out /dev/null 2>/dev/null; then
        fail "another device's key unwrapped the envelope"
fi

# --- cadu info with the envelope and a recipient's certificate and key
"$CADU" info --key-envelope "$env" --recipient-cert "$T/ec.pem" --recipient-key "$T/ec.key" "$T/v2/rootfs.caibx" \
        > "$T/info.out" || fail "info with the key envelope failed"
grep -q "^$T/v2/rootfs.caibx: .* ($(stat -c %s "$T/v2/rootfs.img") bytes) in [0-9]* chunks" "$T/info.out" ||
        fail "info with the key envelope: $(cat "$T/info.out")"
expect_fail 4 "^cadu: key envelope $env: no recipient for the certificate $T/other.pem$" \
        "$CADU" info --key-envelope "$env" --recipient-cert "$T/other.pem" --recipient-key "$T/other.key" "$T/v2/rootfs.caibx"

# --- a device holding no key file unwraps the release key with its own
factory "$T/v1"
conf_plain=$(cat "$CONF")
device() { # CERT-NAME
        printf '%s\n\n[store]\nrecipient-cert = %s\nrecipient-key = %s\n' "$conf_plain" "$T/$1.pem" "$T/$1.key" > "$CONF"
}
refused() { # CODE REGEX MANIFEST: refused, nothing written
        local code=$1 re=$2 m=$3 before
        before=$(slots_digest)
        expect_fail "$code" "$re" "$CADU" -q install -c "$CONF" "$m"
        [ "$(slots_digest)" = "$before" ] || fail "slots written by a refused install ($re)"
        [ "$(wc -l < "$T/.err")" -eq 1 ] || fail "not one line: $(cat "$T/.err")"
}
# A wrapped key for another device only.
mkdir "$T/v3" && cp "$T/v2/"*.caibx "$T/v3/" && cp -r "$T/v2/store" "$T/v3/store"
manifest "$T/v3" 3.0.0 --recipient "$T/other.pem"
device rsa
refused 4 "^cadu: key envelope $T/v3/update.manifest.keys: no recipient for the certificate $T/rsa.pem$" \
        "$T/v3/update.manifest"
# A changed envelope (the manifest pins it).
cp "$T/v2/update.manifest.keys" "$T/v3/update.manifest.keys"
refused 3 "^cadu: key envelope $T/v3/update.manifest.keys: larger than the [0-9]+ bytes the manifest pins$" "$T/v3/update.manifest"
# The EC device installs v2.
device ec
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
[ "$(sim)" = B ] && slot_has b "$T/v2" || fail "the EC device did not install v2"
"$CADU" -q mark-good -c "$CONF"

# --- interop the other way: envelopes made by openssl cms -encrypt
mkdir "$T/v4" && cp "$T/v2/"*.caibx "$T/v4/" && cp -r "$T/v2/store" "$T/v4/store"
openssl cms -encrypt -binary -outform DER -aes256 -in "$T/k" -recip "$T/rsa.pem" -keyopt rsa_padding_mode:oaep \
        -out "$T/v4/openssl.keys" || fail "openssl cms -encrypt"
manifest "$T/v4" 4.0.0 --key-envelope "$T/v4/openssl.keys"
# Algorithms outside the list: RSA PKCS #1 v1.5 (openssl's default), 3DES.
mkdir "$T/v5" && cp "$T/v2/"*.caibx "$T/v5/" && cp -r "$T/v2/store" "$T/v5/store"
openssl cms -encrypt -binary -outform DER -aes256 -in "$T/k" -recip "$T/rsa.pem" -out "$T/v5/v15.keys"
expect_fail 3 "^cadu: key envelope $T/v5/v15.keys: recipient 1: unsupported key transport rsaEncryption \\(want RSA-OAEP\\)$" \
        "$CADU" manifest --key-file "$T/k" --compatible cadu-test-board --version 5.0.0 \
        --key-envelope "$T/v5/v15.keys" --image "rootfs:rootfs:$T/v2/rootfs.img:$T/v5/rootfs.caibx:$T/v5/store" \
        "$T/v5/update.manifest"
# The device refuses such an envelope too: pin it with a hand-made manifest.
openssl cms -encrypt -binary -outform DER -des3 -in "$T/k" -recip "$T/rsa.pem" -keyopt rsa_padding_mode:oaep \
        -out "$T/v5/des.keys"
cp "$T/v4/openssl.keys" "$T/v5/openssl.keys"
manifest "$T/v5" 5.0.0 --key-envelope "$T/v5/openssl.keys"
python3 - "$T/v5/update.manifest" "$T/v5/des.keys" <<'EOF'
import hashlib, re, sys
m, env = sys.argv[1], open(sys.argv[2], "rb").read()
t = open(m).read()
t = re.sub(r"key-envelope = .*", "key-envelope = des.keys", t)
t = re.sub(r"key-envelope-size = .*", "key-envelope-size = %d" % len(env), t)
t = re.sub(r"key-envelope-sha256 = .*", "key-envelope-sha256 = " + hashlib.sha256(env).hexdigest(), t)
open(m, "w").write(t)
EOF
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$T/v5/update.manifest"
device rsa
refused 3 "^cadu: key envelope $T/v5/des.keys: unsupported content encryption algorithm des-ede3-cbc \\(want AES-CBC\\)$" \
        "$T/v5/update.manifest"
# The RSA device installs v4 from openssl's envelope.
"$CADU" -q install -c "$CONF" "$T/v4/update.manifest"
[ "$(sim)" = A ] && slot_has a "$T/v2" || fail "the RSA device did not install v4"
echo "key envelopes: all checks passed"
