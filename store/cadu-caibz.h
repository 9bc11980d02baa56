/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-caibz.h - compact indexes: a release's .caibx sent in fewer bytes
 * (doc/pack-format.md, "Compact indexes").
 *
 * The shift-invariant form of an index lists chunk sizes instead of end
 * offsets, so a run of chunks shared with another release encodes to the
 * same bytes wherever it lies:
 *
 *   "CADUSI1\n" | u64 flags | u64 min | u64 avg | u64 max | u64 n
 *   | n x varint size (LEB128, 1..10 bytes) | n x id (32 bytes)
 *
 * (little-endian). A compact index is one zstd frame of that form, alone
 * (STORE/packs/<sha of the .caibx>.caibz) or compressed with the
 * shift-invariant form of an index the device already holds as raw-content
 * prefix (STORE/packs/<sha>-<first 16 hex of the base's sha>.caibz), which
 * cadu make --packs --index-base writes for the releases devices run. The
 * device decodes it back into the exact .caibx bytes and checks them
 * against the sha256 its manifest pins; anything else falls back to the
 * .caibx itself.
 */
#ifndef CADU_CAIBZ_H
#define CADU_CAIBZ_H

#include <stddef.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-store.h"

#define CADU_CAIBZ_SUFFIX ".caibz"
#define CADU_CAIBZ_PATH_MAX 128

/* "packs/<64 hex>[-<16 hex>].caibz" into out (CADU_CAIBZ_PATH_MAX). */
void cadu_caibz_path(const uint8_t sha[CADU_DIGEST_SIZE], const uint8_t *base_sha, char *out);

/* The compact form of idx at zstd level (1..19), against base (NULL: none). */
int cadu_caibz_encode(const cadu_index *idx, const cadu_index *base, int level, cadu_buf *out);

/* Decode z back into .caibx bytes (*out replaced), with the same base as
 * when it was encoded. max_index_size bounds the result (the manifest's
 * pin): -EFBIG beyond, -EBADMSG for anything malformed. The caller checks
 * the digest. */
int cadu_caibz_decode(const void *z, size_t zlen, const cadu_index *base, uint64_t max_index_size, cadu_buf *out);

/* The largest compact index worth reading for an index of size bytes. */
size_t cadu_caibz_max(uint64_t index_size);

#endif
