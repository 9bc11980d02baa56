/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encrypted-store parsers (doc/encryption.md): the key file, the encrypted
 * index header and its opening, sealed chunk files, and (first byte 0xf0 ..
 * 0xf2) the clear parts of sealed pack indexes and delta files and delta
 * file names. The first byte picks the parser; the rest is its input. Under the fixed fuzz key (32 bytes of
 * 0x11, key file "1111...") nothing forged opens, nothing crashes, and what
 * is sealed opens to itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-crypt.h"

static cadu_crypt_key key;

static void fuzz_key(const uint8_t *data, size_t size) {
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        int r = cadu_crypt_key_parse(data, size, secret);
        if (r == 0 && size != 64 && !(size == 65 && data[64] == '\n'))
                abort();
        if (r < 0 && r != -EINVAL)
                abort();
}

static void fuzz_index(const uint8_t *data, size_t size) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        const uint8_t *names;
        size_t n;
        cadu_buf out = CADU_BUF_INIT, again = CADU_BUF_INIT;
        static const uint8_t id[CADU_DIGEST_SIZE];
        int r = cadu_crypt_index_header(data, size, key_id, &names, &n);
        if (r == 0 && (names != data + CADU_CRYPT_INDEX_FIXED ||
                       size < CADU_CRYPT_INDEX_FIXED + n * CADU_CRYPT_NAME_SIZE + CADU_CRYPT_NONCE_SIZE + CADU_CRYPT_TAG_SIZE))
                abort();
        r = cadu_crypt_index_open(&key, data, size, &out);
        if (r < 0 && r != -EBADMSG && r != -EKEYREJECTED && r != -ENOMEM)
                abort();
        /* Round trip: the input as a plain index of one chunk. */
        if (cadu_crypt_index_seal(&key, data, size, id, 0, size ? 1 : 0, &again) == 0) {
                if (cadu_crypt_index_open(&key, again.data, again.len, &out) < 0 || out.len != size ||
                    (size && memcmp(out.data, data, size)))
                        abort();
        }
        cadu_buf_free(&out);
        cadu_buf_free(&again);
}

static void fuzz_chunk(const uint8_t *data, size_t size) {
        uint8_t name[CADU_CRYPT_NAME_SIZE], id[CADU_DIGEST_SIZE] = { 0 };
        cadu_buf buf = CADU_BUF_INIT, sealed = CADU_BUF_INIT;
        size_t n;
        /* Chunks named after the fixed id (zeros). */
        if (cadu_crypt_chunk_name(&key, id, name) < 0 || cadu_buf_append(&buf, data, size) < 0)
                goto out;
        int r = cadu_crypt_chunk_open(&key, name, buf.data, buf.len, &n);
        if (r == 0 && n != size - CADU_CRYPT_CHUNK_OVERHEAD)
                abort();
        if (r < 0 && r != -EBADMSG && r != -EKEYREJECTED)
                abort();
        if (cadu_crypt_chunk_seal(&key, id, name, data, size, &sealed) == 0) {
                if (cadu_crypt_chunk_open(&key, name, sealed.data, sealed.len, &n) < 0 || n != size ||
                    (size && memcmp(sealed.data, data, size)))
                        abort();
        }
out:
        cadu_buf_free(&buf);
        cadu_buf_free(&sealed);
}

/* A sealed pack index: its clear header within the file, and opening it
 * (nothing forged opens); sealing the input with that header opens again. */
