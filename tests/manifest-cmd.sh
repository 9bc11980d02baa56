#!/bin/sh
# cadu manifest: what it writes (checked against coreutils sha256sum and
# stat), its options, its errors, and that a failure leaves no output.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
need sha256sum stat

R=$T/rel
mkdir -p "$R/idx"
data 1 200000 "$T/rootfs.img"
data 2 50000 "$T/kernel.img"
"$CADU" -q make --store "$R/store" "$T/rootfs.img" "$R/idx/rootfs.caibx"
"$CADU" -q make --store "$R/store" "$T/kernel.img" "$R/kernel.caibx"

# The manifest, byte for byte: images outside the directory are fine (only
# their digests are recorded), index and store are named relative to it.
"$CADU" manifest --compatible "acme,board v2" --version 1.4.0-rc.2 --expires 2031-02-03T04:05:06Z \
        --description "spring release" \
        --image "rootfs:rootfs:$T/rootfs.img:$R/idx/rootfs.caibx:$R/store" \
        --image "vmlinuz:kernel:$T/kernel.img:$R/kernel.caibx:https://cdn.example.com/s?t=a:b" \
        "$R/manifest.txt" 2>"$T/summary"
grep -q "manifest.txt: version 1.4.0-rc.2 for acme,board v2, 2 images" "$T/summary" || fail "summary: $(cat "$T/summary")"
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
cat >"$T/want" <<EOF
[update]
format = 1
compatible = acme,board v2
version = 1.4.0-rc.2
expires = 2031-02-03T04:05:06Z
description = spring release

[image rootfs]
class = rootfs
size = 200000
sha256 = $(sha "$T/rootfs.img")
index = idx/rootfs.caibx
index-size = $(size "$R/idx/rootfs.caibx")
index-sha256 = $(sha "$R/idx/rootfs.caibx")
store = store

[image vmlinuz]
class = kernel
size = 50000
sha256 = $(sha "$T/kernel.img")
index = kernel.caibx
index-size = $(size "$R/kernel.caibx")
index-sha256 = $(sha "$R/kernel.caibx")
store = https://cdn.example.com/s?t=a:b
EOF
diff -u "$T/want" "$R/manifest.txt" || fail "manifest differs from the expected text"
no_tmp_left "$R"

# Deterministic, and a relative OUT in the current directory works.
cp "$R/manifest.txt" "$T/first.txt"
(cd "$R" && "$CADU" -q manifest --compatible "acme,board v2" --version 1.4.0-rc.2 \
        --expires 2031-02-03T04:05:06Z --description "spring release" \
        --image "rootfs:rootfs:$T/rootfs.img:idx/rootfs.caibx:store" \
        --image "vmlinuz:kernel:$T/kernel.img:kernel.caibx:https://cdn.example.com/s?t=a:b" manifest.txt)
cmp "$T/first.txt" "$R/manifest.txt" || fail "not deterministic"

# --json.
"$CADU" --json manifest --compatible c --version 1 --image "k:kernel:$T/kernel.img:$R/kernel.caibx" \
        "$R/j.txt" >"$T/json"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["command"] == "manifest" and d["version"] == "1" and d["images"] == 1, d' "$T/json"

# An rdiff delta from the previous image, made by the real rdiff; cadu verify
# checks it too.
if command -v rdiff >/dev/null; then
        data 3 200000 "$T/rootfs-old.img"
        rdiff signature "$T/rootfs-old.img" "$T/old.sig"
        rdiff delta "$T/old.sig" "$T/rootfs.img" "$R/rootfs.rdiff"
        "$CADU" -q manifest --compatible c --version 2 \
                --image "rootfs:rootfs:$T/rootfs.img:$R/idx/rootfs.caibx" \
                --delta "rootfs:$R/rootfs.rdiff:$T/rootfs-old.img" "$R/delta.txt"
        grep -qx "delta = rootfs.rdiff" "$R/delta.txt" || fail "no delta in $(cat "$R/delta.txt")"
        grep -qx "delta-size = $(size "$R/rootfs.rdiff")" "$R/delta.txt" || fail "delta-size"
        grep -qx "delta-sha256 = $(sha "$R/rootfs.rdiff")" "$R/delta.txt" || fail "delta-sha256"
        grep -qx "delta-source-sha256 = $(sha "$T/rootfs-old.img")" "$R/delta.txt" || fail "delta-source-sha256"
        make_pki
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$R/delta.txt"
        "$CADU" -q verify --ca "$P/ca.pem" "$R/delta.txt" || fail "manifest with a delta does not verify"
        printf 'x' >>"$R/rootfs.rdiff"
        expect_fail 3 "delta.txt: image rootfs: delta .*rootfs.rdiff: size mismatch" \
                "$CADU" verify --ca "$P/ca.pem" "$R/delta.txt"
        expect_fail 2 "--delta for 'kernel', which no --image names" \
                "$CADU" manifest --compatible c --version 2 --image "rootfs:rootfs:$T/rootfs.img:$R/idx/rootfs.caibx" \
                --delta "kernel:$R/rootfs.rdiff:$T/rootfs-old.img" "$R/x.txt"
