/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * api.c - libcadu's public stores, extraction and making
 * (include/cadu/cadu.h) over the engine's internal interfaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cadu-chunker.h"
#include "cadu-index.h"
#include "cadu-store.h"
#include "cadu-util.h"
#include "context.h"
#include "extract.h"
#include "make-deltas.h"
#include "make-packs.h"
#include "make.h"

/* ---- stores ---- */

int cadu_store_open_location(cadu_context *ctx, const char *location, unsigned flags, cadu_store **ret) {
        if (!ctx || !location || !ret || (flags & ~CADU_STORE_CREATE))
                return -EINVAL;
        cadu_context_clear_error(ctx);
        cadu_store *s = NULL;
        int r = cadu_store_open(location, &ctx->storeopts.opts, flags & CADU_STORE_CREATE, &s);
        if (r == 0 && ctx->have_key)
                r = cadu_store_wrap_key(&s, &ctx->key);
        if (r < 0)
                return cadu_context_fail(ctx, r, "cannot open store %s", location);
        *ret = s;
        return 0;
}

cadu_store *cadu_store_close(cadu_store *store) {
        return cadu_store_free(store);
}

int cadu_store_get(cadu_store *store, cadu_store_stat stat, uint64_t *ret) {
        cadu_store_http_stats hs;
        if (!store || !ret || (unsigned)stat > CADU_STORE_STAT_RANGE_BYTES)
                return -EINVAL;
        if (cadu_store_http_get_stats(store, &hs) < 0)
                return -EOPNOTSUPP;
        switch (stat) {
        case CADU_STORE_STAT_REQUESTS: *ret = hs.requests; break;
        case CADU_STORE_STAT_RETRIES: *ret = hs.retries; break;
        case CADU_STORE_STAT_CONNECTIONS: *ret = hs.connections; break;
        case CADU_STORE_STAT_BYTES_RECEIVED: *ret = hs.bytes_received; break;
        case CADU_STORE_STAT_RANGE_REQUESTS: *ret = hs.range_requests; break;
        case CADU_STORE_STAT_RANGE_BYTES: *ret = hs.range_bytes; break;
        }
        return 0;
}

/* ---- extraction ---- */

struct cadu_extraction {
        cadu_context *ctx;
        cadu_index *idx;
        uint8_t index_sha[CADU_DIGEST_SIZE];
        bool encrypted;                 /* the index was: its stores must be too */
        char *index_name;
        cadu_seed *seeds;               /* their strings are owned */
        size_t nseeds, aseeds;
        cadu_store **stores;
        size_t nstores, astores;
        cadu_store *cache;
        uint64_t max_download;
        bool have_stats;
        cadu_extract_stats st;
        cadu_phase ph;
};

/* When buf holds an encrypted index, replace it by its plaintext, opened
 * with the context's key (context.h's cadu_index_unseal()). */
static int open_index(cadu_context *ctx, const char *what, cadu_buf *buf, bool *encrypted) {
        _cleanup_free_ char *msg = NULL;
        int r = cadu_index_unseal(what, ctx->have_key ? &ctx->key : NULL, buf, encrypted, &msg);
        if (r < 0 && msg)
                cadu_context_log(ctx, CADU_LOG_ERR, "%s", msg);
        else if (r < 0)
                cadu_context_fail(ctx, r, "decrypting index %s", what);
        return r;
}

