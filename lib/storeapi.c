/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storeapi.c - libcadu's public store operations (include/cadu/cadu.h):
 * cadu_store_verify() over verify.c and store-packs.c, cadu_store_gc()
 * over gc.c, cadu_index_survey() over survey.c, cadu_store_mirror() over
 * mirror.c and store-packs.c, cadu_manifest_mirror() over mirror-release.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cadu-crypt.h"
#include "cadu-index.h"
#include "cadu-store.h"
#include "cadu-util.h"
#include "context.h"
#include "gc.h"
#include "mirror.h"
#include "mirror-release.h"
#include "store-packs.h"
#include "survey.h"
#include "verify.h"

/* ---- the indexes given ---- */

typedef struct index_set {
        cadu_index **idx;               /* NULL for an encrypted index */
        size_t n;
} index_set;

static void index_set_done(index_set *l) {
        for (size_t i = 0; l->idx && i < l->n; i++)
                cadu_index_free(l->idx[i]);
        free(l->idx);
        l->idx = NULL;
        l->n = 0;
}

/* Read the index files at paths (NULL-terminated) into l and their chunks
 * into s, each with the mask of its position (the first 64). An encrypted
 * index adds the keyed names it lists in clear (doc/encryption.md). */
static int read_indexes(cadu_context *ctx, const char *const *paths, index_set *l, cadu_chunk_set *s) {
        size_t n = 0;
        while (paths[n])
                n++;
        if (!(l->idx = calloc(n + 1, sizeof(*l->idx))))
                return cadu_context_fail(ctx, -ENOMEM, "reading indexes");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *msg = NULL;
                cadu_index_fault fault;
                cadu_index_file f;
                int r = cadu_index_file_read(paths[i], NULL, CADU_INDEX_FILE_NAMES, &f, &fault, &msg);
                if (r < 0)
                        return cadu_context_fail(ctx, r, "%s", msg ? msg : paths[i]);
                l->idx[l->n++] = f.idx;
                r = cadu_index_file_add(s, &f, i < 64 ? UINT64_C(1) << i : 0);
                free(f.names);
                if (r == -EBADMSG && f.idx)
                        return cadu_context_fail(ctx, r, "index %s: a chunk id appears with two different sizes",
                                                 paths[i]);
                if (r < 0)
                        return cadu_context_fail(ctx, r, "index %s", paths[i]);
        }
        return 0;
}

/* The encrypted index at path opened with key, into *ret. */
static int open_sealed_index(cadu_context *ctx, const cadu_crypt_key *key, const char *path, cadu_index **ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        cadu_buf plain = CADU_BUF_INIT;
        const char *why = NULL;
        size_t len;
        int r = cadu_read_file(path, CADU_INDEX_FILE_MAX, &buf, &len);
        if (r < 0)
                return cadu_context_fail(ctx, r, "cannot read index %s", path);
        if ((r = cadu_crypt_index_open(key, buf, len, &plain)) < 0) {
                cadu_buf_free(&plain);
                return cadu_context_fail(ctx, r, "index %s: cannot open it with the store key", path);
        }
        r = cadu_index_parse(plain.data, plain.len, ret, &why);
        cadu_buf_free(&plain);
        if (r < 0)
                return cadu_context_fail(ctx, r, "index %s: %s", path, why ? why : "cannot parse it");
        return 0;
}

static bool store_is_dir(const cadu_store *s) {
        return strcmp(s->ops->kind, "dir") == 0;
}

/* Workers: ctx's, or the CPUs plus some that mostly wait on a network store. */
static unsigned store_threads(const cadu_context *ctx, const cadu_store *s) {
        if (ctx->threads)
                return ctx->threads;
        return cadu_cpu_count() + (store_is_dir(s) ? 0 : 8);
}

/* ---- verify ---- */

typedef struct report_problem {
        cadu_problem kind;
        char *what;
        const char *why;                /* into the engine's results, or below */
        char *why_owned;
} report_problem;

