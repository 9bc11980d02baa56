/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Range fetching without a server: the strict multipart/byteranges and
 * Content-Range parsers (golden invalid answers in tests/byteranges-invalid/,
 * valid ones in the fuzz corpus, each fed whole and in small pieces), the
 * cost model, request plans and store-relative paths. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "byteranges-case.h"
#include "byteranges.h"
#include "cadu-store.h"
#include "store-range.h"

static const char *srcdir(void) {
        const char *s = getenv("top_srcdir");
        return s ? s : ".";
}

static uint8_t *slurp(const char *path, size_t *len) {
        size_t n;
        uint8_t *d = NULL;
        ck_assert_int_eq(cadu_read_file(path, 1 << 20, &d, &n) >= 0, 1);
        *len = n;
        return d;
}

static const size_t pieces[] = { 0, 1, 2, 7, 64 };

/* Every golden invalid answer is refused with its own reason, however the
 * body is split. */
START_TEST(invalid_files) {
        char path[4096], line[512];
        snprintf(path, sizeof(path), "%s/tests/byteranges-invalid/EXPECTED", srcdir());
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "%s", path);
        int n = 0;
        while (fgets(line, sizeof(line), f)) {
                char *tab = strchr(line, '\t');
                ck_assert_ptr_nonnull(tab);
                *tab = 0;
                tab[strcspn(tab + 1, "\n") + 1] = 0;
                snprintf(path, sizeof(path), "%s/tests/byteranges-invalid/%s.txt", srcdir(), line);
                size_t len;
                uint8_t *d = slurp(path, &len);
                byteranges_case c;
                ck_assert_msg(byteranges_case_load(d, len, &c) == 0, "%s: not a case", line);
                for (size_t k = 0; k < CADU_ELEMENTSOF(pieces); k++) {
                        const char *why;
                        int order;
                        int r = byteranges_case_run(&c, pieces[k], &why, &order);
                        ck_assert_msg(r == -EBADMSG, "%s (pieces of %zu): r=%d", line, pieces[k], r);
                        ck_assert_msg(order == 0, "%s: callback contract broken (%d)", line, order);
                        ck_assert_msg(why && !strcmp(why, tab + 1), "%s (pieces of %zu): got '%s', want '%s'", line,
                                      pieces[k], why ? why : "(null)", tab + 1);
                }
                free(d);
                n++;
        }
        fclose(f);
        ck_assert_int_ge(n, 30);
}
END_TEST

/* The valid answers of the fuzz corpus parse, whole and in pieces. */
START_TEST(valid_files) {
        char dir[4096], path[4600];
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus-byteranges", srcdir());
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        struct dirent *e;
        int n = 0;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || !strncmp(e->d_name, "bad-", 4))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                size_t len;
                uint8_t *data = slurp(path, &len);
                byteranges_case c;
                ck_assert_msg(byteranges_case_load(data, len, &c) == 0, "%s: not a case", e->d_name);
                for (size_t k = 0; k < CADU_ELEMENTSOF(pieces); k++) {
                        const char *why;
                        int order;
                        int r = byteranges_case_run(&c, pieces[k], &why, &order);
                        ck_assert_msg(r == 0, "%s (pieces of %zu): %s", e->d_name, pieces[k], why ? why : "?");
                        ck_assert_msg(order == 0, "%s: callback contract broken (%d)", e->d_name, order);
                }
                free(data);
                n++;
        }
        closedir(d);
        ck_assert_int_ge(n, 6);
}
END_TEST

