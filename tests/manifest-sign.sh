#!/bin/sh
# Signatures interoperate with the real openssl in both directions, and the
# trust options (CA file or directory, signer name, codeSigning) work.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"

make_pki
release "$T/r1" 1.0.0
M=$T/r1/manifest.txt

# cadu sign -> openssl cms -verify, exactly as DESIGN.md 4.4 gives it.
sign_cadu "$T/r1"
[ -s "$M.sig" ] || fail "cadu sign wrote no $M.sig"
no_tmp_left "$T/r1"
openssl cms -verify -binary -inform DER -in "$M.sig" -content "$M" -CAfile "$P/ca.pem" -purpose any \
        -out /dev/null 2>"$T/ossl.err" || fail "openssl cms -verify rejects cadu's signature: $(cat "$T/ossl.err")"
grep -q "Verification successful" "$T/ossl.err" || fail "openssl: $(cat "$T/ossl.err")"
# Detached (no eContent), no S/MIME capabilities, intermediate carried along.
openssl cms -cmsout -print -inform DER -in "$M.sig" >"$T/cms.txt"
grep -q "eContent: <ABSENT>" "$T/cms.txt" || fail "signature is not detached"
if grep -qi "capabilities" "$T/cms.txt"; then fail "signature carries S/MIME capabilities"; fi
grep -q "cadu test intermediate" "$T/cms.txt" || fail "intermediate certificate not in the signature"
# openssl with a modified manifest must fail too (the signature covers every byte).
sed 's/version = 1.0.0/version = 1.0.1/' "$M" >"$T/m-mod.txt"
if openssl cms -verify -binary -inform DER -in "$M.sig" -content "$T/m-mod.txt" -CAfile "$P/ca.pem" \
        -purpose any -out /dev/null 2>/dev/null; then fail "openssl accepts a modified manifest"; fi

# cadu verify of its own signature, with every trust option.
verify "$M" >"$T/out" || fail "cadu verify: $(cat "$T/out")"
grep -Eq "manifest.txt: OK, version 1.0.0 for acme,board-v2, signed by release-signer, 2 images: rootfs\(rootfs\) kernel\(kernel\)$" \
        "$T/out" || fail "unexpected OK line: $(cat "$T/out")"
verify "$M" --require-codesign --signer release-signer --compatible acme,board-v2 --installed-version 0.9 >/dev/null
verify "$M" --signer release.example.com >/dev/null
verify "$M" --signer release@example.com >/dev/null
[ -z "$("$CADU" -q verify --ca "$P/ca.pem" "$M")" ] || fail "--quiet printed something"
"$CADU" --json verify --ca "$P/ca.pem" "$M" >"$T/json"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["command"] == "verify" and d["version"] == "1.0.0" and d["signer"] == "release-signer", d
assert [i["name"] for i in d["images"]] == ["rootfs", "kernel"] and d["expires"] is None, d' "$T/json"

# Trust anchors from a hashed directory, and several --ca of which one fits.
mkdir "$T/cadir"
cp "$P/ca.pem" "$T/cadir/"
openssl rehash "$T/cadir" 2>/dev/null || c_rehash "$T/cadir" >/dev/null
"$CADU" verify --ca "$T/cadir" "$M" >/dev/null || fail "hashed CA directory not accepted"
root other "other root"
"$CADU" verify --ca "$P/other.pem" --ca "$P/ca.pem" "$M" >/dev/null || fail "second --ca not used"

# openssl cms -sign -> cadu verify, as DESIGN.md 4.4 gives it (plus -certfile
# for the intermediate), to an explicit signature path.
cp "$M" "$T/m2.txt"
cp "$T/r1/"*.caibx "$T/"
openssl cms -sign -binary -outform DER -nosmimecap -signer "$P/signer.pem" -inkey "$P/signer.key" \
        -certfile "$P/int.pem" -in "$T/m2.txt" -out "$T/m2.p7s"
"$CADU" verify --ca "$P/ca.pem" --require-codesign "$T/m2.txt" "$T/m2.p7s" >"$T/out"
grep -q "OK, version 1.0.0" "$T/out" || fail "openssl signature: $(cat "$T/out")"
# ... also with openssl's defaults (S/MIME capabilities and all).
openssl cms -sign -binary -outform DER -signer "$P/signer.pem" -inkey "$P/signer.key" -certfile "$P/int.pem" \
        -in "$T/m2.txt" -out "$T/m2.txt.sig"
"$CADU" -q verify --ca "$P/ca.pem" "$T/m2.txt"

# An RSA signer directly under the root, the whole chain in the --cert file.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/rsa.key" 2>/dev/null
openssl req -new -key "$P/rsa.key" -subj "/CN=rsa-signer" -out "$P/rsa.csr" 2>/dev/null
printf '%s\n' "$SIGNER_EXT" >"$P/rsa.ext"
openssl x509 -req -in "$P/rsa.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -set_serial 77 -days 30 \
        -extfile "$P/rsa.ext" -out "$P/rsa.pem" 2>/dev/null
cat "$P/signer.pem" "$P/int.pem" >"$P/fullchain.pem"
"$CADU" -q sign --key "$P/rsa.key" --cert "$P/rsa.pem" "$M" "$T/rsa.sig"
"$CADU" verify --ca "$P/ca.pem" --signer rsa-signer "$M" "$T/rsa.sig" | grep -q "signed by rsa-signer" ||
        fail "RSA signature"
openssl cms -verify -binary -inform DER -in "$T/rsa.sig" -content "$M" -CAfile "$P/ca.pem" -purpose any \
        -out /dev/null 2>/dev/null || fail "openssl rejects the RSA signature"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/fullchain.pem" "$M" "$T/full.sig"
"$CADU" -q verify --ca "$P/ca.pem" "$M" "$T/full.sig" || fail "chain from the --cert file"

# Signing errors: one clear line, exit status, no signature written.
rm -f "$M.sig"
expect_fail 1 "cadu: signing .*manifest.txt: key .*rsa.key does not match certificate .*signer.pem$" \
        "$CADU" sign --key "$P/rsa.key" --cert "$P/signer.pem" "$M"
expect_fail 1 "signing .*: .*nope.key: No such file or directory" \
        "$CADU" sign --key "$T/nope.key" --cert "$P/signer.pem" "$M"
expect_fail 1 "signing .*: .*int.csr: no PEM certificate" \
        "$CADU" sign --key "$P/signer.key" --cert "$P/int.csr" "$M"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out "$P/enc.key" 2>/dev/null
expect_fail 1 "enc.key: the key is passphrase-protected" \
        "$CADU" sign --key "$P/enc.key" --cert "$P/signer.pem" "$M"
expired old "old-signer" int
expect_fail 1 "certificate .*old.pem has expired" "$CADU" sign --key "$P/old.key" --cert "$P/old.pem" "$M"
expect_fail 2 "--key and --cert are required" "$CADU" sign --key "$P/signer.key" "$M"
expect_fail 2 "expected MANIFEST \[SIGNATURE\]" "$CADU" sign --key "$P/signer.key" --cert "$P/signer.pem"
[ ! -e "$M.sig" ] || fail "a failed signing left $M.sig"
no_tmp_left "$T/r1"
