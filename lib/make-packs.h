/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * make-packs.h - the pack step of cadu make (doc/pack-format.md).
 *
 * After a release's chunks (and delta files) are in a directory store, pack
 * the chunks of its index that no pack of the store holds yet: a primary
 * pack with each chunk's preferred (smallest) entry in index order, and a
 * secondary pack with the chunk files of the chunks whose preferred entry is
 * a delta, and their other deltas. Chunks already packed are referenced
 * where they lie (found through the store's pack catalogs). Each pack is
 * written under a temporary name, hashed as it is written, renamed to its
 * sha256 and followed by its catalog; the pack index, written last and
 * atomically, is named by the sha256 of the index file. A release whose pack
 * index exists is left as it is: all these files are immutable.
 */
#ifndef CADU_MAKE_PACKS_H
#define CADU_MAKE_PACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-crypt.h"
#include "cadu-index.h"

typedef struct cadu_make_packs_stats {
        bool existed;                   /* the pack index was there already */
        uint64_t packs;                 /* pack files written */
        uint64_t pack_bytes;            /* their size */
        uint64_t packed_chunks;         /* chunks packed now */
        uint64_t referenced_chunks;     /* chunks found in earlier packs */
        uint64_t index_bytes;           /* size of the pack index */
} cadu_make_packs_stats;

/* Pack the release whose index idx was written to index_path into the
 * directory store store_dir. With key, the store is encrypted
 * (doc/encryption.md): chunk and delta files are found by their keyed
 * names, catalogs are sealed, and the pack index (named by the sha256 of
 * the encrypted index file at index_path) is sealed with its packs and
 * delta files in clear. 0, or a negative errno with *errmsg (malloc'ed)
 * saying what failed and where. */
int cadu_make_packs(const char *store_dir, const char *index_path, const cadu_index *idx,
                    const cadu_crypt_key *key, cadu_make_packs_stats *st, char **errmsg);

#endif
