/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mirror-release.h - the engine of cadu mirror beyond the chunks
 * (lib/mirror-release.c): the destination locked and cleaned of an
 * interrupted run, a release manifest fetched and checked against its pins
 * (its signature, indexes, deltas and full images), one job per (source
 * store, destination store) pair copying its chunks with lib/mirror.c and
 * then its packs, and the manifest's files written, the manifest last.
 *
 * Every function returns 0 or a negative errno and never prints. A failure
 * leaves in the cadu_release_mirror the one line that explains it (error,
 * the words cadu mirror prints after "cadu: ") and the exit code of cadu
 * mirror it stands for (exit: 1 failure, 2 usage, 3 verification, 5
 * network); the first failure is kept.
 */
#ifndef CADU_MIRROR_RELEASE_H
#define CADU_MIRROR_RELEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-manifest.h"
#include "cadu-store.h"
#include "mirror.h"
#include "store-packs.h"
#include "storewalk.h"

typedef struct cadu_mirror_job {
        char *from;                     /* source store location */
        char *to;                       /* destination directory store */
        cadu_chunk_set set;
        cadu_index **rels;              /* the indexes, for their packs */
        uint8_t (*rel_shas)[CADU_DIGEST_SIZE];
        size_t nrels;

        /* cadu_mirror_job_open() and _copy(): the stores (m.src, m.dst),
         * the chunks copied (need: set less the except chunks, with their
         * states) and what could not be had from the source. */
        cadu_mirror m;
        cadu_chunk_set need;
        size_t nmissing, ncorrupt, nerror;
        int first_err;                  /* of the first ERROR entry */
} cadu_mirror_job;

typedef struct cadu_release_mirror {
        /* Set by the caller. */
        const char *to;                 /* the destination directory */
        const cadu_store_options *opts; /* to fetch the manifest's files and open stores */

        /* cadu_release_mirror_plan(): the manifest and the files it names,
         * checked before anything is written. */
        const char *manifest;           /* its location (path or URL) */
        cadu_manifest *m;
        cadu_buf text, sig;
        cadu_buf *indexes;              /* per image: the bytes checked */
        char **delta_paths;             /* per image: local delta to copy, or NULL */
        cadu_buf *deltas;               /* per image: a fetched delta (URL manifest) */
        char **fulls;                   /* per image: its full image (path checked, or URL), or NULL */

        cadu_mirror_job *jobs;
        size_t njobs;

        int lock_fd;
        size_t removed;                 /* cadu_release_mirror_clean(): temporary files removed */

        char *error;                    /* the first failure's line */
        int exit;                       /* and its exit code */
} cadu_release_mirror;

#define CADU_RELEASE_MIRROR_INIT { .lock_fd = -1 }

/* Create and lock the destination (an flock on the directory itself) for
 * the rest of the run; -EWOULDBLOCK when another mirror holds it. */
int cadu_release_mirror_lock(cadu_release_mirror *rm);
/* Fetch and check the manifest at location, its signature, indexes and
 * deltas (and local full images), and set up one job per (source,
 * destination) pair: the source is from, else each image's store,
 * relative to the manifest. */
int cadu_release_mirror_plan(cadu_release_mirror *rm, const char *location, const char *from);
/* The job for (from, to), created when new; NULL without memory. */
cadu_mirror_job *cadu_release_mirror_job(cadu_release_mirror *rm, const char *from, const char *to);
/* Remember a release (idx, owned from now on, may be NULL for an encrypted
 * one) of the job for its packs, by the sha256 of its index file. */
int cadu_mirror_job_add_release(cadu_mirror_job *j, cadu_index *idx, const uint8_t sha[CADU_DIGEST_SIZE]);
/* Remove the temporary files a run killed mid-write leaves: chunks being
 * stored in each job's destination, and the manifest's files (exactly those
 * names); removed counts them. */
int cadu_release_mirror_clean(cadu_release_mirror *rm);
/* Open the job's stores (j->m.src, j->m.dst); the caller then sets
 * j->m.threads, and may set j->m.progress. */
int cadu_release_mirror_open(cadu_release_mirror *rm, cadu_mirror_job *j);
/* Copy the job's chunks less those in except (may be NULL). 0 even when
 * some could not be had from the source: need's states, nmissing,
 * ncorrupt and nerror say. */
int cadu_release_mirror_copy(cadu_release_mirror *rm, cadu_mirror_job *j, const cadu_chunk_set *except);
/* Copy the job's releases' packs, pack indexes and delta files. */
int cadu_release_mirror_packs(cadu_release_mirror *rm, cadu_mirror_job *j, cadu_packs_stats *ps);
/* Close the job's stores and free its copy's results (need, m). */
void cadu_mirror_job_close(cadu_mirror_job *j);
/* Write the indexes, deltas, full images, signature and manifest into the
 * destination, the manifest last, each exactly as checked. */
int cadu_release_mirror_files(cadu_release_mirror *rm);
void cadu_release_mirror_done(cadu_release_mirror *rm);

#endif
