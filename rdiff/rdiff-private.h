/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rdiff-private.h - what the parts of libcadurdiff share and nobody else
 * sees: the weak (rolling) sums, the strong sums (BLAKE2b-256, MD4), the
 * signature in memory, a buffered writer and an ordered worker pool.
 */
#ifndef CADU_RDIFF_PRIVATE_H
#define CADU_RDIFF_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cadu-rdiff.h"

#define RDIFF_BLAKE2_LEN 32
#define RDIFF_MD4_LEN 16
#define RDIFF_MAX_STRONG 32

/* ---- weak sums ----
 *
 * RabinKarp (librsync 2.x): h = 1; for each byte b: h = h * K + b (mod 2^32).
 * For a window b0..b(n-1) that is h = K^n + sum b_i K^(n-1-i).
 *
 * Rollsum (rsync's Adler variant): s1 = sum (b + 31), s2 = sum of the
 * running s1, both mod 2^16; digest (s2 << 16) | s1. */
#define RDIFF_RK_MULT 0x08104225u
#define RDIFF_RS_OFFSET 31u

typedef struct rdiff_weak {
        bool rabinkarp;
        uint32_t count;   /* window length */
        uint32_t h;       /* RabinKarp sum */
        uint32_t kn;      /* K^count */
        uint32_t s1, s2;  /* Rollsum halves (kept unreduced, reduced on digest) */
} rdiff_weak;

/* Weak sum of one whole buffer (fast path, no rolling state). */
uint32_t rdiff_rabinkarp(const uint8_t *p, size_t n);
uint32_t rdiff_rollsum(const uint8_t *p, size_t n);

/* K^n mod 2^32, and the inverse of K mod 2^32. */
uint32_t rdiff_rk_pow(uint64_t n);
extern const uint32_t rdiff_rk_inv;

/* Start a rolling sum over the window p[0..n). */
void rdiff_weak_init(rdiff_weak *w, bool rabinkarp, const uint8_t *p, size_t n);
static inline uint32_t rdiff_weak_digest(const rdiff_weak *w) {
        if (w->rabinkarp)
                return w->h;
        return ((w->s2 & 0xffff) << 16) | (w->s1 & 0xffff);
}
/* Slide the window one byte: out leaves at the front, in joins at the end. */
static inline void rdiff_weak_rotate(rdiff_weak *w, uint8_t out, uint8_t in) {
        if (w->rabinkarp) {
                w->h = w->h * RDIFF_RK_MULT + in - w->kn * (out + RDIFF_RK_MULT - 1);
        } else {
                w->s1 += (uint32_t)in - out;
                w->s2 += w->s1 - w->count * (out + RDIFF_RS_OFFSET);
        }
}
/* Drop the first byte of the window (the window shrinks by one). */
static inline void rdiff_weak_rollout(rdiff_weak *w, uint8_t out) {
        if (w->rabinkarp) {
                /* h' = h - K^(n-1) * (K + out - 1); K^(n-1) = K^n * K^-1. */
                w->kn *= rdiff_rk_inv;
                w->h -= w->kn * (out + RDIFF_RK_MULT - 1);
        } else {
                w->s1 -= out + RDIFF_RS_OFFSET;
                w->s2 -= w->count * (out + RDIFF_RS_OFFSET);
        }
        w->count--;
}

/* ---- strong sums ---- */

/* Unkeyed BLAKE2b created with a 32-byte digest (RFC 7693, outlen 32). */
void rdiff_blake2b256(const void *data, size_t n, uint8_t out[RDIFF_BLAKE2_LEN]);
/* Four messages of the same length n at once (SIMD when the CPU has it). */
void rdiff_blake2b256_x4(const uint8_t *const data[4], size_t n, uint8_t out[4][RDIFF_BLAKE2_LEN]);
/* MD4 (RFC 1320). */
void rdiff_md4(const void *data, size_t n, uint8_t out[RDIFF_MD4_LEN]);

/* Strong sum of kind blake2 (true) or md4 into out (RDIFF_MAX_STRONG bytes). */
static inline void rdiff_strong(bool blake2, const void *p, size_t n, uint8_t *out) {
        if (blake2)
                rdiff_blake2b256(p, n, out);
        else
                rdiff_md4(p, n, out);
}
/* Up to four strong sums of equal-length messages; k in 1..4. */
void rdiff_strong_multi(bool blake2, const uint8_t *const data[4], unsigned k, size_t n,
                        uint8_t out[4][RDIFF_MAX_STRONG]);

/* ---- the signature in memory ---- */

struct cadu_rdiff_sig {
        uint32_t magic, block_len, strong_len;
        bool rabinkarp, blake2;
        uint32_t nblocks;
        uint32_t *weak;          /* nblocks weak sums */
        uint8_t *strong;         /* nblocks * strong_len bytes */

        /* Lookup: distinct (weak, strong) pairs, first block of each. An
         * open-addressed table of weak sums to entry numbers plus a bit
         * filter to reject most weak sums with one memory access. */
        uint32_t nentries;
        uint32_t *entry_block;   /* entry -> first block with that (weak, strong) */
        uint32_t table_mask, table_shift;   /* slot = hash >> table_shift */
        uint32_t *table_weak;    /* slot -> weak sum */
        uint32_t *table_entry;   /* slot -> entry + 1 (0 = empty) */
        uint32_t filter_shift;   /* filter bit = hash >> shift */
        uint64_t *filter;
};

