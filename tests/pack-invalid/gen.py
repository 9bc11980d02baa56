#!/usr/bin/env python3
# Writes the golden pack indexes of this directory (run once; the files are
# committed): release.caibx, valid.capx (which test-pack.c checks it parses
# as listed below) and one invalid .capx per defect, with EXPECTED naming the
# parser's reason for each. Needs the zstd command.
import hashlib, struct, subprocess

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)

def zstd(b):
    return subprocess.run(["zstd", "-q", "-19", "-c"], input=b, stdout=subprocess.PIPE, check=True).stdout

# The index: 4 chunks of 4 KiB, min:avg:max 1K:4K:16K, chunk 3 repeats chunk 1.
ids = [hashlib.sha256(b"chunk%d" % i).digest() for i in range(3)] + [hashlib.sha256(b"chunk1").digest()]
items = b"".join(struct.pack("<Q", 4096 * (i + 1)) + ids[i] for i in range(4))
caibx = (struct.pack("<QQQQQQ", 48, 0x96824d9c7b129ff9, 0x9000000000000000, 1024, 4096, 16384)
         + struct.pack("<QQ", 2**64 - 1, 0xe75b9e112f17417d) + items
         + struct.pack("<QQQQQ", 0, 0, 48, 16 + 40 * 4 + 40, 0x4b4f050e5549ecd1))
open("release.caibx", "wb").write(caibx)
isha = hashlib.sha256(caibx).digest()
pack0, pack1 = hashlib.sha256(b"pack0").digest(), hashlib.sha256(b"pack1").digest()
seedbase = hashlib.sha256(b"seed chunk").digest()

def header(plen, version=1, flags=0, sha=isha, n=4, magic=b"CADUPX1\n"):
    return magic + struct.pack("<II", version, flags) + sha + struct.pack("<QQ", n, plen)

def entry(pack, gap, ln, bases=()):
    b = varint(pack) + varint(2 * gap if gap >= 0 else -2 * gap - 1) + varint(ln) + varint(len(bases))
    for x in bases:
        b += varint(x) if isinstance(x, int) else varint(0) + x
    return b

# valid: chunk 0 full in pack0 [0,1000); chunk 1 a delta in pack0 [1000,1300)
# against the seed chunk and chunk 0, and its full file in pack1 [0,2000);
# chunk 2 in no pack; chunk 3 (a repeat) nothing.
packs = varint(2) + pack0 + varint(1300) + pack1 + varint(2000)
chunks = (varint(1) + entry(0, 0, 1000)
          + varint(2) + entry(0, 0, 300, (seedbase, 1)) + entry(1, 0, 2000)
          + varint(0) + varint(0))
payload = packs + chunks

def capx(p, **kw):
    return header(len(p), **kw) + zstd(p)

cases = {}
open("valid.capx", "wb").write(capx(payload))
cases["truncated-header"] = (capx(payload)[:40], "pack index shorter than its header")
cases["bad-magic"] = (capx(payload, magic=b"CADUPX2\n"), "not a pack index (bad magic)")
cases["version"] = (capx(payload, version=2), "unsupported pack index version")
cases["flags"] = (capx(payload, flags=1), "unknown pack index flags")
cases["other-index"] = (capx(payload, sha=hashlib.sha256(b"other").digest()), "pack index belongs to another index")
cases["chunk-count"] = (capx(payload, n=5), "pack index chunk count differs from the index")
cases["payload-too-large"] = (header(4096 + 512 * 4 + 1) + zstd(payload), "pack index payload larger than the index allows")
cases["not-zstd"] = (header(len(payload)) + payload, "pack index is not one zstd frame")
cases["two-frames"] = (capx(payload) + zstd(b"x"), "pack index is not one zstd frame")
cases["payload-longer"] = (header(len(payload) - 1) + zstd(payload), "pack index payload length differs from its header")
cases["payload-shorter"] = (header(len(payload) + 1) + zstd(payload), "pack index payload length differs from its header")
# (1300 as a 10-byte varint, so that the count check passes)
cases["truncated-packs"] = (capx(varint(2) + pack0 + b"\x94\x8a" + b"\x80" * 7 + b"\x00" + pack1), "pack index truncated in its pack list")
cases["too-many-packs"] = (capx(varint(9) + pack0 + varint(10)), "pack index lists more packs than it can hold")
cases["huge-pack"] = (capx(varint(1) + pack0 + varint(2**48 + 1) + varint(0) * 4), "pack index names a pack larger than 2^48 bytes")
cases["truncated-entries"] = (capx(packs + varint(1) + entry(0, 0, 1000)), "pack index truncated in its entries")
cases["varint-overflow"] = (capx(packs + varint(1) + b"\xff" * 9 + b"\x02"), "pack index truncated in its entries")
cases["too-many-entries"] = (capx(packs + varint(5) + entry(0, 0, 1) * 5 + varint(0) * 3), "pack index lists too many entries for one chunk")
cases["bad-pack-ref"] = (capx(packs + varint(1) + entry(2, 0, 10) + varint(0) * 3), "pack index entry names a pack it does not list")
cases["too-many-bases"] = (capx(packs + varint(1) + entry(0, 0, 10, (1,) * 9) + varint(0) * 3), "pack index delta has too many bases")
cases["zero-length"] = (capx(packs + varint(1) + entry(0, 0, 0) + varint(0) * 3), "pack index entry length out of bounds")
cases["entry-too-long"] = (capx(varint(1) + pack0 + varint(10**6) + varint(1) + entry(0, 0, 300000) + varint(0) * 3), "pack index entry length out of bounds")
cases["past-pack-end"] = (capx(packs + varint(1) + entry(0, 1, 1300) + varint(0) * 3), "pack index entry runs past the end of its pack")
cases["huge-gap"] = (capx(packs + varint(2) + entry(0, 0, 1000) + entry(0, 2**62, 1) + varint(0) * 3), "pack index entry runs past the end of its pack")
cases["negative-offset"] = (capx(packs + varint(2) + entry(0, 0, 1000) + entry(0, -1001, 1) + varint(0) * 3), "pack index entry runs past the end of its pack")
cases["bad-base-ref"] = (capx(packs + varint(1) + entry(0, 0, 10, (5,)) + varint(0) * 3), "pack index base refers past the index")
cases["truncated-base"] = (capx(packs + varint(1) + entry(0, 0, 10) + varint(1) + entry(0, 0, 10)[:-1] + varint(1) + varint(0) + seedbase[:5]), "pack index truncated in its entries")
cases["trailing-bytes"] = (capx(payload + b"\0"), "pack index has bytes after its last entry")
with open("EXPECTED", "w") as f:
    for name, (data, why) in cases.items():
        open(name + ".capx", "wb").write(data)
        f.write("%s\t%s\n" % (name, why))
