/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for libcadurdiff: hashes, weak sums, parameters, golden invalid
 * inputs, every delta opcode, and signature -> delta -> patch round trips. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cadu-rdiff.h"
#include "rdiff-private.h"

static const char *srcdir(void) {
        const char *s = getenv("top_srcdir");
        return s ? s : ".";
}

static void hex(const uint8_t *p, size_t n, char *out) {
        cadu_hex_encode(p, n, out);
}

/* xorshift for reproducible test data */
static uint64_t rng_state;
static uint8_t rnd8(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint8_t)(rng_state >> 24);
}
static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
        rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
        for (size_t i = 0; i < n; i++)
                p[i] = rnd8();
}

static int memfd_with(const void *data, size_t n) {
        int fd = memfd_create("rdiff-test", MFD_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        if (n)
                ck_assert_int_eq(cadu_write_full(fd, data, n), 0);
        ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* Whole content of fd (from offset 0). */
static uint8_t *fd_content(int fd, size_t *ret_len) {
        uint64_t size;
        ck_assert_int_eq(cadu_fd_size(fd, &size), 0);
        uint8_t *b = malloc(size + 1);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(cadu_pread_full(fd, b, size, 0), (ssize_t)size);
        *ret_len = size;
        return b;
}

START_TEST(md4_vectors) {
        static const struct { const char *in, *out; } v[] = {
                { "", "31d6cfe0d16ae931b73c59d7e0c089c0" },
                { "a", "bde52cb31de33e46245e05fbdbd6fb24" },
                { "abc", "a448017aaf21d8525fc10ae87aa6729d" },
                { "message digest", "d9130a8164549fe818874806e1c7014b" },
                { "abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9" },
                { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                  "043f8582f241db351ce627e153e7f0e4" },
                { "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                  "e33b4ddc9c38f2199c3e7b164fcc0536" },
        };
        for (size_t i = 0; i < CADU_ELEMENTSOF(v); i++) {
                uint8_t d[16];
                char h[33];
                rdiff_md4(v[i].in, strlen(v[i].in), d);
                hex(d, 16, h);
                ck_assert_str_eq(h, v[i].out);
        }
}
END_TEST

START_TEST(blake2b_vectors) {
        /* Python: hashlib.blake2b(bytes(i % 251 for i in range(n)), digest_size=32) */
        static const struct { size_t n; const char *out; } v[] = {
                { 0, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8" },
                { 1, "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314" },
                { 3, "3d8c3d594928271f44aad7a04b177154806867bcf918e1549c0bc16f9da2b09b" },
                { 127, "f2fe67ff342e21b8f45e8f2e0bcd1d9243245d50ee6c78042e9c491388791c72" },
                { 128, "c3582f71ebb2be66fa5dd750f80baae97554f3b015663c8be377cfcb2488c1d1" },
                { 129, "f7f3c46ba2564ff4c4c162da1f5b605f9f1c4aa6a20652a9f9a337c1a2f5b9c9" },
                { 255, "d9ef0fc521b4266d16df662bec231bc2ec3989e7adeaf63169c295dc239dbbea" },
                { 256, "582f782226018ec33076bd8d1c42413530ac7e1126260ffc0f306ba3befc3f24" },
                { 1000, "b372d0608f720c8c3dd41e9c8eecb10143b41abe520b616607e754bf79c08331" },
        };
        uint8_t buf[1000];
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (uint8_t)(i % 251);
        for (size_t i = 0; i < CADU_ELEMENTSOF(v); i++) {
                uint8_t d[32];
                char h[65];
                rdiff_blake2b256(buf, v[i].n, d);
                hex(d, 32, h);
                ck_assert_msg(!strcmp(h, v[i].out), "n=%zu: %s", v[i].n, h);
        }
        uint8_t d[32];
        char h[65];
        rdiff_blake2b256("abc", 3, d);
        hex(d, 32, h);
        ck_assert_str_eq(h, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}
END_TEST

/* The four-at-once BLAKE2b (SIMD where available) equals the one-at-a-time
 * version for every length around the 128-byte block size. */
START_TEST(blake2b_x4_matches) {
        uint8_t buf[4][700];
        fill_random(&buf[0][0], sizeof(buf), 7);
        for (size_t n = 0; n <= 700; n += (n < 300 ? 1 : 37)) {
                const uint8_t *d[4] = { buf[0], buf[1], buf[2], buf[3] };
                uint8_t out[4][32], one[32];
                rdiff_blake2b256_x4(d, n, out);
                for (int k = 0; k < 4; k++) {
                        rdiff_blake2b256(buf[k], n, one);
                        ck_assert_msg(!memcmp(one, out[k], 32), "n=%zu lane %d", n, k);
                }
        }
}
END_TEST

START_TEST(rabinkarp_inverse) {
        ck_assert_uint_eq((uint32_t)(RDIFF_RK_MULT * rdiff_rk_inv), 1);
        ck_assert_uint_eq(rdiff_rk_pow(0), 1);
        ck_assert_uint_eq(rdiff_rk_pow(1), RDIFF_RK_MULT);
        ck_assert_uint_eq(rdiff_rk_pow(3), (uint32_t)(RDIFF_RK_MULT * RDIFF_RK_MULT * RDIFF_RK_MULT));
}
END_TEST

/* Slow, obviously right definitions. */
static uint32_t rk_slow(const uint8_t *p, size_t n) {
        uint32_t h = 1;
        for (size_t i = 0; i < n; i++)
                h = h * RDIFF_RK_MULT + p[i];
        return h;
}
static uint32_t rs_slow(const uint8_t *p, size_t n) {
        uint16_t s1 = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
                s1 = (uint16_t)(s1 + p[i] + 31);
                s2 = (uint16_t)(s2 + s1);
        }
        return (uint32_t)s2 << 16 | s1;
}

/* Rolling and shrinking windows agree with a fresh sum at every offset. */
START_TEST(weak_rolling) {
        uint8_t buf[3000];
        fill_random(buf, sizeof(buf), 3);
        for (int rk = 0; rk < 2; rk++) {
                uint32_t (*slow)(const uint8_t *, size_t) = rk ? rk_slow : rs_slow;
                for (size_t n = 0; n < 300; n += 1 + n / 8) {
                        uint32_t fast = rk ? rdiff_rabinkarp(buf, n) : rdiff_rollsum(buf, n);
                        ck_assert_uint_eq(fast, slow(buf, n));
                }
                const size_t win = 257;
                rdiff_weak w;
                rdiff_weak_init(&w, rk, buf, win);
                for (size_t p = 0; p + win < sizeof(buf); p++) {
                        ck_assert_msg(rdiff_weak_digest(&w) == slow(buf + p, win), "rk=%d p=%zu", rk, p);
                        rdiff_weak_rotate(&w, buf[p], buf[p + win]);
                }
                /* shrink the window at the front down to nothing */
                size_t p = sizeof(buf) - win;
                rdiff_weak_init(&w, rk, buf + p, win);
                for (; p < sizeof(buf); p++) {
                        ck_assert_msg(rdiff_weak_digest(&w) == slow(buf + p, sizeof(buf) - p), "rk=%d tail %zu", rk, p);
                        rdiff_weak_rollout(&w, buf[p]);
                }
                ck_assert_uint_eq(w.count, 0);
        }
}
END_TEST

/* rdiff 2.3.2's choices (measured with the real rdiff). */
START_TEST(sig_params) {
        static const struct { uint64_t size; uint32_t block; int strong; uint32_t want_block, want_strong; } v[] = {
                { 0, 0, 0, 256, 32 },
                { 1, 0, 0, 256, 32 },
                { 65536, 0, 0, 256, 32 },
                { 65537, 0, 0, 256, 32 },
                { 100000, 0, 0, 256, 32 },
                { 1000000, 0, 0, 896, 32 },
                { 16777216, 0, 0, 4096, 32 },
                { 100000000, 0, 0, 9984, 32 },
                { 1ull << 40, 0, 0, 1u << 20, 32 },
                { CADU_RDIFF_SIZE_UNKNOWN, 0, 0, 2048, 32 },
                { 0, 0, -1, 256, 5 },
                { 1000, 0, -1, 256, 6 },
                { 65536, 0, -1, 256, 6 },
                { 1000000, 0, -1, 896, 7 },
                { 1000000, 256, -1, 256, 7 },
                { 16777216, 256, -1, 256, 8 },
                { 1000000000, 0, -1, 31616, 8 },
                { 1ull << 40, 0, -1, 1u << 20, 10 },
                { 1ull << 40, 256, -1, 256, 11 },
                { CADU_RDIFF_SIZE_UNKNOWN, 0, -1, 2048, 12 },
                { 1000, 1000, 8, 1000, 8 },
        };
        for (size_t i = 0; i < CADU_ELEMENTSOF(v); i++) {
                cadu_rdiff_sig_params p;
                ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, v[i].size,
                                                            v[i].block, v[i].strong, NULL), 0);
                ck_assert_msg(p.block_len == v[i].want_block && p.strong_len == v[i].want_strong,
                              "case %zu: %u/%u", i, p.block_len, p.strong_len);
        }
        cadu_rdiff_sig_params p;
        bool weak;
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_MD4_SIG_MAGIC, 1000, 0, 0, NULL), 0);
        ck_assert_uint_eq(p.strong_len, 16);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, 1000, 0, 33, NULL), -EINVAL);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_MD4_SIG_MAGIC, 1000, 0, 17, NULL), -EINVAL);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_MD4_SIG_MAGIC, 1000, 0, -2, NULL), -EINVAL);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_DELTA_MAGIC, 1000, 0, 0, NULL), -EINVAL);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_MD4_SIG_MAGIC, 1000,
                                                    CADU_RDIFF_MAX_BLOCK_LEN + 1, 0, NULL), -EINVAL);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, 1000, 0, 4, &weak), 0);
        ck_assert(weak);
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, 1000, 0, 6, &weak), 0);
        ck_assert(!weak);
        ck_assert_uint_eq(cadu_rdiff_sig_magic(true, true), 0x72730147);
        ck_assert_uint_eq(cadu_rdiff_sig_magic(false, true), 0x72730146);
        ck_assert_uint_eq(cadu_rdiff_sig_magic(true, false), 0x72730137);
        ck_assert_uint_eq(cadu_rdiff_sig_magic(false, false), 0x72730136);
}
END_TEST

