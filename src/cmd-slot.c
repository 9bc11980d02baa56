/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu status | mark-good | mark-bad | rollback: the slots and the
 * bootloader, as the device sees them.
 *
 * All four read cadu.conf, the bootloader environment (one transaction:
 * read every variable, change, store once) and the state directory. The
 * commands that change anything hold the state directory's lock and store
 * the environment at most once; when anything fails before that store,
 * no slot is switched.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cadu-boot.h"
#include "cadu-manifest.h"
#include "cadu-util.h"
#include "cmd.h"
#include "config.h"
#include "slots.h"
#include "slotstate.h"

/* The device's slots, read through libcadu (lib/slots.c); the commands
 * print from its fields (lib/slots.h). */
typedef cadu_slots slotcmd;

static void on_log(void *userdata, int level, const char *message) {
        (void)userdata;
        if (level == CADU_LOG_ERR)
                cadu_error("%s", message);
}

/* The exit code of a failure the library has logged. */
static int exit_code(int r) {
        if (r == -ENOTRECOVERABLE)
                return CADU_EXIT_REFUSED;
        return r == -EBADMSG || r == -EFBIG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
}

static void slotcmd_done(slotcmd *c) {
        if (!c)
                return;
        cadu_context *ctx = c->ctx;
        cadu_slots_free(c);
        cadu_context_free(ctx);
}

/* Read the configuration, take the lock (when changing things), load the
 * environment and the slot states, find the booted slot. Returns 0 or an
 * exit code after reporting the error. */
static int slotcmd_open(slotcmd **ret, const char *config_path, bool lock) {
        cadu_context *ctx = NULL;
        slotcmd *c = NULL;
        int r = cadu_context_new(&ctx);
        if (r < 0)
                return cadu_error_errno(r, "slots");
        cadu_context_set_log(ctx, on_log, NULL);
        if (cadu_slots_new(ctx, config_path, &c) < 0) {
                cadu_context_free(ctx);
                return CADU_EXIT_USAGE;
        }
        if ((r = cadu_slots_load(c, lock ? CADU_SLOTS_LOCK : 0)) < 0) {
                slotcmd_done(c);
                return exit_code(r);
        }
        *ret = c;
        return 0;
}

static void print_result(const char *action, char slot, char next) {
        if (cadu_json) {
                printf("{\"event\":\"result\",\"action\":\"%s\",\"slot\":\"%c\",\"next_boot\":\"%c\"}\n", action,
                       slot, next);
                return;
        }
        if (!cadu_quiet)
                printf("slot %c %s; next boot: slot %c\n", slot, action, next);
}

/* ---- option parsing shared by the four commands ---- */

enum { ARG_FORCE = 0x100 };

static const struct option slot_options[] = {
        { "config", required_argument, NULL, 'c' },
        { "force", no_argument, NULL, ARG_FORCE },
        { "help", no_argument, NULL, 'h' },
        {},
};

/* Returns -1 to go on, else an exit code. */
static int parse_options(int argc, char **argv, const char *help, bool allow_force, const char **config,
                         bool *force) {
        int opt;
        optind = 0;
        while ((opt = getopt_long(argc, argv, "c:h", slot_options, NULL)) >= 0) {
                switch (opt) {
                case 'c':
                        *config = optarg;
                        break;
                case ARG_FORCE:
                        if (!allow_force)
                                return cadu_usage_error(argv[0], "unknown option '--force'");
                        *force = true;
                        break;
                case 'h':
                        fputs(help, stdout);
                        return CADU_EXIT_OK;
                default:
                        fprintf(stderr, "Try 'cadu %s --help'.\n", argv[0]);
                        return CADU_EXIT_USAGE;
                }
        }
        return -1;
}

/* The start of status, mark-good and rollback: options (no argument), the
 * configuration, the lock when changing things, and the booted slot when
 * it must be known. Returns -1 to go on, else an exit code (c released). */
static int slotcmd_start(int argc, char **argv, const char *help, bool change, slotcmd **c) {
        const char *config = NULL;
        bool force = false;
        int r = parse_options(argc, argv, help, false, &config, &force);
        if (r >= 0)
                return r;
        if (optind < argc)
                return cadu_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        r = slotcmd_open(c, config, change);
        if (r != 0)
                return r;
        if (change && (r = cadu_slots_need_booted(*c)) < 0) {
                slotcmd_done(*c);
                return exit_code(r);
        }
        return -1;
}

