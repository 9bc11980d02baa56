#!/bin/bash
# cadu hawkbit against the DDI stand-in (tests/hawkbit-server.py, HTTPS with
# a test CA) on a simulated A/B device with a real U-Boot environment: the
# full cycle with configData and progress feedback, a failed trial, cancel
# before and after the slot switch, a bad token, a server that fails and
# restarts meanwhile, and kill -9 during an action (the re-run resumes the
# same action without fetching again what the slot holds), and a data
# budget smaller than the plan (a failure feedback before any chunk is
# fetched), download only, and a maintenance window. Chunks come from a plain nginx store on another origin, which
# never sees the token.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
set -o pipefail
need python3 nginx

make_pki
certs_make "$T/tls"
dev_setup uboot
mkdir www
nginx_start "$T/www"
store_url=http://127.0.0.1:$NGINX_HTTP_PORT/store

# hb_release DIR VERSION: a release whose manifest names the nginx store;
# its artifacts for hawkBit are the manifest, its signature and the indexes.
hb_release() {
        device_release "$1" "$2" 4
        cp -r "$1/store/." "$T/www/store/"
        "$CADU" -q manifest --compatible cadu-test-board --version "$2" \
                --image "rootfs:rootfs:$1/rootfs.img:$1/rootfs.caibx:$store_url" \
                --image "kernel:kernel:$1/kernel.img:$1/kernel.caibx:$store_url" "$1/update.manifest"
        "$CADU" -q sign --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" "$1/update.manifest"
}
mkdir -p www/store
hb_release "$T/v1" 1.0.0
hb_release "$T/v2" 2.0.0
hb_release "$T/v3" 3.0.0
hb_release "$T/v4" 4.0.0
hb_release "$T/v5" 5.0.0
factory "$T/v1"

