#!/bin/sh
# Installs that must be refused before anything is written: no slot changes,
# the bootloader environment is not stored. Each refusal has its message.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
make_pki
dev_setup uboot
device_release "$T/v1" 1.0.0
device_release "$T/v2" 2.0.0
factory "$T/v1"
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest"
[ "$(sim)" = B ] && "$CADU" -q mark-good -c "$CONF"

refused() { # CODE REGEX MANIFEST [install options]: refused, nothing written
        local code=$1 re=$2 m=$3 before gen
        shift 3
        before=$(slots_digest)
        gen=$(env_generation)
        expect_fail "$code" "$re" "$CADU" install -c "$CONF" "$@" "$m"
        [ "$(slots_digest)" = "$before" ] || fail "slots written by a refused install ($re)"
        [ "$(env_generation)" = "$gen" ] || fail "environment stored by a refused install ($re)"
}

# Unsigned: no signature beside the manifest.
mkdir -p "$T/unsigned" && cp -r "$T/v1/"* "$T/unsigned/" && rm "$T/unsigned/update.manifest.sig"
refused 3 "^cadu: signature $T/unsigned/update.manifest.sig: missing: the manifest is not signed$" "$T/unsigned/update.manifest"

# Signed by a key the device does not trust.
root other "some other root"
cert stranger "stranger" other "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=codeSigning"
device_release "$T/v3" 3.0.0
"$CADU" -q sign --key "$P/stranger.key" --cert "$P/stranger.pem" "$T/v3/update.manifest" "$T/v3/update.manifest.sig"
refused 3 "^cadu: manifest $T/v3/update.manifest: signer certificate 'CN=stranger': unable to get local issuer certificate$" \
        "$T/v3/update.manifest"

# A manifest byte changed after signing.
device_release "$T/v4" 4.0.0
sed -i 's/^version = 4.0.0/version = 4.0.1/' "$T/v4/update.manifest"
refused 3 "^cadu: manifest $T/v4/update.manifest: signature does not match the manifest \\(content verify error\\)$" \
        "$T/v4/update.manifest"

# Downgrade (the running slot B has 2.0.0), and the same version.
refused 4 "^cadu: refusing $T/v1/update.manifest: version 1.0.0 is older than the installed version 2.0.0 \\(rollback refused\\)$" \
        "$T/v1/update.manifest"
refused 4 "^cadu: refusing $T/v2/update.manifest: version 2.0.0 is the same as the installed version 2.0.0 \\(rollback refused\\)$" \
        "$T/v2/update.manifest"

# Wrong compatible.
mkdir -p "$T/other"
cp "$T/v2/rootfs.img" "$T/v2/rootfs.caibx" "$T/other/" && cp -r "$T/v2/store" "$T/other/"
"$CADU" -q manifest --compatible other-board --version 9.0.0 \
        --image "rootfs:rootfs:$T/other/rootfs.img:$T/other/rootfs.caibx:$T/other/store" "$T/other/update.manifest"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$T/other/update.manifest"
refused 4 "^cadu: refusing $T/other/update.manifest: manifest is for 'other-board', not for this device \\('cadu-test-board'\\)$" "$T/other/update.manifest"

# A slot class the device lacks.
mkdir -p "$T/app"
cp "$T/v2/rootfs.img" "$T/v2/rootfs.caibx" "$T/app/" && cp -r "$T/v2/store" "$T/app/"
"$CADU" -q manifest --compatible cadu-test-board --version 9.0.0 \
        --image "app:app:$T/app/rootfs.img:$T/app/rootfs.caibx:$T/app/store" "$T/app/update.manifest"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$T/app/update.manifest"
refused 4 "^cadu: refusing $T/app/update.manifest: image app is for slot class 'app', which this device does not have$" "$T/app/update.manifest"

# A release naming only some of the device's slot classes: the switch would
# boot slot A's kernel class from whatever it holds.
"$CADU" -q manifest --compatible cadu-test-board --version 9.0.0 \
        --image "rootfs:rootfs:$T/app/rootfs.img:$T/app/rootfs.caibx:$T/app/store" "$T/app/partial.manifest"
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$T/app/partial.manifest"
refused 4 "^cadu: refusing $T/app/partial.manifest: no image for slot class 'kernel': a release must name every slot class of the device$" \
        "$T/app/partial.manifest"
# Two images of one class, signed by a signer who did not check: malformed.
mkdir -p "$T/twice" && cp -r "$T/v2/"* "$T/twice/"
sed -i -e 's/^class = kernel$/class = rootfs/' -e 's/^version = 2.0.0$/version = 6.0.0/' "$T/twice/update.manifest"
openssl cms -sign -binary -outform DER -nosmimecap -md sha256 -signer "$P/signer.pem" -inkey "$P/signer.key" \
        -certfile "$P/int.pem" -in "$T/twice/update.manifest" -out "$T/twice/update.manifest.sig"
refused 3 "^cadu: manifest $T/twice/update.manifest: line [0-9]+: \\[image kernel\\]: slot class 'rootfs' already has \\[image rootfs\\] \\(one image per class\\)$" \
        "$T/twice/update.manifest"