/* ---- status ---- */

static const char status_help[] =
        "Usage: cadu status [OPTIONS]\n\n"
        "Show the booted slot, each slot's state, version and boot attempts, the\n"
        "bootloader's boot order, a pending or failed trial boot and an interrupted\n"
        "install.\n\n"
        "Options:\n"
        "  -c, --config FILE   device configuration (default /etc/cadu.conf)\n"
        "      --json          print the status as one JSON object\n"
        "  -h, --help          show this help\n";

static void format_time(uint64_t t, char *buf, size_t n) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
                snprintf(buf, n, "-");
}

static void json_opt_string(const char *key, const char *v, bool comma) {
        printf("\"%s\":", key);
        if (v)
                cadu_json_string(stdout, v);
        else
                fputs("null", stdout);
        if (comma)
                fputc(',', stdout);
}

static void json_opt_slot(const char *key, char slot, bool comma) {
        if (slot)
                printf("\"%s\":\"%c\"%s", key, slot, comma ? "," : "");
        else
                printf("\"%s\":null%s", key, comma ? "," : "");
}

static int status_json(slotcmd *c, char next, char pending, char failed, const cadu_journal *j) {
        const cadu_config *cfg = c->cfg;
        fputs("{", stdout);
        json_opt_string("compatible", cfg->compatible, true);
        json_opt_string("bootloader", cfg->bootloader == CADU_BOOT_UBOOT ? "uboot"
                                      : cfg->bootloader == CADU_BOOT_EBG ? "efibootguard" : "file", true);
        json_opt_string("environment", cadu_slots_bootloader_path(cfg), true);
        json_opt_slot("booted", c->booted, true);
        json_opt_string("booted_from", c->booted ? c->booted_from : NULL, true);
        fputs("\"boot_order\":[", stdout);
        for (const char *p = c->bs.order; *p; p++)
                printf("%s\"%c\"", p == c->bs.order ? "" : ",", *p);
        fputs("],", stdout);
        json_opt_slot("next_boot", next, true);
        json_opt_slot("pending_trial", pending, true);
        json_opt_slot("failed_trial", failed, true);
        printf("\"on_trial\":%s,", c->booted && c->state[cadu_boot_slot_index(c->booted)] == CADU_SLOT_TRIAL
                                           ? "true" : "false");
        fputs("\"slots\":[", stdout);
        for (int s = 0; s < 2; s++) {
                char slot = s ? 'B' : 'A';
                printf("%s{\"slot\":\"%c\",\"state\":\"%s\",\"attempts_left\":%u,\"booted\":%s,",
                       s ? "," : "", slot, cadu_slot_state_name(c->state[s]), c->bs.left[s],
                       c->booted == slot ? "true" : "false");
                json_opt_string("bootloader_state", cadu_boot_describe(c->boot, slot), true);
                fputs("\"images\":[", stdout);
                for (size_t k = 0; k < cfg->n_classes; k++) {
                        cadu_slot_info info;
                        if (cadu_slot_info_read(cfg->state_dir, cfg->classes[k].name, slot, &info) < 0)
                                info = (cadu_slot_info)CADU_SLOT_INFO_INIT;
                        printf("%s{", k ? "," : "");
                        json_opt_string("class", cfg->classes[k].name, true);
                        json_opt_string("device", cfg->classes[k].device[s], true);
                        json_opt_string("state", cadu_slot_state_name(info.state), true);
                        json_opt_string("version", info.version, true);
                        json_opt_string("image_sha256", info.image_sha256, true);
                        json_opt_string("index_sha256", info.index_sha256, true);
                        if (info.installed)
                                printf("\"installed\":%" PRIu64 "}", info.installed);
                        else
                                fputs("\"installed\":null}", stdout);
                        cadu_slot_info_clear(&info);
                }
                fputs("]}", stdout);
        }
        fputs("],\"install\":", stdout);
        if (j) {
                fputs("{", stdout);
                json_opt_string("version", j->version, true);
                printf("\"slot\":\"%c\",", j->slot);
                json_opt_string("manifest_sha256", j->manifest_sha256, true);
                json_opt_string("last_phase", j->n_records ? j->records[j->n_records - 1].phase : NULL, true);
                printf("\"started\":%" PRIu64 ",\"done\":%s}", j->started, j->done ? "true" : "false");
        } else
                fputs("null", stdout);
        fputs("}\n", stdout);
        return ferror(stdout) ? cadu_error("writing the status: %s", strerror(errno)) : CADU_EXIT_OK;
}