HB_LOG=$T/hawkbit.log
hb_start() {
        rm -f "$T/hb.port"
        python3 "$top_srcdir/tests/hawkbit-server.py" --port-file "$T/hb.port" --port "${HB_PORT:-0}" \
                --log "$HB_LOG" --state "$T/hb.state" --token s3cret --controller dev1 --sleep 1 \
                --cert "$T/tls/server.pem" --key "$T/tls/server.key" &
        HB_PID=$!
        for _ in $(seq 100); do [ -s "$T/hb.port" ] && break; sleep 0.05; done
        HB_PORT=$(cat "$T/hb.port")
        wait_port "$HB_PORT" || fail "hawkBit stand-in did not start"
}
hb_stop() { stop_pid "$HB_PID"; }
CLEANUP="hb_stop; $CLEANUP"
hb_start
hb="https://127.0.0.1:$HB_PORT"
ctl() { curl -sf --cacert "$T/tls/ca.pem" -X POST -d "$2" "$hb/control/$1" >/dev/null || fail "control $1 failed"; }
hb_state() { curl -sf --cacert "$T/tls/ca.pem" "$hb/control/state" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
hb_conf() {
        cp "$CONF" "$T/hb.conf"
        printf '\n[hawkbit]\nserver = %s\ncontroller-id = dev1\ntarget-token = %s\nca-file = %s\npoll-min = 1\npoll-max = 2\n' \
                "$hb" "${1:-s3cret}" "$T/tls/ca.pem" >>"$T/hb.conf"
}
hb_conf
deploy() { ctl deploy "{\"id\": \"$1\", \"files\": [\"$2/update.manifest\", \"$2/update.manifest.sig\", \"$2/rootfs.caibx\", \"$2/kernel.caibx\"]${3:+, $3}}"; }
hawkbit() { "$CADU" hawkbit -c "$T/hb.conf" --once "$@" 2>>"$T/client.log"; }

# 1. The full cycle.
deploy 1 "$T/v2"
hawkbit || fail "poll with a new action failed: $(tail -3 client.log)"
slot_has b "$T/v2" || fail "action 1: slot B does not hold v2"
[ "$(hb_state 's["config_data"].get("compatible")')" = cadu-test-board ] || fail "no configData sent"
[ "$(hb_state 's["config_data"].get("running_slot")')" = A ] || fail "configData: wrong running slot"
[ "$(hb_state 's["actions"]["1"]["status"]')" = running ] || fail "action closed before the trial boot"
hb_state '[f["execution"] for f in s["actions"]["1"]["feedback"]]' | grep -q proceeding || fail "no proceeding feedback"
# The trial boot comes up and is committed; the next poll closes the action.
[ "$(sim)" = B ] || fail "trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"
hawkbit || fail "poll after mark-good failed"
[ "$(hb_state 's["actions"]["1"]["status"]')" = finished-success ] || fail "action 1 not closed with success: $(hb_state 's["actions"]["1"]')"
hb_state 's["actions"]["1"]["feedback"][-1]["details"][0]' | grep -q "version 2.0.0 runs from slot B" || fail "success detail"
! grep -q '"kind": "bad-feedback"' "$HB_LOG" || fail "the server refused feedback: $(grep bad-feedback "$HB_LOG")"
# The store's origin never saw the token (nginx logs the Authorization header it got).
! grep -q s3cret "$NGINX_LOG" || fail "the token went to the chunk store"

# 2. A failed trial: v3 into A, its kernel does not come up, B runs on.
deploy 2 "$T/v3"
hawkbit || fail "poll with action 2 failed"
[ "$(sim --fail A)" = B ] || fail "failed trial did not fall back to B"
hawkbit || fail "poll after the fallback failed"
[ "$(hb_state 's["actions"]["2"]["status"]')" = finished-failure ] || fail "action 2 not closed with failure"
hb_state 's["actions"]["2"]["feedback"][-1]["details"][0]' | grep -q "trial boot of slot A failed" || fail "failure detail"

# 3. Cancel before the switch: nothing is installed, the cancel is confirmed.
gen=$(env_generation)
deploy 3 "$T/v3"
ctl cancel '{"id": "3"}'
hawkbit || fail "poll with a cancel failed"
[ "$(hb_state 's["actions"]["3"]["status"]')" = canceled ] || fail "action 3 not canceled"
[ "$(env_generation)" = "$gen" ] || fail "a canceled action wrote the environment"
# Cancel after the switch is refused (rejected), and the trial decides.
deploy 4 "$T/v3"
hawkbit || fail "poll with action 4 failed"
ctl cancel '{"id": "4"}'
hawkbit || fail "poll with a late cancel failed"
[ "$(hb_state 's["actions"]["4"]["cancel"]')" = rejected ] || fail "late cancel not rejected"
[ "$(sim)" = A ] || fail "action 4: trial boot did not boot A"
"$CADU" -q mark-good -c "$CONF"
hawkbit || fail "poll after action 4's trial failed"
[ "$(hb_state 's["actions"]["4"]["status"]')" = finished-success ] || fail "action 4 not closed with success"

# 4. A bad token: 401, exit status 5, nothing taken.
hb_conf wrong
rc=0
hawkbit || rc=$?
[ "$rc" -eq 5 ] || fail "bad token: exit $rc, want 5"
grep -q "HTTP 401" client.log || fail "bad token: no HTTP 401 reported"
grep -q '"kind": "unauthorized"' "$HB_LOG" || fail "the server did not see the bad token"
hb_conf

# 5. The server fails, then goes away and comes back on the same port, while
# the daemon works on an action: it retries and finishes.
deploy 5 "$T/v4"
ctl fail '{"count": 3, "status": 503}'
"$CADU" hawkbit -c "$T/hb.conf" 2>>client.log &
daemon=$!
CLEANUP="kill $daemon 2>/dev/null; $CLEANUP"
for _ in $(seq 300); do
        [ "$(hb_state 's["actions"]["5"]["feedback"] and s["actions"]["5"]["feedback"][-1]["details"][0]' 2>/dev/null)" = "installed; a trial boot follows" ] && break
        sleep 0.2
done
slot_has b "$T/v4" || fail "action 5: the daemon did not install v4"
hb_stop
[ "$(sim)" = B ] || fail "action 5: trial boot did not boot B"
"$CADU" -q mark-good -c "$CONF"
sleep 2                                   # polls fail meanwhile
hb_start
for _ in $(seq 100); do
        [ "$(hb_state 's["actions"]["5"]["status"]')" = finished-success ] && break
        sleep 0.2
done
[ "$(hb_state 's["actions"]["5"]["status"]')" = finished-success ] || fail "action 5 not finished after the restart"
kill "$daemon"
wait "$daemon" || fail "the daemon did not stop cleanly on SIGTERM"

# 6. kill -9 mid-install (a slow store): the re-run resumes the same action
# and fetches only what the slot still lacks.
deploy 6 "$T/v5"
need_files=$(cd "$T/v5/store" && find . -name '*.cacnk' | while read -r f; do [ -f "$T/v4/store/$f" ] || echo "$f"; done | wc -l)
sed 's/^\[store\]$/[store]\nrate-limit = 64K/' "$T/hb.conf" >"$T/hb-slow.conf"
grep -q '^rate-limit' "$T/hb-slow.conf" || printf '\n[store]\nrate-limit = 64K\n' >>"$T/hb-slow.conf"
: >"$NGINX_LOG"
setsid "$CADU" hawkbit -c "$T/hb-slow.conf" --once 2>>client.log &
slow=$!
for _ in $(seq 600); do
        [ "$(grep -c '\.cacnk' "$NGINX_LOG")" -ge $((need_files / 2)) ] && break
        sleep 0.05
done
kill -9 -- -"$slow" 2>/dev/null || true
wait "$slow" 2>/dev/null || true
first=$(grep -c '\.cacnk' "$NGINX_LOG" || true)
[ "$first" -gt 0 ] && [ "$first" -lt "$need_files" ] || fail "kill -9 not mid-fetch ($first of $need_files chunks): the test proves nothing"
: >"$NGINX_LOG"
hawkbit || fail "re-run after kill -9 failed: $(tail -3 client.log)"
slot_has a "$T/v5" || fail "action 6: slot A does not hold v5"
hb_state '[f["execution"] for f in s["actions"]["6"]["feedback"]]' | grep -q resumed || fail "no resumed feedback"
second=$(grep -c '\.cacnk' "$NGINX_LOG" || true)
[ "$second" -lt "$need_files" ] || fail "the re-run fetched $second of $need_files chunks again"
echo "kill -9: $first chunk requests before, $second after, of $need_files new chunks"
[ "$(sim)" = A ] || fail "action 6: trial boot did not boot A"
"$CADU" -q mark-good -c "$CONF"
hawkbit || fail "poll after action 6's trial failed"
[ "$(hb_state 's["actions"]["6"]["status"]')" = finished-success ] || fail "action 6 not closed with success"
# 7. A data budget smaller than the plan: a failure feedback naming the
# plan's size, before any chunk is fetched or anything written.
hb_release "$T/v6" 6.0.0
deploy 7 "$T/v6"
printf '\n[store]\nmax-download = 1K\n' >>"$T/hb.conf"
grep -c '^\[store\]' "$T/hb.conf" | grep -qx 1 || sed -i '0,/^\[store\]$/{//d}' "$T/hb.conf"
gen=$(env_generation)
: >"$NGINX_LOG"
hawkbit || fail "poll with an over-budget action failed: $(tail -3 client.log)"
[ "$(hb_state 's["actions"]["7"]["status"]')" = finished-failure ] || fail "over-budget action 7 not closed with failure"
hb_state 's["actions"]["7"]["feedback"][-1]["details"][0]' | grep -Eq "download needs (up to )?[0-9]+ bytes, more than the limit of 1024 bytes" ||
        fail "budget failure detail: $(hb_state 's["actions"]["7"]["feedback"][-1]["details"]')"
! grep -q '\.cacnk\|\.capack' "$NGINX_LOG" || fail "chunks were fetched despite the budget"
[ "$(env_generation)" = "$gen" ] || fail "an over-budget action wrote the environment"

# 8. Download only (update: skip): the release is fetched and verified, the
# action ends with "downloaded", nothing is installed.
hb_conf
deploy 8 "$T/v6" '"update": "skip"'
gen=$(env_generation)
hawkbit || fail "poll with a download-only action failed"
[ "$(hb_state 's["actions"]["8"]["status"]')" = downloaded ] || fail "download-only action 8 not ended by 'downloaded'"
[ "$(env_generation)" = "$gen" ] || fail "a download-only action wrote the environment"
slot_has b "$T/v6" && fail "a download-only action installed"

# 9. A maintenance window: downloaded while it is unavailable, installed once
# it opens.
deploy 9 "$T/v6" '"maintenanceWindow": "unavailable"'
hawkbit || fail "poll outside the maintenance window failed"
[ "$(hb_state 's["actions"]["9"]["feedback"][-1]["execution"]')" = downloaded ] || fail "no downloaded feedback outside the window"
[ "$(hb_state 's["actions"]["9"]["status"]')" = running ] || fail "action 9 ended outside its window"
[ "$(env_generation)" = "$gen" ] || fail "installed outside the maintenance window"
ctl update '{"id": "9", "maintenanceWindow": "available"}'
hawkbit || fail "poll in the maintenance window failed"
slot_has b "$T/v6" || fail "action 9 not installed in its window"

! grep -q '"kind": "bad-feedback"' "$HB_LOG" || fail "the server refused feedback: $(grep bad-feedback "$HB_LOG")"
echo "ok: hawkBit DDI cycle, failure, cancel, bad token, server restart, kill -9 resume"
