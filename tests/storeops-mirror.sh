#!/bin/bash
# cadu mirror from a store served by real nginx on 127.0.0.1 into a
# directory, then extraction offline (nginx stopped) byte-identical; the
# --except-index subset; resume (only missing or damaged chunks are fetched
# again, counted in nginx's access log); a corrupt or missing chunk at the
# source; a signed manifest mirrored with its signature and indexes; and
# verify-store on the HTTP store (presence by HEAD, full with --download).
# make check may run this with sh: it needs bash (process substitution, mapfile).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/storeops-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
# Cleanup commands are appended as "$CLEANUP; cmd": start with a no-op so
# that the first one still parses.
CLEANUP=${CLEANUP:-:}
need nginx openssl

cd "$T"
mkdir www
released_store www/store www
idx_ids www/v1.caibx | sort -u >ids1
idx_ids www/v2.caibx | sort -u >ids2
nginx_start "$T/www"
URL=$HTTP_URL/store
gets() { grep -c '"GET /store/[0-9a-f]\{4\}/' "$NGINX_LOG" || true; }   # chunk files (mirror also asks for a pack index)

# Mirror v2: exactly its chunks, verified, all fetched once.
"$CADU" --json mirror --from "$URL" --to usb www/v2.caibx >m.json || fail "mirror failed"
diff <(store_chunks usb) ids2 >&2 || fail "usb does not hold exactly v2's chunks"
[ "$(json_get m.json 'j["copied_chunks"]')" = "$(wc -l <ids2)" ] || fail "copied count: $(tail -1 m.json)"
[ "$(gets)" -eq "$(wc -l <ids2)" ] || fail "$(gets) GETs for $(wc -l <ids2) chunks"
for id in $(cat ids2); do cmp "$(chunk_file usb "$id")" "$(chunk_file www/store "$id")" || fail "chunk $id not stored as is"; done
"$CADU" verify-store usb www/v2.caibx >/dev/null 2>&1 || fail "mirrored store unsound"
no_tmp_left usb

# Resume: two chunks deleted, one damaged: only those three are fetched.
mapfile -t some < <(sed -n '2p;5p;9p' ids2)
rm "$(chunk_file usb "${some[0]}")" "$(chunk_file usb "${some[1]}")"
printf 'damaged' >"$(chunk_file usb "${some[2]}")"
before=$(gets)
"$CADU" --json mirror --from "$URL" --to usb www/v2.caibx >m.json || fail "resumed mirror failed"
[ $(( $(gets) - before )) -eq 3 ] || fail "resume fetched $(( $(gets) - before )) chunks, want 3"
[ "$(json_get m.json 'j["present_chunks"]')" = $(( $(wc -l <ids2) - 3 )) ] || fail "present count: $(tail -1 m.json)"
[ "$(json_get m.json 'j["repaired_chunks"]')" = 1 ] || fail "damaged copy not counted: $(tail -1 m.json)"
"$CADU" verify-store usb www/v2.caibx >/dev/null 2>&1 || fail "resumed store unsound"

# Except the release the devices run: only what v2 adds.
"$CADU" -q mirror --from "$URL" --to delta --except-index www/v1.caibx www/v2.caibx || fail "mirror --except-index"
diff <(store_chunks delta) <(comm -13 ids1 ids2) >&2 || fail "--except-index copied other chunks"

# Verify-store over HTTP: presence (HEAD) and full (--download).
"$CADU" verify-store "$URL" www/v1.caibx www/v2.caibx >out 2>err || fail "HTTP store unsound: $(cat out err)"
grep -q "presence only" err || fail "presence summary: $(cat err)"
"$CADU" verify-store --download "$URL" www/v2.caibx >out 2>err || fail "HTTP store unsound with --download: $(cat out err)"
grep -q "chunks verified" err || fail "download summary: $(cat err)"
# info on the HTTP store: presence by HEAD; compressed sizes with --download.
"$CADU" --json info --store "$URL" www/v2.caibx >info.json || fail "info on the HTTP store"
[ "$(json_get info.json 'j["store"]["present_chunks"]')" = "$(wc -l <ids2)" ] || fail "info: present chunks over HTTP"
[ "$(json_get info.json 'j["store"]["compressed_bytes"]')" = None ] || fail "info: sizes without --download"
raw2=$(cat ids2 | while read -r id; do stat -c %s "$(chunk_file www/store "$id")"; done | awk '{ s += $1 } END { print s }')
"$CADU" --json info --download --store "$URL" www/v2.caibx >info.json || fail "info --download on the HTTP store"
[ "$(json_get info.json 'j["store"]["compressed_bytes"]')" = "$raw2" ] || fail "info --download: compressed bytes"

