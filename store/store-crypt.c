/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encrypted stores and indexes: key files, HKDF subkeys, keyed chunk names,
 * ChaCha20-Poly1305 with synthetic nonces (doc/encryption.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "cadu-crypt.h"

/* HKDF-SHA256 labels (info), one per derived value. */
#define LABEL_ID "cadu v1 key id"
#define LABEL_NAME "cadu v1 chunk name"
#define LABEL_NONCE "cadu v1 chunk nonce"
#define LABEL_NONCE_HASH "cadu v1 chunk nonce hash"
#define LABEL_CHUNK "cadu v1 chunk key"
#define LABEL_INDEX "cadu v1 index key"
#define LABEL_STREAM "cadu v1 stream key"

int cadu_crypt_hkdf(const uint8_t *secret, size_t secret_len, const uint8_t *salt, size_t salt_len, const void *info,
                    size_t info_len, uint8_t *out, size_t n) {
        EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
        if (!kdf)
                return -EOPNOTSUPP;
        EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
        EVP_KDF_free(kdf);
        if (!c)
                return -ENOMEM;
        OSSL_PARAM p[5], *q = p;
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
        if (salt)
                *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
        *q = OSSL_PARAM_construct_end();
        int r = EVP_KDF_derive(c, out, n, p) == 1 ? 0 : -EIO;
        EVP_KDF_CTX_free(c);
        return r;
}

static int hkdf(const uint8_t secret[CADU_CRYPT_KEY_SIZE], const char *label, uint8_t *out, size_t n) {
        return cadu_crypt_hkdf(secret, CADU_CRYPT_KEY_SIZE, NULL, 0, label, strlen(label), out, n);
}

int cadu_crypt_key_derive(const uint8_t secret[CADU_CRYPT_KEY_SIZE], cadu_crypt_key *k) {
        int r;
        if ((r = hkdf(secret, LABEL_ID, k->id, sizeof(k->id))) < 0 ||
            (r = hkdf(secret, LABEL_NAME, k->name, sizeof(k->name))) < 0 ||
            (r = hkdf(secret, LABEL_NONCE, k->nonce, sizeof(k->nonce))) < 0 ||
            (r = hkdf(secret, LABEL_NONCE_HASH, k->nonce_hash, sizeof(k->nonce_hash))) < 0 ||
            (r = hkdf(secret, LABEL_CHUNK, k->chunk, sizeof(k->chunk))) < 0 ||
            (r = hkdf(secret, LABEL_INDEX, k->index, sizeof(k->index))) < 0 ||
            (r = hkdf(secret, LABEL_STREAM, k->stream, sizeof(k->stream))) < 0)
                cadu_crypt_key_clear(k);
        return r;
}

int cadu_crypt_key_parse(const uint8_t *data, size_t len, uint8_t secret[CADU_CRYPT_KEY_SIZE]) {
        char hex[2 * CADU_CRYPT_KEY_SIZE + 1];
        if (len == 2 * CADU_CRYPT_KEY_SIZE + 1 && data[len - 1] == '\n')
                len--;
        if (len != 2 * CADU_CRYPT_KEY_SIZE)
                return -EINVAL;
        memcpy(hex, data, len);
        hex[len] = 0;
        int r = cadu_hex_decode(hex, secret, CADU_CRYPT_KEY_SIZE);
        OPENSSL_cleanse(hex, sizeof(hex));
        return r;
}

int cadu_crypt_key_load(const char *path, cadu_crypt_key *ret, const char **why) {
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        int r = cadu_crypt_key_read(path, secret, why);
        if (r == 0)
                r = cadu_crypt_key_derive(secret, ret);
        OPENSSL_cleanse(secret, sizeof(secret));
        return r;
}

int cadu_crypt_key_read(const char *path, uint8_t secret[CADU_CRYPT_KEY_SIZE], const char **why) {
        uint8_t buf[CADU_CRYPT_KEY_FILE_MAX + 1];
        struct stat st;
        const char *dummy;
        if (!why)
                why = &dummy;
        *why = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode)) {
                *why = "not a regular file";
                return -EPERM;
        }
        if (st.st_mode & 077) {
                *why = "group or others may access it (chmod 600)";
                return -EPERM;
        }
        ssize_t n = cadu_read_full(fd, buf, sizeof(buf));
        if (n < 0)
                return (int)n;
        int r = cadu_crypt_key_parse(buf, (size_t)n, secret);
        OPENSSL_cleanse(buf, sizeof(buf));
        if (r < 0) {
                *why = "not 64 hex digits (make one with: openssl rand -hex 32)";
                return -EINVAL;
        }
        return 0;
}

