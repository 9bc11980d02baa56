/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcadu-install: cadu_installer_*() through the shared library and the
 * public header only (tests/libcadu-install.sh).
 *
 *   libcadu-install CONFIG MANIFEST [dry-run|if-newer|downgrade]... [max=BYTES]
 *
 * prints, on stdout, every event ("event PHASE IMAGE DETAIL", "-" for
 * none), every log line ("log LEVEL MESSAGE"), the progress of each phase
 * ("progress WHAT starts S ends E backwards B total T": how often it was
 * reported at 0 and at its total, and went back), and then the result:
 *
 *   result installed|already-pending|not-newer|planned
 *   version V signer S booted A target B downloaded N
 *   image NAME device PATH from chunks|rdiff-delta|full-image downloaded N
 *   source NAME SOURCE CHUNKS BYTES      (images written from chunks)
 *
 * or "failed ERRNO kind KIND last-error MESSAGE" and exit status 1.
 *
 *   libcadu-install CONFIG status|mark-good|mark-good-unlocked|rollback
 *   libcadu-install CONFIG mark-bad[-force][-A|-B]|mark-bad-unlocked
 *
 * reads the slots (cadu_slots_*()), commits the running slot for
 * mark-good, marks the running slot (or A or B) bad for mark-bad (with
 * CADU_SLOTS_FORCE for -force), switches to the other slot for rollback;
 * "-unlocked" loads without CADU_SLOTS_LOCK; and prints "booted X next X pending X failed X" and, for each
 * slot, "slot X STATUS ATTEMPTS" ("-" for none); or "failed ERRNO
 * last-error MESSAGE" and exit status 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cadu/cadu.h>

static void on_event(void *ud, const char *phase, const char *image, const char *detail) {
        (void)ud;
        printf("event %s %s %s\n", phase, image ? image : "-", detail ? detail : "-");
}

static void on_log(void *ud, int level, const char *message) {
        (void)ud;
        printf("log %d %s\n", level, message);
}

/* The progress of each phase, in a small table. */
static struct phase {
        char what[256];
        unsigned starts, ends, backwards;
        uint64_t last, total;
} phases[16];
static size_t n_phases;

static void on_progress(void *ud, const char *what, uint64_t done, uint64_t total) {
        (void)ud;
        struct phase *p = NULL;
        for (size_t i = 0; i < n_phases && !p; i++)
                if (!strcmp(phases[i].what, what))
                        p = &phases[i];
        if (!p) {
                if (n_phases == sizeof(phases) / sizeof(phases[0]))
                        return;
                p = &phases[n_phases++];
                snprintf(p->what, sizeof(p->what), "%s", what);
        }
        if (done == 0)
                p->starts++;
        if (done < p->last)
                p->backwards++;
        if (done == total)
                p->ends++;
        p->last = done;
        p->total = total;
}

static const char *const result_names[] = {
        [CADU_INSTALL_NONE] = "none",
        [CADU_INSTALL_INSTALLED] = "installed",
        [CADU_INSTALL_ALREADY_PENDING] = "already-pending",
        [CADU_INSTALL_NOT_NEWER] = "not-newer",
        [CADU_INSTALL_PLANNED] = "planned",
};

static const char *const from_names[] = {
        [CADU_INSTALL_FROM_CHUNKS] = "chunks",
        [CADU_INSTALL_FROM_RDIFF_DELTA] = "rdiff-delta",
        [CADU_INSTALL_FROM_FULL_IMAGE] = "full-image",
};

static const char *const source_names[] = {
        [CADU_SOURCE_IN_PLACE] = "in-place", [CADU_SOURCE_ZERO] = "zero",   [CADU_SOURCE_DUPLICATE] = "duplicate",
        [CADU_SOURCE_SEEDS] = "seeds",       [CADU_SOURCE_CACHE] = "cache", [CADU_SOURCE_STORES] = "stores",
        [CADU_SOURCE_PACKS] = "packs",       [CADU_SOURCE_DELTAS] = "deltas", [CADU_SOURCE_MISSING] = "missing",
};

static const char *const status_names[] = {
        [CADU_SLOT_STATUS_UNKNOWN] = "unknown",
        [CADU_SLOT_STATUS_GOOD] = "good",
        [CADU_SLOT_STATUS_BAD] = "bad",
        [CADU_SLOT_STATUS_TRIAL] = "trial",
};

static char slot_or_dash(char slot) {
        return slot ? slot : '-';
}

static int slots(cadu_context *ctx, const char *config, const char *what) {
        cadu_slots *s = NULL;
        bool change = strcmp(what, "status") != 0;
        int r = cadu_slots_new(ctx, config, &s);
        if (r == 0 && cadu_slots_get(s, 'A', NULL, NULL) != -ENODATA)
                printf("slots readable before load\n");
        if (r == 0)
                r = cadu_slots_load(s, change && !strstr(what, "-unlocked") ? CADU_SLOTS_LOCK : 0);
        if (r == 0 && !strncmp(what, "mark-good", 9))
                r = cadu_slots_mark_good(s);
        else if (r == 0 && !strncmp(what, "mark-bad", 8)) {
                const char *end = what + strlen(what);
                char slot = end[-2] == '-' && (end[-1] == 'A' || end[-1] == 'B') ? end[-1] : 0;
                if (cadu_slots_mark_bad(s, 'C', 0) != -EINVAL || cadu_slots_mark_bad(s, 0, 1u << 20) != -EINVAL)
                        printf("mark-bad argument checks failed\n");
                r = cadu_slots_mark_bad(s, slot, strstr(what, "-force") ? CADU_SLOTS_FORCE : 0);
        } else if (r == 0 && !strcmp(what, "rollback"))
                r = cadu_slots_rollback(s);
        if (r < 0) {
                printf("failed %d last-error %s\n", r, cadu_context_last_error(ctx));
                cadu_slots_free(s);
                return 1;
        }
        printf("booted %c next %c pending %c failed %c\n", slot_or_dash(cadu_slots_booted(s)),
               slot_or_dash(cadu_slots_next_boot(s)), slot_or_dash(cadu_slots_pending_trial(s)),
               slot_or_dash(cadu_slots_failed_trial(s)));
        for (char slot = 'A'; slot <= 'B'; slot++) {
                cadu_slot_status st;
                unsigned left;
                if (cadu_slots_get(s, slot, &st, &left) == 0)
                        printf("slot %c %s %u\n", slot, status_names[st], left);
        }
        if (cadu_slots_get(s, 'C', NULL, NULL) != -EINVAL)
                printf("slot C accepted\n");
        cadu_slots_free(s);
        return 0;
}