struct cadu_verify_report {
        uint64_t stat[CADU_VERIFY_RAW_BYTES + 1];
        report_problem *problems;
        size_t n, alloc;
        cadu_verify v;                  /* its results (reasons) */
        int err;                        /* a failure while adding a problem */
};

static report_problem *add_problem(cadu_verify_report *rep, cadu_problem kind, const char *what) {
        if (CADU_ARRAY_GROW(rep->problems, rep->alloc, rep->n, 64) < 0)
                return NULL;
        report_problem *p = &rep->problems[rep->n];
        *p = (report_problem){ .kind = kind };
        if (!(p->what = strdup(what)))
                return NULL;
        rep->n++;
        return p;
}

/* A defect in a pack or pack index. */
static void pack_problem(void *ud, const char *where, const char *why) {
        cadu_verify_report *rep = ud;
        report_problem *p = add_problem(rep, CADU_PROBLEM_CORRUPT, where);
        if (!p || !(p->why = p->why_owned = strdup(why)))
                rep->err = -ENOMEM;
}

static void verify_progress_fn(void *ud, uint64_t done, uint64_t total) {
        cadu_context *ctx = ud;
        ctx->progress(ctx->progress_userdata, "verify-store", done, total);
}

int cadu_store_verify(cadu_context *ctx, cadu_store *store, const char *const *indexes, unsigned flags,
                      cadu_verify_report **ret) {
        if (!ctx || !store || !ret || (flags & ~CADU_VERIFY_DOWNLOAD) || (indexes && !indexes[0]))
                return -EINVAL;
        cadu_context_clear_error(ctx);
        /* A store opened with the key: its chunk files are read as they
         * are, and the key checks the encrypted ones. */
        const cadu_crypt_key *key = cadu_store_crypt_key(store);
        cadu_store *inner = cadu_store_crypt_inner(store);
        bool is_dir = store_is_dir(inner);
        if (!indexes && !is_dir)
                return cadu_context_fail(ctx, -EINVAL, "store %s cannot be listed: give the indexes whose chunks to check",
                                         store->location);
        index_set l = { 0 };
        cadu_verify_report *rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        cadu_verify *v = &rep->v;
        *v = (cadu_verify){ .set = CADU_CHUNK_SET_INIT, .store = inner, .key = key,
                            .root = is_dir ? inner->location : NULL,
                            .index_mode = indexes != NULL, .have_digest = indexes != NULL,
                            .head_only = !is_dir && !(flags & CADU_VERIFY_DOWNLOAD),
                            .threads = store_threads(ctx, inner),
                            .progress = ctx->progress ? verify_progress_fn : NULL, .userdata = ctx };
        int r = 0;
        if (indexes && (r = read_indexes(ctx, indexes, &l, &v->set)) < 0)
                goto fail;
        if ((r = cadu_verify_run(v)) < 0) {
                r = cadu_context_fail(ctx, r, "%s", v->error ? v->error : "verify-store");
                goto fail;
        }
        char hex[2 * CADU_DIGEST_SIZE + 1];
        for (size_t i = 0; i < v->set.n; i++) {
                const cadu_verify_result *res = &v->res[i];
                static const cadu_problem kinds[] = {
                        [CADU_CHECK_MISSING] = CADU_PROBLEM_MISSING,
                        [CADU_CHECK_CORRUPT] = CADU_PROBLEM_CORRUPT,
                        [CADU_CHECK_ERROR] = CADU_PROBLEM_ERROR,
                };
                if (res->kind == CADU_CHECK_OK) {
                        rep->stat[CADU_VERIFY_SOUND]++;
                        continue;
                }
                cadu_hex_encode(v->set.entries[i].id, CADU_DIGEST_SIZE, hex);
                report_problem *p = add_problem(rep, kinds[res->kind], hex);
                if (!p) {
                        r = cadu_context_fail(ctx, -ENOMEM, "verify-store");
                        goto fail;
                }
                if (res->kind == CADU_CHECK_ERROR)
                        p->why = cadu_errstr(res->err);
                else if (res->kind == CADU_CHECK_CORRUPT)
                        p->why = res->why ? res->why : "out of memory";
                rep->stat[res->kind == CADU_CHECK_MISSING   ? CADU_VERIFY_MISSING
                          : res->kind == CADU_CHECK_CORRUPT ? CADU_VERIFY_CORRUPT
                                                            : CADU_VERIFY_ERRORS]++;
        }
        for (size_t i = 0; i < v->nstrays; i++) {
                report_problem *p = add_problem(rep, CADU_PROBLEM_STRAY, v->strays[i].path);
                if (!p) {
                        r = cadu_context_fail(ctx, -ENOMEM, "verify-store");
                        goto fail;
                }
                p->why = v->strays[i].why;
        }
        /* The releases' packs and delta files; an encrypted one's sealed
         * pack index is named by the sha256 of its index file, and opened
         * with the key when there is one. */
        cadu_packs_stats ps = { 0 };
        for (size_t i = 0; i < l.n; i++) {
                uint8_t sha[CADU_DIGEST_SIZE];
                _cleanup_free_ char *msg = NULL;
                if ((r = cadu_sha256_file(indexes[i], sha, NULL)) < 0)
                        ;
                else if (l.idx[i])
                        r = cadu_packs_verify(inner, l.idx[i], sha, pack_problem, rep, &ps, &msg);
                else if (!key)
                        r = cadu_packs_verify_sealed(inner, sha, pack_problem, rep, &ps, &msg);
                else if ((r = open_sealed_index(ctx, key, indexes[i], &l.idx[i])) == 0)
                        r = cadu_packs_verify(store, l.idx[i], sha, pack_problem, rep, &ps, &msg);
                else
                        goto fail;
                if (r >= 0 && rep->err < 0)
                        r = rep->err;
                if (r < 0) {
                        r = cadu_context_fail(ctx, r, "verify-store %s: %s", store->location, msg ? msg : indexes[i]);
                        goto fail;
                }
                rep->stat[CADU_VERIFY_CORRUPT] += (uint64_t)r;
        }
        rep->stat[CADU_VERIFY_CHUNKS] = v->set.n;
        rep->stat[CADU_VERIFY_STRAY] = v->nstrays;
        rep->stat[CADU_VERIFY_UNREFERENCED] = v->unreferenced;
        rep->stat[CADU_VERIFY_BYTES] = atomic_load(&v->bytes);
        rep->stat[CADU_VERIFY_RAW_BYTES] = atomic_load(&v->raw_bytes);
        index_set_done(&l);
        *ret = rep;
        return 0;
fail:
        index_set_done(&l);
        cadu_verify_report_free(rep);
        return r;
}