START_TEST(content_range) {
        static const struct {
                const char *s;
                int r;
                uint64_t first, last, total;
        } t[] = {
                { "bytes 0-9/100", 0, 0, 9, 100 },
                { " bytes 5-5/6 ", 0, 5, 5, 6 },
                { "BYTES 0-0/*", 0, 0, 0, BYTERANGES_TOTAL_UNKNOWN },
                { "bytes 0-18446744073709551614/18446744073709551615", -EBADMSG, 0, 0, 0 }, /* 20 digits */
                { "bytes 0-9999999999999999999/*", 0, 0, 9999999999999999999ULL, BYTERANGES_TOTAL_UNKNOWN },
                { "bytes 9-0/100", -EBADMSG, 0, 0, 0 },
                { "bytes 0-9/9", -EBADMSG, 0, 0, 0 },
                { "bytes 0-9", -EBADMSG, 0, 0, 0 },
                { "bytes */100", -EBADMSG, 0, 0, 0 },
                { "bytes -0-9/100", -EBADMSG, 0, 0, 0 },
                { "bytes 0-9/100x", -EBADMSG, 0, 0, 0 },
                { "bytes 0 -9/100", -EBADMSG, 0, 0, 0 },
                { "bytes=0-9/100", -EBADMSG, 0, 0, 0 },
                { "", -EBADMSG, 0, 0, 0 },
        };
        for (size_t i = 0; i < CADU_ELEMENTSOF(t); i++) {
                uint64_t a = 0, b = 0, c = 0;
                int r = cadu_content_range_parse(t[i].s, strlen(t[i].s), &a, &b, &c);
                ck_assert_msg(r == t[i].r, "'%s': %d", t[i].s, r);
                if (r == 0)
                        ck_assert_msg(a == t[i].first && b == t[i].last && c == t[i].total, "'%s'", t[i].s);
        }
}
END_TEST

START_TEST(boundary) {
        static const struct {
                const char *s, *b;
        } t[] = {
                { "multipart/byteranges; boundary=00000000000000000001", "00000000000000000001" },
                { "multipart/byteranges;boundary=\"a b:c\"", NULL },     /* space: refused */
                { "multipart/byteranges; boundary=\"abc\"", "abc" },
                { "Multipart/ByteRanges; charset=x; BOUNDARY=z", "z" },
                { "multipart/byteranges; boundary=abc; x=y", "abc" },
                { "multipart/byteranges", NULL },
                { "multipart/mixed; boundary=abc", NULL },
                { "multipart/byteranges-x; boundary=abc", NULL },
                { "multipart/byteranges; boundary=", NULL },
                { "multipart/byteranges; boundary=a; boundary=a", NULL },
                { "multipart/byteranges; boundary", NULL },
                { "multipart/byteranges boundary=a", NULL },
        };
        for (size_t i = 0; i < CADU_ELEMENTSOF(t); i++) {
                char out[BYTERANGES_MAX_BOUNDARY + 1];
                int r = cadu_byteranges_boundary(t[i].s, strlen(t[i].s), out);
                ck_assert_msg(r == (t[i].b ? 0 : -EBADMSG), "'%s': %d", t[i].s, r);
                if (t[i].b)
                        ck_assert_str_eq(out, t[i].b);
        }
        char longb[128];
        snprintf(longb, sizeof(longb), "multipart/byteranges; boundary=%070d", 7);
        char out[BYTERANGES_MAX_BOUNDARY + 1];
        ck_assert_int_eq(cadu_byteranges_boundary(longb, strlen(longb), out), 0);
        snprintf(longb, sizeof(longb), "multipart/byteranges; boundary=%071d", 7);
        ck_assert_int_eq(cadu_byteranges_boundary(longb, strlen(longb), out), -EBADMSG);
}
END_TEST

/* gap / throughput < rtt: 50 ms at 1 MiB/s by default, then as measured. */
START_TEST(cost_model) {
        range_model m;
        range_model_init(&m);
        ck_assert_uint_eq(range_model_max_gap(&m, UINT64_MAX), 52428);
        ck_assert_uint_eq(range_model_max_gap(&m, 1000), 1000);
        range_model_rtt(&m, 100000000);                 /* 100 ms */
        range_model_throughput(&m, 10 << 20, 1000000000); /* 10 MiB/s */
        ck_assert_uint_eq(range_model_max_gap(&m, UINT64_MAX), 1048576);
        range_model_rtt(&m, 20000000);                  /* the smallest */
        ck_assert_uint_eq(m.rtt_ns, 20000000);
        range_model_rtt(&m, 1000000000);                /* queued behind others */
        ck_assert_uint_eq(m.rtt_ns, 20000000);
        range_model_throughput(&m, 1000, 1000000);      /* too small to count */
        ck_assert_uint_eq(m.bps, 10 << 20);
        ck_assert_uint_eq(range_window(8), 1 << 20);
        ck_assert_uint_eq(range_window(1), 1 << 20);
        ck_assert_uint_eq(range_window(256), 256 << 10);
}
END_TEST

