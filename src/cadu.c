/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cadu - content-addressed delta updater: the command dispatcher. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cadu-util.h"
#include "cmd.h"

/* One entry per line, in the order `cadu --help` lists them. */
static const cadu_command commands[] = {
        { "make", cadu_cmd_make, "chunk an image into a store and write its index" },
        { "extract", cadu_cmd_extract, "rebuild an image from an index, seeds and stores" },
        { "info", cadu_cmd_info, "describe indexes, what a store holds and what an update costs" },
        { "verify-store", cadu_cmd_verify_store, "check every chunk of a store; report missing, corrupt, stray" },
        { "gc", cadu_cmd_gc, "delete the chunks no listed index references" },
        { "mirror", cadu_cmd_mirror, "copy the chunks indexes need into a directory (local media)" },
        { "rdiff", cadu_cmd_rdiff, "rdiff-compatible signature, delta and patch" },
        { "manifest", cadu_cmd_manifest, "write a release manifest for images and their indexes" },
        { "sign", cadu_cmd_sign, "sign a manifest (detached CMS signature)" },
        { "verify", cadu_cmd_verify, "verify a signed manifest and the files it pins" },
        { "install", cadu_cmd_install, "update the slots this device is not running (signed manifest)" },
        { "status", cadu_cmd_status, "show the slots, their states and the boot order" },
        { "mark-good", cadu_cmd_mark_good, "commit the running slot after a good boot" },
        { "mark-bad", cadu_cmd_mark_bad, "take a slot out of service" },
        { "rollback", cadu_cmd_rollback, "boot the other (good) slot next" },
        { "hawkbit", cadu_cmd_hawkbit, "a hawkBit (DDI) client: install assigned releases, report back" },
};

bool cadu_quiet, cadu_json;

static void help(FILE *f) {
        fprintf(f,
                "Usage: cadu [--quiet] [--json] COMMAND [OPTIONS] ARGS...\n"
                "       cadu COMMAND --help\n"
                "       cadu --version\n\n"
                "Content-addressed delta updates for A/B embedded Linux devices.\n\n"
                "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\nGlobal options:\n"
                   "  -q, --quiet   no progress and no summary\n"
                   "      --json    machine-readable progress and statistics on stdout\n"
                   "  -h, --help    show this help\n"
                   "      --version show the version\n\n"
                   "See cadu(1) and cadu-COMMAND(1).\n");
}

int main(int argc, char **argv) {
        int i = 1;
#ifdef M_MMAP_THRESHOLD
        /* Buffers above 128 KiB (chunks, range requests) get pages of their
         * own, returned to the system when freed: memory let go between
         * phases leaves the peak. (glibc would otherwise raise the threshold
         * to the largest buffer freed and keep such buffers in its heaps.) */
        mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif
        /* SIGTERM, SIGINT and SIGHUP remove the temporary files being written. */
        cadu_tmp_cleanup_on_signals();
        /* Installed as `casync` (--enable-casync-compat): casync's command line. */
        const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
        if (argv[0] && !strcmp(base ? base + 1 : argv[0], "casync"))
                return cadu_casync_main(argc, argv);
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
                        cadu_quiet = true;
                else if (!strcmp(argv[i], "--json"))
                        cadu_json = true;
                else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        help(stdout);
                        return CADU_EXIT_OK;
                } else if (!strcmp(argv[i], "--version")) {
                        printf("cadu %s\n", PACKAGE_VERSION);
                        return CADU_EXIT_OK;
                } else {
                        fprintf(stderr, "cadu: unknown option '%s'\nTry 'cadu --help'.\n", argv[i]);
                        return CADU_EXIT_USAGE;
                }
        }
        if (i >= argc) {
                help(stderr);
                return CADU_EXIT_USAGE;
        }
        for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (!strcmp(argv[i], commands[k].name)) {
                        /* Subcommands see argv[0] == their name; global options
                         * are also accepted after the command name. */
                        int n = argc - i;
                        char **v = argv + i;
                        for (int j = 1; j < n; j++) {
                                if (!strcmp(v[j], "--")) break;
                                if (!strcmp(v[j], "-q") || !strcmp(v[j], "--quiet")) cadu_quiet = true;
                                else if (!strcmp(v[j], "--json")) cadu_json = true;
                                else continue;
                                memmove(v + j, v + j + 1, (size_t)(n - j - 1) * sizeof(char *));
                                n--, j--;
                        }
                        v[n] = NULL;
                        return commands[k].run(n, v);
                }
        fprintf(stderr, "cadu: unknown command '%s'\nTry 'cadu --help'.\n", argv[i]);
        return CADU_EXIT_USAGE;
}