cadu_verify_report *cadu_verify_report_free(cadu_verify_report *rep) {
        if (!rep)
                return NULL;
        for (size_t i = 0; i < rep->n; i++) {
                free(rep->problems[i].what);
                free(rep->problems[i].why_owned);
        }
        free(rep->problems);
        cadu_verify_done(&rep->v);
        free(rep);
        return NULL;
}

int cadu_verify_report_get(const cadu_verify_report *rep, cadu_verify_stat stat, uint64_t *ret) {
        if (!rep || !ret || (unsigned)stat > CADU_VERIFY_RAW_BYTES)
                return -EINVAL;
        *ret = rep->stat[stat];
        return 0;
}

size_t cadu_verify_report_problems(const cadu_verify_report *rep) {
        return rep ? rep->n : 0;
}

int cadu_verify_report_problem(const cadu_verify_report *rep, size_t i, cadu_problem *ret_kind, const char **ret_what,
                               const char **ret_why) {
        if (!rep)
                return -EINVAL;
        if (i >= rep->n)
                return -ERANGE;
        const report_problem *p = &rep->problems[i];
        if (ret_kind)
                *ret_kind = p->kind;
        if (ret_what)
                *ret_what = p->what;
        if (ret_why)
                *ret_why = p->why;
        return 0;
}

/* ---- gc ---- */