static int status_text(slotcmd *c, char next, char pending, char failed, const cadu_journal *j) {
        const cadu_config *cfg = c->cfg;
        printf("compatible:  %s\n", cfg->compatible);
        printf("bootloader:  %s %s\n", cadu_slots_bootloader_name(cfg), cadu_slots_bootloader_path(cfg));
        if (c->booted)
                printf("booted:      %c (from the %s)\n", c->booted,
                       !strcmp(c->booted_from, "cmdline") ? "kernel command line" : "bootloader variable");
        else if (c->booted_r == -ENOENT)
                printf("booted:      unknown (%s names no cadu.slot= or rauc.slot=)\n", cfg->cmdline);
        else
                printf("booted:      unknown (%s: %s)\n", cfg->cmdline, cadu_strerror(c->booted_r));
        printf("boot order:  ");
        for (const char *p = c->bs.order; *p; p++)
                printf("%s%c", p == c->bs.order ? "" : " ", *p);
        printf("\nnext boot:   %c\n", next);
        for (int s = 0; s < 2; s++) {
                char slot = s ? 'B' : 'A';
                printf("slot %c:      %s, %u attempt%s left%s\n", slot, cadu_slot_state_name(c->state[s]),
                       c->bs.left[s], c->bs.left[s] == 1 ? "" : "s", c->booted == slot ? ", booted" : "");
                const char *native = cadu_boot_describe(c->boot, slot);
                if (native)
                        printf("  %-10s %s\n", "bootloader", native);
                for (size_t k = 0; k < cfg->n_classes; k++) {
                        cadu_slot_info info;
                        char when[64];
                        if (cadu_slot_info_read(cfg->state_dir, cfg->classes[k].name, slot, &info) < 0)
                                info = (cadu_slot_info)CADU_SLOT_INFO_INIT;
                        format_time(info.installed, when, sizeof(when));
                        printf("  %-10s %s  %s  version %s  installed %s\n", cfg->classes[k].name,
                               cfg->classes[k].device[s], cadu_slot_state_name(info.state),
                               info.version ? info.version : "-", when);
                        cadu_slot_info_clear(&info);
                }
        }
        if (pending)
                printf("note:        a trial boot of slot %c is set up for the next reboot\n", pending);
        if (c->booted && c->state[cadu_boot_slot_index(c->booted)] == CADU_SLOT_TRIAL)
                printf("note:        slot %c is on trial: run 'cadu mark-good' to keep it\n", c->booted);
        if (failed)
                printf("note:        the trial of slot %c failed (no attempts left); slot %c is running\n", failed,
                       c->booted);
        if (c->booted && next != c->booted && next != pending)
                printf("note:        the next boot switches to slot %c\n", next);
        if (j && !j->done)
                printf("note:        the install of version %s into slot %c was interrupted%s%s: run 'cadu install' again\n",
                       j->version, j->slot, j->n_records ? " after " : "",
                       j->n_records ? j->records[j->n_records - 1].phase : "");
        return ferror(stdout) ? cadu_error("writing the status: %s", strerror(errno)) : CADU_EXIT_OK;
}

int cadu_cmd_status(int argc, char **argv) {
        slotcmd *c = NULL;
        int r = slotcmd_start(argc, argv, status_help, false, &c);
        if (r >= 0)
                return r;
        char next = cadu_slots_next_boot(c);
        char pending = cadu_slots_pending_trial(c), failed = cadu_slots_failed_trial(c);
        cadu_journal *j = NULL;
        int jr = cadu_journal_read(c->cfg->state_dir, &j);
        if (jr < 0 && jr != -ENOENT) {
                r = cadu_error_errno(jr, "reading the install journal in %s", c->cfg->state_dir);
                slotcmd_done(c);
                return r;
        }
        r = cadu_json ? status_json(c, next, pending, failed, j) : status_text(c, next, pending, failed, j);
        cadu_journal_free(j);
        slotcmd_done(c);
        return r;
}

/* ---- mark-good ---- */

