/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mirror.h - the engine of cadu mirror and cadu_store_mirror(): the chunks
 * of a set copied from a store into a directory store on several threads,
 * each decompressed and checked against its id on the way (a keyed name of
 * an encrypted index: its structure) and stored as it was compressed;
 * chunks the destination holds intact are kept, damaged ones replaced.
 *
 * Returns 0 or a negative errno and never prints.
 */
#ifndef CADU_MIRROR_H
#define CADU_MIRROR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cadu-store.h"
#include "storewalk.h"

/* cadu_chunk_entry.state after cadu_mirror_run(). */
enum { CADU_MIRROR_PRESENT = 1, CADU_MIRROR_COPIED, CADU_MIRROR_MISSING, CADU_MIRROR_CORRUPT, CADU_MIRROR_ERROR };

typedef struct cadu_mirror {
        /* Set by the caller. */
        cadu_store *src, *dst;          /* dst: a directory store */
        cadu_chunk_set *set;            /* entries with max_size 0 are keyed names */
        unsigned threads;               /* at least 1 */
        /* Progress in the bytes of the set's chunks: done 0 at the start,
         * the total at the end (only then). From the calling thread only. */
        void (*progress)(void *ud, uint64_t done, uint64_t total);
        void *userdata;

        /* Results: every entry's state, and for MISSING, CORRUPT and ERROR
         * errs[i] the -errno the source gave. */
        int *errs;
        atomic_uint_fast64_t present, copied, copied_raw, repaired;
        int fatal;                      /* the destination failed (then returned) */
        size_t fatal_entry;             /* at this entry */

        /* Internal. */
        cadu_buf *raw, *out;            /* per worker */
        atomic_uint_fast64_t done;
        uint64_t total;
        pthread_mutex_t lock;
        bool lock_init;
} cadu_mirror;

/* Copy what the set names. 0 even when some chunks could not be had from
 * the source (their states say); -errno when the copy itself failed (the
 * destination, memory), with fatal and fatal_entry set for the former. */
int cadu_mirror_run(cadu_mirror *m);
/* Free the results (not the stores, not the set). */
void cadu_mirror_done(cadu_mirror *m);

#endif