struct cadu_gc_report {
        uint64_t stat[CADU_GC_MISSING + 1];
};

int cadu_store_gc(cadu_context *ctx, cadu_store *store, const char *const *keep_indexes, uint64_t grace_seconds,
                  unsigned flags, cadu_gc_report **ret) {
        return cadu_store_gc_each(ctx, store, keep_indexes, grace_seconds, flags, NULL, NULL, ret);
}

int cadu_store_gc_each(cadu_context *ctx, cadu_store *store, const char *const *keep_indexes,
                       uint64_t grace_seconds, unsigned flags, cadu_gc_deleted_fn deleted, void *userdata,
                       cadu_gc_report **ret) {
        if (!ctx || !store || !keep_indexes || !keep_indexes[0] || !ret || (flags & ~CADU_GC_DRY_RUN) ||
            grace_seconds > (UINT64_C(1) << 40))
                return -EINVAL;
        cadu_context_clear_error(ctx);
        /* Encrypted or not, gc goes by the names of the files. */
        cadu_store *inner = cadu_store_crypt_inner(store);
        if (!store_is_dir(inner))
                return cadu_context_fail(ctx, -EROFS, "gc %s: works on a directory store", inner->location);
        cadu_gc_report *rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        index_set l = { 0 };
        cadu_gc g = { .set = CADU_CHUNK_SET_INIT, .root = inner->location, .dry_run = flags & CADU_GC_DRY_RUN,
                      .deleted = deleted, .userdata = userdata };
        int r = read_indexes(ctx, keep_indexes, &l, &g.set);
        if (r < 0)
                goto out;
        g.paths = keep_indexes;
        g.idx = l.idx;
        g.n = l.n;
        g.cutoff = grace_seconds ? (int64_t)time(NULL) - (int64_t)grace_seconds : INT64_MAX;
        if ((r = cadu_gc_run(&g)) < 0) {
                r = cadu_context_fail(ctx, r, "%s", g.error ? g.error : "gc");
                goto out;
        }
        rep->stat[CADU_GC_DELETED_CHUNKS] = g.deleted_chunks;
        rep->stat[CADU_GC_DELETED_BYTES] = g.deleted_bytes;
        rep->stat[CADU_GC_KEPT_CHUNKS] = g.kept;
        rep->stat[CADU_GC_KEPT_BYTES] = g.kept_bytes;
        rep->stat[CADU_GC_YOUNG_CHUNKS] = g.young;
        rep->stat[CADU_GC_DELETED_TEMP_FILES] = g.temp_deleted;
        rep->stat[CADU_GC_REMOVED_DIRECTORIES] = g.dirs_removed;
        rep->stat[CADU_GC_DELETED_PACK_FILES] = g.packs.files;
        rep->stat[CADU_GC_DELETED_PACK_BYTES] = g.packs.bytes;
        rep->stat[CADU_GC_MISSING] = g.missing;
        *ret = rep;
        rep = NULL;
out:
        cadu_gc_done(&g);
        index_set_done(&l);
        free(rep);
        return r;
}

cadu_gc_report *cadu_gc_report_free(cadu_gc_report *rep) {
        free(rep);
        return NULL;
}

int cadu_gc_report_get(const cadu_gc_report *rep, cadu_gc_stat stat, uint64_t *ret) {
        if (!rep || !ret || (unsigned)stat > CADU_GC_MISSING)
                return -EINVAL;
        *ret = rep->stat[stat];
        return 0;
}

/* ---- survey ---- */

struct cadu_survey_report {
        uint64_t stat[CADU_SURVEY_MISSING_BYTES + 1];
        bool have_store, sizes_known;
};

static void survey_progress_fn(void *ud, uint64_t done, uint64_t total) {
        cadu_context *ctx = ud;
        ctx->progress(ctx->progress_userdata, "info", done, total);
}

