/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cadu extract: rebuild an image from an index, seeds, a cache and stores. */
#include <errno.h>
#include <getopt.h>

#include "cadu-index.h"
#include "cadu-store.h"
#include "cmd.h"
#include "cmd-crypt.h"
#include "extract.h"
#include "storeopts.h"

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

static void print_source_json(const char *name, const char *location, const cadu_source_stats *s,
                              cadu_store *store, bool *first) {
        cadu_store_http_stats hs;
        printf("%s{\"source\":\"%s\",\"location\":", *first ? "" : ",", name);
        cadu_json_string(stdout, location);
        printf(",\"chunks\":%llu,\"bytes\":%llu,\"raw_bytes\":%llu,\"rejected\":%llu",
               (unsigned long long)s->chunks, (unsigned long long)s->bytes, (unsigned long long)s->raw_bytes,
               (unsigned long long)s->rejected);
        if (store && cadu_store_http_get_stats(store, &hs) == 0)
                printf(",\"requests\":%llu,\"retries\":%llu,\"connections\":%llu,\"bytes_received\":%llu"
                       ",\"range_requests\":%llu,\"range_bytes\":%llu",
                       (unsigned long long)hs.requests, (unsigned long long)hs.retries,
                       (unsigned long long)hs.connections, (unsigned long long)hs.bytes_received,
                       (unsigned long long)hs.range_requests, (unsigned long long)hs.range_bytes);
        putchar('}');
        *first = false;
}

static void print_source(const char *name, const char *location, const cadu_source_stats *s, cadu_store *store) {
        char a[32], b[32];
        cadu_store_http_stats hs;
        if (!s->chunks && !s->rejected)
                return;
        fprintf(stderr, "  %-9s %-40s %8llu chunks %12s", name, location ? location : "",
                (unsigned long long)s->chunks, cadu_format_bytes(s->bytes, a));
        if (s->raw_bytes)
                fprintf(stderr, " (%s transferred)", cadu_format_bytes(s->raw_bytes, b));
        if (s->rejected)
                fprintf(stderr, ", %llu rejected", (unsigned long long)s->rejected);
        if (store && cadu_store_http_get_stats(store, &hs) == 0) {
                fprintf(stderr, ", %llu requests (%llu retries) on %llu connections", (unsigned long long)hs.requests,
                        (unsigned long long)hs.retries, (unsigned long long)hs.connections);
                if (hs.range_requests)
                        fprintf(stderr, ", %llu of them for ranges", (unsigned long long)hs.range_requests);
        }
        fputc('\n', stderr);
}

void cadu_print_extract_plan(const cadu_extract_plan *p) {
        if (cadu_json) {
                printf("{\"pack_index\":%s,\"index_bytes\":%llu,\"pack_chunks\":%llu,\"pack_bytes\":%llu,"
                       "\"delta_chunks\":%llu,\"delta_bytes\":%llu,\"range_requests\":%llu,\"file_chunks\":%llu,"
                       "\"file_bytes\":%llu,\"files_bound\":%s,\"total_bytes\":%llu,\"requests\":%llu}",
                       p->pack_index ? "true" : "false", (unsigned long long)p->index_bytes,
                       (unsigned long long)p->pack_chunks, (unsigned long long)p->pack_bytes,
                       (unsigned long long)p->delta_chunks, (unsigned long long)p->delta_bytes,
                       (unsigned long long)p->range_requests, (unsigned long long)p->file_chunks,
                       (unsigned long long)p->file_bytes, p->files_bound ? "true" : "false",
                       (unsigned long long)p->total_bytes, (unsigned long long)p->requests);
                return;
        }
        char a[32], b[32], c[32], d[32], e[32];
        fprintf(stderr, "  download: %s%s in %llu requests", p->files_bound ? "at most " : "",
                cadu_format_bytes(p->total_bytes, a), (unsigned long long)p->requests);
        if (p->pack_index)
                fprintf(stderr, ": pack index %s, %llu chunks as %s and %llu deltas as %s in %llu range requests, ",
                        cadu_format_bytes(p->index_bytes, b), (unsigned long long)p->pack_chunks,
                        cadu_format_bytes(p->pack_bytes, c), (unsigned long long)p->delta_chunks,
                        cadu_format_bytes(p->delta_bytes, d), (unsigned long long)p->range_requests);
        else
                fputs(": ", stderr);
        fprintf(stderr, "%llu per-chunk files (%s%s)\n", (unsigned long long)p->file_chunks,
                p->files_bound ? "at most " : "", cadu_format_bytes(p->file_bytes, e));
}

