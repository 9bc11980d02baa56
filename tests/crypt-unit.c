/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encrypted stores (store/store-crypt.c): key files, HKDF subkeys, keyed
 * names, name binding, determinism, the store layer over a directory and
 * encrypted indexes, each failure with its own code. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cadu-crypt.h"
#include "cadu-store.h"

static cadu_crypt_key k1, k2;

static void keys(void) {
        uint8_t s[CADU_CRYPT_KEY_SIZE];
        memset(s, 0x11, sizeof(s));
        ck_assert_int_eq(cadu_crypt_key_derive(s, &k1), 0);
        s[31] ^= 1;
        ck_assert_int_eq(cadu_crypt_key_derive(s, &k2), 0);
}

START_TEST(key_files) {
        uint8_t s[CADU_CRYPT_KEY_SIZE];
        const char *hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";
        ck_assert_int_eq(cadu_crypt_key_parse((const uint8_t *)hex, 65, s), 0);
        ck_assert_uint_eq(s[1], 0x11);
        ck_assert_uint_eq(s[31], 0xff);
        ck_assert_int_eq(cadu_crypt_key_parse((const uint8_t *)hex, 64, s), 0);
        ck_assert_int_eq(cadu_crypt_key_parse((const uint8_t *)hex, 63, s), -EINVAL);
        ck_assert_int_eq(cadu_crypt_key_parse((const uint8_t *)"00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg", 64, s), -EINVAL);
        ck_assert_int_eq(cadu_crypt_key_parse((const uint8_t *)"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\n", 66, s), -EINVAL);

        char dir[] = "/tmp/cadu-crypt-unit.XXXXXX", path[64];
        const char *why;
        cadu_crypt_key k;
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/key", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, hex, 65), 65);
        close(fd);
        ck_assert_int_eq(cadu_crypt_key_load(path, &k, &why), -EPERM);
        ck_assert_str_eq(why, "group or others may access it (chmod 600)");
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(cadu_crypt_key_load(path, &k, &why), 0);
        /* The key id is a derived label, not the key. */
        ck_assert_int_ne(memcmp(k.id, s, sizeof(k.id)), 0);
        ck_assert_int_eq(cadu_crypt_key_load(dir, &k, &why), -EPERM);
        unlink(path);
        ck_assert_int_eq(cadu_crypt_key_load(path, &k, &why), -ENOENT);
        rmdir(dir);
}
END_TEST

START_TEST(chunks_bound_to_name_and_key) {
        uint8_t id[CADU_DIGEST_SIZE], id2[CADU_DIGEST_SIZE], n1[32], n2[32], nk2[32];
        cadu_buf a = CADU_BUF_INIT, b = CADU_BUF_INIT;
        size_t len;
        keys();
        memset(id, 0xab, sizeof(id));
        memset(id2, 0xcd, sizeof(id2));
        ck_assert_int_eq(cadu_crypt_chunk_name(&k1, id, n1), 0);
        ck_assert_int_eq(cadu_crypt_chunk_name(&k1, id2, n2), 0);
        ck_assert_int_eq(cadu_crypt_chunk_name(&k2, id, nk2), 0);
        ck_assert_int_ne(memcmp(n1, id, 32), 0);
        ck_assert_int_ne(memcmp(n1, nk2, 32), 0);
        /* Deterministic: the same chunk seals to the same bytes. */
        ck_assert_int_eq(cadu_crypt_chunk_seal(&k1, id, n1, "chunk data", 10, &a), 0);
        ck_assert_int_eq(cadu_crypt_chunk_seal(&k1, id, n1, "chunk data", 10, &b), 0);
        ck_assert_uint_eq(a.len, 10 + CADU_CRYPT_CHUNK_OVERHEAD);
        ck_assert_mem_eq(a.data, b.data, a.len);
        /* The file doc/encryption.md specifies, byte for byte (computed apart
         * from cadu, with Python's cryptography package: HKDF, HMAC-SHA256,
         * ChaCha20-Poly1305 for the nonce's universal hash and the chunk). */
        static const char kat[] = "cad0434b0d0a1a019c3e69451ec5baa07880afb72a2db46216e8fe638832981d5226a71a"
                                  "4c1b61b69bdbfccf4eab0c85bfde026aa8e111a8d791ec9d745d";
        char hex[2 * (10 + CADU_CRYPT_CHUNK_OVERHEAD) + 1];
        cadu_hex_encode(a.data, a.len, hex);
        ck_assert_str_eq(hex, kat);
        /* Other bytes for the same id (another compression level): another nonce. */
        ck_assert_int_eq(cadu_crypt_chunk_seal(&k1, id, n1, "chunk dat4", 10, &b), 0);
        ck_assert_int_ne(memcmp(a.data + 24, b.data + 24, CADU_CRYPT_NONCE_SIZE), 0);
        /* Opened under another name: the authenticated data differs. */
        b.len = 0;
        ck_assert_int_eq(cadu_buf_append(&b, a.data, a.len), 0);
        ck_assert_int_eq(cadu_crypt_chunk_open(&k1, n2, b.data, b.len, &len), -EBADMSG);
        /* Under another key: refused on the key id. */
        b.len = 0;
        ck_assert_int_eq(cadu_buf_append(&b, a.data, a.len), 0);
        ck_assert_int_eq(cadu_crypt_chunk_open(&k2, n1, b.data, b.len, &len), -EKEYREJECTED);
        /* Truncated, short. */
        b.len = 0;
        ck_assert_int_eq(cadu_buf_append(&b, a.data, a.len), 0);
        ck_assert_int_eq(cadu_crypt_chunk_open(&k1, n1, b.data, b.len - 1, &len), -EBADMSG);
        ck_assert_int_eq(cadu_crypt_chunk_open(&k1, n1, b.data, CADU_CRYPT_CHUNK_OVERHEAD - 1, &len), -EBADMSG);
        /* Intact: in place (a failed open leaves the buffer undefined). */
        b.len = 0;
        ck_assert_int_eq(cadu_buf_append(&b, a.data, a.len), 0);
        ck_assert_int_eq(cadu_crypt_chunk_open(&k1, n1, b.data, b.len, &len), 0);
        ck_assert_uint_eq(len, 10);
        ck_assert_mem_eq(b.data, "chunk data", 10);
        cadu_buf_free(&a);
        cadu_buf_free(&b);
}
END_TEST

