/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Delta file parser and decoder: hostile delta files never produce more
 * than the cap or the header's size and never crash; what encodes must
 * decode to itself. */
#include <stdlib.h>
#include <string.h>

#include "cadu-delta.h"

/* Bases for the decoder: the header's sizes, filled from a fixed pattern
 * (the corpus files were encoded against the same bases). */
static uint8_t pattern(size_t i) {
        return (uint8_t)((i * 2654435761u) >> 13);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static cadu_buf out;
        static uint8_t *pool;
        static const size_t pool_max = 1 << 20;
        cadu_delta_info info;
        if (!pool) {
                if (!(pool = malloc(pool_max)))
                        abort();
                for (size_t i = 0; i < pool_max; i++)
                        pool[i] = pattern(i);
        }
        if (cadu_delta_parse(data, size, &info) == 0) {
                if (info.nbases < 1 || info.nbases > CADU_DELTA_MAX_BASES || info.target_size > CADU_DELTA_SIZE_MAX ||
                    info.header_size >= size)
                        abort();
                cadu_delta_base bases[CADU_DELTA_MAX_BASES];
                size_t off = 0, total = 0;
                for (size_t i = 0; i < info.nbases; i++)
                        total += info.base_sizes[i];
                if (total <= pool_max) {
                        for (size_t i = 0; i < info.nbases; off += info.base_sizes[i], i++)
                                bases[i] = (cadu_delta_base){ pool + off, info.base_sizes[i] };
                        size_t cap = (size_t)data[size - 1] * 4099;
                        int r = cadu_delta_decode(data, size, bases, info.nbases, cap, &out);
                        if (r == 0 && (out.len != info.target_size || out.len > cap))
                                abort();
                }
        }
        /* Round trip: the input as target against its own first half. */
        if (size >= 2) {
                static cadu_buf d;
                uint8_t ids[1][CADU_DIGEST_SIZE] = { { 0 } };
                cadu_delta_base b = { data, size / 2 };
                if (cadu_delta_encode(1, ids[0], data, size, (const uint8_t (*)[CADU_DIGEST_SIZE])ids, &b, 1, &d) < 0 ||
                    cadu_delta_decode(d.data, d.len, &b, 1, size, &out) < 0 || out.len != size ||
                    memcmp(out.data, data, size) != 0)
                        abort();
        }
        return 0;
}
