#!/bin/bash
# A compressed full image named by the manifest competes with the chunk plan
# (doc/manifest-format.md, keys full*): a seeded device whose chunks cost
# less takes the chunks and never touches the full image; an image the
# device has nothing of (text-like, compressing far better as a whole) is
# written from the full image, in ranges, with no chunk of it fetched; a
# budget below the cheapest plan is refused before any byte; a damaged full
# image on the server falls back to the chunks, and one on local media is
# refused before anything is written. Real nginx.
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

# rel VERSION [text SEED] [--full]: release VERSION in www/VERSION with the
# shared store; with "text SEED" its rootfs is text-like lines from a small
# vocabulary of SEED, with --full the manifest names rootfs.img.zst.
rel() {
        local v=$1 d=$T/www/$1 full=()
        shift
        device_release "$d" "$v" 4
        if [ "${1:-}" = text ]; then
                python3 - "$d/rootfs.img" "$2" <<'PY'
import random, sys
r = random.Random(int(sys.argv[2]))
words = [bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(60)) + b"\n" for _ in range(64)]
out = bytearray()
while len(out) < 4 << 20:
    out += r.choice(words)
open(sys.argv[1], "wb").write(out[:4 << 20])
PY
                rm -r "$d/store"
                "$CADU" -q make --store "$d/store" --chunk-size 16K:32K:64K "$d/rootfs.img" "$d/rootfs.caibx"
                "$CADU" -q make --store "$d/store" --chunk-size 4K:8K:16K "$d/kernel.img" "$d/kernel.caibx"
                shift 2
        fi
        [ "${1:-}" = --full ] && full=(--full "rootfs:$d/rootfs.img.zst" --full-level 3)
        cp -r "$d/store/." "$T/www/store/"
        "$CADU" -q manifest --compatible cadu-test-board --version "$v" \
                --image "rootfs:rootfs:$d/rootfs.img:$d/rootfs.caibx:$url/store" \
                --image "kernel:kernel:$d/kernel.img:$d/kernel.caibx:$url/store" "${full[@]}" "$d/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$d/update.manifest"
}
rel 1.0.0
rel 2.0.0 --full
rel 3.0.0 text 3 --full
rel 4.0.0 text 4 --full
grep -q '^full = rootfs.img.zst$' www/2.0.0/update.manifest || fail "the manifest does not name the full image"
grep -q "^full-size = $(stat -c %s www/2.0.0/rootfs.img.zst)$" www/2.0.0/update.manifest || fail "full-size"
grep -q "^full-sha256 = $(sha256sum www/2.0.0/rootfs.img.zst | cut -d' ' -f1)$" www/2.0.0/update.manifest ||
        fail "full-sha256"
grep -v '^full-sha256 = ' www/2.0.0/update.manifest > partial.manifest
expect_fail 3 "a full image needs all of full, full-size and full-sha256" \
        "$CADU" sign --key "$P/signer.key" --cert "$P/signer.pem" partial.manifest
zstd -q -d -c www/3.0.0/rootfs.img.zst | cmp -s - www/3.0.0/rootfs.img || fail "the full image is not the image"
"$CADU" -q verify --ca "$P/ca.pem" www/3.0.0/update.manifest || fail "verify of a manifest with a full image"
factory "$T/www/1.0.0"

# Seeded from the running slot, the chunks cost less: the full image is not
# fetched.
full2=$(stat -c %s www/2.0.0/rootfs.img.zst)
: >"$NGINX_LOG"
"$CADU" install -c "$CONF" "$url/2.0.0/update.manifest" >i2.out 2>&1 || fail "install of 2.0.0 failed: $(cat i2.out)"
grep -q "plan rootfs: chunks: [0-9]* bytes, not its compressed full image of $full2 bytes" i2.out ||
        fail "no chunk plan: $(cat i2.out)"
! grep -q 'rootfs.img.zst' "$NGINX_LOG" || fail "the full image was fetched"
slot_has b "$T/www/2.0.0" || fail "slot B does not hold 2.0.0"
[ "$(sim)" = B ] || fail "trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"

# Text the device has nothing of: the full image costs least. A budget
# below it is refused before a byte of it (or of a chunk) is fetched.
full3=$(stat -c %s www/3.0.0/rootfs.img.zst)
before=$(slots_digest)
"$CADU" --json install -c "$CONF" --dry-run "$url/3.0.0/update.manifest" >dry.json 2>&1 || fail "dry run failed: $(cat dry.json)"
kbytes=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "plan" and e.get("image") == "kernel": print(e["plan"]["total_bytes"])
    if e.get("event") == "plan" and e.get("image") == "rootfs": assert e["full_image"] and e["full_image_requests"] == 1' dry.json) ||
        fail "dry run plan: $(cat dry.json)"
budget=$((full3 + kbytes - 1))
: >"$NGINX_LOG"
expect_fail 4 "^cadu: refusing $url/3.0.0/update.manifest: the download needs $((budget + 1)) bytes, more than the limit of $budget bytes$" \
        "$CADU" -q install -c "$CONF" --max-download $budget "$url/3.0.0/update.manifest"
