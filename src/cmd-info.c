/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-info.c - cadu info: what an index costs a device, and what a store holds for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <dirent.h>
#include <stdatomic.h>
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
#include "survey.h"
#include "cmd-storeops.h"

static const char info_help[] =
        "Usage: cadu info [OPTIONS] INDEX...\n\n"
        "Describe the images behind the indexes: chunk count, chunk size\n"
        "distribution, deduplication within each index and across all of them.\n"
        "With --store: which of their chunks the store holds, their compressed\n"
        "size, and which chunks it lacks. With --seed: what an update to each index\n"
        "would cost a device holding those seeds - the chunks and bytes still to\n"
        "fetch (compressed too, with a store). Nothing is written.\n\n"
        "Options:\n"
        "  -s, --store STORE       chunk store to look into: directory or http(s) URL\n"
        "  -S, --seed FILE[:INDEX] a file or block device the device already has;\n"
        "                          with :INDEX its saved index (repeatable)\n"
        "      --download          on an http(s) store, download the chunks to learn\n"
        "                          their compressed size (default: presence only)\n"
        "  -j, --threads N         worker threads (default: CPUs, +8 for a network store)\n"
        "  -K, --key-file FILE     the store key of encrypted indexes and their store\n"
        "                          (without it: chunk count, sizes and key id only;\n"
        "                          doc/encryption.md)\n"
        "      --key-envelope FILE the store key from a manifest's key envelope\n"
        "                          (OUT.keys), unwrapped with:\n"
        "      --recipient-cert CERT  a recipient's certificate (PEM)\n"
        "      --recipient-key KEY    and its private key (PEM)\n"
        "  -q, --quiet             no progress\n"
        "      --json              the report as one JSON object on stdout\n"
        "  -h, --help              show this help\n\n";

typedef struct index_info {
        uint64_t bytes, chunks, distinct, distinct_bytes;
        cadu_size_dist sizes;
        bool planned;
        cadu_extract_stats st;
        uint64_t fetch_chunks, fetch_bytes, fetch_raw, fetch_absent, fetch_absent_bytes;
} index_info;

/* A store that has nothing and notes every chunk asked of it: given to a
 * dry-run extract, it learns exactly which chunks no seed provides. */
typedef struct plan_store {
        cadu_store base;
        pthread_mutex_t lock;
        uint8_t (*ids)[CADU_DIGEST_SIZE];
        size_t n, alloc;
} plan_store;

static int plan_get(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out) {
        plan_store *p = (plan_store *)s;
        int r = -ENOENT;
        pthread_mutex_lock(&p->lock);
        if (CADU_ARRAY_GROW(p->ids, p->alloc, p->n, 256) < 0)
                r = -ENOMEM;
        if (r == -ENOENT)
                memcpy(p->ids[p->n++], id, CADU_DIGEST_SIZE);
        pthread_mutex_unlock(&p->lock);
        return r;
}

static int plan_has(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        return 0;
}

static void plan_free(cadu_store *s) {
}

static const cadu_store_ops plan_ops = {
        .version = 1,
        .kind = "plan",
        .get = plan_get,
        .has = plan_has,
        .free = plan_free,
};

static void json_dist(const cadu_size_dist *d) {
        printf("{\"min\":%llu,\"p10\":%llu,\"p50\":%llu,\"avg\":%.1f,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}",
               (unsigned long long)d->min, (unsigned long long)d->p10, (unsigned long long)d->p50, d->avg,
               (unsigned long long)d->p90, (unsigned long long)d->p99, (unsigned long long)d->max);
}

static void json_count(const char *name, uint64_t chunks, uint64_t bytes) {
        printf("\"%s\":{\"chunks\":%llu,\"bytes\":%llu}", name, (unsigned long long)chunks, (unsigned long long)bytes);
}