void cadu_crypt_key_clear(cadu_crypt_key *k) {
        OPENSSL_cleanse(k, sizeof(*k));
}

void cadu_crypt_key_id_hex(const uint8_t id[CADU_CRYPT_KEY_ID_SIZE], char *out) {
        cadu_hex_encode(id, CADU_CRYPT_KEY_ID_SIZE, out);
}

int cadu_crypt_chunk_name(const cadu_crypt_key *k, const uint8_t id[CADU_DIGEST_SIZE],
                          uint8_t name[CADU_CRYPT_NAME_SIZE]) {
        unsigned n = 0;
        if (!HMAC(EVP_sha256(), k->name, sizeof(k->name), id, CADU_DIGEST_SIZE, name, &n) ||
            n != CADU_CRYPT_NAME_SIZE)
                return -EIO;
        return 0;
}

/* ChaCha20-Poly1305 over in (n bytes) into out (may be in itself); the tag is
 * written to (enc) or checked against (dec) tag. */
static int aead(bool enc, const uint8_t key[32], const uint8_t nonce[CADU_CRYPT_NONCE_SIZE], const uint8_t *aad,
                size_t aad_len, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[CADU_CRYPT_TAG_SIZE]) {
        if (aad_len > INT_MAX)
                return -EFBIG;
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int r = -EIO, k = 0;
        if (!c)
                return -ENOMEM;
        if (EVP_CipherInit_ex2(c, EVP_chacha20_poly1305(), key, nonce, enc, NULL) != 1)
                goto out;
        if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, CADU_CRYPT_TAG_SIZE, tag) != 1)
                goto out;
        if (aad_len && EVP_CipherUpdate(c, NULL, &k, aad, (int)aad_len) != 1)
                goto out;
        /* EVP lengths are int: go in pieces. */
        for (size_t off = 0; off < n;) {
                int piece = (int)CADU_MIN(n - off, (size_t)1 << 30);
                if (EVP_CipherUpdate(c, out + off, &k, in + off, piece) != 1 || k != piece)
                        goto out;
                off += (size_t)piece;
        }
        if (EVP_CipherFinal_ex(c, out + n, &k) != 1) {
                r = enc ? -EIO : -EBADMSG;
                goto out;
        }
        if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, CADU_CRYPT_TAG_SIZE, tag) != 1)
                goto out;
        r = 0;
out:
        EVP_CIPHER_CTX_free(c);
        return r;
}

/* Authenticated data of a chunk: magic, key id, keyed name. */
static void chunk_aad(const uint8_t *header, const uint8_t name[CADU_CRYPT_NAME_SIZE],
                      uint8_t aad[CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE + CADU_CRYPT_NAME_SIZE]) {
        memcpy(aad, header, CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE);
        memcpy(aad + CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE, name, CADU_CRYPT_NAME_SIZE);
}

