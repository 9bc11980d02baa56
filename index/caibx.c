/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* casync blob index (.caibx) reader and writer; the grammar is in cadu-index.h. */
#include <errno.h>

#include "cadu-chunker.h"
#include "cadu-index.h"

static int flags_to_digest(uint64_t flags, cadu_digest_type *ret) {
        if (flags == CADU_CAIBX_FLAGS_SHA256)
                *ret = CADU_DIGEST_SHA256;
        else if (flags == CADU_CAIBX_FLAGS_SHA512_256)
                *ret = CADU_DIGEST_SHA512_256;
        else
                return -EBADMSG;
        return 0;
}

int cadu_index_new(cadu_digest_type digest, uint64_t min, uint64_t avg, uint64_t max, cadu_index **ret) {
        if (!cadu_chunker_params_valid(min, avg, max) || !cadu_digest_name(digest))
                return -EINVAL;
        cadu_index *idx = calloc(1, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        idx->digest = digest;
        idx->flags = digest == CADU_DIGEST_SHA256 ? CADU_CAIBX_FLAGS_SHA256 : CADU_CAIBX_FLAGS_SHA512_256;
        idx->min = min;
        idx->avg = avg;
        idx->max = max;
        *ret = idx;
        return 0;
}

cadu_index *cadu_index_free(cadu_index *idx) {
        if (idx) {
                free(idx->items);
                free(idx);
        }
        return NULL;
}

static int reserve(cadu_index *idx, size_t n) {
        if (n <= idx->alloc)
                return 0;
        size_t a = CADU_MAX(n, idx->alloc ? idx->alloc * 2 : 64);
        cadu_index_item *items = realloc(idx->items, a * sizeof(*items));
        if (!items)
                return -ENOMEM;
        idx->items = items;
        idx->alloc = a;
        return 0;
}

int cadu_index_append(cadu_index *idx, uint64_t end, const uint8_t id[CADU_DIGEST_SIZE]) {
        if (end <= cadu_index_size(idx))
                return -EINVAL;
        if (end - cadu_index_size(idx) > idx->max)
                return -E2BIG;
        int r = reserve(idx, idx->n + 1);
        if (r < 0)
                return r;
        idx->items[idx->n].end = end;
        memcpy(idx->items[idx->n].id, id, CADU_DIGEST_SIZE);
        idx->n++;
        return 0;
}

#define BAD(msg) do { if (reason) *reason = (msg); r = -EBADMSG; goto fail; } while (0)

int cadu_index_parse(const uint8_t *buf, size_t len, cadu_index **ret, const char **reason) {
        cadu_index *idx = NULL;
        int r;

        if (len < CADU_CAIBX_OVERHEAD)
                BAD("index truncated: shorter than header and tail");
        if (cadu_le64(buf) != CADU_CAIBX_HEADER_SIZE)
                BAD("bad index header size");
        if (cadu_le64(buf + 8) != CADU_CAIBX_TYPE_INDEX)
                BAD("not a caibx index (bad header type)");

        uint64_t flags = cadu_le64(buf + 16);
        uint64_t min = cadu_le64(buf + 24), avg = cadu_le64(buf + 32), max = cadu_le64(buf + 40);
        cadu_digest_type digest;
        if (flags_to_digest(flags, &digest) < 0)
                BAD("unknown index feature flags");
        if (!cadu_chunker_params_valid(min, avg, max))
                BAD("index chunk sizes invalid (" CADU_CHUNKER_PARAMS_RULE ")");
        if (cadu_le64(buf + 48) != UINT64_MAX || cadu_le64(buf + 56) != CADU_CAIBX_TYPE_TABLE)
                BAD("bad index table header");

        /* The tail's marker and table size tell where the table ends; the
         * file must end right there. */
        const uint8_t *tail = buf + len - 40;
        if (cadu_le64(tail + 32) != CADU_CAIBX_TAIL_MARKER) {
                /* Tell trailing garbage from truncation: look for a complete
                 * tail earlier in the file. */
                for (size_t k = (len - CADU_CAIBX_OVERHEAD) / CADU_CAIBX_ITEM_SIZE + 1; k-- > 0;) {
                        const uint8_t *t = buf + 64 + k * CADU_CAIBX_ITEM_SIZE;
                        if (cadu_le64(t + 32) == CADU_CAIBX_TAIL_MARKER &&
                            cadu_le64(t + 24) == 16 + (uint64_t)k * CADU_CAIBX_ITEM_SIZE + 40)
                                BAD("trailing bytes after the index tail");
                }
                BAD("index truncated (no tail marker at the end)");
        }
        if ((len - CADU_CAIBX_OVERHEAD) % CADU_CAIBX_ITEM_SIZE != 0)
                BAD("index size is not 104 + 40n bytes");
        size_t n = (len - CADU_CAIBX_OVERHEAD) / CADU_CAIBX_ITEM_SIZE;
        if (cadu_le64(tail) != 0 || cadu_le64(tail + 8) != 0)
                BAD("bad index tail (nonzero padding)");
        if (cadu_le64(tail + 16) != CADU_CAIBX_HEADER_SIZE)
                BAD("bad index tail (wrong index offset)");
        if (cadu_le64(tail + 24) != 16 + (uint64_t)n * CADU_CAIBX_ITEM_SIZE + 40)
                BAD("bad index tail (table size does not match file size)");

        r = cadu_index_new(digest, min, avg, max, &idx);
        if (r < 0)
                goto fail;
        r = reserve(idx, n);
        if (r < 0)
                goto fail;
        uint64_t prev = 0;
        for (size_t i = 0; i < n; i++) {
                const uint8_t *item = buf + 64 + i * CADU_CAIBX_ITEM_SIZE;
                uint64_t end = cadu_le64(item);
                if (end <= prev)
                        BAD("index chunk offsets not increasing");
                if (end - prev > max)
                        BAD("index chunk larger than the maximum chunk size");
                idx->items[i].end = end;
                memcpy(idx->items[i].id, item + 8, CADU_DIGEST_SIZE);
                prev = end;
        }
        idx->n = n;
        *ret = idx;
        return 0;
fail:
        cadu_index_free(idx);
        return r;
}

int cadu_index_read(const char *path, cadu_index **ret, const char **reason) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r = cadu_read_file(path, CADU_INDEX_FILE_MAX, &buf, &len);
        if (r < 0)
                return r;
        return cadu_index_parse(buf, len, ret, reason);
}

