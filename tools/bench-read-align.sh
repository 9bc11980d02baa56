#!/bin/sh
# How fast read() fills a buffer depending on where the buffer starts: the
# reason cadu reads into 64-byte-aligned buffers (cadu_malloc_io). On AMD
# Zen 3 the kernel's copy to user memory (rep movsb) is 2-3x slower when the
# buffer starts a few bytes past a cache line - where glibc's large malloc()
# puts it (page + 16).
#
# usage: tools/bench-read-align.sh [FILE]   (default: a 1 GiB file on tmpfs)
# Reads FILE 2 times in 1 MiB pread()s per buffer offset, from the page cache.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=${1:-}
if [ -z "$file" ]; then
        file=/dev/shm/cadu-bench-read-align
        [ -f "$file" ] || head -c $((1 << 30)) /dev/urandom >"$file"
fi
cat >"$dir/ra.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
        const size_t bs = 1 << 20;
        char *b = aligned_alloc(4096, bs + 4096);
        int fd = open(argv[1], O_RDONLY);
        if (!b || fd < 0) { perror(argv[1]); return 1; }
        memset(b, 0, bs + 4096);
        static const int offs[] = { 0, 8, 16, 24, 32, 48, 64 };
        for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
                double best = 1e9;
                for (int run = 0; run < 3; run++) {
                        double s = now();
                        for (int pass = 0; pass < 2; pass++)
                                for (off_t o = 0;; o += bs)
                                        if (pread(fd, b + offs[k], bs, o) <= 0)
                                                break;
                        double t = now() - s;
                        if (t < best) best = t;
                }
                printf("buffer at 64*k + %2d: %.3f s\n", offs[k] % 64, best);
        }
        return 0;
}
C
cc -O2 -o "$dir/ra" "$dir/ra.c"
cat "$file" >/dev/null   # into the page cache
"$dir/ra" "$file"
