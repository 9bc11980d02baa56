/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for libcadudelta: delta round trips with 1..8 bases, hostile
 * headers and frames, golden invalid files, sketches of similar and
 * unrelated data, sketch files and the sketch index. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-delta.h"

static const char *srcdir(void) {
        const char *s = getenv("top_srcdir");
        return s ? s : ".";
}

/* xorshift for reproducible test data */
static uint64_t rng_state;
static uint64_t rnd64(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}
static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
        rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)(rnd64() >> 24);
}
/* Copy of src with a few bytes changed every stride bytes. */
static void mutate(uint8_t *dst, const uint8_t *src, size_t n, size_t stride, uint64_t seed) {
        memcpy(dst, src, n);
        rng_state = seed;
        for (size_t i = stride / 2; i < n; i += stride)
                dst[i] ^= (uint8_t)(rnd64() | 1);
}

static void id_of(const void *p, size_t n, uint8_t id[CADU_DIGEST_SIZE]) {
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, p, n, id), 0);
}

/* Target = pieces of each base, slightly changed; returns the delta. */
static void make_delta(size_t nbases, size_t blen, uint8_t **ret_target, size_t *ret_tlen, uint8_t **ret_bases,
                       uint8_t (*ids)[CADU_DIGEST_SIZE], uint8_t tid[CADU_DIGEST_SIZE], cadu_buf *out) {
        uint8_t *b = malloc(nbases * blen), *t = malloc(nbases * blen);
        cadu_delta_base bases[CADU_DELTA_MAX_BASES];
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_nonnull(t);
        for (size_t i = 0; i < nbases; i++) {
                fill_random(b + i * blen, blen, 100 + i);
                id_of(b + i * blen, blen, ids[i]);
                bases[i] = (cadu_delta_base){ b + i * blen, blen };
        }
        /* The target takes the bases in reverse order, so the match offsets
         * are not trivial. */
        for (size_t i = 0; i < nbases; i++)
                mutate(t + i * blen, b + (nbases - 1 - i) * blen, blen, 997, 7 + i);
        id_of(t, nbases * blen, tid);
        ck_assert_int_eq(cadu_delta_encode(19, tid, t, nbases * blen, (const uint8_t (*)[CADU_DIGEST_SIZE])ids,
                                           bases, nbases, out), 0);
        *ret_target = t;
        *ret_tlen = nbases * blen;
        *ret_bases = b;
}

