#!/bin/sh
# Encrypted packs and deltas (doc/encryption.md) against real nginx: a
# seeded extract with the key takes sealed deltas through range requests,
# the plan exactly what is fetched; swapped or bit-flipped sealed entries
# fail authentication and the next source gives the exact image; without
# Range the sealed delta files themselves; no key, no packs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3 openssl
cd "$T"
# Text-like data with small edits: every new chunk resembles an old one.
python3 - <<'PY'
import random
r = random.Random(3)
words = [bytes(r.choice(b"abcdefghijklmnop") for _ in range(r.randint(2, 9))) for _ in range(3000)]
def text(n, rr):
    out = bytearray()
    while len(out) < n:
        out += rr.choice(words) + b" "
    return bytes(out[:n])
v1 = bytearray(text(3000000, random.Random(1)))
v2 = bytearray(v1)
for k in range(40):
    p = r.randrange(len(v2) - 100)
    v2[p:p + 20] = text(20, r)
open("v1.img", "wb").write(v1); open("v2.img", "wb").write(v2)
PY
(umask 077; openssl rand -hex 32 > k1; openssl rand -hex 32 > k2)
mkdir www
"$CADU" -q make --encrypt-key k1 --packs --deltas --delta-level 3 --store www/st v1.img v1.caibx
"$CADU" -q make --encrypt-key k1 --packs --deltas --delta-level 3 --store www/st v2.img v2.caibx
# The device's saved index of its running slot is plaintext.
"$CADU" -q make --store plain v1.img p1.caibx
[ -n "$(find www/st/deltas -name '*.cadelta')" ] || fail "no delta files"
nginx_start "$T/www"
log_lines() { wc -l <"$NGINX_LOG"; }
logged() { tail -n +"$(($1 + 1))" "$NGINX_LOG" | awk -v m="${2:-}" 'm == "" || index($0, m) { n++; b += $5 } END { printf "%d %d\n", n, b }'; }
jget() { python3 -c 'import json, sys; d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); src = {s["source"]: s for s in d["sources"]}; print(eval(sys.argv[2]))' "$1" "$2"; }

# --- sealed deltas against the seed through ranges; plan = fetched = logged
n0=$(log_lines)
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/st" --seed v1.img:p1.caibx v2.caibx out.img > j1 ||
        fail "extract: $(tail -n 1 j1)"
cmp out.img v2.img || fail "extract via sealed deltas differs from the image"
deltas=$(jget j1 'src["delta"]["chunks"]')
[ "$deltas" -gt 10 ] && [ "$deltas" -eq "$(jget j1 'd["plan"]["delta_chunks"]')" ] &&
        [ "$(jget j1 'src["delta"]["rejected"] + src["pack"]["rejected"]')" -eq 0 ] || fail "deltas: $(tail -n 1 j1)"
[ "$(jget j1 'src["delta"]["raw_bytes"]')" -eq "$(jget j1 'd["plan"]["delta_bytes"]')" ] || fail "delta bytes differ from the plan"
[ "$(jget j1 'src["pack"]["chunks"] + src["store"]["chunks"]')" -eq "$(jget j1 'd["plan"]["pack_chunks"] + d["plan"]["file_chunks"]')" ] ||
        fail "other chunks differ from the plan: $(tail -n 1 j1)"
total=$(jget j1 'd["plan"]["total_bytes"]')
set -- $(logged "$n0")
[ "$2" -eq "$total" ] && [ "$(jget j1 'd["downloaded"]')" -eq "$total" ] || fail "nginx sent $2 body bytes, the plan said $total"
[ "$1" -le "$(jget j1 'd["plan"]["requests"]')" ] || fail "nginx saw $1 requests"
[ "$(jget j1 'src["delta"]["raw_bytes"] * 20 < src["delta"]["bytes"]')" = True ] || fail "deltas too large: $(tail -n 1 j1)"
set -- $(logged "$n0" .cacnk)
[ "$1" -eq 0 ] || fail "$1 per-chunk files fetched beside the packs"

