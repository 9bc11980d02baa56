/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-delta.h - delta chunks by resemblance (doc/delta-format.md).
 *
 * A delta file holds one chunk (the target) compressed as a single zstd
 * frame whose raw-content prefix is the concatenated content of 1..8 other
 * chunks (the bases, in header order). It lives in a store at
 * deltas/<4 hex of target>/<64 hex of target>-<16 hex>.cadelta, the 16 hex
 * being the first 8 bytes of SHA-256 over the ordered base ids, so one
 * target may have deltas against several base sets.
 *
 * Decoding is hostile-safe: the header is parsed with bounded reads, the
 * frame must decode to exactly the size the header states, within the
 * caller's cap, and zstd's window may not exceed what the header implies.
 * The caller verifies the result against the target id (and the bases
 * against theirs before decoding): a delta that does not verify is no
 * worse than a corrupt chunk file.
 *
 * Sketches: a chunk's similarity sketch is CADU_SKETCH_FEATURES 32-bit
 * features, each the maximum of a different linear transform of a 48-byte
 * rolling hash sampled over the chunk; chunks sharing features resemble
 * each other. A sketch index answers "which known chunks resemble this
 * one", best first. Sketch files (STORE/sketches/<sha256>.casketch) keep
 * the sketches of a store's chunks so that a release does not rescan it.
 *
 * All functions return 0 (or a count) or a negative errno and never log.
 * Every function is safe to call from several threads at once (on
 * different objects); the codec keeps one zstd context of each kind per
 * thread, released by cadu_delta_codec_release().
 */
#ifndef CADU_DELTA_H
#define CADU_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cadu-store.h"
#include "cadu-util.h"

#define CADU_DELTA_MAGIC "CADUDELT"             /* 8 bytes, no NUL */
#define CADU_DELTA_VERSION 1
#define CADU_DELTA_MAX_BASES 8
#define CADU_DELTA_SIZE_MAX (128u << 20)        /* largest target or base */
#define CADU_DELTA_TOTAL_MAX (1u << 30)         /* bases + target, bytes */
#define CADU_DELTA_HEADER_FIXED 56              /* magic .. target id */
#define CADU_DELTA_BASE_ENTRY 40                /* base id + base size */
#define CADU_DELTA_SUFFIX ".cadelta"
/* "deltas/<4 hex>/<64 hex>-<16 hex>.cadelta" plus NUL. */
#define CADU_DELTA_PATH_MAX (7 + 4 + 1 + 64 + 1 + 16 + sizeof(CADU_DELTA_SUFFIX))

typedef struct cadu_delta_base {
        const uint8_t *data;
        size_t len;
} cadu_delta_base;

typedef struct cadu_delta_info {
        uint8_t target_id[CADU_DIGEST_SIZE];
        uint64_t target_size;
        size_t nbases;                                  /* 1..CADU_DELTA_MAX_BASES */
        uint8_t base_ids[CADU_DELTA_MAX_BASES][CADU_DIGEST_SIZE];
        uint64_t base_sizes[CADU_DELTA_MAX_BASES];
        size_t header_size;                             /* offset of the zstd frame */
} cadu_delta_info;

/* Parse a delta file's header (and check that one well-formed zstd frame of
 * the stated size follows, without decoding it). -EBADMSG on anything
 * malformed (doc/delta-format.md lists the rules). */
int cadu_delta_parse(const void *raw, size_t len, cadu_delta_info *ret);

/* Decode a delta file: bases in the order of the header, each of the size
 * the header gives (else -EBADMSG, as for a corrupt frame). -EFBIG when the
 * target is larger than max_size; -EINVAL when nbases differs from the
 * header. *out is replaced by the target's content. The caller verifies the
 * result against the target id. */
int cadu_delta_decode(const void *raw, size_t len, const cadu_delta_base *bases, size_t nbases,
                      size_t max_size, cadu_buf *out);