int cadu_index_survey(cadu_context *ctx, const char *const *indexes, cadu_store *store, unsigned flags,
                      cadu_survey_report **ret) {
        if (!ctx || !indexes || !indexes[0] || !ret || (flags & ~CADU_SURVEY_DOWNLOAD))
                return -EINVAL;
        cadu_context_clear_error(ctx);
        const cadu_crypt_key *key = ctx->have_key ? &ctx->key : NULL;
        cadu_survey_report *rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        cadu_chunk_set all = CADU_CHUNK_SET_INIT;
        index_set l = { 0 };
        size_t n = 0;
        int r = 0;
        while (indexes[n])
                n++;
        if (!(l.idx = calloc(n + 1, sizeof(*l.idx)))) {
                r = -ENOMEM;
                goto out;
        }
        /* Every index in full: an encrypted one opened with the key. */
        for (size_t i = 0; i < n; i++, l.n++) {
                _cleanup_free_ uint8_t *buf = NULL;
                const char *why = NULL;
                size_t len;
                cadu_index_desc d;
                if ((r = cadu_read_file(indexes[i], CADU_INDEX_FILE_MAX, &buf, &len)) < 0) {
                        r = cadu_context_fail(ctx, r, "cannot read index %s", indexes[i]);
                        goto out;
                }
                if (cadu_crypt_index_is(buf, len)) {
                        if (!key) {
                                r = cadu_context_fail(ctx, -ENOKEY, "index %s is encrypted", indexes[i]);
                                goto out;
                        }
                        if ((r = open_sealed_index(ctx, key, indexes[i], &l.idx[i])) < 0)
                                goto out;
                } else if ((r = cadu_index_parse(buf, len, &l.idx[i], &why)) < 0) {
                        r = cadu_context_fail(ctx, r, "index %s: %s", indexes[i], why ? why : "cannot parse it");
                        goto out;
                }
                r = cadu_chunk_set_add_index(&all, l.idx[i], i < 64 ? UINT64_C(1) << i : 0);
                if (r >= 0)
                        r = cadu_index_describe(l.idx[i], &d);
                if (r < 0) {
                        r = cadu_context_fail(ctx, r, "index %s", indexes[i]);
                        goto out;
                }
                rep->stat[CADU_SURVEY_BYTES] += d.bytes;
                rep->stat[CADU_SURVEY_CHUNKS] += d.chunks;
        }
        rep->stat[CADU_SURVEY_DISTINCT_CHUNKS] = all.n;
        for (size_t i = 0; i < all.n; i++)
                rep->stat[CADU_SURVEY_DISTINCT_BYTES] += all.entries[i].size;
        if (store) {
                cadu_store *inner = cadu_store_crypt_inner(store);
                cadu_survey sv = { .store = store, .key = cadu_store_crypt_key(store), .set = &all,
                                   .download = flags & CADU_SURVEY_DOWNLOAD, .threads = store_threads(ctx, inner),
                                   .root = store_is_dir(inner) ? inner->location : NULL,
                                   .progress = ctx->progress ? survey_progress_fn : NULL, .userdata = ctx };
                if ((r = cadu_survey_run(&sv)) < 0) {
                        char hex[2 * CADU_DIGEST_SIZE + 1] = "?";
                        if (sv.failed)
                                cadu_hex_encode(all.entries[sv.failed - 1].id, CADU_DIGEST_SIZE, hex);
                        r = sv.open_failed ? cadu_context_fail(ctx, r, "cannot open store %s", inner->location)
                                           : cadu_context_fail(ctx, r, "store %s: chunk %s", store->location, hex);
                        goto out;
                }
                cadu_survey_tally t = cadu_survey_tally_of(&all);
                rep->have_store = true;
                rep->sizes_known = sv.sizes_known;
                rep->stat[CADU_SURVEY_PRESENT_CHUNKS] = t.present;
                rep->stat[CADU_SURVEY_PRESENT_BYTES] = t.present_bytes;
                rep->stat[CADU_SURVEY_STORED_BYTES] = t.raw;
                rep->stat[CADU_SURVEY_MISSING_CHUNKS] = t.missing;
                rep->stat[CADU_SURVEY_MISSING_BYTES] = t.missing_bytes;
        }
        *ret = rep;
        rep = NULL;
        r = 0;
out:
        index_set_done(&l);
        cadu_chunk_set_done(&all);
        cadu_chunk_codec_release();
        free(rep);
        return r;
}

