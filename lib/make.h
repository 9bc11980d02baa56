/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * make.h - the core of cadu make: chunk an image, store the compressed
 * chunks the store lacks, build the index (and fingerprints), write it.
 *
 * Reading and chunking run in the calling thread; hashing, compression and
 * storing run on all cores (chunkfile.c); chunks reach the index in order.
 * The optional steps after it (deltas, packs, compact indexes, manifest)
 * are make-deltas.h, make-packs.h and the command's.
 */
#ifndef CADU_MAKE_H
#define CADU_MAKE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cadu-crypt.h"
#include "cadu-index.h"
#include "cadu-store.h"
#include "chunkfile.h"

typedef struct cadu_make_job {
        /* Set by the caller. */
        cadu_store *store;              /* writable (ops->put) */
        int level;                      /* zstd level of the chunk files */
        const cadu_crypt_key *key;      /* the index is sealed too (store wrapped by the caller) */
        bool fingerprints;              /* also INDEX.fp */
        bool collect_new;               /* keep new_ids (for the delta step) */
        /* Results, released by cadu_make_job_done(). */
        cadu_index *idx;
        cadu_fp *fps;                   /* with fingerprints */
        size_t afps;
        uint8_t *plain_index;           /* with key: the index's plaintext */
        size_t plain_len;
        atomic_uint_fast64_t new_chunks, new_bytes, new_compressed;
        uint8_t (*new_ids)[CADU_DIGEST_SIZE];   /* with collect_new: chunks new to the store, in order */
        size_t n_new, a_new;
        const struct cadu_make_params *params;  /* during cadu_make_chunk_fd() */
        /* All-zero chunks already stored or touched by this make: images
         * repeat them thousands of times, once is enough. */
        pthread_mutex_t zlock;
        uint8_t zdone[4][CADU_DIGEST_SIZE];
        size_t nzdone;
} cadu_make_job;

typedef struct cadu_make_params {
        uint64_t min, avg, max;
        cadu_digest_type digest;
        unsigned threads;               /* 0: number of CPUs */
        void (*progress)(void *ud, uint64_t done);      /* bytes read (may be NULL) */
        void *userdata;
} cadu_make_params;

/* Chunk fd from its current position to its end into j->store and a new
 * j->idx. *ret_size receives the bytes read. On a worker error, that error
 * is returned and *ret_failed (if given) holds the chunk it concerned
 * (len 0: reading failed). */
int cadu_make_chunk_fd(cadu_make_job *j, int fd, const cadu_make_params *p, uint64_t *ret_size,
                       cadu_chunk_info *ret_failed);

/* Write j->idx to path (sealed with j->key; else with fingerprints its
 * PATH.fp bound to the index's sha256). */
int cadu_make_write_index(cadu_make_job *j, const char *path);

void cadu_make_job_done(cadu_make_job *j);

/* The compact forms of the index written to index_path (cadu-caibz.h) into
 * STORE_DIR/packs (the pack step made it): alone, and against each of the
 * nbases base indexes (paths). One already there stays (immutable, named by
 * what it holds). 0, or -errno with *errmsg (malloc'ed) saying what failed. */
int cadu_make_write_caibz(const char *store_dir, const char *index_path, const cadu_index *idx,
                          char *const *bases, size_t nbases, char **errmsg);

/* A single-image release manifest at path for the image and the index j
 * wrote to index_path (name: NULL for index_path's base name without its
 * extension); an encrypted index (j->key) is pinned by its plaintext and
 * the manifest names the key. 0, or -errno with *errmsg (malloc'ed). */
int cadu_make_write_manifest(const cadu_make_job *j, const char *path, const char *compatible,
                             const char *version, const char *name, const char *slot_class, const char *image,
                             const char *index_path, const char *store, char **errmsg);

#endif
