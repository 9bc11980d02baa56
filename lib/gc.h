/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gc.h - the engine of cadu gc and cadu_store_gc(): delete from a directory
 * store what none of the kept indexes needs (chunk files, leftover
 * temporary files, emptied prefix directories, then packs, pack indexes
 * and delta files), sparing whatever changed within the grace period.
 *
 * Returns 0 or a negative errno and never prints.
 */
#ifndef CADU_GC_H
#define CADU_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-index.h"
#include "store-packs.h"
#include "storewalk.h"

typedef struct cadu_gc {
        /* Set by the caller. */
        const char *root;               /* the directory store */
        cadu_chunk_set set;             /* the chunks to keep (cadu_chunk_set_add_index etc.) */
        /* The kept indexes, for their packs: paths[i] is read for its sha256;
         * idx[i] is NULL for an encrypted one (its keyed names are in set). */
        const char *const *paths;
        cadu_index *const *idx;
        size_t n;
        int64_t cutoff;                 /* files modified at or after this are young */
        bool dry_run;
        /* Each file deleted (or, dry run, to delete), relative to root (may
         * be NULL). */
        void (*deleted)(void *ud, const char *path);
        void *userdata;

        /* Results. */
        uint64_t deleted_chunks, deleted_bytes, kept, kept_bytes, young, young_bytes;
        uint64_t temp_deleted, temp_bytes, temp_young, other, dirs_removed;
        uint64_t missing;               /* chunks of set not in the store */
        cadu_packs_gc_stats packs;
        char *error;                    /* on failure: what failed, for a message */

        /* Internal. */
        size_t cur_deleted;             /* in the current prefix directory */
        char *failed;                   /* path that could not be deleted */
} cadu_gc;

/* 0, or -errno with g->error saying what failed. */
int cadu_gc_run(cadu_gc *g);
/* Free the results and the set. */
void cadu_gc_done(cadu_gc *g);

#endif
