#!/bin/sh
# mkimages.sh - build a reproducible pair of ext4 images, v1 and v2, where v2
# is v1 after a realistic OS update (binaries rebuilt, files edited, replaced,
# removed and added, a new kernel). Needs python3, mkfs.ext4 and debugfs
# (e2fsprogs); no root and no loop device (mkfs.ext4 -d fills the image).
#
# usage: tools/mkimages.sh OUTDIR [SIZE_MIB]
#   writes OUTDIR/v1.img and OUTDIR/v2.img of SIZE_MIB MiB each (default
#   1024), about 40% of it file data: compressible text and binaries of
#   mixed entropy. Same arguments, same bytes (fixed UUID, hash seed,
#   timestamps, contents from seeded generators).
set -eu

usage() { echo "usage: $0 OUTDIR [SIZE_MIB]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
OUT=$1
SIZE=${2:-1024}
case $SIZE in *[!0-9]* | '') usage ;; esac
[ "$SIZE" -ge 16 ] || { echo "$0: SIZE_MIB must be at least 16" >&2; exit 2; }
PATH=$PATH:/sbin:/usr/sbin
for c in python3 mkfs.ext4 debugfs; do
        command -v "$c" >/dev/null 2>&1 || { echo "$0: $c not found (e2fsprogs, python3)" >&2; exit 1; }
done

EPOCH=1700000000
UUID=c0ffee00-cad0-4d1f-8e1f-000000000001
export SOURCE_DATE_EPOCH=$EPOCH E2FSPROGS_FAKE_TIME=$EPOCH

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.mkimages.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

python3 - "$WORK" "$SIZE" "$EPOCH" <<'PY'
"""Write the v1 and v2 trees and, per tree, the debugfs commands that pin
every inode's timestamps (mkfs.ext4 -d copies atime and ctime, which no
user can set, from the source files)."""
import os
import random
import sys

work, size_mib, epoch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
budget = size_mib * 1024 * 1024 * 4 // 10       # bytes of file data in v1
scale = size_mib / 1024

WORDS = ("the update slot chunk seed index store image kernel module driver network "
         "config service daemon socket timer mount device firmware partition boot "
         "system user group option value default enable disable error warning info "
         "debug trace file path directory buffer memory cache queue thread process "
         "signal handler request response client server version release build "
         "package library binary script manual section example return status").split()

def text_lines(r, n):
    return [" ".join(r.choices(WORDS, k=r.randint(3, 14))) + "\n" for _ in range(n)]