/* Every golden invalid signature and delta is rejected with its own reason
 * and a delta leaves no output behind when fed whole or byte by byte. */
START_TEST(golden_invalid) {
        char path[4096], line[512];
        snprintf(path, sizeof(path), "%s/tests/rdiff-invalid/basis.bin", srcdir());
        int bfd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(bfd, 0);
        snprintf(path, sizeof(path), "%s/tests/rdiff-invalid/EXPECTED", srcdir());
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "%s", path);
        int nsig = 0, ndelta = 0;
        while (fgets(line, sizeof(line), f)) {
                char *tab = strchr(line, '\t');
                ck_assert_ptr_nonnull(tab);
                *tab = 0;
                char *want = tab + 1;
                want[strcspn(want, "\n")] = 0;
                snprintf(path, sizeof(path), "%s/tests/rdiff-invalid/%s", srcdir(), line);
                uint8_t *data;
                size_t len;
                ck_assert_int_eq(cadu_read_file(path, 1 << 20, &data, &len), 0);
                cadu_rdiff_stats st;
                if (strstr(line, ".sig")) {
                        cadu_rdiff_sig *s = NULL;
                        ck_assert_int_eq(cadu_rdiff_sig_load_mem(data, len, &s, &st), -EBADMSG);
                        ck_assert_ptr_null(s);
                        ck_assert_msg(!strcmp(st.reason, want), "%s: got '%s', want '%s'", line, st.reason, want);
                        nsig++;
                } else {
                        for (int bytewise = 0; bytewise < 2; bytewise++) {
                                int out = memfd_with(NULL, 0), dfd = memfd_with(data, len);
                                int r;
                                if (!bytewise)
                                        r = cadu_rdiff_patch_fd(bfd, 1000, dfd, out, NULL, NULL, &st);
                                else {
                                        cadu_rdiff_patch *p;
                                        ck_assert_int_eq(cadu_rdiff_patch_new(bfd, 1000, out, NULL, &st, &p), 0);
                                        r = 0;
                                        for (size_t i = 0; i < len && r == 0; i++)
                                                r = cadu_rdiff_patch_feed(p, data + i, 1);
                                        if (r == 0)
                                                r = cadu_rdiff_patch_finish(p);
                                        cadu_rdiff_patch_free(p);
                                }
                                ck_assert_msg(r == -EBADMSG, "%s: r=%d", line, r);
                                ck_assert_msg(!strcmp(st.reason, want), "%s (bytewise %d): got '%s', want '%s'",
                                              line, bytewise, st.reason, want);
                                close(out);
                                close(dfd);
                        }
                        ndelta++;
                }
                free(data);
        }
        fclose(f);
        close(bfd);
        ck_assert_int_ge(nsig, 10);
        ck_assert_int_ge(ndelta, 17);
}
END_TEST