START_TEST(round_trip) {
        static const size_t counts[] = { 1, 2, 3, 8 };
        size_t nbases = counts[_i], blen = 20000, tlen;
        uint8_t *t, *b, ids[CADU_DELTA_MAX_BASES][CADU_DIGEST_SIZE], tid[CADU_DIGEST_SIZE];
        cadu_buf d = CADU_BUF_INIT, out = CADU_BUF_INIT, plain = CADU_BUF_INIT;
        cadu_delta_base bases[CADU_DELTA_MAX_BASES];
        cadu_delta_info info;
        make_delta(nbases, blen, &t, &tlen, &b, ids, tid, &d);
        for (size_t i = 0; i < nbases; i++)
                bases[i] = (cadu_delta_base){ b + i * blen, blen };

        ck_assert_int_eq(cadu_delta_parse(d.data, d.len, &info), 0);
        ck_assert_uint_eq(info.nbases, nbases);
        ck_assert_uint_eq(info.target_size, tlen);
        ck_assert_mem_eq(info.target_id, tid, CADU_DIGEST_SIZE);
        ck_assert_uint_eq(info.header_size, CADU_DELTA_HEADER_FIXED + nbases * CADU_DELTA_BASE_ENTRY);
        for (size_t i = 0; i < nbases; i++) {
                ck_assert_mem_eq(info.base_ids[i], ids[i], CADU_DIGEST_SIZE);
                ck_assert_uint_eq(info.base_sizes[i], blen);
        }
        /* Random data: the delta is a small fraction of the plain chunk. */
        ck_assert_int_eq(cadu_chunk_compress(19, t, tlen, &plain), 0);
        ck_assert_uint_lt(d.len * 5, plain.len);

        ck_assert_int_eq(cadu_delta_decode(d.data, d.len, bases, nbases, tlen, &out), 0);
        ck_assert_uint_eq(out.len, tlen);
        ck_assert_mem_eq(out.data, t, tlen);

        /* The cap: one byte short is -EFBIG. */
        ck_assert_int_eq(cadu_delta_decode(d.data, d.len, bases, nbases, tlen - 1, &out), -EFBIG);
        /* Wrong number of bases; a base of another size. */
        ck_assert_int_eq(cadu_delta_decode(d.data, d.len, bases, nbases - 1, tlen, &out), -EINVAL);
        bases[0].len--;
        ck_assert_int_eq(cadu_delta_decode(d.data, d.len, bases, nbases, tlen, &out), -EBADMSG);
        bases[0].len++;
        /* A wrong base of the right size decodes to something else (or
         * fails); never to the target. */
        if (nbases > 1) {
                cadu_delta_base swapped[CADU_DELTA_MAX_BASES];
                memcpy(swapped, bases, sizeof(swapped));
                swapped[0] = bases[1];
                swapped[1] = bases[0];
                int r = cadu_delta_decode(d.data, d.len, swapped, nbases, tlen, &out);
                ck_assert(r == -EBADMSG || (r == 0 && memcmp(out.data, t, tlen) != 0));
        }
        /* Every truncation is rejected by the parser, and so by the decoder. */
        for (size_t len = 0; len < d.len; len += len < 200 ? 1 : 97) {
                ck_assert_int_eq(cadu_delta_parse(d.data, len, NULL), -EBADMSG);
                ck_assert_int_eq(cadu_delta_decode(d.data, len, bases, nbases, tlen, &out), -EBADMSG);
        }
        /* A byte after the frame. */
        ck_assert_int_eq(cadu_buf_append(&d, "", 1), 0);
        ck_assert_int_eq(cadu_delta_parse(d.data, d.len, NULL), -EBADMSG);
        d.len--;
        /* Flipped bits in the frame body: never a crash, never more than
         * the target's size. */
        for (size_t i = info.header_size + 8; i < d.len; i += 13) {
                d.data[i] ^= 0x20;
                int r = cadu_delta_decode(d.data, d.len, bases, nbases, tlen, &out);
                ck_assert(r == -EBADMSG || (r == 0 && out.len == tlen));
                d.data[i] ^= 0x20;
        }
        cadu_buf_free(&d);
        cadu_buf_free(&out);
        cadu_buf_free(&plain);
        free(t);
        free(b);
        cadu_delta_codec_release();
        cadu_chunk_codec_release();
}
END_TEST