class Gen:
    """Deterministic file contents."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.lines = [l.encode() for l in text_lines(self.r, 4000)]
        # "instructions": recurring 16-byte snippets make binaries compressible
        self.snips = [self.r.randbytes(16) for _ in range(512)]

    def text(self, n):
        out = bytearray()
        while len(out) < n:
            out += b"".join(self.r.choices(self.lines, k=64))
        return bytes(out[:n])

    def binary(self, n):
        out = bytearray()
        r = self.r
        while len(out) < n:
            u = r.random()
            if u < 0.45:        # code: snippets
                out += b"".join(r.choices(self.snips, k=256))
            elif u < 0.75:      # data: random
                out += r.randbytes(4096)
            elif u < 0.9:       # strings
                out += b"".join(r.choices(self.lines, k=80))[:4096]
            else:               # padding
                out += bytes(4096)
        return bytes(out[:n])

    def size(self, lo, hi):
        """Log-uniform size in [lo, hi]."""
        import math
        return int(math.exp(self.r.uniform(math.log(lo), math.log(hi))))

def plan(g):
    """v1: {path: (kind, size)} with about `budget` bytes."""
    files = {}
    total = 0

    def add(path, kind, n):
        nonlocal total
        files[path] = (kind, n)
        total += n

    cap = max(64 << 10, int(8 << 20) if scale >= 1 else int((8 << 20) * scale))
    add("boot/vmlinuz-6.1.0", "random", max(256 << 10, int(budget * 0.05)))
    add("boot/initrd.img-6.1.0", "binary", max(256 << 10, int(budget * 0.03)))
    add("usr/lib/firmware/blob.bin", "random", max(64 << 10, int(budget * 0.03)))
    for i in range(40):
        add("etc/conf.d/service%02d.conf" % i, "text", g.size(200, 8 << 10))
    add("etc/os-release", "text", 300)
    i = 0
    while total < budget * 0.50:
        add("usr/bin/tool%04d" % i, "binary", g.size(16 << 10, cap // 2))
        i += 1
    i = 0
    while total < budget * 0.80:
        add("usr/lib/libpkg%04d.so.1" % i, "binary", g.size(32 << 10, cap))
        i += 1
    i = 0
    while total < budget:
        add("usr/share/doc/pkg%03d/README%d.txt" % (i // 8, i % 8), "text", g.size(1 << 10, 200 << 10))
        i += 1
    return files

def content(g, kind, n):
    if kind == "text":
        return g.text(n)
    if kind == "random":
        return g.r.randbytes(n)
    return g.binary(n)

def edit(g, data, kind):
    """A rebuilt binary or an edited text: changes spread over the file, a
    few of them shifting what follows."""
    r = g.r
    d = bytearray(data)
    if kind == "text":
        lines = d.split(b"\n")
        for _ in range(r.randint(1, 8)):
            p = r.randrange(len(lines) + 1)
            if r.random() < 0.5 and len(lines) > 1:
                del lines[min(p, len(lines) - 1)]
            else:
                lines.insert(p, g.lines[r.randrange(len(g.lines))].rstrip(b"\n"))
        return bytes(b"\n".join(lines))
    pos = 0
    while pos < len(d):
        pos += r.randint(2048, 65536)
        if pos >= len(d):
            break
        u = r.random()
        if u < 0.8:
            n = r.randint(4, 64)
            d[pos:pos + n] = r.randbytes(min(n, len(d) - pos))
        elif u < 0.9:
            d[pos:pos] = r.randbytes(r.randint(1, 512))
        else:
            del d[pos:pos + r.randint(1, 512)]
    return bytes(d)

def write_tree(root, files):
    paths = set()
    for path, data in sorted(files.items()):
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        parts = path.split("/")
        for k in range(1, len(parts) + 1):
            paths.add("/".join(parts[:k]))
    for p in paths:
        os.utime(os.path.join(root, p), (epoch, epoch))
    os.utime(root, (epoch, epoch))
    with open(root + ".debugfs", "w") as f:
        for p in ["", "lost+found"] + sorted(paths):
            for field in ("atime", "ctime", "mtime", "crtime"):
                f.write("sif /%s %s @%d\n" % (p, field, epoch))

g = Gen(1)
v1plan = plan(g)
v1 = {p: content(g, k, n) for p, (k, n) in sorted(v1plan.items())}
write_tree(os.path.join(work, "v1"), v1)

# v2: the update
u = Gen(2)
v2 = {}
for p in sorted(v1):
    kind = v1plan[p][0]
    if p.startswith("boot/vmlinuz"):
        continue                                  # replaced by a new kernel
    x = u.r.random()
    if x < 0.04 and not p.startswith("etc/os-release"):
        continue                                  # removed
    if x < 0.16 or p == "etc/os-release" or p.startswith("boot/initrd"):
        v2[p] = edit(u, v1[p], kind)              # rebuilt / edited
    elif x < 0.21:
        v2[p] = content(u, kind, max(1, int(len(v1[p]) * u.r.uniform(0.8, 1.2))))  # rewritten
    else:
        v2[p] = v1[p]
v2["boot/vmlinuz-6.2.0"] = u.r.randbytes(len(v1["boot/vmlinuz-6.1.0"]) + 4096)
added = 0
i = 0
while added < budget * 0.05:
    n = u.size(16 << 10, 1 << 20)
    v2["usr/lib/newpkg/libnew%03d.so.1" % i] = u.binary(n)
    v2["usr/share/doc/newpkg/NEWS%03d.txt" % i] = u.text(n // 8)
    added += n + n // 8
    i += 1
write_tree(os.path.join(work, "v2"), v2)
print("v1: %d files, %.0f MiB; v2: %d files, %.0f MiB" % (
    len(v1), sum(map(len, v1.values())) / 2**20, len(v2), sum(map(len, v2.values())) / 2**20))
PY

for v in v1 v2; do
        img="$WORK/$v.img"
        truncate -s "${SIZE}M" "$img"
        mkfs.ext4 -q -F -b 4096 -I 256 -L "cadu-$v" -U "$UUID" \
                -E "hash_seed=$UUID,root_owner=0:0,nodiscard" -d "$WORK/$v" "$img"
        debugfs -w -f "$WORK/$v.debugfs" "$img" >/dev/null 2>&1
        mv "$img" "$OUT/$v.img"
done
echo "$OUT/v1.img $OUT/v2.img ($SIZE MiB each)"
