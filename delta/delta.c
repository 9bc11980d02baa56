/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The delta file codec (doc/delta-format.md): header, path, and one zstd
 * frame with the bases' concatenated content as raw-content prefix. */
#include <errno.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "cadu-delta.h"

/* One compression and one decompression context per thread, reused. */
static __thread ZSTD_CCtx *tls_cctx;
static __thread ZSTD_DCtx *tls_dctx;

void cadu_delta_codec_release(void) {
        ZSTD_freeCCtx(tls_cctx);
        ZSTD_freeDCtx(tls_dctx);
        tls_cctx = NULL;
        tls_dctx = NULL;
}

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

static uint32_t le32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++, v >>= 8)
                p[i] = (uint8_t)v;
}

/* The window log that covers total bytes (prefix and target): the smallest
 * n >= 10 with 2^n >= total. The encoder uses it, the decoder accepts
 * nothing larger. */
static unsigned window_log(uint64_t total) {
        unsigned n = 10;
        while (((uint64_t)1 << n) < total)
                n++;
        return n;
}

int cadu_delta_parse(const void *raw, size_t len, cadu_delta_info *ret) {
        const uint8_t *p = raw;
        if (!raw || len < CADU_DELTA_HEADER_FIXED || memcmp(p, CADU_DELTA_MAGIC, 8) != 0)
                return -EBADMSG;
        if (le32(p + 8) != CADU_DELTA_VERSION)
                return -EBADMSG;
        uint32_t n = le32(p + 12);
        uint64_t tsize = cadu_le64(p + 16);
        if (n < 1 || n > CADU_DELTA_MAX_BASES || tsize < 1 || tsize > CADU_DELTA_SIZE_MAX)
                return -EBADMSG;
        size_t hsize = CADU_DELTA_HEADER_FIXED + (size_t)n * CADU_DELTA_BASE_ENTRY;
        if (len < hsize + 4)
                return -EBADMSG;
        cadu_delta_info info = { .target_size = tsize, .nbases = n, .header_size = hsize };
        memcpy(info.target_id, p + 24, CADU_DIGEST_SIZE);
        uint64_t total = tsize;
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = p + CADU_DELTA_HEADER_FIXED + (size_t)i * CADU_DELTA_BASE_ENTRY;
                memcpy(info.base_ids[i], e, CADU_DIGEST_SIZE);
                info.base_sizes[i] = cadu_le64(e + CADU_DIGEST_SIZE);
                if (info.base_sizes[i] < 1 || info.base_sizes[i] > CADU_DELTA_SIZE_MAX)
                        return -EBADMSG;
                total += info.base_sizes[i];
        }
        if (total > CADU_DELTA_TOTAL_MAX)
                return -EBADMSG;

        /* Exactly one zstd frame (not a skippable one), of the target's size,
         * without dictionary id, within the window the sizes imply. */
        const uint8_t *f = p + hsize;
        size_t flen = len - hsize;
        ZSTD_frameHeader zfh;
        if (memcmp(f, zstd_magic, 4) != 0 || ZSTD_getFrameHeader(&zfh, f, flen) != 0)
                return -EBADMSG;
        if (zfh.frameType != ZSTD_frame || zfh.frameContentSize != tsize || zfh.dictID != 0 ||
            zfh.windowSize > ((uint64_t)1 << window_log(total)))
                return -EBADMSG;
        size_t k = ZSTD_findFrameCompressedSize(f, flen);
        if (ZSTD_isError(k) || k != flen)
                return -EBADMSG;
        if (ret)
                *ret = info;
        return 0;
}

/* The bases as one contiguous prefix: the base itself when there is one,
 * else a malloc'ed concatenation in *buf. */
static int prefix_of(const cadu_delta_base *bases, size_t nbases, uint8_t **buf, const uint8_t **ret, size_t *ret_len) {
        size_t total = 0;
        for (size_t i = 0; i < nbases; i++)
                total += bases[i].len;
        if (nbases == 1) {
                *ret = bases[0].data;
                *ret_len = total;
                return 0;
        }
        uint8_t *b = malloc(total);
        if (!b)
                return -ENOMEM;
        for (size_t i = 0, off = 0; i < nbases; off += bases[i].len, i++)
                memcpy(b + off, bases[i].data, bases[i].len);
        *buf = b;
        *ret = b;
        *ret_len = total;
        return 0;
}

