#!/bin/sh
# cadu make --manifest: a release manifest straight from make, which signs
# and verifies with the real openssl and names what was made.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
make_pki
mkdir -p "$T/rel" && cd "$T/rel"
data 5 3000000 rootfs.img
"$CADU" -q make --store store --manifest update.manifest --compatible acme,board --version 1.2.3 \
        --slot-class rootfs rootfs.img rootfs.caibx
grep -qx 'version = 1.2.3' update.manifest || fail "version missing"
grep -qx "sha256 = $(sha256sum rootfs.img | cut -d' ' -f1)" update.manifest || fail "image sha256 missing"
grep -qx "index-sha256 = $(sha256sum rootfs.caibx | cut -d' ' -f1)" update.manifest || fail "index sha256 missing"
grep -qx 'store = store' update.manifest || fail "store not relative"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" update.manifest
openssl cms -verify -binary -inform DER -in update.manifest.sig -content update.manifest \
        -CAfile "$P/ca.pem" -purpose any -out /dev/null 2>/dev/null || fail "openssl does not verify it"
"$CADU" -q verify --ca "$P/ca.pem" update.manifest
expect_fail 2 "--manifest needs --compatible and --version" "$CADU" make --manifest m rootfs.img x.caibx
echo "make --manifest ok"
