/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fingerprint sidecar (INDEX.fp) parser: any bytes are accepted only when
 * they are exactly the header for the index asked for plus n fingerprints,
 * and then the fingerprints are those bytes. The input is tried against the
 * index it names itself (so that the length checks are reached) and against
 * one it does not. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-index.h"

#define HEADER (8 + CADU_DIGEST_SIZE + 8)

static void try(const uint8_t *data, size_t size, const uint8_t sha[CADU_DIGEST_SIZE], size_t n) {
        cadu_fp *fps = NULL;
        int r = cadu_fp_parse(data, size, sha, n, &fps);
        if (r == -ENOMEM)
                return;
        if (r < 0) {
                if (r != -EBADMSG && r != -ESTALE)
                        abort();
                return;
        }
        if (size != HEADER + n * CADU_FP_SIZE || memcmp(data, CADU_FP_MAGIC, 8) != 0 ||
            memcmp(data + 8, sha, CADU_DIGEST_SIZE) != 0 || (n && memcmp(fps, data + HEADER, n * CADU_FP_SIZE) != 0))
                abort();
        free(fps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t sha[CADU_DIGEST_SIZE] = { 0 };
        if (size >= 8 + CADU_DIGEST_SIZE)
                memcpy(sha, data + 8, CADU_DIGEST_SIZE);
        size_t n = size >= HEADER ? (size_t)cadu_le64(data + 8 + CADU_DIGEST_SIZE) : 0;
        try(data, size, sha, n);
        try(data, size, sha, size >= HEADER ? (size - HEADER) / CADU_FP_SIZE : 0);
        sha[0] ^= 1;
        try(data, size, sha, n);
        return 0;
}
