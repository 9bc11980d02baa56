/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sketch file parser: hostile sketch files never crash and never yield a
 * record out of range; what serializes must parse to itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static cadu_buf b;
        cadu_sketch_entry *e;
        size_t n;
        if (cadu_sketch_file_parse(data, size, NULL, &e, &n) == 0) {
                if (24 + n * 88 != size)
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (e[i].size < 1 || e[i].size > CADU_DELTA_SIZE_MAX)
                                abort();
                /* Parsed records serialize back to the same bytes. */
                if (cadu_sketch_file_serialize(e, n, &b) < 0 || b.len != size || memcmp(b.data, data, size) != 0)
                        abort();
                free(e);
        }
        /* The bytes' own name always matches them; any other never. */
        char name[CADU_SKETCH_NAME_MAX];
        uint8_t sha[CADU_DIGEST_SIZE];
        if (cadu_sketch_file_name(data, size, name) < 0 || cadu_sketch_file_name_parse(name, sha) < 0)
                abort();
        int r = cadu_sketch_file_parse(data, size, sha, &e, &n);
        if (r == 0)
                free(e);
        sha[0] ^= 1;
        if (cadu_sketch_file_parse(data, size, sha, &e, &n) != -EBADMSG && size >= 24 && r == 0)
                abort();
        return 0;
}
