/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-index.h"

static const char *srcdir(void) {
        const char *s = getenv("top_srcdir");
        return s ? s : ".";
}

/* Every golden invalid index is rejected with its own reason. */
START_TEST(invalid_files) {
        char path[4096], line[512];
        snprintf(path, sizeof(path), "%s/tests/index-invalid/EXPECTED", srcdir());
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "%s", path);
        int n = 0;
        while (fgets(line, sizeof(line), f)) {
                char *tab = strchr(line, '\t');
                ck_assert_ptr_nonnull(tab);
                *tab = 0;
                tab[strcspn(tab + 1, "\n") + 1] = 0;
                snprintf(path, sizeof(path), "%s/tests/index-invalid/%s.caibx", srcdir(), line);
                cadu_index *idx = NULL;
                const char *why = NULL;
                int r = cadu_index_read(path, &idx, &why);
                ck_assert_msg(r == -EBADMSG, "%s: r=%d", line, r);
                ck_assert_ptr_null(idx);
                ck_assert_msg(why && !strcmp(why, tab + 1), "%s: got '%s', want '%s'", line, why ? why : "(null)", tab + 1);
                n++;
        }
        fclose(f);
        ck_assert_int_ge(n, 15);
}
END_TEST

/* Every vector parses, matches its text form and serialises byte-identically. */
START_TEST(vectors_roundtrip) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/tests/vectors", srcdir());
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        struct dirent *de;
        int n = 0;
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l < 6 || strcmp(de->d_name + l - 6, ".caibx"))
                        continue;
                char path[4200], txt[4200];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                snprintf(txt, sizeof(txt), "%s/%.*s.txt", dir, (int)(l - 6), de->d_name);
                uint8_t *buf;
                size_t len;
                ck_assert_int_eq(cadu_read_file(path, 1 << 24, &buf, &len), 0);
                cadu_index *idx = NULL;
                ck_assert_int_eq(cadu_index_parse(buf, len, &idx, NULL), 0);
                uint8_t *out;
                size_t olen;
                ck_assert_int_eq(cadu_index_serialize(idx, &out, &olen), 0);
                ck_assert_uint_eq(olen, len);
                ck_assert_mem_eq(out, buf, len);

                FILE *f = fopen(txt, "r");
                ck_assert_ptr_nonnull(f);
                char line[256];
                unsigned long long flags, mn, av, mx;
                ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
                ck_assert_int_eq(sscanf(line, "# flags=%llx min=%llu avg=%llu max=%llu", &flags, &mn, &av, &mx), 4);
                ck_assert_uint_eq(flags, idx->flags);
                ck_assert_uint_eq(mn, idx->min);
                ck_assert_uint_eq(av, idx->avg);
                ck_assert_uint_eq(mx, idx->max);
                size_t i = 0;
                unsigned long long end;
                char hex[80];
                while (fscanf(f, "%llu %79s", &end, hex) == 2) {
                        uint8_t id[32];
                        ck_assert_uint_lt(i, idx->n);
                        ck_assert_uint_eq(end, idx->items[i].end);
                        ck_assert_int_eq(cadu_hex_decode(hex, id, 32), 0);
                        ck_assert_mem_eq(id, idx->items[i].id, 32);
                        i++;
                }
                ck_assert_uint_eq(i, idx->n);
                fclose(f);
                free(out);
                free(buf);
                cadu_index_free(idx);
                n++;
        }
        closedir(d);
        ck_assert_int_eq(n, 24);
}
END_TEST

START_TEST(append_rules) {
        cadu_index *idx;
        uint8_t id[32] = { 1 };
        ck_assert_int_eq(cadu_index_new(CADU_DIGEST_SHA256, 2, 1, 4, &idx), -EINVAL);
        ck_assert_int_eq(cadu_index_new(CADU_DIGEST_SHA256, 1, 2, 4, &idx), -EINVAL);
        ck_assert_int_eq(cadu_index_new(CADU_DIGEST_SHA512_256, 1, 2, 48, &idx), 0);
        ck_assert_uint_eq(idx->flags, CADU_CAIBX_FLAGS_SHA512_256);
        ck_assert_int_eq(cadu_index_append(idx, 0, id), -EINVAL);
        ck_assert_int_eq(cadu_index_append(idx, 3, id), 0);
        ck_assert_int_eq(cadu_index_append(idx, 3, id), -EINVAL);
        ck_assert_int_eq(cadu_index_append(idx, 3 + 49, id), -E2BIG);
        ck_assert_int_eq(cadu_index_append(idx, 7, id), 0);
        ck_assert_uint_eq(cadu_index_size(idx), 7);
        ck_assert_uint_eq(cadu_index_chunk_size(idx, 1), 4);
        ck_assert_uint_eq(cadu_index_chunk_offset(idx, 1), 3);
        cadu_index_free(idx);
        ck_assert_ptr_null(cadu_index_free(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("index");
        TCase *tc = tcase_create("caibx");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, invalid_files);
        tcase_add_test(tc, vectors_roundtrip);
        tcase_add_test(tc, append_rules);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