/* Build a delta by hand. */
typedef struct dbuf {
        uint8_t d[1 << 16];
        size_t n;
} dbuf;
static void put(dbuf *b, uint64_t v, unsigned w) {
        rdiff_put_be(b->d + b->n, v, w);
        b->n += w;
}
static void put_literal(dbuf *b, unsigned op, const uint8_t *data, uint64_t len) {
        b->d[b->n++] = (uint8_t)op;
        if (op >= 0x41)
                put(b, len, 1u << (op - 0x41));
        memcpy(b->d + b->n, data, len);
        b->n += len;
}
static void put_copy(dbuf *b, unsigned wo, unsigned wl, uint64_t off, uint64_t len) {
        b->d[b->n++] = (uint8_t)(0x45 + 4 * __builtin_ctz(wo) + __builtin_ctz(wl));
        put(b, off, wo);
        put(b, len, wl);
}

/* Every literal and copy opcode with every width, backward and
 * overlapping copies, applied whole and in random pieces. */
START_TEST(patch_all_opcodes) {
        uint8_t basis[70000];
        fill_random(basis, sizeof(basis), 11);
        int bfd = memfd_with(basis, sizeof(basis));
        static dbuf b;
        static uint8_t want[1 << 18];
        size_t wn = 0;
        b.n = 0;
        put(&b, CADU_RDIFF_DELTA_MAGIC, 4);
        uint8_t lit[300];
        fill_random(lit, sizeof(lit), 12);
        for (unsigned op = 1; op <= 0x40; op++) {
                put_literal(&b, op, lit, op);
                memcpy(want + wn, lit, op);
                wn += op;
        }
        for (unsigned op = 0x41; op <= 0x44; op++) {
                uint64_t len = 100 + op;
                put_literal(&b, op, lit, len);
                memcpy(want + wn, lit, len);
                wn += len;
        }
        /* copies: offsets that need the width (where the basis allows),
         * going backwards and overlapping each other */
        uint64_t offs[] = { 200, 60000, 65000, 66000 };
        for (unsigned wo = 1; wo <= 8; wo *= 2)
                for (unsigned wl = 1; wl <= 8; wl *= 2) {
                        uint64_t off = offs[__builtin_ctz(wo)] - wl * 13, len = 5 + wl * 7 + wo;
                        if (off + len > sizeof(basis))
                                off = sizeof(basis) - len;
                        put_copy(&b, wo, wl, off, len);
                        memcpy(want + wn, basis + off, len);
                        wn += len;
                }
        /* backwards, overlapping, adjacent (merged by the patcher) */
        uint64_t seq[][2] = { { 5000, 300 }, { 4900, 300 }, { 4950, 1000 }, { 5950, 10 }, { 0, 1 },
                              { 69999, 1 }, { 0, 70000 } };
        for (size_t i = 0; i < CADU_ELEMENTSOF(seq); i++) {
                put_copy(&b, 4, 4, seq[i][0], seq[i][1]);
                memcpy(want + wn, basis + seq[i][0], seq[i][1]);
                wn += seq[i][1];
        }
        b.d[b.n++] = 0; /* END */

        for (int mode = 0; mode < 3; mode++) {
                int out = memfd_with(NULL, 0);
                cadu_rdiff_stats st;
                cadu_digest_ctx *h = cadu_digest_new(CADU_DIGEST_SHA256);
                cadu_rdiff_patch *p;
                ck_assert_int_eq(cadu_rdiff_patch_new(bfd, sizeof(basis), out, h, &st, &p), 0);
                if (mode == 0)
                        ck_assert_int_eq(cadu_rdiff_patch_feed(p, b.d, b.n), 0);
                else {
                        rng_state = 99 + (uint64_t)mode;
                        for (size_t i = 0; i < b.n;) {
                                size_t piece = mode == 1 ? 1 : 1 + rnd8() % 40;
                                size_t k = CADU_MIN(b.n - i, piece);
                                int fr = cadu_rdiff_patch_feed(p, b.d + i, k);
                                ck_assert_msg(fr == 0, "mode %d at %zu: %d %s", mode, i, fr, st.reason);
                                i += k;
                        }
                }
                ck_assert_int_eq(cadu_rdiff_patch_finish(p), 0);
                cadu_rdiff_patch_free(p);
                size_t n;
                uint8_t *got = fd_content(out, &n);
                ck_assert_uint_eq(n, wn);
                ck_assert(!memcmp(got, want, wn));
                ck_assert_uint_eq(st.out_bytes, wn);
                ck_assert_uint_eq(st.in_bytes, b.n);
                uint8_t d1[32], d2[32];
                ck_assert_int_eq(cadu_digest_final(h, d1), 0);
                ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, want, wn, d2), 0);
                ck_assert(!memcmp(d1, d2, 32));
                cadu_digest_free(h);
                free(got);
                close(out);
        }
        close(bfd);
}
END_TEST