START_TEST(store_layer) {
        char dir[] = "/tmp/cadu-crypt-unit.XXXXXX";
        uint8_t data[5000], id[CADU_DIGEST_SIZE];
        cadu_store *inner, *s;
        cadu_buf z = CADU_BUF_INIT, raw = CADU_BUF_INIT, out = CADU_BUF_INIT;
        char *path;
        keys();
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)(i * 13);
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, data, sizeof(data), id), 0);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(cadu_store_open_dir(dir, false, &inner), 0);
        ck_assert_int_eq(cadu_store_crypt_new(inner, &k1, &s), 0);
        ck_assert_int_eq(s->ops->has(s, id), 0);
        ck_assert_int_eq(cadu_chunk_compress(3, data, sizeof(data), &z), 0);
        ck_assert_int_eq(s->ops->put(s, id, z.data, z.len), 0);
        ck_assert_int_eq(s->ops->has(s, id), 1);
        ck_assert_int_eq(cadu_store_touch(s, id), 0);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, sizeof(data), sizeof(data), &raw, &out), 0);
        ck_assert_mem_eq(out.data, data, sizeof(data));
        /* The file is under the keyed name, not the id. */
        ck_assert_int_eq(cadu_store_dir_path(s, id, &path), 0);
        ck_assert_ptr_null(strstr(path, "0000"));
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq((uint64_t)st.st_size, z.len + CADU_CRYPT_CHUNK_OVERHEAD);
        /* Verified against the plaintext id: asking for another id under
         * this file's name is impossible, a flipped file is corrupt. */
        int fd = open(path, O_WRONLY);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pwrite(fd, "x", 1, 40), 1);
        close(fd);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, 0, sizeof(data), &raw, &out), -EBADMSG);
        unlink(path);
        ck_assert_int_eq(cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, 0, sizeof(data), &raw, &out), -ENOENT);
        *strrchr(path, '/') = 0;
        rmdir(path);
        rmdir(dir);
        free(path);
        cadu_store_free(s);
        cadu_buf_free(&z);
        cadu_buf_free(&raw);
        cadu_buf_free(&out);
        cadu_chunk_codec_release();
}
END_TEST

START_TEST(indexes) {
        uint8_t ids[3][CADU_DIGEST_SIZE], key_id[CADU_CRYPT_KEY_ID_SIZE];
        cadu_buf sealed = CADU_BUF_INIT, out = CADU_BUF_INIT;
        const uint8_t *names;
        size_t n;
        keys();
        memset(ids, 1, sizeof(ids));
        ids[1][0] = 2;
        ck_assert_int_eq(cadu_crypt_index_seal(&k1, "plain index", 11, ids[0], CADU_DIGEST_SIZE, 3, &sealed), 0);
        ck_assert(cadu_crypt_index_is(sealed.data, sealed.len));
        ck_assert_int_eq(cadu_crypt_index_header(sealed.data, sealed.len, key_id, &names, &n), 0);
        ck_assert_uint_eq(n, 2);        /* ids[0] == ids[2]: one name */
        ck_assert_mem_eq(key_id, k1.id, sizeof(key_id));
        ck_assert_uint_eq(sealed.len, CADU_CRYPT_INDEX_FIXED + 2 * 32 + 12 + 11 + 16);
        ck_assert_int_eq(cadu_crypt_index_open(NULL, sealed.data, sealed.len, &out), -ENOKEY);
        ck_assert_int_eq(cadu_crypt_index_open(&k2, sealed.data, sealed.len, &out), -EKEYREJECTED);
        ck_assert_int_eq(cadu_crypt_index_open(&k1, sealed.data, sealed.len, &out), 0);
        ck_assert_uint_eq(out.len, 11);
        ck_assert_mem_eq(out.data, "plain index", 11);
        /* The names are authenticated: swap their order (now unsorted) or
         * flip one bit of a name. */
        sealed.data[CADU_CRYPT_INDEX_FIXED + 5] ^= 1;
        int r = cadu_crypt_index_open(&k1, sealed.data, sealed.len, &out);
        ck_assert_int_eq(r, -EBADMSG);
        sealed.data[CADU_CRYPT_INDEX_FIXED + 5] ^= 1;
        ck_assert_int_eq(cadu_crypt_index_open(&k1, sealed.data, sealed.len - 1, &out), -EBADMSG);
        /* A name count that does not fit. */
        sealed.data[24] = 200;
        ck_assert_int_eq(cadu_crypt_index_header(sealed.data, sealed.len, key_id, &names, &n), -EBADMSG);
        cadu_buf_free(&sealed);
        cadu_buf_free(&out);
}
END_TEST

int main(void) {
        Suite *s = suite_create("crypt");
        TCase *tc = tcase_create("crypt");
        tcase_add_test(tc, key_files);
        tcase_add_test(tc, chunks_bound_to_name_and_key);
        tcase_add_test(tc, store_layer);
        tcase_add_test(tc, indexes);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
