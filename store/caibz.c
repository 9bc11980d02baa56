/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Compact indexes (cadu-caibz.h): encode and decode. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zstd.h>

#include "cadu-caibz.h"

#define SI_MAGIC "CADUSI1\n"
#define SI_HEADER (8 + 5 * 8)

void cadu_caibz_path(const uint8_t sha[CADU_DIGEST_SIZE], const uint8_t *base_sha, char *out) {
        char hex[2 * CADU_DIGEST_SIZE + 1], bhex[17];
        cadu_hex_encode(sha, CADU_DIGEST_SIZE, hex);
        if (base_sha) {
                cadu_hex_encode(base_sha, 8, bhex);
                snprintf(out, CADU_CAIBZ_PATH_MAX, "packs/%s-%s%s", hex, bhex, CADU_CAIBZ_SUFFIX);
        } else
                snprintf(out, CADU_CAIBZ_PATH_MAX, "packs/%s%s", hex, CADU_CAIBZ_SUFFIX);
}

size_t cadu_caibz_max(uint64_t index_size) {
        /* The shift-invariant form is never larger than the index itself. */
        return ZSTD_compressBound((size_t)index_size) + 64;
}

/* The shift-invariant form of idx into *out (replaced). */
static int si_encode(const cadu_index *idx, cadu_buf *out) {
        out->len = 0;
        if (cadu_buf_reserve(out, SI_HEADER + idx->n * (10 + CADU_DIGEST_SIZE)) < 0)
                return -ENOMEM;
        uint8_t *p = out->data;
        memcpy(p, SI_MAGIC, 8);
        cadu_put_le64(p + 8, idx->flags);
        cadu_put_le64(p + 16, idx->min);
        cadu_put_le64(p + 24, idx->avg);
        cadu_put_le64(p + 32, idx->max);
        cadu_put_le64(p + 40, idx->n);
        size_t k = SI_HEADER;
        uint64_t prev = 0;
        for (size_t i = 0; i < idx->n; i++) {
                uint64_t v = idx->items[i].end - prev;
                prev = idx->items[i].end;
                do {
                        p[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                        v >>= 7;
                } while (v);
        }
        for (size_t i = 0; i < idx->n; i++, k += CADU_DIGEST_SIZE)
                memcpy(p + k, idx->items[i].id, CADU_DIGEST_SIZE);
        out->len = k;
        return 0;
}

int cadu_caibz_encode(const cadu_index *idx, const cadu_index *base, int level, cadu_buf *out) {
        cadu_buf si = CADU_BUF_INIT, bsi = CADU_BUF_INIT;
        ZSTD_CCtx *c = NULL;
        int r = si_encode(idx, &si);
        if (r == 0 && base)
                r = si_encode(base, &bsi);
        if (r == 0 && !(c = ZSTD_createCCtx()))
                r = -ENOMEM;
        out->len = 0;
        if (r == 0 && cadu_buf_reserve(out, ZSTD_compressBound(si.len)) < 0)
                r = -ENOMEM;
        if (r == 0) {
                ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
                ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
                /* The window covers the base and the index together. */
                unsigned wlog = 10;
                while (wlog < 27 && ((size_t)1 << wlog) < si.len + bsi.len)
                        wlog++;
                ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, (int)wlog);
                if (base && ZSTD_isError(ZSTD_CCtx_refPrefix(c, bsi.data, bsi.len)))
                        r = -EINVAL;
        }
        if (r == 0) {
                size_t n = ZSTD_compress2(c, out->data, out->alloc, si.data, si.len);
                if (ZSTD_isError(n))
                        r = -EINVAL;
                else
                        out->len = n;
        }
        ZSTD_freeCCtx(c);
        cadu_buf_free(&si);
        cadu_buf_free(&bsi);
        return r;
}