# A corrupt and a missing chunk at the source.
bad=$(sed -n 3p ids2) gone=$(sed -n 4p ids2)
cp "$(chunk_file www/store "$bad")" bad.save
cp "$(chunk_file www/store "$(sed -n 6p ids2)")" "$(chunk_file www/store "$bad")"
mv "$(chunk_file www/store "$gone")" gone.save
rc=0; "$CADU" verify-store "$URL" www/v2.caibx >out 2>err || rc=$?
[ $rc -eq 3 ] && [ "$(cat out)" = "missing $gone" ] || fail "HTTP presence check: exit $rc, $(cat out err)"
rc=0; "$CADU" verify-store --download "$URL" www/v2.caibx >out 2>err || rc=$?
[ $rc -eq 3 ] || fail "HTTP --download: exit $rc"
sizebad=$(idx_sizes www/v2.caibx | awk -v i="$bad" '$1 == i { print $2; exit }')
grep -q "^corrupt $bad: decompresses to [0-9]* bytes, the index says $sizebad$" out || fail "HTTP --download corrupt: $(cat out)"
grep -qx "missing $gone" out && [ "$(wc -l <out)" -eq 2 ] || fail "HTTP --download report: $(cat out)"
# Mirror refuses to copy them, copies the rest, and says which.
rc=0; "$CADU" mirror --from "$URL" --to fresh www/v2.caibx >out 2>err || rc=$?
[ $rc -eq 3 ] || fail "mirror from a corrupt source: exit $rc, $(cat err)"
grep -q "^corrupt $bad: " out && grep -qx "missing $gone" out || fail "mirror report: $(cat out)"
grep -q "2 chunks could not be copied (1 missing, 1 corrupt, 0 failed)" err || fail "mirror error line: $(cat err)"
[ ! -e "$(chunk_file fresh "$bad")" ] || fail "a corrupt chunk was stored"
[ "$(store_chunks fresh | wc -l)" -eq $(( $(wc -l <ids2) - 2 )) ] || fail "the other chunks were not copied"
cp bad.save "$(chunk_file www/store "$bad")"
mv gone.save "$(chunk_file www/store "$gone")"
"$CADU" -q mirror --from "$URL" --to fresh www/v2.caibx || fail "mirror after repair"

# A signed manifest: the directory an operator copies to a USB stick.
"$CADU" rdiff signature v1.img v1.sig && "$CADU" rdiff delta v1.sig v2.img www/v2.rdiff || fail "rdiff delta"
"$CADU" -q manifest --compatible acme,board --version 2.0.0 --image rootfs:rootfs:v2.img:www/v2.caibx:www/store \
        --delta rootfs:www/v2.rdiff:v1.img www/rel.manifest || fail "cadu manifest failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem \
        -days 2 -subj "/CN=release" 2>/dev/null
openssl cms -sign -binary -outform DER -nosmimecap -in www/rel.manifest -signer cert.pem -inkey key.pem \
        -out www/rel.manifest.sig || fail "openssl cms -sign failed"
"$CADU" -q mirror --from "$URL" --to stick www/rel.manifest || fail "mirror of a manifest failed"
for f in rel.manifest rel.manifest.sig v2.caibx v2.rdiff; do cmp "www/$f" "stick/$f" || fail "stick/$f differs"; done
diff <(store_chunks stick/store) ids2 >&2 || fail "stick/store does not hold exactly v2's chunks"
"$CADU" -q verify --ca cert.pem stick/rel.manifest || fail "the stick's manifest does not verify"
# A re-run after a mirror killed mid-write removes what it left (its own
# temporary names only) and finds the directory complete.
id=$(head -n 1 ids2)
touch "$(chunk_file stick/store "$id").0123456789abcdef.tmp" stick/v2.caibx.fedcba9876543210.tmp \
        stick/rel.manifest.sig.00000000000000ff.tmp stick/rel.manifest.0000000000000001.tmp stick/notes.tmp
