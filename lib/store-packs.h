/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-packs.h - the packs, pack indexes and delta files of a release in
 * the store maintenance commands (doc/pack-format.md).
 *
 * Functions return 0 or a negative errno with *errmsg (malloc'ed) saying
 * what failed and where; they never log.
 */
#ifndef CADU_STORE_PACKS_H
#define CADU_STORE_PACKS_H

#include <stdint.h>

#include "cadu-index.h"
#include "cadu-store.h"

typedef struct cadu_packs_stats {
        uint64_t pack_indexes;          /* releases that have one */
        uint64_t packs, pack_bytes;     /* copied (mirror) or checked (verify) */
        uint64_t present;               /* mirror: packs already there intact */
        uint64_t deltas, delta_bytes;   /* delta files copied */
} cadu_packs_stats;

/* Copy the release's pack index (none: nothing to do), the packs it names
 * (streamed as ranges, checked against their sha256; those already in `to`
 * intact are kept), their catalogs and the release's delta files from src
 * into the directory store `to`, the pack index last. idx NULL: an
 * encrypted release, index_sha the sha256 of its encrypted index file; its
 * sealed pack index (at most CADU_CRYPT_PACKIDX_MAX bytes) names in clear
 * what to copy, and sealed files are checked for structure only. */
int cadu_packs_mirror(cadu_store *src, const char *to, const cadu_index *idx, const uint8_t index_sha[CADU_DIGEST_SIZE],
                      cadu_packs_stats *st, char **errmsg);

/* Check the release's pack index in store s (none: nothing to check):
 * every entry is read; a chunk file must decode to its chunk; a delta file
 * must name its chunk and the bases the pack index gives, and decode to its
 * chunk when the store holds the bases. problem(ud, where, why) is called
 * for each defect found. Returns the number of defects, or a negative errno
 * (with *errmsg) when the store could not be read. */
int cadu_packs_verify(cadu_store *s, const cadu_index *idx, const uint8_t index_sha[CADU_DIGEST_SIZE],
                      void (*problem)(void *ud, const char *where, const char *why), void *ud,
                      cadu_packs_stats *st, char **errmsg);

/* The same for an encrypted store: with s an encrypted store (its key), the
 * sealed pack index is opened and every sealed entry authenticated under
 * the name of what it claims to be, then checked as above. */

/* Without the key: the release's sealed pack index (named by index_sha, the
 * sha256 of the encrypted index file) is sealed and well formed, each pack
 * it lists is there with its size and sha256, and each delta file it lists
 * that the store has is a sealed delta file. Returns the defects found. */
int cadu_packs_verify_sealed(cadu_store *s, const uint8_t index_sha[CADU_DIGEST_SIZE],
                             void (*problem)(void *ud, const char *where, const char *why), void *ud,
                             cadu_packs_stats *st, char **errmsg);

typedef struct cadu_packs_gc_stats {
        uint64_t files, bytes;          /* deleted (or, dry run, to delete) */
        uint64_t pack_indexes, packs, deltas;   /* of those */
        uint64_t kept_packs, kept_deltas, young;
} cadu_packs_gc_stats;

/* gc of the directory store root after its chunks: keep the pack indexes
 * of the kept indexes (shas) and the packs they name (with their
 * catalogs); keep a delta file only when its chunk and every base are kept
 * (chunk_kept), so that no base a kept delta needs goes without the delta;
 * sealed (encrypted) pack indexes of the kept encrypted indexes, named by
 * the sha256 of those index files (sealed), keep the packs they list in
 * clear, and a sealed delta file is kept with its target and bases by
 * keyed names (doc/encryption.md);
 * delete the rest unless modified at or after cutoff (unless dry_run).
 * deleted(ud, path) (may be NULL) hears of each deletion. */
int cadu_packs_gc(const char *root, const uint8_t (*shas)[CADU_DIGEST_SIZE], cadu_index *const *idx, size_t n,
                  const uint8_t (*sealed)[CADU_DIGEST_SIZE], size_t nsealed,
                  bool (*chunk_kept)(void *ud, const uint8_t id[CADU_DIGEST_SIZE]),
                  void (*deleted)(void *ud, const char *path), void *ud, int64_t cutoff, bool dry_run,
                  cadu_packs_gc_stats *st, char **errmsg);

/* The top-level directories of a store that hold packs, delta files and
 * sketches (not chunk prefix directories, not stray). */
bool cadu_packs_known_dir(const char *name);

#endif
