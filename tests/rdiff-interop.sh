#!/bin/sh
# Interoperability with the real rdiff (librsync 2.3): cadu's signatures are
# byte-identical to rdiff's; cadu's deltas apply with rdiff patch; rdiff's
# deltas (from cadu's signatures) apply with cadu patch; cadu's deltas are at
# most 1% larger than rdiff's. All four signature kinds, edge sizes, the
# conformance vector inputs, and standard input/output.
. "$top_srcdir/tests/lib.sh"
need rdiff python3
cd "$T"

# mutate IN OUT SEED: a deterministic edit of IN (replace, insert, delete,
# move) like a new software version.
mutate() {
        python3 - "$@" <<'PY'
import random, sys
src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = random.Random(seed)
d = bytearray(open(src, "rb").read())
for _ in range(r.randint(3, 30)):
    if not d:
        d += r.randbytes(100)
        continue
    p, n = r.randrange(len(d)), r.randint(1, 20000)
    op = r.randint(0, 3)
    if op == 0:
        d[p:p + n] = r.randbytes(min(n, len(d) - p))
    elif op == 1:
        d[p:p] = r.randbytes(n)
    elif op == 2:
        del d[p:p + n]
    else:
        q = r.randrange(len(d))
        d[p:p] = d[q:q + n]
open(dst, "wb").write(d)
PY
}

sigs=0 deltas=0
# same_sig FILE OPTIONS...: cadu and rdiff write the same signature
same_sig() {
        f=$1
        shift
        rdiff -f "$@" signature "$f" ref.sig 2>/dev/null || fail "rdiff $* signature $f"
        "$CADU" -q rdiff -f "$@" signature "$f" my.sig || fail "cadu rdiff $* signature $f"
        cmp -s ref.sig my.sig || fail "signature of $f ($(wc -c <"$f") bytes) with '$*' differs from rdiff's"
        sigs=$((sigs + 1))
}

# both_ways BASIS NEW OPTIONS...: deltas in both directions and their sizes
both_ways() {
        b=$1 n=$2
        shift 2
        rdiff -f "$@" signature "$b" ref.sig 2>/dev/null
        "$CADU" -q rdiff -f "$@" signature "$b" my.sig
        cmp -s ref.sig my.sig || fail "signature of $b with '$*' differs"
        # cadu delta from rdiff's signature, applied by rdiff
        "$CADU" rdiff -f delta ref.sig "$n" my.delta || fail "cadu delta ($*)"
        rdiff -f patch "$b" my.delta out.rdiff || fail "rdiff patch of cadu's delta ($*)"
        cmp -s out.rdiff "$n" || fail "rdiff patch of cadu's delta gives a wrong result ($*)"
        # rdiff delta from cadu's signature, applied by cadu
        rdiff -f delta my.sig "$n" ref.delta || fail "rdiff delta ($*)"
        "$CADU" rdiff -f patch "$b" ref.delta out.cadu || fail "cadu patch of rdiff's delta ($*)"
        cmp -s out.cadu "$n" || fail "cadu patch of rdiff's delta gives a wrong result ($*)"
        "$CADU" rdiff -f patch "$b" my.delta out.cadu
        cmp -s out.cadu "$n" || fail "cadu patch of cadu's delta gives a wrong result ($*)"
        mine=$(wc -c <my.delta) theirs=$(wc -c <ref.delta)
        [ $((mine * 100)) -le $((theirs * 101)) ] ||
                fail "cadu's delta is $mine bytes, rdiff's $theirs (more than 1% larger) for $b -> $n ($*)"
        deltas=$((deltas + 1))
}

KINDS="-Hblake2:-Rrabinkarp -Hmd4:-Rrabinkarp -Hblake2:-Rrollsum -Hmd4:-Rrollsum"

# Edge sizes around the default block (256) and 64 KiB, and a few MB.
for size in 0 1 255 256 257 511 512 513 65535 65536 65537 3000017; do
        gen_data random "$size" in.$size
        for k in $KINDS; do
                same_sig in.$size $(echo "$k" | tr : ' ')
        done
done
# explicit block and strong sum lengths, around the block length
for size in 999 1000 1001 2999 3000 3001; do
        gen_data random "$size" in
        same_sig in -b 1000
        same_sig in -b 1000 -H md4 -R rollsum -S 5
        same_sig in -b 1 -S 4
        same_sig in -S -1
        same_sig in -S 8 -H md4
done
# a signature of standard input (size unknown: rdiff's 2048-byte blocks)
gen_data random 100000 in
rdiff signature - - <in >ref.sig
"$CADU" rdiff signature <in >my.sig
cmp -s ref.sig my.sig || fail "signature of standard input differs"
cat in | "$CADU" rdiff -f -S -1 signature - my.sig
cat in | rdiff -f -S -1 signature - ref.sig
cmp -s ref.sig my.sig || fail "signature of a pipe with -S -1 differs"

# The conformance vector inputs, edited, in both directions.
gen_data random 8388608 random.bin
gen_data mixed 8388608 mixed.bin
echo "b90e46b6528f14cd05f49c4f0105e3e446a20698f4a401f621d6bfac85143403  random.bin" | sha256sum -c --quiet ||
        fail "gen-data.py does not reproduce random-8M"
seed=1
for f in random.bin mixed.bin; do
        mutate "$f" "$f.new" $seed
        for k in $KINDS; do
                both_ways "$f" "$f.new" $(echo "$k" | tr : ' ')
        done
        both_ways "$f" "$f.new" -b 1024 -S -1
        both_ways "$f.new" "$f" -b 300
        seed=$((seed + 1))
done
# small and odd cases
for size in 0 1 300 5000 70000; do
        gen_data random "$size" a
        mutate a b $size
        both_ways a b
        both_ways b a -H md4 -R rollsum
        : >empty
        both_ways a empty
        both_ways empty a
done

# Standard input and output.
"$CADU" rdiff signature <mixed.bin >s.sig
"$CADU" rdiff delta s.sig <mixed.bin.new >d.delta
"$CADU" rdiff patch mixed.bin <d.delta >o.bin
cmp -s o.bin mixed.bin.new || fail "patch through standard input and output"
"$CADU" rdiff delta - mixed.bin.new - <s.sig | rdiff patch mixed.bin - o2.bin
cmp -s o2.bin mixed.bin.new || fail "delta with the signature on standard input"
echo "ok: $sigs signatures identical, $deltas delta pairs"
