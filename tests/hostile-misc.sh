#!/bin/sh
# Smaller defects of issue 18 (class 11): JSON output with file names that
# are not UTF-8, make writing over its own input, and messages that name
# the wrong thing.
. "$top_srcdir/tests/lib.sh"
need python3 timeout mkfifo
cd "$T"
gen_data mixed 300000 img
cp img img.orig
"$CADU" -q make --store st img img.caibx

# --json: a seed whose name is not UTF-8 (and has a quote, a control
# character and valid UTF-8 around); every line must be strict JSON.
bad=$(printf 'se\377e\300\257d"\001\303\251.img')
cp img "$bad"
"$CADU" extract --json --store st --seed "$bad" img.caibx out > json.out
cmp img out
python3 - json.out <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")              # strict: raises on any invalid byte
names = []
for line in text.splitlines():
    ev = json.loads(line)
    for s in ev.get("sources", []):
        if s.get("source") == "seed":
            names.append(s["location"])
want = "se\ufffde\ufffd\ufffdd\"\x01\u00e9.img"
if names != [want]:
    sys.exit(f"seed location {names!r}, want [{want!r}]")
PY

# make IMAGE IMAGE, directly or through links, must not replace the image.
expect_fail 2 "^cadu: index img is the image img itself \\(it would be overwritten\\)$" "$CADU" make img img
ln img hard
expect_fail 2 "^cadu: index hard is the image img itself" "$CADU" make img hard
ln -s img soft
expect_fail 2 "^cadu: index soft is the image img itself" "$CADU" make img soft
expect_fail 2 "^cadu: manifest img is the image img itself" \
        "$CADU" make --manifest img --compatible x --version 1 img other.caibx
cmp img img.orig || fail "make replaced its input image"
# What the image is, named as such.
expect_fail 1 "^cadu: cannot open image \\.: Is a directory$" "$CADU" make . x.caibx
mkfifo fifo
expect_fail 1 "^cadu: cannot open image fifo: not a regular file or block device$" timeout 20 "$CADU" make fifo x.caibx
[ ! -e x.caibx ] || fail "index written for a bad image"