int cadu_caibz_decode(const void *z, size_t zlen, const cadu_index *base, uint64_t max_index_size, cadu_buf *out) {
        cadu_buf si = CADU_BUF_INIT, bsi = CADU_BUF_INIT;
        ZSTD_DCtx *d = NULL;
        cadu_index *idx = NULL;
        uint8_t *bytes = NULL;
        size_t blen = 0;
        int r = 0;

        if (max_index_size < CADU_CAIBX_OVERHEAD || max_index_size > CADU_INDEX_FILE_MAX)
                return -EFBIG;
        /* The shift-invariant form of an index of at most max_index_size. */
        uint64_t nmax = (max_index_size - CADU_CAIBX_OVERHEAD) / CADU_CAIBX_ITEM_SIZE;
        size_t simax = SI_HEADER + (size_t)nmax * (10 + CADU_DIGEST_SIZE);
        if (base && (r = si_encode(base, &bsi)) < 0)
                goto out;
        if (!(d = ZSTD_createDCtx()) || cadu_buf_reserve(&si, simax + 1) < 0) {
                r = -ENOMEM;
                goto out;
        }
        ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 27);
        if (base && ZSTD_isError(ZSTD_DCtx_refPrefix(d, bsi.data, bsi.len))) {
                r = -EINVAL;
                goto out;
        }
        ZSTD_inBuffer in = { z, zlen, 0 };
        ZSTD_outBuffer o = { si.data, simax + 1, 0 };
        size_t ret = ZSTD_decompressStream(d, &o, &in);
        if (ZSTD_isError(ret)) {
                r = -EBADMSG;
                goto out;
        }
        if (o.pos > simax) {
                r = -EFBIG;
                goto out;
        }
        if (ret != 0 || in.pos != zlen) {
                r = -EBADMSG;                   /* truncated, or bytes after the frame */
                goto out;
        }
        si.len = o.pos;
        const uint8_t *p = si.data;
        if (si.len < SI_HEADER || memcmp(p, SI_MAGIC, 8)) {
                r = -EBADMSG;
                goto out;
        }
        uint64_t flags = cadu_le64(p + 8), n = cadu_le64(p + 40);
        cadu_digest_type dt;
        if (flags == CADU_CAIBX_FLAGS_SHA256)
                dt = CADU_DIGEST_SHA256;
        else if (flags == CADU_CAIBX_FLAGS_SHA512_256)
                dt = CADU_DIGEST_SHA512_256;
        else {
                r = -EBADMSG;
                goto out;
        }
        if (n > nmax) {
                r = -EFBIG;
                goto out;
        }
        if ((r = cadu_index_new(dt, cadu_le64(p + 16), cadu_le64(p + 24), cadu_le64(p + 32), &idx)) < 0) {
                r = -EBADMSG;
                goto out;
        }
        size_t k = SI_HEADER;
        uint64_t end = 0;
        uint64_t *ends = NULL;
        if (n && !(ends = calloc((size_t)n, sizeof *ends))) {
                r = -ENOMEM;
                goto out;
        }
        for (uint64_t i = 0; i < n; i++) {
                uint64_t v = 0;
                for (unsigned s = 0;; s += 7) {
                        if (k >= si.len || s > 63) {
                                free(ends);
                                r = -EBADMSG;
                                goto out;
                        }
                        uint8_t b = p[k++];
                        v |= (uint64_t)(b & 0x7f) << s;
                        if (!(b & 0x80))
                                break;
                }
                if (v == 0 || v > UINT64_MAX - end) {
                        free(ends);
                        r = -EBADMSG;
                        goto out;
                }
                end += v;
                ends[i] = end;
        }
        if (si.len - k != n * CADU_DIGEST_SIZE) {
                free(ends);
                r = -EBADMSG;
                goto out;
        }
        for (uint64_t i = 0; i < n && r == 0; i++)
                r = cadu_index_append(idx, ends[i], p + k + i * CADU_DIGEST_SIZE);
        free(ends);
        if (r < 0) {
                r = r == -ENOMEM ? r : -EBADMSG;
                goto out;
        }
        if ((r = cadu_index_serialize(idx, &bytes, &blen)) < 0)
                goto out;
        if (blen > max_index_size) {
                r = -EFBIG;
                goto out;
        }
        out->len = 0;
        r = cadu_buf_append(out, bytes, blen);
out:
        free(bytes);
        cadu_index_free(idx);
        ZSTD_freeDCtx(d);
        cadu_buf_free(&si);
        cadu_buf_free(&bsi);
        return r;
}