/* Large copies between real files go through copy_file_range() and are
 * hashed from the basis; the result and its digest are still right. */
START_TEST(patch_kernel_copy) {
        size_t n = 3 << 20;
        uint8_t *basis = malloc(n);
        fill_random(basis, n, 21);
        char bpath[] = "/tmp/rdiff-unit-basis.XXXXXX", opath[] = "/tmp/rdiff-unit-out.XXXXXX";
        int bfd = mkstemp(bpath), out = mkstemp(opath);
        ck_assert_int_ge(bfd, 0);
        ck_assert_int_ge(out, 0);
        unlink(bpath);
        unlink(opath);
        ck_assert_int_eq(cadu_write_full(bfd, basis, n), 0);
        static dbuf b;
        b.n = 0;
        put(&b, CADU_RDIFF_DELTA_MAGIC, 4);
        put_copy(&b, 4, 4, 1 << 20, 2 << 20);
        put_literal(&b, 3, (const uint8_t *)"abc", 3);
        put_copy(&b, 1, 4, 0, 1 << 20);
        b.d[b.n++] = 0;
        cadu_digest_ctx *h = cadu_digest_new(CADU_DIGEST_SHA256);
        int dfd = memfd_with(b.d, b.n);
        ck_assert_int_eq(cadu_rdiff_patch_fd(bfd, n, dfd, out, h, NULL, NULL), 0);
        size_t got_n;
        uint8_t *got = fd_content(out, &got_n);
        ck_assert_uint_eq(got_n, n + 3);
        ck_assert(!memcmp(got, basis + (1 << 20), 2 << 20));
        ck_assert(!memcmp(got + (2 << 20), "abc", 3));
        ck_assert(!memcmp(got + (2 << 20) + 3, basis, 1 << 20));
        uint8_t d1[32], d2[32];
        ck_assert_int_eq(cadu_digest_final(h, d1), 0);
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, got, got_n, d2), 0);
        ck_assert(!memcmp(d1, d2, 32));
        cadu_digest_free(h);
        free(got);
        free(basis);
        close(bfd);
        close(out);
        close(dfd);
}
END_TEST