/* The bits that index the table and the filter: a RabinKarp sum's high
 * bits are well mixed already (carries run upwards), so they are used as
 * they are, which saves a multiplication per byte when scanning; rollsum's
 * are not, so they get a multiplicative hash. */
static inline uint32_t rdiff_mix(bool rabinkarp, uint32_t w) {
        return rabinkarp ? w : w * 0x9E3779B1u;
}
static inline bool rdiff_filter_test(const uint64_t *filter, unsigned shift, uint32_t mixed) {
        uint32_t b = mixed >> shift;
        return (filter[b >> 6] >> (b & 63)) & 1;
}
static inline bool rdiff_sig_maybe(const cadu_rdiff_sig *s, uint32_t w) {
        return rdiff_filter_test(s->filter, s->filter_shift, rdiff_mix(s->rabinkarp, w));
}

/* ---- buffered output ---- */

typedef struct rdiff_writer {
        int fd;
        uint8_t *buf;
        size_t len, alloc, cap;  /* the buffer grows to cap as output comes */
        uint64_t total;
        cadu_digest_ctx *hash;   /* optional: every byte written is hashed */
        /* Sparse output (a regular file with nothing after where we began):
         * aligned all-zero 4 KiB blocks are skipped with lseek() and
         * become holes; pos is the file offset. */
        bool sparse;
        uint64_t pos;
} rdiff_writer;

int rdiff_writer_init(rdiff_writer *w, int fd, size_t cap, cadu_digest_ctx *hash);
int rdiff_writer_flush(rdiff_writer *w);
int rdiff_writer_put(rdiff_writer *w, const void *p, size_t n);
/* Room for at least one byte at buf + len (growing or flushing the buffer);
 * the caller fills some and adds to len and total. */
int rdiff_writer_room(rdiff_writer *w, size_t *ret_room);
void rdiff_writer_done(rdiff_writer *w);
/* Switch to sparse output if fd allows it (see above); false if not. */
bool rdiff_writer_try_sparse(rdiff_writer *w);
/* Append n zero bytes (a hole where sparse). */
int rdiff_writer_zeros(rdiff_writer *w, uint64_t n);
/* Finish sparse output: give the file its full size. */
int rdiff_writer_finish(rdiff_writer *w);

/* ---- input read in pieces: files and block devices are mapped (no copy
 * through a buffer, which costs more than hashing here), pipes are read.
 * The environment variable CADU_RDIFF_NO_MMAP forces reading. ---- */

typedef struct rdiff_source {
        int fd;
        bool mapped;
        uint64_t start;      /* mapped: fd's offset when we started */
        uint64_t size;       /* mapped: bytes from start to the end */
        size_t page;
} rdiff_source;

typedef struct rdiff_map {
        void *base;
        size_t len;
} rdiff_map;

int rdiff_source_init(rdiff_source *s, int fd);
/* Map bytes [off, off + len) of a mapped source (off relative to start;
 * len > 0 and within size). *ret points at byte off. */
int rdiff_source_map(const rdiff_source *s, uint64_t off, size_t len, rdiff_map *m, const uint8_t **ret);
void rdiff_map_release(rdiff_map *m);

/* ---- an ordered pool: jobs run on worker threads, finish in any order
 * and are handed back in submission order. With one thread, jobs run in
 * the caller when they are waited for. ---- */

typedef struct rdiff_pool rdiff_pool;
typedef void (*rdiff_pool_fn)(void *job, void *userdata);

unsigned rdiff_default_threads(void);
/* Room for max_jobs queued jobs. */
int rdiff_pool_new(unsigned threads, size_t max_jobs, rdiff_pool_fn fn, void *userdata, rdiff_pool **ret);
/* Queue a job (must not be already queued). */
int rdiff_pool_submit(rdiff_pool *p, void *job);
/* Wait for the oldest queued job and return it (NULL if none is queued). */
void *rdiff_pool_wait(rdiff_pool *p);
rdiff_pool *rdiff_pool_free(rdiff_pool *p);

/* Store a formatted reason in st->reason (if st) and return -EBADMSG. */
int rdiff_bad(cadu_rdiff_stats *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline uint64_t rdiff_be(const uint8_t *p, unsigned width) {
        uint64_t v = 0;
        for (unsigned i = 0; i < width; i++)
                v = v << 8 | p[i];
        return v;
}
static inline void rdiff_put_be(uint8_t *p, uint64_t v, unsigned width) {
        for (unsigned i = width; i > 0; i--) {
                p[i - 1] = (uint8_t)v;
                v >>= 8;
        }
}
/* Smallest of 1, 2, 4, 8 bytes that holds v (librsync's rs_int_len). */
static inline unsigned rdiff_int_len(uint64_t v) {
        if (v <= 0xff)
                return 1;
        if (v <= 0xffff)
                return 2;
        if (v <= 0xffffffffu)
                return 4;
        return 8;
}

#endif
