/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-index.h - casync blob index (.caibx), byte for byte.
 *
 * All integers are u64 little-endian.
 *
 *   header  (48 B): size=48, type=CADU_CAIBX_TYPE_INDEX, feature_flags,
 *                   chunk_size_min, chunk_size_avg, chunk_size_max
 *   table   (16 B): size=UINT64_MAX, type=CADU_CAIBX_TYPE_TABLE
 *   items   (40 B each): end offset of the chunk, 32-byte chunk id
 *   tail    (40 B): 0, 0, 48 (offset of the index), table size (16+40n+40),
 *                   CADU_CAIBX_TAIL_MARKER
 *
 * File size is 104 + 40n. casync writes flags CADU_CAIBX_FLAGS_SHA256 or
 * CADU_CAIBX_FLAGS_SHA512_256 for a blob index.
 */
#ifndef CADU_INDEX_H
#define CADU_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "cadu-util.h"

#define CADU_CAIBX_TYPE_INDEX UINT64_C(0x96824d9c7b129ff9)
#define CADU_CAIBX_TYPE_TABLE UINT64_C(0xe75b9e112f17417d)
#define CADU_CAIBX_TAIL_MARKER UINT64_C(0x4b4f050e5549ecd1)
#define CADU_CAIBX_FLAG_SHA512_256 UINT64_C(0x2000000000000000)
#define CADU_CAIBX_FLAGS_SHA256 UINT64_C(0x9000000000000000)
#define CADU_CAIBX_FLAGS_SHA512_256 UINT64_C(0xB000000000000000)
#define CADU_CAIBX_HEADER_SIZE 48
#define CADU_CAIBX_ITEM_SIZE 40
#define CADU_CAIBX_OVERHEAD 104

typedef struct cadu_index_item {
        uint64_t end;                   /* offset just past the chunk */
        uint8_t id[CADU_DIGEST_SIZE];
} cadu_index_item;

typedef struct cadu_index {
        uint64_t flags;
        uint64_t min, avg, max;
        cadu_digest_type digest;
        size_t n;
        size_t alloc;
        cadu_index_item *items;
} cadu_index;

/* Empty index with the given parameters; -EINVAL for sizes that
 * cadu_chunker_params_valid() refuses or an unknown digest. */
int cadu_index_new(cadu_digest_type digest, uint64_t min, uint64_t avg, uint64_t max, cadu_index **ret);
cadu_index *cadu_index_free(cadu_index *idx);

/* Append a chunk ending at end: -EINVAL unless past the previous end,
 * -E2BIG for a chunk longer than max. */
int cadu_index_append(cadu_index *idx, uint64_t end, const uint8_t id[CADU_DIGEST_SIZE]);

/* Parse a whole index file. On -EBADMSG, *reason (if given) names the
 * defect: every malformed case has its own static message. */
int cadu_index_parse(const uint8_t *buf, size_t len, cadu_index **ret, const char **reason);
/* Read and parse a file (at most 2 GiB). Errors as cadu_index_parse, or -errno. */
int cadu_index_read(const char *path, cadu_index **ret, const char **reason);
/* Largest index file cadu reads: 2 GiB (50 million chunks). */
#define CADU_INDEX_FILE_MAX ((size_t)2 << 30)
/* Largest index file that can describe an image of image_size bytes (every
 * chunk holds at least a byte), at most CADU_INDEX_FILE_MAX: the read cap
 * for a seed's index. */
size_t cadu_index_file_max(uint64_t image_size);

/* Serialise into a malloc'ed buffer. */
int cadu_index_serialize(const cadu_index *idx, uint8_t **ret, size_t *ret_len);
/* Write atomically (temporary file + rename). */
int cadu_index_write(const cadu_index *idx, const char *path);

/* ---- fingerprints: INDEX.fp beside an index cadu saved itself ----
 *
 * A seed index written by cadu (cadu make --fingerprints, cadu install) may
 * carry an XXH3-128 fingerprint per chunk, so that chunks copied from the
 * seed are checked at memory speed. The file binds to one index by its
 * sha256. Trust still rests on the SHA chunk ids the fingerprints were made
 * from and on the image sha256 a manifest pins.
 *
 *   magic "CADUFP1\n" (8 B), sha256 of the index file (32 B), n (u64 le),
 *   n x 16 B: XXH3-128 of each chunk in index order (canonical, big-endian)
 */
#define CADU_FP_MAGIC "CADUFP1\n"
#define CADU_FP_SIZE 16

typedef struct cadu_fp {
        uint8_t b[CADU_FP_SIZE];
} cadu_fp;

/* XXH3-128 of a buffer. */
void cadu_fp_compute(const void *data, size_t len, cadu_fp *ret);
/* Path of the sidecar of index_path (malloc'ed "INDEX.fp"). */
int cadu_fp_path(const char *index_path, char **ret);
/* Write fingerprints for the index whose file has sha256 index_sha (atomically). */
int cadu_fp_write(const char *path, const uint8_t index_sha[CADU_DIGEST_SIZE], const cadu_fp *fps, size_t n);
/* Read fingerprints that belong to the index with sha256 index_sha and n
 * chunks: -ENOENT without a file, -ESTALE when it belongs to another index,
 * -EBADMSG when malformed. *ret is malloc'ed. */
int cadu_fp_read(const char *path, const uint8_t index_sha[CADU_DIGEST_SIZE], size_t n, cadu_fp **ret);
/* The same from len bytes in memory. */
int cadu_fp_parse(const uint8_t *data, size_t len, const uint8_t index_sha[CADU_DIGEST_SIZE], size_t n, cadu_fp **ret);

static inline uint64_t cadu_index_size(const cadu_index *idx) {
        return idx->n ? idx->items[idx->n - 1].end : 0;
}
static inline uint64_t cadu_index_chunk_offset(const cadu_index *idx, size_t i) {
        return i ? idx->items[i - 1].end : 0;
}
static inline uint64_t cadu_index_chunk_size(const cadu_index *idx, size_t i) {
        return idx->items[i].end - cadu_index_chunk_offset(idx, i);
}

#endif