void cadu_print_extract_stats(const char *command, const cadu_extract_opts *o, const cadu_extract_stats *st) {
        if (cadu_json) {
                bool first = true;
                printf("{\"event\":\"done\",\"command\":\"%s\",\"bytes\":%llu,\"chunks\":%llu,\"bytes_written\":%llu,"
                       "\"bytes_copied\":%llu,\"bytes_cloned\":%llu,\"seconds\":%.3f,\"sources\":[",
                       command, (unsigned long long)st->total_bytes, (unsigned long long)st->total_chunks,
                       (unsigned long long)st->bytes_written, (unsigned long long)st->bytes_copied,
                       (unsigned long long)st->bytes_cloned, st->seconds);
                print_source_json("in-place", o->out_path ? o->out_path : "", &st->in_place, NULL, &first);
                print_source_json("zero", "", &st->zero, NULL, &first);
                print_source_json("duplicate", "", &st->duplicate, NULL, &first);
                for (size_t k = 0; k < o->nseeds; k++)
                        print_source_json("seed", o->seeds[k].path, &st->seeds[k], NULL, &first);
                if (o->cache)
                        print_source_json("cache", o->cache->location, &st->cache, NULL, &first);
                for (size_t k = 0; k < o->nstores; k++)
                        print_source_json("store", o->stores[k]->location, &st->stores[k], o->stores[k], &first);
                print_source_json("pack", "", &st->packed, NULL, &first);
                print_source_json("delta", "", &st->deltas, NULL, &first);
                printf("],\"downloaded\":%llu,\"plan\":", (unsigned long long)st->downloaded);
                cadu_print_extract_plan(&st->plan);
                printf("}\n");
                return;
        }
        if (cadu_quiet)
                return;
        char a[32];
        fprintf(stderr, "%s: %s in %llu chunks, %.2f s\n", o->out_path ? o->out_path : "plan",
                cadu_format_bytes(st->total_bytes, a), (unsigned long long)st->total_chunks, st->seconds);
        print_source("in place", o->out_path, &st->in_place, NULL);
        print_source("zeros", NULL, &st->zero, NULL);
        print_source("repeats", NULL, &st->duplicate, NULL);
        for (size_t k = 0; k < o->nseeds; k++)
                print_source("seed", o->seeds[k].path, &st->seeds[k], NULL);
        if (o->cache)
                print_source("cache", o->cache->location, &st->cache, NULL);
        for (size_t k = 0; k < o->nstores; k++)
                print_source("store", o->stores[k]->location, &st->stores[k], o->stores[k]);
        print_source("packs", NULL, &st->packed, NULL);
        print_source("deltas", NULL, &st->deltas, NULL);
        if (st->plan.requests)
                cadu_print_extract_plan(&st->plan);
}

