# Helpers for the manifest tests: a test PKI made with the real openssl and
# small releases made with cadu itself. Source after tests/lib.sh.
need openssl python3

P=$T/pki
mkdir -p "$P"

# data SEED SIZE OUT: deterministic pseudo-random bytes.
data() {
        python3 -c 'import random, sys
random.seed(int(sys.argv[1]))
sys.stdout.buffer.write(random.randbytes(int(sys.argv[2])))' "$1" "$2" >"$3"
}

# key NAME: an EC P-256 key $P/NAME.key.
key() {
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$1.key" 2>/dev/null
}

# root NAME CN: a self-signed CA certificate $P/NAME.pem.
root() {
        key "$1"
        openssl req -x509 -new -key "$P/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$P/$1.pem" 2>/dev/null
}

# cert NAME CN ISSUER EXTENSIONS...: $P/NAME.pem issued by $P/ISSUER.pem,
# with one extension per argument (openssl x509v3_config lines).
cert() {
        local name=$1 cn=$2 issuer=$3
        shift 3
        key "$name"
        : >"$P/$name.ext"
        for e in "$@"; do echo "$e" >>"$P/$name.ext"; done
        openssl req -new -key "$P/$name.key" -subj "/CN=$cn" -out "$P/$name.csr" 2>/dev/null
        openssl x509 -req -in "$P/$name.csr" -CA "$P/$issuer.pem" -CAkey "$P/$issuer.key" \
                -set_serial "0x$(openssl rand -hex 8)" -days 365 -sha256 \
                -extfile "$P/$name.ext" -out "$P/$name.pem" 2>/dev/null
}

SIGNER_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning"

# The standard PKI: root -> intermediate -> signer (codeSigning, with a SAN).
make_pki() {
        root ca "cadu test root"
        cert int "cadu test intermediate" ca "basicConstraints=critical,CA:TRUE,pathlen:0" \
                "keyUsage=critical,keyCertSign,cRLSign"
        cert signer "release-signer" int "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature" "extendedKeyUsage=codeSigning" \
                "subjectAltName=DNS:release.example.com,email:release@example.com"
}

# release DIR VERSION [cadu manifest options...]: two images (rootfs, kernel)
# made into indexes and a shared store in DIR, and DIR/manifest.txt.
release() {
        local dir=$1 version=$2 seed
        shift 2
        mkdir -p "$dir"
        seed=$(echo "$version" | cksum | cut -d' ' -f1)
        data "$seed" 300000 "$dir/rootfs.img"
        data "$((seed + 1))" 70000 "$dir/kernel.img"
        "$CADU" -q make --store "$dir/store" --chunk-size 16K:32K:64K "$dir/rootfs.img" "$dir/rootfs.caibx"
        "$CADU" -q make --store "$dir/store" --chunk-size 16K:32K:64K "$dir/kernel.img" "$dir/kernel.caibx"
        "$CADU" -q manifest --compatible acme,board-v2 --version "$version" \
                --image "rootfs:rootfs:$dir/rootfs.img:$dir/rootfs.caibx:$dir/store" \
                --image "kernel:kernel:$dir/kernel.img:$dir/kernel.caibx" "$@" "$dir/manifest.txt"
}

# sign_cadu DIR [CERT [KEY]]: sign DIR/manifest.txt with cadu sign.
sign_cadu() {
        "$CADU" -q sign --key "$P/${3:-${2:-signer}}.key" --cert "$P/${2:-signer}.pem" --chain "$P/int.pem" \
                "$1/manifest.txt"
}

# sign_openssl FILE CERT [EXTRA...]: sign FILE into FILE.sig with openssl cms.
sign_openssl() {
        local file=$1 c=$2
        shift 2
        openssl cms -sign -binary -outform DER -nosmimecap -md sha256 -signer "$P/$c.pem" -inkey "$P/$c.key" \
                "$@" -in "$file" -out "$file.sig"
}

# verify FILE [options...]: cadu verify against the test root.
verify() {
        local file=$1
        shift
        "$CADU" verify --ca "$P/ca.pem" "$@" "$file"
}

# expired NAME CN ISSUER: a codeSigning certificate valid only during 2020,
# made with `openssl ca -startdate/-enddate` (OpenSSL 3.0 has no other way to
# back-date a certificate).
expired() {
        local name=$1 cn=$2 issuer=$3 db=$P/db-$1
        key "$name"
        mkdir -p "$db"
        : >"$db/index.txt"
        echo 01 >"$db/serial"
        cat >"$db/ca.cnf" <<EOC
[ca]
default_ca = tca
[tca]
database = $db/index.txt
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
[ext]
$SIGNER_EXT
EOC
        openssl req -new -key "$P/$name.key" -subj "/CN=$cn" -out "$P/$name.csr" 2>/dev/null
        openssl ca -batch -config "$db/ca.cnf" -cert "$P/$issuer.pem" -keyfile "$P/$issuer.key" \
                -in "$P/$name.csr" -out "$P/$name.pem" -startdate 20200101000000Z -enddate 20210101000000Z \
                -extensions ext -notext 2>/dev/null
}