static void fuzz_packidx(const uint8_t *data, size_t size) {
        static const uint8_t sha[CADU_DIGEST_SIZE];
        cadu_crypt_packidx_header h;
        cadu_buf buf = CADU_BUF_INIT, sealed = CADU_BUF_INIT;
        size_t off, n;
        int r = cadu_crypt_packidx_header_parse(data, size, &h);
        if (r == 0 && (h.packs != data + CADU_CRYPT_SEALED_HEADER + 8 ||
                       CADU_CRYPT_SEALED_HEADER + h.clear_len + CADU_CRYPT_NONCE_SIZE + CADU_CRYPT_TAG_SIZE > size ||
                       h.clear_len != 16 + h.npacks * CADU_CRYPT_PACKIDX_PACK + h.ndeltas * CADU_CRYPT_DELTA_BIND))
                abort();
        if (r < 0 && r != -EBADMSG)
                abort();
        if (cadu_buf_append(&buf, data, size) == 0) {
                r = cadu_crypt_packidx_open(&key, sha, buf.data, buf.len, &off, &n);
                if (r < 0 && r != -EBADMSG && r != -EKEYREJECTED && r != -ENOMEM)
                        abort();
        }
        /* The input as the plain file, with one pack and one delta. */
        uint8_t pk[CADU_CRYPT_PACKIDX_PACK] = { 1 }, dl[CADU_CRYPT_DELTA_BIND] = { 2 };
        if (cadu_crypt_packidx_seal(&key, sha, pk, 1, dl, 1, data, size, &sealed) == 0) {
                if (cadu_crypt_packidx_open(&key, sha, sealed.data, sealed.len, &off, &n) < 0 || n != size ||
                    (size && memcmp(sealed.data + off, data, size)))
                        abort();
        }
        cadu_buf_free(&buf);
        cadu_buf_free(&sealed);
}

/* A sealed delta file's clear header, and opening it under a fixed name. */
static void fuzz_delta(const uint8_t *data, size_t size) {
        static const uint8_t ids[2][CADU_DIGEST_SIZE] = { { 3 }, { 4 } };
        uint8_t bind[CADU_CRYPT_DELTA_BIND];
        char path[128];
        const uint8_t *names;
        cadu_buf buf = CADU_BUF_INIT, sealed = CADU_BUF_INIT;
        size_t nb, off, n;
        int r = cadu_crypt_delta_header(data, size, &nb, &names);
        if (r == 0 && (nb < 1 || nb > CADU_CRYPT_DELTA_MAX_BASES ||
                       CADU_CRYPT_SEALED_OVERHEAD + 4 + nb * CADU_CRYPT_NAME_SIZE > size))
                abort();
        if (r < 0 && r != -EBADMSG)
                abort();
        if (cadu_crypt_delta_path(&key, ids[0], &ids[1], 1, path, bind) < 0 || cadu_buf_append(&buf, data, size) < 0)
                goto out;
        r = cadu_crypt_delta_open(&key, bind, buf.data, buf.len, &off, &n);
        if (r < 0 && r != -EBADMSG && r != -EKEYREJECTED && r != -ENOMEM)
                abort();
        if (cadu_crypt_delta_seal(&key, ids[0], &ids[1], 1, data, size, path, &sealed) == 0) {
                if (cadu_crypt_delta_open(&key, bind, sealed.data, sealed.len, &off, &n) < 0 || n != size ||
                    (size && memcmp(sealed.data + off, data, size)))
                        abort();
        }
out:
        cadu_buf_free(&buf);
        cadu_buf_free(&sealed);
}

static void fuzz_delta_name(const uint8_t *data, size_t size) {
        uint8_t bind[CADU_CRYPT_DELTA_BIND];
        char *name = strndup((const char *)data, size);
        if (name && cadu_crypt_delta_name_parse(name, bind) == 0 && strlen(name) != 64 + 1 + 16 + 8)
                abort();
        free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready;
        if (!ready) {
                ready = true;
                uint8_t secret[CADU_CRYPT_KEY_SIZE];
                memset(secret, 0x11, sizeof(secret));
                if (cadu_crypt_key_derive(secret, &key) < 0)
                        abort();
        }
        if (size == 0)
                return 0;
        switch (data[0]) {
        case 0xf0: fuzz_packidx(data + 1, size - 1); return 0;
        case 0xf1: fuzz_delta(data + 1, size - 1); return 0;
        case 0xf2: fuzz_delta_name(data + 1, size - 1); return 0;
        default: break;
        }
        switch (data[0] % 3) {
        case 0: fuzz_key(data + 1, size - 1); break;
        case 1: fuzz_index(data + 1, size - 1); break;
        default: fuzz_chunk(data + 1, size - 1); break;
        }
        return 0;
}
