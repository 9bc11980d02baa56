#!/bin/sh
# SIGTERM mid-run removes the temporary files being written and still ends
# the process by the signal (exit status 143 in the shell): extract, make,
# mirror, install and rdiff patch, each aimed by its progress (a JSON
# progress event, a file that appeared, bytes written), not by wall time.
# kill -9 stays safe as before (tests/extract-resume.sh, install-powerloss.sh).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
. "$top_srcdir/tests/boot-lib.sh"
. "$top_srcdir/tests/install-lib.sh"
. "$top_srcdir/tests/nginx-harness.sh"
need python3

# term_when PID CONDITION WHAT: once CONDITION (a shell command) holds,
# SIGTERM; the process must die of it.
term_when() {
        local pid=$1 cond=$2 what=$3 n=0 rc=0
        until eval "$cond"; do
                kill -0 "$pid" 2>/dev/null || fail "$what ended before it could be aimed at: $(cat "$T/$what.err")"
                n=$((n + 1))
                [ "$n" -lt 1200 ] || fail "$what: never reached the point to stop it"
                sleep 0.05
        done
        kill -TERM "$pid"
        wait "$pid" || rc=$?
        [ "$rc" -eq 143 ] || fail "$what: exit status $rc after SIGTERM, want 143: $(cat "$T/$what.err")"
}
# no_tmp DIR WHAT: no temporary file anywhere below DIR.
no_tmp() {
        [ -z "$(find "$1" -name '*.tmp')" ] || fail "$2 left temporary files: $(find "$1" -name '*.tmp')"
}

# make: chunks at zstd level 19 (slow), stopped once it reported progress.
gen_data random 24000000 big.img
mkdir -p mk
"$CADU" --json make -j 1 -l 19 --store mk/store big.img mk/big.caibx >make.json 2>"$T/make.err" &
term_when $! "grep -q '\"event\":\"progress\".*\"done\":[1-9]' make.json" make
no_tmp mk make
[ ! -e mk/big.caibx ] || fail "make wrote its index although stopped"

# extract: chunks trickle from a slow server into a new file.
mkdir -p www
gen_data random 3000000 img
"$CADU" -q make --store www/store --chunk-size 16K:32K:64K img www/img.caibx
faultproxy_start slow --root "$T/www" --mode slow --rate 100000 --path-regex '\.cacnk$'
mkdir -p out
"$CADU" --json extract --store "$FP_URL/store" www/img.caibx out/img >extract.json 2>"$T/extract.err" &
term_when $! "grep -q '\"event\":\"progress\".*\"done\":[1-9]' extract.json" extract
no_tmp out extract
[ -z "$(ls out)" ] || fail "extract left $(ls out)"

# mirror: stopped after its first chunk arrived.
"$CADU" -q mirror --from "$FP_URL/store" --to usb www/img.caibx 2>"$T/mirror.err" &
term_when $! "[ -n \"\$(find usb -name '*.cacnk' 2>/dev/null)\" ]" mirror
no_tmp usb mirror

# rdiff patch: the delta comes through a pipe; stopped once output was written.
gen_data random 4000000 basis
python3 -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
for off in range(0, len(d), 100000):
    d[off:off + 3000] = bytes(3000)
open(sys.argv[2], "wb").write(d)' basis new
"$CADU" rdiff signature basis basis.sig
"$CADU" rdiff delta basis.sig new new.delta
mkdir -p rd
mkfifo delta.fifo
"$CADU" rdiff patch basis - rd/new <delta.fifo 2>"$T/rdiff.err" &
pid=$!
exec 3>delta.fifo
head -c "$(($(stat -c %s new.delta) / 2))" new.delta >&3
term_when $pid "[ \"\$(cat rd/new.*.tmp 2>/dev/null | wc -c)\" -gt 0 ]" rdiff
exec 3>&-
no_tmp rd "rdiff patch"
[ -z "$(ls rd)" ] || fail "rdiff patch left $(ls rd)"

# install: stopped while writing the slot; the state directory and the
# cache keep no temporary file, and the install then resumes.
make_pki
dev_setup file
printf '\n[store]\ncache-dir = %s\n' "$D/cache" >>"$CONF"
device_release "$T/v1" 1.0.0
device_release "$T/www/v2" 2.0.0
factory "$T/v1"
"$CADU" --json install -c "$CONF" "$FP_URL/v2/update.manifest" >install.json 2>"$T/install.err" &
term_when $! "grep -q '\"event\":\"progress\".*\"done\":[1-9]' install.json" install
no_tmp "$D" install
stop_pid "$FP_PID"
faultproxy_start fast --root "$T/www"
"$CADU" -q install -c "$CONF" "$FP_URL/v2/update.manifest" || fail "install after SIGTERM did not resume"
slot_has b "$T/www/v2" || fail "slot B does not hold v2"
no_tmp "$D" "the resumed install"
echo "signals: ok"
