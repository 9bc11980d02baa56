#!/bin/bash
# Compact indexes (store/cadu-caibz.h): `cadu make --packs --index-base`
# writes the index compressed alone and against the previous release's; an
# install over HTTP (real nginx) takes the compact form against the index
# saved for the booted slot, or alone when it has none, and never the .caibx
# itself; a corrupt or missing compact index falls back to the .caibx; the
# slots always end exactly right.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
set -o pipefail
need python3 nginx

make_pki
dev_setup uboot
mkdir -p www/store
nginx_start "$T/www"
url=http://127.0.0.1:$NGINX_HTTP_PORT

# rel VERSION [BASE_VERSION]: release VERSION in www/VERSION, its chunks,
# packs and compact indexes in the shared store, the manifest naming it.
rel() {
        local d=$T/www/$1 b=()
        device_release "$d" "$1" 4
        [ -z "${2:-}" ] || b=(--index-base "$T/www/$2/rootfs.caibx")
        "$CADU" -q make --store "$T/www/store" --chunk-size 16K:32K:64K --packs "${b[@]}" "$d/rootfs.img" "$d/rootfs.caibx"
        [ -z "${2:-}" ] || b=(--index-base "$T/www/$2/kernel.caibx")
        "$CADU" -q make --store "$T/www/store" --chunk-size 4K:8K:16K --packs "${b[@]}" "$d/kernel.img" "$d/kernel.caibx"
        "$CADU" -q manifest --compatible cadu-test-board --version "$1" \
                --image "rootfs:rootfs:$d/rootfs.img:$d/rootfs.caibx:$url/store" \
                --image "kernel:kernel:$d/kernel.img:$d/kernel.caibx:$url/store" "$d/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$d/update.manifest"
}
rel 1.0.0
rel 2.0.0 1.0.0
rel 3.0.0 2.0.0
sha() { sha256sum "$1" | cut -d' ' -f1; }
b16() { sha "$1" | cut -c1-16; }
for f in rootfs kernel; do
        [ -s "www/store/packs/$(sha www/2.0.0/$f.caibx).caibz" ] || fail "no compact $f index of 2.0.0"
        [ -s "www/store/packs/$(sha www/2.0.0/$f.caibx)-$(b16 www/1.0.0/$f.caibx).caibz" ] || fail "no compact $f index of 2.0.0 against 1.0.0"
done
plain=$(stat -c %s www/3.0.0/rootfs.caibx)
small=$(stat -c %s "www/store/packs/$(sha www/3.0.0/rootfs.caibx)-$(b16 www/2.0.0/rootfs.caibx).caibz")
[ "$small" -lt $((plain / 2)) ] || fail "the compact index against the base is $small bytes of $plain"

factory "$T/www/1.0.0"
# No index saved for the booted slot yet: the compact index alone.
: >"$NGINX_LOG"
"$CADU" -q install -c "$CONF" "$url/2.0.0/update.manifest" || fail "install of 2.0.0 failed"
slot_has b "$T/www/2.0.0" || fail "slot B does not hold 2.0.0"
grep -q "packs/$(sha www/2.0.0/rootfs.caibx).caibz" "$NGINX_LOG" || fail "the compact index was not fetched"
! grep -q '/2.0.0/rootfs.caibx' "$NGINX_LOG" || fail "the plain index was fetched too"
[ "$(sim)" = B ] || fail "trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"

# Now B's index is saved: the compact index against it.
: >"$NGINX_LOG"
"$CADU" -q install -c "$CONF" "$url/3.0.0/update.manifest" || fail "install of 3.0.0 failed"
slot_has a "$T/www/3.0.0" || fail "slot A does not hold 3.0.0"
grep -q "packs/$(sha www/3.0.0/rootfs.caibx)-$(b16 www/2.0.0/rootfs.caibx).caibz" "$NGINX_LOG" ||
        fail "the compact index against the saved one was not fetched: $(cat "$NGINX_LOG")"
! grep -q '/3.0.0/rootfs.caibx ' "$NGINX_LOG" || fail "the plain index was fetched too"

# A corrupt compact index (both forms) and a missing one: the .caibx, and
# the same slot content.
for z in www/store/packs/"$(sha www/3.0.0/rootfs.caibx)"*.caibz; do
        python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[len(d)//2]^=1; open(p,"wb").write(d)' "$z"
done
rm -f www/store/packs/"$(sha www/3.0.0/kernel.caibx)"*.caibz
[ "$(sim)" = A ] || fail "trial boot did not boot A"
"$CADU" -q mark-good -c "$CONF"
: >"$NGINX_LOG"
"$CADU" -q install -c "$CONF" --allow-downgrade "$url/3.0.0/update.manifest" || fail "install with a corrupt compact index failed"
grep -q '/3.0.0/rootfs.caibx ' "$NGINX_LOG" || fail "no fallback to the plain rootfs index"
grep -q '/3.0.0/kernel.caibx ' "$NGINX_LOG" || fail "no fallback to the plain kernel index"
echo "ok: compact indexes ($small of $plain bytes against the saved index), fallbacks"