# The target slot's device is the running slot's device (misconfiguration).
device_release "$T/v5" 5.0.0
sed -i "s|^a = $D/a.img|a = $D/b.img|" "$CONF"
refused 2 "^cadu: $CONF:8: \\[slot rootfs\\]: 'a' and 'b' name the same device $D/b.img$" "$T/v5/update.manifest"
ln -s b.img "$D/b-alias.img"
sed -i "s|^a = $D/b.img|a = $D/b-alias.img|" "$CONF"
refused 4 "^cadu: refusing $T/v5/update.manifest: slot A of rootfs \\($D/b-alias.img\\) is the running slot's device$" "$T/v5/update.manifest"
sed -i "s|^a = $D/b-alias.img|a = $D/a.img|" "$CONF"

# A missing slot device: a clear error, nothing written, nothing switched.
mv "$D/ka.img" "$D/ka.img.away"
gen=$(env_generation)
before=$(cat "$D/a.img" "$D/b.img" "$D/kb.img" | sha256sum)
expect_fail 1 "^cadu: slot A of kernel \\($D/ka.img\\): not found$" "$CADU" install -c "$CONF" "$T/v5/update.manifest"
[ "$(cat "$D/a.img" "$D/b.img" "$D/kb.img" | sha256sum)" = "$before" ] || fail "slots written with a slot missing"
[ "$(env_generation)" = "$gen" ] || fail "environment stored with a slot missing"
mv "$D/ka.img.away" "$D/ka.img"

# A corrupt bootloader environment (both redundant copies): refused before
# anything is written.
cp "$D/env0" env0.save && cp "$D/env1" env1.save
printf 'garbage' | dd of="$D/env0" bs=1 seek=8 conv=notrunc status=none
printf 'garbage' | dd of="$D/env1" bs=1 seek=8 conv=notrunc status=none
before=$(slots_digest)
expect_fail 3 "^cadu: reading the bootloader environment: U-Boot environment of $FWCFG: no copy has a valid CRC \\(corrupt or never written\\)$" "$CADU" install -c "$CONF" "$T/v5/update.manifest"
[ "$(slots_digest)" = "$before" ] || fail "slots written with a corrupt environment"
cp env0.save "$D/env0" && cp env1.save "$D/env1"

# An index swapped after signing (mix and match: the kernel's, so the
# rootfs before it checks out): refused before anything is written, the
# environment byte for byte what it was and the fallback slot bootable.
cp "$T/v2/kernel.caibx" "$T/v5/kernel.caibx"
fw_printenv -c "$FWCFG" >env.before
refused 3 "^cadu: index $T/v5/kernel.caibx: sha256 mismatch: [0-9a-f]{64}, the manifest pins [0-9a-f]{64}$" "$T/v5/update.manifest"
fw_printenv -c "$FWCFG" >env.after
cmp -s env.before env.after || fail "environment changed by a refused index: $(diff env.before env.after)"
[ "$(sim)" = B ] || fail "device does not boot the running slot after a refused index"
# Rollback protection that survives a wiped state directory (a factory
# reset): mark-good recorded the committed version in the environment.
expect_env cadu_min_version 2.0.0
rm -rf "$D/state"
refused 4 "^cadu: refusing $T/v1/update.manifest: version 1.0.0 is older than 2.0.0, the lowest this device accepts \\(bootloader variable cadu_min_version; rollback refused\\)$" \
        "$T/v1/update.manifest"
fw_setenv -c "$FWCFG" cadu_min_version 'two' 2>/dev/null
refused 3 "^cadu: bootloader environment: cadu_min_version='two' is not a version$" "$T/v1/update.manifest"
fw_setenv -c "$FWCFG" cadu_min_version 2.0.0 2>/dev/null
# The operator's explicit downgrade is still possible, and mark-good never
# lowers the floor.
"$CADU" -q install -c "$CONF" --allow-downgrade "$T/v1/update.manifest" || fail "--allow-downgrade below the floor"
[ "$(sim)" = A ] || fail "the downgrade does not boot"
"$CADU" -q mark-good -c "$CONF"
expect_env cadu_min_version 2.0.0
# A floor the device was provisioned with (min-version in cadu.conf):
# refused although the bootloader environment has lost its floor.
fw_setenv -c "$FWCFG" cadu_min_version 2>/dev/null
sed -i "s|^compatible = .*|&\nmin-version = 3.0.0|" "$CONF"
line=$(grep -n '^min-version' "$CONF" | cut -d: -f1)
refused 4 "^cadu: refusing $T/v2/update.manifest: version 2.0.0 is older than 3.0.0, the lowest this device accepts \\(min-version in $CONF; rollback refused\\)$" \
        "$T/v2/update.manifest"
sed -i "s|^min-version = .*|min-version = two|" "$CONF"
refused 2 "^cadu: $CONF:$line: min-version 'two' is not a version \\(as in 2\\.1\\.0\\)$" "$T/v2/update.manifest"
sed -i "s|^min-version = .*|min-version = 2.0.0|" "$CONF"
"$CADU" -q install -c "$CONF" "$T/v2/update.manifest" || fail "a release at the provisioned floor refused"
sed -i "/^min-version = /d" "$CONF"
echo "refusals ok"
