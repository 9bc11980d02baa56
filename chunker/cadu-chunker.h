/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-chunker.h - content-defined chunking with casync's buzhash cut points.
 *
 * The hash of a 48-byte window b0..b47 (b47 newest) is the XOR of
 * rol32(T[b_i], 47 - i). The hash restarts at every chunk start. A chunk of
 * length L ends when L == max, or when L >= min and hash % d == d - 1, with
 * the discriminator d derived from avg as casync does. min == avg == max
 * gives fixed-size chunks. No I/O: the caller feeds buffers of any size.
 */
#ifndef CADU_CHUNKER_H
#define CADU_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CADU_CHUNKER_WINDOW 48
#define CADU_CHUNK_SIZE_MIN_LIMIT 1u
#define CADU_CHUNK_SIZE_MAX_LIMIT (128u * 1024 * 1024)
#define CADU_CHUNK_SIZE_MIN_DEFAULT (16u * 1024)
#define CADU_CHUNK_SIZE_AVG_DEFAULT (64u * 1024)
#define CADU_CHUNK_SIZE_MAX_DEFAULT (256u * 1024)

typedef struct cadu_chunker {
        size_t min, avg, max, discriminator;
        size_t chunk_size;      /* bytes of the current chunk seen so far */
        uint32_t h;
        uint32_t zero_hash;     /* hash of an all-zero window (a fixed point of rolling) */
        bool zero_cuts;         /* whether that hash is a cut */
        uint8_t window[CADU_CHUNKER_WINDOW];
} cadu_chunker;

/* Whether the chunker can honour these sizes: 1 B <= min <= avg <= max <=
 * 128 MiB, and either fixed-size chunks (min == max) or max >= the 48-byte
 * window (no cut point can be computed before the window is full, so a
 * smaller max could not be kept). Every size from a file, the network or the
 * command line goes through this before it reaches a chunker or a buffer. */
bool cadu_chunker_params_valid(uint64_t min, uint64_t avg, uint64_t max);
/* What cadu_chunker_params_valid() wants, for messages. */
#define CADU_CHUNKER_PARAMS_RULE "need 1 B <= min <= avg <= max <= 128 MiB, and max >= 48 B unless min == max"

/* 0, or -EINVAL unless cadu_chunker_params_valid(min, avg, max). */
int cadu_chunker_init(cadu_chunker *c, size_t min, size_t avg, size_t max);

/* Scan n bytes that continue the stream. Returns the number of bytes of p
 * that complete the current chunk (a cut point lies after p[ret-1]) and
 * starts a new chunk; or (size_t)-1 when p holds no cut point (all of it
 * belongs to the current chunk). Call again with the rest of p after a cut. */
size_t cadu_chunker_scan(cadu_chunker *c, const void *p, size_t n);

/* The discriminator casync derives from avg (exposed for tests). */
size_t cadu_chunker_discriminator(size_t avg);

/* Buzhash of a full window (for tests). */
uint32_t cadu_buzhash(const uint8_t window[CADU_CHUNKER_WINDOW]);
/* One rolling step: drop out, take in (for tests). */
uint32_t cadu_buzhash_roll(uint32_t h, uint8_t out, uint8_t in);

#endif