/* A basis with a hole, patched into a fresh file (sparse: holes stay holes,
 * zero blocks become holes), a file opened O_APPEND (never sparse), and a
 * pipe (splice): the same bytes and digest every time. */
START_TEST(patch_sparse_append_pipe) {
        const size_t n = 4 << 20;
        char bpath[] = "/tmp/rdiff-unit-hole.XXXXXX";
        int bfd = mkstemp(bpath);
        ck_assert_int_ge(bfd, 0);
        unlink(bpath);
        uint8_t *data = malloc(1 << 20);
        fill_random(data, 1 << 20, 41);
        /* [0, 1M) data, [1M, 3M) hole, [3M, 4M) data */
        ck_assert_int_eq(cadu_pwrite_full(bfd, data, 1 << 20, 0), 0);
        ck_assert_int_eq(cadu_pwrite_full(bfd, data, 1 << 20, 3 << 20), 0);
        ck_assert_int_eq(ftruncate(bfd, (off_t)n), 0);
        uint8_t *basis = calloc(1, n);
        memcpy(basis, data, 1 << 20);
        memcpy(basis + (3 << 20), data, 1 << 20);

        static dbuf b;
        static uint8_t want[12 << 20];
        size_t wn = 0;
        b.n = 0;
        put(&b, CADU_RDIFF_DELTA_MAGIC, 4);
        uint64_t copies[][2] = { { 0, n }, { 1 << 20, 100000 }, { 2 << 20, 32768 }, { 2 << 20, 32768 },
                                 { (1 << 20) - 5000, 20000 }, { 4096, 4096 } };
        for (size_t i = 0; i < CADU_ELEMENTSOF(copies); i++) {
                put_copy(&b, 4, 4, copies[i][0], copies[i][1]);
                memcpy(want + wn, basis + copies[i][0], copies[i][1]);
                wn += copies[i][1];
                uint8_t z[10000] = { 0 };
                put_literal(&b, 0x42, z, sizeof(z)); /* zero literal: a hole too */
                memcpy(want + wn, z, sizeof(z));
                wn += sizeof(z);
        }
        put_copy(&b, 4, 4, 2 << 20, 1 << 20); /* ends in a hole */
        memset(want + wn, 0, 1 << 20);
        wn += 1 << 20;
        b.d[b.n++] = 0;
        uint8_t digest[32];
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, want, wn, digest), 0);

        for (int mode = 0; mode < 3; mode++) {
                char opath[] = "/tmp/rdiff-unit-out.XXXXXX";
                int out = -1, fds[2] = { -1, -1 };
                pid_t pid = -1;
                if (mode < 2) {
                        out = mkstemp(opath);
                        ck_assert_int_ge(out, 0);
                        if (mode == 1) {
                                close(out);
                                out = open(opath, O_WRONLY | O_APPEND | O_CLOEXEC);
                                ck_assert_int_ge(out, 0);
                        }
                } else {
                        /* a child reads the pipe into a file */
                        ck_assert_int_eq(pipe(fds), 0);
                        int f = mkstemp(opath);
                        ck_assert_int_ge(f, 0);
                        pid = fork();
                        ck_assert_int_ge(pid, 0);
                        if (pid == 0) {
                                close(fds[1]);
                                uint8_t buf[65536];
                                ssize_t k;
                                while ((k = read(fds[0], buf, sizeof(buf))) > 0)
                                        if (cadu_write_full(f, buf, (size_t)k) < 0)
                                                _exit(1);
                                _exit(k < 0);
                        }
                        close(fds[0]);
                        close(f);
                        out = fds[1];
                }
                cadu_digest_ctx *h = cadu_digest_new(CADU_DIGEST_SHA256);
                int dfd = memfd_with(b.d, b.n);
                cadu_rdiff_stats st;
                int r = cadu_rdiff_patch_fd(bfd, n, dfd, out, h, NULL, &st);
                ck_assert_msg(r == 0, "mode %d: %d %s", mode, r, st.reason);
                close(dfd);
                close(out);
                if (pid > 0) {
                        int status;
                        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                }
                uint8_t d[32];
                ck_assert_int_eq(cadu_digest_final(h, d), 0);
                ck_assert_msg(!memcmp(d, digest, 32), "mode %d: digest", mode);
                cadu_digest_free(h);
                int rfd = open(opath, O_RDONLY | O_CLOEXEC);
                ck_assert_int_ge(rfd, 0);
                size_t got_n;
                uint8_t *got = fd_content(rfd, &got_n);
                ck_assert_msg(got_n == wn, "mode %d: %zu bytes, want %zu", mode, got_n, wn);
                ck_assert_msg(!memcmp(got, want, wn), "mode %d: content", mode);
                struct stat sb;
                ck_assert_int_eq(fstat(rfd, &sb), 0);
                if (mode == 0) /* holes stayed holes: far less than the size is allocated */
                        ck_assert_msg((uint64_t)sb.st_blocks * 512 < wn / 2, "not sparse: %lld blocks",
                                      (long long)sb.st_blocks);
                free(got);
                close(rfd);
                unlink(opath);
        }
        free(basis);
        free(data);
        close(bfd);
}
END_TEST