int cadu_extraction_new(cadu_context *ctx, const char *index, cadu_extraction **ret) {
        if (!ctx || !index || !ret)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        cadu_extraction *x = calloc(1, sizeof(*x));
        if (!x || !(x->index_name = strdup(index))) {
                free(x);
                return cadu_context_fail(ctx, -ENOMEM, "index %s", index);
        }
        x->ctx = ctx;
        x->ph.ctx = ctx;
        cadu_buf b = CADU_BUF_INIT;
        _cleanup_free_ char *err = NULL;
        const char *why = NULL;
        int r = cadu_fetch(index, &ctx->storeopts.opts, CADU_INDEX_FILE_MAX, &b, &err);
        if (r < 0) {
                cadu_buf_free(&b);      /* what came before the failure */
                cadu_extraction_free(x);
                if (err)
                        cadu_context_log(ctx, CADU_LOG_ERR, "cannot read index %s: %s", index, err);
                else
                        cadu_context_fail(ctx, r, "cannot read index %s", index);
                return r;
        }
        /* The index file as published names its pack index: for an
         * encrypted one, the sha256 of its ciphertext (doc/encryption.md). */
        if ((r = cadu_digest(CADU_DIGEST_SHA256, b.data, b.len, x->index_sha)) == 0 &&
            (r = open_index(ctx, index, &b, &x->encrypted)) < 0) {
                cadu_buf_free(&b);
                cadu_extraction_free(x);
                return r;
        }
        if (r == 0)
                r = cadu_index_parse(b.data, b.len, &x->idx, &why);
        cadu_buf_free(&b);
        if (r < 0) {
                cadu_extraction_free(x);
                if (why)
                        cadu_context_log(ctx, CADU_LOG_ERR, "index %s: %s", index, why);
                else
                        cadu_context_fail(ctx, r, "index %s", index);
                return r;
        }
        *ret = x;
        return 0;
}

cadu_extraction *cadu_extraction_free(cadu_extraction *x) {
        if (!x)
                return NULL;
        for (size_t i = 0; i < x->nseeds; i++) {
                free((char *)x->seeds[i].path);
                free((char *)x->seeds[i].index_path);
        }
        free(x->seeds);
        free(x->stores);
        cadu_extract_stats_free(&x->st);
        cadu_index_free(x->idx);
        free(x->index_name);
        free(x->ph.what);
        free(x);
        return NULL;
}

uint64_t cadu_extraction_image_size(const cadu_extraction *x) {
        return x ? cadu_index_size(x->idx) : 0;
}

uint64_t cadu_extraction_chunk_count(const cadu_extraction *x) {
        return x ? x->idx->n : 0;
}

int cadu_extraction_add_seed(cadu_extraction *x, const char *path, const char *index_path) {
        if (!x || !path)
                return -EINVAL;
        if (CADU_ARRAY_GROW(x->seeds, x->aseeds, x->nseeds, 4) < 0)
                return -ENOMEM;
        cadu_seed s = { .path = strdup(path), .index_path = index_path ? strdup(index_path) : NULL };
        if (!s.path || (index_path && !s.index_path)) {
                free((char *)s.path);
                free((char *)s.index_path);
                return -ENOMEM;
        }
        x->seeds[x->nseeds++] = s;
        return 0;
}

int cadu_extraction_add_store(cadu_extraction *x, cadu_store *store) {
        if (!x || !store)
                return -EINVAL;
        if (CADU_ARRAY_GROW(x->stores, x->astores, x->nstores, 4) < 0)
                return -ENOMEM;
        x->stores[x->nstores++] = store;
        return 0;
}

int cadu_extraction_set_cache(cadu_extraction *x, cadu_store *cache) {
        if (!x || (cache && strcmp(cache->ops->kind, "dir") != 0))
                return -EINVAL;
        x->cache = cache;
        return 0;
}

int cadu_extraction_set_max_download(cadu_extraction *x, uint64_t bytes) {
        if (!x)
                return -EINVAL;
        x->max_download = bytes;
        return 0;
}

static void extract_progress(void *ud, uint64_t done, uint64_t total) {
        cadu_phase_report(&((cadu_extraction *)ud)->ph, "extract", done, total);
}

static void seed_progress(void *ud, const char *seed_path, uint64_t done, uint64_t total) {
        cadu_extraction *x = ud;
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "scanning seed %s", seed_path) >= 0)
                cadu_phase_report(&x->ph, what, done, total);
}

