#!/bin/sh
# Hand-made deltas with every command and every parameter width, backward,
# overlapping and adjacent copies: rdiff patch and cadu patch both give the
# result the format says they must.
. "$top_srcdir/tests/lib.sh"
need rdiff python3
cd "$T"

python3 - <<'PY'
import random
r = random.Random(42)
basis = r.randbytes(70000)
open("basis", "wb").write(basis)

def be(v, n):
    return v.to_bytes(n, "big")

def literal(op, data):
    if op <= 0x40:
        assert len(data) == op
        return bytes([op]) + data
    return bytes([op]) + be(len(data), 1 << (op - 0x41)) + data

def copy(wo, wl, off, ln):
    op = 0x45 + 4 * (wo.bit_length() - 1) + (wl.bit_length() - 1)
    return bytes([op]) + be(off, wo) + be(ln, wl)

cases = {}
# every short literal opcode
d, out = bytearray(be(0x72730236, 4)), bytearray()
for op in range(1, 0x41):
    data = r.randbytes(op)
    d += literal(op, data)
    out += data
cases["short-literals"] = (d + b"\0", out)
# long literals with every width
d, out = bytearray(be(0x72730236, 4)), bytearray()
for op, n in ((0x41, 200), (0x42, 3000), (0x43, 70000), (0x44, 65)):
    data = r.randbytes(n)
    d += literal(op, data)
    out += data
cases["long-literals"] = (d + b"\0", out)
# every copy opcode (offset width x length width)
d, out = bytearray(be(0x72730236, 4)), bytearray()
for wo in (1, 2, 4, 8):
    for wl in (1, 2, 4, 8):
        off = {1: 200, 2: 60000, 4: 69000, 8: 5}[wo]
        ln = {1: 7, 2: 300, 4: 900, 8: 40}[wl]
        d += copy(wo, wl, off, ln)
        out += basis[off:off + ln]
cases["copies"] = (d + b"\0", out)
# backward, overlapping, adjacent, whole basis, first and last byte
d, out = bytearray(be(0x72730236, 4)), bytearray()
for off, ln in ((50000, 1000), (10000, 5000), (12000, 5000), (17000, 1), (17001, 2), (0, 1),
                (69999, 1), (0, 70000), (69000, 1000), (68500, 1000)):
    d += copy(4, 4, off, ln)
    out += basis[off:off + ln]
    d += literal(1, b"|")
    out += b"|"
cases["backward-overlap"] = (d + b"\0", out)
# a delta that writes nothing
cases["empty"] = (be(0x72730236, 4) + b"\0", b"")
for name, (delta, want) in cases.items():
    open(name + ".delta", "wb").write(delta)
    open(name + ".want", "wb").write(want)
open("CASES", "w").write("\n".join(cases) + "\n")
PY

n=0
while read -r c; do
        rdiff patch basis "$c.delta" "$c.rdiff" || fail "rdiff patch $c"
        cmp -s "$c.rdiff" "$c.want" || fail "rdiff's result for $c is not what the test expects"
        "$CADU" rdiff patch basis "$c.delta" "$c.cadu" || fail "cadu rdiff patch $c"
        cmp -s "$c.cadu" "$c.want" || fail "cadu's result for $c differs"
        # and without the kernel copy / through a pipe
        CADU_RDIFF_NO_KERNEL_COPY=1 "$CADU" rdiff patch basis - - <"$c.delta" >"$c.pipe"
        cmp -s "$c.pipe" "$c.want" || fail "cadu's result for $c through pipes differs"
        n=$((n + 1))
done <CASES
[ "$n" -eq 5 ] || fail "ran $n cases"
echo "ok: $n hand-made deltas"
