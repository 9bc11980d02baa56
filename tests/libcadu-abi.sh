#!/bin/sh
# libcadu's ABI is exactly its public header: the shared library exports
# the functions include/cadu/cadu.h declares, each under the version node
# debian/libcadu0.symbols records (LIBCADU_0, LIBCADU_0.1), and nothing else; its SONAME is libcadu.so.0; the header
# compiles alone as C and C++; cadu.pc names the library.
. "$top_srcdir/tests/lib.sh"
need nm readelf
so=$top_builddir/lib/.libs/libcadu.so.0
[ -f "$so" ] || fail "no $so"
cd "$T"
hdr=$top_srcdir/include/cadu/cadu.h
# Declared: every "cadu_name(" that starts a declaration line.
sed -n 's/^[a-z].*[ *]\(cadu_[a-z0-9_]*\)(.*/\1/p' "$hdr" | sort -u > declared
[ "$(wc -l < declared)" -ge 20 ] || fail "could not read the declarations of $hdr"
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | grep -v '^LIBCADU_0[.0-9]*$' > exported.v
grep -v '@@LIBCADU_0[.0-9]*$' exported.v > unversioned || true
[ ! -s unversioned ] || fail "exported outside LIBCADU_0*: $(head -n 5 unversioned)"
sed 's/@@LIBCADU_0[.0-9]*$//' exported.v | sort -u > exported
diff declared exported > d || fail "header (<) and exports (>) differ: $(cat d)"
# The version script lists the same.
sed -n 's/^ *\(cadu_[a-z0-9_]*\);$/\1/p' "$top_srcdir/lib/libcadu.sym" | sort -u > script
diff declared script > d || fail "header (<) and lib/libcadu.sym (>) differ: $(cat d)"
# Each in the node debian/libcadu0.symbols records for it. The library is
# linked with lib/libcadu.sym, so only a list kept apart from the script
# catches a function moved to another node (an ABI break).
sed -n 's/^ \(cadu_[a-z0-9_]*\)@\(LIBCADU_[0-9.]*\) .*/\1@@\2/p' "$top_srcdir/debian/libcadu0.symbols" | sort > recorded
sort exported.v > exported.vs
diff recorded exported.vs > d || fail "version nodes of debian/libcadu0.symbols (<) and the library (>) differ: $(cat d)"
readelf -d "$so" | grep -q 'Library soname: \[libcadu.so.0\]' || fail "SONAME is not libcadu.so.0"
# Self-contained, C and C++.
printf '#include <cadu/cadu.h>\nint main(void) { return cadu_library_version() == 0; }\n' > h.c
${CC:-cc} -std=c99 -Wall -Werror -pedantic -fsyntax-only -I"$top_srcdir/include" h.c || fail "cadu.h does not compile alone as C99"
if have c++; then
        c++ -x c++ -Wall -Werror -fsyntax-only -I"$top_srcdir/include" h.c || fail "cadu.h does not compile as C++"
fi
grep -q '^Libs: .*-lcadu' "$top_builddir/lib/cadu.pc" || fail "cadu.pc does not link -lcadu"
grep -q '^Cflags: -I${includedir}$' "$top_builddir/lib/cadu.pc" || fail "cadu.pc: Cflags"
exit 0