int cadu_crypt_chunk_seal(const cadu_crypt_key *k, const uint8_t id[CADU_DIGEST_SIZE],
                          const uint8_t name[CADU_CRYPT_NAME_SIZE], const void *raw, size_t len, cadu_buf *out) {
        uint8_t msg[CADU_DIGEST_SIZE + CADU_CRYPT_TAG_SIZE], mac[32], none[1];
        uint8_t aad[CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE + CADU_CRYPT_NAME_SIZE];
        unsigned n = 0;

        if (len > SIZE_MAX - CADU_CRYPT_CHUNK_OVERHEAD)
                return -EFBIG;
        out->len = 0;
        int r = cadu_buf_reserve(out, len + CADU_CRYPT_CHUNK_OVERHEAD);
        if (r < 0)
                return r;
        /* Synthetic nonce (doc/encryption.md): HMAC(nonce key, id || U), U the
         * Poly1305 of raw under a one-time key of this chunk's own (the tag
         * of ChaCha20-Poly1305 under the nonce hash key and the name's first
         * 12 bytes, with raw as authenticated data and nothing encrypted).
         * A universal hash under a secret key, then a PRF, as in AES-GCM-SIV:
         * two different compressed forms of one chunk get the same nonce with
         * a probability below 2^-88, and the same form always the same one.
         * Poly1305 runs at several times the speed of SHA-256. */
        memcpy(msg, id, CADU_DIGEST_SIZE);
        r = aead(true, k->nonce_hash, name, raw, len, none, 0, none, msg + CADU_DIGEST_SIZE);
        if (r < 0)
                return r;
        if (!HMAC(EVP_sha256(), k->nonce, sizeof(k->nonce), msg, sizeof(msg), mac, &n) || n != sizeof(mac))
                return -EIO;
        uint8_t *p = out->data;
        memcpy(p, CADU_CRYPT_CHUNK_MAGIC, CADU_CRYPT_MAGIC_SIZE);
        memcpy(p + CADU_CRYPT_MAGIC_SIZE, k->id, CADU_CRYPT_KEY_ID_SIZE);
        memcpy(p + CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE, mac, CADU_CRYPT_NONCE_SIZE);
        chunk_aad(p, name, aad);
        r = aead(true, k->chunk, mac, aad, sizeof(aad), raw, len, p + CADU_CRYPT_CHUNK_HEADER,
                 p + CADU_CRYPT_CHUNK_HEADER + len);
        if (r < 0)
                return r;
        out->len = len + CADU_CRYPT_CHUNK_OVERHEAD;
        return 0;
}

int cadu_crypt_chunk_check(const void *file, size_t len, uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE]) {
        if (len < CADU_CRYPT_CHUNK_OVERHEAD || memcmp(file, CADU_CRYPT_CHUNK_MAGIC, CADU_CRYPT_MAGIC_SIZE) != 0)
                return -EBADMSG;
        memcpy(key_id, (const uint8_t *)file + CADU_CRYPT_MAGIC_SIZE, CADU_CRYPT_KEY_ID_SIZE);
        return 0;
}

int cadu_crypt_chunk_open(const cadu_crypt_key *k, const uint8_t name[CADU_CRYPT_NAME_SIZE], uint8_t *buf,
                          size_t len, size_t *ret_len) {
        uint8_t aad[CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE + CADU_CRYPT_NAME_SIZE];
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE], tag[CADU_CRYPT_TAG_SIZE];
        int r = cadu_crypt_chunk_check(buf, len, key_id);
        if (r < 0)
                return r;
        if (memcmp(key_id, k->id, CADU_CRYPT_KEY_ID_SIZE) != 0)
                return -EKEYREJECTED;
        size_t n = len - CADU_CRYPT_CHUNK_OVERHEAD;
        uint8_t *ct = buf + CADU_CRYPT_CHUNK_HEADER;
        memcpy(tag, ct + n, CADU_CRYPT_TAG_SIZE);
        chunk_aad(buf, name, aad);
        /* In place, then the plaintext moves to the front (EVP refuses
         * partially overlapping buffers). */
        r = aead(false, k->chunk, buf + CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE, aad, sizeof(aad), ct, n, ct,
                 tag);
        if (r < 0)
                return r;
        memmove(buf, ct, n);
        *ret_len = n;
        return 0;
}

/* ---- the store layer ---- */

typedef struct crypt_store {
        cadu_store base;
        cadu_store_ops ops;             /* crypt_ops with the inner store's kind */
        cadu_store *inner;
        cadu_crypt_key key;
} crypt_store;

static int crypt_get(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out) {
        crypt_store *c = (crypt_store *)s;
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        size_t n;
        int r = cadu_crypt_chunk_name(&c->key, id, name);
        if (r < 0)
                return r;
        if (max_raw > SIZE_MAX - CADU_CRYPT_CHUNK_OVERHEAD)
                return -EFBIG;
        r = c->inner->ops->get(c->inner, name, max_raw + CADU_CRYPT_CHUNK_OVERHEAD, out);
        if (r < 0)
                return r;
        /* Another key's chunk under this key's name cannot be genuine. */
        r = cadu_crypt_chunk_open(&c->key, name, out->data, out->len, &n);
        if (r < 0)
                return r == -EKEYREJECTED ? -EBADMSG : r;
        out->len = n;
        return 0;
}

