/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The full-image reader (store/fullimage.c): a zstd stream of untrusted
 * bytes for an image whose size is the input's first two bytes (times 64).
 * Nothing crashes, no byte beyond the image size or out of order comes out,
 * memory stays within the window limit, and only -EBADMSG or -EFBIG fail;
 * a success wrote exactly the image size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-fullimage.h"

struct out {
        uint64_t size, off;
};

static int sink(void *ud, uint64_t off, const uint8_t *data, size_t len) {
        struct out *o = ud;
        (void)data;
        if (off != o->off || len > o->size - off)
                abort();
        o->off += len;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        struct out o = { ((uint64_t)data[0] << 8 | data[1]) * 64 + 1, 0 };
        cadu_full_reader *r;
        if (cadu_full_reader_new(o.size, NULL, NULL, &r) < 0)
                abort();
        int e = cadu_full_reader_push(r, data + 2, size - 2, sink, &o);
        if (e == 0)
                e = cadu_full_reader_finish(r, sink, &o);
        cadu_full_reader_free(r);
        if ((e < 0 && e != -EBADMSG && e != -EFBIG && e != -ENOMEM) || (e == 0 && o.off != o.size))
                abort();
        return 0;
}