/* Header fields out of range, each on an otherwise valid delta. */
START_TEST(hostile_headers) {
        size_t tlen;
        uint8_t *t, *b, ids[CADU_DELTA_MAX_BASES][CADU_DIGEST_SIZE], tid[CADU_DIGEST_SIZE];
        cadu_buf d = CADU_BUF_INIT;
        make_delta(2, 5000, &t, &tlen, &b, ids, tid, &d);
        ck_assert_int_eq(cadu_delta_parse(d.data, d.len, NULL), 0);
        struct { size_t off, width; uint64_t value; } cases[] = {
                { 0, 1, 'X' },                          /* magic */
                { 8, 4, 2 },                            /* version */
                { 8, 4, 0 },
                { 12, 4, 0 },                           /* nbases */
                { 12, 4, 9 },
                { 12, 4, 1 },                           /* fewer than written */
                { 16, 8, 0 },                           /* target size */
                { 16, 8, CADU_DELTA_SIZE_MAX + 1ull },
                { 16, 8, 10001 },                       /* not the frame's */
                { 16, 8, UINT64_MAX },
                { 56 + 32, 8, 0 },                      /* base size */
                { 56 + 32, 8, CADU_DELTA_SIZE_MAX + 1ull },
                { 56 + 32, 8, UINT64_MAX },
                { 136, 1, 0x29 },                       /* zstd magic */
        };
        for (size_t i = 0; i < CADU_ELEMENTSOF(cases); i++) {
                uint8_t save[8];
                memcpy(save, d.data + cases[i].off, cases[i].width);
                uint64_t v = cases[i].value;
                for (size_t k = 0; k < cases[i].width; k++, v >>= 8)
                        d.data[cases[i].off + k] = (uint8_t)v;
                int r = cadu_delta_parse(d.data, d.len, NULL);
                ck_assert_msg(r == -EBADMSG, "case %zu: %d", i, r);
                memcpy(d.data + cases[i].off, save, cases[i].width);
        }
        /* Eight bases of 128 MiB plus the target exceed the window limit:
         * built by hand, since nothing encodes it. */
        cadu_buf h = CADU_BUF_INIT;
        ck_assert_int_eq(cadu_buf_append(&h, d.data, 56), 0);
        h.data[12] = 8;
        for (size_t i = 0; i < 8; i++) {
                uint8_t e[40] = { 0 };
                cadu_put_le64(e + 32, CADU_DELTA_SIZE_MAX);
                ck_assert_int_eq(cadu_buf_append(&h, e, 40), 0);
        }
        ck_assert_int_eq(cadu_buf_append(&h, d.data + 136, d.len - 136), 0);
        ck_assert_int_eq(cadu_delta_parse(h.data, h.len, NULL), -EBADMSG);
        /* Empty and NULL input. */
        ck_assert_int_eq(cadu_delta_parse(NULL, 0, NULL), -EBADMSG);
        ck_assert_int_eq(cadu_delta_parse("", 0, NULL), -EBADMSG);
        cadu_buf_free(&h);
        cadu_buf_free(&d);
        free(t);
        free(b);
        cadu_delta_codec_release();
}
END_TEST

START_TEST(encode_arguments) {
        uint8_t data[100] = { 1 }, id[1][CADU_DIGEST_SIZE] = { { 0 } };
        cadu_delta_base b = { data, sizeof(data) }, nine[9];
        uint8_t ids9[9][CADU_DIGEST_SIZE] = { { 0 } };
        cadu_buf out = CADU_BUF_INIT;
        for (size_t i = 0; i < 9; i++)
                nine[i] = b;
        ck_assert_int_eq(cadu_delta_encode(0, id[0], data, sizeof(data), (const uint8_t (*)[32])id, &b, 1, &out), -EINVAL);
        ck_assert_int_eq(cadu_delta_encode(3, id[0], data, 0, (const uint8_t (*)[32])id, &b, 1, &out), -EINVAL);
        ck_assert_int_eq(cadu_delta_encode(3, id[0], data, sizeof(data), (const uint8_t (*)[32])id, &b, 0, &out), -EINVAL);
        ck_assert_int_eq(cadu_delta_encode(3, id[0], data, sizeof(data), (const uint8_t (*)[32])ids9, nine, 9, &out), -EINVAL);
        b.len = 0;
        ck_assert_int_eq(cadu_delta_encode(3, id[0], data, sizeof(data), (const uint8_t (*)[32])id, &b, 1, &out), -EINVAL);
        /* A base that starts like a zstd dictionary is still raw content. */
        uint8_t dictlike[64] = { 0x37, 0xa4, 0x30, 0xec, 1, 2, 3, 4 };
        cadu_delta_base db = { dictlike, sizeof(dictlike) };
        ck_assert_int_eq(cadu_delta_encode(3, id[0], dictlike, sizeof(dictlike), (const uint8_t (*)[32])id, &db, 1, &out), 0);
        cadu_buf dec = CADU_BUF_INIT;
        ck_assert_int_eq(cadu_delta_decode(out.data, out.len, &db, 1, 64, &dec), 0);
        ck_assert_mem_eq(dec.data, dictlike, 64);
        cadu_buf_free(&dec);
        cadu_buf_free(&out);
        cadu_delta_codec_release();
}
END_TEST