[ "$(slots_digest)" = "$before" ] || fail "a refused install wrote to the slots"
! grep -Eq 'rootfs.img.zst|\.cacnk' "$NGINX_LOG" || fail "a refused install fetched data: $(cat "$NGINX_LOG")"
"$CADU" install -c "$CONF" --dry-run "$url/3.0.0/update.manifest" >dry.out 2>&1 || fail "dry run failed: $(cat dry.out)"
grep -q "^plan rootfs: its compressed full image, $full3 bytes in 1 requests$" dry.out || fail "dry run plan: $(cat dry.out)"
[ "$(slots_digest)" = "$before" ] || fail "a dry run wrote to the slots"
: >"$NGINX_LOG"
"$CADU" install -c "$CONF" --max-download $((budget + 1)) "$url/3.0.0/update.manifest" >i3.out 2>&1 ||
        fail "install of 3.0.0 failed: $(cat i3.out)"
grep -q "plan rootfs: its compressed full image: $full3 bytes, not [0-9]* bytes of chunks" i3.out ||
        fail "no full-image plan: $(cat i3.out)"
grep -Eq '^[0-9]+ [0-9]+ 206 [0-9]+ [0-9]+ "GET /3.0.0/rootfs.img.zst ' "$NGINX_LOG" || fail "the full image was not fetched by range"
kchunks=$(( ($(stat -c %s www/3.0.0/kernel.caibx) - 104) / 40 ))
[ "$(grep -c '\.cacnk' "$NGINX_LOG")" -le "$kchunks" ] || fail "rootfs chunks were fetched too"
slot_has a "$T/www/3.0.0" || fail "slot A does not hold 3.0.0"
[ "$(sim)" = A ] || fail "trial boot did not boot A"
"$CADU" -q mark-good -c "$CONF"

# cadu mirror copies a full image from the server (in ranges), checked
# against its pins, and refuses one that differs.
"$CADU" -q mirror --to mirror3 "$url/3.0.0/update.manifest" || fail "mirror of 3.0.0"
cmp -s mirror3/rootfs.img.zst www/3.0.0/rootfs.img.zst || fail "the mirror lacks the full image"
"$CADU" -q verify --ca "$P/ca.pem" mirror3/update.manifest || fail "verify of the mirror"
cp www/4.0.0/rootfs.img.zst good4.zst
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(1000); b=f.read(1); f.seek(1000); f.write(bytes([b[0]^1]))' \
        www/4.0.0/rootfs.img.zst
expect_fail 3 "^cadu: manifest $url/4.0.0/update.manifest: image rootfs: full image $url/4.0.0/rootfs.img.zst: does not match the manifest's pins$" \
        "$CADU" -q mirror --to mirror4 "$url/4.0.0/update.manifest"
[ ! -e mirror4/rootfs.img.zst ] && [ ! -e mirror4/update.manifest ] || fail "a mirror kept a damaged full image"
cp good4.zst www/4.0.0/rootfs.img.zst

# A damaged full image on local media: refused before anything is written,
# in one line.
cp -r www/4.0.0 local4
sed -i "s|$url/store|store|" local4/update.manifest
cp -r www/store/. local4/store/
"$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" local4/update.manifest
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(1000); b=f.read(1); f.seek(1000); f.write(bytes([b[0]^1]))' \
        local4/rootfs.img.zst
before=$(slots_digest)
expect_fail 3 "^cadu: full image $T/local4/rootfs.img.zst: sha256 mismatch" \
        "$CADU" -q install -c "$CONF" "$T/local4/update.manifest"
[ "$(wc -l <"$T/.err")" -eq 1 ] || fail "not one line: $(cat "$T/.err")"
[ "$(slots_digest)" = "$before" ] || fail "a damaged local full image wrote to the slots"

# Damaged on the server: found while it streams, so the chunks take over.
cp local4/rootfs.img.zst www/4.0.0/rootfs.img.zst
"$CADU" install -c "$CONF" "$url/4.0.0/update.manifest" >i4.out 2>&1 || fail "install of 4.0.0 failed: $(cat i4.out)"
grep -q "^cadu: full image $url/4.0.0/rootfs.img.zst: .*; falling back to the chunk store$" i4.out ||
        fail "no fallback: $(cat i4.out)"
slot_has b "$T/www/4.0.0" || fail "slot B does not hold 4.0.0"
# A copy of the release without its (optional) full image installs from
# the chunks.
rm local4/rootfs.img.zst
head -c "$(stat -c %s "$D/b.img")" /dev/zero > "$D/b.img"
"$CADU" -q install -c "$CONF" "$T/local4/update.manifest" || fail "a release copy without its full image was refused"
slot_has b "$T/www/4.0.0" || fail "slot B does not hold 4.0.0"
echo "ok: full image ($full3 bytes) chosen only when cheapest, budget, damage"