static void print_info_json(const index_list *l, const index_info *ii, const cadu_seed *seeds, size_t nseeds,
                            const cadu_chunk_set *all, uint64_t total_bytes, uint64_t total_chunks,
                            uint64_t all_bytes, const cadu_store *store, bool sizes_known) {
        char hex[HEX_SIZE];
        printf("{\"event\":\"done\",\"command\":\"info\",\"indexes\":[");
        for (size_t i = 0; i < l->n; i++) {
                const cadu_index *idx = l->idx[i];
                const index_info *x = &ii[i];
                printf("%s{\"path\":", i ? "," : "");
                cadu_json_string(stdout, l->paths[i]);
                printf(",\"digest\":\"%s\",\"chunk_size_min\":%llu,\"chunk_size_avg\":%llu,\"chunk_size_max\":%llu,"
                       "\"bytes\":%llu,\"chunks\":%llu,\"distinct_chunks\":%llu,\"distinct_bytes\":%llu,"
                       "\"dedup_ratio\":%.4f,\"sizes\":",
                       cadu_digest_name(idx->digest), (unsigned long long)idx->min, (unsigned long long)idx->avg,
                       (unsigned long long)idx->max, (unsigned long long)x->bytes, (unsigned long long)x->chunks,
                       (unsigned long long)x->distinct, (unsigned long long)x->distinct_bytes,
                       ratio(x->bytes, x->distinct_bytes));
                json_dist(&x->sizes);
                if (x->planned) {
                        printf(",\"update\":{\"seeds\":[");
                        for (size_t k = 0; k < nseeds; k++) {
                                printf("%s{\"path\":", k ? "," : "");
                                cadu_json_string(stdout, seeds[k].path);
                                printf(",\"index\":");
                                if (seeds[k].index_path)
                                        cadu_json_string(stdout, seeds[k].index_path);
                                else
                                        printf("null");
                                printf(",\"chunks\":%llu,\"bytes\":%llu}", (unsigned long long)x->st.seeds[k].chunks,
                                       (unsigned long long)x->st.seeds[k].bytes);
                        }
                        printf("],");
                        json_count("zero", x->st.zero.chunks, x->st.zero.bytes);
                        printf(",");
                        json_count("duplicate", x->st.duplicate.chunks, x->st.duplicate.bytes);
                        printf(",\"fetch\":{\"chunks\":%llu,\"bytes\":%llu,\"compressed_bytes\":",
                               (unsigned long long)x->fetch_chunks, (unsigned long long)x->fetch_bytes);
                        if (store && sizes_known)
                                printf("%llu", (unsigned long long)x->fetch_raw);
                        else
                                printf("null");
                        if (store)
                                printf(",\"missing_from_store\":{\"chunks\":%llu,\"bytes\":%llu}",
                                       (unsigned long long)x->fetch_absent, (unsigned long long)x->fetch_absent_bytes);
                        printf("}}");
                }
                printf("}");
        }
        printf("],\"total\":{\"indexes\":%zu,\"bytes\":%llu,\"chunks\":%llu,\"distinct_chunks\":%zu,"
               "\"distinct_bytes\":%llu,\"dedup_ratio\":%.4f}",
               l->n, (unsigned long long)total_bytes, (unsigned long long)total_chunks, all->n,
               (unsigned long long)all_bytes, ratio(total_bytes, all_bytes));
        if (store) {
                cadu_survey_tally t = cadu_survey_tally_of(all);
                printf(",\"store\":{\"location\":");
                cadu_json_string(stdout, store->location);
                printf(",\"present_chunks\":%llu,\"present_bytes\":%llu,\"compressed_bytes\":",
                       (unsigned long long)t.present, (unsigned long long)t.present_bytes);
                if (sizes_known)
                        printf("%llu", (unsigned long long)t.raw);
                else
                        printf("null");
                printf(",\"missing_chunks\":%llu,\"missing_bytes\":%llu,\"missing\":[", (unsigned long long)t.missing,
                       (unsigned long long)t.missing_bytes);
                bool first = true;
                for (size_t i = 0; i < all->n; i++)
                        if (all->entries[i].state != CHUNK_PRESENT) {
                                printf("%s\"%s\"", first ? "" : ",", hexid(all->entries[i].id, hex));
                                first = false;
                        }
                printf("]}");
        }
        printf("}\n");
}