/* Encode target (tlen bytes, 1..CADU_DELTA_SIZE_MAX) against bases
 * (1..CADU_DELTA_MAX_BASES, each 1..CADU_DELTA_SIZE_MAX bytes, total with
 * the target at most CADU_DELTA_TOTAL_MAX) at zstd level 1..22. *out is
 * replaced by the whole delta file. -EINVAL for arguments out of range. */
int cadu_delta_encode(int level, const uint8_t target_id[CADU_DIGEST_SIZE], const void *target, size_t tlen,
                      const uint8_t (*base_ids)[CADU_DIGEST_SIZE], const cadu_delta_base *bases, size_t nbases,
                      cadu_buf *out);

/* Relative path of a delta file in a store, into out (CADU_DELTA_PATH_MAX).
 * 0, or -ENOMEM when the digest cannot be computed. */
int cadu_delta_path(const uint8_t target_id[CADU_DIGEST_SIZE], const uint8_t (*base_ids)[CADU_DIGEST_SIZE],
                    size_t nbases, char *out);

/* Release the calling thread's zstd contexts (before a thread exits). */
void cadu_delta_codec_release(void);

/* ---- sketches ---- */

#define CADU_SKETCH_FEATURES 12

typedef struct cadu_sketch {
        uint32_t f[CADU_SKETCH_FEATURES];       /* 0: no feature (too short a chunk) */
} cadu_sketch;

/* The sketch of a chunk's content. Runs at about memory speed (a gear hash
 * per byte; the transforms only at sampled positions). */
void cadu_sketch_compute(const void *data, size_t len, cadu_sketch *ret);

/* A sketched chunk, as stored in sketch files. */
typedef struct cadu_sketch_entry {
        uint8_t id[CADU_DIGEST_SIZE];
        uint64_t size;
        cadu_sketch sketch;
} cadu_sketch_entry;

/* Sketch files: serialize n entries (the file's name is then the sha256 of
 * the returned bytes, see cadu_sketch_file_name), and parse one back:
 * bounded by len, every field checked, the sha256 of the bytes compared
 * with expected_sha (when not NULL). -EBADMSG on anything malformed. *ret
 * is malloc'ed (free it). */
int cadu_sketch_file_serialize(const cadu_sketch_entry *e, size_t n, cadu_buf *out);
int cadu_sketch_file_parse(const void *raw, size_t len, const uint8_t expected_sha[CADU_DIGEST_SIZE],
                           cadu_sketch_entry **ret, size_t *ret_n);
/* "<64 hex>.casketch" (CADU_SKETCH_NAME_MAX) for a sketch file's bytes;
 * cadu_sketch_file_name_parse() takes the sha256 back out of a name (0, or
 * -EINVAL for anything else). */
#define CADU_SKETCH_SUFFIX ".casketch"
#define CADU_SKETCH_NAME_MAX (64 + sizeof(CADU_SKETCH_SUFFIX))
int cadu_sketch_file_name(const void *raw, size_t len, char *out);
int cadu_sketch_file_name_parse(const char *name, uint8_t sha[CADU_DIGEST_SIZE]);

/* A sketch index over n chunks (numbered 0..n-1 by the caller). Features
 * that more than common_max chunks share (runs of zeros, common
 * structures) are ignored. */
typedef struct cadu_sketch_index cadu_sketch_index;
int cadu_sketch_index_new(const cadu_sketch *sketches, size_t n, size_t common_max, cadu_sketch_index **ret);
cadu_sketch_index *cadu_sketch_index_free(cadu_sketch_index *x);

/* Chunks resembling s, ranked by the number of features they share with it
 * (ties: lower number first), skipping those for which accept (may be NULL)
 * returns false. Up to max numbers into out, their match counts into
 * matches (may be NULL). Returns how many were written, or -ENOMEM. */
ssize_t cadu_sketch_index_query(const cadu_sketch_index *x, const cadu_sketch *s,
                                bool (*accept)(void *ud, size_t i), void *ud,
                                size_t *out, unsigned *matches, size_t max);

#endif