START_TEST(delta_path) {
        uint8_t tid[CADU_DIGEST_SIZE], ids[2][CADU_DIGEST_SIZE], set[CADU_DIGEST_SIZE];
        char p[CADU_DELTA_PATH_MAX], hex[65], want[CADU_DELTA_PATH_MAX], shex[17];
        for (size_t i = 0; i < CADU_DIGEST_SIZE; i++) {
                tid[i] = (uint8_t)(0xa0 + i);
                ids[0][i] = (uint8_t)i;
                ids[1][i] = (uint8_t)(2 * i);
        }
        ck_assert_int_eq(cadu_delta_path(tid, (const uint8_t (*)[32])ids, 2, p), 0);
        cadu_hex_encode(tid, CADU_DIGEST_SIZE, hex);
        id_of(ids, sizeof(ids), set);
        cadu_hex_encode(set, 8, shex);
        snprintf(want, sizeof(want), "deltas/a0a1/%s-%s.cadelta", hex, shex);
        ck_assert_str_eq(p, want);
        ck_assert_uint_eq(strlen(p) + 1, CADU_DELTA_PATH_MAX);
        /* Another order of the same bases is another base set. */
        char q[CADU_DELTA_PATH_MAX];
        uint8_t rev[2][CADU_DIGEST_SIZE];
        memcpy(rev[0], ids[1], 32);
        memcpy(rev[1], ids[0], 32);
        ck_assert_int_eq(cadu_delta_path(tid, (const uint8_t (*)[32])rev, 2, q), 0);
        ck_assert_str_ne(p, q);
}
END_TEST

/* Each golden invalid file (tests/delta-invalid/EXPECTED: name, the step
 * that must reject it, why) against the bases base-0.bin and base-1.bin. */
START_TEST(golden_invalid) {
        char path[4096], line[512];
        uint8_t *b[2];
        size_t blen[2];
        for (size_t i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/tests/delta-invalid/base-%zu.bin", srcdir(), i);
                ck_assert_int_eq(cadu_read_file(path, 1 << 20, &b[i], &blen[i]), 0);
        }
        cadu_delta_base bases[2] = { { b[0], blen[0] }, { b[1], blen[1] } };
        snprintf(path, sizeof(path), "%s/tests/delta-invalid/EXPECTED", srcdir());
        FILE *f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        size_t n = 0;
        cadu_buf out = CADU_BUF_INIT;
        while (fgets(line, sizeof(line), f)) {
                char *name = strtok(line, "\t"), *step = strtok(NULL, "\t");
                ck_assert_ptr_nonnull(step);
                uint8_t *raw;
                size_t len;
                snprintf(path, sizeof(path), "%s/tests/delta-invalid/%s", srcdir(), name);
                ck_assert_int_eq(cadu_read_file(path, 1 << 20, &raw, &len), 0);
                int parse = cadu_delta_parse(raw, len, NULL);
                int dec = cadu_delta_decode(raw, len, bases, 2, 1 << 20, &out);
                if (!strcmp(step, "parse"))
                        ck_assert_msg(parse == -EBADMSG && dec == -EBADMSG, "%s: %d %d", name, parse, dec);
                else if (!strcmp(step, "decode"))
                        ck_assert_msg(parse == 0 && dec == -EBADMSG, "%s: %d %d", name, parse, dec);
                else if (!strcmp(step, "valid"))
                        ck_assert_msg(parse == 0 && dec == 0, "%s: %d %d", name, parse, dec);
                else
                        ck_abort_msg("%s: unknown step %s", name, step);
                free(raw);
                n++;
        }
        fclose(f);
        ck_assert_uint_ge(n, 10);
        cadu_buf_free(&out);
        free(b[0]);
        free(b[1]);
        cadu_delta_codec_release();
}
END_TEST

static unsigned shared(const cadu_sketch *a, const cadu_sketch *b) {
        unsigned n = 0;
        for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                n += a->f[j] && a->f[j] == b->f[j];
        return n;
}

