/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the small text parsers of the device side, on the same
 * input: the bootloader environment file and the A/B scheme on top of it
 * (boot/), the kernel command line, slot info files and the install journal
 * (lib/slotstate.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-boot.h"
#include "../../lib/slotstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *)data;

        cadu_boot *b = NULL;
        cadu_boot_options o = { .backend = CADU_BOOT_FILE, .path = "/nonexistent/fuzz-env" };
        if (cadu_boot_new(&o, &b) < 0)
                abort();
        if (cadu_boot_load_buffer(b, s, size) == 0) {
                cadu_boot_state st;
                if (cadu_boot_state_get(b, &st) == 0) {
                        char next = cadu_boot_state_next(&st);
                        if (cadu_boot_slot_index(next) < 0 || st.left[0] > 9 || st.left[1] > 9)
                                abort();
                        /* Every transition leaves a state the script understands. */
                        if (cadu_boot_trial(b, 'B') < 0 || cadu_boot_state_get(b, &st) < 0 ||
                            cadu_boot_state_next(&st) != 'B' || st.left[1] != 1)
                                abort();
                        if (cadu_boot_mark_bad(b, 'B') < 0 || cadu_boot_state_get(b, &st) < 0 ||
                            cadu_boot_state_rank(&st, 'B') != 1 || st.left[1] != 0)
                                abort();
                }
                char slot;
                const char *src;
                int r = cadu_boot_booted_slot(NULL, b, "cadu_slot", &slot, &src);
                if (r == 0 && slot != 'A' && slot != 'B')
                        abort();
        }
        cadu_boot_free(b);

        char slot = 0;
        int r = cadu_boot_parse_cmdline(s, size, &slot);
        if (r == 1 && slot != 'A' && slot != 'B')
                abort();

        cadu_slot_info info;
        if (cadu_slot_info_parse(s, size, &info) == 0)
                cadu_slot_info_clear(&info);

        cadu_journal *j = NULL;
        if (cadu_journal_parse(s, size, &j) == 0) {
                if (!j->manifest_sha256 || !j->version || (j->slot != 'A' && j->slot != 'B'))
                        abort();
                for (size_t i = 0; i < j->n_records; i++)
                        if (!j->records[i].phase)
                                abort();
                cadu_journal_find(j, "written", NULL);
                cadu_journal_free(j);
        }
        return 0;
}