static int crypt_put(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], const void *raw, size_t len) {
        crypt_store *c = (crypt_store *)s;
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        cadu_buf sealed = CADU_BUF_INIT;
        if (!c->inner->ops->put)
                return -EROFS;
        int r = cadu_crypt_chunk_name(&c->key, id, name);
        if (r == 0)
                r = cadu_crypt_chunk_seal(&c->key, id, name, raw, len, &sealed);
        if (r == 0)
                r = c->inner->ops->put(c->inner, name, sealed.data, sealed.len);
        cadu_buf_free(&sealed);
        return r;
}

static int crypt_has(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        crypt_store *c = (crypt_store *)s;
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        if (!c->inner->ops->has)
                return -EOPNOTSUPP;
        int r = cadu_crypt_chunk_name(&c->key, id, name);
        return r < 0 ? r : c->inner->ops->has(c->inner, name);
}

static void crypt_free(cadu_store *s) {
        crypt_store *c = (crypt_store *)s;
        cadu_store_free(c->inner);
        cadu_crypt_key_clear(&c->key);
        free(c);
}

static const cadu_store_ops crypt_ops = {
        .version = 1,
        .kind = "crypt",
        .get = crypt_get,
        .put = crypt_put,
        .has = crypt_has,
        .free = crypt_free,
};

int cadu_store_crypt_new(cadu_store *inner, const cadu_crypt_key *k, cadu_store **ret) {
        crypt_store *c = calloc(1, sizeof(*c));
        if (!c) {
                cadu_store_free(inner);
                return -ENOMEM;
        }
        /* The inner store's kind ("dir", "http", ...): an encrypted store is
         * as local or remote as what it wraps (threads are chosen by it). */
        c->ops = crypt_ops;
        c->ops.kind = inner->ops->kind;
        c->base.ops = &c->ops;
        /* The inner store's location, so that messages name the place. */
        c->base.location = inner->location;
        c->inner = inner;
        c->key = *k;
        *ret = &c->base;
        return 0;
}

int cadu_store_crypt_map(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], cadu_store **inner,
                         uint8_t name[CADU_CRYPT_NAME_SIZE]) {
        if (s->ops->get != crypt_get)
                return 0;
        crypt_store *c = (crypt_store *)s;
        int r = cadu_crypt_chunk_name(&c->key, id, name);
        if (r < 0)
                return r;
        *inner = c->inner;
        return 1;
}

/* ---- encrypted indexes ---- */

bool cadu_crypt_index_is(const void *data, size_t len) {
        return len >= CADU_CRYPT_MAGIC_SIZE && memcmp(data, CADU_CRYPT_INDEX_MAGIC, CADU_CRYPT_MAGIC_SIZE) == 0;
}

static int cmp_name(const void *a, const void *b) {
        return memcmp(a, b, CADU_CRYPT_NAME_SIZE);
}

int cadu_crypt_index_seal(const cadu_crypt_key *k, const void *plain, size_t len, const uint8_t *ids,
                          size_t stride, size_t n, cadu_buf *out) {
        uint8_t (*names)[CADU_CRYPT_NAME_SIZE] = calloc(n ? n : 1, CADU_CRYPT_NAME_SIZE);
        uint8_t le[8], nonce[CADU_CRYPT_NONCE_SIZE];
        size_t u = 0;
        int r = 0;
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < n && r == 0; i++)
                r = cadu_crypt_chunk_name(k, ids + i * stride, names[i]);
        if (r < 0)
                goto out;
        qsort(names, n, CADU_CRYPT_NAME_SIZE, cmp_name);
        for (size_t i = 0; i < n; i++)
                if (u == 0 || memcmp(names[u - 1], names[i], CADU_CRYPT_NAME_SIZE) != 0)
                        memmove(names[u++], names[i], CADU_CRYPT_NAME_SIZE);
        /* A random nonce: every index is sealed once, by the build host. */
        if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
                r = -EIO;
                goto out;
        }
        size_t head = CADU_CRYPT_INDEX_FIXED + u * CADU_CRYPT_NAME_SIZE;
        out->len = 0;
        cadu_put_le64(le, u);
        if ((r = cadu_buf_append(out, CADU_CRYPT_INDEX_MAGIC, CADU_CRYPT_MAGIC_SIZE)) < 0 ||
            (r = cadu_buf_append(out, k->id, CADU_CRYPT_KEY_ID_SIZE)) < 0 || (r = cadu_buf_append(out, le, 8)) < 0 ||
            (r = cadu_buf_append(out, names, u * CADU_CRYPT_NAME_SIZE)) < 0 ||
            (r = cadu_buf_append(out, nonce, sizeof(nonce))) < 0 ||
            (r = cadu_buf_reserve(out, len + CADU_CRYPT_TAG_SIZE)) < 0)
                goto out;
        r = aead(true, k->index, nonce, out->data, head, plain, len, out->data + out->len,
                 out->data + out->len + len);
        if (r == 0)
                out->len += len + CADU_CRYPT_TAG_SIZE;
