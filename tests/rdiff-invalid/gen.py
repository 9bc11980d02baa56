#!/usr/bin/env python3
"""Regenerate the golden invalid rdiff signatures and deltas and EXPECTED.

Each file must be rejected with exactly the reason in EXPECTED (name TAB
reason). Deltas are applied to basis.bin (1000 bytes).
usage: cd tests/rdiff-invalid && python3 gen.py
"""

def be(v, n):
    return v.to_bytes(n, "big")

M = be(0x72730236, 4)  # delta magic
CASES = [
    ("sig-empty.sig", b"", "truncated header (0 of 12 bytes)"),
    ("sig-short-header.sig", be(0x72730147, 4) + be(256, 4), "truncated header (8 of 12 bytes)"),
    ("sig-bad-magic.sig", be(0x72730100, 4) + be(256, 4) + be(32, 4), "bad magic 0x72730100: not an rdiff signature"),
    ("sig-delta-magic.sig", M + be(256, 4) + be(32, 4), "bad magic 0x72730236: this is a delta, not a signature"),
    ("sig-block-zero.sig", be(0x72730147, 4) + be(0, 4) + be(32, 4), "block length 0"),
    ("sig-block-huge.sig", be(0x72730147, 4) + be(0x40000001, 4) + be(32, 4),
     "block length 1073741825 above the limit of 1073741824"),
    ("sig-strong-zero.sig", be(0x72730137, 4) + be(256, 4) + be(0, 4), "strong sum length 0 outside 1..32 for BLAKE2"),
    ("sig-strong-33.sig", be(0x72730147, 4) + be(256, 4) + be(33, 4), "strong sum length 33 outside 1..32 for BLAKE2"),
    ("sig-md4-strong-17.sig", be(0x72730146, 4) + be(256, 4) + be(17, 4), "strong sum length 17 outside 1..16 for MD4"),
    ("sig-truncated-record.sig", be(0x72730136, 4) + be(256, 4) + be(8, 4) + bytes(range(12)) + bytes(5),
     "truncated record at block 1 (5 of 12 bytes)"),
    ("delta-empty.delta", b"", "truncated header (0 of 4 bytes)"),
    ("delta-short-header.delta", b"\x72\x73", "truncated header (2 of 4 bytes)"),
    ("delta-bad-magic.delta", be(0x12345678, 4) + b"\0", "bad magic 0x12345678: not an rdiff delta"),
    ("delta-sig-magic.delta", be(0x72730147, 4) + b"\0", "bad magic 0x72730147: this is a signature, not a delta"),
    ("delta-no-end.delta", M + b"\x03abc", "no END command: the delta is truncated (at offset 8)"),
    ("delta-truncated-literal.delta", M + b"\x0aabc", "truncated literal at offset 4 (3 of 10 bytes)"),
    ("delta-truncated-literal-long.delta", M + b"\x42\x00\xc8" + b"x" * 10,
     "truncated literal at offset 4 (10 of 200 bytes)"),
    ("delta-truncated-command.delta", M + b"\x4a\x00\x01",
     "truncated command 0x4a at offset 4 (2 of 4 parameter bytes)"),
    ("delta-zero-literal.delta", M + b"\x41\x00\x00", "zero-length literal (command 0x41 at offset 4)"),
    ("delta-zero-literal-8.delta", M + b"\x44" + bytes(8) + b"\0", "zero-length literal (command 0x44 at offset 4)"),
    ("delta-zero-copy.delta", M + b"\x45\x00\x00\x00", "zero-length copy (command 0x45 at offset 4)"),
    ("delta-copy-beyond.delta", M + b"\x49" + be(990, 2) + be(20, 1) + b"\0",
     "copy of 20 bytes from 990 lies beyond the end of the basis (1000 bytes) (command 0x49 at offset 4)"),
    ("delta-copy-offset-beyond.delta", M + b"\x01x\x51" + be(2**64 - 1, 8) + be(1, 1) + b"\0",
     "copy of 1 bytes from 18446744073709551615 lies beyond the end of the basis (1000 bytes) (command 0x51 at offset 6)"),
    ("delta-copy-overflow.delta", M + b"\x48" + be(10, 1) + be(2**64 - 1, 8) + b"\0",
     "copy of 18446744073709551615 bytes from 10 lies beyond the end of the basis (1000 bytes) (command 0x48 at offset 4)"),
    ("delta-opcode-55.delta", M + b"\x55\0", "unknown command 0x55 at offset 4"),
    ("delta-opcode-ff.delta", M + b"\x01x\xff\0", "unknown command 0xff at offset 6"),
    ("delta-after-end.delta", M + b"\x00x", "data after the END command (offset 5)"),
]

with open("EXPECTED", "w") as f:
    for name, data, msg in CASES:
        with open(name, "wb") as g:
            g.write(data)
        f.write(f"{name}\t{msg}\n")
with open("basis.bin", "wb") as g:
    g.write(bytes((i * 7) % 256 for i in range(1000)))
