/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cadu-store.h"

static uint8_t data[100000];

static void fill(void) {
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)(i % 251 < 100 ? i * 7 : 'a' + i % 13);
}

START_TEST(codec_roundtrip_and_limits) {
        cadu_buf z = CADU_BUF_INIT, out = CADU_BUF_INIT;
        fill();
        ck_assert_int_eq(cadu_chunk_compress(3, data, sizeof(data), &z), 0);
        ck_assert_uint_lt(z.len, sizeof(data));
        ck_assert_int_eq(cadu_chunk_decode(z.data, z.len, sizeof(data), &out), 0);
        ck_assert_uint_eq(out.len, sizeof(data));
        ck_assert_mem_eq(out.data, data, sizeof(data));
        /* One byte over the cap: refused, whatever the frame claims. */
        ck_assert_int_eq(cadu_chunk_decode(z.data, z.len, sizeof(data) - 1, &out), -EFBIG);
        /* Truncated and corrupt frames. */
        ck_assert_int_eq(cadu_chunk_decode(z.data, z.len - 5, sizeof(data), &out), -EBADMSG);
        z.data[z.len / 2] ^= 0xff;
        int r = cadu_chunk_decode(z.data, z.len, sizeof(data), &out);
        ck_assert(r == -EBADMSG || (r == 0 && memcmp(out.data, data, sizeof(data)) != 0) || r == -EFBIG);
        /* Trailing garbage after the frame. */
        ck_assert_int_eq(cadu_chunk_compress(3, data, sizeof(data), &z), 0);
        ck_assert_int_eq(cadu_buf_append(&z, "xx", 2), 0);
        ck_assert_int_eq(cadu_chunk_decode(z.data, z.len, sizeof(data), &out), -EBADMSG);
        /* Plain chunks pass through, with the same cap. */
        ck_assert_int_eq(cadu_chunk_decode("hello", 5, 5, &out), 0);
        ck_assert_uint_eq(out.len, 5);
        ck_assert_int_eq(cadu_chunk_decode("hello", 5, 4, &out), -EFBIG);
        cadu_buf_free(&z);
        cadu_buf_free(&out);
        cadu_chunk_codec_release();
}
END_TEST

START_TEST(dir_store_verifies) {
        char tmpl[] = "/tmp/cadu-store-test.XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        cadu_store *s;
        ck_assert_int_eq(cadu_store_open(tmpl, NULL, true, &s), 0);
        uint8_t id[32], other[32];
        cadu_buf z = CADU_BUF_INIT, raw = CADU_BUF_INIT, out = CADU_BUF_INIT;
        fill();
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, data, sizeof(data), id), 0);
        ck_assert_int_eq(s->ops->has(s, id), 0);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, 0, sizeof(data), &raw, &out), -ENOENT);
        ck_assert_int_eq(cadu_chunk_compress(3, data, sizeof(data), &z), 0);
        ck_assert_int_eq(s->ops->put(s, id, z.data, z.len), 0);
        ck_assert_int_eq(s->ops->has(s, id), 1);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, sizeof(data), sizeof(data), &raw, &out), 0);
        ck_assert_mem_eq(out.data, data, sizeof(data));
        /* Wrong expected size, wrong digest type, content stored under another id. */
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, 5, sizeof(data), &raw, &out), -EBADMSG);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA512_256, id, 0, sizeof(data), &raw, &out), -EBADMSG);
        memcpy(other, id, 32);
        other[31] ^= 1;
        ck_assert_int_eq(s->ops->put(s, other, z.data, z.len), 0);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, other, 0, sizeof(data), &raw, &out), -EBADMSG);
        /* No temporary files remain; the layout is casync's. */
        char *p;
        ck_assert_int_eq(cadu_store_dir_path(s, id, &p), 0);
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq((size_t)st.st_size, z.len);
        char expect[200], hex[65];
        cadu_hex_encode(id, 32, hex);
        snprintf(expect, sizeof(expect), "%s/%.4s/%s.cacnk", tmpl, hex, hex);
        ck_assert_str_eq(p, expect);
        free(p);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "test -z \"$(find %s -name '*.tmp')\" && rm -rf %s", tmpl, tmpl);
        ck_assert_int_eq(system(cmd), 0);
        cadu_store_free(s);
        cadu_buf_free(&z);
        cadu_buf_free(&raw);
        cadu_buf_free(&out);
        cadu_chunk_codec_release();
}
END_TEST