START_TEST(sketch_resemblance) {
        size_t n = 65536;
        uint8_t *a = malloc(n), *b = malloc(n), *c = malloc(n);
        cadu_sketch sa, sb, sc, sa2;
        fill_random(a, n, 1);
        mutate(b, a, n, 4096, 2);               /* 16 bytes changed */
        fill_random(c, n, 3);
        cadu_sketch_compute(a, n, &sa);
        cadu_sketch_compute(a, n, &sa2);
        cadu_sketch_compute(b, n, &sb);
        cadu_sketch_compute(c, n, &sc);
        ck_assert_mem_eq(&sa, &sa2, sizeof(sa));
        ck_assert_uint_ge(shared(&sa, &sb), 8);
        ck_assert_uint_eq(shared(&sa, &sc), 0);
        /* Shifted content keeps its features (the hash rolls). */
        memmove(b + 100, a, n - 100);
        fill_random(b, 100, 4);
        cadu_sketch_compute(b, n, &sb);
        ck_assert_uint_ge(shared(&sa, &sb), 10);
        /* Too short to sample: no features at all. */
        cadu_sketch_compute(a, 40, &sb);
        for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                ck_assert_uint_eq(sb.f[j], 0);
        free(a);
        free(b);
        free(c);
}
END_TEST

START_TEST(sketch_index) {
        /* Chunks 0..9 unrelated; 10 resembles 3; 11..50 are the same zeros
         * (their shared features are too common to count). */
        size_t n = 52, len = 16384;
        cadu_sketch *s = calloc(n, sizeof(*s));
        uint8_t *buf = malloc(len), *other = malloc(len);
        for (size_t i = 0; i < 10; i++) {
                fill_random(buf, len, 50 + i);
                cadu_sketch_compute(buf, len, &s[i]);
                if (i == 3) {
                        mutate(other, buf, len, 2000, 9);
                        cadu_sketch_compute(other, len, &s[10]);
                }
        }
        memset(buf, 0, len);
        for (size_t i = 11; i < n; i++)
                cadu_sketch_compute(buf, len, &s[i]);
        cadu_sketch_index *x;
        ck_assert_int_eq(cadu_sketch_index_new(s, n, 16, &x), 0);
        size_t out[8];
        unsigned m[8];
        ck_assert_int_eq(cadu_sketch_index_query(x, &s[10], NULL, NULL, out, m, 8), 2);
        ck_assert_uint_eq(out[0], 3);           /* itself is 10: ranked by count, then number */
        ck_assert_uint_eq(out[1], 10);
        ck_assert_uint_lt(m[0], 13);
        ck_assert_uint_eq(m[1], 12);
        ck_assert_int_eq(cadu_sketch_index_query(x, &s[11], NULL, NULL, out, m, 8), 0);
        ck_assert_int_eq(cadu_sketch_index_query(x, &s[5], NULL, NULL, out, m, 8), 1);
        ck_assert_uint_eq(out[0], 5);
        cadu_sketch_index_free(x);
        free(s);
        free(buf);
        free(other);
}
END_TEST

static bool not_self(void *ud, size_t i) {
        return i != *(size_t *)ud;
}

START_TEST(sketch_index_accept) {
        cadu_sketch s[3] = { { { 5, 6, 7 } }, { { 5, 6, 0 } }, { { 5, 9, 9 } } };
        cadu_sketch_index *x;
        size_t out[4], self = 0;
        unsigned m[4];
        ck_assert_int_eq(cadu_sketch_index_new(s, 3, 8, &x), 0);
        ck_assert_int_eq(cadu_sketch_index_query(x, &s[0], not_self, &self, out, m, 4), 2);
        ck_assert_uint_eq(out[0], 1);
        ck_assert_uint_eq(m[0], 2);
        ck_assert_uint_eq(out[1], 2);
        ck_assert_uint_eq(m[1], 1);
        ck_assert_int_eq(cadu_sketch_index_query(x, &s[0], not_self, &self, out, m, 1), 1);
        cadu_sketch_index_free(x);
        /* A feature shared by more than common_max chunks counts for none. */
        ck_assert_int_eq(cadu_sketch_index_new(s, 3, 2, &x), 0);
        ck_assert_int_eq(cadu_sketch_index_query(x, &s[0], not_self, &self, out, m, 4), 1);
        ck_assert_uint_eq(out[0], 1);
        ck_assert_uint_eq(m[0], 1);
        cadu_sketch_index_free(x);
}
END_TEST

