# Helpers for the install tests: releases for the simulated device of
# boot-lib.sh, signed with the PKI of manifest-lib.sh. Source after both.

# device_release DIR VERSION [ROOTFS_MIB] [SEED]: rootfs and kernel images
# (the rootfs mostly shared between versions, as a real update is), indexes,
# a store and a signed manifest in DIR, laid out like a USB stick.
device_release() {
        local dir=$1 version=$2 mib=${3:-4} seed=${4:-1}
        mkdir -p "$dir"
        python3 - "$dir" "$version" "$mib" "$seed" <<'PY'
import random, sys
d, version, mib, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
base = random.Random(seed).randbytes(mib << 20)
v = random.Random(version)
img = bytearray(base)
for _ in range(3):                      # a few changed regions per version
    off = v.randrange(0, len(img) - 65536)
    img[off:off + 65536] = v.randbytes(65536)
img[len(img) // 2: len(img) // 2 + (256 << 10)] = bytes(256 << 10)   # some zeros
open(f"{d}/rootfs.img", "wb").write(img)
open(f"{d}/kernel.img", "wb").write(v.randbytes(200000) + version.encode())
PY
        "$CADU" -q make --store "$dir/store" --chunk-size 16K:32K:64K "$dir/rootfs.img" "$dir/rootfs.caibx"
        "$CADU" -q make --store "$dir/store" --chunk-size 4K:8K:16K "$dir/kernel.img" "$dir/kernel.caibx"
        "$CADU" -q manifest --compatible cadu-test-board --version "$version" \
                --image "rootfs:rootfs:$dir/rootfs.img:$dir/rootfs.caibx:$dir/store" \
                --image "kernel:kernel:$dir/kernel.img:$dir/kernel.caibx:$dir/store" \
                "$dir/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$dir/update.manifest"
}

# slot_has SLOT DIR: slot SLOT ("a" or "b") of the device holds DIR's images.
slot_has() {
        local s=$1 dir=$2
        cmp -s -n "$(stat -c %s "$dir/rootfs.img")" "$D/$s.img" "$dir/rootfs.img" &&
                cmp -s -n "$(stat -c %s "$dir/kernel.img")" "$D/k$s.img" "$dir/kernel.img"
}

# factory DIR: the device as shipped: slot A holds DIR's release and boots.
factory() {
        cp "$1/rootfs.img" "$D/a.img"
        cp "$1/kernel.img" "$D/ka.img"
        cp "$P/ca.pem" "$D/ca.pem"
        [ "$(sim)" = A ] || fail "factory device did not boot A"
}

# slots_digest: a digest of both slots of both classes (to show nothing was written).
slots_digest() {
        cat "$D/a.img" "$D/b.img" "$D/ka.img" "$D/kb.img" | sha256sum | cut -d' ' -f1
}
