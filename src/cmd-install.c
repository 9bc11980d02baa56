/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu install: the command line of libcadu's installer (lib/install.c):
 * options, the phase lines and JSON events, the extraction's progress,
 * statistics and plan as `cadu extract` prints them, the one error line and
 * the exit code (cadu_install_failure's values are the exit codes).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "cadu/cadu.h"
#include "cadu-util.h"
#include "cmd.h"
#include "context.h"
#include "install.h"
#include "storeopts.h"

static void on_log(void *userdata, int level, const char *message) {
        (void)userdata;
        if (level == CADU_LOG_ERR)
                cadu_error("%s", message);
}

static void on_event(void *userdata, const char *phase, const char *image, const char *detail) {
        (void)userdata;
        if (cadu_json) {
                printf("{\"event\":\"phase\",\"phase\":");
                cadu_json_string(stdout, phase);
                if (image) {
                        printf(",\"image\":");
                        cadu_json_string(stdout, image);
                }
                if (detail) {
                        printf(",\"detail\":");
                        cadu_json_string(stdout, detail);
                }
                printf("}\n");
                fflush(stdout);
        } else if (!strcmp(phase, "full-failed"))
                /* Not a phase on a terminal: the full image failed, the
                 * chunks take over. */
                cadu_error("full image %s", detail);
        else if (!cadu_quiet)
                fprintf(stderr, "%s%s%s%s%s\n", phase, image ? " " : "", image ? image : "", detail ? ": " : "",
                        detail ? detail : "");
}

static void on_extract_begin(void *ud, const char *what, uint64_t total) {
        cadu_extract_progress_begin(ud, what, total);
}

static void on_extract_end(void *ud) {
        cadu_extract_progress_end(ud);
}

static void on_extract_stats(void *ud, const cadu_extract_opts *o, const cadu_extract_stats *st) {
        (void)ud;
        if (!cadu_quiet || cadu_json)
                cadu_print_extract_stats("install", o, st);
}

static void on_plan(void *ud, const cadu_installer_plan *p) {
        (void)ud;
        static const cadu_extract_plan none = { 0 };
        const cadu_extract_plan *chunks = p->delta || p->full ? &none : p->chunks;
        if (cadu_json) {
                printf("{\"event\":\"plan\",\"image\":");
                cadu_json_string(stdout, p->image);
                printf(",\"rdiff_delta\":%s,\"rdiff_delta_bytes\":%llu", p->delta ? "true" : "false",
                       (unsigned long long)p->delta_fetched);
                printf(",\"full_image\":%s,\"full_image_bytes\":%llu,\"full_image_requests\":%llu,\"plan\":",
                       p->full ? "true" : "false", (unsigned long long)p->full_bytes,
                       (unsigned long long)p->full_requests);
                cadu_print_extract_plan(chunks);
                printf("}\n");
        } else if (!cadu_quiet) {
                if (p->full)
                        fprintf(stderr, "plan %s: its compressed full image, %llu bytes in %llu requests\n",
                                p->image, (unsigned long long)p->full_bytes, (unsigned long long)p->full_requests);
                else if (p->delta_fetched)
                        fprintf(stderr, "plan %s: its rdiff delta from the running slot, %llu bytes fetched\n",
                                p->image, (unsigned long long)p->delta_fetched);
                else
                        fprintf(stderr, "plan %s: %s\n", p->image,
                                p->delta ? "its rdiff delta from the running slot, on local media" : "chunks");
                if (!p->delta && !p->full)
                        cadu_print_extract_plan(chunks);
        }
}

static const char install_help[] =
        "Usage: cadu install [OPTIONS] MANIFEST\n\n"
        "Install the update that MANIFEST (a path or an http(s) URL; its signature\n"
        "is MANIFEST.sig) describes into the slots this device is not running,\n"
        "then arrange one trial boot of them. After a good boot, run\n"
        "'cadu mark-good'; a trial that does not come up falls back by itself.\n"
        "An interrupted install resumes when run again.\n\n"
        "Options:\n"
        "  -c, --config FILE       device configuration (default /etc/cadu.conf)\n"
        "      --allow-downgrade   accept a version not newer than the installed one\n"
        "      --if-newer          succeed without installing when the version is\n"
        "                          not newer than the installed one (for pollers)\n"
        "      --dry-run           verify the release and show what it would download\n"
        "                          (bytes and requests by source); change nothing\n"
        "      --max-download BYTES  refuse, before writing anything, when the\n"
        "                          download needs more (K/M/G; default: max-download\n"
        "                          in [store] of the configuration)\n"
        "  -q, --quiet             no progress and no summary\n"
        "      --json              progress events and statistics as JSON on stdout\n"
        "  -h, --help              show this help\n\n"
        "Network store options (also settable in the [store] section):\n";

/* cadu_install_failure's values are cadu's exit codes. */
static int exit_code(cadu_install_failure f) {
        switch (f) {
        case CADU_INSTALL_FAILURE_CONFIG: return CADU_EXIT_USAGE;
        case CADU_INSTALL_FAILURE_VERIFY: return CADU_EXIT_VERIFY;
        case CADU_INSTALL_FAILURE_REFUSED: return CADU_EXIT_REFUSED;
        case CADU_INSTALL_FAILURE_NETWORK: return CADU_EXIT_NETWORK;
        default: return CADU_EXIT_FAILURE;
        }
}

int cadu_cmd_install(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "allow-downgrade", no_argument, NULL, 'D' },
                { "if-newer", no_argument, NULL, 'N' },
                { "dry-run", no_argument, NULL, 'n' },
                { "max-download", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        const char *config_path = NULL;
        cadu_context *ctx = NULL;
        cadu_installer *in = NULL;
        cadu_extract_progress xp;
        uint64_t max_download = 0;
        unsigned flags = 0;
        int c, r, ret = CADU_EXIT_OK;

        if ((r = cadu_context_new(&ctx)) < 0)
                return cadu_error_errno(r, "install");
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c': config_path = optarg; break;
                case 'D': flags |= CADU_INSTALL_ALLOW_DOWNGRADE; break;
                case 'N': flags |= CADU_INSTALL_IF_NEWER; break;
                case 'n': flags |= CADU_INSTALL_DRY_RUN; break;
                case 'M':
                        if (cadu_parse_size(optarg, &max_download) < 0 || !max_download) {
                                cadu_context_free(ctx);
                                return cadu_usage_error("install", "invalid --max-download '%s'", optarg);
                        }
                        break;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        /* The context's store options, with the command's usage errors. */
                        if ((r = cadu_storeopts_parse(&ctx->storeopts, "install", c, optarg)) != 0) {
                                cadu_context_free(ctx);
                                return r;
                        }
                        break;
                case 'h':
                        fputs(install_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        cadu_context_free(ctx);
                        return CADU_EXIT_OK;
                default:
                        cadu_context_free(ctx);
                        return cadu_usage_error("install", "invalid option");
                }
        }
        if (argc - optind != 1) {
                cadu_context_free(ctx);
                return cadu_usage_error("install", "expected MANIFEST");
        }
        cadu_context_set_log(ctx, on_log, NULL);
        if (cadu_installer_new(ctx, config_path, &in) < 0) {
                cadu_context_free(ctx);
                return CADU_EXIT_USAGE;
        }
        cadu_installer_output out = {
                .userdata = &xp,
                .extract_begin = on_extract_begin,
                .extract_progress = cadu_extract_progress_out,
                .seed_progress = cadu_extract_progress_seed,
                .extract_end = on_extract_end,
                .extract_stats = on_extract_stats,
                .plan = on_plan,
        };
        cadu_installer_set_output(in, &out);
        cadu_installer_set_event(in, on_event, NULL);
        cadu_installer_set_max_download(in, max_download);
        if (cadu_installer_run(in, argv[optind], flags) < 0)
                ret = exit_code(cadu_installer_failure(in));
        else if (cadu_installer_result(in) == CADU_INSTALL_INSTALLED) {
                const char *signer = cadu_installer_signer(in);
                char slot = cadu_installer_target_slot(in);
                if (cadu_json)
                        printf("{\"event\":\"done\",\"command\":\"install\",\"version\":\"%s\",\"slot\":\"%c\",\"signer\":",
                               cadu_installer_version(in), slot),
                                cadu_json_string(stdout, signer), printf("}\n");
                else if (!cadu_quiet)
                        fprintf(stderr, "installed %s into slot %c (signed by %s); reboot to try it, then 'cadu mark-good'\n",
                                cadu_installer_version(in), slot, signer ? signer : "?");
        }
        cadu_installer_free(in);
        cadu_context_free(ctx);
        return ret;
}