/* A call's requests in flight buffer at most RANGE_BUFFER_TOTAL together:
 * two of the largest window, eight of the smallest; one alone may be
 * larger (a single range that large). */
START_TEST(buffer_cap) {
        size_t w = range_window(1), buffered = 0, n = 0;
        ck_assert_uint_le(2 * w, RANGE_BUFFER_TOTAL);
        while (range_admit(buffered, w))
                buffered += w, n++;
        ck_assert_uint_eq(n, RANGE_BUFFER_TOTAL / w);
        ck_assert_uint_le(buffered, RANGE_BUFFER_TOTAL);
        for (buffered = 0, n = 0; range_admit(buffered, range_window(256)); n++)
                buffered += range_window(256);
        ck_assert_uint_eq(n, 8);
        ck_assert(range_admit(0, (size_t)64 << 20));
        ck_assert(!range_admit(1, RANGE_BUFFER_TOTAL));
        ck_assert(range_admit(1, RANGE_BUFFER_TOTAL - 1));
        ck_assert(!range_admit(RANGE_BUFFER_TOTAL, 1));
        ck_assert(!range_admit(RANGE_BUFFER_TOTAL - 1, SIZE_MAX));

        /* A job's buffer is the bytes of its ranges, not of the gaps. */
        cadu_range r[4] = { { 0, 100 }, { 1000, 200 }, { 1300, 300 }, { 9000, 1 } };
        range_call c = { .r = r, .n = 4 };
        range_job j = { 0 };
        range_plan(&j, &c, 0, 4, false, 1000, 1 << 20);
        ck_assert_uint_eq(j.last, 3);
        ck_assert_uint_eq(range_job_bytes(&j), 600);
        ck_assert_int_eq(range_job_alloc(&j), 0);
        ck_assert_uint_eq(j.boff[2], 300);
        range_job_free(&j);
}
END_TEST

/* Resident pages of [p, p+len) (whole pages inside it). */
static size_t resident(const uint8_t *p, size_t len) {
        size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 0;
        uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), e = ((uintptr_t)p + len) & ~(pg - 1);
        unsigned char v[64];
        ck_assert_uint_le((e - a) / pg, sizeof(v));
        ck_assert_int_eq(mincore((void *)a, e - a, v), 0);
        for (size_t i = 0; i < (e - a) / pg; i++)
                n += v[i] & 1;
        return n;
}

/* A range handed over gives its buffer's pages back; its neighbours keep
 * theirs (a page it shares with one is kept). */
START_TEST(buffer_release) {
        size_t pg = (size_t)sysconf(_SC_PAGESIZE);
        cadu_range r[3] = { { 0, 3 * pg + 10 }, { 4 * pg, 8 * pg }, { 12 * pg, 5 * pg } };
        range_call c = { .r = r, .n = 3 };
        range_job j = { 0 };
        range_plan(&j, &c, 0, 3, false, pg, 1 << 20);
        ck_assert_uint_eq(j.last, 3);
        ck_assert_int_eq(range_job_alloc(&j), 0);
        memset(j.buf, 0xa5, range_job_bytes(&j));
        size_t before = resident(j.buf + j.boff[1], (size_t)r[1].len);
        ck_assert_uint_ge(before, 7);
        range_job_release(&j, 1);
        ck_assert_uint_eq(resident(j.buf + j.boff[1], (size_t)r[1].len), 0);
        ck_assert_uint_ge(resident(j.buf, (size_t)r[0].len), 2);
        ck_assert_uint_ge(resident(j.buf + j.boff[2], (size_t)r[2].len), 4);
        ck_assert_uint_eq(j.buf[j.boff[2]], 0xa5);
        ck_assert_uint_eq(j.buf[j.boff[1] - 1], 0xa5);
        range_job_free(&j);
}
END_TEST