START_TEST(chain_falls_through) {
        char a[] = "/tmp/cadu-chain-a.XXXXXX", b[] = "/tmp/cadu-chain-b.XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(a));
        ck_assert_ptr_nonnull(mkdtemp(b));
        cadu_store *m[2], *c;
        ck_assert_int_eq(cadu_store_open_dir(a, false, &m[0]), 0);
        ck_assert_int_eq(cadu_store_open_dir(b, false, &m[1]), 0);
        uint8_t id[32];
        cadu_buf raw = CADU_BUF_INIT, out = CADU_BUF_INIT;
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, "abc", 3, id), 0);
        ck_assert_int_eq(m[1]->ops->put(m[1], id, "abc", 3), 0);
        ck_assert_int_eq(cadu_store_chain_new(m, 2, &c), 0);
        ck_assert_int_eq(c->ops->has(c, id), 1);
        ck_assert_int_eq(cadu_store_get_chunk(c, CADU_DIGEST_SHA256, id, 3, 10, &raw, &out), 0);
        ck_assert_mem_eq(out.data, "abc", 3);
        cadu_store_free(c);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s %s", a, b);
        ck_assert_int_eq(system(cmd), 0);
        cadu_buf_free(&raw);
        cadu_buf_free(&out);
}
END_TEST

/* Buffers that the kernel reads into start on a cache line (see
 * cadu_malloc_io) however they grow, and keep their contents. */
START_TEST(buffers_stay_aligned) {
        cadu_buf b = CADU_BUF_INIT;
        fill();
        for (size_t n = 1; n <= sizeof(data); n = n * 3 + 1) {
                b.len = 0;
                ck_assert_int_eq(cadu_buf_append(&b, data, n), 0);
                ck_assert_uint_eq((uintptr_t)b.data % 64, 0);
                ck_assert_mem_eq(b.data, data, n);
        }
        /* growing keeps what is there */
        b.len = 0;
        for (size_t off = 0; off < sizeof(data); off += 777) {
                size_t k = CADU_MIN((size_t)777, sizeof(data) - off);
                ck_assert_int_eq(cadu_buf_append(&b, data + off, k), 0);
                ck_assert_uint_eq((uintptr_t)b.data % 64, 0);
        }
        ck_assert_uint_eq(b.len, sizeof(data));
        ck_assert_mem_eq(b.data, data, sizeof(data));
        cadu_buf_free(&b);

        void *p = cadu_malloc_io(1 << 20);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        memcpy(p, data, 1000);
        ck_assert_int_eq(cadu_realloc_io(&p, 1000, 3 << 20), 0);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        ck_assert_mem_eq(p, data, 1000);
        ck_assert_int_eq(cadu_realloc_io(&p, 1000, 10), 0);  /* shrinking keeps the first 10 */
        ck_assert_mem_eq(p, data, 10);
        free(p);
}
END_TEST

/* A child whose writer threads store chunk files as fast as they can (64
 * names each, renamed over and over); SIGTERM at some moment must leave no
 * temporary file (util.c: from the signal on nothing new is created, and a
 * file being created is waited for before the table is read). */
static cadu_store *sig_store;

static void *sig_writer(void *arg) {
        uint8_t id[32] = { 0 };
        id[0] = (uint8_t)(uintptr_t)arg;
        for (unsigned i = 0;; i++) {
                id[1] = (uint8_t)(i % 64);
                (void)sig_store->ops->put(sig_store, id, data, 2000);
        }
        return NULL;
}

START_TEST(signal_leaves_no_tmp) {
        fill();
        for (int round = 0; round < 30; round++) {
                char tmpl[] = "/tmp/cadu-store-sig.XXXXXX", cmd[200];
                ck_assert_ptr_nonnull(mkdtemp(tmpl));
                ck_assert_int_eq(cadu_store_open(tmpl, NULL, true, &sig_store), 0);
                pid_t pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        cadu_tmp_cleanup_on_signals();
                        pthread_t t;
                        for (uintptr_t k = 0; k < 4; k++)
                                if (pthread_create(&t, NULL, sig_writer, (void *)k) != 0)
                                        _exit(2);
                        for (;;)
                                pause();
                }
                cadu_store_free(sig_store);
                usleep(10000 + 1000 * (useconds_t)round);
                ck_assert_int_eq(kill(pid, SIGTERM), 0);
                int status;
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
                snprintf(cmd, sizeof(cmd), "test -z \"$(find %s -name '*.tmp')\" && rm -rf %s", tmpl, tmpl);
                ck_assert_msg(system(cmd) == 0, "round %d: a temporary file was left in %s", round, tmpl);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");
        tcase_add_test(tc, codec_roundtrip_and_limits);
        tcase_add_test(tc, dir_store_verifies);
        tcase_add_test(tc, chain_falls_through);
        tcase_add_test(tc, buffers_stay_aligned);
        tcase_add_test(tc, signal_leaves_no_tmp);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
