/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-gc.c - cadu gc: remove what no index given still needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "cadu-chunker.h"
#include <openssl/crypto.h>

#include "cadu-crypt.h"
#include "cadu-envelope.h"
#include "cadu-index.h"
#include "cadu-manifest.h"
#include "cadu-store.h"
#include "cmd.h"
#include "cmd-crypt.h"
#include "extract.h"
#include "store-packs.h"
#include "storeopts.h"
#include "storewalk.h"
#include "gc.h"
#include "cmd-storeops.h"

static const char gc_help[] =
        "Usage: cadu gc [OPTIONS] STORE INDEX...\n\n"
        "Delete the chunks of the directory store STORE that none of the indexes\n"
        "references, and report how many bytes that frees. Files younger than\n"
        "the grace period are kept, so that a cadu make writing into the store\n"
        "meanwhile is safe: list every index that is still in use, including\n"
        "those being made. Leftover temporary files older than the grace period\n"
        "are deleted too, and prefix directories left empty are removed. Other\n"
        "files are left alone (cadu verify-store lists them).\n\n"
        "Options:\n"
        "  -n, --dry-run           report what would be deleted, delete nothing\n"
        "  -g, --grace SECONDS     keep files modified less than SECONDS ago\n"
        "                          (default 3600; 0 deletes regardless of age)\n"
        "  -v, --verbose           print each deleted file (\"delete PATH\") on stdout\n"
        "  -q, --quiet             no summary\n"
        "      --json              statistics as JSON on stdout\n"
        "  -h, --help              show this help\n";

/* --verbose: each file deleted, or to delete. */
static void gc_print_deleted(void *ud, const char *path) {
        (void)ud;
        if (cadu_json) {
                printf("{\"event\":\"delete\",\"path\":");
                cadu_json_string(stdout, path);
                printf("}\n");
        } else
                printf("delete %s\n", path);
}

