/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-fullimage.h - a compressed full image named by the manifest
 * (doc/manifest-format.md, keys full, full-size, full-sha256).
 *
 * The file is a zstd stream of the whole image (one or more frames),
 * written with a window of at most 2^CADU_FULL_WINDOW_LOG bytes; for an
 * encrypted image it is that stream sealed with cadu_crypt_stream_* under
 * the store key and the role "full:NAME:SHA256" (the image's sha256 in
 * hex). The reader decompresses with
 * bounded memory: a frame that asks for a larger window is refused, and so
 * is any byte beyond the image size the caller gives.
 *
 * Functions return 0 or a negative errno and do not log: -EBADMSG for a
 * malformed, hostile or forged file, -EFBIG for more data than the image
 * size, -EKEYREJECTED for a file sealed under another key.
 */
#ifndef CADU_FULLIMAGE_H
#define CADU_FULLIMAGE_H

#include <stdint.h>

#include "cadu-crypt.h"

/* The largest zstd window a full image may use: 4 MiB (the reader's
 * memory, with that of the 2 MiB ranges it is fetched in). */
#define CADU_FULL_WINDOW_LOG 22
/* The zstd level cadu manifest --full writes with. */
#define CADU_FULL_LEVEL 19

/* Compress the image read from image_fd (to its end) into out_fd at zstd
 * level (1..19), sealed under k for role when k is not NULL; the bytes
 * written in *ret_size. Uses every core. */
int cadu_full_write(int image_fd, int out_fd, int level, const cadu_crypt_key *k, const char *role,
                    uint64_t *ret_size);

typedef struct cadu_full_reader cadu_full_reader;
/* Receives the image's bytes [off, off + len) in order; returns 0 or a
 * negative errno that aborts the call. */
typedef int (*cadu_full_out)(void *ud, uint64_t off, const uint8_t *data, size_t len);

/* A reader of a full image of image_size bytes; with k (copied) the file
 * is sealed for role. */
int cadu_full_reader_new(uint64_t image_size, const cadu_crypt_key *k, const char *role, cadu_full_reader **ret);
/* Feed len bytes of the file. */
int cadu_full_reader_push(cadu_full_reader *r, const void *data, size_t len, cadu_full_out out, void *ud);
/* End of the file: -EBADMSG when it ends inside a frame or segment, or
 * when the image is shorter than image_size. */
int cadu_full_reader_finish(cadu_full_reader *r, cadu_full_out out, void *ud);
/* NULL-safe; returns NULL. */
cadu_full_reader *cadu_full_reader_free(cadu_full_reader *r);

#endif
