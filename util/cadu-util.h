/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-util.h - small helpers shared by every cadu library: cleanup
 * attributes, full reads and writes, little-endian fields, hex, digests
 * (OpenSSL EVP) and output files that appear under their final name only
 * when complete.
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; nothing here logs.
 */
#ifndef CADU_UTIL_H
#define CADU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

#define CADU_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define CADU_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CADU_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void cadu_freep(void *p) { free(*(void **)p); }
static inline void cadu_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void cadu_fclosep(FILE **f) { if (*f) fclose(*f); }
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cadu_freep)
#define _cleanup_close_ _cleanup_(cadu_closep)
#define _cleanup_fclose_ _cleanup_(cadu_fclosep)

/* Make room for element n of the array p of alloc elements, doubling it
 * (first: the first size). Evaluates to 0, or -ENOMEM with p and alloc
 * unchanged. */
#define CADU_ARRAY_GROW(p, alloc, n, first) __extension__({                     \
        int _r = 0;                                                             \
        if ((n) >= (alloc)) {                                                   \
                size_t _a = (alloc) ? 2 * (size_t)(alloc) : (size_t)(first);    \
                __typeof__(p) _np = _a > SIZE_MAX / sizeof(*(p)) ? NULL :       \
                        realloc((p), _a * sizeof(*(p)));                        \
                if (_np) {                                                      \
                        (p) = _np;                                              \
                        (alloc) = _a;                                           \
                } else                                                          \
                        _r = -ENOMEM;                                           \
        }                                                                       \
        _r;                                                                     \
})

/* Allocate n bytes for I/O: aligned to a cache line, released with free().
 * The kernel copies from the page cache to user memory with "rep movsb",
 * which on some CPUs (AMD Zen 3 measured: 2-3x slower) crawls when the user
 * buffer starts a few bytes past a 64-byte boundary - where glibc puts every
 * large malloc() (page + 16); tools/bench-read-align.sh shows it. Buffers
 * that read() fills come from here. */
void *cadu_malloc_io(size_t n);
/* Grow *p (allocated by cadu_malloc_io, keeping its first len bytes) to n
 * bytes, aligned the same. 0 or -ENOMEM (then *p is unchanged). */
int cadu_realloc_io(void **p, size_t len, size_t n);

/* Read exactly n bytes unless end of file comes first. Returns the number of
 * bytes read (< n only at end of file) or -errno. Retries on EINTR. */
ssize_t cadu_read_full(int fd, void *buf, size_t n);
ssize_t cadu_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* Write all n bytes. Returns 0 or -errno. */
int cadu_write_full(int fd, const void *buf, size_t n);
int cadu_pwrite_full(int fd, const void *buf, size_t n, uint64_t off);

/* ---- untrusted paths: never block, never a device where a file is meant ----
 *
 * A path named by a manifest, found on release media or in a store may be a
 * FIFO (an open or read that blocks forever), a socket, or a symlink to
 * /dev/zero (endless bytes). cadu_open_untrusted() opens it with O_NONBLOCK
 * and O_NOCTTY, so that the open itself returns at once, then checks with
 * fstat() what it got: a regular file, or with CADU_OPEN_BLOCK also a block
 * device (an image, a slot or a seed). Anything else is closed again and
 * refused with -CADU_ENOTREG ("not a regular file") or, when a block device
 * would have done, -CADU_ENOTREGBLK ("not a regular file or block device");
 * a directory is -EISDIR. With CADU_OPEN_NOFOLLOW a symlink as the last
 * component is refused the same way (a symlink squatting a chunk's name is
 * not the chunk). O_NONBLOCK is cleared before returning: reads behave as
 * usual. Returns the fd (O_RDONLY | O_CLOEXEC) or -errno. */
#define CADU_ENOTREG EMEDIUMTYPE
#define CADU_ENOTREGBLK ENOTBLK
#define CADU_OPEN_BLOCK 1u
#define CADU_OPEN_NOFOLLOW 2u
int cadu_open_untrusted_at(int dirfd, const char *path, unsigned flags);
/* strerror() that also names CADU_ENOTREG and CADU_ENOTREGBLK. */
const char *cadu_errstr(int r);
static inline int cadu_open_untrusted(const char *path, unsigned flags) {
        return cadu_open_untrusted_at(AT_FDCWD, path, flags);
}

/* Read a whole (small) file, or everything readable from fd (a pipe too),
 * into a NUL-terminated malloc'ed buffer. Never reads more than max + 1
 * bytes: more than max is -EFBIG as soon as the byte beyond max arrives
 * (an endless source costs at most max bytes of memory). cadu_read_file()
 * opens path with cadu_open_untrusted() (a regular file only). */
int cadu_read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len);
int cadu_read_fd(int fd, size_t max, uint8_t **ret, size_t *ret_len);

/* Size of a regular file or block device behind fd. */
int cadu_fd_size(int fd, uint64_t *ret);

