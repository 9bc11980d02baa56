/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * extract.h - rebuild an image from its index, using what is at hand first.
 *
 * Sources, cheapest first, for every chunk of the target index:
 *   1. the output's own content at the chunk's offset (in place: resume),
 *   2. all-zero chunks, produced without reading anything,
 *   3. seeds: files or block devices, with a saved index (FILE:INDEX) or
 *      chunked here with the target's parameters,
 *   4. the cache store, 5. the stores in order (failover).
 * Every chunk is verified against its id before it is written, and
 * re-verified when copied from a seed; a mismatch falls to the next source.
 * A chunk id occurring several times is produced once, then copied locally.
 */
#ifndef CADU_EXTRACT_H
#define CADU_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-store.h"

typedef struct cadu_seed {
        const char *path;
        const char *index_path;         /* NULL: chunk the seed */
} cadu_seed;

/* Parse FILE[:INDEX] (as the commands take --seed) in place: the part after
 * the last ':' is the seed's index when such a regular file exists. */
void cadu_seed_parse(char *arg, cadu_seed *s);

typedef struct cadu_source_stats {
        uint64_t chunks, bytes;         /* uncompressed bytes delivered */
        uint64_t raw_bytes;             /* bytes as transferred (compressed) */
        uint64_t rejected;              /* chunks that failed verification */
} cadu_source_stats;

typedef struct cadu_extract_stats {
        uint64_t total_bytes, total_chunks;
        cadu_source_stats in_place, zero, duplicate, cache;
        cadu_source_stats missing;      /* dry_run: chunks no source has (not an error) */
        cadu_source_stats *seeds;       /* nseeds entries */
        cadu_source_stats *stores;      /* nstores entries */
        uint64_t bytes_written;
        double seconds;
} cadu_extract_stats;

typedef struct cadu_extract_opts {
        const cadu_index *index;
        const cadu_seed *seeds;
        size_t nseeds;
        cadu_store *cache;              /* local directory store or NULL */
        cadu_store **stores;
        size_t nstores;
        const char *out_path;           /* NULL with dry_run */
        bool in_place;                  /* existing regular file: keep and reuse its content */
        bool dry_run;                   /* plan only: what would come from where */
        unsigned threads;               /* 0: default */
        void (*progress)(void *ud, uint64_t done, uint64_t total);
        /* Before any output: a seed without a usable index being read to
         * learn its chunks, done of total bytes (may be NULL). */
        void (*seed_progress)(void *ud, const char *seed_path, uint64_t done, uint64_t total);
        void *userdata;
} cadu_extract_opts;

/* Returns 0, or a negative errno with *errmsg (malloc'ed) saying what failed
 * and where. st->seeds and st->stores are allocated here; release them with
 * cadu_extract_stats_free(). */
int cadu_extract(const cadu_extract_opts *o, cadu_extract_stats *st, char **errmsg);
void cadu_extract_stats_free(cadu_extract_stats *st);

#endif
