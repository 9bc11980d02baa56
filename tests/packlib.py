# A second, independent reader of doc/pack-format.md for the tests:
#   python3 packlib.py check STORE INDEX   every chunk of INDEX is in a pack of
#       STORE as its pack index says, byte-identical to its chunk file; packs
#       are named by their sha256 and match their catalogs. Prints a summary.
#   python3 packlib.py dump STORE INDEX    one line per entry:
#       position pack offset length nbases
import hashlib, os, struct, subprocess, sys

def varint(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1
        v |= (x & 0x7f) << s; s += 7
        if not x & 0x80:
            return v, i

def caibx(path):
    d = open(path, "rb").read()
    ids = [d[72 + 40 * i:104 + 40 * i] for i in range((len(d) - 104) // 40)]
    return d, ids

def capx(store, index):
    raw, ids = caibx(index)
    sha = hashlib.sha256(raw).hexdigest()
    d = open(os.path.join(store, "packs", sha + ".capx"), "rb").read()
    assert d[:8] == b"CADUPX1\n" and struct.unpack("<II", d[8:16]) == (1, 0)
    assert d[16:48].hex() == sha and struct.unpack("<Q", d[48:56])[0] == len(ids)
    plen = struct.unpack("<Q", d[56:64])[0]
    p = subprocess.run(["zstd", "-d", "-c"], input=d[64:], stdout=subprocess.PIPE, check=True).stdout
    assert len(p) == plen
    n, i = varint(p, 0)
    packs = []
    for _ in range(n):
        pid = p[i:i + 32].hex(); i += 32
        size, i = varint(p, i)
        packs.append((pid, size))
    cursor = [0] * n
    entries = []
    for pos in range(len(ids)):
        ne, i = varint(p, i)
        for _ in range(ne):
            pk, i = varint(p, i); gap, i = varint(p, i); ln, i = varint(p, i); nb, i = varint(p, i)
            off = cursor[pk] + (-(gap + 1) // 2 if gap & 1 else gap // 2)
            bases = []
            for _ in range(nb):
                ref, i = varint(p, i)
                if ref:
                    bases.append(ids[ref - 1])
                else:
                    bases.append(p[i:i + 32]); i += 32
            cursor[pk] = off + ln
            entries.append((pos, pk, off, ln, bases))
    assert i == len(p)
    return ids, packs, entries, len(d)

def chunk_file(store, cid):
    h = cid.hex()
    return open(os.path.join(store, h[:4], h + ".cacnk"), "rb").read()

def check(store, index):
    ids, packs, entries, size = capx(store, index)
    for pid, psize in packs:
        data = open(os.path.join(store, "packs", pid + ".capack"), "rb").read()
        assert hashlib.sha256(data).hexdigest() == pid and len(data) == psize, pid
        cat = open(os.path.join(store, "packs", pid + ".capcat"), "rb").read()
        assert cat[:8] == b"CADUPC1\n" and cat[16:48].hex() == pid
        n, off, i = struct.unpack("<Q", cat[48:56])[0], 0, 56
        for _ in range(n):
            o, ln = struct.unpack("<QQ", cat[i:i + 16]); cid = cat[i + 16:i + 48]; nb = struct.unpack("<I", cat[i + 48:i + 52])[0]
            assert o == off
            if nb == 0:
                assert data[o:o + ln] == chunk_file(store, cid)
            off += ln; i += 52 + 32 * nb
        assert off == len(data) and i == len(cat)
    full = set()
    for pos, pk, off, ln, bases in entries:
        if not bases:
            data = open(os.path.join(store, "packs", packs[pk][0] + ".capack"), "rb").read()
            assert data[off:off + ln] == chunk_file(store, ids[pos]), pos
            full.add(ids[pos])
    missing = set(ids) - full
    print("packs=%d entries=%d unpacked=%d capx=%d" % (len(packs), len(entries), len(missing), size))

if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        ids, packs, entries, _ = capx(sys.argv[2], sys.argv[3])
        for pos, pk, off, ln, bases in entries:
            print(pos, packs[pk][0], off, ln, len(bases))
