#!/bin/sh
# One test per threat (DESIGN.md section 7, issue 5): each is refused by
# cadu verify with its exit status and a clear message. The control case
# (the genuine release verifies) runs first so no refusal can be vacuous.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"

make_pki
release "$T/r1" 1.0.0
release "$T/r2" 2.0.0
sign_cadu "$T/r1"
sign_cadu "$T/r2"
verify "$T/r1/manifest.txt" >/dev/null || fail "control: release 1 does not verify"
verify "$T/r2/manifest.txt" >/dev/null || fail "control: release 2 does not verify"

# fresh NAME: a copy of release 2 to attack.
fresh() {
        rm -rf "$T/$1"
        cp -r "$T/r2" "$T/$1"
        echo "$T/$1/manifest.txt"
}

# Tampered manifest byte (one letter of the compatible string).
M=$(fresh tamper)
sed -i 's/compatible = acme,board-v2/compatible = acme,board-v3/' "$M"
cmp -s "$M" "$T/r2/manifest.txt" && fail "tamper: nothing changed"
expect_fail 3 "^cadu: .*tamper/manifest.txt: signature does not match the manifest" verify "$M"
# ... and a single flipped bit anywhere.
M=$(fresh bitflip)
python3 -c 'import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[len(d) // 2] ^= 0x01; open(p, "wb").write(d)' "$M"
expect_fail 3 "signature does not match the manifest" verify "$M"

# Tampered index: same size, one byte changed.
M=$(fresh index)
python3 -c 'import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[70] ^= 0xff; open(p, "wb").write(d)' "$T/index/rootfs.caibx"
expect_fail 3 "manifest.txt: image rootfs: index .*/index/rootfs.caibx: sha256 mismatch: [0-9a-f]{64}, the manifest pins [0-9a-f]{64}$" \
        verify "$M"
# ... or grown by a byte (refused on its size, before hashing).
M=$(fresh index-grown)
echo >>"$T/index-grown/kernel.caibx"
expect_fail 3 "image kernel: index .*: size mismatch: [0-9]+ bytes, the manifest pins [0-9]+$" verify "$M"

# Mix-and-match: release 1's index in release 2 (a valid index, wrong release).
M=$(fresh mix)
cp "$T/r1/rootfs.caibx" "$T/mix/rootfs.caibx"
expect_fail 3 "image rootfs: index .*mix/rootfs.caibx: (sha256|size) mismatch" verify "$M"
# ... and release 1's manifest with release 2's signature.
expect_fail 3 "signature does not match the manifest" \
        "$CADU" verify --ca "$P/ca.pem" "$T/r1/manifest.txt" "$T/r2/manifest.txt.sig"

# Rollback: not newer than the installed version.
expect_fail 4 "version 1.0.0 is older than the installed version 2.0.0 \(rollback refused\)$" \
        verify "$T/r1/manifest.txt" --installed-version 2.0.0
expect_fail 4 "version 2.0.0 is the same as the installed version 2.0 \(rollback refused\)$" \
        verify "$T/r2/manifest.txt" --installed-version 2.0
verify "$T/r2/manifest.txt" --installed-version 2.0.0-rc.1 >/dev/null || fail "2.0.0 is newer than 2.0.0-rc.1"
verify "$T/r1/manifest.txt" --installed-version 2.0.0 --allow-downgrade >/dev/null ||
        fail "--allow-downgrade does not allow a downgrade"
expect_fail 2 "invalid --installed-version 'v2'" verify "$T/r1/manifest.txt" --installed-version v2

# Freeze: an expired manifest.
release "$T/old" 3.0.0 --expires 2020-01-01T00:00:00Z
sign_cadu "$T/old"
expect_fail 4 "old/manifest.txt: manifest expired at 2020-01-01T00:00:00Z$" verify "$T/old/manifest.txt"
release "$T/fresh" 3.0.1 --expires 2099-01-01T00:00:00Z
sign_cadu "$T/fresh"
out=$(verify "$T/fresh/manifest.txt") || fail "future expiry refused"
echo "$out" | grep -q "expires 2099-01-01T00:00:00Z" || fail "future expiry not shown: $out"