out:
        free(names);
        return r;
}

int cadu_crypt_index_header(const uint8_t *data, size_t len, uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE],
                            const uint8_t **names, size_t *n_names) {
        if (len < CADU_CRYPT_INDEX_FIXED || !cadu_crypt_index_is(data, len))
                return -EBADMSG;
        uint64_t n = cadu_le64(data + CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE);
        size_t room = len - CADU_CRYPT_INDEX_FIXED;
        /* Names, then at least a nonce and a tag. */
        if (room < CADU_CRYPT_NONCE_SIZE + CADU_CRYPT_TAG_SIZE ||
            n > (room - CADU_CRYPT_NONCE_SIZE - CADU_CRYPT_TAG_SIZE) / CADU_CRYPT_NAME_SIZE)
                return -EBADMSG;
        const uint8_t *p = data + CADU_CRYPT_INDEX_FIXED;
        /* Sorted and unique, as written. */
        for (uint64_t i = 1; i < n; i++)
                if (memcmp(p + (i - 1) * CADU_CRYPT_NAME_SIZE, p + i * CADU_CRYPT_NAME_SIZE, CADU_CRYPT_NAME_SIZE) >= 0)
                        return -EBADMSG;
        memcpy(key_id, data + CADU_CRYPT_MAGIC_SIZE, CADU_CRYPT_KEY_ID_SIZE);
        *names = p;
        *n_names = (size_t)n;
        return 0;
}

int cadu_crypt_index_open(const cadu_crypt_key *k, const uint8_t *data, size_t len, cadu_buf *out) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE], tag[CADU_CRYPT_TAG_SIZE];
        const uint8_t *names;
        size_t n;
        int r = cadu_crypt_index_header(data, len, key_id, &names, &n);
        if (r < 0)
                return r;
        if (!k)
                return -ENOKEY;
        if (memcmp(key_id, k->id, CADU_CRYPT_KEY_ID_SIZE) != 0)
                return -EKEYREJECTED;
        size_t head = CADU_CRYPT_INDEX_FIXED + n * CADU_CRYPT_NAME_SIZE;
        const uint8_t *nonce = data + head, *ct = nonce + CADU_CRYPT_NONCE_SIZE;
        size_t clen = len - head - CADU_CRYPT_NONCE_SIZE - CADU_CRYPT_TAG_SIZE;
        memcpy(tag, ct + clen, CADU_CRYPT_TAG_SIZE);
        out->len = 0;
        if ((r = cadu_buf_reserve(out, clen + 1)) < 0)
                return r;
        r = aead(false, k->index, nonce, data, head, ct, clen, out->data, tag);
        if (r < 0)
                return r;
        out->len = clen;
        return 0;
}

/* ---- sealed files ---- */

/* The authenticated data: magic, key id, clear part (all at the start of
 * file), then bind. */
static int sealed_aad(const uint8_t *file, size_t clear_len, const void *bind, size_t bind_len, cadu_buf *aad) {
        aad->len = 0;
        int r = cadu_buf_append(aad, file, CADU_CRYPT_SEALED_HEADER + clear_len);
        if (r == 0 && bind_len)
                r = cadu_buf_append(aad, bind, bind_len);
        return r;
}

