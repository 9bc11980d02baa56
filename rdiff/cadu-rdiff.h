/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-rdiff.h - rdiff (librsync 2.x) signatures, deltas and patches,
 * interoperable with `rdiff` 2.3 and implemented without librsync.
 *
 * Formats (all integers big-endian):
 *
 *   signature := magic:u32 block_len:u32 strong_len:u32
 *                { weak:u32 strong:u8[strong_len] }*       one per basis block
 *   delta     := 0x72730236:u32 command* END
 *   command   := 0x00                                     END
 *              | 0x01..0x40 byte[cmd]                     literal of cmd bytes
 *              | 0x41..0x44 len:u(1|2|4|8) byte[len]      literal
 *              | 0x45..0x54 off:u(W) len:u(V)             copy len bytes of the
 *                  basis from off; cmd = 0x45 + 4 * log2(W) + log2(V)
 *
 * The last block of the basis may be short; it is matched by length at the
 * end of the new file. Lengths are never 0 and a copy lies inside the basis.
 * The format carries no digest of the result: check it yourself (the patch
 * functions can hash the output while they write it).
 *
 * Every function returns 0 or a negative errno. Malformed input gives
 * -EBADMSG and a one-line reason in cadu_rdiff_stats.reason. Nothing logs.
 */
#ifndef CADU_RDIFF_H
#define CADU_RDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cadu-util.h"

#define CADU_RDIFF_DELTA_MAGIC         0x72730236u
#define CADU_RDIFF_MD4_SIG_MAGIC       0x72730136u  /* rollsum + MD4 */
#define CADU_RDIFF_BLAKE2_SIG_MAGIC    0x72730137u  /* rollsum + BLAKE2 */
#define CADU_RDIFF_RK_MD4_SIG_MAGIC    0x72730146u  /* RabinKarp + MD4 */
#define CADU_RDIFF_RK_BLAKE2_SIG_MAGIC 0x72730147u  /* RabinKarp + BLAKE2: rdiff's default */

/* Basis size when it is not known in advance (a pipe). */
#define CADU_RDIFF_SIZE_UNKNOWN UINT64_MAX
/* Largest block length accepted anywhere (rdiff's own limit is 2^31 - 1). */
#define CADU_RDIFF_MAX_BLOCK_LEN (1u << 30)

/* The signature magic for a strong hash (blake2: BLAKE2b-256, else MD4) and
 * weak sum (rabinkarp: RabinKarp, else rsync's rollsum). */
uint32_t cadu_rdiff_sig_magic(bool blake2, bool rabinkarp);
/* True for the four signature magics. */
bool cadu_rdiff_is_sig_magic(uint32_t magic);

typedef struct cadu_rdiff_sig_params {
        uint32_t magic;
        uint32_t block_len;
        uint32_t strong_len;
} cadu_rdiff_sig_params;

/* Choose signature parameters exactly as rdiff 2.3 does. block_len 0 means
 * recommended: 256 for a basis of at most 64 KiB, else floor(sqrt(size))
 * rounded down to a multiple of 128, and 2048 when the size is unknown.
 * strong_len 0 means the hash's full length (32 BLAKE2, 16 MD4) and -1 the
 * smallest length rdiff recommends for the size. Returns -EINVAL for a bad
 * magic, a block length above CADU_RDIFF_MAX_BLOCK_LEN or a strong length
 * outside 1..full length. *ret_weak (optional) tells whether strong_len is
 * below the recommended minimum (rdiff warns then, but goes on). */
int cadu_rdiff_sig_params_init(cadu_rdiff_sig_params *p, uint32_t magic, uint64_t basis_size,
                               uint32_t block_len, int strong_len, bool *ret_weak);

/* Options common to the operations; a NULL pointer means the defaults. */
typedef struct cadu_rdiff_opts {
        unsigned threads;               /* worker threads; 0 = one per CPU (at most 8) */
        /* Called now and then from the calling thread with the number of
         * input bytes consumed so far (basis, new file or delta). */
        void (*progress)(void *userdata, uint64_t done);
        void *userdata;
} cadu_rdiff_opts;

