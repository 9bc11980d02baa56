#!/bin/sh
# Encrypted stores (doc/encryption.md): make and extract round trips (seed,
# cache, in place, HTTP), nothing of the plaintext in the published store,
# deduplication across releases, and every bad key or tampered file refused
# with one line, the documented exit code and nothing written.
. "$top_srcdir/tests/lib.sh"
need python3 openssl cmp
cd "$T"

gen_data mixed 3000000 v1.img
# v2: v1 with a few regions rewritten and some bytes inserted.
python3 - v1.img v2.img <<'EOF'
import os, sys
d = bytearray(open(sys.argv[1], "rb").read())
for off in (100000, 1700000):
    d[off:off + 20000] = os.urandom(20000)
d[1300000:1300000] = os.urandom(5000)
open(sys.argv[2], "wb").write(d)
EOF
(umask 077; openssl rand -hex 32 > k1; openssl rand -hex 32 > k2)

"$CADU" -q make --encrypt-key k1 --store st v1.img v1.caibx
"$CADU" -q make --encrypt-key k1 --store st v2.img v2.caibx
# Both again with packs and deltas (sealed delta files, pack indexes,
# catalogs and sketches) into a store of their own.
"$CADU" -q make --encrypt-key k1 --packs --deltas --store stp v1.img v1p.caibx
"$CADU" -q make --encrypt-key k1 --packs --deltas --store stp v2.img v2p.caibx
for k in deltas/*/*.cadelta packs/*.capack packs/*.capcat packs/*.capx sketches/*.casketch; do
        ls stp/$k >/dev/null 2>&1 || fail "make --packs --deltas wrote no $k to check"
done
# The same images, plain, for their plaintext ids.
"$CADU" -q make --store plain v1.img p1.caibx
"$CADU" -q make --store plain v2.img p2.caibx

# --- round trips
"$CADU" -q extract --key-file k1 --store st v2.caibx a.img
cmp v2.img a.img || fail "encrypted extract differs"
"$CADU" -q extract --key-file k1 --store st --seed v1.img:p1.caibx --cache cache v2.caibx b.img
cmp v2.img b.img || fail "seeded extract differs"
find cache -name '*.cacnk' | grep -q . || fail "the cache was not filled"
cp v1.img c.img
"$CADU" -q extract --key-file k1 --store st --in-place v2.caibx c.img
cmp v2.img c.img || fail "in-place extract differs"
# Same chunk, same file: making v1 again adds nothing.
new=$("$CADU" --json make --encrypt-key k1 --store st v1.img v1b.caibx | python3 -c 'import json,sys; print(json.load(sys.stdin)["new_chunks"])')
[ "$new" = 0 ] || fail "remaking v1 under the same key stored $new new chunk files"

# --- nothing of the plaintext in the published store, names or contents
python3 - st,stp v1.img v2.img p1.caibx p2.caibx v1.caibx v2.caibx v1p.caibx v2p.caibx <<'EOF' || fail "plaintext found in the encrypted store"
import os, sys
stores, images, plain = sys.argv[1].split(","), sys.argv[2:4], sys.argv[4:6]
ids = set()
for p in plain:
    d = open(p, "rb").read()
    ids.update(d[i:i + 32] for i in range(72, len(d) - 48, 40))
files = [os.path.join(r, f) for s in stores for r, _, fs in os.walk(s) for f in fs] + sys.argv[6:]
hexids = {i.hex() for i in ids}
for f in files:
    if any(h in f for h in hexids):
        sys.exit("plaintext id in the name " + f)
blob = b"".join(open(f, "rb").read() for f in files)
for i in ids:
    if i in blob:
        sys.exit("plaintext id in the contents")
# 24-byte windows of the images, every 4 KiB (the text parts of the mixed
# data compress, so a plain store holds many of them verbatim).
for img in images:
    d = open(img, "rb").read()
    for off in range(0, len(d) - 24, 4096):
        w = d[off:off + 24]
        if len(set(w)) > 4 and w in blob:
            sys.exit("image bytes at %d appear in the store" % off)
EOF
# The same check finds the plaintext in a plain store (it can fail).
if python3 - plain v1.img <<'EOF'
import os, sys
blob = b"".join(open(os.path.join(r, f), "rb").read() for r, _, fs in os.walk(sys.argv[1]) for f in fs)
d = open(sys.argv[2], "rb").read()
sys.exit(0 if any(len(set(d[o:o + 24])) > 4 and d[o:o + 24] in blob for o in range(0, len(d) - 24, 4096)) else 1)
EOF
then :; else fail "the plaintext check finds nothing even in a plain store"; fi

# --- two releases sharing most content share most chunk files
python3 - v1.caibx v2.caibx <<'EOF' || fail "releases do not share chunk files"
import struct, sys
def names(p):
    d = open(p, "rb").read()
    n = struct.unpack("<Q", d[24:32])[0]
    return {d[32 + 32 * i:64 + 32 * i] for i in range(n)}
a, b = names(sys.argv[1]), names(sys.argv[2])
shared = len(a & b) / len(b)
print("v2 shares %.0f%% of its %d chunk files with v1" % (100 * shared, len(b)))
sys.exit(0 if shared >= 0.75 else 1)
EOF
[ "$(find st -name '*.cacnk' | wc -l)" -eq "$(find plain -name '*.cacnk' | wc -l)" ] ||
        fail "the encrypted store holds another number of chunks than the plain one"

# --- keys
check_nothing() { # what
        [ ! -e out.img ] || fail "$1: out.img written"
        no_tmp_left .
        [ "$(wc -l < "$T/.err")" -eq 1 ] || fail "$1: not one line: $(cat "$T/.err")"
}
kid=$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read()[8:24].hex())' v2.caibx)
expect_fail 2 "index v2.caibx is encrypted \\(key $kid\\): give the store key" \
        "$CADU" extract --store st v2.caibx out.img
check_nothing missing-key
expect_fail 4 "index v2.caibx is encrypted with key $kid, not with the given key [0-9a-f]{32}$" \
        "$CADU" extract --key-file k2 --store st v2.caibx out.img
check_nothing wrong-key
cp k1 loose && chmod 640 loose
expect_fail 2 "--key-file loose: group or others may access it \\(chmod 600\\)" \
        "$CADU" extract --key-file loose --store st v2.caibx out.img
check_nothing loose-key
(umask 077; echo nothex > bad)
expect_fail 2 "--key-file bad: not 64 hex digits" "$CADU" extract --key-file bad --store st v2.caibx out.img
check_nothing bad-key
expect_fail 2 "--key-file none: .*" "$CADU" extract --key-file none --store st v2.caibx out.img
check_nothing no-key-file
expect_fail 2 "index p2.caibx is not encrypted, but a store key was given" \
        "$CADU" extract --key-file k1 --store plain p2.caibx out.img
check_nothing plain-index-with-key
expect_fail 2 "--fingerprints writes plaintext chunk hashes" \
        "$CADU" make --encrypt-key k1 --fingerprints --store st v1.img x.caibx

# --- tampered encrypted index: bit flip, truncation
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-40]^=1; open(sys.argv[2],"wb").write(b)' v2.caibx flip.caibx
expect_fail 3 "index flip.caibx: encrypted index is corrupt or forged" \
        "$CADU" extract --key-file k1 --store st flip.caibx out.img
check_nothing flipped-index
head -c 100 v2.caibx > trunc.caibx
expect_fail 3 "index trunc.caibx: encrypted index is corrupt or forged" \
        "$CADU" extract --key-file k1 --store st trunc.caibx out.img
check_nothing truncated-index

# --- tampered chunk files: the first name of v2's index that v1 lacks
victim=$(python3 - v1.caibx v2.caibx <<'EOF'
import struct, sys
def names(p):
    d = open(p, "rb").read()
    n = struct.unpack("<Q", d[24:32])[0]
    return [d[32 + 32 * i:64 + 32 * i].hex() for i in range(n)]
a = set(names(sys.argv[1]))
print(next(n for n in names(sys.argv[2]) if n not in a))
EOF
)
other=$(find st -name '*.cacnk' | grep -v "$victim" | head -n 1)
vf=st/$(echo "$victim" | cut -c1-4)/$victim.cacnk
cp "$vf" victim.save
# Another valid ciphertext of the same store under this name.
cp "$other" "$vf"
expect_fail 3 "no source delivered it intact" "$CADU" extract --key-file k1 --store st v2.caibx out.img
check_nothing swapped-chunk
# Bit flip in the ciphertext, then in the tag.
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[40]^=4; open(sys.argv[2],"wb").write(b)' victim.save "$vf"
expect_fail 3 "no source delivered it intact" "$CADU" extract --key-file k1 --store st v2.caibx out.img
check_nothing flipped-chunk
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-1]^=0x80; open(sys.argv[2],"wb").write(b)' victim.save "$vf"
expect_fail 3 "no source delivered it intact" "$CADU" extract --key-file k1 --store st v2.caibx out.img
check_nothing flipped-tag
head -c 30 victim.save > "$vf"
expect_fail 3 "no source delivered it intact" "$CADU" extract --key-file k1 --store st v2.caibx out.img
check_nothing truncated-chunk
cp victim.save "$vf"
"$CADU" -q extract --key-file k1 --store st v2.caibx out.img
cmp v2.img out.img || fail "extract after restoring the chunk differs"
rm out.img

# --- rotation: a release under a new key refuses the old key
"$CADU" -q make --encrypt-key k2 --store st v2.img v2k2.caibx
expect_fail 4 "index v2k2.caibx is encrypted with key [0-9a-f]{32}, not with the given key $kid" \
        "$CADU" extract --key-file k1 --store st v2k2.caibx out.img
check_nothing rotated-key
"$CADU" -q extract --key-file k2 --store st v2k2.caibx out.img
cmp v2.img out.img || fail "extract under the new key differs"
rm out.img

# --- HTTP: the same store served by nginx
if command -v nginx >/dev/null 2>&1; then
        . "$top_srcdir/tests/nginx-harness.sh"
        mkdir www && cp -r st www/st && cp v2.caibx www/
        nginx_start "$T/www"
        "$CADU" -q extract --key-file k1 --store "$HTTP_URL/st" --seed v1.img "$HTTP_URL/v2.caibx" h.img
        cmp v2.img h.img || fail "HTTP encrypted extract differs"
elif [ "${CI:-}" = true ]; then
        fail "nginx missing"
fi
echo "encrypted store: all checks passed"
