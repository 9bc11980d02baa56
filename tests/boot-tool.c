/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * boot-tool - drive the final step of an install from shell tests, through
 * the real libraries, until `cadu install` exists:
 *
 *   boot-tool trial CONFIG SLOT VERSION
 *       record every class of SLOT as holding VERSION in state "trial", then
 *       set up one trial boot of SLOT with a single environment store
 *   boot-tool journal CONFIG start SHA256 SLOT VERSION | phase NAME [IMAGE [VALUE]] | done
 *       write the install journal
 *
 * Exit status 0 on success; 1 with one message on stderr otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cadu-boot.h"
#include "../lib/config.h"
#include "../lib/slotstate.h"

static int die(const char *what, int r, const char *detail) {
        fprintf(stderr, "boot-tool: %s: %s%s%s\n", what, strerror(-r), detail && *detail ? ": " : "",
                detail ? detail : "");
        return 1;
}

static int trial(cadu_config *cfg, char slot, const char *version) {
        for (size_t k = 0; k < cfg->n_classes; k++) {
                cadu_slot_info i = CADU_SLOT_INFO_INIT;
                i.state = CADU_SLOT_TRIAL;
                i.version = (char *)version;
                i.installed = (uint64_t)time(NULL);
                int r = cadu_slot_info_write(cfg->state_dir, cfg->classes[k].name, slot, &i);
                if (r < 0)
                        return die("writing slot info", r, NULL);
        }
        cadu_boot_options o = cadu_config_boot_options(cfg);
        cadu_boot *b = NULL;
        int r = cadu_boot_new(&o, &b);
        if (r == 0)
                r = cadu_boot_load(b);
        if (r == 0)
                r = cadu_boot_trial(b, slot);
        if (r == 0)
                r = cadu_boot_store(b);
        if (r < 0) {
                die("trial", r, cadu_boot_detail(b));
                cadu_boot_free(b);
                return 1;
        }
        cadu_boot_free(b);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: boot-tool trial|journal CONFIG ...\n");
                return 2;
        }
        cadu_config *cfg = NULL;
        char *err = NULL;
        int r = cadu_config_load(argv[2], &cfg, &err);
        if (r < 0) {
                fprintf(stderr, "boot-tool: %s\n", err ? err : strerror(-r));
                return 1;
        }
        int ret = 2;
        if (!strcmp(argv[1], "trial") && argc == 5)
                ret = trial(cfg, argv[3][0], argv[4]);
        else if (!strcmp(argv[1], "journal") && argc >= 4) {
                const char *op = argv[3];
                if (!strcmp(op, "start") && argc == 7)
                        r = cadu_journal_start(cfg->state_dir, argv[4], argv[5][0], argv[6]);
                else if (!strcmp(op, "phase") && argc >= 5 && argc <= 7)
                        r = cadu_journal_record_phase(cfg->state_dir, argv[4], argc > 5 ? argv[5] : NULL,
                                                      argc > 6 ? argv[6] : NULL);
                else if (!strcmp(op, "done") && argc == 4)
                        r = cadu_journal_done(cfg->state_dir);
                else
                        r = 1;
                ret = r == 1 ? 2 : r < 0 ? die("journal", r, NULL) : 0;
        }
        if (ret == 2)
                fprintf(stderr, "boot-tool: bad arguments\n");
        free(err);
        cadu_config_free(cfg);
        return ret;
}
