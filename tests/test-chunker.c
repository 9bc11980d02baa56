/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-chunker.h"

static uint8_t *random_data(size_t n, uint64_t seed) {
        uint8_t *p = malloc(n);
        uint64_t x = seed;
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                p[i] = (uint8_t)x;
        }
        return p;
}

/* Cut points of data fed in pieces of `piece` bytes (0: all at once). */
static size_t cuts(size_t min, size_t avg, size_t max, const uint8_t *d, size_t n, size_t piece, size_t *out, size_t cap) {
        cadu_chunker c;
        ck_assert_int_eq(cadu_chunker_init(&c, min, avg, max), 0);
        size_t k = 0, pos = 0;
        while (pos < n) {
                size_t len = piece ? (n - pos < piece ? n - pos : piece) : n - pos;
                const uint8_t *p = d + pos;
                size_t left = len;
                while (left > 0) {
                        size_t r = cadu_chunker_scan(&c, p, left);
                        if (r == (size_t)-1)
                                break;
                        ck_assert_uint_gt(r, 0);
                        ck_assert_uint_le(r, left);
                        p += r;
                        left -= r;
                        ck_assert_uint_lt(k, cap);
                        out[k++] = (size_t)(p - d);
                }
                pos += len;
        }
        return k;
}

START_TEST(rolling_equals_fresh) {
        const size_t n = 4096;
        uint8_t *d = random_data(n, 1);
        uint32_t h = cadu_buzhash(d);
        for (size_t i = CADU_CHUNKER_WINDOW; i < n; i++) {
                h = cadu_buzhash_roll(h, d[i - CADU_CHUNKER_WINDOW], d[i]);
                ck_assert_uint_eq(h, cadu_buzhash(d + i - CADU_CHUNKER_WINDOW + 1));
        }
        free(d);
}
END_TEST

static const size_t params[][3] = {
        { 16384, 65536, 262144 }, { 4096, 16384, 65536 }, { 256, 1024, 4096 },
        { 1, 64, 1024 }, { 48, 48, 4096 }, { 1000, 1000, 1000 }, { 64, 128, 128 }, { 1, 1, 1 },
};

START_TEST(pieces_give_same_cuts) {
        const size_t n = 1 << 20;
        const size_t *p = params[_i];
        uint8_t *d = random_data(n, 7 + (uint64_t)_i);
        /* Zero runs exercise the max-size path. */
        memset(d + 300000, 0, 200000);
        size_t cap = n + 1, *a = malloc(cap * sizeof(size_t)), *b = malloc(cap * sizeof(size_t));
        size_t na = cuts(p[0], p[1], p[2], d, n, 0, a, cap);
        static const size_t pieces[] = { 1, 7, 47, 48, 49, 4096, 65537 };
        for (size_t j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
                if (pieces[j] == 1 && p[2] > 4096)
                        continue;       /* byte-wise feeding of big chunks is slow under sanitizers */
                size_t nb = cuts(p[0], p[1], p[2], d, n, pieces[j], b, cap);
                ck_assert_uint_eq(na, nb);
                ck_assert_mem_eq(a, b, na * sizeof(size_t));
        }
        /* Every chunk but the last lies within its bounds: exactly max in
         * fixed-size mode; else [max(min, 48), max(max, 48)], as casync never
         * cuts before its 48-byte window is full. */
        size_t prev = 0;
        size_t lo = p[0] == p[2] ? p[0] : (p[0] > 48 ? p[0] : 48);
        size_t hi = p[0] == p[2] ? p[2] : (p[2] > 48 ? p[2] : 48);
        for (size_t i = 0; i < na; i++) {
                size_t len = a[i] - prev;
                ck_assert_uint_ge(len, lo);
                ck_assert_uint_le(len, hi);
                prev = a[i];
        }
        ck_assert_uint_le(n - prev, hi);
        free(a);
        free(b);
        free(d);
}
END_TEST

START_TEST(cut_rule_matches_definition) {
        /* Check every cut against the definition in DESIGN.md 4.3 directly. */
        const size_t n = 1 << 19, min = 1024, avg = 4096, max = 16384;
        uint8_t *d = random_data(n, 99);
        /* Zero runs of several lengths exercise the zero-run fast path. */
        memset(d + 100000, 0, 150000);
        memset(d + 300000, 0, 47);
        memset(d + 310000, 0, 49);
        memset(d + 320000, 0, 1500);
        size_t cap = n, *a = malloc(cap * sizeof(size_t));
        size_t na = cuts(min, avg, max, d, n, 0, a, cap);
        size_t disc = cadu_chunker_discriminator(avg), start = 0;
        ck_assert_uint_gt(na, 10);
        for (size_t i = 0; i < na; i++) {
                for (size_t L = min; L <= a[i] - start; L++) {
                        uint32_t h = cadu_buzhash(d + start + L - CADU_CHUNKER_WINDOW);
                        bool should = L == max || h % disc == disc - 1;
                        ck_assert_msg(should == (L == a[i] - start), "chunk %zu length %zu", i, L);
                        if (should)
                                break;
                }
                start = a[i];
        }
        free(a);
        free(d);
}
END_TEST

START_TEST(discriminator_values) {
        /* Values casync derives for its usual average sizes. */
        ck_assert_uint_eq(cadu_chunker_discriminator(65536), 49535);
        ck_assert_uint_eq(cadu_chunker_discriminator(16384), 12318);
        cadu_chunker c;
        ck_assert_int_eq(cadu_chunker_init(&c, 0, 1, 2), -EINVAL);
        ck_assert_int_eq(cadu_chunker_init(&c, 2, 1, 2), -EINVAL);
        ck_assert_int_eq(cadu_chunker_init(&c, 1, 3, 2), -EINVAL);
        ck_assert_int_eq(cadu_chunker_init(&c, 1, 1, 128u * 1024 * 1024 + 1), -EINVAL);
        /* Content-defined with max below the hash window: cannot be honoured. */
        ck_assert_int_eq(cadu_chunker_init(&c, 1, 2, 4), -EINVAL);
        ck_assert_int_eq(cadu_chunker_init(&c, 1, 1, CADU_CHUNKER_WINDOW - 1), -EINVAL);
        ck_assert(!cadu_chunker_params_valid(1, 2, 4));
        ck_assert(cadu_chunker_params_valid(4, 4, 4));
        ck_assert(cadu_chunker_params_valid(1, 1, CADU_CHUNKER_WINDOW));
        ck_assert_int_eq(cadu_chunker_init(&c, 4, 4, 4), 0);
        ck_assert_int_eq(cadu_chunker_init(&c, 1, 2, CADU_CHUNKER_WINDOW), 0);
        ck_assert_int_eq(cadu_chunker_init(&c, 1, 1, 128u * 1024 * 1024), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("chunker");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, rolling_equals_fresh);
        tcase_add_loop_test(tc, pieces_give_same_cuts, 0, sizeof(params) / sizeof(params[0]));
        tcase_add_test(tc, cut_rule_matches_definition);
        tcase_add_test(tc, discriminator_values);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
