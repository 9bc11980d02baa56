/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pack indexes and catalogs: golden valid and invalid files, round trips. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-pack.h"

static const char *srcdir(void) {
        const char *s = getenv("top_srcdir");
        return s ? s : ".";
}

static void load(const char *name, uint8_t **buf, size_t *len) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/pack-invalid/%s", srcdir(), name);
        ck_assert_msg(cadu_read_file(path, 1 << 20, buf, len) == 0, "%s", path);
}

/* The index the golden files describe, and its sha256. */
static cadu_index *release(uint8_t sha[CADU_DIGEST_SIZE]) {
        uint8_t *b;
        size_t len;
        cadu_index *idx = NULL;
        load("release.caibx", &b, &len);
        ck_assert_int_eq(cadu_index_parse(b, len, &idx, NULL), 0);
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, b, len, sha), 0);
        free(b);
        return idx;
}

static void sha_of(const char *s, uint8_t out[CADU_DIGEST_SIZE]) {
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, s, strlen(s), out), 0);
}

START_TEST(valid_file) {
        uint8_t sha[CADU_DIGEST_SIZE], id[CADU_DIGEST_SIZE], *b;
        size_t len;
        cadu_index *idx = release(sha);
        cadu_pack_index *pi = NULL;
        const char *why = NULL;
        load("valid.capx", &b, &len);
        ck_assert_int_eq(cadu_pack_index_parse(b, len, idx, sha, &pi, &why), 0);
        ck_assert_int_eq(pi->npacks, 2);
        sha_of("pack1", id);
        ck_assert_mem_eq(pi->packs[1].id, id, CADU_DIGEST_SIZE);
        ck_assert_int_eq(pi->packs[0].size, 1300);
        ck_assert_int_eq(pi->nentries, 3);
        ck_assert_int_eq(pi->first[0], 0);
        ck_assert_int_eq(pi->first[1], 1);
        ck_assert_int_eq(pi->first[2], 3);
        ck_assert_int_eq(pi->first[3], 3);
        ck_assert_int_eq(pi->first[4], 3);
        const cadu_pack_entry *d = &pi->entries[1];
        ck_assert_int_eq(d->chunk, 1);
        ck_assert_int_eq(d->off, 1000);
        ck_assert_int_eq(d->len, 300);
        ck_assert_int_eq(d->nbases, 2);
        sha_of("seed chunk", id);
        ck_assert_mem_eq(pi->base_ids[d->bases], id, CADU_DIGEST_SIZE);
        ck_assert_mem_eq(pi->base_ids[d->bases + 1], idx->items[0].id, CADU_DIGEST_SIZE);
        ck_assert_int_eq(pi->entries[2].pack, 1);
        ck_assert_int_eq(pi->entries[2].off, 0);
        ck_assert_int_eq(pi->entries[2].nbases, 0);

        /* Written again, it parses to the same entries. */
        cadu_buf out = CADU_BUF_INIT;
        cadu_pack_index *pj = NULL;
        ck_assert_int_eq(cadu_pack_index_serialize(pi, idx, &out), 0);
        ck_assert_int_eq(cadu_pack_index_parse(out.data, out.len, idx, sha, &pj, &why), 0);
        ck_assert_int_eq(pj->nentries, pi->nentries);
        for (size_t e = 0; e < pi->nentries; e++) {
                ck_assert_int_eq(pj->entries[e].off, pi->entries[e].off);
                ck_assert_int_eq(pj->entries[e].len, pi->entries[e].len);
                ck_assert_int_eq(pj->entries[e].chunk, pi->entries[e].chunk);
        }
        ck_assert_mem_eq(pj->base_ids, pi->base_ids, pi->nbases * CADU_DIGEST_SIZE);
        /* A base that is a chunk of the index costs one byte, not 33. */
        ck_assert_uint_lt(out.len, len + 16);
        cadu_pack_index_free(pj);
        cadu_buf_free(&out);
        cadu_pack_index_free(pi);
        cadu_index_free(idx);
        free(b);
}
END_TEST

/* Every golden invalid pack index is rejected with its own reason. */
START_TEST(invalid_files) {
        char path[4096], line[512];
        uint8_t sha[CADU_DIGEST_SIZE];
        cadu_index *idx = release(sha);
        snprintf(path, sizeof(path), "%s/tests/pack-invalid/EXPECTED", srcdir());
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "%s", path);
        int n = 0;
        while (fgets(line, sizeof(line), f)) {
                char *tab = strchr(line, '\t');
                ck_assert_ptr_nonnull(tab);
                *tab = 0;
                tab[strcspn(tab + 1, "\n") + 1] = 0;
                char name[600];
                snprintf(name, sizeof(name), "%s.capx", line);
                uint8_t *b;
                size_t len;
                load(name, &b, &len);
                cadu_pack_index *pi = NULL;
                const char *why = NULL;
                int r = cadu_pack_index_parse(b, len, idx, sha, &pi, &why);
                ck_assert_msg(r == -EBADMSG, "%s: r=%d", line, r);
                ck_assert_ptr_null(pi);
                ck_assert_msg(why && !strcmp(why, tab + 1), "%s: got '%s', want '%s'", line, why ? why : "(null)", tab + 1);
                free(b);
                n++;
        }
        fclose(f);
        ck_assert_int_ge(n, 25);
        cadu_index_free(idx);
}
END_TEST

