#!/bin/sh
# Interoperability with the real casync: indexes byte-identical for the same
# input and parameters, and each tool reads the other's store.
. "$top_srcdir/tests/lib.sh"
need casync python3
cd "$T"
gen_data mixed 6000000 a.bin
for digest in sha256 sha512-256; do
        for sizes in 16384:65536:262144 4096:16384:65536; do
                rm -rf cst dst
                casync --store=cst --digest="$digest" --chunk-size="$sizes" make casync.caibx a.bin >/dev/null
                "$CADU" -q make --store dst --digest "$digest" --chunk-size "$sizes" a.bin cadu.caibx
                cmp casync.caibx cadu.caibx || fail "indexes differ ($digest $sizes)"
                # casync reads cadu's store, cadu reads casync's.
                casync --store=dst extract cadu.caibx from-cadu.bin
                cmp from-cadu.bin a.bin || fail "casync extract from cadu's store ($digest $sizes)"
                "$CADU" -q extract --store cst casync.caibx from-casync.bin
                cmp from-casync.bin a.bin || fail "cadu extract from casync's store ($digest $sizes)"
                rm -f from-cadu.bin from-casync.bin
        done
done
# casync's default digest (sha512-256) is taken from the index flags.
rm -rf cst
casync --store=cst make d.caibx a.bin >/dev/null
"$CADU" -q extract --store cst d.caibx d.bin
cmp d.bin a.bin
# A casync index serves as a seed index, and a casync-made target seeds from cadu data.
gen_data random 3000000 r.bin
cat r.bin a.bin > v2.bin
casync --store=cst --digest=sha256 make v2.caibx v2.bin >/dev/null
casync --store=cst --digest=sha256 make a.caibx a.bin >/dev/null
"$CADU" --json extract --store cst --seed a.bin:a.caibx v2.caibx v2.out > stats.json
cmp v2.out v2.bin
python3 - stats.json <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]  # after any progress events
seed = [x for x in s["sources"] if x["source"] == "seed"][0]
assert seed["bytes"] > 5000000, seed
PY
echo "casync interop ok"
