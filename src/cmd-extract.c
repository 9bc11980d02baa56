/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu extract: rebuild an image from an index, seeds, a cache and stores,
 * through libcadu's public API (cadu_extraction); this file parses the
 * options and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cadu-util.h"
#include "cadu/cadu.h"
#include "cmd.h"
#include "storeopts.h"          /* the store options' command-line table and exit codes */

static const char extract_help[] =
        "Usage: cadu extract [OPTIONS] INDEX OUT\n\n"
        "INDEX is a path or an http(s) URL.\n"
        "Rebuild the image described by INDEX into OUT (a file or a block device),\n"
        "taking chunks from what is at hand first and fetching only the rest.\n"
        "Every chunk is verified against its id before it is written; a regular\n"
        "file appears under OUT only when complete.\n\n"
        "Options:\n"
        "  -s, --store STORE       chunk store: directory or http(s) URL; repeat for a\n"
        "                          failover chain tried in order (default: default.castr\n"
        "                          beside INDEX)\n"
        "  -S, --seed FILE[:INDEX] a file or block device holding similar data; with\n"
        "                          :INDEX its saved index, so it need not be chunked\n"
        "                          (repeatable; tried in order)\n"
        "  -C, --cache DIR         local store consulted first and filled with what\n"
        "                          was fetched\n"
        "  -i, --in-place          OUT exists: reuse its content, rewrite only chunks\n"
        "                          that differ (resumes an interrupted extract; always\n"
        "                          the case for block devices)\n"
        "  -j, --threads N         worker threads (default: CPUs, +8 for network stores)\n"
        "  -K, --key-file FILE     the store key of an encrypted index and its stores\n"
        "                          (doc/encryption.md)\n"
        "      --max-download BYTES  refuse, before writing anything, when the chunks\n"
        "                          to fetch (pack index included) need more (K/M/G)\n"
        "  -q, --quiet             no progress and no summary\n"
        "      --json              progress and statistics as JSON lines on stdout\n"
        "  -h, --help              show this help\n\n"
        "Network store options:\n";

/* FILE[:INDEX], as --seed takes it: the part after the last ':' is the
 * seed's index when such a regular file exists. */
static void parse_seed(char *arg, const char **path, const char **index_path) {
        char *colon = strrchr(arg, ':');
        struct stat st;
        *path = arg;
        *index_path = NULL;
        if (colon && colon[1] && stat(colon + 1, &st) == 0 && S_ISREG(st.st_mode)) {
                *colon = 0;
                *index_path = colon + 1;
        }
}

/* The exit code of a failed extraction step. */
static int exit_code(int r) {
        switch (-r) {
        case EFBIG: return CADU_EXIT_VERIFY;
        case EDQUOT: return CADU_EXIT_REFUSED;
        default: return cadu_storeopts_exit_code(r);
        }
}

static void fill_source(cadu_cmd_source *c, const cadu_extraction *x, cadu_source source, size_t i,
                        const char *json_name, const char *text_name, const char *location, cadu_store *store) {
        *c = (cadu_cmd_source){ .json_name = json_name, .text_name = text_name, .location = location };
        cadu_extraction_get_source_detail(x, source, i, &c->chunks, &c->bytes, &c->raw_bytes, &c->rejected);
        if (store && cadu_store_get(store, CADU_STORE_STAT_REQUESTS, &c->requests) == 0) {
                c->http = true;
                cadu_store_get(store, CADU_STORE_STAT_RETRIES, &c->retries);
                cadu_store_get(store, CADU_STORE_STAT_CONNECTIONS, &c->connections);
                cadu_store_get(store, CADU_STORE_STAT_BYTES_RECEIVED, &c->bytes_received);
                cadu_store_get(store, CADU_STORE_STAT_RANGE_REQUESTS, &c->range_requests);
                cadu_store_get(store, CADU_STORE_STAT_RANGE_BYTES, &c->range_bytes);
        }
}

static uint64_t stat_of(const cadu_extraction *x, cadu_extract_stat which) {
        uint64_t v = 0;
        cadu_extraction_get(x, which, &v);
        return v;
}