static void print_info_text(const index_list *l, const index_info *ii, const cadu_seed *seeds, size_t nseeds,
                            const cadu_chunk_set *all, uint64_t total_bytes, uint64_t total_chunks,
                            uint64_t all_bytes, const cadu_store *store, bool sizes_known) {
        char a[32], b[32], hex[HEX_SIZE];
        for (size_t i = 0; i < l->n; i++) {
                const cadu_index *idx = l->idx[i];
                const index_info *x = &ii[i];
                printf("%s: %s (%llu bytes) in %llu chunks, %llu distinct (%s, dedup %.2fx)\n", l->paths[i],
                       cadu_format_bytes(x->bytes, a), (unsigned long long)x->bytes, (unsigned long long)x->chunks,
                       (unsigned long long)x->distinct, cadu_format_bytes(x->distinct_bytes, b),
                       ratio(x->bytes, x->distinct_bytes));
                printf("  %s, chunker %llu:%llu:%llu\n", cadu_digest_name(idx->digest), (unsigned long long)idx->min,
                       (unsigned long long)idx->avg, (unsigned long long)idx->max);
                if (x->chunks)
                        printf("  chunk sizes: min %llu, p10 %llu, median %llu, avg %.0f, p90 %llu, p99 %llu, max %llu\n",
                               (unsigned long long)x->sizes.min, (unsigned long long)x->sizes.p10,
                               (unsigned long long)x->sizes.p50, x->sizes.avg, (unsigned long long)x->sizes.p90,
                               (unsigned long long)x->sizes.p99, (unsigned long long)x->sizes.max);
                if (!x->planned)
                        continue;
                printf("  update with %zu seed%s: fetch %llu chunks, %s (%llu bytes)", nseeds, nseeds == 1 ? "" : "s",
                       (unsigned long long)x->fetch_chunks, cadu_format_bytes(x->fetch_bytes, a),
                       (unsigned long long)x->fetch_bytes);
                if (store && sizes_known)
                        printf(", %s (%llu bytes) compressed", cadu_format_bytes(x->fetch_raw, b),
                               (unsigned long long)x->fetch_raw);
                printf("\n");
                for (size_t k = 0; k < nseeds; k++)
                        printf("    from seed %s: %llu chunks, %s\n", seeds[k].path,
                               (unsigned long long)x->st.seeds[k].chunks, cadu_format_bytes(x->st.seeds[k].bytes, a));
                if (x->st.zero.chunks)
                        printf("    zeros: %llu chunks, %s\n", (unsigned long long)x->st.zero.chunks,
                               cadu_format_bytes(x->st.zero.bytes, a));
                if (x->st.duplicate.chunks)
                        printf("    repeats within the image: %llu chunks, %s\n",
                               (unsigned long long)x->st.duplicate.chunks, cadu_format_bytes(x->st.duplicate.bytes, a));
                if (store && x->fetch_absent)
                        printf("    %llu of the chunks to fetch (%s) are missing from the store\n",
                               (unsigned long long)x->fetch_absent, cadu_format_bytes(x->fetch_absent_bytes, a));
        }
        if (l->n > 1)
                printf("all %zu indexes: %s in %llu chunks, %zu distinct (%s, dedup %.2fx)\n", l->n,
                       cadu_format_bytes(total_bytes, a), (unsigned long long)total_chunks, all->n,
                       cadu_format_bytes(all_bytes, b), ratio(total_bytes, all_bytes));
        if (!store)
                return;
        cadu_survey_tally t = cadu_survey_tally_of(all);
        printf("store %s: %llu of %zu distinct chunks present", store->location, (unsigned long long)t.present, all->n);
        if (sizes_known)
                printf(", %s (%llu bytes) compressed from %s (%.1f%%)", cadu_format_bytes(t.raw, a),
                       (unsigned long long)t.raw, cadu_format_bytes(t.present_bytes, b),
                       t.present_bytes ? 100.0 * (double)t.raw / (double)t.present_bytes : 0.0);
        else
                printf(" (compressed sizes: use --download)");
        printf("\n");
        if (t.missing) {
                printf("  missing %llu chunks (%s):\n", (unsigned long long)t.missing, cadu_format_bytes(t.missing_bytes, a));
                for (size_t i = 0; i < all->n; i++)
                        if (all->entries[i].state != CHUNK_PRESENT)
                                printf("    %s\n", hexid(all->entries[i].id, hex));
        }
}

