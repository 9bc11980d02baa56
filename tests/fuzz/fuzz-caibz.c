/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: compact indexes (store/caibz.c). Decoded alone and against a
 * fixed base index; whatever is accepted is a valid .caibx within the bound
 * asked for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-caibz.h"

#define MAX_INDEX (CADU_CAIBX_OVERHEAD + 4096 * CADU_CAIBX_ITEM_SIZE)

static void check(const uint8_t *data, size_t size, const cadu_index *base) {
        cadu_buf out = CADU_BUF_INIT;
        int r = cadu_caibz_decode(data, size, base, MAX_INDEX, &out);
        if (r == 0) {
                cadu_index *idx = NULL;
                const char *reason;
                if (out.len > MAX_INDEX || cadu_index_parse(out.data, out.len, &idx, &reason) < 0)
                        abort();
                cadu_index_free(idx);
        } else if (r != -EBADMSG && r != -EFBIG && r != -ENOMEM)
                abort();
        cadu_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static cadu_index *base;
        if (!base) {
                uint8_t id[CADU_DIGEST_SIZE] = { 0 };
                if (cadu_index_new(CADU_DIGEST_SHA256, 16384, 65536, 262144, &base) < 0)
                        abort();
                for (unsigned i = 1; i <= 8; i++) {
                        id[0] = (uint8_t)i;
                        if (cadu_index_append(base, (uint64_t)i * 65536, id) < 0)
                                abort();
                }
        }
        check(data, size, NULL);
        check(data, size, base);
        return 0;
}