static void print_report(const cadu_extraction *x, const char *out, const char *const *seed_paths, size_t nseeds,
                         const char *cache_dir, cadu_store *cache, const char *const *store_locs, cadu_store **stores,
                         size_t nstores) {
        _cleanup_free_ cadu_cmd_source *src = calloc(nseeds + nstores + 6, sizeof(*src));
        size_t n = 0;
        if (!src) {
                cadu_error_errno(-ENOMEM, "extract");
                return;
        }
        fill_source(&src[n++], x, CADU_SOURCE_IN_PLACE, 0, "in-place", "in place", out, NULL);
        fill_source(&src[n++], x, CADU_SOURCE_ZERO, 0, "zero", "zeros", NULL, NULL);
        fill_source(&src[n++], x, CADU_SOURCE_DUPLICATE, 0, "duplicate", "repeats", NULL, NULL);
        for (size_t k = 0; k < nseeds; k++)
                fill_source(&src[n++], x, CADU_SOURCE_SEEDS, k, "seed", "seed", seed_paths[k], NULL);
        if (cache)
                fill_source(&src[n++], x, CADU_SOURCE_CACHE, 0, "cache", "cache", cache_dir, NULL);
        for (size_t k = 0; k < nstores; k++)
                fill_source(&src[n++], x, CADU_SOURCE_STORES, k, "store", "store", store_locs[k], stores[k]);
        fill_source(&src[n++], x, CADU_SOURCE_PACKS, 0, "pack", "packs", NULL, NULL);
        fill_source(&src[n++], x, CADU_SOURCE_DELTAS, 0, "delta", "deltas", NULL, NULL);
        cadu_cmd_extract_report r = {
                .command = "extract",
                .out_path = out,
                .total_bytes = cadu_extraction_image_size(x),
                .total_chunks = cadu_extraction_chunk_count(x),
                .bytes_written = stat_of(x, CADU_EXTRACT_STAT_BYTES_WRITTEN),
                .bytes_copied = stat_of(x, CADU_EXTRACT_STAT_BYTES_COPIED),
                .bytes_cloned = stat_of(x, CADU_EXTRACT_STAT_BYTES_CLONED),
                .downloaded = cadu_extraction_downloaded(x),
                .seconds = (double)stat_of(x, CADU_EXTRACT_STAT_NSEC) / 1e9,
                .sources = src,
                .nsources = n,
                .plan = {
                        .pack_index = stat_of(x, CADU_EXTRACT_STAT_PLAN_PACK_INDEX),
                        .index_bytes = stat_of(x, CADU_EXTRACT_STAT_PLAN_INDEX_BYTES),
                        .pack_chunks = stat_of(x, CADU_EXTRACT_STAT_PLAN_PACK_CHUNKS),
                        .pack_bytes = stat_of(x, CADU_EXTRACT_STAT_PLAN_PACK_BYTES),
                        .delta_chunks = stat_of(x, CADU_EXTRACT_STAT_PLAN_DELTA_CHUNKS),
                        .delta_bytes = stat_of(x, CADU_EXTRACT_STAT_PLAN_DELTA_BYTES),
                        .range_requests = stat_of(x, CADU_EXTRACT_STAT_PLAN_RANGE_REQUESTS),
                        .file_chunks = stat_of(x, CADU_EXTRACT_STAT_PLAN_FILE_CHUNKS),
                        .file_bytes = stat_of(x, CADU_EXTRACT_STAT_PLAN_FILE_BYTES),
                        .files_bound = stat_of(x, CADU_EXTRACT_STAT_PLAN_FILES_BOUND),
                        .total_bytes = stat_of(x, CADU_EXTRACT_STAT_PLAN_TOTAL_BYTES),
                        .requests = stat_of(x, CADU_EXTRACT_STAT_PLAN_REQUESTS),
                },
        };
        cadu_print_extract_report(&r);
}

/* The index could not be read or opened: its one line and exit code. */
static int index_error(cadu_context *ctx, int r, const char *index_path) {
        const char *msg = cadu_context_last_error(ctx);
        if (!msg)
                return cadu_error_errno(r, "cannot read index %s", index_path);
        switch (-r) {
        case ENOKEY:
                cadu_error("%s (--key-file)", msg);
                return CADU_EXIT_USAGE;
        case EKEYREJECTED:
                cadu_error("%s", msg);
                return CADU_EXIT_REFUSED;
        case EINVAL:            /* a plain index given a key */
                cadu_error("%s", msg);
                return CADU_EXIT_USAGE;
        default:
                cadu_error("%s", msg);
                return cadu_storeopts_exit_code(r);
        }
}