/* new = basis with a few edits, deterministic */
static size_t mutate(const uint8_t *in, size_t n, uint8_t *out, uint64_t seed) {
        rng_state = seed + 5;
        size_t o = 0, i = 0;
        while (i < n) {
                unsigned r = rnd8();
                size_t run = (size_t)(rnd8() | rnd8() << 8) % 20000 + 1;
                run = CADU_MIN(run, n - i);
                if (r < 200) { /* keep */
                        memcpy(out + o, in + i, run);
                        o += run;
                        i += run;
                } else if (r < 220) { /* replace a little */
                        size_t k = 1 + rnd8();
                        k = CADU_MIN(run, k);
                        for (size_t q = 0; q < k; q++)
                                out[o++] = rnd8();
                        i += k;
                } else if (r < 240) { /* insert */
                        for (size_t q = 0, k = 1 + rnd8(); q < k; q++)
                                out[o++] = rnd8();
                } else { /* delete */
                        size_t k = 1 + rnd8();
                        i += CADU_MIN(run, k);
                }
        }
        return o;
}

static void roundtrip(const uint8_t *basis, size_t bn, const uint8_t *nw, size_t nn, uint32_t magic,
                      uint32_t block_len, int strong_len, size_t *ret_delta_len) {
        int bfd = memfd_with(basis, bn);
        cadu_rdiff_sig_params p;
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, magic, bn, block_len, strong_len, NULL), 0);
        /* signature: same bytes with 1 and 3 threads, mapped or read */
        uint8_t *sigs[2];
        size_t sign[2];
        for (int t = 0; t < 2; t++) {
                int sfd = memfd_with(NULL, 0);
                cadu_rdiff_opts o = { .threads = t ? 3 : 1 };
                ck_assert_int_eq(lseek(bfd, 0, SEEK_SET), 0);
                if (t)
                        setenv("CADU_RDIFF_NO_MMAP", "1", 1);
                cadu_rdiff_stats st;
                ck_assert_int_eq(cadu_rdiff_signature_fd(bfd, sfd, &p, &o, &st), 0);
                unsetenv("CADU_RDIFF_NO_MMAP");
                sigs[t] = fd_content(sfd, &sign[t]);
                ck_assert_uint_eq(sign[t], 12 + (bn + p.block_len - 1) / p.block_len * (4 + p.strong_len));
                ck_assert_uint_eq(st.in_bytes, bn);
                close(sfd);
        }
        ck_assert_uint_eq(sign[0], sign[1]);
        ck_assert(!memcmp(sigs[0], sigs[1], sign[0]));
        cadu_rdiff_sig *s;
        ck_assert_int_eq(cadu_rdiff_sig_load_mem(sigs[0], sign[0], &s, NULL), 0);
        free(sigs[0]);
        free(sigs[1]);

        /* delta: identical with 1, 2 and 5 threads, mapped or read */
        int nfd = memfd_with(nw, nn);
        uint8_t *deltas[3];
        size_t deltan[3];
        for (int t = 0; t < 3; t++) {
                int dfd = memfd_with(NULL, 0);
                cadu_rdiff_opts o = { .threads = t == 0 ? 1 : t == 1 ? 2 : 5 };
                ck_assert_int_eq(lseek(nfd, 0, SEEK_SET), 0);
                if (t == 2)
                        setenv("CADU_RDIFF_NO_MMAP", "1", 1);
                ck_assert_int_eq(cadu_rdiff_delta_fd(s, nfd, dfd, &o, NULL), 0);
                unsetenv("CADU_RDIFF_NO_MMAP");
                deltas[t] = fd_content(dfd, &deltan[t]);
                close(dfd);
        }
        for (int t = 1; t < 3; t++) {
                ck_assert_uint_eq(deltan[0], deltan[t]);
                ck_assert(!memcmp(deltas[0], deltas[t], deltan[0]));
        }
        cadu_rdiff_sig_free(s);

        /* patch */
        int dfd = memfd_with(deltas[0], deltan[0]), out = memfd_with(NULL, 0);
        cadu_rdiff_stats st;
        int r = cadu_rdiff_patch_fd(bfd, bn, dfd, out, NULL, NULL, &st);
        ck_assert_msg(r == 0, "patch: %d %s", r, st.reason);
        size_t got_n;
        uint8_t *got = fd_content(out, &got_n);
        ck_assert_uint_eq(got_n, nn);
        ck_assert(nn == 0 || !memcmp(got, nw, nn));
        if (ret_delta_len)
                *ret_delta_len = deltan[0];
        free(got);
        for (int t = 0; t < 3; t++)
                free(deltas[t]);
        close(dfd);
        close(out);
        close(nfd);
        close(bfd);
}

