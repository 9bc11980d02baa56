/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealed streams: STREAM over ChaCha20-Poly1305 in 64 KiB segments, for
 * files of any size (cadu-crypt.h, doc/encryption.md). */
#include <errno.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cadu-crypt.h"

#define STREAM_INFO "cadu v1 stream file"
#define SEALED_SEGMENT (CADU_CRYPT_STREAM_SEGMENT + CADU_CRYPT_TAG_SIZE)

struct cadu_crypt_stream {
        bool seal;
        bool started;                   /* header written (seal) or read and checked (open) */
        int error;                      /* sticky failure, 0 while fine */
        uint64_t counter;               /* the next segment's number */
        cadu_crypt_key key;
        char role[CADU_CRYPT_STREAM_ROLE_MAX + 1];
        uint8_t file_key[32];
        uint8_t header[CADU_CRYPT_STREAM_HEADER];
        size_t have;                    /* bytes in buf (or of header while opening) */
        uint8_t buf[SEALED_SEGMENT];
        uint8_t out[SEALED_SEGMENT];
        EVP_CIPHER_CTX *ctx;
};

/* The file key from the stream subkey, the header's salt and the role. */
static int file_key(cadu_crypt_stream *s) {
        uint8_t info[sizeof(STREAM_INFO) + CADU_CRYPT_STREAM_ROLE_MAX];
        size_t rl = strlen(s->role);
        memcpy(info, STREAM_INFO, sizeof(STREAM_INFO));        /* with its NUL: the 0x00 separator */
        memcpy(info + sizeof(STREAM_INFO), s->role, rl);
        return cadu_crypt_hkdf(s->key.stream, sizeof(s->key.stream),
                               s->header + CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE, CADU_CRYPT_STREAM_SALT_SIZE,
                               info, sizeof(STREAM_INFO) + rl, s->file_key, sizeof(s->file_key));
}

/* Seal or open one segment of n bytes (without the tag) from in into
 * s->out, the tag following the ciphertext. */
static int segment(cadu_crypt_stream *s, const uint8_t *in, size_t n, bool last) {
        uint8_t nonce[CADU_CRYPT_NONCE_SIZE] = { 0 };
        int k = 0;
        for (int i = 0; i < 8; i++)
                nonce[i] = (uint8_t)(s->counter >> (8 * i));
        nonce[11] = last;
        if (EVP_CipherInit_ex2(s->ctx, EVP_chacha20_poly1305(), s->file_key, nonce, s->seal, NULL) != 1)
                return -EIO;
        if (!s->seal && EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, CADU_CRYPT_TAG_SIZE,
                                            (void *)(in + n)) != 1)
                return -EIO;
        if (EVP_CipherUpdate(s->ctx, NULL, &k, s->header, sizeof(s->header)) != 1)
                return -EIO;
        if (n && (EVP_CipherUpdate(s->ctx, s->out, &k, in, (int)n) != 1 || (size_t)k != n))
                return -EIO;
        if (EVP_CipherFinal_ex(s->ctx, s->out + n, &k) != 1)
                return s->seal ? -EIO : -EBADMSG;
        if (s->seal && EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, CADU_CRYPT_TAG_SIZE, s->out + n) != 1)
                return -EIO;
        s->counter++;
        return 0;
}