/* An encrypted index without the key: its size, chunk count, keyed names
 * and key id, and how many of its chunk files the store has. -ENOENT when
 * path is no encrypted index (the usual path reads it), 0 when described,
 * else an exit code after the error. */
static int info_encrypted(const char *path, const char *store_loc, const cadu_storeopts *so) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        char kid[2 * CADU_CRYPT_KEY_ID_SIZE + 1], a[32];
        const uint8_t *names;
        size_t len, n;
        int r = cadu_read_file(path, (size_t)2 << 30, &buf, &len);
        if (r < 0 || !cadu_crypt_index_is(buf, len))
                return -ENOENT;         /* read (and reported) as usual */
        if (cadu_crypt_index_header(buf, len, key_id, &names, &n) < 0) {
                cadu_error("index %s: encrypted index header is malformed", path);
                return CADU_EXIT_VERIFY;
        }
        /* The plaintext .caibx: header, table head, 40 bytes a chunk, tail. */
        uint64_t plain = len - CADU_CRYPT_INDEX_FIXED - n * CADU_CRYPT_NAME_SIZE - CADU_CRYPT_NONCE_SIZE -
                         CADU_CRYPT_TAG_SIZE;
        uint64_t fixed = CADU_CAIBX_HEADER_SIZE + 16 + 40;
        uint64_t chunks = plain >= fixed ? (plain - fixed) / CADU_CAIBX_ITEM_SIZE : 0;
        cadu_crypt_key_id_hex(key_id, kid);
        long long present = -1;
        if (store_loc) {
                cadu_store *s = NULL;
                if ((r = cadu_store_open(store_loc, &so->opts, false, &s)) < 0)
                        return cadu_error_errno(r, "cannot open store %s", store_loc);
                present = 0;
                for (size_t i = 0; i < n && r >= 0; i++)
                        if ((r = s->ops->has(s, names + i * CADU_CRYPT_NAME_SIZE)) > 0)
                                present++;
                cadu_store_free(s);
                if (r < 0)
                        return cadu_error_errno(r, "store %s", store_loc);
        }
        if (cadu_json) {
                printf("{\"event\":\"encrypted-index\",\"path\":");
                cadu_json_string(stdout, path);
                printf(",\"key_id\":\"%s\",\"index_bytes\":%zu,\"chunks\":%llu,\"distinct_chunk_files\":%zu", kid,
                       len, (unsigned long long)chunks, n);
                if (present >= 0)
                        printf(",\"present_in_store\":%lld", present);
                printf(",\"key_needed\":true}\n");
        } else {
                printf("%s: encrypted with key %s: %llu chunks, %zu distinct chunk files, index %s", path, kid,
                       (unsigned long long)chunks, n, cadu_format_bytes(len, a));
                if (present >= 0)
                        printf(", %lld of them in %s", present, store_loc);
                printf("\n%s: image size, chunk sizes, deduplication and update plans need the store key (--key-file)\n",
                       path);
        }
        return 0;
}