int cadu_crypt_seal(const cadu_crypt_key *k, const char *magic, const void *clear, size_t clear_len, const void *bind,
                    size_t bind_len, const void *plain, size_t len, cadu_buf *out) {
        uint8_t sha[SHA256_DIGEST_LENGTH], mac[32];
        cadu_buf aad = CADU_BUF_INIT;
        unsigned n = 0;
        if (bind_len > CADU_CRYPT_BIND_MAX)
                return -EINVAL;
        if (len > SIZE_MAX - CADU_CRYPT_SEALED_OVERHEAD - clear_len)
                return -EFBIG;
        out->len = 0;
        int r = cadu_buf_reserve(out, len + clear_len + CADU_CRYPT_SEALED_OVERHEAD);
        if (r < 0)
                return r;
        uint8_t *p = out->data;
        memcpy(p, magic, CADU_CRYPT_MAGIC_SIZE);
        memcpy(p + CADU_CRYPT_MAGIC_SIZE, k->id, CADU_CRYPT_KEY_ID_SIZE);
        if (clear_len)
                memcpy(p + CADU_CRYPT_SEALED_HEADER, clear, clear_len);
        if ((r = sealed_aad(p, clear_len, bind, bind_len, &aad)) < 0)
                goto out;
        /* Synthetic nonce over everything authenticated and the plaintext. */
        r = -EIO;
        if (!SHA256(plain, len, sha) || cadu_buf_append(&aad, sha, sizeof(sha)) < 0 ||
            !HMAC(EVP_sha256(), k->nonce, sizeof(k->nonce), aad.data, aad.len, mac, &n) || n != sizeof(mac))
                goto out;
        aad.len -= sizeof(sha);
        uint8_t *nonce = p + CADU_CRYPT_SEALED_HEADER + clear_len, *ct = nonce + CADU_CRYPT_NONCE_SIZE;
        memcpy(nonce, mac, CADU_CRYPT_NONCE_SIZE);
        if ((r = aead(true, k->chunk, nonce, aad.data, aad.len, plain, len, ct, ct + len)) < 0)
                goto out;
        out->len = len + clear_len + CADU_CRYPT_SEALED_OVERHEAD;
out:
        cadu_buf_free(&aad);
        return r;
}

int cadu_crypt_sealed_check(const char *magic, size_t clear_len, const void *file, size_t len,
                            uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE]) {
        if (len < CADU_CRYPT_SEALED_OVERHEAD || len - CADU_CRYPT_SEALED_OVERHEAD < clear_len ||
            memcmp(file, magic, CADU_CRYPT_MAGIC_SIZE) != 0)
                return -EBADMSG;
        memcpy(key_id, (const uint8_t *)file + CADU_CRYPT_MAGIC_SIZE, CADU_CRYPT_KEY_ID_SIZE);
        return 0;
}

int cadu_crypt_open(const cadu_crypt_key *k, const char *magic, size_t clear_len, const void *bind, size_t bind_len,
                    uint8_t *buf, size_t len, size_t *ret_off, size_t *ret_len) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE], tag[CADU_CRYPT_TAG_SIZE];
        cadu_buf aad = CADU_BUF_INIT;
        int r = cadu_crypt_sealed_check(magic, clear_len, buf, len, key_id);
        if (r < 0)
                return r;
        if (memcmp(key_id, k->id, CADU_CRYPT_KEY_ID_SIZE) != 0)
                return -EKEYREJECTED;
        if (bind_len > CADU_CRYPT_BIND_MAX)
                return -EINVAL;
        if ((r = sealed_aad(buf, clear_len, bind, bind_len, &aad)) < 0)
                return r;
        size_t off = CADU_CRYPT_SEALED_HEADER + clear_len + CADU_CRYPT_NONCE_SIZE;
        size_t n = len - clear_len - CADU_CRYPT_SEALED_OVERHEAD;
        memcpy(tag, buf + off + n, CADU_CRYPT_TAG_SIZE);
        r = aead(false, k->chunk, buf + off - CADU_CRYPT_NONCE_SIZE, aad.data, aad.len, buf + off, n, buf + off, tag);
        cadu_buf_free(&aad);
        if (r < 0)
                return r;
        *ret_off = off;
        *ret_len = n;
        return 0;
}

#define LABEL_DELTA_BASES "cadu v1 delta bases"
/* cadu-delta.h's suffix; the store library does not depend on delta/. */
#define DELTA_SUFFIX ".cadelta"

