/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * chunkfile.h - chunk a file and hash its chunks on several cores.
 *
 * The calling thread reads and runs the chunker; worker threads hash each
 * chunk (and run an optional per-chunk callback, e.g. compress and store);
 * a second callback receives the chunks in file order. Memory is bounded by
 * a ring of slots of the maximum chunk size (up to ~32 MiB, or two per
 * thread with params.low_memory) and a read buffer. The holes of a sparse regular
 * file are not read (SEEK_DATA/SEEK_HOLE): they are zeros, and a chunk that
 * lies wholly in holes is handed over as a shared zero buffer.
 */
#ifndef CADU_CHUNKFILE_H
#define CADU_CHUNKFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-util.h"

typedef struct cadu_chunk_info {
        uint64_t offset, end;
        const uint8_t *data;            /* valid only inside the callbacks */
        size_t len;
        uint8_t id[CADU_DIGEST_SIZE];
        cadu_fp fp;                     /* with params.fingerprints */
        bool zero;                      /* all bytes zero (set before the worker callback) */
        uint64_t user;                  /* set by the worker callback */
} cadu_chunk_info;

typedef struct cadu_chunkfile_params {
        uint64_t min, avg, max;
        cadu_digest_type digest;
        unsigned threads;               /* 0: number of CPUs */
        bool fingerprints;              /* also compute each chunk's XXH3-128 */
        /* Two chunk buffers per thread and a 256 KiB read buffer (instead of
         * up to ~32 MiB of them and 1 MiB): for a light per-chunk work
         * (hashing a seed), which does not need a deep queue. */
        bool low_memory;
        /* In a worker thread, after hashing; may set c->user. scratch is a
         * per-thread buffer it may use. Returns 0 or -errno (stops all). */
        int (*work)(void *ud, cadu_chunk_info *c, void *scratch);
        /* In the reading thread, in file order. Returns 0 or -errno (stops all). */
        int (*ordered)(void *ud, const cadu_chunk_info *c);
        /* Called from the reading thread as bytes are read (may be NULL). */
        void (*progress)(void *ud, uint64_t done);
        void *userdata;
} cadu_chunkfile_params;

/* Chunk fd from its current position to end of file. *ret_size receives the
 * bytes read. On a worker or callback error, that error is returned and
 * *ret_failed (if given) holds the chunk it concerned. */
int cadu_chunk_fd(int fd, const cadu_chunkfile_params *p, uint64_t *ret_size, cadu_chunk_info *ret_failed);

#endif