static inline uint64_t cadu_le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
        return v;
}
static inline void cadu_put_le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++) { p[i] = (uint8_t)v; v >>= 8; }
}
static inline uint32_t cadu_be32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void cadu_put_be32(uint8_t *p, uint32_t v) {
        p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void cadu_hex_encode(const uint8_t *in, size_t n, char *out);
/* Parse exactly 2n hex digits (either case) into out. 0 or -EINVAL. */
int cadu_hex_decode(const char *in, uint8_t *out, size_t n);

/* Parse "1234", "64K", "1M", "2G" (powers of 1024) into bytes. 0 or -EINVAL/-ERANGE. */
int cadu_parse_size(const char *s, uint64_t *ret);
/* Parse a decimal unsigned integer in [min, max]. 0, -EINVAL or -ERANGE. */
int cadu_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* ---- digests ---- */

#define CADU_DIGEST_SIZE 32

typedef enum cadu_digest_type {
        CADU_DIGEST_SHA256,
        CADU_DIGEST_SHA512_256,
} cadu_digest_type;

/* "sha256" / "sha512-256"; NULL for an unknown type. */
const char *cadu_digest_name(cadu_digest_type t);
/* 0 and *ret set, or -EINVAL for an unknown name. */
int cadu_digest_from_name(const char *name, cadu_digest_type *ret);

/* One-shot digest of a buffer; out receives CADU_DIGEST_SIZE bytes. */
int cadu_digest(cadu_digest_type t, const void *data, size_t n, uint8_t out[CADU_DIGEST_SIZE]);

typedef struct cadu_digest_ctx cadu_digest_ctx;
/* Streaming digest. new returns NULL on allocation failure. */
cadu_digest_ctx *cadu_digest_new(cadu_digest_type t);
int cadu_digest_update(cadu_digest_ctx *c, const void *data, size_t n);
/* Writes the digest and resets the context for another message. */
int cadu_digest_final(cadu_digest_ctx *c, uint8_t out[CADU_DIGEST_SIZE]);
cadu_digest_ctx *cadu_digest_free(cadu_digest_ctx *c);

/* sha256 of a whole file or block device (streamed, opened with
 * cadu_open_untrusted(CADU_OPEN_BLOCK)). The _max variant stops with -EFBIG
 * at the first byte beyond max. */
int cadu_sha256_file(const char *path, uint8_t out[CADU_DIGEST_SIZE], uint64_t *ret_size);
int cadu_sha256_file_max(const char *path, uint64_t max, uint8_t out[CADU_DIGEST_SIZE], uint64_t *ret_size);

/* ---- temporary files removed when the process is told to stop ----
 *
 * cadu_tmp_cleanup_on_signals() installs handlers for SIGTERM, SIGINT and
 * SIGHUP (unless ignored) that unlink every registered temporary file and
 * then let the signal end the process as it would have. Writers register
 * a temporary name before creating it and unregister it once renamed into
 * place or removed. kill -9 still leaves them, as before: every writer and
 * the commands that clean up after an interrupted run tolerate that. */
void cadu_tmp_cleanup_on_signals(void);
/* Create the temporary file dirfd/name (AT_FDCWD for a path) with
 * openat(dirfd, name, flags, mode) (flags with O_CREAT | O_EXCL), registered
 * for removal on those signals: the fd, with its slot in *ret_slot (-1 when
 * the table is full or the name too long: the file is then not removed on a
 * signal); -errno of openat; -EINTR once such a signal is being handled
 * (nothing is created: the process is about to end). Registering and
 * creating are one step for the handler, so a signal never leaves a file
 * that was created after it looked. */
int cadu_tmp_openat(int dirfd, const char *name, int flags, mode_t mode, int *ret_slot);
/* Forget a slot once the file is renamed into place or removed; -1 is
 * ignored. */
void cadu_tmp_unregister(int slot);

/* ---- output files that are never half-written under their final name ---- */

typedef struct cadu_outfile {
        int fd;
        char *path;     /* final name */
        char *tmp;      /* temporary name beside it; NULL when writing in place */
        bool is_dev;    /* block or character device: written in place */
        int tmp_slot;   /* cadu_tmp_register() slot of tmp, or -1 */
} cadu_outfile;
#define CADU_OUTFILE_INIT { .fd = -1, .tmp_slot = -1 }

/* Open path for writing. A block or character device (or, with in_place, an
 * existing regular file) is opened in place; otherwise a temporary file
 * "<path>.<random>.tmp" is created beside it (mode 0644) and becomes path
 * only at cadu_outfile_commit(). */
int cadu_outfile_open(cadu_outfile *o, const char *path, bool in_place);
/* fsync, rename into place, fsync the directory. Closes the file. */
int cadu_outfile_commit(cadu_outfile *o);
/* Close and remove the temporary file (if any). Safe to call twice. */
void cadu_outfile_abort(cadu_outfile *o);

/* Write a small buffer to path atomically (temporary file + rename). */
int cadu_write_file_atomic(const char *path, const void *data, size_t n);

/* The directory part of path, malloc'ed: "." when path has no '/', "/" for
 * a file in the root. 0 or -ENOMEM. */
int cadu_dirname(const char *path, char **ret);

/* Create directory and parents (mode 0755); existing is fine. */
int cadu_mkdir_p(const char *path);

/* Monotonic time in nanoseconds. */
uint64_t cadu_now_ns(void);

#endif