int cadu_crypt_delta_path(const cadu_crypt_key *k, const uint8_t target_id[CADU_DIGEST_SIZE],
                          const uint8_t (*base_ids)[CADU_DIGEST_SIZE], size_t nbases, char *out,
                          uint8_t bind[CADU_CRYPT_DELTA_BIND]) {
        uint8_t mac[32];
        char hex[2 * CADU_CRYPT_NAME_SIZE + 1], thex[2 * CADU_CRYPT_DELTA_TAG_SIZE + 1];
        int r = cadu_crypt_chunk_name(k, target_id, bind);
        if (r < 0)
                return r;
        EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
        OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end() };
        size_t got = 0;
        r = -EIO;
        if (c && EVP_MAC_init(c, k->name, sizeof(k->name), p) == 1 &&
            EVP_MAC_update(c, (const uint8_t *)LABEL_DELTA_BASES, strlen(LABEL_DELTA_BASES)) == 1 &&
            EVP_MAC_update(c, (const uint8_t *)base_ids, nbases * CADU_DIGEST_SIZE) == 1 &&
            EVP_MAC_final(c, mac, &got, sizeof(mac)) == 1 && got == sizeof(mac))
                r = 0;
        EVP_MAC_CTX_free(c);
        EVP_MAC_free(m);
        if (r < 0)
                return r;
        memcpy(bind + CADU_CRYPT_NAME_SIZE, mac, CADU_CRYPT_DELTA_TAG_SIZE);
        cadu_hex_encode(bind, CADU_CRYPT_NAME_SIZE, hex);
        cadu_hex_encode(mac, CADU_CRYPT_DELTA_TAG_SIZE, thex);
        snprintf(out, 7 + 4 + 1 + 64 + 1 + 16 + sizeof(DELTA_SUFFIX), "deltas/%.4s/%s-%s%s", hex, hex, thex,
                 DELTA_SUFFIX);
        return 0;
}

int cadu_crypt_delta_name_parse(const char *name, uint8_t bind[CADU_CRYPT_DELTA_BIND]) {
        char hex[2 * CADU_CRYPT_DELTA_BIND + 1];
        if (strlen(name) != 64 + 1 + 16 + strlen(DELTA_SUFFIX) || name[64] != '-' ||
            strcmp(name + 81, DELTA_SUFFIX) != 0)
                return -EINVAL;
        memcpy(hex, name, 64);
        memcpy(hex + 64, name + 65, 16);
        hex[80] = 0;
        for (size_t i = 0; i < 80; i++)
                if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
                        return -EINVAL;
        return cadu_hex_decode(hex, bind, CADU_CRYPT_DELTA_BIND);
}

int cadu_crypt_packidx_header_parse(const uint8_t *data, size_t len, cadu_crypt_packidx_header *h) {
        size_t at = CADU_CRYPT_SEALED_HEADER;
        if (len < CADU_CRYPT_SEALED_OVERHEAD + 16 || memcmp(data, CADU_CRYPT_PACKIDX_MAGIC, CADU_CRYPT_MAGIC_SIZE) != 0)
                return -EBADMSG;
        /* What may be clear: all but the overhead. */
        size_t room = len - CADU_CRYPT_SEALED_OVERHEAD;
        uint64_t np = cadu_le64(data + at);
        at += 8;
        room -= 8;
        if (np > room / CADU_CRYPT_PACKIDX_PACK)
                return -EBADMSG;
        h->packs = data + at;
        at += (size_t)np * CADU_CRYPT_PACKIDX_PACK;
        room -= (size_t)np * CADU_CRYPT_PACKIDX_PACK;
        if (room < 8)
                return -EBADMSG;
        uint64_t nd = cadu_le64(data + at);
        at += 8;
        room -= 8;
        if (nd > room / CADU_CRYPT_DELTA_BIND)
                return -EBADMSG;
        h->deltas = data + at;
        at += (size_t)nd * CADU_CRYPT_DELTA_BIND;
        memcpy(h->key_id, data + CADU_CRYPT_MAGIC_SIZE, CADU_CRYPT_KEY_ID_SIZE);
        h->npacks = (size_t)np;
        h->ndeltas = (size_t)nd;
        h->clear_len = at - CADU_CRYPT_SEALED_HEADER;
        return 0;
}

