#!/bin/sh
# Install over HTTPS from a real nginx (test CA, HTTP/2): the manifest, its
# signature, the indexes and the store all come from the server, with the
# device's [store] TLS settings. Hooks run around each image and after the
# switch with their documented environment; a failing hook aborts the
# install with the target slot left out of the boot order.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
make_pki
certs_make "$T/certs"
mkdir -p "$T/www"
dev_setup uboot "hooks-dir = $T/hooks"
printf '\n[store]\nca-file = %s\n' "$T/certs/ca.pem" >> "$CONF"
device_release "$T/v1" 1.0.0
device_release "$T/www/v2" 2.0.0
device_release "$T/www/v3" 3.0.0
factory "$T/v1"
nginx_start "$T/www"
url=https://127.0.0.1:$NGINX_HTTPS_PORT

mkdir -p "$T/hooks"
cat > "$T/hooks/10-log" <<HOOK
#!/bin/sh
echo "\$1 \$CADU_HOOK \${CADU_IMAGE:--} \${CADU_CLASS:--} \$CADU_TARGET_SLOT \$CADU_BOOTED_SLOT \$CADU_VERSION \${CADU_DEVICE:--}" >> "$T/hooks.log"
HOOK
chmod +x "$T/hooks/10-log"

# A network option on the command line overrides only itself: the
# configuration's ca-file still applies (HTTPS fails without it).
"$CADU" --json install -c "$CONF" --retries 2 "$url/v2/update.manifest" > net.json
slot_has b "$T/www/v2" || fail "slot B does not hold v2 after a network install"
expect_env BOOT_ORDER "B A"
grep -q "\"location\":\"$url/v2/store\"" net.json || fail "chunks did not come from the HTTPS store"
grep -q "GET /v2/update.manifest.sig " "$NGINX_LOG" || fail "signature not fetched over HTTPS"
cat > expect.log <<EOF2
pre-install pre-install rootfs rootfs B A 2.0.0 $D/b.img
post-install post-install rootfs rootfs B A 2.0.0 $D/b.img
pre-install pre-install kernel kernel B A 2.0.0 $D/kb.img
post-install post-install kernel kernel B A 2.0.0 $D/kb.img
post-switch post-switch - - B A 2.0.0 -
EOF2
diff -u expect.log "$T/hooks.log" || fail "hooks did not run as documented"

[ "$(sim)" = B ] && "$CADU" -q mark-good -c "$CONF"

# A TLS server the device does not trust: refused, nothing written.
sed -i "s|^ca-file = .*|ca-file = $T/certs/other-ca.pem|" "$CONF"
before=$(slots_digest)
expect_fail 5 "manifest $url/v3/update.manifest: " "$CADU" install -c "$CONF" "$url/v3/update.manifest"
[ "$(slots_digest)" = "$before" ] || fail "slots written after a TLS failure"
sed -i "s|^ca-file = .*|ca-file = $T/certs/ca.pem|" "$CONF"

# A failing hook aborts: the target slot stays out of the boot order.
printf '#!/bin/sh\n[ "$1" != post-install ] || [ "$CADU_IMAGE" != rootfs ] || exit 3\n' > "$T/hooks/20-veto"
chmod +x "$T/hooks/20-veto"
expect_fail 1 "hook .*20-veto failed at post-install of rootfs \\(exit status 3\\); install aborted" \
        "$CADU" install -c "$CONF" "$url/v3/update.manifest"
[ "$(envget BOOT_A_LEFT)" = 0 ] || fail "slot A bootable after an aborted install"
[ "$(sim)" = B ] || fail "device does not boot B after an aborted install"
rm "$T/hooks/20-veto"
"$CADU" -q mark-good -c "$CONF"
"$CADU" -q install -c "$CONF" "$url/v3/update.manifest"
slot_has a "$T/www/v3" || fail "v3 not installed after the hook was removed"
echo "network install ok"