# Wrong compatible.
expect_fail 4 "manifest is for 'acme,board-v2', not for this device \('acme,board-v3'\)$" \
        verify "$T/r2/manifest.txt" --compatible acme,board-v3

# Signer not chained to the trust anchor: a whole other PKI.
root evil "evil root"
cert evilsigner "release-signer" evil "$SIGNER_EXT"
M=$(fresh unchained)
"$CADU" -q sign --key "$P/evilsigner.key" --cert "$P/evilsigner.pem" --chain "$P/evil.pem" "$M"
expect_fail 3 "signer certificate 'CN=release-signer': (issuer .*: )?(unable to get local issuer certificate|self-signed certificate in certificate chain)" \
        verify "$M"
# ... nor an intermediate missing from the signature.
M=$(fresh nointermediate)
sign_openssl "$M" signer
expect_fail 3 "signer certificate 'CN=release-signer': unable to get local issuer certificate$" verify "$M"

# Self-signed signer.
key self
openssl req -x509 -new -key "$P/self.key" -subj "/CN=release-signer" -days 30 \
        -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
        -out "$P/self.pem" 2>/dev/null
M=$(fresh selfsigned)
"$CADU" -q sign --key "$P/self.key" --cert "$P/self.pem" "$M"
expect_fail 3 "signer certificate 'CN=release-signer': self-signed certificate$" verify "$M"

# Expired signer certificate (cadu sign refuses it, so openssl signs).
expired old "release-signer" int
M=$(fresh expiredcert)
sign_openssl "$M" old -certfile "$P/int.pem"
expect_fail 3 "signer certificate 'CN=release-signer': certificate has expired$" verify "$M"

# An intermediate that is not a CA (a signer certificate issuing another).
cert leafsigned "release-signer" signer "$SIGNER_EXT"
M=$(fresh notca)
cat "$P/signer.pem" "$P/int.pem" >"$P/leafchain.pem"
sign_openssl "$M" leafsigned -certfile "$P/leafchain.pem"
expect_fail 3 "signer certificate 'CN=release-signer': issuer 'CN=release-signer': invalid CA certificate$" verify "$M"

# Wrong key usage when codeSigning is required: emailProtection only, or no EKU.
cert mail "release-signer" int "keyUsage=critical,digitalSignature" "extendedKeyUsage=emailProtection"
cert noeku "release-signer" int "keyUsage=critical,digitalSignature"
M=$(fresh mail)
sign_openssl "$M" mail -certfile "$P/int.pem"
expect_fail 3 "signer certificate 'CN=release-signer' lacks the codeSigning extended key usage$" \
        verify "$M" --require-codesign
M=$(fresh noeku)
sign_openssl "$M" noeku -certfile "$P/int.pem"
expect_fail 3 "lacks the codeSigning extended key usage$" verify "$M" --require-codesign
# By default (RAUC's purpose check): no extended key usage, codeSigning or
# anyExtendedKeyUsage may sign; a certificate for another purpose may not,
# even from the trusted CA: the emailProtection one above, or a TLS server's.
verify "$M" >/dev/null || fail "a signer without extended key usage is refused by default"
cert anyeku "release-signer" int "keyUsage=critical,digitalSignature" "extendedKeyUsage=anyExtendedKeyUsage"
M=$(fresh anyeku)
sign_openssl "$M" anyeku -certfile "$P/int.pem"
verify "$M" >/dev/null || fail "an anyExtendedKeyUsage signer is refused by default"
eku_refused="its extended key usage allows neither codeSigning nor any purpose \\(a certificate for another purpose, e.g. a TLS server, cannot sign releases\\)$"
M=$(fresh mail)
sign_openssl "$M" mail -certfile "$P/int.pem"
expect_fail 3 "^cadu: $M: signer certificate 'CN=release-signer': $eku_refused" verify "$M"
cert tls "updates.example.com" int "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:updates.example.com"
M=$(fresh tls)
sign_openssl "$M" tls -certfile "$P/int.pem"
expect_fail 3 "^cadu: $M: signer certificate 'CN=updates.example.com': $eku_refused" verify "$M"
expect_fail 1 "^cadu: signing $M: certificate $P/tls.pem: its extended key usage allows neither codeSigning nor any purpose \\(devices refuse such a signer\\)$" \
        "$CADU" sign --key "$P/tls.key" --cert "$P/tls.pem" --chain "$P/int.pem" "$M"