int cadu_delta_decode(const void *raw, size_t len, const cadu_delta_base *bases, size_t nbases, size_t max_size,
                      cadu_buf *out) {
        cadu_delta_info info;
        out->len = 0;
        int r = cadu_delta_parse(raw, len, &info);
        if (r < 0)
                return r;
        if (nbases != info.nbases || !bases)
                return -EINVAL;
        uint64_t total = info.target_size;
        for (size_t i = 0; i < nbases; i++) {
                if (!bases[i].data || bases[i].len != info.base_sizes[i])
                        return -EBADMSG;
                total += bases[i].len;
        }
        if (info.target_size > max_size)
                return -EFBIG;
        if (!tls_dctx && !(tls_dctx = ZSTD_createDCtx()))
                return -ENOMEM;
        _cleanup_free_ uint8_t *cat = NULL;
        const uint8_t *prefix;
        size_t plen;
        if ((r = prefix_of(bases, nbases, &cat, &prefix, &plen)) < 0 ||
            (r = cadu_buf_reserve(out, info.target_size)) < 0)
                return r;
        ZSTD_DCtx_reset(tls_dctx, ZSTD_reset_session_and_parameters);
        if (ZSTD_isError(ZSTD_DCtx_setParameter(tls_dctx, ZSTD_d_windowLogMax, (int)window_log(total))) ||
            ZSTD_isError(ZSTD_DCtx_refPrefix_advanced(tls_dctx, prefix, plen, ZSTD_dct_rawContent)))
                return -ENOMEM;
        /* The frame states the target's size (checked by the parse), so the
         * output buffer of exactly that size bounds what it can produce. */
        size_t k = ZSTD_decompressDCtx(tls_dctx, out->data, info.target_size, (const uint8_t *)raw + info.header_size,
                                       len - info.header_size);
        if (ZSTD_isError(k) || k != info.target_size)
                return -EBADMSG;
        out->len = k;
        return 0;
}

int cadu_delta_encode(int level, const uint8_t target_id[CADU_DIGEST_SIZE], const void *target, size_t tlen,
                      const uint8_t (*base_ids)[CADU_DIGEST_SIZE], const cadu_delta_base *bases, size_t nbases,
                      cadu_buf *out) {
        if (level < 1 || level > ZSTD_maxCLevel() || !target || tlen < 1 || tlen > CADU_DELTA_SIZE_MAX ||
            nbases < 1 || nbases > CADU_DELTA_MAX_BASES || !bases || !base_ids)
                return -EINVAL;
        uint64_t total = tlen;
        for (size_t i = 0; i < nbases; i++) {
                if (!bases[i].data || bases[i].len < 1 || bases[i].len > CADU_DELTA_SIZE_MAX)
                        return -EINVAL;
                total += bases[i].len;
        }
        if (total > CADU_DELTA_TOTAL_MAX)
                return -EINVAL;
        if (!tls_cctx && !(tls_cctx = ZSTD_createCCtx()))
                return -ENOMEM;

        size_t hsize = CADU_DELTA_HEADER_FIXED + nbases * CADU_DELTA_BASE_ENTRY, bound = ZSTD_compressBound(tlen);
        out->len = 0;
        int r = cadu_buf_reserve(out, hsize + bound);
        if (r < 0)
                return r;
        uint8_t *h = out->data;
        memcpy(h, CADU_DELTA_MAGIC, 8);
        put_le32(h + 8, CADU_DELTA_VERSION);
        put_le32(h + 12, (uint32_t)nbases);
        cadu_put_le64(h + 16, tlen);
        memcpy(h + 24, target_id, CADU_DIGEST_SIZE);
        for (size_t i = 0; i < nbases; i++) {
                uint8_t *e = h + CADU_DELTA_HEADER_FIXED + i * CADU_DELTA_BASE_ENTRY;
                memcpy(e, base_ids[i], CADU_DIGEST_SIZE);
                cadu_put_le64(e + CADU_DIGEST_SIZE, bases[i].len);
        }

        _cleanup_free_ uint8_t *cat = NULL;
        const uint8_t *prefix;
        size_t plen;
        if ((r = prefix_of(bases, nbases, &cat, &prefix, &plen)) < 0)
                return r;
        ZSTD_CCtx *c = tls_cctx;
        ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, (int)window_log(total))) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0)) ||
            ZSTD_isError(ZSTD_CCtx_refPrefix_advanced(c, prefix, plen, ZSTD_dct_rawContent)))
                return -ENOMEM;
        size_t k = ZSTD_compress2(c, out->data + hsize, bound, target, tlen);
        if (ZSTD_isError(k))
                return -EIO;
        out->len = hsize + k;
        return 0;
}

int cadu_delta_path(const uint8_t target_id[CADU_DIGEST_SIZE], const uint8_t (*base_ids)[CADU_DIGEST_SIZE],
                    size_t nbases, char *out) {
        uint8_t set[CADU_DIGEST_SIZE];
        char hex[2 * CADU_DIGEST_SIZE + 1], shex[17];
        int r = cadu_digest(CADU_DIGEST_SHA256, base_ids, nbases * CADU_DIGEST_SIZE, set);
        if (r < 0)
                return r;
        cadu_hex_encode(target_id, CADU_DIGEST_SIZE, hex);
        cadu_hex_encode(set, 8, shex);
        snprintf(out, CADU_DELTA_PATH_MAX, "deltas/%.4s/%s-%s%s", hex, hex, shex, CADU_DELTA_SUFFIX);
        return 0;
}
