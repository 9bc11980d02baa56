/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * survey.h - the engine of cadu info and cadu_index_survey(): what an index
 * is made of (chunks, distinct chunks, their sizes) and which of its chunks
 * a store holds, with their stored sizes, looked up on several threads.
 *
 * Returns 0 or a negative errno and never prints.
 */
#ifndef CADU_SURVEY_H
#define CADU_SURVEY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cadu-crypt.h"
#include "cadu-index.h"
#include "cadu-store.h"
#include "storewalk.h"

/* Nearest-rank percentiles of an index's chunk sizes. */
typedef struct cadu_size_dist {
        uint64_t min, p10, p50, p90, p99, max;
        double avg;
} cadu_size_dist;

typedef struct cadu_index_desc {
        uint64_t bytes, chunks, distinct, distinct_bytes;
        cadu_size_dist sizes;           /* zero without chunks */
} cadu_index_desc;

/* Describe idx into *ret (zeroed first). */
int cadu_index_describe(const cadu_index *idx, cadu_index_desc *ret);

typedef struct cadu_survey {
        /* Set by the caller. */
        cadu_store *store;              /* an encrypted store: the wrapper, with key set */
        const char *root;               /* a directory store's path: files are stat()ed, not read */
        const cadu_crypt_key *key;      /* the store's key: files by keyed names */
        cadu_chunk_set *set;            /* state and raw_size set for every entry */
        bool download;                  /* not a directory: get every chunk for its size */
        unsigned threads;               /* at least 1 */
        /* Progress in the bytes of the set's chunks: done 0 at the start,
         * the total at the end (only then). From the calling thread only. */
        void (*progress)(void *ud, uint64_t done, uint64_t total);
        void *userdata;

        /* Results. */
        bool sizes_known;               /* raw_size set for the chunks present */
        bool open_failed;               /* the failure was opening root */
        size_t failed;                  /* on failure: entry index + 1 of the chunk, or 0 */

        /* Internal. */
        int rootfd;
        cadu_buf *raw;                  /* per worker */
        atomic_uint_fast64_t done;
        uint64_t total;
        atomic_size_t first_failed;
} cadu_survey;

/* Look up every chunk of sv->set in the store: state CHUNK_PRESENT (with
 * raw_size, the chunk file's size, when sizes_known) or CHUNK_MISSING. */
int cadu_survey_run(cadu_survey *sv);

/* The store's side of the survey: distinct chunks present (with their
 * stored sizes) and missing. */
typedef struct cadu_survey_tally {
        uint64_t present, present_bytes, raw, missing, missing_bytes;
} cadu_survey_tally;
cadu_survey_tally cadu_survey_tally_of(const cadu_chunk_set *all);

#endif