int main(int argc, char **argv) {
        cadu_context *ctx = NULL;
        cadu_installer *in = NULL;
        unsigned flags = 0;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: libcadu-install CONFIG MANIFEST [dry-run|if-newer|downgrade]... [max=BYTES]\n");
                return 2;
        }
        if ((r = cadu_context_new(&ctx)) < 0)
                return 2;
        cadu_context_set_log(ctx, on_log, NULL);
        cadu_context_set_progress(ctx, on_progress, NULL);
        if ((r = cadu_installer_new(ctx, argv[1], &in)) < 0) {
                printf("failed %d kind - last-error %s\n", r, cadu_context_last_error(ctx));
                cadu_context_free(ctx);
                return 1;
        }
        if (!strcmp(argv[2], "status") || !strncmp(argv[2], "mark-good", 9) || !strncmp(argv[2], "mark-bad", 8) ||
            !strcmp(argv[2], "rollback")) {
                cadu_installer_free(in);
                r = slots(ctx, argv[1], argv[2]);
                cadu_context_free(ctx);
                return r;
        }
        cadu_installer_set_event(in, on_event, NULL);
        for (int i = 3; i < argc; i++) {
                if (!strcmp(argv[i], "dry-run"))
                        flags |= CADU_INSTALL_DRY_RUN;
                else if (!strcmp(argv[i], "if-newer"))
                        flags |= CADU_INSTALL_IF_NEWER;
                else if (!strcmp(argv[i], "downgrade"))
                        flags |= CADU_INSTALL_ALLOW_DOWNGRADE;
                else if (!strncmp(argv[i], "max=", 4))
                        cadu_installer_set_max_download(in, strtoull(argv[i] + 4, NULL, 10));
                else {
                        fprintf(stderr, "libcadu-install: unknown argument %s\n", argv[i]);
                        return 2;
                }
        }
        /* Argument checks: nothing runs. */
        if (cadu_installer_run(NULL, argv[2], 0) != -EINVAL || cadu_installer_run(in, NULL, 0) != -EINVAL ||
            cadu_installer_run(in, argv[2], 1u << 20) != -EINVAL || cadu_installer_new(ctx, NULL, NULL) != -EINVAL ||
            cadu_installer_get_image(in, 0, NULL, NULL, NULL, NULL) != -ERANGE) {
                printf("argument checks failed\n");
                return 2;
        }

        r = cadu_installer_run(in, argv[2], flags);
        for (size_t i = 0; i < n_phases; i++)
                printf("progress %s starts %u ends %u backwards %u total %" PRIu64 "\n", phases[i].what,
                       phases[i].starts, phases[i].ends, phases[i].backwards, phases[i].total);
        if (r < 0) {
                printf("failed %d kind %d last-error %s\n", r, (int)cadu_installer_failure(in),
                       cadu_context_last_error(ctx));
                if (cadu_installer_result(in) != CADU_INSTALL_NONE)
                        printf("a failed run has a result\n");
                cadu_installer_free(in);
                cadu_context_free(ctx);
                return 1;
        }
        if (cadu_installer_failure(in) != CADU_INSTALL_FAILURE_NONE)
                printf("a successful run has a failure\n");
        printf("result %s\n", result_names[cadu_installer_result(in)]);
        const char *signer = cadu_installer_signer(in);
        printf("version %s signer %s booted %c target %c downloaded %" PRIu64 "\n", cadu_installer_version(in),
               signer ? signer : "-", cadu_installer_booted_slot(in), cadu_installer_target_slot(in),
               cadu_installer_downloaded(in));
        size_t n = cadu_installer_image_count(in);
        for (size_t i = 0; i < n; i++) {
                const char *name, *device;
                cadu_install_from from;
                uint64_t downloaded;
                if (cadu_installer_get_image(in, i, &name, &device, &from, &downloaded) < 0)
                        continue;       /* not planned: nothing to say */
                printf("image %s device %s from %s downloaded %" PRIu64 "\n", name, device, from_names[from],
                       downloaded);
                for (int s = CADU_SOURCE_IN_PLACE; s <= CADU_SOURCE_MISSING; s++) {
                        uint64_t chunks, bytes;
                        if (cadu_installer_get_image_source(in, i, (cadu_source)s, &chunks, &bytes) == 0)
                                printf("source %s %s %" PRIu64 " %" PRIu64 "\n", name, source_names[s], chunks,
                                       bytes);
                }
        }
        if (cadu_installer_get_image(in, n, NULL, NULL, NULL, NULL) != -ERANGE ||
            cadu_installer_get_image_source(in, 0, (cadu_source)99, NULL, NULL) != -EINVAL)
                printf("range checks failed\n");
        cadu_installer_free(in);
        cadu_context_free(ctx);
        return 0;
}