static const char mark_good_help[] =
        "Usage: cadu mark-good [OPTIONS]\n\n"
        "Commit the running slot after a good boot: it becomes the first in the\n"
        "bootloader's boot order with its boot attempts reset, and its images are\n"
        "recorded as good. Run it at every boot once the system works. When a\n"
        "trial of the other slot is set up and not yet booted, the order is kept\n"
        "and only the attempts of the running slot are reset. A trial of the other\n"
        "slot that used up its attempts is recorded as bad.\n\n"
        "Options:\n"
        "  -c, --config FILE   device configuration (default /etc/cadu.conf)\n"
        "      --json          print the result as JSON\n"
        "  -q, --quiet         print nothing on success\n"
        "  -h, --help          show this help\n";

int cadu_cmd_mark_good(int argc, char **argv) {
        slotcmd *c = NULL;
        int r = slotcmd_start(argc, argv, mark_good_help, true, &c);
        if (r >= 0)
                return r;
        char booted = cadu_slots_booted(c), other = cadu_boot_other(booted);
        bool keep_trial = cadu_slots_pending_trial(c) == other;
        bool failed = cadu_slots_failed_trial(c) == other;
        if ((r = cadu_slots_mark_good(c)) < 0)
                r = exit_code(r);
        else {
                print_result("marked good", booted, cadu_slots_next_boot(c));
                if (keep_trial && !cadu_quiet && !cadu_json)
                        printf("the trial boot of slot %c stays set up\n", other);
                if (failed && !cadu_quiet && !cadu_json)
                        printf("the failed trial of slot %c is recorded as bad\n", other);
        }
        slotcmd_done(c);
        return r;
}

/* ---- mark-bad ---- */

static const char mark_bad_help[] =
        "Usage: cadu mark-bad [OPTIONS] [SLOT]\n\n"
        "Take SLOT (A or B; default: the running slot) out of service: no boot\n"
        "attempts left and last in the boot order, and recorded as bad. Marking the\n"
        "running slot bad makes the next boot start the other slot, so it is\n"
        "refused unless the other slot holds a good image.\n\n"
        "Options:\n"
        "  -c, --config FILE   device configuration (default /etc/cadu.conf)\n"
        "      --force         mark the running slot bad even when the other slot is\n"
        "                      not known to be good\n"
        "      --json          print the result as JSON\n"
        "  -q, --quiet         print nothing on success\n"
        "  -h, --help          show this help\n";

int cadu_cmd_mark_bad(int argc, char **argv) {
        const char *config = NULL;
        bool force = false;
        int r = parse_options(argc, argv, mark_bad_help, true, &config, &force);
        if (r >= 0)
                return r;
        char slot = 0;
        if (optind < argc) {
                const char *a = argv[optind];
                if ((a[0] == 'A' || a[0] == 'a') && !a[1])
                        slot = 'A';
                else if ((a[0] == 'B' || a[0] == 'b') && !a[1])
                        slot = 'B';
                else
                        return cadu_usage_error(argv[0], "invalid slot '%s' (expected A or B)", a);
                if (optind + 1 < argc)
                        return cadu_usage_error(argv[0], "unexpected argument '%s'", argv[optind + 1]);
        }
        slotcmd *c = NULL;
        r = slotcmd_open(&c, config, true);
        if (r != 0)
                return r;
        r = cadu_slots_mark_bad(c, slot, force ? CADU_SLOTS_FORCE : 0);
        if (r == 0)
                print_result("marked bad", slot ? slot : cadu_slots_booted(c), cadu_slots_next_boot(c));
        slotcmd_done(c);
        return r < 0 ? exit_code(r) : 0;
}

/* ---- rollback ---- */

static const char rollback_help[] =
        "Usage: cadu rollback [OPTIONS]\n\n"
        "Make the other slot (the one not running) boot next, with its boot\n"
        "attempts reset, in a single store of the bootloader environment. Refused\n"
        "unless every image of that slot is recorded as good. Reboot to switch.\n\n"
        "Options:\n"
        "  -c, --config FILE   device configuration (default /etc/cadu.conf)\n"
        "      --json          print the result as JSON\n"
        "  -q, --quiet         print nothing on success\n"
        "  -h, --help          show this help\n";

int cadu_cmd_rollback(int argc, char **argv) {
        slotcmd *c = NULL;
        int r = slotcmd_start(argc, argv, rollback_help, true, &c);
        if (r >= 0)
                return r;
        if ((r = cadu_slots_rollback(c)) < 0)
                r = exit_code(r);
        else
                print_result("set to boot next", cadu_boot_other(cadu_slots_booted(c)), cadu_slots_next_boot(c));
        slotcmd_done(c);
        return r;
}