int cadu_crypt_stream_new(const cadu_crypt_key *k, const char *role, bool seal, cadu_crypt_stream **ret) {
        if (!k || !role || !ret || !*role || strlen(role) > CADU_CRYPT_STREAM_ROLE_MAX)
                return -EINVAL;
        cadu_crypt_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->seal = seal;
        s->key = *k;
        strcpy(s->role, role);
        if (!(s->ctx = EVP_CIPHER_CTX_new())) {
                cadu_crypt_stream_free(s);
                return -ENOMEM;
        }
        if (seal) {
                memcpy(s->header, CADU_CRYPT_STREAM_MAGIC, CADU_CRYPT_MAGIC_SIZE);
                memcpy(s->header + CADU_CRYPT_MAGIC_SIZE, k->id, CADU_CRYPT_KEY_ID_SIZE);
                int r = RAND_bytes(s->header + CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE,
                                   CADU_CRYPT_STREAM_SALT_SIZE) == 1 ? file_key(s) : -EIO;
                if (r < 0) {
                        cadu_crypt_stream_free(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

cadu_crypt_stream *cadu_crypt_stream_free(cadu_crypt_stream *s) {
        if (!s)
                return NULL;
        EVP_CIPHER_CTX_free(s->ctx);
        OPENSSL_cleanse(s, sizeof(*s));
        free(s);
        return NULL;
}

bool cadu_crypt_stream_is(const void *data, size_t len) {
        return len >= CADU_CRYPT_MAGIC_SIZE && !memcmp(data, CADU_CRYPT_STREAM_MAGIC, CADU_CRYPT_MAGIC_SIZE);
}

/* The header of an opened stream is complete: check it, derive the key. */
static int open_header(cadu_crypt_stream *s) {
        if (!cadu_crypt_stream_is(s->header, sizeof(s->header)))
                return -EBADMSG;
        if (memcmp(s->header + CADU_CRYPT_MAGIC_SIZE, s->key.id, CADU_CRYPT_KEY_ID_SIZE) != 0)
                return -EKEYREJECTED;
        return file_key(s);
}

static int push(cadu_crypt_stream *s, const uint8_t *p, size_t len, cadu_crypt_stream_out out, void *ud) {
        int r;
        if (s->seal && !s->started) {
                if ((r = out(ud, s->header, sizeof(s->header))) < 0)
                        return r;
                s->started = true;
        }
        if (!s->seal && !s->started) {
                size_t n = CADU_MIN(len, sizeof(s->header) - s->have);
                memcpy(s->header + s->have, p, n);
                s->have += n, p += n, len -= n;
                if (s->have < sizeof(s->header))
                        return 0;
                if ((r = open_header(s)) < 0)
                        return r;
                s->started = true;
                s->have = 0;
        }
        /* A full buffer is a segment that is not the last once more input
         * follows it. */
        size_t full = s->seal ? CADU_CRYPT_STREAM_SEGMENT : SEALED_SEGMENT;
        while (len > 0) {
                if (s->have == full) {
                        if ((r = segment(s, s->buf, s->seal ? full : full - CADU_CRYPT_TAG_SIZE, false)) < 0 ||
                            (r = out(ud, s->out, s->seal ? SEALED_SEGMENT : CADU_CRYPT_STREAM_SEGMENT)) < 0)
                                return r;
                        s->have = 0;
                }
                size_t n = CADU_MIN(len, full - s->have);
                memcpy(s->buf + s->have, p, n);
                s->have += n, p += n, len -= n;
        }
        return 0;
}

int cadu_crypt_stream_push(cadu_crypt_stream *s, const void *data, size_t len, cadu_crypt_stream_out out,
                           void *ud) {
        if (!s || (!data && len) || !out)
                return -EINVAL;
        if (s->error)
                return s->error;
        int r = push(s, data, len, out, ud);
        if (r < 0)
                s->error = r;
        return r;
}

int cadu_crypt_stream_finish(cadu_crypt_stream *s, cadu_crypt_stream_out out, void *ud) {
        if (!s || !out)
                return -EINVAL;
        if (s->error)
                return s->error;
        int r = 0;
        if (s->seal)
                r = push(s, NULL, 0, out, ud);
        else if (!s->started || s->have < CADU_CRYPT_TAG_SIZE)
                r = -EBADMSG;           /* truncated: no header, or no final tag */
        size_t n = s->seal ? s->have : s->have - CADU_CRYPT_TAG_SIZE;
        if (r == 0)
                r = segment(s, s->buf, n, true);
        if (r == 0)
                r = out(ud, s->out, s->seal ? n + CADU_CRYPT_TAG_SIZE : n);
        /* Nothing may follow the final segment. */
        s->error = r < 0 ? r : -EALREADY;
        return r;
}

struct fd_out {
        int fd;
};

static int write_out(void *ud, const uint8_t *data, size_t len) {
        struct fd_out *o = ud;
        return cadu_write_full(o->fd, data, len);
}

int cadu_crypt_stream_fd(const cadu_crypt_key *k, const char *role, bool seal, int in_fd, int out_fd) {
        cadu_crypt_stream *s = NULL;
        struct fd_out o = { out_fd };
        uint8_t *buf = malloc(SEALED_SEGMENT);
        int r = buf ? cadu_crypt_stream_new(k, role, seal, &s) : -ENOMEM;
        while (r == 0) {
                ssize_t n = read(in_fd, buf, SEALED_SEGMENT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : cadu_crypt_stream_finish(s, write_out, &o);
                        break;
                }
                r = cadu_crypt_stream_push(s, buf, (size_t)n, write_out, &o);
        }
        cadu_crypt_stream_free(s);
        free(buf);
        return r;
}