# --- info: with the key, what it shows for a plain index, and the plan
# equal to what the extract fetched; without, what the header tells
"$CADU" --json info --key-file k1 --store "$HTTP_URL/st" --seed v1.img:p1.caibx v2.caibx > i1 || fail "info: $(cat i1)"
python3 - i1 j1 <<'PY' || fail "info with the key: $(cat i1)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
plan = next(l for l in lines if l.get("event") == "plan")["plan"]
done = next(l for l in lines if l.get("event") == "done")
got = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])["plan"]
assert plan == got, (plan, got)
ix = done["indexes"][0]
assert ix["bytes"] == 3000000 and ix["update"]["fetch"]["chunks"] == plan["delta_chunks"] + plan["pack_chunks"], ix
assert done["store"]["present_chunks"] == ix["distinct_chunks"], done["store"]
PY
kid=$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read()[8:24].hex())' v2.caibx)
"$CADU" info --store "$HTTP_URL/st" v2.caibx > i2 2> i2.err || fail "info without the key failed: $(cat i2.err)"
n=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["indexes"][0]["chunks"])' i1)
grep -q "^v2.caibx: encrypted with key $kid: $n chunks, [0-9]* distinct chunk files, index .*, [0-9]* of them in " i2 &&
        grep -q "^v2.caibx: .*need the store key (--key-file)$" i2 && [ "$(wc -l < i2)" -eq 2 ] || fail "info without the key: $(cat i2)"
# A plain index beside it is described as usual.
"$CADU" info v2.caibx p1.caibx > i3 || fail "info of an encrypted and a plain index"
grep -q "^p1.caibx: 2.9 MiB (3000000 bytes) in" i3 || fail "info: the plain index: $(cat i3)"

# The packs a release uses, from the clear header of its sealed pack index
# (named by the sha256 of the encrypted index file), the release's own first.
release_packs() { # STORE INDEX
        python3 - "$@" <<'PY'
import hashlib, struct, sys
name = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
d = open("%s/packs/%s.capx" % (sys.argv[1], name), "rb").read()
assert d[:8] == b"\xca\xd0PX\r\n\x1a\x01", "not a sealed pack index"
n = struct.unpack("<Q", d[24:32])[0]
for i in range(n):
    print(d[32 + 40 * i:64 + 40 * i].hex() + ".capack")
PY
}
# The entries of a pack, found by their sealed magics (each entry is a
# sealed chunk or delta file; 8 bytes of magic do not occur by chance here).
entries() { # PACK... -> "pack offset length kind" per entry
        python3 - "$@" <<'PY'
import os, sys
for p in sys.argv[1:]:
    d = open(p, "rb").read()
    offs, i = [], 0
    while (j := d.find(b"\xca\xd0", i)) >= 0:
        if d[j + 2:j + 8] in (b"CK\r\n\x1a\x01", b"DL\r\n\x1a\x01"):
            offs.append((j, d[j + 2:j + 4].decode()))
        i = j + 1
    assert offs and offs[0][0] == 0, p
    for k, (o, t) in enumerate(offs):
        end = offs[k + 1][0] if k + 1 < len(offs) else len(d)
        print(os.path.basename(p), o, end - o, t)
PY
}
primary=$(release_packs www/st v2.caibx | head -n 1)
[ -f "www/st/packs/$primary" ] || fail "v2's primary pack $primary is not in the store"

# --- two sealed deltas of the same length swapped in their pack: each is
# authenticated against the name of the other and refused; the chunk files
# in the secondary pack give the image
cp -r www/st www/swap
entries "www/swap/packs/$primary" | python3 -c '
import collections, sys
by = collections.defaultdict(list)
for l in sys.stdin:
    p, o, n, t = l.split()
    if t == "DL":
        by[(p, n)].append(int(o))
pairs = [(k, v) for k, v in by.items() if len(v) >= 2]
(p, n), v = pairs[0]
print(p, v[0], v[1], n)' > pair || fail "no two delta entries of the same length"
read pack a b len < pair
python3 - "www/swap/packs/$pack" "$a" "$b" "$len" <<'PY'
import sys
p, a, b, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = bytearray(open(p, "rb").read())
d[a:a + n], d[b:b + n] = d[b:b + n], d[a:a + n]
open(p, "wb").write(d)
PY
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/swap" --seed v1.img:p1.caibx v2.caibx out2.img > j2 ||
        fail "swapped deltas: $(tail -n 1 j2)"
