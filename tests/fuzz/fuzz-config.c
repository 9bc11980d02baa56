/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the cadu.conf parser (lib/config.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cadu_config *c = NULL;
        char *err = NULL;
        int r = cadu_config_parse("fuzz.conf", (const char *)data, size, &c, &err);
        if (r == 0) {
                /* Everything a caller may touch is there and consistent. */
                if (!c->compatible || !c->state_dir || !c->cmdline || !c->fw_env_config || c->n_classes == 0 ||
                    c->n_ca == 0 || !c->urls || !c->headers || c->urls[c->n_urls] || c->ca[c->n_ca])
                        abort();
                for (size_t i = 0; i < c->n_classes; i++)
                        if (!c->classes[i].device[0] || !c->classes[i].device[1] ||
                            cadu_config_find_class(c, c->classes[i].name) != &c->classes[i])
                                abort();
                cadu_boot_options o = cadu_config_boot_options(c);
                if (!o.path || o.max_attempts < 1 || o.max_attempts > CADU_BOOT_ATTEMPTS_MAX)
                        abort();
                if (err)
                        abort();
        } else if (r == -EINVAL && (!err || strncmp(err, "fuzz.conf", 9)))
                abort();        /* every configuration error names the file */
        free(err);
        cadu_config_free(c);
        return 0;
}