int cadu_extraction_run(cadu_extraction *x, const char *output, unsigned flags) {
        if (!x || (flags & ~(CADU_EXTRACT_IN_PLACE | CADU_EXTRACT_DRY_RUN)) ||
            (!output && !(flags & CADU_EXTRACT_DRY_RUN)))
                return -EINVAL;
        cadu_context *ctx = x->ctx;
        cadu_context_clear_error(ctx);
        cadu_extract_stats_free(&x->st);
        x->have_stats = false;
        for (size_t i = 0; i < x->nstores; i++) {
                cadu_store *inner;
                uint8_t id[CADU_DIGEST_SIZE] = { 0 }, name[CADU_CRYPT_NAME_SIZE];
                if ((cadu_store_crypt_map(x->stores[i], id, &inner, name) == 1) != x->encrypted)
                        return cadu_context_fail(ctx, -EINVAL, "store %s was opened %s a key for %s index %s",
                                                 x->stores[i]->location, x->encrypted ? "without" : "with",
                                                 x->encrypted ? "the encrypted" : "the plain", x->index_name);
        }
        cadu_extract_opts o = {
                .index = x->idx,
                .seeds = x->seeds,
                .nseeds = x->nseeds,
                .cache = x->cache,
                .stores = x->stores,
                .nstores = x->nstores,
                .out_path = flags & CADU_EXTRACT_DRY_RUN ? NULL : output,
                .in_place = flags & CADU_EXTRACT_IN_PLACE,
                .dry_run = flags & CADU_EXTRACT_DRY_RUN,
                .threads = ctx->threads,
                .index_sha = x->index_sha,
                .max_download = x->max_download,
                .progress = extract_progress,
                .seed_progress = seed_progress,
                .userdata = x,
        };
        _cleanup_free_ char *msg = NULL;
        int r = cadu_extract(&o, &x->st, &msg);
        cadu_phase_end(&x->ph, r == 0);
        cadu_chunk_codec_release();
        if (r < 0) {
                cadu_extract_stats_free(&x->st);
                if (r == -EDQUOT)
                        cadu_context_log(ctx, CADU_LOG_ERR, "extracting %s: %s", x->index_name,
                                         msg ? msg : "over the download limit");
                else
                        cadu_context_fail(ctx, r, "extracting %s: %s", x->index_name, msg ? msg : "failed");
                return r;
        }
        x->have_stats = true;
        return 0;
}

static void add_source(const cadu_source_stats *s, uint64_t *chunks, uint64_t *bytes) {
        *chunks += s->chunks;
        *bytes += s->bytes;
}

