/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Standalone driver for the libFuzzer targets, so that `make check` replays
 * every corpus file and a fixed-seed set of mutations of it (bit flips,
 * truncations, extensions, byte splices) under the sanitizers. With clang,
 * tools/fuzz.sh builds the same targets against libFuzzer instead.
 *
 * usage: fuzz-X [-n MUTATIONS] FILE-OR-DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static int run_file(const char *path, unsigned mutations) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return 1;
        }
        size_t cap = 1 << 16, len = 0;
        uint8_t *buf = malloc(cap);
        size_t k;
        while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
                len += k;
                if (len == cap) {
                        uint8_t *nb = realloc(buf, cap *= 2);
                        if (!nb) { free(buf); buf = NULL; }
                        buf = nb;
                }
        }
        fclose(f);
        if (!buf)
                return 1;
        uint8_t *copy = malloc(len + 64);
        if (!copy) { free(buf); return 1; }
        /* The input as is, in its own allocation so overreads are caught. */
        memcpy(copy, buf, len);
        LLVMFuzzerTestOneInput(copy, len);
        for (unsigned m = 0; m < mutations; m++) {
                size_t n = len;
                memcpy(copy, buf, len);
                switch (next() % 5) {
                case 0: /* flip a few bits */
                        for (int i = 0; n && i < 1 + (int)(next() % 4); i++)
                                copy[next() % n] ^= (uint8_t)(1u << (next() % 8));
                        break;
                case 1: /* truncate */
                        n = n ? (size_t)(next() % n) : 0;
                        break;
                case 2: /* extend with random bytes */
                        for (int i = 0, e = 1 + (int)(next() % 63); i < e; i++)
                                copy[n++] = (uint8_t)next();
                        break;
                case 3: /* overwrite a byte with an interesting value */
                        if (n) {
                                static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xff };
                                copy[next() % n] = v[next() % sizeof(v)];
                        }
                        break;
                case 4: /* overwrite 8 bytes with 0xff or 0 (sizes, offsets) */
                        if (n >= 8) {
                                size_t at = next() % (n - 7);
                                memset(copy + at, (next() & 1) ? 0xff : 0, 8);
                        }
                        break;
                }
                uint8_t *exact = malloc(n ? n : 1);
                if (!exact) break;
                memcpy(exact, copy, n);
                LLVMFuzzerTestOneInput(exact, n);
                free(exact);
        }
        free(copy);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        unsigned mutations = 2000;
        int i = 1, r = 0, files = 0;
        if (i + 1 < argc && !strcmp(argv[i], "-n")) {
                mutations = (unsigned)strtoul(argv[i + 1], NULL, 10);
                i += 2;
        }
        for (; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        r |= run_file(argv[i], mutations);
                        files++;
                        continue;
                }
                DIR *d = opendir(argv[i]);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        char p[4096];
                        snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
                        r |= run_file(p, mutations);
                        files++;
                }
                if (d)
                        closedir(d);
        }
        printf("%d inputs, %u mutations each\n", files, mutations);
        return r || files == 0;
}