/* The store key wrapped in a key envelope (a manifest's OUT.keys) for the
 * certificate rcert, unwrapped with its private key rkey. 0 or an exit code
 * after the error. */
static int info_unwrap(const char *envelope, const char *rcert, const char *rkey, cadu_crypt_key *key) {
        _cleanup_free_ uint8_t *der = NULL, *text = NULL;
        _cleanup_free_ char *err = NULL;
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        size_t len = 0, tlen = 0;
        int r = cadu_read_file(envelope, (size_t)1 << 20, &der, &len);
        if (r < 0)
                return cadu_error_errno(r, "key envelope %s", envelope);
        r = cadu_envelope_check(der, len, &err);
        if (r == 0)
                r = cadu_envelope_unwrap(der, len, rcert, rkey, CADU_CRYPT_KEY_FILE_MAX, &text, &tlen, &err);
        if (r < 0) {
                cadu_error("key envelope %s: %s", envelope, err ? err : cadu_strerror(r));
                return r == -ENOKEY ? CADU_EXIT_REFUSED : r == -EINVAL ? CADU_EXIT_USAGE : CADU_EXIT_VERIFY;
        }
        r = cadu_crypt_key_parse(text, tlen, secret);
        OPENSSL_cleanse(text, tlen);
        if (r == 0)
                r = cadu_crypt_key_derive(secret, key);
        OPENSSL_cleanse(secret, sizeof(secret));
        if (r < 0) {
                cadu_error("key envelope %s: the wrapped content is not a store key", envelope);
                return CADU_EXIT_VERIFY;
        }
        return 0;
}