int cadu_extraction_get_source(const cadu_extraction *x, cadu_source source, uint64_t *ret_chunks,
                               uint64_t *ret_bytes) {
        if (!x)
                return -EINVAL;
        if (!x->have_stats)
                return -ENODATA;
        const cadu_extract_stats *st = &x->st;
        uint64_t chunks = 0, bytes = 0;
        switch (source) {
        case CADU_SOURCE_IN_PLACE: add_source(&st->in_place, &chunks, &bytes); break;
        case CADU_SOURCE_ZERO: add_source(&st->zero, &chunks, &bytes); break;
        case CADU_SOURCE_DUPLICATE: add_source(&st->duplicate, &chunks, &bytes); break;
        case CADU_SOURCE_CACHE: add_source(&st->cache, &chunks, &bytes); break;
        case CADU_SOURCE_PACKS: add_source(&st->packed, &chunks, &bytes); break;
        case CADU_SOURCE_DELTAS: add_source(&st->deltas, &chunks, &bytes); break;
        case CADU_SOURCE_MISSING: add_source(&st->missing, &chunks, &bytes); break;
        case CADU_SOURCE_SEEDS:
                for (size_t i = 0; i < x->nseeds; i++)
                        add_source(&st->seeds[i], &chunks, &bytes);
                break;
        case CADU_SOURCE_STORES:
                for (size_t i = 0; i < x->nstores; i++)
                        add_source(&st->stores[i], &chunks, &bytes);
                break;
        default:
                return -EINVAL;
        }
        if (ret_chunks)
                *ret_chunks = chunks;
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

uint64_t cadu_extraction_downloaded(const cadu_extraction *x) {
        return x && x->have_stats ? x->st.downloaded : 0;
}

int cadu_extraction_get_source_detail(const cadu_extraction *x, cadu_source source, size_t i,
                                      uint64_t *ret_chunks, uint64_t *ret_bytes, uint64_t *ret_raw_bytes,
                                      uint64_t *ret_rejected) {
        if (!x)
                return -EINVAL;
        if (!x->have_stats)
                return -ENODATA;
        const cadu_extract_stats *st = &x->st;
        const cadu_source_stats *s;
        size_t n = 1;
        switch (source) {
        case CADU_SOURCE_IN_PLACE: s = &st->in_place; break;
        case CADU_SOURCE_ZERO: s = &st->zero; break;
        case CADU_SOURCE_DUPLICATE: s = &st->duplicate; break;
        case CADU_SOURCE_CACHE: s = &st->cache; break;
        case CADU_SOURCE_PACKS: s = &st->packed; break;
        case CADU_SOURCE_DELTAS: s = &st->deltas; break;
        case CADU_SOURCE_MISSING: s = &st->missing; break;
        case CADU_SOURCE_SEEDS: s = st->seeds; n = x->nseeds; break;
        case CADU_SOURCE_STORES: s = st->stores; n = x->nstores; break;
        default:
                return -EINVAL;
        }
        if (i >= n)
                return -ERANGE;
        s += i;
        if (ret_chunks)
                *ret_chunks = s->chunks;
        if (ret_bytes)
                *ret_bytes = s->bytes;
        if (ret_raw_bytes)
                *ret_raw_bytes = s->raw_bytes;
        if (ret_rejected)
                *ret_rejected = s->rejected;
        return 0;
}

int cadu_extraction_get(const cadu_extraction *x, cadu_extract_stat stat, uint64_t *ret) {
        if (!x || !ret || (unsigned)stat > CADU_EXTRACT_STAT_PLAN_REQUESTS)
                return -EINVAL;
        if (!x->have_stats)
                return -ENODATA;
        const cadu_extract_stats *st = &x->st;
        const cadu_extract_plan *p = &st->plan;
        switch (stat) {
        case CADU_EXTRACT_STAT_BYTES_WRITTEN: *ret = st->bytes_written; break;
        case CADU_EXTRACT_STAT_BYTES_COPIED: *ret = st->bytes_copied; break;
        case CADU_EXTRACT_STAT_BYTES_CLONED: *ret = st->bytes_cloned; break;
        case CADU_EXTRACT_STAT_NSEC: *ret = (uint64_t)(st->seconds * 1e9); break;
        case CADU_EXTRACT_STAT_PLAN_PACK_INDEX: *ret = p->pack_index; break;
        case CADU_EXTRACT_STAT_PLAN_INDEX_BYTES: *ret = p->index_bytes; break;
        case CADU_EXTRACT_STAT_PLAN_PACK_CHUNKS: *ret = p->pack_chunks; break;
        case CADU_EXTRACT_STAT_PLAN_PACK_BYTES: *ret = p->pack_bytes; break;
        case CADU_EXTRACT_STAT_PLAN_DELTA_CHUNKS: *ret = p->delta_chunks; break;
        case CADU_EXTRACT_STAT_PLAN_DELTA_BYTES: *ret = p->delta_bytes; break;
        case CADU_EXTRACT_STAT_PLAN_RANGE_REQUESTS: *ret = p->range_requests; break;
        case CADU_EXTRACT_STAT_PLAN_FILE_CHUNKS: *ret = p->file_chunks; break;
        case CADU_EXTRACT_STAT_PLAN_FILE_BYTES: *ret = p->file_bytes; break;
        case CADU_EXTRACT_STAT_PLAN_FILES_BOUND: *ret = p->files_bound; break;
        case CADU_EXTRACT_STAT_PLAN_TOTAL_BYTES: *ret = p->total_bytes; break;
        case CADU_EXTRACT_STAT_PLAN_REQUESTS: *ret = p->requests; break;
        }
        return 0;
}

/* ---- making ---- */

#define MAKER_INDEX_BASES_MAX 16

struct cadu_maker {
        cadu_context *ctx;
        uint64_t min, avg, max;
        cadu_digest_type digest;
        int level;
        bool fingerprints, deltas, packs;
        int delta_level;
        char *index_bases[MAKER_INDEX_BASES_MAX];
        size_t n_index_bases;
        char *manifest, *compatible, *version, *image_name, *slot_class;
        bool have_stats, have_deltas, have_packs;
        uint64_t image_bytes, chunks, new_chunks, new_bytes, new_compressed;
        cadu_make_deltas_stats dst;
        cadu_make_packs_stats pst;
        cadu_phase ph;
};

int cadu_maker_new(cadu_context *ctx, cadu_maker **ret) {
        if (!ctx || !ret)
                return -EINVAL;
        cadu_maker *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        *m = (cadu_maker){
                .ctx = ctx,
                .min = CADU_CHUNK_SIZE_MIN_DEFAULT, .avg = CADU_CHUNK_SIZE_AVG_DEFAULT,
                .max = CADU_CHUNK_SIZE_MAX_DEFAULT,
                .digest = CADU_DIGEST_SHA256,
                .level = 3,
                .delta_level = 19,
                .ph = { .ctx = ctx },
        };
        *ret = m;
        return 0;
}

static void maker_manifest_clear(cadu_maker *m) {
        free(m->manifest);
        free(m->compatible);
        free(m->version);
        free(m->image_name);
        free(m->slot_class);
        m->manifest = m->compatible = m->version = m->image_name = m->slot_class = NULL;
}

cadu_maker *cadu_maker_free(cadu_maker *m) {
        if (m) {
                for (size_t i = 0; i < m->n_index_bases; i++)
                        free(m->index_bases[i]);
                maker_manifest_clear(m);
                free(m->ph.what);
                free(m);
        }
        return NULL;
}

int cadu_maker_set_chunk_size(cadu_maker *m, uint64_t min, uint64_t avg, uint64_t max) {
        if (!m || !cadu_chunker_params_valid(min, avg, max))
                return -EINVAL;
        m->min = min;
        m->avg = avg;
        m->max = max;
        return 0;
}

int cadu_maker_set_digest(cadu_maker *m, const char *digest) {
        if (!m || !digest)
                return -EINVAL;
        return cadu_digest_from_name(digest, &m->digest);
}

int cadu_maker_set_compression_level(cadu_maker *m, int level) {
        if (!m || level < 1 || level > 19)
                return -EINVAL;
        m->level = level;
        return 0;
}

int cadu_maker_set_fingerprints(cadu_maker *m, bool on) {
        if (!m)
                return -EINVAL;
        m->fingerprints = on;
        return 0;
}

int cadu_maker_set_deltas(cadu_maker *m, bool on, int level) {
        if (!m || level < 1 || level > 19)
                return -EINVAL;
        m->deltas = on;
        m->delta_level = level;
        return 0;
}

int cadu_maker_set_packs(cadu_maker *m, bool on) {
        if (!m)
                return -EINVAL;
        m->packs = on;
        return 0;
}

int cadu_maker_add_index_base(cadu_maker *m, const char *path) {
        if (!m || !path)
                return -EINVAL;
        if (m->n_index_bases == MAKER_INDEX_BASES_MAX)
                return -E2BIG;
        if (!(m->index_bases[m->n_index_bases] = strdup(path)))
                return -ENOMEM;
        m->n_index_bases++;
        return 0;
}

static int dup_opt(const char *s, char **ret) {
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

int cadu_maker_set_manifest(cadu_maker *m, const char *path, const char *compatible, const char *version,
                            const char *name, const char *slot_class) {
        if (!m || (path && (!compatible || !version)))
                return -EINVAL;
        maker_manifest_clear(m);
        if (!path)
                return 0;
        if (dup_opt(path, &m->manifest) < 0 || dup_opt(compatible, &m->compatible) < 0 ||
            dup_opt(version, &m->version) < 0 || dup_opt(name, &m->image_name) < 0 ||
            dup_opt(slot_class ? slot_class : "rootfs", &m->slot_class) < 0) {
                maker_manifest_clear(m);
                return -ENOMEM;
        }
        return 0;
}

static void deltas_progress(void *ud, const char *what, uint64_t done, uint64_t total) {
        cadu_phase_report(&((cadu_maker *)ud)->ph, what, done, total);
}

/* The steps after the index (cadu_maker_set_*()). */
static int maker_steps(cadu_maker *m, cadu_make_job *j, cadu_store *store, const char *image,
                       const char *index_path) {
        cadu_context *ctx = m->ctx;
        _cleanup_free_ char *err = NULL;
        int r;
        /* Deltas before packs: a pack holds each chunk's smallest entry. */
        if (m->deltas) {
                r = cadu_make_deltas(&(cadu_make_deltas_params){ .store_path = store->location, .store = store,
                                                                 .digest = m->digest, .level = m->delta_level,
                                                                 .threads = ctx->threads, .key = j->key,
                                                                 .progress = deltas_progress, .userdata = m },
                                     j->idx, (const uint8_t (*)[CADU_DIGEST_SIZE])j->new_ids, j->n_new, &m->dst, &err);
                cadu_phase_end(&m->ph, r == 0);
                if (m->dst.sketch_files_ignored)
                        cadu_context_log(ctx, CADU_LOG_WARNING, "ignored %llu corrupt sketch file%s in %s/sketches (sketched again)",
                                         (unsigned long long)m->dst.sketch_files_ignored,
                                         m->dst.sketch_files_ignored == 1 ? "" : "s", store->location);
                if (r < 0)
                        return cadu_context_fail(ctx, r, "deltas: %s", err ? err : store->location);
                m->have_deltas = true;
        }
        if (m->packs) {
                if ((r = cadu_make_packs(store->location, index_path, j->idx, j->key, &m->pst, &err)) < 0)
                        return cadu_context_fail(ctx, r, "%s", err ? err : "packing");
                m->have_packs = true;
                /* Compact indexes hold plaintext ids: none for an encrypted store. */
                if (!j->key && (r = cadu_make_write_caibz(store->location, index_path, j->idx, m->index_bases,
                                                          m->n_index_bases, &err)) < 0) {
                        if (err)
                                cadu_context_log(ctx, CADU_LOG_ERR, "%s", err);
                        else
                                cadu_context_fail(ctx, r, "writing the compact indexes of %s", index_path);
                        return r;
                }
        }
        if (m->manifest && (r = cadu_make_write_manifest(j, m->manifest, m->compatible, m->version, m->image_name,
                                                         m->slot_class, image, index_path, store->location,
                                                         &err)) < 0) {
                if (err)
                        cadu_context_log(ctx, CADU_LOG_ERR, "%s", err);
                else
                        cadu_context_fail(ctx, r, "writing manifest %s", m->manifest);
                return r;
        }
        return 0;
}

static void make_progress(void *ud, uint64_t done) {
        cadu_maker *m = ud;
        cadu_phase_report(&m->ph, "make", done, m->ph.total);
}

int cadu_maker_run(cadu_maker *m, const char *image, cadu_store *store, const char *index_path) {
        if (!m || !image || !store || !index_path)
                return -EINVAL;
        cadu_context *ctx = m->ctx;
        cadu_context_clear_error(ctx);
        m->have_stats = m->have_deltas = m->have_packs = false;
        if (!store->ops->put) {
                cadu_context_log(ctx, CADU_LOG_ERR, "store %s is read-only", store->location);
                return -EROFS;
        }
        cadu_store *inner;
        uint8_t id[CADU_DIGEST_SIZE] = { 0 }, name[CADU_CRYPT_NAME_SIZE];
        if ((cadu_store_crypt_map(store, id, &inner, name) == 1) != ctx->have_key)
                return cadu_context_fail(ctx, -EINVAL, "store %s was opened %s a key", store->location,
                                         ctx->have_key ? "without" : "with");
        if (ctx->have_key && (m->fingerprints || m->n_index_bases))
                return cadu_context_fail(ctx, -EINVAL, "%s: plaintext chunk %s, not with a key",
                                         m->fingerprints ? "fingerprints" : "compact indexes against a base",
                                         m->fingerprints ? "hashes" : "ids");
        if (m->deltas && strcmp(store->ops->kind, "dir") != 0)
                return cadu_context_fail(ctx, -EINVAL, "deltas need a directory store, not %s", store->location);
        _cleanup_close_ int fd = cadu_open_untrusted(image, CADU_OPEN_BLOCK);
        if (fd < 0)
                return cadu_context_fail(ctx, fd, "cannot open image %s", image);
        uint64_t total = 0, size = 0;
        int r = cadu_fd_size(fd, &total);
        if (r < 0)
                return cadu_context_fail(ctx, r, "image %s", image);
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        cadu_make_job j = { .store = store, .level = m->level, .key = ctx->have_key ? &ctx->key : NULL,
                            .fingerprints = m->fingerprints, .collect_new = m->deltas };
        cadu_chunk_info failed = { 0 };
        m->ph.total = total;
        cadu_phase_report(&m->ph, "make", 0, total);
        r = cadu_make_chunk_fd(&j, fd, &(cadu_make_params){ .min = m->min, .avg = m->avg, .max = m->max,
                                                            .digest = m->digest, .threads = ctx->threads,
                                                            .progress = make_progress, .userdata = m },
                               &size, &failed);
        cadu_phase_end(&m->ph, r == 0);
        if (r < 0 && failed.len) {
                char hex[2 * CADU_DIGEST_SIZE + 1];
                cadu_hex_encode(failed.id, CADU_DIGEST_SIZE, hex);
                cadu_context_fail(ctx, r, "make %s: chunk %s at offset %llu into store %s", image, hex,
                                  (unsigned long long)failed.offset, store->location);
        } else if (r < 0)
                cadu_context_fail(ctx, r, "make %s: reading image", image);
        else if (size != total) {
                r = -ESTALE;
                cadu_context_log(ctx, CADU_LOG_ERR, "make %s: image changed size while reading (%llu, expected %llu bytes)",
                                 image, (unsigned long long)size, (unsigned long long)total);
        } else if ((r = cadu_make_write_index(&j, index_path)) < 0)
                cadu_context_fail(ctx, r, "writing index %s", index_path);
        else
                r = maker_steps(m, &j, store, image, index_path);
        if (r == 0) {
                m->image_bytes = total;
                m->chunks = j.idx->n;
                m->new_chunks = j.new_chunks;
                m->new_bytes = j.new_bytes;
                m->new_compressed = j.new_compressed;
                m->have_stats = true;
        }
        cadu_make_job_done(&j);
        return r;
}

int cadu_maker_get_stats(const cadu_maker *m, uint64_t *ret_chunks, uint64_t *ret_new_chunks,
                         uint64_t *ret_new_bytes, uint64_t *ret_new_compressed) {
        if (!m)
                return -EINVAL;
        if (!m->have_stats)
                return -ENODATA;
        if (ret_chunks)
                *ret_chunks = m->chunks;
        if (ret_new_chunks)
                *ret_new_chunks = m->new_chunks;
        if (ret_new_bytes)
                *ret_new_bytes = m->new_bytes;
        if (ret_new_compressed)
                *ret_new_compressed = m->new_compressed;
        return 0;
}

int cadu_maker_get(const cadu_maker *m, cadu_make_stat stat, uint64_t *ret) {
        if (!m || !ret || (unsigned)stat > CADU_MAKE_STAT_PACK_INDEX_BYTES)
                return -EINVAL;
        if (!m->have_stats)
                return -ENODATA;
        const cadu_make_deltas_stats *d = &m->dst;
        const cadu_make_packs_stats *p = &m->pst;
        if (stat >= CADU_MAKE_STAT_DELTA_TARGETS && stat <= CADU_MAKE_STAT_DELTA_NSEC && !m->have_deltas)
                return -ENODATA;
        if (stat >= CADU_MAKE_STAT_PACK_INDEX_EXISTED && !m->have_packs)
                return -ENODATA;
        switch (stat) {
        case CADU_MAKE_STAT_IMAGE_BYTES: *ret = m->image_bytes; break;
        case CADU_MAKE_STAT_DELTA_TARGETS: *ret = d->targets; break;
        case CADU_MAKE_STAT_DELTA_WITH_DELTA: *ret = d->with_delta; break;
        case CADU_MAKE_STAT_DELTA_CHUNK_FILE_BYTES: *ret = d->plain_bytes; break;
        case CADU_MAKE_STAT_DELTA_BEST_BYTES: *ret = d->best_bytes; break;
        case CADU_MAKE_STAT_DELTA_BYTES: *ret = d->delta_bytes; break;
        case CADU_MAKE_STAT_DELTA_SKETCHED: *ret = d->sketched; break;
        case CADU_MAKE_STAT_DELTA_SKETCH_FILES_IGNORED: *ret = d->sketch_files_ignored; break;
        case CADU_MAKE_STAT_DELTA_NSEC: *ret = (uint64_t)(d->seconds * 1e9); break;
        case CADU_MAKE_STAT_PACK_INDEX_EXISTED: *ret = p->existed; break;
        case CADU_MAKE_STAT_PACKS: *ret = p->packs; break;
        case CADU_MAKE_STAT_PACK_BYTES: *ret = p->pack_bytes; break;
        case CADU_MAKE_STAT_PACKED_CHUNKS: *ret = p->packed_chunks; break;
        case CADU_MAKE_STAT_REFERENCED_CHUNKS: *ret = p->referenced_chunks; break;
        case CADU_MAKE_STAT_PACK_INDEX_BYTES: *ret = p->index_bytes; break;
        }
        return 0;
}