START_TEST(plans) {
        cadu_range r[200];
        for (size_t i = 0; i < 200; i++)
                r[i] = (cadu_range) { i * 1000, 500 };  /* gaps of 500 */
        range_call c = { .r = r, .n = 200 };
        range_job j;

        /* Single range: gaps up to max_gap merged, window bounds the bytes. */
        range_plan(&j, &c, 0, 200, false, 500, 1 << 20);
        ck_assert(!j.multi);
        ck_assert_uint_eq(j.nsegs, 1);
        ck_assert_uint_eq(j.last, 200);
        range_plan(&j, &c, 0, 200, false, 499, 1 << 20);
        ck_assert_uint_eq(j.last, 1);
        range_plan(&j, &c, 10, 200, false, 500, 5000);
        ck_assert_uint_eq(j.last, 20);                  /* 10 x 500 bytes */
        range_plan(&j, &c, 10, 15, false, 500, 5000);
        ck_assert_uint_eq(j.last, 15);                  /* the limit */
        /* A first range larger than the window goes alone. */
        cadu_range big[2] = { { 0, 10000 }, { 10000, 10 } };
        range_call cb = { .r = big, .n = 2 };
        range_plan(&j, &cb, 0, 2, false, 500, 5000);
        ck_assert_uint_eq(j.last, 1);
        /* Multi-range: gaps above a part's overhead make new segments, at
         * most RANGE_MAX_SEGS of them. */
        range_plan(&j, &c, 0, 200, true, 1 << 20, 1 << 20);
        ck_assert(j.multi);
        ck_assert_uint_eq(j.nsegs, RANGE_MAX_SEGS);
        ck_assert_uint_eq(j.last, RANGE_MAX_SEGS);
        for (size_t s = 0; s <= j.nsegs; s++)
                ck_assert_uint_eq(j.seg_first[s], s);
        for (size_t i = 0; i < 200; i++)
                r[i] = (cadu_range) { i * 600, 500 };   /* gaps of 100 */
        range_plan(&j, &c, 0, 200, true, 1 << 20, 1 << 20);
        ck_assert(!j.multi);
        ck_assert_uint_eq(j.last, 200);
}
END_TEST

START_TEST(relpaths) {
        static const char *ok[] = { "packs/ab.capack", "a", "x/y/z.cadelta", "A-b_c.d" };
        static const char *bad[] = { "", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/", ".", "..",
                                     "a b", "a\\b", "a?b", "a%2e" };
        for (size_t i = 0; i < CADU_ELEMENTSOF(ok); i++)
                ck_assert_msg(cadu_store_relpath_valid(ok[i]), "%s", ok[i]);
        for (size_t i = 0; i < CADU_ELEMENTSOF(bad); i++)
                ck_assert_msg(!cadu_store_relpath_valid(bad[i]), "%s", bad[i]);
        char longp[300];
        memset(longp, 'a', sizeof(longp));
        longp[255] = 0;
        ck_assert(cadu_store_relpath_valid(longp));
        longp[255] = 'a';
        longp[256] = 0;
        ck_assert(!cadu_store_relpath_valid(longp));
}
END_TEST

int main(void) {
        Suite *s = suite_create("byteranges");
        TCase *tc = tcase_create("byteranges");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, invalid_files);
        tcase_add_test(tc, valid_files);
        tcase_add_test(tc, content_range);
        tcase_add_test(tc, boundary);
        tcase_add_test(tc, cost_model);
        tcase_add_test(tc, buffer_cap);
        tcase_add_test(tc, buffer_release);
        tcase_add_test(tc, plans);
        tcase_add_test(tc, relpaths);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