START_TEST(roundtrips) {
        static const size_t sizes[] = { 0, 1, 255, 256, 257, 4095, 65535, 65536, 65537, 300000, 2500000 };
        static const uint32_t magics[] = { CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, CADU_RDIFF_RK_MD4_SIG_MAGIC,
                                           CADU_RDIFF_BLAKE2_SIG_MAGIC, CADU_RDIFF_MD4_SIG_MAGIC };
        uint8_t *a = malloc(2500000), *b = malloc(2600000);
        for (size_t i = 0; i < CADU_ELEMENTSOF(sizes); i++)
                for (size_t m = 0; m < CADU_ELEMENTSOF(magics); m++) {
                        fill_random(a, sizes[i], i * 7 + m);
                        size_t bn = mutate(a, sizes[i], b, i + m);
                        roundtrip(a, sizes[i], b, bn, magics[m], 0, 0, NULL);
                        /* new = basis, and new empty */
                        roundtrip(a, sizes[i], a, sizes[i], magics[m], 0, -1, NULL);
                        roundtrip(a, sizes[i], b, 0, magics[m], 0, 0, NULL);
                }
        /* odd block sizes, short strong sums */
        fill_random(a, 100000, 5);
        size_t bn = mutate(a, 100000, b, 77);
        for (uint32_t bl = 1; bl < 2000; bl = bl * 3 + 1)
                roundtrip(a, 100000, b, bn, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, bl, 3, NULL);
        free(a);
        free(b);
}
END_TEST

