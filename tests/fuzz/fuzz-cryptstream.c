/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sealed-stream opener (store/crypt-stream.c) under the fixed fuzz key
 * (32 bytes of 0x11): whatever the input, fed whole and in pieces of a size
 * taken from its first byte, nothing crashes, both ways agree, only
 * -EBADMSG or -EKEYREJECTED fail, and a success opens to plaintext that
 * seals and opens back to itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-crypt.h"

static cadu_crypt_key key;

static int collect(void *ud, const uint8_t *data, size_t len) {
        return cadu_buf_append(ud, data, len);
}

static int open_in(const uint8_t *data, size_t size, size_t step, cadu_buf *out) {
        cadu_crypt_stream *s;
        if (cadu_crypt_stream_new(&key, "rdiff:rootfs", false, &s) < 0)
                abort();
        int r = 0;
        for (size_t off = 0; r == 0 && off < size; off += step)
                r = cadu_crypt_stream_push(s, data + off, size - off < step ? size - off : step, collect, out);
        if (r == 0)
                r = cadu_crypt_stream_finish(s, collect, out);
        cadu_crypt_stream_free(s);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool init;
        if (!init) {
                uint8_t secret[CADU_CRYPT_KEY_SIZE];
                memset(secret, 0x11, sizeof(secret));
                if (cadu_crypt_key_derive(secret, &key) < 0)
                        abort();
                init = true;
        }
        cadu_buf a = CADU_BUF_INIT, b = CADU_BUF_INIT, sealed = CADU_BUF_INIT;
        size_t step = size ? (size_t)data[0] * 97 + 1 : 1;
        int r1 = open_in(data, size, size ? size : 1, &a), r2 = open_in(data, size, step, &b);
        if (r1 != r2 || (r1 < 0 && r1 != -EBADMSG && r1 != -EKEYREJECTED && r1 != -ENOMEM))
                abort();
        if (r1 == 0 && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)) ||
                        size != cadu_crypt_stream_size(a.len)))
                abort();
        /* Round trip: the input as plaintext. */
        cadu_crypt_stream *s;
        if (cadu_crypt_stream_new(&key, "rdiff:rootfs", true, &s) < 0)
                abort();
        if (cadu_crypt_stream_push(s, data, size, collect, &sealed) == 0 &&
            cadu_crypt_stream_finish(s, collect, &sealed) == 0) {
                a.len = 0;
                if (open_in(sealed.data, sealed.len, step, &a) != 0 || a.len != size ||
                    (size && memcmp(a.data, data, size)))
                        abort();
        }
        cadu_crypt_stream_free(s);
        cadu_buf_free(&a);
        cadu_buf_free(&b);
        cadu_buf_free(&sealed);
        return 0;
}