cmp out2.img v2.img || fail "swapped deltas: wrong image"
[ "$(jget j2 'src["delta"]["rejected"]')" -eq 2 ] && [ "$(jget j2 'src["delta"]["chunks"]')" -eq $((deltas - 2)) ] &&
        [ "$(jget j2 'src["pack"]["chunks"]')" -eq "$(($(jget j1 'src["pack"]["chunks"]') + 2))" ] ||
        fail "swapped deltas did not fall back to the chunk files: $(tail -n 1 j2)"

# --- a bit flipped in a sealed delta: the chunk file instead; then in every
# sealed chunk file of the packs: without a seed, the per-chunk files
cp -r www/st www/flip
entries "www/flip/packs/$primary" | awk '$4 == "DL"' | head -n 1 > dl
flip() { python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[int(sys.argv[2]) + int(sys.argv[3]) // 2] ^= 0x10; open(p,"wb").write(d)' "$@"; }
read pack off len kind < dl
flip "www/flip/packs/$pack" "$off" "$len"
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/flip" --seed v1.img:p1.caibx v2.caibx out3.img > j3 ||
        fail "flipped delta: $(tail -n 1 j3)"
cmp out3.img v2.img || fail "flipped delta: wrong image"
[ "$(jget j3 'src["delta"]["rejected"]')" -eq 1 ] && [ "$(jget j3 'src["delta"]["chunks"]')" -eq $((deltas - 1)) ] ||
        fail "flipped delta: $(tail -n 1 j3)"
# Every sealed chunk file of every pack the release uses.
entries $(release_packs www/flip v2.caibx | sed 's|^|www/flip/packs/|') | awk '$4 == "CK"' > ck
[ -s ck ] || fail "no chunk files in the packs"
while read pack off len kind; do flip "www/flip/packs/$pack" "$off" "$len"; done < ck
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/flip" v2.caibx out4.img > j4 || fail "flipped chunk: $(tail -n 1 j4)"
cmp out4.img v2.img || fail "flipped chunk file: wrong image"
[ "$(jget j4 'src["pack"]["rejected"]')" -ge 1 ] && [ "$(jget j4 'src["store"]["chunks"]')" -ge 1 ] ||
        fail "flipped chunk file did not fall back to its per-chunk file: $(tail -n 1 j4)"

# --- no Range: the sealed delta files themselves
n0=$(log_lines)
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/no-range/st" --seed v1.img:p1.caibx v2.caibx out5.img > j5 ||
        fail "no-range: $(tail -n 1 j5)"
cmp out5.img v2.img || fail "no-range: wrong image"
[ "$(jget j5 'src["delta"]["chunks"]')" -eq "$deltas" ] || fail "no-range: $(tail -n 1 j5)"
set -- $(logged "$n0" .cadelta)
[ "$1" -eq "$deltas" ] || fail "no-range: $1 delta files fetched, want $deltas"

# --- mirror without the key: the sealed pack index, the packs, catalogs and
# delta files it lists in clear; the mirror serves the same plan
"$CADU" -q mirror --from www/st --to www/m v2.caibx || fail "mirror of an encrypted release with packs"
ls www/m/packs/*.capx www/m/packs/*.capack www/m/packs/*.capcat >/dev/null && ls www/m/deltas/*/*.cadelta >/dev/null ||
        fail "mirror did not copy packs and delta files"
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/m" --seed v1.img:p1.caibx v2.caibx out7.img > j7 ||
        fail "extract from the mirror: $(tail -n 1 j7)"
cmp out7.img v2.img && [ "$(jget j7 'd["plan"]')" = "$(jget j1 'd["plan"]')" ] || fail "mirror: $(tail -n 1 j7)"

# --- verify-store: the structure without the key, every entry with it
"$CADU" -q verify-store www/st v1.caibx v2.caibx > vs || fail "verify-store without the key: $(cat vs)"
"$CADU" --json verify-store --key-file k1 www/st v1.caibx v2.caibx > vs || fail "verify-store with the key: $(cat vs)"
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); sys.exit(0 if d["pack_indexes"] == 2 and d["decoded_deltas"] > 0 else 1)' vs ||
        fail "verify-store with the key checked no packs: $(tail -n 1 vs)"
rc=0; "$CADU" -q verify-store www/flip v2.caibx > vf 2>&1 || rc=$?
[ "$rc" -eq 3 ] && grep -q "capack: does not match its name and size" vf || fail "verify-store of flipped packs: $rc $(cat vf)"
rc=0; "$CADU" -q verify-store --key-file k1 www/flip v2.caibx > vf 2>&1 || rc=$?
[ "$rc" -eq 3 ] && grep -q "fails authentication under its name" vf || fail "verify-store --key-file of flipped packs: $rc $(cat vf)"

# --- gc: keeping both releases removes nothing of theirs; keeping v2 only,
# v1's chunk files go and with them every delta file one of whose bases
# they were; v2 still extracts with the same deltas from its packs
cp -r www/st www/gc
before=$(find www/gc -type f | wc -l)
"$CADU" -q gc -g 0 www/gc v1.caibx v2.caibx || fail "gc keeping both"
[ "$(find www/gc -type f | wc -l)" -eq "$before" ] || fail "gc keeping both releases removed files"
ndeltas=$(find www/gc/deltas -name '*.cadelta' | wc -l)
"$CADU" -q gc -g 0 www/gc v2.caibx || fail "gc keeping v2"
left=$(find www/gc/deltas -name '*.cadelta' | wc -l)
[ "$left" -lt "$ndeltas" ] || fail "gc removed no delta file of v1's bases"
python3 - www/gc <<'PY' || fail "gc left a delta file without its target or bases"
import glob, os, struct, sys
root = sys.argv[1]
def have(h):
    return os.path.exists(os.path.join(root, h[:4], h + ".cacnk"))
for f in glob.glob(os.path.join(root, "deltas", "*", "*.cadelta")):
    d = open(f, "rb").read()
    n = struct.unpack("<I", d[24:28])[0]
    names = [d[28 + 32 * i:60 + 32 * i].hex() for i in range(n)]
    assert have(os.path.basename(f)[:64]) and all(map(have, names)), f
PY
ls www/gc/packs/"$(sha256sum v2.caibx | cut -c1-64)".capx >/dev/null || fail "gc removed v2's pack index"
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/gc" --seed v1.img:p1.caibx v2.caibx out8.img > j8 ||
        fail "extract after gc: $(tail -n 1 j8)"
cmp out8.img v2.img && [ "$(jget j8 'd["plan"]')" = "$(jget j1 'd["plan"]')" ] || fail "after gc: $(tail -n 1 j8)"

# --- deterministic per key: v1 and v2 made again into an empty store give
# the same pack, catalog, delta and sketch files, byte for byte (only the
# encrypted index has a random nonce, hence its pack index another name)
listing() { (cd "$1" && find packs/*.capack packs/*.capcat deltas sketches -type f | sort | xargs md5sum); }
"$CADU" -q make --encrypt-key k1 --packs --deltas --delta-level 3 --store again v1.img v1b.caibx
"$CADU" -q make --encrypt-key k1 --packs --deltas --delta-level 3 --store again v2.img v2b.caibx
[ "$(listing again)" = "$(listing www/st)" ] || fail "the same releases under the same key made other files"

# --- a pack index under another key is not used (and a plain extract of
# the same store never finds one: its name is the encrypted index's)
"$CADU" -q make --encrypt-key k2 --packs --store www/st v2.img v2k2.caibx
cp www/st/packs/"$(sha256sum v2k2.caibx | cut -c1-64)".capx www/st/packs/"$(sha256sum v2.caibx | cut -c1-64)".capx.k2
cp www/st/packs/"$(sha256sum v2.caibx | cut -c1-64)".capx capx.save
mv www/st/packs/"$(sha256sum v2.caibx | cut -c1-64)".capx.k2 www/st/packs/"$(sha256sum v2.caibx | cut -c1-64)".capx
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/st" --seed v1.img:p1.caibx v2.caibx out6.img > j6 ||
        fail "foreign pack index: $(tail -n 1 j6)"
cmp out6.img v2.img || fail "foreign pack index: wrong image"
[ "$(jget j6 'src["delta"]["chunks"] + src["pack"]["chunks"]')" -eq 0 ] && [ "$(jget j6 'src["store"]["chunks"]')" -gt 0 ] ||
        fail "a pack index sealed under another key was used: $(tail -n 1 j6)"
cp capx.save www/st/packs/"$(sha256sum v2.caibx | cut -c1-64)".capx
echo "encrypted packs and deltas ok: $(jget j1 'd["plan"]')"
