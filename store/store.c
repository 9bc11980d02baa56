/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Store-independent parts: buffers, chunk paths, the zstd codec, verified
 * chunk reads, opening by location, and chains. */
#include <errno.h>
#include <pthread.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "cadu-store.h"

int cadu_buf_reserve(cadu_buf *b, size_t n) {
        if (b->alloc - b->len >= n)
                return 0;
        if (n > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        size_t a = CADU_MAX(b->len + n, b->alloc * 2);
        void *d = b->data;
        if (cadu_realloc_io(&d, b->len, a) < 0)
                return -ENOMEM;
        b->data = d;
        b->alloc = a;
        return 0;
}

int cadu_buf_append(cadu_buf *b, const void *p, size_t n) {
        int r = cadu_buf_reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

void cadu_buf_free(cadu_buf *b) {
        free(b->data);
        *b = (cadu_buf)CADU_BUF_INIT;
}

void cadu_chunk_path(const uint8_t id[CADU_DIGEST_SIZE], char *out) {
        char hex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(id, CADU_DIGEST_SIZE, hex);
        memcpy(out, hex, 4);
        out[4] = '/';
        memcpy(out + 5, hex, 64);
        memcpy(out + 69, CADU_CHUNK_SUFFIX, sizeof(CADU_CHUNK_SUFFIX));
}

/* One compression context per thread, reused, and released by
 * cadu_chunk_codec_release() or at thread exit. Decompression contexts are
 * shared: a decode takes one and puts it back, so that there are as many
 * as decodes ran at once (about one per CPU), not one per thread (eight
 * network workers mostly wait for their transfer). At most DCTX_KEEP idle
 * ones are kept, until cadu_chunk_codec_release(). */
static __thread ZSTD_CCtx *tls_cctx;
#define DCTX_KEEP 16
static pthread_mutex_t dctx_lock = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_DCtx *dctx_idle[DCTX_KEEP];
static size_t ndctx_idle;

static ZSTD_DCtx *dctx_take(void) {
        ZSTD_DCtx *d = NULL;
        pthread_mutex_lock(&dctx_lock);
        if (ndctx_idle)
                d = dctx_idle[--ndctx_idle];
        pthread_mutex_unlock(&dctx_lock);
        return d ? d : ZSTD_createDCtx();
}

static void dctx_put(ZSTD_DCtx *d) {
        pthread_mutex_lock(&dctx_lock);
        if (ndctx_idle < DCTX_KEEP) {
                dctx_idle[ndctx_idle++] = d;
                d = NULL;
        }
        pthread_mutex_unlock(&dctx_lock);
        ZSTD_freeDCtx(d);
}

void cadu_chunk_codec_release(void) {
        ZSTD_freeCCtx(tls_cctx);
        tls_cctx = NULL;
        pthread_mutex_lock(&dctx_lock);
        while (ndctx_idle)
                ZSTD_freeDCtx(dctx_idle[--ndctx_idle]);
        pthread_mutex_unlock(&dctx_lock);
}

int cadu_chunk_compress(int level, const void *data, size_t len, cadu_buf *out) {
        if (!tls_cctx && !(tls_cctx = ZSTD_createCCtx()))
                return -ENOMEM;
        size_t bound = ZSTD_compressBound(len);
        out->len = 0;
        int r = cadu_buf_reserve(out, bound);
        if (r < 0)
                return r;
        /* casync writes frames without a content size; so do we, so that
         * stores are byte-identical. */
        ZSTD_CCtx_reset(tls_cctx, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(tls_cctx, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(tls_cctx, ZSTD_c_contentSizeFlag, 0);
        ZSTD_CCtx_setParameter(tls_cctx, ZSTD_c_checksumFlag, 0);
        size_t k = ZSTD_compress2(tls_cctx, out->data, bound, data, len);
        if (ZSTD_isError(k))
                return -EIO;
        out->len = k;
        return 0;
}

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

int cadu_chunk_decode(const void *raw, size_t len, size_t max_size, cadu_buf *out) {
        out->len = 0;
        if (len < 4 || memcmp(raw, zstd_magic, 4) != 0) {
                /* Plain chunk. */
                if (len > max_size)
                        return -EFBIG;
                return cadu_buf_append(out, raw, len);
        }
        /* One-shot decode into a buffer of the cap plus one byte: a frame
         * that would produce more fails with dstSize_tooSmall, whatever its
         * header claims (casync writes no content size anyway). */
        int r = cadu_buf_reserve(out, max_size + 1);
        if (r < 0)
                return r;
        ZSTD_DCtx *d = dctx_take();
        if (!d)
                return -ENOMEM;
        size_t k = ZSTD_decompressDCtx(d, out->data, max_size + 1, raw, len);
        dctx_put(d);
        if (ZSTD_isError(k))
                return ZSTD_getErrorCode(k) == ZSTD_error_dstSize_tooSmall ? -EFBIG : -EBADMSG;
        if (k > max_size)
                return -EFBIG;
        out->len = k;
        return 0;
}

size_t cadu_chunk_max_raw(size_t max_size) {
        return ZSTD_compressBound(max_size) + 64;
}

int cadu_store_get_chunk(cadu_store *s, cadu_digest_type digest, const uint8_t id[CADU_DIGEST_SIZE],
                         size_t expected_size, size_t max_size, cadu_buf *raw, cadu_buf *out) {
        uint8_t got[CADU_DIGEST_SIZE];
        int r = s->ops->get(s, id, cadu_chunk_max_raw(max_size), raw);
        if (r < 0)
                return r;
        r = cadu_chunk_decode(raw->data, raw->len, max_size, out);
        if (r < 0)
                return r;
        if (expected_size && out->len != expected_size)
                return -EBADMSG;
        r = cadu_digest(digest, out->data, out->len, got);
        if (r < 0)
                return r;
        if (memcmp(got, id, CADU_DIGEST_SIZE) != 0)
                return -EBADMSG;
        return 0;
}

int cadu_store_open(const char *location, const cadu_store_options *opts, bool create, cadu_store **ret) {
        if (cadu_location_is_url(location))
                return cadu_store_open_http(location, opts, ret);
        if (strstr(location, "://"))
                return -EPROTONOSUPPORT;
        return cadu_store_open_dir(location, create, ret);
}

cadu_store *cadu_store_free(cadu_store *s) {
        if (s)
                s->ops->free(s);
        return NULL;
}

/* ---- files below the store base ---- */

bool cadu_store_relpath_valid(const char *relpath) {
        size_t comp = 0;

        if (!relpath || !relpath[0] || strlen(relpath) > CADU_STORE_RELPATH_MAX)
                return false;
        for (const char *p = relpath;; p++) {
                if (*p == '/' || *p == 0) {
                        /* No empty, "." or ".." component. */
                        if (comp == 0 || (comp <= 2 && !strncmp(p - comp, "..", comp)))
                                return false;
                        if (*p == 0)
                                return true;
                        comp = 0;
                        continue;
                }
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '_' || *p == '-'))
                        return false;
                comp++;
        }
}

int cadu_store_get_ranges(cadu_store *s, const char *relpath, const cadu_range *r, size_t n,
                          cadu_range_cb cb, void *ud) {
        if (!s || !cb || (n && !r) || !cadu_store_relpath_valid(relpath))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (r[i].len == 0 || r[i].off > UINT64_MAX - r[i].len || r[i].len > SIZE_MAX)
                        return -EINVAL;
                if (i > 0 && r[i].off < r[i - 1].off + r[i - 1].len)
                        return -EINVAL;         /* unsorted or overlapping */
        }
        if (n == 0)
                return 0;
        if (!s->ops->get_ranges)
                return -ENOTSUP;
        return s->ops->get_ranges(s, relpath, r, n, cb, ud);
}

int cadu_store_get_file(cadu_store *s, const char *relpath, size_t max, cadu_buf *out) {
        if (!s || !out || !cadu_store_relpath_valid(relpath))
                return -EINVAL;
        if (!s->ops->get_file)
                return -ENOTSUP;
        return s->ops->get_file(s, relpath, max, out);
}

/* ---- chains ---- */

typedef struct chain_store {
        cadu_store base;
        size_t n;
        cadu_store **members;
} chain_store;

static int chain_get(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out) {
        chain_store *c = (chain_store *)s;
        int r = -ENOENT;
        for (size_t i = 0; i < c->n; i++) {
                r = c->members[i]->ops->get(c->members[i], id, max_raw, out);
                if (r != -ENOENT)
                        return r;
        }
        return r;
}

static int chain_has(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        chain_store *c = (chain_store *)s;
        int r = 0;
        for (size_t i = 0; i < c->n; i++) {
                if (!c->members[i]->ops->has)
                        continue;
                r = c->members[i]->ops->has(c->members[i], id);
                if (r != 0)
                        return r;
        }
        return r;
}

/* Tells whether the callback was called at all, so that a chain moves on
 * only from a member that delivered nothing. */
typedef struct chain_ranges {
        cadu_range_cb cb;
        void *ud;
        bool delivered;
} chain_ranges;

static int chain_range_cb(void *ud, size_t i, const uint8_t *data, size_t len) {
        chain_ranges *c = ud;
        c->delivered = true;
        return c->cb(c->ud, i, data, len);
}

static int chain_get_ranges(cadu_store *s, const char *relpath, const cadu_range *r, size_t n,
                            cadu_range_cb cb, void *ud) {
        chain_store *c = (chain_store *)s;
        chain_ranges cr = { .cb = cb, .ud = ud };
        int ret = -ENOENT;
        for (size_t i = 0; i < c->n; i++) {
                cadu_store *m = c->members[i];
                ret = m->ops->get_ranges ? m->ops->get_ranges(m, relpath, r, n, chain_range_cb, &cr) : -ENOTSUP;
                if ((ret != -ENOENT && ret != -ENOTSUP) || cr.delivered)
                        return ret;
        }
        return ret;
}

static int chain_get_file(cadu_store *s, const char *relpath, size_t max, cadu_buf *out) {
        chain_store *c = (chain_store *)s;
        int ret = -ENOENT;
        for (size_t i = 0; i < c->n; i++) {
                cadu_store *m = c->members[i];
                ret = m->ops->get_file ? m->ops->get_file(m, relpath, max, out) : -ENOTSUP;
                if (ret != -ENOENT && ret != -ENOTSUP)
                        return ret;
        }
        return ret;
}

static void chain_free(cadu_store *s) {
        chain_store *c = (chain_store *)s;
        for (size_t i = 0; i < c->n; i++)
                cadu_store_free(c->members[i]);
        free(c->members);
        free(c->base.location);
        free(c);
}

static const cadu_store_ops chain_ops = {
        .version = 1,
        .kind = "chain",
        .get = chain_get,
        .has = chain_has,
        .free = chain_free,
        .get_ranges = chain_get_ranges,
        .get_file = chain_get_file,
};

int cadu_store_chain_new(cadu_store **members, size_t n, cadu_store **ret) {
        chain_store *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->members = calloc(n ? n : 1, sizeof(*members));
        c->base.location = strdup("chain");
        if (!c->members || !c->base.location) {
                free(c->members);
                free(c->base.location);
                free(c);
                return -ENOMEM;
        }
        memcpy(c->members, members, n * sizeof(*members));
        c->n = n;
        c->base.ops = &chain_ops;
        *ret = &c->base;
        return 0;
}
