/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the classifier of file names found in a directory store.
 * Input: 4 bytes of prefix directory name, then the file name. Checks that
 * a name accepted as a chunk round-trips to exactly the same name and lies
 * in its own prefix directory, and that nothing else is accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "cadu-store.h"
#include "storewalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char dir[5] = { 0 };
        uint8_t id[CADU_DIGEST_SIZE];
        const char *why = NULL;
        if (size < 4)
                return 0;
        memcpy(dir, data, 4);
        bool prefix_ok = cadu_store_prefix_valid(dir);
        const char *name = (const char *)data + 4;
        size_t len = size - 4;
        /* A copy without slack, so that reads past len are caught. */
        char *copy = malloc(len ? len : 1);
        if (!copy)
                return 0;
        memcpy(copy, name, len);
        cadu_store_name_kind k = cadu_store_name_parse(prefix_ok ? dir : NULL, copy, len, id, &why);
        if (k == CADU_STORE_NAME_CHUNK) {
                char back[CADU_CHUNK_PATH_MAX];
                cadu_chunk_path(id, back);
                /* back is "<4 hex>/<64 hex>.cacnk" */
                if (len != strlen(back + 5) || memcmp(back + 5, copy, len) != 0)
                        abort();
                if (prefix_ok && memcmp(back, dir, 4) != 0)
                        abort();
        } else if (k == CADU_STORE_NAME_BAD && !why)
                abort();
        free(copy);
        return 0;
}
