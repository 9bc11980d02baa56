/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the multipart/byteranges parser (store/byteranges.c).
 * Input: a case as tests/byteranges-case.h describes (Content-Type,
 * requested ranges, body). The body is parsed whole, byte by byte and in
 * pieces of a size taken from the input; all must agree on the result and
 * the reason, keep the callback contract (each part's bytes in order, then
 * one confirmation after its closing delimiter) and, on success, have
 * delivered every requested range exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "../byteranges-case.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        byteranges_case c;
        const char *why0, *why;
        int order;

        if (byteranges_case_load(data, size, &c) < 0)
                return 0;
        int r0 = byteranges_case_run(&c, 0, &why0, &order);
        if (order)
                abort();
        if (r0 != 0 && r0 != -EBADMSG)
                abort();
        if (r0 == -EBADMSG && !why0)
                abort();
        size_t pieces[2] = { 1, 1 + (size % 97) };
        for (size_t k = 0; k < 2; k++) {
                int r = byteranges_case_run(&c, pieces[k], &why, &order);
                if (order || r != r0 || (r0 && strcmp(why, why0)))
                        abort();
        }
        return 0;
}
