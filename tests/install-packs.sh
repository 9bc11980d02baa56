#!/bin/sh
# Install through packs from real nginx: --dry-run shows each image's plan
# and changes nothing; a plan above --max-download (or max-download in the
# configuration) is refused before anything is written; the install then
# fetches exactly what the plan said, as ranges of the release's packs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need nginx python3
make_pki
mkdir -p "$T/www"
dev_setup uboot
device_release "$T/v1" 1.0.0
device_release "$T/www/v2" 2.0.0
# The same indexes again, now with packs beside the chunks.
"$CADU" -q make --packs --store "$T/www/v2/store" --chunk-size 16K:32K:64K "$T/www/v2/rootfs.img" "$T/www/v2/rootfs.caibx"
"$CADU" -q make --packs --store "$T/www/v2/store" --chunk-size 4K:8K:16K "$T/www/v2/kernel.img" "$T/www/v2/kernel.caibx"
factory "$T/v1"
nginx_start "$T/www"
url=$HTTP_URL/v2/update.manifest
before=$(slots_digest)

# --- dry run: a plan per image, nothing written, no pack fetched
"$CADU" --json install --dry-run -c "$CONF" "$url" > dry.json || fail "dry run: $(cat dry.json)"
[ "$(slots_digest)" = "$before" ] || fail "the dry run wrote to a slot"
grep -q '"event":"plan","image":"rootfs"' dry.json && grep -q '"event":"plan","image":"kernel"' dry.json || fail "no plans: $(cat dry.json)"
grep -q '"detail":"dry run: nothing written"' dry.json || fail "dry run: $(tail -n 1 dry.json)"
grep -q '\.capack' "$NGINX_LOG" && fail "the dry run fetched from a pack"
total=$(python3 -c 'import json, sys; print(sum(json.loads(l)["plan"]["total_bytes"] for l in open(sys.argv[1]) if "\"plan\"" in l and "\"event\":\"plan\"" in l))' dry.json)
[ "$total" -gt 0 ] || fail "empty plan"
"$CADU" install --dry-run -c "$CONF" "$url" 2> dry.txt || fail "dry run (text)"
grep -q "^plan rootfs: chunks" dry.txt && grep -q "download: .* requests: pack index" dry.txt || fail "text plan: $(cat dry.txt)"

# --- the budget, by option and by configuration: refused, nothing written
expect_fail 4 "refusing .*: the download needs $total bytes, more than the limit of $((total - 1)) bytes" \
        "$CADU" install --max-download $((total - 1)) -c "$CONF" "$url"
[ "$(slots_digest)" = "$before" ] || fail "the refused install wrote to a slot"
cp "$CONF" conf.budget
printf '\n[store]\nmax-download = 1K\n' >> conf.budget
expect_fail 4 "more than the limit of 1024 bytes" "$CADU" install -c conf.budget "$url"
[ "$(slots_digest)" = "$before" ] || fail "the refused install wrote to a slot"
grep -q '\.capack' "$NGINX_LOG" && fail "a refused install fetched from a pack"

# --- the install: ranges of packs, as planned
n0=$(wc -l < "$NGINX_LOG")
"$CADU" --json install --max-download "$total" -c "$CONF" "$url" > inst.json || fail "install: $(tail -n 3 inst.json)"
slot_has b "$T/www/v2" || fail "slot B does not hold v2"
python3 - inst.json dry.json <<'PY' || fail "install differs from its plan"
import json, sys
done = [json.loads(l) for l in open(sys.argv[1]) if '"event":"done","command":"install"' in l and '"sources"' in l]
plans = [json.loads(l)["plan"] for l in open(sys.argv[2]) if '"event":"plan"' in l]
assert len(done) == 2 == len(plans), (len(done), len(plans))
for d, p in zip(done, plans):
    src = {s["source"]: s for s in d["sources"]}
    assert src["pack"]["chunks"] == p["pack_chunks"] > 0, (src["pack"], p)
    assert src["pack"]["raw_bytes"] == p["pack_bytes"], (src["pack"], p)
    assert d["downloaded"] == p["total_bytes"], (d["downloaded"], p)
PY
tail -n +"$((n0 + 1))" "$NGINX_LOG" | grep -q '\.capack' || fail "no pack range requests"
tail -n +"$((n0 + 1))" "$NGINX_LOG" | grep -q '\.cacnk' && fail "per-chunk files fetched"
echo "install via packs ok: $total bytes planned"
