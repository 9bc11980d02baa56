#!/bin/bash
# cadu inside SWUpdate, with Debian's real swupdate (2022.12, built for signed
# images):
#  1. a .swu whose rdiff_image entry carries a delta made by `cadu rdiff delta`
#     installs into a file-backed target and yields the exact image;
#  2. the same .swu with its sw-description signed by `cadu sign --raw` (the
#     release signer) is accepted, and one signed by an untrusted key is not;
#  3. cadu's chunk-based update run from SWUpdate (doc/swupdate.md): the .swu
#     carries the index (rawfile) and a shellscript that runs `cadu extract`
#     with the running image as seed; the target is the exact image.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/manifest-lib.sh"
set -o pipefail
if [ "${CI:-}" = true ]; then
        for c in swupdate cpio; do command -v "$c" >/dev/null || fail "$c not installed (CI)"; done
fi
need swupdate cpio
# SWUpdate keeps its control sockets and unpacked files in TMPDIR: a private
# one per run, apart from the files this test writes.
mkdir "$T/swtmp"
export TMPDIR=$T/swtmp
make_pki
root other "someone else"
cert intruder "intruder" other "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=codeSigning"

cat "$P/ca.pem" "$P/int.pem" >"$P/ca-chain.pem"

data 1 3000000 base.img
python3 - <<'PY'
import random
r = random.Random(2)
d = bytearray(open("base.img", "rb").read())
for _ in range(12):
    p = r.randrange(len(d) - 70000)
    d[p:p + 4096] = r.randbytes(4096)
d[1000000:1000000] = r.randbytes(50000)
open("new.img", "wb").write(bytes(d))
PY

# swu OUT FILE...: a .swu (cpio, crc format, sw-description first).
swu() {
        local out=$1
        shift
        printf '%s\n' "$@" | cpio -o -H crc >"$out" 2>/dev/null
}
# run_swupdate SWU: install it as a device would. SWUpdate checks the signer
# against the certificates of its -k file alone (not those in the signature),
# so the device's file holds the root and the intermediate. Its verdict is
# its own "SWUPDATE successful" line: Debian's swupdate 2022.12 in -i mode
# now and then exits 1 after a successful install, with a log identical to
# a run that exits 0 (seen here 1 time in 6 under load), so the exit status
# is not used.
run_swupdate() {
        swupdate -l 3 -k "$P/ca-chain.pem" --cert-purpose codeSigning -H cadu-test:1.0 -i "$1" >sw.log 2>&1 || true
        grep -q "SWUPDATE successful" sw.log && ! grep -q 'SWUpdate \*failed\*' sw.log
}

# 1+2: rdiff_image with a delta made by cadu, signed by cadu's signer.
"$CADU" rdiff signature base.img base.sig
"$CADU" rdiff delta base.sig new.img delta.rdiff
: >target.img
cat >sw-description <<EOF
software =
{
	version = "2.0.0";
	hardware-compatibility: [ "1.0" ];
	images: (
		{
			filename = "delta.rdiff";
			type = "rdiff_image";
			sha256 = "$(sha256sum delta.rdiff | cut -d' ' -f1)";
			device = "$T/target.img";
			properties: {
				rdiffbase = ["$T/base.img"];
			};
		}
	);
}
EOF
"$CADU" -q sign --raw --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" sw-description sw-description.sig
# The signature is exactly what openssl's own verifier accepts, too.
openssl cms -verify -binary -inform DER -in sw-description.sig -content sw-description \
        -CAfile "$P/ca.pem" -purpose any -out /dev/null 2>/dev/null \
        || fail "openssl cms does not verify cadu's signature"
swu rdiff.swu sw-description sw-description.sig delta.rdiff
run_swupdate rdiff.swu || fail "swupdate refused cadu's .swu: $(grep ERROR sw.log | head -3; tail -5 sw.log)"
cmp -s target.img new.img || fail "rdiff_image target differs from the new image"

# An untrusted signer is refused by swupdate (the check above is real).
: >target.img
openssl cms -sign -binary -outform DER -nosmimecap -in sw-description -out bad.sig \
        -signer "$P/intruder.pem" -inkey "$P/intruder.key" -certfile "$P/other.pem"
cp bad.sig sw-description.sig
swu bad.swu sw-description sw-description.sig delta.rdiff
if run_swupdate bad.swu; then fail "swupdate accepted an untrusted signer"; fi
[ ! -s target.img ] || fail "an untrusted .swu wrote the target"

# 3: the chunk-based update from SWUpdate. The running image is the seed;
# only chunks it lacks come from the store.
mkdir store
"$CADU" -q make --store store base.img base.caibx
"$CADU" -q make --store store new.img new.caibx
: >target.img
mkdir -p device
cat >cadu-update.sh <<EOF
#!/bin/sh
# SWUpdate runs shellscripts with "preinst" before and "postinst" after the
# images; the index has been written by then.
set -e
[ "\$1" = postinst ] || exit 0
exec "$CADU" -q extract --store "$T/store" --seed "$T/base.img:$T/base.caibx" \\
        "$T/device/update.caibx" "$T/target.img"
EOF
cp new.caibx update.caibx
cat >sw-description <<EOF
software =
{
	version = "2.0.0";
	hardware-compatibility: [ "1.0" ];
	files: (
		{
			filename = "update.caibx";
			path = "$T/device/update.caibx";
			sha256 = "$(sha256sum update.caibx | cut -d' ' -f1)";
		}
	);
	scripts: (
		{
			filename = "cadu-update.sh";
			type = "shellscript";
			sha256 = "$(sha256sum cadu-update.sh | cut -d' ' -f1)";
		}
	);
}
EOF
"$CADU" -q sign --raw --key "$P/signer.key" --cert "$P/signer.pem" --chain "$P/int.pem" sw-description sw-description.sig
swu chunks.swu sw-description sw-description.sig update.caibx cadu-update.sh
run_swupdate chunks.swu || fail "swupdate with cadu extract failed: $(grep ERROR sw.log | head -3; tail -5 sw.log)"
cmp -s target.img new.img || fail "chunk-based target differs from the new image"
echo "ok: rdiff_image, signatures and chunk-based extract through swupdate"
