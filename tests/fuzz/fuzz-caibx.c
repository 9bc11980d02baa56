/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Index parser: any bytes either parse into an index that serialises back to
 * exactly those bytes, or are rejected with a reason. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cadu_index *idx = NULL;
        const char *why = NULL;
        int r = cadu_index_parse(data, size, &idx, &why);
        if (r < 0) {
                if (!why && r == -EBADMSG)
                        abort();
                return 0;
        }
        uint8_t *out;
        size_t len;
        if (cadu_index_serialize(idx, &out, &len) < 0)
                abort();
        if (len != size || memcmp(out, data, size) != 0)
                abort();        /* round trip must be exact */
        uint64_t prev = 0;
        for (size_t i = 0; i < idx->n; i++) {
                if (idx->items[i].end <= prev || idx->items[i].end - prev > idx->max)
                        abort();
                prev = idx->items[i].end;
        }
        free(out);
        cadu_index_free(idx);
        return 0;
}
