/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * make-deltas.h - the delta step of `cadu make --deltas`.
 *
 * After make has stored a release's chunks, each chunk that was new to the
 * store (the targets, in release order) is compared by sketch with every
 * chunk the store held before and with the targets before it in the
 * release, and the target just before it in the release is a candidate
 * too; against the best-ranked candidates (up to 8 bases) a zstd delta
 * is encoded (doc/delta-format.md) and kept when it is clearly smaller
 * than the target's chunk file. Sketches of the store's chunks are kept in
 * STORE/sketches/, so only chunks without one are read and sketched.
 *
 * Bases and targets are read back from the store's chunk files (decoded and
 * verified), one target at a time per thread, so memory stays bounded by
 * the threads times a few chunks plus the sketches (about 100 bytes per
 * chunk in the store). Encoding runs on every thread given.
 */
#ifndef CADU_MAKE_DELTAS_H
#define CADU_MAKE_DELTAS_H

#include <stddef.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-store.h"

typedef struct cadu_make_deltas_params {
        const char *store_path;         /* a directory store */
        cadu_store *store;              /* the same, open */
        cadu_digest_type digest;        /* of the release's chunk ids */
        int level;                      /* zstd level of the deltas */
        unsigned threads;
        /* An encrypted store (store is the encrypted store): delta and
         * sketch files are sealed, delta files named by keyed names
         * (doc/encryption.md); chunks of the store without a sketch are
         * not bases. NULL: a plain store. */
        const struct cadu_crypt_key *key;
        /* Progress of each phase ("sketches", "deltas"), in chunks: done = 0
         * when it starts, done = total when it ends (may be NULL). */
        void (*progress)(void *ud, const char *what, uint64_t done, uint64_t total);
        void *userdata;
} cadu_make_deltas_params;

typedef struct cadu_make_deltas_stats {
        uint64_t targets;               /* new chunks of the release */
        uint64_t with_delta;            /* targets that got a delta */
        uint64_t plain_bytes;           /* their chunk files, together */
        uint64_t best_bytes;            /* the smallest entry (delta or chunk file) of each, together */
        uint64_t delta_bytes;           /* the delta files kept */
        uint64_t sketched;              /* chunks read and sketched */
        uint64_t sketch_files_ignored;  /* corrupt sketch files (their chunks sketched again) */
        double seconds;
} cadu_make_deltas_stats;

/* Run the delta step for the chunks of idx whose ids are in new_ids (the
 * chunks this make added to the store, in release order; duplicates are
 * fine). 0 or -errno; on failure *what (when given) receives a malloc'ed
 * description of what failed. */
int cadu_make_deltas(const cadu_make_deltas_params *p, const cadu_index *idx, const uint8_t (*new_ids)[CADU_DIGEST_SIZE],
                     size_t n_new, cadu_make_deltas_stats *stats, char **what);

#endif
