#!/bin/bash
# An rdiff delta named by the manifest on the network competes with the
# chunk plan: install fetches the delta only when it costs fewer bytes (a
# real delta from the running release), and the chunks when they do (a delta
# of literals only), each time before anything is written, with the plan
# shown by --dry-run; the slots end exactly right. Real nginx.
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

# rel VERSION [FROM SIGNATURE]: release VERSION in www/VERSION with the
# shared store; with FROM, an rdiff delta of its rootfs from FROM's, made
# against SIGNATURE ("real": FROM's own signature; "empty": no basis, all
# literals).
rel() {
        local d=$T/www/$1 delta=()
        device_release "$d" "$1" 4
        cp -r "$d/store/." "$T/www/store/"
        if [ -n "${2:-}" ]; then
                if [ "$3" = real ]; then
                        "$CADU" rdiff signature "$T/www/$2/rootfs.img" "$d/from.sig"
                else
                        : >"$T/empty"
                        "$CADU" rdiff signature "$T/empty" "$d/from.sig"
                fi
                "$CADU" rdiff delta "$d/from.sig" "$d/rootfs.img" "$d/rootfs.rdiff"
                delta=(--delta "rootfs:$d/rootfs.rdiff:$T/www/$2/rootfs.img")
        fi
        "$CADU" -q manifest --compatible cadu-test-board --version "$1" \
                --image "rootfs:rootfs:$d/rootfs.img:$d/rootfs.caibx:$url/store" \
                --image "kernel:kernel:$d/kernel.img:$d/kernel.caibx:$url/store" "${delta[@]}" "$d/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$d/update.manifest"
}
rel 1.0.0
rel 2.0.0 1.0.0 real
rel 3.0.0 2.0.0 empty
factory "$T/www/1.0.0"
# The running slot's content must be known for a delta to apply: 1.0.0 is
# installed once into B the usual way.
"$CADU" -q install -c "$CONF" --allow-downgrade "$url/1.0.0/update.manifest" || fail "install of 1.0.0 failed"
[ "$(sim)" = B ] || fail "trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"

# A real delta: fewer bytes than the chunks. The dry run says so and fetches
# nothing but the metadata; the install fetches the delta and no chunk of
# the rootfs.
rdiff_size=$(stat -c %s www/2.0.0/rootfs.rdiff)
"$CADU" install -c "$CONF" --dry-run "$url/2.0.0/update.manifest" >dry.out 2>&1 || fail "dry run failed: $(cat dry.out)"
grep -q "plan rootfs: its rdiff delta from the running slot, $rdiff_size bytes fetched" dry.out || fail "dry run plan: $(cat dry.out)"
: >"$NGINX_LOG"
"$CADU" install -c "$CONF" "$url/2.0.0/update.manifest" >i2.out 2>&1 || fail "install of 2.0.0 failed: $(cat i2.out)"
grep -q "plan rootfs: its rdiff delta: $rdiff_size bytes, not [0-9]* bytes of chunks" i2.out || fail "no delta plan: $(cat i2.out)"
grep -q '/2.0.0/rootfs.rdiff ' "$NGINX_LOG" || fail "the delta was not fetched"
slot_has a "$T/www/2.0.0" || fail "slot A does not hold 2.0.0"
[ -z "$(ls "$D/state"/rdiff-* 2>/dev/null)" ] || fail "the fetched delta was left in the state directory"
[ "$(sim)" = A ] || fail "trial boot did not boot A"
"$CADU" -q mark-good -c "$CONF"

# A delta of literals only: more bytes than the chunks, which are taken.
: >"$NGINX_LOG"
"$CADU" install -c "$CONF" "$url/3.0.0/update.manifest" >i3.out 2>&1 || fail "install of 3.0.0 failed: $(cat i3.out)"
grep -q "plan rootfs: chunks: [0-9]* bytes, not its rdiff delta of $(stat -c %s www/3.0.0/rootfs.rdiff) bytes" i3.out ||
        fail "no chunk plan: $(cat i3.out)"
! grep -q '/3.0.0/rootfs.rdiff ' "$NGINX_LOG" || fail "the big delta was fetched"
slot_has b "$T/www/3.0.0" || fail "slot B does not hold 3.0.0"
echo "ok: rdiff delta ($rdiff_size bytes) against the chunk plan, both ways"