int cadu_crypt_packidx_seal(const cadu_crypt_key *k, const uint8_t index_sha[CADU_DIGEST_SIZE],
                            const uint8_t *packs, size_t npacks, const uint8_t *deltas, size_t ndeltas,
                            const void *plain, size_t len, cadu_buf *out) {
        cadu_buf clear = CADU_BUF_INIT;
        uint8_t le[8];
        int r;
        cadu_put_le64(le, npacks);
        if ((r = cadu_buf_append(&clear, le, 8)) == 0 &&
            (r = cadu_buf_append(&clear, packs, npacks * CADU_CRYPT_PACKIDX_PACK)) == 0) {
                cadu_put_le64(le, ndeltas);
                if ((r = cadu_buf_append(&clear, le, 8)) == 0)
                        r = cadu_buf_append(&clear, deltas, ndeltas * CADU_CRYPT_DELTA_BIND);
        }
        if (r == 0)
                r = cadu_crypt_seal(k, CADU_CRYPT_PACKIDX_MAGIC, clear.data, clear.len, index_sha, CADU_DIGEST_SIZE,
                                    plain, len, out);
        cadu_buf_free(&clear);
        return r;
}

int cadu_crypt_packidx_open(const cadu_crypt_key *k, const uint8_t index_sha[CADU_DIGEST_SIZE], uint8_t *buf,
                            size_t len, size_t *ret_off, size_t *ret_len) {
        cadu_crypt_packidx_header h;
        int r = cadu_crypt_packidx_header_parse(buf, len, &h);
        if (r < 0)
                return r;
        return cadu_crypt_open(k, CADU_CRYPT_PACKIDX_MAGIC, h.clear_len, index_sha, CADU_DIGEST_SIZE, buf, len,
                               ret_off, ret_len);
}

const cadu_crypt_key *cadu_store_crypt_key(cadu_store *s) {
        return s && s->ops->get == crypt_get ? &((crypt_store *)s)->key : NULL;
}

cadu_store *cadu_store_crypt_inner(cadu_store *s) {
        return s && s->ops->get == crypt_get ? ((crypt_store *)s)->inner : s;
}

static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++, v >>= 8)
                p[i] = (uint8_t)v;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int cadu_crypt_delta_seal(const cadu_crypt_key *k, const uint8_t target_id[CADU_DIGEST_SIZE],
                          const uint8_t (*base_ids)[CADU_DIGEST_SIZE], size_t nbases, const void *plain, size_t len,
                          char *path, cadu_buf *out) {
        uint8_t bind[CADU_CRYPT_DELTA_BIND], clear[4 + CADU_CRYPT_DELTA_MAX_BASES * CADU_CRYPT_NAME_SIZE];
        if (nbases < 1 || nbases > CADU_CRYPT_DELTA_MAX_BASES)
                return -EINVAL;
        int r = cadu_crypt_delta_path(k, target_id, base_ids, nbases, path, bind);
        put_le32(clear, (uint32_t)nbases);
        for (size_t i = 0; r == 0 && i < nbases; i++)
                r = cadu_crypt_chunk_name(k, base_ids[i], clear + 4 + i * CADU_CRYPT_NAME_SIZE);
        if (r == 0)
                r = cadu_crypt_seal(k, CADU_CRYPT_DELTA_MAGIC, clear, 4 + nbases * CADU_CRYPT_NAME_SIZE, bind,
                                    sizeof(bind), plain, len, out);
        return r;
}

int cadu_crypt_delta_header(const uint8_t *data, size_t len, size_t *nbases, const uint8_t **names) {
        if (len < CADU_CRYPT_SEALED_OVERHEAD + 4 || memcmp(data, CADU_CRYPT_DELTA_MAGIC, CADU_CRYPT_MAGIC_SIZE) != 0)
                return -EBADMSG;
        uint32_t n = le32(data + CADU_CRYPT_SEALED_HEADER);
        if (n < 1 || n > CADU_CRYPT_DELTA_MAX_BASES ||
            len - CADU_CRYPT_SEALED_OVERHEAD - 4 < (size_t)n * CADU_CRYPT_NAME_SIZE)
                return -EBADMSG;
        *nbases = n;
        *names = data + CADU_CRYPT_SEALED_HEADER + 4;
        return 0;
}

int cadu_crypt_delta_open(const cadu_crypt_key *k, const uint8_t bind[CADU_CRYPT_DELTA_BIND], uint8_t *buf, size_t len,
                          size_t *ret_off, size_t *ret_len) {
        const uint8_t *names;
        size_t n;
        int r = cadu_crypt_delta_header(buf, len, &n, &names);
        if (r < 0)
                return r;
        return cadu_crypt_open(k, CADU_CRYPT_DELTA_MAGIC, 4 + n * CADU_CRYPT_NAME_SIZE, bind, CADU_CRYPT_DELTA_BIND, buf,
                               len, ret_off, ret_len);
}