size_t cadu_index_file_max(uint64_t image_size) {
        uint64_t chunks_max = (CADU_INDEX_FILE_MAX - CADU_CAIBX_OVERHEAD) / CADU_CAIBX_ITEM_SIZE;
        if (image_size >= chunks_max)
                return CADU_INDEX_FILE_MAX;
        return CADU_CAIBX_OVERHEAD + (size_t)image_size * CADU_CAIBX_ITEM_SIZE;
}

int cadu_index_serialize(const cadu_index *idx, uint8_t **ret, size_t *ret_len) {
        size_t len = CADU_CAIBX_OVERHEAD + idx->n * CADU_CAIBX_ITEM_SIZE;
        uint8_t *b = malloc(len), *p;
        if (!b)
                return -ENOMEM;
        cadu_put_le64(b, CADU_CAIBX_HEADER_SIZE);
        cadu_put_le64(b + 8, CADU_CAIBX_TYPE_INDEX);
        cadu_put_le64(b + 16, idx->flags);
        cadu_put_le64(b + 24, idx->min);
        cadu_put_le64(b + 32, idx->avg);
        cadu_put_le64(b + 40, idx->max);
        cadu_put_le64(b + 48, UINT64_MAX);
        cadu_put_le64(b + 56, CADU_CAIBX_TYPE_TABLE);
        p = b + 64;
        for (size_t i = 0; i < idx->n; i++, p += CADU_CAIBX_ITEM_SIZE) {
                cadu_put_le64(p, idx->items[i].end);
                memcpy(p + 8, idx->items[i].id, CADU_DIGEST_SIZE);
        }
        cadu_put_le64(p, 0);
        cadu_put_le64(p + 8, 0);
        cadu_put_le64(p + 16, CADU_CAIBX_HEADER_SIZE);
        cadu_put_le64(p + 24, 16 + (uint64_t)idx->n * CADU_CAIBX_ITEM_SIZE + 40);
        cadu_put_le64(p + 32, CADU_CAIBX_TAIL_MARKER);
        *ret = b;
        *ret_len = len;
        return 0;
}

int cadu_index_write(const cadu_index *idx, const char *path) {
        _cleanup_free_ uint8_t *b = NULL;
        size_t len;
        int r = cadu_index_serialize(idx, &b, &len);
        if (r < 0)
                return r;
        return cadu_write_file_atomic(path, b, len);
}