"$CADU" mirror --from "$URL" --to stick www/rel.manifest 2>rerun.err || fail "re-run of a mirror: $(cat rerun.err)"
grep -q "^stick: removed 4 temporary files of an interrupted mirror$" rerun.err || fail "cleanup: $(cat rerun.err)"
[ -e stick/notes.tmp ] || fail "a file that is not the mirror's own was removed"
rm stick/notes.tmp
[ -z "$(find stick -name '*.tmp')" ] || fail "temporary files left: $(find stick -name '*.tmp')"
"$CADU" verify-store stick/store www/v2.caibx >vs.out 2>&1 || fail "verify-store after a re-run: $(cat vs.out)"
! grep -q stray vs.out || fail "strays after a re-run: $(cat vs.out)"
# Without --from, the manifest's own (relative) store is the source.
"$CADU" -q mirror --to stick2 www/rel.manifest || fail "mirror from the manifest's store"
diff <(store_chunks stick2/store) ids2 >/dev/null || fail "stick2 incomplete"
# The manifest by URL: manifest, signature, index, delta and chunks over HTTP.
"$CADU" -q mirror --to stick4 "$HTTP_URL/rel.manifest" || fail "mirror of a manifest URL"
for f in rel.manifest rel.manifest.sig v2.caibx v2.rdiff; do cmp "www/$f" "stick4/$f" || fail "stick4/$f differs"; done
diff <(store_chunks stick4/store) ids2 >/dev/null || fail "stick4 incomplete"
"$CADU" -q verify --ca cert.pem stick4/rel.manifest || fail "the URL-mirrored manifest does not verify"
expect_fail 2 "INDEX must be a local file" "$CADU" mirror --from "$URL" --to x "$HTTP_URL/v2.caibx"
# A manifest whose index does not match its pin is refused; nothing copied.
cp -a www wwwbad
cp www/v1.caibx wwwbad/v2.caibx
expect_fail 3 "manifest wwwbad/rel.manifest: image rootfs: index" "$CADU" mirror --to stick3 wwwbad/rel.manifest
[ ! -e stick3/rel.manifest ] || fail "a refused manifest was copied"
rm wwwbad/rel.manifest.sig
expect_fail 1 "signature wwwbad/rel.manifest.sig" "$CADU" mirror --to stick3 wwwbad/rel.manifest

# Offline: nginx stopped, everything comes from the directories.
stop_pid "$NGINX_PID"
"$CADU" -q extract --store usb www/v2.caibx v2.out && cmp v2.img v2.out || fail "offline extract from usb differs"
"$CADU" -q extract --store delta --seed v1.img www/v2.caibx v2d.out && cmp v2.img v2d.out ||
        fail "offline extract from the --except-index mirror differs"
"$CADU" -q extract --store stick/store stick/v2.caibx v2s.out && cmp v2.img v2s.out || fail "offline extract from the stick differs"

# Usage errors.
# Two mirrors into one directory: the second is refused while the first
# runs (chunks trickle from a slow server; aimed by the first chunk stored).
faultproxy_start slow --root "$T/www" --mode slow --rate 20000 --path-regex '\.cacnk$'
"$CADU" -q mirror --from "$FP_URL/store" --to busy www/v2.caibx 2>busy.err &
pid=$!
CLEANUP="$CLEANUP; kill -KILL $pid 2>/dev/null"
n=0
until [ -n "$(find busy -name '*.cacnk' 2>/dev/null)" ]; do
        kill -0 "$pid" 2>/dev/null || fail "the slow mirror ended early: $(cat busy.err)"
        n=$((n + 1))
        [ "$n" -lt 600 ] || fail "the slow mirror stored no chunk"
        sleep 0.05
done
expect_fail 1 "^cadu: mirror: busy is being filled by another cadu mirror$" \
        "$CADU" mirror --from www/store --to busy www/v1.caibx
kill -0 "$pid" 2>/dev/null || fail "the first mirror was not running during the check"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
"$CADU" -q mirror --from www/store --to busy www/v2.caibx || fail "mirror after a killed one"
[ -z "$(find busy -name '*.tmp')" ] || fail "temporary files left: $(find busy -name '*.tmp')"
"$CADU" verify-store busy www/v2.caibx >vs.out 2>&1 || fail "verify-store after a killed mirror: $(cat vs.out)"

expect_fail 2 "--to DIR is required" "$CADU" mirror --from usb www/v2.caibx
expect_fail 2 "--from STORE is required" "$CADU" mirror --to x www/v2.caibx
expect_fail 2 "must be a local directory" "$CADU" mirror --from usb --to http://127.0.0.1:1/x www/v2.caibx
expect_fail 1 "cannot open store nowhere" "$CADU" mirror --from nowhere --to x www/v2.caibx
exit 0
