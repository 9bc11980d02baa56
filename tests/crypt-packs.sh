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
"$CADU" -q make --encrypt-key k1 --packs --deltas --store www/st v1.img v1.caibx
"$CADU" -q make --encrypt-key k1 --packs --deltas --store www/st v2.img v2.caibx
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

# The entries of v2's packs, found by their sealed magics (each entry is a
# sealed chunk or delta file; 8 bytes of magic do not occur by chance here).
entries() { # STORE -> "pack offset length kind" per entry
        python3 - "$1" <<'PY'
import glob, os, sys
for p in sorted(glob.glob(os.path.join(sys.argv[1], "packs", "*.capack"))):
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

# --- two sealed deltas of the same length swapped in their pack: each is
# authenticated against the name of the other and refused; the chunk files
# in the secondary pack give the image
cp -r www/st www/swap
entries www/swap | python3 -c '
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

# --- a bit flipped in a sealed delta, and in a sealed chunk file of a
# pack: without a seed every chunk comes from the packs; the flipped chunk
# file falls back to its per-chunk file
cp -r www/st www/flip
entries www/flip | awk '$4 == "DL"' | head -n 1 > dl
entries www/flip | awk '$4 == "CK"' | head -n 1 > ck
flip() { python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[int(sys.argv[2]) + int(sys.argv[3]) // 2] ^= 0x10; open(p,"wb").write(d)' "$@"; }
read pack off len kind < dl
flip "www/flip/packs/$pack" "$off" "$len"
"$CADU" --json extract --key-file k1 --store "$HTTP_URL/flip" --seed v1.img:p1.caibx v2.caibx out3.img > j3 ||
        fail "flipped delta: $(tail -n 1 j3)"
cmp out3.img v2.img || fail "flipped delta: wrong image"
[ "$(jget j3 'src["delta"]["rejected"]')" -eq 1 ] && [ "$(jget j3 'src["delta"]["chunks"]')" -eq $((deltas - 1)) ] ||
        fail "flipped delta: $(tail -n 1 j3)"
read pack off len kind < ck
flip "www/flip/packs/$pack" "$off" "$len"
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

# --- a pack index under another key is not used (and a plain extract of
# the same store never finds one: its name is the encrypted index's)
"$CADU" -q make --encrypt-key k2 --packs --deltas --store www/st v2.img v2k2.caibx
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