static int extract(cadu_context *ctx, int argc, char **argv) {
        static const struct option options[] = {
                { "store", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "cache", required_argument, NULL, 'C' },
                { "in-place", no_argument, NULL, 'i' },
                { "threads", required_argument, NULL, 'j' },
                { "key-file", required_argument, NULL, 'K' },
                { "max-download", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        _cleanup_free_ const char **store_locs = calloc((size_t)argc, sizeof(char *));
        _cleanup_free_ const char **seed_paths = calloc((size_t)argc, sizeof(char *));
        _cleanup_free_ const char **seed_indexes = calloc((size_t)argc, sizeof(char *));
        size_t nstores = 0, nseeds = 0;
        const char *cache_dir = NULL, *key_path = NULL;
        bool in_place = false;
        uint64_t threads = 0, max_download = 0;
        int c, r;

        if (!store_locs || !seed_paths || !seed_indexes)
                return cadu_error_errno(-ENOMEM, "extract");
        while ((c = getopt_long(argc, argv, "s:S:C:ij:K:h", options, NULL)) >= 0) {
                switch (c) {
                case 's': store_locs[nstores++] = optarg; break;
                case 'S':
                        parse_seed(optarg, &seed_paths[nseeds], &seed_indexes[nseeds]);
                        nseeds++;
                        break;
                case 'C': cache_dir = optarg; break;
                case 'i': in_place = true; break;
                case 'K': key_path = optarg; break;
                case 'M':
                        if (cadu_parse_size(optarg, &max_download) < 0 || !max_download)
                                return cadu_usage_error("extract", "invalid --max-download '%s'", optarg);
                        break;
                case 'j':
                        if (cadu_parse_uint(optarg, 1, 256, &threads) < 0)
                                return cadu_usage_error("extract", "invalid --threads '%s' (1..256)", optarg);
                        break;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        if ((r = cadu_cmd_storeopt(ctx, "extract", c, optarg)) != 0)
                                return r;
                        break;
                case 'h':
                        fputs(extract_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("extract", "invalid option");
                }
        }
        if (argc - optind != 2)
                return cadu_usage_error("extract", "expected INDEX and OUT");
        const char *index_path = argv[optind], *out = argv[optind + 1];
        bool url = !strncmp(index_path, "http://", 7) || !strncmp(index_path, "https://", 8);

        _cleanup_free_ char *default_store = NULL;
        if (nstores == 0 && !url) {
                if (cadu_default_store(index_path, &default_store) < 0)
                        return cadu_error_errno(-ENOMEM, "extract");
                store_locs[nstores++] = default_store;
        }

        if (key_path && (r = cadu_cmd_set_key_file(ctx, "--key-file", key_path)) != 0)
                return r;
        cadu_extraction *x = NULL;
        if ((r = cadu_extraction_new(ctx, index_path, &x)) < 0)
                return index_error(ctx, r, index_path);

        int ret = CADU_EXIT_OK;
        cadu_store *cache = NULL, **stores = calloc(nstores + 1, sizeof(cadu_store *));
        if (!stores) {
                ret = cadu_error_errno(-ENOMEM, "extract");
                goto out;
        }
        /* The stores under the key (of an encrypted index); the cache as
         * it is: it holds plain chunk files. */
        for (size_t i = 0; i < nstores; i++) {
                r = cadu_store_open_location(ctx, store_locs[i], 0, &stores[i]);
                if (r == 0)
                        r = cadu_extraction_add_store(x, stores[i]);
                if (r < 0) {
                        cadu_error_lib(ctx, r, "cannot open store");
                        ret = cadu_storeopts_exit_code(r);
                        goto out;
                }
        }
        if (key_path)
                cadu_context_set_key_file(ctx, NULL);
        if (cache_dir && ((r = cadu_store_open_location(ctx, cache_dir, CADU_STORE_CREATE, &cache)) < 0 ||
                          (r = cadu_extraction_set_cache(x, cache)) < 0)) {
                ret = cadu_error_errno(r, "cannot open cache %s", cache_dir);
                goto out;
        }
        for (size_t i = 0; i < nseeds; i++)
                if ((r = cadu_extraction_add_seed(x, seed_paths[i], seed_indexes[i])) < 0) {
                        ret = cadu_error_errno(r, "extract");
                        goto out;
                }
        if ((r = cadu_context_set_threads(ctx, (unsigned)threads)) < 0 ||
            (r = cadu_extraction_set_max_download(x, max_download)) < 0) {
                ret = cadu_error_errno(r, "extract");
                goto out;
        }

        cadu_cmd_progress prog = { .open = false };
        cadu_context_set_progress(ctx, cadu_cmd_progress_fn, &prog);
        r = cadu_extraction_run(x, out, in_place ? CADU_EXTRACT_IN_PLACE : 0);
        cadu_cmd_progress_end(&prog);
        if (r < 0) {
                cadu_error_lib(ctx, r, "extracting");
                ret = exit_code(r);
        } else
                print_report(x, out, seed_paths, nseeds, cache_dir, cache, store_locs, stores, nstores);
out:
        cadu_extraction_free(x);
        for (size_t i = 0; stores && i < nstores; i++)
                cadu_store_close(stores[i]);
        free(stores);
        cadu_store_close(cache);
        return ret;
}

int cadu_cmd_extract(int argc, char **argv) {
        cadu_context *ctx = NULL;
        int r = cadu_context_new(&ctx);
        if (r < 0)
                return cadu_error_errno(r, "extract");
        cadu_context_set_log(ctx, cadu_cmd_log, NULL);
        int ret = extract(ctx, argc, argv);
        cadu_context_free(ctx);
        return ret;
}