int cadu_cmd_extract(int argc, char **argv) {
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
        _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
        _cleanup_free_ const char **store_locs = calloc((size_t)argc, sizeof(char *));
        _cleanup_free_ cadu_seed *seeds = calloc((size_t)argc, sizeof(cadu_seed));
        size_t nstores = 0, nseeds = 0;
        const char *cache_dir = NULL, *key_path = NULL;
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        bool in_place = false, encrypted = false;
        uint64_t threads = 0, max_download = 0;
        int c, r;

        if (!store_locs || !seeds)
                return cadu_error_errno(-ENOMEM, "extract");
        while ((c = getopt_long(argc, argv, "s:S:C:ij:K:h", options, NULL)) >= 0) {
                switch (c) {
                case 's': store_locs[nstores++] = optarg; break;
                case 'S': cadu_seed_parse(optarg, &seeds[nseeds++]); break;
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
                        if ((r = cadu_storeopts_parse(&so, "extract", c, optarg)) != 0)
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

        _cleanup_free_ char *default_store = NULL;
        if (nstores == 0 && !cadu_location_is_url(index_path)) {
                if (cadu_default_store(index_path, &default_store) < 0)
                        return cadu_error_errno(-ENOMEM, "extract");
                store_locs[nstores++] = default_store;
        }

        if (key_path && (r = cadu_cmd_load_key("--key-file", key_path, &key)) != 0)
                return r;
        cadu_index *idx = NULL;
        const char *why = NULL;
        cadu_buf ibuf = CADU_BUF_INIT;
        _cleanup_free_ char *fetch_err = NULL;
        uint8_t index_sha[CADU_DIGEST_SIZE];
        r = cadu_fetch(index_path, &so.opts, CADU_INDEX_FILE_MAX, &ibuf, &fetch_err);
        /* The index file as published names its pack index: for an
         * encrypted one, the sha256 of its ciphertext (doc/encryption.md). */
        if (r == 0)
                r = cadu_digest(CADU_DIGEST_SHA256, ibuf.data, ibuf.len, index_sha);
        if (r == 0 && (c = cadu_cmd_open_index(index_path, key_path ? &key : NULL, &ibuf, &encrypted)) != 0) {
                cadu_buf_free(&ibuf);
                return c;
        }
        if (r == 0)
                r = cadu_index_parse(ibuf.data, ibuf.len, &idx, &why);
        cadu_buf_free(&ibuf);
        if (r < 0) {
                if (why) {
                        cadu_error("index %s: %s", index_path, why);
                        return CADU_EXIT_VERIFY;
                }
                if (fetch_err)
                        cadu_error("cannot read index %s: %s", index_path, fetch_err);
                else
                        cadu_error_errno(r, "cannot read index %s", index_path);
                return cadu_storeopts_exit_code(r);
        }

        int ret = CADU_EXIT_OK;
        _cleanup_free_ char *msg = NULL;
        cadu_store *cache = NULL, **stores = calloc(nstores + 1, sizeof(cadu_store *));
        if (!stores) {
                ret = cadu_error_errno(-ENOMEM, "extract");
                goto out;
        }
        for (size_t i = 0; i < nstores; i++) {
                r = cadu_store_open(store_locs[i], &so.opts, false, &stores[i]);
                if (r == 0 && encrypted)
                        r = cadu_cmd_wrap_store(&stores[i], &key);
                if (r < 0) {
                        cadu_error_errno(r, "cannot open store %s", store_locs[i]);
                        ret = cadu_storeopts_exit_code(r);
                        goto out;
                }
        }
        if (cache_dir && (r = cadu_store_open_dir(cache_dir, true, &cache)) < 0) {
                ret = cadu_error_errno(r, "cannot open cache %s", cache_dir);
                goto out;
        }

        cadu_extract_progress prog;
        cadu_extract_opts o = {
                .index = idx,
                .seeds = seeds,
                .nseeds = nseeds,
                .cache = cache,
                .stores = stores,
                .nstores = nstores,
                .out_path = out,
                .in_place = in_place,
                .threads = (unsigned)threads,
                .index_sha = index_sha,
                .max_download = max_download,
                .progress = cadu_extract_progress_out,
                .seed_progress = cadu_extract_progress_seed,
                .userdata = &prog,
        };
        cadu_extract_stats st;
        cadu_extract_progress_begin(&prog, "extract", cadu_index_size(idx));
        r = cadu_extract(&o, &st, &msg);
        cadu_extract_progress_end(&prog);
        if (r == -EDQUOT)
                cadu_error("extracting %s: %s", index_path, msg ? msg : "over the download limit");
        else if (r < 0)
                cadu_error_errno(r, "extracting %s: %s", index_path, msg ? msg : "failed");
        if (r < 0) {
                ret = r == -EFBIG ? CADU_EXIT_VERIFY : r == -EDQUOT ? CADU_EXIT_REFUSED : cadu_storeopts_exit_code(r);
        }
        else
                cadu_print_extract_stats("extract", &o, &st);
        cadu_extract_stats_free(&st);
out:
        for (size_t i = 0; stores && i < nstores; i++)
                cadu_store_free(stores[i]);
        free(stores);
        cadu_store_free(cache);
        cadu_index_free(idx);
        cadu_chunk_codec_release();
        return ret;
}