cadu_survey_report *cadu_survey_report_free(cadu_survey_report *rep) {
        free(rep);
        return NULL;
}

int cadu_survey_report_get(const cadu_survey_report *rep, cadu_survey_stat stat, uint64_t *ret) {
        if (!rep || !ret || (unsigned)stat > CADU_SURVEY_MISSING_BYTES)
                return -EINVAL;
        if (stat >= CADU_SURVEY_PRESENT_CHUNKS && !rep->have_store)
                return -ENODATA;
        if (stat == CADU_SURVEY_STORED_BYTES && !rep->sizes_known)
                return -ENODATA;
        *ret = rep->stat[stat];
        return 0;
}

/* ---- mirror ---- */

struct cadu_mirror_report {
        uint64_t stat[CADU_MIRROR_STAT_DELTAS + 1];
};

static void mirror_progress_fn(void *ud, uint64_t done, uint64_t total) {
        cadu_context *ctx = ud;
        ctx->progress(ctx->progress_userdata, "mirror", done, total);
}

int cadu_store_mirror(cadu_context *ctx, cadu_store *src, cadu_store *dst, const char *const *indexes,
                      const char *const *except_indexes, unsigned flags, cadu_mirror_report **ret) {
        if (!ctx || !src || !dst || !indexes || !indexes[0] || !ret || flags)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        /* Chunk files are copied as they are: encrypted ones by name. */
        src = cadu_store_crypt_inner(src);
        dst = cadu_store_crypt_inner(dst);
        if (!store_is_dir(dst))
                return cadu_context_fail(ctx, -EROFS, "mirror into %s: not a directory store", dst->location);
        cadu_mirror_report *rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        cadu_chunk_set all = CADU_CHUNK_SET_INIT, except = CADU_CHUNK_SET_INIT, need = CADU_CHUNK_SET_INIT;
        index_set l = { 0 }, ex = { 0 };
        cadu_mirror m = { .src = src, .dst = dst, .set = &need, .threads = store_threads(ctx, src),
                          .progress = ctx->progress ? mirror_progress_fn : NULL, .userdata = ctx };
        int r = read_indexes(ctx, indexes, &l, &all);
        if (r == 0 && except_indexes)
                r = read_indexes(ctx, except_indexes, &ex, &except);
        if (r < 0)
                goto out;
        /* Minus what the devices already have. */
        for (size_t i = 0; i < all.n; i++) {
                cadu_chunk_entry *e;
                if (cadu_chunk_set_find(&except, all.entries[i].id))
                        continue;
                if ((r = cadu_chunk_set_add(&need, all.entries[i].id, &e)) < 0) {
                        r = cadu_context_fail(ctx, r, "mirror");
                        goto out;
                }
                *e = all.entries[i];
        }
        if ((r = cadu_mirror_run(&m)) < 0) {
                char hex[2 * CADU_DIGEST_SIZE + 1];
                if (m.fatal)
                        cadu_hex_encode(need.entries[m.fatal_entry].id, CADU_DIGEST_SIZE, hex);
                r = m.fatal ? cadu_context_fail(ctx, r, "mirror into %s: chunk %s", dst->location, hex)
                            : cadu_context_fail(ctx, r, "mirror");
                goto out;
        }
        uint64_t problems = 0;
        for (size_t i = 0; i < need.n; i++) {
                const cadu_chunk_entry *e = &need.entries[i];
                char hex[2 * CADU_DIGEST_SIZE + 1];
                if (e->state == CADU_MIRROR_PRESENT || e->state == CADU_MIRROR_COPIED)
                        continue;
                problems++;
                cadu_hex_encode(e->id, CADU_DIGEST_SIZE, hex);
                if (e->state == CADU_MIRROR_MISSING) {
                        rep->stat[CADU_MIRROR_STAT_MISSING]++;
                        cadu_context_log(ctx, CADU_LOG_WARNING, "missing %s", hex);
                        continue;
                }
                rep->stat[e->state == CADU_MIRROR_CORRUPT ? CADU_MIRROR_STAT_CORRUPT : CADU_MIRROR_STAT_ERRORS]++;
                cadu_context_log(ctx, CADU_LOG_WARNING, "%s %s: %s", e->state == CADU_MIRROR_CORRUPT ? "corrupt" : "error",
                                 hex, cadu_errstr(m.errs[i]));
        }
        rep->stat[CADU_MIRROR_STAT_CHUNKS] = need.n;
        rep->stat[CADU_MIRROR_STAT_BYTES] = m.total;
        rep->stat[CADU_MIRROR_STAT_PRESENT] = atomic_load(&m.present);
        rep->stat[CADU_MIRROR_STAT_COPIED] = atomic_load(&m.copied);
        rep->stat[CADU_MIRROR_STAT_COPIED_BYTES] = atomic_load(&m.copied_raw);
        rep->stat[CADU_MIRROR_STAT_REPAIRED] = atomic_load(&m.repaired);
        /* The releases' packs, pack indexes and delta files, once every
         * chunk is there; an encrypted release by the sha256 of its index. */
        cadu_packs_stats ps = { 0 };
        for (size_t i = 0; !problems && i < l.n; i++) {
                uint8_t sha[CADU_DIGEST_SIZE];
                _cleanup_free_ char *msg = NULL;
                if ((r = cadu_sha256_file(indexes[i], sha, NULL)) < 0) {
                        r = cadu_context_fail(ctx, r, "index %s", indexes[i]);
                        goto out;
                }
                if ((r = cadu_packs_mirror(src, dst->location, l.idx[i], sha, &ps, &msg)) < 0) {
                        r = cadu_context_fail(ctx, r, "mirror: %s", msg ? msg : "packs");
                        goto out;
                }
        }
        rep->stat[CADU_MIRROR_STAT_PACKS] = ps.packs;
        rep->stat[CADU_MIRROR_STAT_DELTAS] = ps.deltas;
        *ret = rep;
        rep = NULL;
        r = 0;
out:
        cadu_mirror_done(&m);
        index_set_done(&l);
        index_set_done(&ex);
        cadu_chunk_set_done(&all);
        cadu_chunk_set_done(&except);
        cadu_chunk_set_done(&need);
        cadu_chunk_codec_release();
        free(rep);
        return r;
}

