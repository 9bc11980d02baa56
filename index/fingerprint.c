/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* XXH3-128 chunk fingerprints beside a seed index (format in cadu-index.h). */
#include <errno.h>

#include <xxhash.h>

#include "cadu-index.h"

void cadu_fp_compute(const void *data, size_t len, cadu_fp *ret) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
        memcpy(ret->b, c.digest, CADU_FP_SIZE);
}

int cadu_fp_path(const char *index_path, char **ret) {
        return asprintf(ret, "%s.fp", index_path) < 0 ? -ENOMEM : 0;
}

#define FP_HEADER (8 + CADU_DIGEST_SIZE + 8)

int cadu_fp_write(const char *path, const uint8_t index_sha[CADU_DIGEST_SIZE], const cadu_fp *fps, size_t n) {
        size_t len = FP_HEADER + n * CADU_FP_SIZE;
        _cleanup_free_ uint8_t *b = malloc(len);
        if (!b)
                return -ENOMEM;
        memcpy(b, CADU_FP_MAGIC, 8);
        memcpy(b + 8, index_sha, CADU_DIGEST_SIZE);
        cadu_put_le64(b + 8 + CADU_DIGEST_SIZE, n);
        if (n)
                memcpy(b + FP_HEADER, fps, n * CADU_FP_SIZE);
        return cadu_write_file_atomic(path, b, len);
}

int cadu_fp_parse(const uint8_t *b, size_t len, const uint8_t index_sha[CADU_DIGEST_SIZE], size_t n, cadu_fp **ret) {
        if (len < FP_HEADER || memcmp(b, CADU_FP_MAGIC, 8) != 0)
                return -EBADMSG;
        if (memcmp(b + 8, index_sha, CADU_DIGEST_SIZE) != 0 || cadu_le64(b + 8 + CADU_DIGEST_SIZE) != n)
                return -ESTALE;
        if (n > (len - FP_HEADER) / CADU_FP_SIZE || len - FP_HEADER != n * CADU_FP_SIZE)
                return -EBADMSG;
        cadu_fp *fps = malloc(n ? n * sizeof(cadu_fp) : 1);
        if (!fps)
                return -ENOMEM;
        if (n)
                memcpy(fps, b + FP_HEADER, n * CADU_FP_SIZE);
        *ret = fps;
        return 0;
}

int cadu_fp_read(const char *path, const uint8_t index_sha[CADU_DIGEST_SIZE], size_t n, cadu_fp **ret) {
        _cleanup_free_ uint8_t *b = NULL;
        size_t len;
        /* The sidecar of an index of n chunks has exactly this size. */
        if (n > (SIZE_MAX - FP_HEADER) / CADU_FP_SIZE)
                return -EFBIG;
        int r = cadu_read_file(path, FP_HEADER + n * CADU_FP_SIZE, &b, &len);
        if (r < 0)
                return r;
        return cadu_fp_parse(b, len, index_sha, n, ret);
}