int cadu_cmd_gc(int argc, char **argv) {
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, 'n' },
                { "grace", required_argument, NULL, 'g' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        cadu_gc g = { .set = CADU_CHUNK_SET_INIT };
        bool verbose = false;
        uint64_t grace = 3600;
        int c;

        while ((c = getopt_long(argc, argv, "ng:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'n': g.dry_run = true; break;
                case 'g':
                        if (cadu_parse_uint(optarg, 0, UINT64_C(1) << 40, &grace) < 0)
                                return cadu_usage_error("gc", "invalid --grace '%s' (seconds, 0 or more)", optarg);
                        break;
                case 'v': verbose = true; break;
                case 'h':
                        fputs(gc_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("gc", "invalid option");
                }
        }
        if (optind >= argc)
                return cadu_usage_error("gc", "expected STORE and at least one INDEX");
        const char *store_loc = argv[optind++];
        if (optind >= argc)
                return cadu_usage_error("gc", "refusing to run without an INDEX: every chunk of %s would be deleted",
                                        store_loc);
        if (cadu_location_is_url(store_loc) || strstr(store_loc, "://"))
                return cadu_usage_error("gc", "%s: gc works on a local directory store (run it where the files are)",
                                        store_loc);
        struct stat st;
        if (stat(store_loc, &st) < 0)
                return cadu_error_errno(-errno, "store %s", store_loc);
        if (!S_ISDIR(st.st_mode))
                return cadu_error("store %s is not a directory", store_loc);

        index_list l = { 0 };
        int ret = read_indexes(argv + optind, (size_t)(argc - optind), &l, true);
        if (ret)
                goto out;
        if ((ret = add_indexes(&g.set, &l)))
                goto out;
        g.cutoff = (int64_t)time(NULL) - (int64_t)grace;
        if (grace == 0)
                g.cutoff = INT64_MAX;
        uint64_t start = cadu_now_ns();
        g.root = store_loc;
        g.paths = (const char *const *)l.paths;
        g.idx = l.idx;
        g.n = l.n;
        g.deleted = verbose ? gc_print_deleted : NULL;
        int r = cadu_gc_run(&g);
        if (r < 0) {
                ret = cadu_error_errno(r, "%s", g.error ? g.error : "gc");
                goto out;
        }
        const cadu_packs_gc_stats pg = g.packs;
        uint64_t missing = g.missing;
        double secs = (double)(cadu_now_ns() - start) / 1e9;
        if (cadu_json)
                printf("{\"event\":\"done\",\"command\":\"gc\",\"dry_run\":%s,\"deleted_chunks\":%llu,"
                       "\"deleted_bytes\":%llu,\"kept_chunks\":%llu,\"kept_bytes\":%llu,\"young_chunks\":%llu,"
                       "\"young_bytes\":%llu,\"deleted_temp_files\":%llu,\"deleted_temp_bytes\":%llu,"
                       "\"young_temp_files\":%llu,\"other_files\":%llu,\"removed_directories\":%llu,"
                       "\"missing_referenced\":%llu,\"deleted_pack_files\":%llu,\"deleted_pack_bytes\":%llu,"
                       "\"deleted_pack_indexes\":%llu,\"deleted_packs\":%llu,\"deleted_deltas\":%llu,"
                       "\"kept_packs\":%llu,\"kept_deltas\":%llu,\"grace\":%llu,\"seconds\":%.3f}\n",
                       g.dry_run ? "true" : "false", (unsigned long long)g.deleted_chunks,
                       (unsigned long long)g.deleted_bytes, (unsigned long long)g.kept,
                       (unsigned long long)g.kept_bytes, (unsigned long long)g.young, (unsigned long long)g.young_bytes,
                       (unsigned long long)g.temp_deleted, (unsigned long long)g.temp_bytes,
                       (unsigned long long)g.temp_young, (unsigned long long)g.other,
                       (unsigned long long)g.dirs_removed, (unsigned long long)missing,
                       (unsigned long long)pg.files, (unsigned long long)pg.bytes,
                       (unsigned long long)pg.pack_indexes, (unsigned long long)pg.packs,
                       (unsigned long long)pg.deltas, (unsigned long long)pg.kept_packs,
                       (unsigned long long)pg.kept_deltas, (unsigned long long)grace, secs);
        else if (!cadu_quiet) {
                char a[32], b[32], cc[32];
                fprintf(stderr, "%s: %s %llu chunks (%s), kept %llu referenced (%s) and %llu younger than %llu s (%s)\n",
                        store_loc, g.dry_run ? "would delete" : "deleted", (unsigned long long)g.deleted_chunks,
                        cadu_format_bytes(g.deleted_bytes, a), (unsigned long long)g.kept,
                        cadu_format_bytes(g.kept_bytes, b), (unsigned long long)g.young, (unsigned long long)grace,
                        cadu_format_bytes(g.young_bytes, cc));
                if (g.temp_deleted || g.temp_young || g.dirs_removed || g.other)
                        fprintf(stderr, "  temporary files: %llu %s, %llu young kept; %llu empty directories %s; "
                                        "%llu other files left alone\n",
                                (unsigned long long)g.temp_deleted, g.dry_run ? "to delete" : "deleted",
                                (unsigned long long)g.temp_young, (unsigned long long)g.dirs_removed,
                                g.dry_run ? "to remove" : "removed", (unsigned long long)g.other);
                if (pg.files || pg.kept_packs || pg.kept_deltas)
                        fprintf(stderr, "  packs: %s %llu pack indexes, %llu packs and %llu delta files (%s); "
                                        "kept %llu packs and %llu delta files\n",
                                g.dry_run ? "would delete" : "deleted", (unsigned long long)pg.pack_indexes,
                                (unsigned long long)pg.packs, (unsigned long long)pg.deltas,
                                cadu_format_bytes(pg.bytes, a), (unsigned long long)pg.kept_packs,
                                (unsigned long long)pg.kept_deltas);
        }
        if (missing && !cadu_quiet)
                fprintf(stderr, "cadu: warning: %llu chunks the indexes reference are not in %s "
                                "(run cadu verify-store)\n", (unsigned long long)missing, store_loc);
        ret = CADU_EXIT_OK;
out:
        cadu_gc_done(&g);
        index_list_done(&l);
        return ret;
}