START_TEST(sketch_files) {
        cadu_sketch_entry e[3];
        for (size_t i = 0; i < 3; i++) {
                memset(e[i].id, (int)i + 1, CADU_DIGEST_SIZE);
                e[i].size = 1000 * (i + 1);
                for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                        e[i].sketch.f[j] = (uint32_t)(i * 100 + j);
        }
        cadu_buf b = CADU_BUF_INIT;
        ck_assert_int_eq(cadu_sketch_file_serialize(e, 3, &b), 0);
        ck_assert_uint_eq(b.len, 24 + 3 * 88);
        char name[CADU_SKETCH_NAME_MAX];
        uint8_t sha[CADU_DIGEST_SIZE], sha2[CADU_DIGEST_SIZE];
        ck_assert_int_eq(cadu_sketch_file_name(b.data, b.len, name), 0);
        ck_assert_int_eq(cadu_sketch_file_name_parse(name, sha), 0);
        id_of(b.data, b.len, sha2);
        ck_assert_mem_eq(sha, sha2, CADU_DIGEST_SIZE);
        ck_assert_int_eq(cadu_sketch_file_name_parse("abc.casketch", sha), -EINVAL);
        name[3] = 'A';
        ck_assert_int_eq(cadu_sketch_file_name_parse(name, sha), -EINVAL);

        cadu_sketch_entry *got;
        size_t n;
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, sha, &got, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_mem_eq(got, e, sizeof(e));
        free(got);
        /* Every truncation, a changed byte (against the name), a count that
         * does not match the length, a size out of range. */
        for (size_t len = 0; len < b.len; len++)
                ck_assert_int_eq(cadu_sketch_file_parse(b.data, len, NULL, &got, &n), -EBADMSG);
        b.data[100] ^= 1;
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, sha, &got, &n), -EBADMSG);
        b.data[100] ^= 1;
        b.data[16] = 4;
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, NULL, &got, &n), -EBADMSG);
        b.data[16] = 0xff;
        memset(b.data + 17, 0xff, 7);
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, NULL, &got, &n), -EBADMSG);
        b.data[16] = 3;
        memset(b.data + 17, 0, 7);
        cadu_put_le64(b.data + 24 + 32, 0);
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, NULL, &got, &n), -EBADMSG);
        cadu_put_le64(b.data + 24 + 32, CADU_DELTA_SIZE_MAX + 1ull);
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, NULL, &got, &n), -EBADMSG);
        cadu_buf_free(&b);
        /* No entries is a valid (empty) file. */
        ck_assert_int_eq(cadu_sketch_file_serialize(e, 0, &b), 0);
        ck_assert_int_eq(cadu_sketch_file_parse(b.data, b.len, NULL, &got, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(got);
        cadu_buf_free(&b);
}
END_TEST

static Suite *delta_suite(void) {
        Suite *s = suite_create("delta");
        TCase *tc = tcase_create("codec");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, round_trip, 0, 4);
        tcase_add_test(tc, hostile_headers);
        tcase_add_test(tc, encode_arguments);
        tcase_add_test(tc, delta_path);
        tcase_add_test(tc, golden_invalid);
        suite_add_tcase(s, tc);
        tc = tcase_create("sketch");
        tcase_add_test(tc, sketch_resemblance);
        tcase_add_test(tc, sketch_index);
        tcase_add_test(tc, sketch_index_accept);
        tcase_add_test(tc, sketch_files);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(delta_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
