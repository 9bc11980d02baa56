/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: store/network settings as a configuration file gives them
 * (cadu_storeopts_set(), one "key=value" or "key" per line) and request
 * header validation. What is accepted must be within the documented ranges.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-store.h"
#include "storeopts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cadu_storeopts o = CADU_STOREOPTS_INIT;
        char *text = malloc(size + 1);

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;

        (void) cadu_store_http_validate_header(text);

        for (char *line = text, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *eq = strchr(line, '=');
                if (eq)
                        *eq = 0;
                int r = cadu_storeopts_set(&o, line, eq ? eq + 1 : NULL);
                if (r < 0 && r != -ENOKEY && r != -EINVAL && r != -ERANGE && r != -ENOMEM &&
                    r != -ENOENT && r != -EACCES && r != -ENOTDIR && r != -ENAMETOOLONG && r != -ELOOP)
                        abort();
        }

        const cadu_store_options *so = &o.opts;
        /* retries = 0 is stored as CADU_STORE_RETRIES_NONE. */
        if (so->max_transfers > CADU_STOREOPT_MAX_TRANSFERS_MAX ||
            (so->retries > CADU_STOREOPT_RETRIES_MAX && so->retries != CADU_STORE_RETRIES_NONE) ||
            so->connect_timeout_s > CADU_STOREOPT_SECONDS_MAX || so->low_speed_time_s > CADU_STOREOPT_SECONDS_MAX ||
            so->max_redirects > CADU_STOREOPT_MAX_REDIRECTS_MAX || so->deadline_s > CADU_STOREOPT_DEADLINE_MAX)
                abort();
        for (size_t i = 0; i < o.n_headers; i++)
                if (cadu_store_http_validate_header(o.headers[i]) < 0 || strpbrk(o.headers[i], "\r\n"))
                        abort();
        if (o.n_headers && (!so->headers || so->headers[o.n_headers]))
                abort();

        cadu_storeopts_done(&o);
        free(text);
        return 0;
}