/* The writer refuses what a reader would reject. */
START_TEST(builder_limits) {
        uint8_t sha[CADU_DIGEST_SIZE], id[CADU_DIGEST_SIZE];
        cadu_index *idx = release(sha);
        cadu_pack_index *pi = NULL;
        uint32_t p, q;
        sha_of("p", id);
        ck_assert_int_eq(cadu_pack_index_new(idx, sha, &pi), 0);
        ck_assert_int_eq(cadu_pack_index_add_pack(pi, id, 100, &p), 0);
        ck_assert_int_eq(cadu_pack_index_add_pack(pi, id, 100, &q), 0);
        ck_assert_int_eq(p, q);
        ck_assert_int_eq(cadu_pack_index_add_entry(pi, 4, p, 0, 10, NULL, 0), -EINVAL);
        ck_assert_int_eq(cadu_pack_index_add_entry(pi, 0, p, 95, 10, NULL, 0), -EINVAL);
        ck_assert_int_eq(cadu_pack_index_add_entry(pi, 1, p, 0, 10, NULL, 0), 0);
        ck_assert_int_eq(cadu_pack_index_add_entry(pi, 0, p, 10, 10, NULL, 0), -EINVAL);
        for (int i = 1; i < CADU_PACK_MAX_ENTRIES; i++)
                ck_assert_int_eq(cadu_pack_index_add_entry(pi, 1, p, 10 * (uint64_t)i, 10, NULL, 0), 0);
        ck_assert_int_eq(cadu_pack_index_add_entry(pi, 1, p, 90, 10, NULL, 0), -E2BIG);
        /* Entries need not follow their pack's order (chunks of earlier packs). */
        ck_assert_int_eq(cadu_pack_index_add_entry(pi, 2, p, 0, 5, NULL, 0), 0);
        cadu_buf out = CADU_BUF_INIT;
        cadu_pack_index *pj = NULL;
        ck_assert_int_eq(cadu_pack_index_serialize(pi, idx, &out), 0);
        ck_assert_int_eq(cadu_pack_index_parse(out.data, out.len, idx, sha, &pj, NULL), 0);
        ck_assert_int_eq(pj->nentries, CADU_PACK_MAX_ENTRIES + 1);
        ck_assert_int_eq(pj->entries[CADU_PACK_MAX_ENTRIES].off, 0);
        ck_assert_int_eq(pj->entries[CADU_PACK_MAX_ENTRIES - 1].off, 30);
        cadu_pack_index_free(pj);
        cadu_buf_free(&out);
        cadu_pack_index_free(pi);
        cadu_index_free(idx);
}
END_TEST

START_TEST(catalog) {
        cadu_pack_catalog *c = NULL, *d = NULL;
        uint8_t a[CADU_DIGEST_SIZE], bases[2][CADU_DIGEST_SIZE];
        cadu_buf out = CADU_BUF_INIT;
        const char *why = NULL;
        sha_of("a", a);
        sha_of("b0", bases[0]);
        sha_of("b1", bases[1]);
        ck_assert_int_eq(cadu_pack_catalog_new(&c), 0);
        sha_of("pack", c->pack_id);
        ck_assert_int_eq(cadu_pack_catalog_add(c, a, 100, NULL, 0), 0);
        ck_assert_int_eq(cadu_pack_catalog_add(c, a, 20, (const uint8_t(*)[CADU_DIGEST_SIZE])bases, 2), 0);
        ck_assert_int_eq(cadu_pack_catalog_size(c), 120);
        ck_assert_int_eq(cadu_pack_catalog_serialize(c, &out), 0);
        ck_assert_int_eq(out.len, CADU_PACKCAT_HEADER_SIZE + 2 * 52 + 64);
        ck_assert_int_eq(cadu_pack_catalog_parse(out.data, out.len, c->pack_id, &d, &why), 0);
        ck_assert_int_eq(d->n, 2);
        ck_assert_int_eq(d->entries[1].off, 100);
        ck_assert_int_eq(d->entries[1].nbases, 2);
        ck_assert_mem_eq(d->base_ids[d->entries[1].bases + 1], bases[1], CADU_DIGEST_SIZE);
        d = cadu_pack_catalog_free(d);
        /* Malformed: another pack, truncation, a gap, trailing bytes. */
        ck_assert_int_eq(cadu_pack_catalog_parse(out.data, out.len, a, &d, &why), -EBADMSG);
        ck_assert_str_eq(why, "pack catalog belongs to another pack");
        ck_assert_int_eq(cadu_pack_catalog_parse(out.data, out.len - 1, NULL, &d, &why), -EBADMSG);
        ck_assert_str_eq(why, "pack catalog truncated");
        out.data[CADU_PACKCAT_HEADER_SIZE + 52] ^= 1;
        ck_assert_int_eq(cadu_pack_catalog_parse(out.data, out.len, NULL, &d, &why), -EBADMSG);
        ck_assert_str_eq(why, "pack catalog entries are not contiguous");
        out.data[CADU_PACKCAT_HEADER_SIZE + 52] ^= 1;
        uint8_t z = 0;
        ck_assert_int_eq(cadu_buf_append(&out, &z, 1), 0);
        ck_assert_int_eq(cadu_pack_catalog_parse(out.data, out.len, NULL, &d, &why), -EBADMSG);
        ck_assert_str_eq(why, "pack catalog has bytes after its last entry");
        cadu_put_le64(out.data + 48, UINT64_C(1) << 60);
        ck_assert_int_eq(cadu_pack_catalog_parse(out.data, out.len, NULL, &d, &why), -EBADMSG);
        ck_assert_str_eq(why, "pack catalog lists more entries than it holds");
        cadu_buf_free(&out);
        cadu_pack_catalog_free(c);
}
END_TEST

int main(void) {
        Suite *s = suite_create("pack");
        TCase *tc = tcase_create("pack");
        tcase_add_test(tc, valid_file);
        tcase_add_test(tc, invalid_files);
        tcase_add_test(tc, builder_limits);
        tcase_add_test(tc, catalog);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