/* The release mirror's failure r: its line becomes the last error. */
static int release_fail(cadu_context *ctx, const cadu_release_mirror *rm, int r) {
        if (rm->error)
                cadu_context_log(ctx, CADU_LOG_ERR, "%s", rm->error);
        else
                cadu_context_fail(ctx, r, "mirror");
        return r;
}

int cadu_manifest_mirror(cadu_context *ctx, const char *manifest, const char *from, const char *to,
                         const char *const *except_indexes, unsigned flags, cadu_mirror_report **ret) {
        if (!ctx || !manifest || !to || !ret || flags)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        if (cadu_location_is_url(to) || strstr(to, "://"))
                return cadu_context_fail(ctx, -EINVAL, "mirror into %s: not a local directory", to);
        cadu_mirror_report *rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        cadu_release_mirror rm = CADU_RELEASE_MIRROR_INIT;
        cadu_chunk_set except = CADU_CHUNK_SET_INIT;
        cadu_packs_stats ps = { 0 };
        index_set ex = { 0 };
        uint64_t problems = 0;
        int r = 0;
        rm.to = to;
        rm.opts = &ctx->storeopts.opts;
        if ((r = cadu_release_mirror_lock(&rm)) < 0 || (r = cadu_release_mirror_plan(&rm, manifest, from)) < 0 ||
            (r = cadu_release_mirror_clean(&rm)) < 0) {
                r = release_fail(ctx, &rm, r);
                goto out;
        }
        if (except_indexes && (r = read_indexes(ctx, except_indexes, &ex, &except)) < 0)
                goto out;
        for (size_t k = 0; k < rm.njobs; k++) {
                cadu_mirror_job *j = &rm.jobs[k];
                if ((r = cadu_release_mirror_open(&rm, j)) < 0) {
                        r = release_fail(ctx, &rm, r);
                        goto out;
                }
                j->m.threads = store_threads(ctx, j->m.src);
                j->m.progress = ctx->progress ? mirror_progress_fn : NULL;
                j->m.userdata = ctx;
                if ((r = cadu_release_mirror_copy(&rm, j, &except)) < 0) {
                        r = release_fail(ctx, &rm, r);
                        goto out;
                }
                for (size_t i = 0; i < j->need.n; i++) {
                        const cadu_chunk_entry *e = &j->need.entries[i];
                        char hex[2 * CADU_DIGEST_SIZE + 1];
                        if (e->state == CADU_MIRROR_PRESENT || e->state == CADU_MIRROR_COPIED)
                                continue;
                        cadu_hex_encode(e->id, CADU_DIGEST_SIZE, hex);
                        if (e->state == CADU_MIRROR_MISSING)
                                cadu_context_log(ctx, CADU_LOG_WARNING, "missing %s", hex);
                        else
                                cadu_context_log(ctx, CADU_LOG_WARNING, "%s %s: %s",
                                                 e->state == CADU_MIRROR_CORRUPT ? "corrupt" : "error", hex,
                                                 cadu_errstr(j->m.errs[i]));
                }
                uint64_t *st = rep->stat;
                st[CADU_MIRROR_STAT_CHUNKS] += j->need.n;
                st[CADU_MIRROR_STAT_BYTES] += j->m.total;
                st[CADU_MIRROR_STAT_PRESENT] += atomic_load(&j->m.present);
                st[CADU_MIRROR_STAT_COPIED] += atomic_load(&j->m.copied);
                st[CADU_MIRROR_STAT_COPIED_BYTES] += atomic_load(&j->m.copied_raw);
                st[CADU_MIRROR_STAT_REPAIRED] += atomic_load(&j->m.repaired);
                st[CADU_MIRROR_STAT_MISSING] += j->nmissing;
                st[CADU_MIRROR_STAT_CORRUPT] += j->ncorrupt;
                st[CADU_MIRROR_STAT_ERRORS] += j->nerror;
                problems += j->nmissing + j->ncorrupt + j->nerror;
                /* A job's packs once its chunks are all there. */
                if (!(j->nmissing + j->ncorrupt + j->nerror) && (r = cadu_release_mirror_packs(&rm, j, &ps)) < 0) {
                        r = release_fail(ctx, &rm, r);
                        goto out;
                }
                cadu_mirror_job_close(j);
        }
        rep->stat[CADU_MIRROR_STAT_PACKS] = ps.packs;
        rep->stat[CADU_MIRROR_STAT_DELTAS] = ps.deltas;
        /* The manifest's files, the manifest last: only a complete mirror. */
        if (!problems && (r = cadu_release_mirror_files(&rm)) < 0) {
                r = release_fail(ctx, &rm, r);
                goto out;
        }
        *ret = rep;
        rep = NULL;
        r = 0;
out:
        cadu_release_mirror_done(&rm);
        index_set_done(&ex);
        cadu_chunk_set_done(&except);
        cadu_chunk_codec_release();
        free(rep);
        return r;
}

cadu_mirror_report *cadu_mirror_report_free(cadu_mirror_report *rep) {
        free(rep);
        return NULL;
}

int cadu_mirror_report_get(const cadu_mirror_report *rep, cadu_mirror_stat stat, uint64_t *ret) {
        if (!rep || !ret || (unsigned)stat > CADU_MIRROR_STAT_DELTAS)
                return -EINVAL;
        *ret = rep->stat[stat];
        return 0;
}