# keyUsage that does not allow signing at all.
cert keyenc "release-signer" int "keyUsage=critical,keyAgreement" "extendedKeyUsage=codeSigning"
M=$(fresh keyenc)
sign_openssl "$M" keyenc -certfile "$P/int.pem"
expect_fail 3 "signer certificate 'CN=release-signer': key usage does not allow digital signatures$" verify "$M"

# Wrong signer name.
expect_fail 3 "signer certificate 'CN=release-signer' is not for the required signer 'updates.example.com'$" \
        verify "$T/r2/manifest.txt" --signer updates.example.com

# A manifest naming a path outside its directory, or an absurd size: cadu
# sign refuses to sign it; signed anyway, cadu verify refuses it.
hostile() {
        M=$(fresh "$1")
        sed -i "$2" "$M"
        cmp -s "$M" "$T/r2/manifest.txt" && fail "$1: nothing changed"
        expect_fail 3 "refusing to sign .*: $3" "$CADU" sign --key "$P/signer.key" --cert "$P/signer.pem" "$M"
        sign_openssl "$M" signer -certfile "$P/int.pem"
        expect_fail 3 "^cadu: .*$1/manifest.txt: $3" verify "$M"
}
hostile dotdot 's|^index = rootfs.caibx|index = ../r1/rootfs.caibx|' \
        "line 10: invalid index '../r1/rootfs.caibx': must not contain '..' \(a path outside the manifest's directory\)$"
hostile absolute 's|^index = kernel.caibx|index = /etc/passwd|' \
        "line 19: invalid index '/etc/passwd': must be a relative path \(it starts with '/'\)$"
hostile store 's|^store = store|store = ../../store|' "line 13: invalid store '../../store': must not contain '..'"
hostile size 's|^size = 300000|size = 1125899906842625|' \
        "line 8: invalid size 1125899906842625: out of range \(1 to 2\^50 bytes\)$"
hostile negative 's|^size = 70000|size = -70000|' "line 17: invalid size '-70000': must be a decimal number of bytes$"
# A number with a leading zero is a number: the message says what is wrong.
hostile format01 's|^format = 1$|format = 01|' "line [0-9]+: invalid format '01': a leading zero is not allowed$"
hostile size0 's|^size = 70000|size = 070000|' "line 17: invalid size '070000': a leading zero is not allowed$"
hostile isize0 's|^index-size = |index-size = 0|' "line [0-9]+: invalid index-size '0[0-9]+': a leading zero is not allowed$"
hostile unknown 's|^class = kernel|class = kernel\nfirmware-exec = /bin/sh|' \
        "line 17: unknown key 'firmware-exec' in \[image kernel\]$"
hostile future 's|^format = 1|format = 2|' "line 2: unsupported manifest format 2 \(this cadu reads format 1\)$"
# Two images of one slot class: the second would overwrite the first.
hostile twoclass 's|^class = kernel|class = rootfs|' \
        "line 15: \\[image kernel\\]: slot class 'rootfs' already has \\[image rootfs\\] \\(one image per class\\)$"
expect_fail 1 "^cadu: manifest $T/r2/twoclass.txt: image kernel: slot class 'rootfs' already has image rootfs \\(one image per class\\)$" \
        "$CADU" manifest --compatible acme,board-v2 --version 9.0.0 \
        --image "rootfs:rootfs:$T/r2/rootfs.img:$T/r2/rootfs.caibx:$T/r2/store" \
        --image "kernel:rootfs:$T/r2/kernel.img:$T/r2/kernel.caibx" "$T/r2/twoclass.txt"