/* What a good delta looks like: identical input is one COPY (also for runs
 * of equal blocks and a short last block), shifted data still matches. */
START_TEST(delta_quality) {
        size_t n = 1 << 20, dl;
        uint8_t *z = calloc(1, n + 1000);
        roundtrip(z, n, z, n, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, 0, 0, &dl);
        ck_assert_uint_le(dl, 4 + 1 + 8 + 1); /* magic, one copy, END */
        uint8_t *r = malloc(n + 1000), *r2 = malloc(n + 2000);
        fill_random(r, 1000123, 9);
        roundtrip(r, 1000123, r, 1000123, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, 0, 0, &dl);
        ck_assert_uint_le(dl, 4 + 1 + 8 + 1);
        /* insert 10 bytes at the front: 10 literal bytes and one copy */
        memcpy(r2, "0123456789", 10);
        memcpy(r2 + 10, r, 1000123);
        roundtrip(r, 1000123, r2, 1000133, CADU_RDIFF_MD4_SIG_MAGIC, 0, 0, &dl);
        ck_assert_uint_le(dl, 4 + 11 + 1 + 8 + 1);
        /* a run of zero blocks shortened by 300 bytes, so that it no longer
         * ends on the parse's block grid: the 372 leftover zeros are a copy
         * of part of a zero block, not literal (then 352 bytes of the block
         * where zeros and data meet are literal, as they must be) */
        size_t zn = 100000 + (1 << 20) + 100000;
        uint8_t *zb = calloc(1, zn), *zc = malloc(zn + 1000);
        fill_random(zb, 100000, 13);
        fill_random(zb + 100000 + (1 << 20), 100000, 14);
        fill_random(zc, 1000, 15);
        memcpy(zc + 1000, zb, 100000 + (1 << 20) - 300);
        memcpy(zc + 1000 + 100000 + (1 << 20) - 300, zb + 100000 + (1 << 20), 100000);
        roundtrip(zb, zn, zc, zn + 700, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, 0, 0, &dl);
        ck_assert_msg(dl <= 4 + 3 + 1000 + 3 + 352 + 3 * 9 + 1, "delta %zu bytes", dl);
        free(zb);
        free(zc);
        free(z);
        free(r);
        free(r2);
}
END_TEST

/* A signature whose input comes from a pipe (size unknown) is the same as
 * from the file, given the same parameters. */
START_TEST(signature_from_pipe) {
        size_t n = 5 << 20;
        uint8_t *a = malloc(n);
        fill_random(a, n, 31);
        cadu_rdiff_sig_params p;
        ck_assert_int_eq(cadu_rdiff_sig_params_init(&p, CADU_RDIFF_RK_BLAKE2_SIG_MAGIC, n, 0, 0, NULL), 0);
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(fds[0]);
                _exit(cadu_write_full(fds[1], a, n) == 0 ? 0 : 1);
        }
        close(fds[1]);
        int s1 = memfd_with(NULL, 0), s2 = memfd_with(NULL, 0), bfd = memfd_with(a, n);
        ck_assert_int_eq(cadu_rdiff_signature_fd(fds[0], s1, &p, NULL, NULL), 0);
        ck_assert_int_eq(cadu_rdiff_signature_fd(bfd, s2, &p, NULL, NULL), 0);
        size_t l1, l2;
        uint8_t *c1 = fd_content(s1, &l1), *c2 = fd_content(s2, &l2);
        ck_assert_uint_eq(l1, l2);
        ck_assert(!memcmp(c1, c2, l1));
        free(c1);
        free(c2);
        free(a);
        close(fds[0]);
        close(s1);
        close(s2);
        close(bfd);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("rdiff");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, md4_vectors);
        tcase_add_test(tc, blake2b_vectors);
        tcase_add_test(tc, blake2b_x4_matches);
        tcase_add_test(tc, rabinkarp_inverse);
        tcase_add_test(tc, weak_rolling);
        tcase_add_test(tc, sig_params);
        tcase_add_test(tc, golden_invalid);
        tcase_add_test(tc, patch_all_opcodes);
        tcase_add_test(tc, patch_kernel_copy);
        tcase_add_test(tc, patch_sparse_append_pipe);
        tcase_add_test(tc, roundtrips);
        tcase_add_test(tc, delta_quality);
        tcase_add_test(tc, signature_from_pipe);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
