/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verify.h - the engine of cadu verify-store and cadu_store_verify(): every
 * chunk of a store (or every chunk some indexes need) present, decompressed
 * and re-hashed against its id, on several threads; a directory store
 * listed, with whatever in it is no chunk reported as stray.
 *
 * Returns 0 or a negative errno and never prints; what each chunk is found
 * to be stays in the result arrays for the caller to print or count.
 */
#ifndef CADU_VERIFY_H
#define CADU_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cadu-crypt.h"
#include "cadu-store.h"
#include "storewalk.h"

/* What one chunk was found to be. */
enum { CADU_CHECK_OK = 0, CADU_CHECK_MISSING, CADU_CHECK_CORRUPT, CADU_CHECK_ERROR };

typedef struct cadu_verify_result {
        int kind;
        int err;                        /* CADU_CHECK_ERROR: the -errno */
        char *why;                      /* CORRUPT: what is wrong (NULL: out of memory) */
} cadu_verify_result;

typedef struct cadu_verify_stray {
        char *path;                     /* relative to the store */
        const char *why;                /* static */
} cadu_verify_stray;

typedef struct cadu_verify {
        /* Set by the caller. */
        cadu_store *store;
        const char *root;               /* a directory store's path, to list it; NULL: an http(s) store */
        cadu_chunk_set set;             /* index mode: what the indexes need (then set have_digest) */
        bool index_mode;
        bool have_digest;               /* from the indexes or cadu_verify.digest */
        cadu_digest_type digest;        /* without indexes: the digest of the ids */
        bool head_only;                 /* only ask whether each chunk is there */
        const cadu_crypt_key *key;      /* decrypt and check encrypted chunk files */
        unsigned threads;               /* at least 1 */
        /* Progress of the check: done is 0 when it starts and total at its
         * end (only then); bytes the indexes name in index mode, chunks
         * otherwise. From the calling thread only (may be NULL). */
        void (*progress)(void *ud, uint64_t done, uint64_t total);
        void *userdata;

        /* Results of cadu_verify_run(): set.entries sorted by id (no more
         * lookups in set), res[i] for set.entries[i], the strays sorted by
         * path, the chunk files no index names (index mode). */
        cadu_verify_result *res;
        cadu_verify_stray *strays;
        size_t nstrays;
        uint64_t unreferenced;
        atomic_uint_fast64_t bytes, raw_bytes;  /* decompressed, as stored */
        char *error;                    /* on failure: what failed, for a message */

        /* Internal. */
        cadu_buf *raw, *out;            /* per worker */
        atomic_uint_fast64_t done;
        uint64_t total;
} cadu_verify;

/* List the store (when root is set), then check every chunk of set. 0, or
 * -errno with v->error saying what failed. */
int cadu_verify_run(cadu_verify *v);
/* Free the results and the set (not the store). */
void cadu_verify_done(cadu_verify *v);

#endif