[ ! -e "$T/r2/twoclass.txt" ] || fail "a manifest with two images of one class was written"

# The device's slot classes: exactly one image for each, none for another.
verify "$T/r2/manifest.txt" --class kernel --class rootfs >/dev/null || fail "control: the device's classes"
expect_fail 4 "^cadu: $T/r2/manifest.txt: no image for slot class 'app': a release must name every slot class of the device$" \
        verify "$T/r2/manifest.txt" --class rootfs --class kernel --class app
expect_fail 4 "^cadu: $T/r2/manifest.txt: image kernel is for slot class 'kernel', which this device does not have$" \
        verify "$T/r2/manifest.txt" --class rootfs

# Truncated, garbage, empty, oversized and padded signatures; other CMS shapes.
M=$(fresh sigs)
head -c 200 "$T/r2/manifest.txt.sig" >"$M.sig"
expect_fail 3 "signature is not a DER CMS message \(truncated or garbage\)" verify "$M"
data 7 600 "$M.sig"
expect_fail 3 "signature is not a DER CMS message \(truncated or garbage\)" verify "$M"
: >"$M.sig"
expect_fail 3 "manifest.txt: signature is empty$" verify "$M"
{ cat "$T/r2/manifest.txt.sig"; printf 'x'; } >"$M.sig"
expect_fail 3 "signature has 1 byte of trailing garbage$" verify "$M"
data 8 1100000 "$M.sig"
expect_fail 3 "signature .*manifest.txt.sig is larger than 1048576 bytes$" verify "$M"
rm "$M.sig"
expect_fail 1 "cannot read signature .*sigs/manifest.txt.sig: not found$" verify "$M"
sign_openssl "$M" signer -certfile "$P/int.pem" -md sha1
expect_fail 3 "signature digest algorithm is not SHA-256, SHA-384 or SHA-512$" verify "$M"
sign_openssl "$M" signer -certfile "$P/int.pem" -nodetach
expect_fail 3 "signature embeds its content; a detached signature is required$" verify "$M"
openssl cms -sign -binary -outform DER -nosmimecap -signer "$P/signer.pem" -inkey "$P/signer.key" \
        -signer "$P/mail.pem" -inkey "$P/mail.key" -certfile "$P/int.pem" -in "$M" -out "$M.sig"
expect_fail 3 "signature has 2 signers, exactly one is required$" verify "$M"
openssl cms -sign -binary -outform DER -nosmimecap -nocerts -signer "$P/signer.pem" -inkey "$P/signer.key" \
        -in "$M" -out "$M.sig"
expect_fail 3 "signature carries no signer certificate$" verify "$M"
openssl cms -encrypt -binary -outform DER -aes256 -in "$M" -out "$M.sig" "$P/signer.pem"
expect_fail 3 "signature is not a CMS SignedData$" verify "$M"

# A missing index or a missing trust anchor is a plain failure (exit 1).
M=$(fresh missing)
rm "$T/missing/kernel.caibx"
expect_fail 1 "image kernel: index .*missing/kernel.caibx: not found$" verify "$M"
expect_fail 1 "trust anchors .*nothere.pem: No such file or directory$" \
        "$CADU" verify --ca "$T/nothere.pem" "$T/r2/manifest.txt"
expect_fail 1 "trust anchors .*signer.key: " "$CADU" verify --ca "$P/signer.key" "$T/r2/manifest.txt"
expect_fail 2 "--ca is required" "$CADU" verify "$T/r2/manifest.txt"

# After all that, the genuine releases still verify.
verify "$T/r2/manifest.txt" --require-codesign --signer release-signer --compatible acme,board-v2 \
        --installed-version 1.0.0 >/dev/null || fail "release 2 no longer verifies"
