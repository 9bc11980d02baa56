/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An index's chunk sizes driving the chunker over a seed, as extract --seed
 * and info --seed do: whatever the index header says, either the parser (and
 * cadu_chunker_params_valid) refuses it, or every chunk of the seed lies
 * within min..max and the chunk buffers are never overrun.
 *
 * The input is an index file. Its header's sizes are also read without the
 * parser (folded to at most 128 KiB), so the chunker itself is exercised for
 * every size triple, valid or not. The seed is the input itself followed by
 * a run of zeros and a pseudo-random tail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cadu-chunker.h"
#include "cadu-index.h"
#include "chunkfile.h"

#define SEED_EXTRA 12288

typedef struct check {
        uint64_t min, max, next;
} check;

static int ordered(void *ud, const cadu_chunk_info *c) {
        check *k = ud;
        if (c->offset != k->next || c->end != c->offset + c->len || c->len == 0 || c->len > k->max)
                abort();
        k->next = c->end;
        return 0;
}

static void seed_bytes(uint8_t *p, const uint8_t *data, size_t size) {
        memcpy(p, data, size);
        memset(p + size, 0, SEED_EXTRA / 3);
        uint32_t x = 2463534242u;
        for (size_t i = size + SEED_EXTRA / 3; i < size + SEED_EXTRA; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                p[i] = (uint8_t)x;
        }
}

/* The real pipeline (reader, worker, in-order callback) over a memfd. */
static void chunk_pipeline(uint64_t min, uint64_t avg, uint64_t max, const uint8_t *seed, size_t n) {
        int fd = memfd_create("seed", MFD_CLOEXEC);
        if (fd < 0 || cadu_write_full(fd, seed, n) < 0 || lseek(fd, 0, SEEK_SET) != 0)
                abort();
        check k = { min, max, 0 };
        cadu_chunkfile_params p = {
                .min = min, .avg = avg, .max = max,
                .digest = CADU_DIGEST_SHA256, .threads = 1,
                .ordered = ordered, .userdata = &k,
        };
        uint64_t size = 0;
        int r = cadu_chunk_fd(fd, &p, &size, NULL);
        close(fd);
        if (r < 0 ? r != -EINVAL || cadu_chunker_params_valid(min, avg, max) : size != n || k.next != n)
                abort();
}

/* The bare chunker, fed in pieces of varying size: cuts within min..max. */
static void chunk_direct(uint64_t min, uint64_t avg, uint64_t max, const uint8_t *seed, size_t n) {
        cadu_chunker c;
        int r = cadu_chunker_init(&c, min, avg, max);
        if (r < 0) {
                if (r != -EINVAL || cadu_chunker_params_valid(min, avg, max))
                        abort();
                return;
        }
        size_t off = 0, len = 0, piece = 1;
        while (off < n) {
                size_t m = n - off < piece ? n - off : piece;
                piece = piece * 3 % 1021 + 1;
                size_t k = cadu_chunker_scan(&c, seed + off, m);
                if (k == (size_t)-1) {
                        len += m;
                        off += m;
                        if (len > max)
                                abort();
                        continue;
                }
                if (k == 0 || k > m || len + k > max || (min < max && len + k < min))
                        abort();
                off += k;
                len = 0;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 65536)
                return 0;
        uint8_t *seed = malloc(size + SEED_EXTRA);
        if (!seed)
                abort();
        seed_bytes(seed, data, size);

        cadu_index *idx = NULL;
        if (cadu_index_parse(data, size, &idx, NULL) == 0) {
                if (!cadu_chunker_params_valid(idx->min, idx->avg, idx->max))
                        abort();
                /* Keep buffers small: large valid sizes are the common case
                 * the test suite covers; here the edges matter. */
                if (idx->max <= 64 * 1024)
                        chunk_pipeline(idx->min, idx->avg, idx->max, seed, size + SEED_EXTRA);
                cadu_index_free(idx);
        }
        if (size >= 48) {
                const uint64_t fold = 128 * 1024;
                uint64_t min = cadu_le64(data + 24) % fold, avg = cadu_le64(data + 32) % fold,
                         max = cadu_le64(data + 40) % fold;
                chunk_direct(min, avg, max, seed, size + SEED_EXTRA);
                if ((data[16] & 7) == 1)
                        chunk_pipeline(min, avg, max, seed, size + SEED_EXTRA);
        }
        free(seed);
        return 0;
}