int cadu_cmd_info(int argc, char **argv) {
        enum { OPT_DOWNLOAD = 0x100, OPT_ENVELOPE, OPT_RCERT, OPT_RKEY };
        static const struct option options[] = {
                { "store", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "download", no_argument, NULL, OPT_DOWNLOAD },
                { "threads", required_argument, NULL, 'j' },
                { "key-file", required_argument, NULL, 'K' },
                { "key-envelope", required_argument, NULL, OPT_ENVELOPE },
                { "recipient-cert", required_argument, NULL, OPT_RCERT },
                { "recipient-key", required_argument, NULL, OPT_RKEY },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        const char *envelope = NULL, *rcert = NULL, *rkey = NULL;
        _cleanup_free_ cadu_seed *seeds = calloc((size_t)argc, sizeof(cadu_seed));
        _cleanup_free_ char **paths = calloc((size_t)argc + 1, sizeof(char *));
        const char *store_loc = NULL, *key_path = NULL;
        size_t nseeds = 0;
        bool download = false;
        unsigned threads = 0;
        int c, r;

        if (!seeds || !paths)
                return cadu_error_errno(-ENOMEM, "info");
        while ((c = getopt_long(argc, argv, "s:S:j:K:h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        if (store_loc)
                                return cadu_usage_error("info", "only one --store");
                        store_loc = optarg;
                        break;
                case 'S': cadu_seed_parse(optarg, &seeds[nseeds++]); break;
                case OPT_DOWNLOAD: download = true; break;
                case 'K': key_path = optarg; break;
                case OPT_ENVELOPE: envelope = optarg; break;
                case OPT_RCERT: rcert = optarg; break;
                case OPT_RKEY: rkey = optarg; break;
                case 'j':
                        if ((r = parse_threads("info", optarg, &threads)) != 0)
                                return r;
                        break;
                case 'h':
                        fputs(info_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        return CADU_EXIT_OK;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        if ((r = cadu_storeopts_parse(&so, "info", c, optarg)) != 0)
                                return r;
                        break;
                default:
                        return cadu_usage_error("info", "invalid option");
                }
        }
        if (optind >= argc)
                return cadu_usage_error("info", "expected at least one INDEX");
        if (envelope && (key_path || !rcert || !rkey))
                return cadu_usage_error("info", "--key-envelope needs --recipient-cert and --recipient-key, "
                                                "and not --key-file");
        if ((rcert || rkey) && !envelope)
                return cadu_usage_error("info", "--recipient-cert and --recipient-key go with --key-envelope");
        if (key_path && (r = cadu_cmd_load_key("--key-file", key_path, &key)) != 0)
                return r;
        if (envelope) {
                if ((r = info_unwrap(envelope, rcert, rkey, &key)) != 0)
                        return r;
                key_path = envelope;    /* a key is at hand */
        }
        /* Without the key, an encrypted index shows what its header and
         * size tell, and is left out of the rest. */
        size_t npaths = 0;
        for (int i = optind; i < argc; i++) {
                r = key_path ? -ENOENT : info_encrypted(argv[i], store_loc, &so);
                if (r == 0)
                        continue;
                if (r > 0)
                        return r;
                paths[npaths++] = argv[i];
        }
        if (!npaths)
                return CADU_EXIT_OK;

        index_list l = { 0 };
        cadu_chunk_set all = CADU_CHUNK_SET_INIT;
        index_info *ii = NULL;
        cadu_store *store = NULL;
        int ret = read_indexes_key(paths, npaths, &l, false, key_path ? &key : NULL);
        if (ret)
                goto out;
        if ((ret = add_indexes(&all, &l)))
                goto out;
        ii = calloc(l.n, sizeof(*ii));
        if (!ii) {
                ret = cadu_error_errno(-ENOMEM, "info");
                goto out;
        }
        uint64_t total_bytes = 0, total_chunks = 0, all_bytes = 0;
        for (size_t i = 0; i < l.n; i++) {
                cadu_index_desc d;
                if ((r = cadu_index_describe(l.idx[i], &d)) < 0) {
                        ret = cadu_error_errno(r, "index %s", l.paths[i]);
                        goto out;
                }
                ii[i].bytes = d.bytes;
                ii[i].chunks = d.chunks;
                ii[i].distinct = d.distinct;
                ii[i].distinct_bytes = d.distinct_bytes;
                ii[i].sizes = d.sizes;
                total_bytes += ii[i].bytes;
                total_chunks += ii[i].chunks;
        }
        for (size_t i = 0; i < all.n; i++)
                all_bytes += all.entries[i].size;

        /* What the store holds of them. */
        bool sizes_known = false;
        if (store_loc) {
                r = cadu_store_open(store_loc, &so.opts, false, &store);
                if (r == 0 && key_path)
                        r = cadu_store_wrap_key(&store, &key);
                if (r < 0) {
                        ret = cadu_error_errno(r, "cannot open store %s", store_loc);
                        goto out;
                }
                cadu_engine_progress ip = { .what = "info" };
                cadu_survey sv = { .store = store, .key = key_path ? &key : NULL, .set = &all, .download = download,
                                   .threads = default_threads(threads, store),
                                   .root = !strcmp(store->ops->kind, "dir") ? store_loc : NULL,
                                   .progress = cadu_engine_progress_fn, .userdata = &ip };
                r = cadu_survey_run(&sv);
                cadu_progress_end(&ip.prog);
                if (r < 0 && sv.open_failed) {
                        ret = cadu_error_errno(r, "cannot open store %s", store_loc);
                        goto out;
                }
                if (r < 0) {
                        char hex[HEX_SIZE], det[256];
                        const char *d = store_detail(store, det, sizeof(det));
                        if (sv.failed)
                                hexid(all.entries[sv.failed - 1].id, hex);
                        cadu_error("store %s: chunk %s: %s", store_loc, sv.failed ? hex : "?", d ? d : cadu_strerror(r));
                        ret = cadu_storeopts_exit_code(r);
                        goto out;
                }
                sizes_known = sv.sizes_known;
        }

        /* What an update to each index would fetch, given the seeds: a dry
         * run of the extraction engine with a store that has nothing. */
        for (size_t i = 0; nseeds && i < l.n; i++) {
                plan_store ps = { .base = { .ops = &plan_ops, .location = (char *)"(fetch)" },
                                  .lock = PTHREAD_MUTEX_INITIALIZER };
                cadu_store *stores[1] = { &ps.base };
                cadu_extract_progress xp;
                cadu_extract_opts o = {
                        .index = l.idx[i],
                        .seeds = seeds,
                        .nseeds = nseeds,
                        .stores = stores,
                        .nstores = 1,
                        .dry_run = true,
                        .threads = threads ? threads : cadu_cpu_count(),
                        .seed_progress = cadu_extract_progress_seed,   /* only seeds take time */
                        .userdata = &xp,
                };
                _cleanup_free_ char *msg = NULL;
                cadu_extract_progress_begin(&xp, "info", cadu_index_size(l.idx[i]));
                r = cadu_extract(&o, &ii[i].st, &msg);
                cadu_extract_progress_end(&xp);
                if (r < 0) {
                        free(ps.ids);
                        ret = cadu_error_errno(r, "planning the update to %s: %s", l.paths[i], msg ? msg : "failed");
                        goto out;
                }
                ii[i].planned = true;
                for (size_t k = 0; k < ps.n; k++) {
                        const cadu_chunk_entry *e = cadu_chunk_set_find(&all, ps.ids[k]);
                        if (!e)
                                continue;       /* cannot happen: every id comes from the index */
                        ii[i].fetch_chunks++;
                        ii[i].fetch_bytes += e->size;
                        ii[i].fetch_raw += e->raw_size;
                        if (store && e->state != CHUNK_PRESENT) {
                                ii[i].fetch_absent++;
                                ii[i].fetch_absent_bytes += e->size;
                        }
                }
                free(ps.ids);
        }

        /* With the store: the download plan of each update, packs included
         * (doc/pack-format.md): bytes and requests by source. */
        for (size_t i = 0; nseeds && store && i < l.n; i++) {
                uint8_t sha[CADU_DIGEST_SIZE];
                cadu_extract_stats pst;
                _cleanup_free_ char *msg = NULL;
                if (!l.idx[i] || cadu_sha256_file(l.paths[i], sha, NULL) < 0)
                        continue;
                cadu_extract_opts o = {
                        .index = l.idx[i],
                        .seeds = seeds,
                        .nseeds = nseeds,
                        .stores = &store,
                        .nstores = 1,
                        .plan_only = true,
                        .index_sha = sha,
                        .threads = threads ? threads : cadu_cpu_count(),
                };
                r = cadu_extract(&o, &pst, &msg);
                if (r == 0 && cadu_json) {
                        printf("{\"event\":\"plan\",\"index\":");
                        cadu_json_string(stdout, l.paths[i]);
                        printf(",\"plan\":");
                        cadu_print_extract_plan(&pst.plan);
                        printf("}\n");
                } else if (r == 0 && !cadu_quiet) {
                        fprintf(stderr, "plan for %s from %s:\n", l.paths[i], store_loc);
                        cadu_print_extract_plan(&pst.plan);
                }
                cadu_extract_stats_free(&pst);
                if (r < 0) {
                        ret = cadu_error_errno(r, "planning the download of %s: %s", l.paths[i], msg ? msg : "failed");
                        goto out;
                }
        }
        if (cadu_json)
                print_info_json(&l, ii, seeds, nseeds, &all, total_bytes, total_chunks, all_bytes, store, sizes_known);
        else
                print_info_text(&l, ii, seeds, nseeds, &all, total_bytes, total_chunks, all_bytes, store, sizes_known);
        ret = CADU_EXIT_OK;
out:
        for (size_t i = 0; ii && i < l.n; i++)
                cadu_extract_stats_free(&ii[i].st);
        free(ii);
        cadu_store_free(store);
        cadu_chunk_set_done(&all);
        index_list_done(&l);
        cadu_chunk_codec_release();
        return ret;
}
