/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key envelopes (CMS EnvelopedData, index/envelope.c): any bytes are
 * either refused as malformed or for an algorithm outside the allow-list,
 * or accepted; the checker never crashes or reads past the input. */
#include <errno.h>
#include <stdlib.h>

#include "cadu-envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *err = NULL;
        int r = cadu_envelope_check(data, size, &err);
        if (r < 0 && r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMEM)
                abort();
        if (r < 0 && r != -ENOMEM && !err)
                abort();
        free(err);
        return 0;
}
