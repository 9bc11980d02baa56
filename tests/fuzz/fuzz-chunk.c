/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Chunk decoder: hostile chunk files never produce more than the cap and
 * never crash; what compresses must decode to itself. */
#include <stdlib.h>
#include <string.h>

#include "cadu-store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static cadu_buf out, z;
        /* The first byte picks the cap, so small caps are exercised too. */
        size_t cap = size ? (size_t)data[0] * 257 + 1 : 1;
        int r = cadu_chunk_decode(data, size, cap, &out);
        if (r == 0 && out.len > cap)
                abort();
        if (cadu_chunk_compress(1, data, size, &z) < 0)
                abort();
        if (cadu_chunk_decode(z.data, z.len, size, &out) < 0 || out.len != size || memcmp(out.data, data, size))
                abort();
        return 0;
}