/* What an operation did, and why it rejected its input. */
typedef struct cadu_rdiff_stats {
        uint64_t in_bytes;       /* basis (signature), new file (delta), delta (patch) */
        uint64_t out_bytes;      /* bytes written */
        uint64_t blocks;         /* signature blocks written or loaded */
        uint64_t literal_cmds, literal_bytes;
        uint64_t copy_cmds, copy_bytes;
        uint64_t strong_sums;    /* delta: strong sums computed on the new file */
        char reason[192];        /* set with -EBADMSG: what is wrong with the input */
} cadu_rdiff_stats;

/* Write the signature of everything readable from basis_fd (a file,
 * device or pipe; read sequentially to its end) to sig_fd. Byte-identical
 * to `rdiff signature` with the same parameters. stats may be NULL. */
int cadu_rdiff_signature_fd(int basis_fd, int sig_fd, const cadu_rdiff_sig_params *p,
                            const cadu_rdiff_opts *opts, cadu_rdiff_stats *stats);

/* A signature loaded into memory, indexed for delta. */
typedef struct cadu_rdiff_sig cadu_rdiff_sig;

/* Load a signature from fd (read to its end) or from memory. -EBADMSG with
 * stats->reason for a bad magic, truncated header or record, a block length
 * of 0 or above CADU_RDIFF_MAX_BLOCK_LEN, or a strong length of 0 or above
 * the hash size. */
int cadu_rdiff_sig_load_fd(int fd, cadu_rdiff_sig **ret, cadu_rdiff_stats *stats);
int cadu_rdiff_sig_load_mem(const void *data, size_t n, cadu_rdiff_sig **ret, cadu_rdiff_stats *stats);
void cadu_rdiff_sig_get_params(const cadu_rdiff_sig *s, cadu_rdiff_sig_params *ret, uint64_t *ret_blocks);
/* NULL-safe; returns NULL. */
cadu_rdiff_sig *cadu_rdiff_sig_free(cadu_rdiff_sig *s);

/* Write a delta from the signature's basis to everything readable from
 * new_fd (read sequentially; memory stays bounded whatever its size) into
 * delta_fd. It applies with `rdiff patch`. The output depends only on the
 * inputs, not on the number of threads. */
int cadu_rdiff_delta_fd(const cadu_rdiff_sig *sig, int new_fd, int delta_fd,
                        const cadu_rdiff_opts *opts, cadu_rdiff_stats *stats);

/* ---- patch ---- */

/* A streaming patcher: feed it the delta in pieces of any size; it reads the
 * basis with pread() (basis_fd must be a file or block device of basis_size
 * bytes) and writes the result sequentially to out_fd, hashing it into hash
 * when hash is not NULL. Used by the installer to patch one slot from the
 * other while the delta arrives. */
typedef struct cadu_rdiff_patch cadu_rdiff_patch;

int cadu_rdiff_patch_new(int basis_fd, uint64_t basis_size, int out_fd, cadu_digest_ctx *hash,
                         cadu_rdiff_stats *stats, cadu_rdiff_patch **ret);
/* Returns 0, -EBADMSG (reason in the stats given to _new) or an I/O error;
 * after an error the patcher only accepts _free. */
int cadu_rdiff_patch_feed(cadu_rdiff_patch *p, const void *data, size_t n);
/* The delta has ended: fails with -EBADMSG unless END was seen; flushes
 * the output (no fsync). */
int cadu_rdiff_patch_finish(cadu_rdiff_patch *p);
/* NULL-safe; returns NULL. */
cadu_rdiff_patch *cadu_rdiff_patch_free(cadu_rdiff_patch *p);

/* Apply the whole delta readable from delta_fd: _new, _feed, _finish. */
int cadu_rdiff_patch_fd(int basis_fd, uint64_t basis_size, int delta_fd, int out_fd,
                        cadu_digest_ctx *hash, const cadu_rdiff_opts *opts, cadu_rdiff_stats *stats);

#endif
