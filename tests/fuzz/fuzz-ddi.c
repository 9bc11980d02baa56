/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: what cadu hawkbit reads of hawkBit's DDI answers (src/ddi.c).
 * The same bytes are given to the three parsers; whatever they accept must
 * be within the documented bounds: strings terminated inside their buffers,
 * names safe as path components, at most DDI_ARTIFACTS_MAX artifacts, usable
 * artifacts with a safe name, a link and a size within the cap. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ddi.h"

static void terminated(const char *s, size_t n) {
        if (!memchr(s, 0, n))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *)data;
        ddi_base b;
        int r = ddi_parse_base(text, size, &b);
        if (r == 0) {
                terminated(b.config, sizeof b.config);
                terminated(b.cancel, sizeof b.cancel);
                terminated(b.deployment, sizeof b.deployment);
                if (b.has_sleep && b.sleep_s >= 10000u * 3600)
                        abort();
        } else if (r != -EBADMSG)
                abort();

        ddi_deployment *d = malloc(sizeof *d);
        if (!d)
                return 0;
        r = ddi_parse_deployment(text, size, d);
        if (r == 0) {
                if (!ddi_safe_name(d->id) || d->n_artifacts > DDI_ARTIFACTS_MAX)
                        abort();
                terminated(d->download, sizeof d->download);
                terminated(d->update, sizeof d->update);
                terminated(d->window, sizeof d->window);
                for (size_t i = 0; i < d->n_artifacts; i++) {
                        const ddi_artifact *a = &d->artifacts[i];
                        terminated(a->filename, sizeof a->filename);
                        terminated(a->href, sizeof a->href);
                        if (a->usable && (!ddi_safe_name(a->filename) || !a->href[0] || a->size > DDI_ARTIFACT_SIZE_MAX))
                                abort();
                }
        } else if (r != -EBADMSG)
                abort();
        free(d);

        ddi_cancel c;
        r = ddi_parse_cancel(text, size, &c);
        if (r == 0) {
                if (!ddi_safe_name(c.id) || !ddi_safe_name(c.stop_id))
                        abort();
        } else if (r != -EBADMSG)
                abort();
        return 0;
}