fi

# Usage errors (exit 2) and failures (exit 1); none leaves an output file.
I="rootfs:rootfs:$T/rootfs.img:$R/idx/rootfs.caibx"
O=$R/bad.txt
expect_fail 2 "--compatible is required" "$CADU" manifest --version 1 --image "$I" "$O"
expect_fail 2 "--version is required" "$CADU" manifest --compatible c --image "$I" "$O"
expect_fail 2 "at least one --image is required" "$CADU" manifest --compatible c --version 1 "$O"
expect_fail 2 "expected OUT" "$CADU" manifest --compatible c --version 1 --image "$I"
expect_fail 2 "invalid --version 'v1.0'" "$CADU" manifest --compatible c --version v1.0 --image "$I" "$O"
expect_fail 2 "invalid --expires '2031-02-30T00:00:00Z'" \
        "$CADU" manifest --compatible c --version 1 --expires 2031-02-30T00:00:00Z --image "$I" "$O"
expect_fail 2 "invalid --image 'rootfs:rootfs:x': want NAME:CLASS:IMAGE:INDEX\[:STORE\]" \
        "$CADU" manifest --compatible c --version 1 --image rootfs:rootfs:x "$O"
expect_fail 2 "invalid --delta 'rootfs:x'" "$CADU" manifest --compatible c --version 1 --image "$I" --delta rootfs:x "$O"
expect_fail 2 "invalid option" "$CADU" manifest --frobnicate
expect_fail 1 "manifest .*bad.txt: compatible: may contain only printable ASCII" \
        "$CADU" manifest --compatible "$(printf 'a\tb')" --version 1 --image "$I" "$O"
expect_fail 1 "manifest .*bad.txt: image rootfs: named twice" "$CADU" manifest --compatible c --version 1 --image "$I" \
        --image "$I" "$O"
expect_fail 1 "image ../x: invalid name|image \.\./x: image name must start" \
        "$CADU" manifest --compatible c --version 1 --image "../x:rootfs:$T/rootfs.img:$R/idx/rootfs.caibx" "$O"
expect_fail 1 "image rootfs: .*kernel.img: No such file or directory|image rootfs: .*nothere.img: No such file" \
        "$CADU" manifest --compatible c --version 1 --image "rootfs:rootfs:$T/nothere.img:$R/idx/rootfs.caibx" "$O"
# The index must lie in the manifest's directory, and describe the image.
cp "$R/kernel.caibx" "$T/outside.caibx"
expect_fail 1 "image rootfs: .*outside.caibx is not inside .*rel, the manifest's directory" \
        "$CADU" manifest --compatible c --version 1 --image "rootfs:rootfs:$T/rootfs.img:$T/outside.caibx" "$O"
expect_fail 1 "image rootfs: .*cadu-test\.[A-Za-z0-9]+ is not inside .*rel, the manifest's directory" \
        "$CADU" manifest --compatible c --version 1 --image "$I:$T" "$O"
mkdir -p "$T/store-elsewhere"
expect_fail 1 "image rootfs: .*store-elsewhere is not inside .*rel, the manifest's directory" \
        "$CADU" manifest --compatible c --version 1 --image "$I:$T/store-elsewhere" "$O"
expect_fail 1 "image rootfs: .*kernel.caibx: index describes 50000 bytes, the manifest pins an image of 200000" \
        "$CADU" manifest --compatible c --version 1 --image "rootfs:rootfs:$T/rootfs.img:$R/kernel.caibx" "$O"
cp "$T/kernel.img" "$R/not-an-index"
expect_fail 1 "image rootfs: .*not-an-index: " \
        "$CADU" manifest --compatible c --version 1 --image "rootfs:rootfs:$T/rootfs.img:$R/not-an-index" "$O"
: >"$T/empty.img"
expect_fail 1 "empty.img: an image must be 1 byte to 1 PiB" \
        "$CADU" manifest --compatible c --version 1 --image "rootfs:rootfs:$T/empty.img:$R/kernel.caibx" "$O"
cp "$R/kernel.caibx" "$R/bad name.caibx"
expect_fail 1 "the name 'bad name.caibx' is not allowed in a manifest" \
        "$CADU" manifest --compatible c --version 1 --image "k:kernel:$T/kernel.img:$R/bad name.caibx" "$O"
[ ! -e "$O" ] || fail "a failed cadu manifest left $O"
expect_fail 1 "image rootfs: .*rel/nodir: No such file or directory$" \
        "$CADU" manifest --compatible c --version 1 --image "$I" "$R/nodir/m.txt"
mkdir "$R/m.txt"
expect_fail 1 "writing manifest .*rel/m.txt: " "$CADU" manifest --compatible c --version 1 --image "$I" "$R/m.txt"
no_tmp_left "$R"

# --help names every option; exit 0.
"$CADU" manifest --help | grep -q -- "--image NAME:CLASS:IMAGE:INDEX\[:STORE\]" || fail "manifest --help"
