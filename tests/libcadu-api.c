/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcadu-api - drives libcadu's public API (include/cadu/cadu.h) through
 * the shared library for tests/libcadu-api.sh. Built against the public
 * header only.
 *
 *   libcadu-api make IMAGE STORE INDEX [MIN AVG MAX]
 *       prints "chunks N new N bytes N compressed N" and the progress seen
 *   libcadu-api plan INDEX STORE [SEED]
 *       a dry run: prints "SOURCE CHUNKS BYTES" for every source with chunks
 *   libcadu-api limit INDEX STORE OUTPUT BYTES
 *       an extraction with a download limit
 *   libcadu-api release IMAGE STORE INDEX [key=FILE] [packs] [deltas=LEVEL] [fp] [base=INDEX]
 *                       [manifest=PATH,COMPATIBLE,VERSION]
 *       a make with the later steps; prints the steps' statistics
 *   libcadu-api extract INDEX STORE OUTPUT [key=FILE] [seed=FILE]
 *       an extraction; prints every source in detail ("source NAME I CHUNKS
 *       BYTES RAW REJECTED"), each source's sum ("sum NAME CHUNKS BYTES"), the
 *       bytes downloaded and the plan; on failure prints "errno N" (N
 *       positive) and exits 4
 *   libcadu-api errors STORE
 *       argument checks of every function; prints "ok"
 *
 * Failures print the library's last error and exit 1; errors go to
 * stderr only through this program, never from the library itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cadu/cadu.h>

static unsigned n_logged;

static void log_line(void *userdata, int level, const char *message) {
        (void)userdata;
        (void)level;
        (void)message;
        n_logged++;
}

typedef struct progress_seen {
        unsigned starts, ends, updates;
        uint64_t last_done, last_total;
        int backwards;
} progress_seen;

static void progress(void *userdata, const char *what, uint64_t done, uint64_t total) {
        progress_seen *p = userdata;
        (void)what;
        if (done == 0)
                p->starts++;
        else if (done < p->last_done)
                p->backwards++;
        if (done == total)
                p->ends++;
        if (done > total)
                p->backwards++;
        p->updates++;
        p->last_done = done;
        p->last_total = total;
}

static int fail(cadu_context *ctx, int r, const char *what) {
        const char *msg = cadu_context_last_error(ctx);
        fprintf(stderr, "libcadu-api: %s: %s (%s)\n", what, msg ? msg : "(no message)", strerror(-r));
        return 1;
}

#define CHECK(expr, want)                                                                               \
        do {                                                                                            \
                int _r = (expr);                                                                        \
                if (_r != (want)) {                                                                     \
                        fprintf(stderr, "libcadu-api: %s = %d, expected %d\n", #expr, _r, (want));      \
                        return 1;                                                                       \
                }                                                                                       \
        } while (0)

static int cmd_make(cadu_context *ctx, int argc, char **argv) {
        cadu_store *store = NULL;
        cadu_maker *m = NULL;
        progress_seen seen = { 0 };
        uint64_t chunks, new_chunks, new_bytes, new_compressed;
        int r;
        cadu_context_set_progress(ctx, progress, &seen);
        if ((r = cadu_store_open_location(ctx, argv[1], CADU_STORE_CREATE, &store)) < 0)
                return fail(ctx, r, "store");
        if ((r = cadu_maker_new(ctx, &m)) < 0)
                return fail(ctx, r, "maker");
        if (argc == 6 && (r = cadu_maker_set_chunk_size(m, strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                                                        strtoull(argv[5], NULL, 10))) < 0)
                return fail(ctx, r, "chunk size");
        CHECK(cadu_maker_get_stats(m, NULL, NULL, NULL, NULL), -ENODATA);
        if ((r = cadu_maker_run(m, argv[0], store, argv[2])) < 0)
                return fail(ctx, r, "make");
        if ((r = cadu_maker_get_stats(m, &chunks, &new_chunks, &new_bytes, &new_compressed)) < 0)
                return fail(ctx, r, "stats");
        printf("chunks %" PRIu64 " new %" PRIu64 " bytes %" PRIu64 " compressed %" PRIu64 "\n", chunks, new_chunks,
               new_bytes, new_compressed);
        printf("progress starts %u ends %u backwards %d total %" PRIu64 "\n", seen.starts, seen.ends, seen.backwards,
               seen.last_total);
        cadu_maker_free(m);
        cadu_store_close(store);
        return 0;
}

static int cmd_release(cadu_context *ctx, int argc, char **argv) {
        cadu_store *store = NULL;
        cadu_maker *m = NULL;
        uint64_t v[6];
        int r, ret = 0;
        if ((r = cadu_maker_new(ctx, &m)) < 0)
                return fail(ctx, r, "maker");
        for (int i = 3; i < argc; i++) {
                char *a = argv[i];
                if (!strncmp(a, "key=", 4))
                        r = cadu_context_set_key_file(ctx, a + 4);
                else if (!strcmp(a, "packs"))
                        r = cadu_maker_set_packs(m, true);
                else if (!strncmp(a, "deltas=", 7))
                        r = cadu_maker_set_deltas(m, true, atoi(a + 7));
                else if (!strcmp(a, "fp"))
                        r = cadu_maker_set_fingerprints(m, true);
                else if (!strncmp(a, "base=", 5))
                        r = cadu_maker_add_index_base(m, a + 5);
                else if (!strncmp(a, "manifest=", 9)) {
                        char *c = strchr(a, ','), *ver = c ? strchr(c + 1, ',') : NULL;
                        if (!ver) {
                                fprintf(stderr, "libcadu-api: manifest=PATH,COMPATIBLE,VERSION\n");
                                ret = 2;
                                goto out;
                        }
                        *c++ = 0;
                        *ver++ = 0;
                        r = cadu_maker_set_manifest(m, a + 9, c, ver, NULL, NULL);
                } else {
                        fprintf(stderr, "libcadu-api: unknown %s\n", a);
                        ret = 2;
                        goto out;
                }
                if (r < 0) {
                        ret = fail(ctx, r, a);
                        goto out;
                }
        }
        if ((r = cadu_store_open_location(ctx, argv[1], CADU_STORE_CREATE, &store)) < 0) {
                ret = fail(ctx, r, "store");
                goto out;
        }
        CHECK(cadu_maker_get(m, CADU_MAKE_STAT_PACKS, &v[0]), -ENODATA);
        if ((r = cadu_maker_run(m, argv[0], store, argv[2])) < 0 ||
            (r = cadu_maker_get(m, CADU_MAKE_STAT_IMAGE_BYTES, &v[0])) < 0) {
                ret = fail(ctx, r, "make");
                goto out;
        }
        printf("image %" PRIu64 "\n", v[0]);
        if (cadu_maker_get(m, CADU_MAKE_STAT_DELTA_TARGETS, &v[0]) == 0) {
                CHECK(cadu_maker_get(m, CADU_MAKE_STAT_DELTA_WITH_DELTA, &v[1]), 0);
                CHECK(cadu_maker_get(m, CADU_MAKE_STAT_DELTA_BYTES, &v[2]), 0);
                printf("deltas %" PRIu64 " with %" PRIu64 " bytes %" PRIu64 "\n", v[0], v[1], v[2]);
        }
        if (cadu_maker_get(m, CADU_MAKE_STAT_PACKS, &v[0]) == 0) {
                CHECK(cadu_maker_get(m, CADU_MAKE_STAT_PACK_BYTES, &v[1]), 0);
                CHECK(cadu_maker_get(m, CADU_MAKE_STAT_PACKED_CHUNKS, &v[2]), 0);
                CHECK(cadu_maker_get(m, CADU_MAKE_STAT_REFERENCED_CHUNKS, &v[3]), 0);
                printf("packs %" PRIu64 " bytes %" PRIu64 " packed %" PRIu64 " referenced %" PRIu64 "\n", v[0], v[1],
                       v[2], v[3]);
        }
        CHECK(cadu_maker_get(m, (cadu_make_stat)1000, &v[0]), -EINVAL);
out:
        cadu_maker_free(m);
        cadu_store_close(store);
        return ret;
}

static const struct {
        cadu_source source;
        const char *name;
} sources[] = {
        { CADU_SOURCE_IN_PLACE, "in-place" }, { CADU_SOURCE_ZERO, "zero" }, { CADU_SOURCE_DUPLICATE, "duplicate" },
        { CADU_SOURCE_SEEDS, "seeds" },       { CADU_SOURCE_CACHE, "cache" }, { CADU_SOURCE_STORES, "stores" },
        { CADU_SOURCE_PACKS, "packs" },       { CADU_SOURCE_DELTAS, "deltas" }, { CADU_SOURCE_MISSING, "missing" },
};

static int cmd_extract(cadu_context *ctx, int argc, char **argv) {
        cadu_store *store = NULL;
        cadu_extraction *x = NULL;
        int r;
        const char *seed = NULL;
        for (int i = 3; i < argc; i++) {
                if (!strncmp(argv[i], "seed=", 5))
                        seed = argv[i] + 5;
                else if (!strncmp(argv[i], "key=", 4) && (r = cadu_context_set_key_file(ctx, argv[i] + 4)) < 0)
                        return fail(ctx, r, "key");
        }
        if ((r = cadu_store_open_location(ctx, argv[1], 0, &store)) < 0)
                return fail(ctx, r, "store");
        if ((r = cadu_extraction_new(ctx, argv[0], &x)) == 0 && (r = cadu_extraction_add_store(x, store)) == 0 &&
            (!seed || (r = cadu_extraction_add_seed(x, seed, NULL)) == 0))
                r = cadu_extraction_run(x, argv[2], 0);
        if (r == 0) {
                /* Every source in detail, and the plan. */
                for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
                        uint64_t v[4];
                        for (size_t k = 0; cadu_extraction_get_source_detail(x, sources[i].source, k, &v[0], &v[1],
                                                                             &v[2], &v[3]) == 0; k++)
                                if (v[0] || v[3])
                                        printf("source %s %zu %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                                               sources[i].name, k, v[0], v[1], v[2], v[3]);
                        CHECK(cadu_extraction_get_source(x, sources[i].source, &v[0], &v[1]), 0);
                        if (v[0])
                                printf("sum %s %" PRIu64 " %" PRIu64 "\n", sources[i].name, v[0], v[1]);
                }
                printf("downloaded %" PRIu64 "\n", cadu_extraction_downloaded(x));
                uint64_t w, total, requests;
                CHECK(cadu_extraction_get_source_detail(x, CADU_SOURCE_SEEDS, seed ? 1 : 0, NULL, NULL, NULL, NULL),
                      -ERANGE);
                CHECK(cadu_extraction_get(x, (cadu_extract_stat)99, &w), -EINVAL);
                CHECK(cadu_extraction_get(x, CADU_EXTRACT_STAT_BYTES_WRITTEN, &w), 0);
                CHECK(cadu_extraction_get(x, CADU_EXTRACT_STAT_PLAN_TOTAL_BYTES, &total), 0);
                CHECK(cadu_extraction_get(x, CADU_EXTRACT_STAT_PLAN_REQUESTS, &requests), 0);
                CHECK(cadu_store_get(store, CADU_STORE_STAT_REQUESTS, &requests), -EOPNOTSUPP);
                printf("written %" PRIu64 " plan %" PRIu64 " requests %" PRIu64 "\n", w, total, requests);
        } else {
                const char *msg = cadu_context_last_error(ctx);
                printf("errno %d\n", -r);
                fprintf(stderr, "libcadu-api: %s\n", msg ? msg : "(no message)");
        }
        cadu_extraction_free(x);
        cadu_store_close(store);
        return r < 0 ? 4 : 0;
}

static int cmd_plan(cadu_context *ctx, int argc, char **argv) {
        cadu_store *store = NULL;
        cadu_extraction *x = NULL;
        int r;
        if ((r = cadu_store_open_location(ctx, argv[1], 0, &store)) < 0)
                return fail(ctx, r, "store");
        if ((r = cadu_extraction_new(ctx, argv[0], &x)) < 0)
                return fail(ctx, r, "index");
        if ((r = cadu_extraction_add_store(x, store)) < 0 ||
            (argc == 3 && (r = cadu_extraction_add_seed(x, argv[2], NULL)) < 0))
                return fail(ctx, r, "extraction");
        CHECK(cadu_extraction_get_source(x, CADU_SOURCE_STORES, NULL, NULL), -ENODATA);
        if ((r = cadu_extraction_run(x, NULL, CADU_EXTRACT_DRY_RUN)) < 0)
                return fail(ctx, r, "dry run");
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
                uint64_t chunks, bytes;
                if ((r = cadu_extraction_get_source(x, sources[i].source, &chunks, &bytes)) < 0)
                        return fail(ctx, r, "statistics");
                if (chunks)
                        printf("%s %" PRIu64 " %" PRIu64 "\n", sources[i].name, chunks, bytes);
        }
        cadu_extraction_free(x);
        cadu_store_close(store);
        return 0;
}

static int cmd_limit(cadu_context *ctx, char **argv) {
        cadu_store *store = NULL;
        cadu_extraction *x = NULL;
        int r;
        if ((r = cadu_store_open_location(ctx, argv[1], 0, &store)) < 0)
                return fail(ctx, r, "store");
        if ((r = cadu_extraction_new(ctx, argv[0], &x)) < 0)
                return fail(ctx, r, "index");
        if ((r = cadu_extraction_add_store(x, store)) < 0 ||
            (r = cadu_extraction_set_max_download(x, strtoull(argv[3], NULL, 10))) < 0)
                return fail(ctx, r, "extraction");
        int ret = 0;
        if ((r = cadu_extraction_run(x, argv[2], 0)) < 0)
                ret = r == -EDQUOT ? 3 : 1, fail(ctx, r, "extract");
        else
                printf("downloaded %" PRIu64 "\n", cadu_extraction_downloaded(x));
        cadu_extraction_free(x);
        cadu_store_close(store);
        return ret;
}

static int cmd_errors(cadu_context *ctx, char **argv) {
        cadu_store *store = NULL, *web = NULL;
        cadu_maker *m = NULL;
        cadu_extraction *x = NULL;
        CHECK(cadu_context_new(NULL), -EINVAL);
        CHECK(cadu_context_set_threads(ctx, 257), -EINVAL);
        CHECK(cadu_context_set_threads(ctx, 2), 0);
        CHECK(cadu_context_set_store_option(ctx, "no-such-option", "1"), -ENOKEY);
        if (!cadu_context_last_error(ctx) || !strstr(cadu_context_last_error(ctx), "no-such-option"))
                return fprintf(stderr, "libcadu-api: no message for an unknown option\n"), 1;
        CHECK(cadu_context_set_store_option(ctx, "retries", "many"), -EINVAL);
        CHECK(cadu_context_set_store_option(ctx, "retries", "2"), 0);
        if (cadu_context_last_error(ctx))
                return fprintf(stderr, "libcadu-api: a success left an error\n"), 1;
        CHECK(cadu_store_open_location(ctx, "/nonexistent/store", 0, &store), -ENOENT);
        CHECK(cadu_store_open_location(ctx, argv[0], 4, &store), -EINVAL);
        CHECK(cadu_store_open_location(ctx, argv[0], 0, &store), 0);
        CHECK(cadu_store_open_location(ctx, "http://127.0.0.1:9/", 0, &web), 0);
        CHECK(cadu_maker_new(ctx, &m), 0);
        CHECK(cadu_maker_set_chunk_size(m, 64, 32, 128), -EINVAL);
        CHECK(cadu_maker_set_chunk_size(m, 16384, 65536, 262144), 0);
        CHECK(cadu_maker_set_digest(m, "md5"), -EINVAL);
        CHECK(cadu_maker_set_digest(m, "sha512-256"), 0);
        CHECK(cadu_maker_set_compression_level(m, 20), -EINVAL);
        CHECK(cadu_maker_run(m, "/nonexistent/image", store, "x.caibx"), -ENOENT);
        CHECK(cadu_maker_run(m, "/dev/null", web, "x.caibx"), -EROFS);
        CHECK(cadu_extraction_new(ctx, "/nonexistent/index.caibx", &x), -ENOENT);
        if (!x && n_logged < 3)
                return fprintf(stderr, "libcadu-api: %u errors logged, expected more\n", n_logged), 1;
        CHECK(cadu_extraction_run(NULL, "out", 0), -EINVAL);
        cadu_maker_free(m);
        cadu_store_close(web);
        cadu_store_close(store);
        /* NULL-safe releases. */
        cadu_maker_free(NULL);
        cadu_extraction_free(NULL);
        cadu_store_close(NULL);
        cadu_context_free(NULL);
        printf("ok\n");
        return 0;
}

int main(int argc, char **argv) {
        cadu_context *ctx = NULL;
        int r;
        if (argc < 3) {
                fprintf(stderr, "usage: libcadu-api make|release|extract|plan|limit|errors ARGS...\n");
                return 2;
        }
        if ((r = cadu_context_new(&ctx)) < 0)
                return 1;
        cadu_context_set_log(ctx, log_line, NULL);
        if (!strcmp(argv[1], "make") && (argc == 5 || argc == 8))
                r = cmd_make(ctx, argc - 2, argv + 2);
        else if (!strcmp(argv[1], "plan") && (argc == 4 || argc == 5))
                r = cmd_plan(ctx, argc - 2, argv + 2);
        else if (!strcmp(argv[1], "release") && argc >= 5)
                r = cmd_release(ctx, argc - 2, argv + 2);
        else if (!strcmp(argv[1], "extract") && argc >= 5 && argc <= 7)
                r = cmd_extract(ctx, argc - 2, argv + 2);
        else if (!strcmp(argv[1], "limit") && argc == 6)
                r = cmd_limit(ctx, argv + 2);
        else if (!strcmp(argv[1], "errors") && argc == 3)
                r = cmd_errors(ctx, argv + 2);
        else {
                fprintf(stderr, "libcadu-api: bad arguments\n");
                r = 2;
        }
        cadu_context_free(ctx);
        return r;
}
