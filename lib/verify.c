/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verify.c - the engine of cadu verify-store and cadu_store_verify()
 * (verify.h): the store listed on several threads, then every chunk read,
 * decompressed with a size cap and re-hashed on several threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadu-chunker.h"
#include "cadu-crypt.h"
#include "cadu-store.h"
#include "cadu-util.h"
#include "store-packs.h"
#include "verify.h"

/* What one thread found listing prefix directories: the chunk files (when
 * no index says which to check), the stray files, and (with indexes) the
 * chunks no index names. The walk stats no chunk file; the check does. */
typedef struct found_chunk {
        uint8_t id[CADU_DIGEST_SIZE];
} found_chunk;

typedef struct lister {
        const cadu_verify *v;
        found_chunk *chunks;
        size_t nchunks, achunks;
        cadu_verify_stray *strays;
        size_t nstrays, astrays;
        uint64_t unreferenced;
        char *where;                    /* what could not be read */
} lister;

typedef struct listing {
        int rootfd;
        const char *root;
        cadu_store_prefix *prefixes;
        lister *listers;                /* per worker */
        cadu_store_walker *walkers;     /* per worker */
} listing;

/* An encrypted chunk file, named by its keyed name e->id: its structure,
 * and with the key its tag, content and name (doc/encryption.md). */
static int verify_sealed(cadu_verify *v, const cadu_chunk_entry *e, cadu_verify_result *res, cadu_buf *raw, cadu_buf *out,
                         size_t max) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE], got[CADU_DIGEST_SIZE], name[CADU_CRYPT_NAME_SIZE];
        char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        size_t n;
        if (cadu_crypt_chunk_check(raw->data, raw->len, key_id) < 0) {
                res->kind = CADU_CHECK_CORRUPT;
                res->why = strdup("encrypted chunk file is truncated");
                return 0;
        }
        if (!v->key)
                return 0;
        int r = cadu_crypt_chunk_open(v->key, e->id, raw->data, raw->len, &n);
        if (r == -EKEYREJECTED) {
                res->kind = CADU_CHECK_CORRUPT;
                cadu_crypt_key_id_hex(key_id, have);
                if (asprintf(&res->why, "encrypted under another key (%s)", have) < 0)
                        res->why = NULL;
                return 0;
        }
        if (r < 0) {
                res->kind = CADU_CHECK_CORRUPT;
                res->why = strdup("does not authenticate under the store key (altered, truncated or moved)");
                return 0;
        }
        r = cadu_chunk_decode(raw->data, n, max, out);
        if (r == -EBADMSG || r == -EFBIG) {
                res->kind = CADU_CHECK_CORRUPT;
                res->why = strdup("compressed data is corrupt");
                return 0;
        }
        if (r < 0)
                return r;
        v->bytes += out->len;
        bool match = false;
        for (int k = 0; k < 2 && !match; k++) {
                if ((r = cadu_digest(k == 0 ? CADU_DIGEST_SHA256 : CADU_DIGEST_SHA512_256, out->data, out->len, got)) < 0 ||
                    (r = cadu_crypt_chunk_name(v->key, got, name)) < 0)
                        return r;
                match = !memcmp(name, e->id, CADU_CRYPT_NAME_SIZE);
        }
        if (!match) {
                res->kind = CADU_CHECK_CORRUPT;
                res->why = strdup("content does not match its keyed name");
        }
        return 0;
}

static int verify_one(void *ud, size_t i, unsigned w) {
        cadu_verify *v = ud;
        cadu_chunk_entry *e = &v->set.entries[i];
        cadu_verify_result *res = &v->res[i];
        cadu_buf *raw = &v->raw[w], *out = &v->out[w];
        int r;

        /* Progress: the bytes the indexes say, or chunks of a listed store. */
        v->done += v->index_mode ? e->size : 1;
        if (e->state == CHUNK_MISSING) {
                res->kind = CADU_CHECK_MISSING;
                return 0;
        }
        if (v->head_only) {
                r = v->store->ops->has(v->store, e->id);
                if (r < 0) {
                        res->kind = CADU_CHECK_ERROR;
                        res->err = r;
                } else
                        res->kind = r ? CADU_CHECK_OK : CADU_CHECK_MISSING;
                return 0;
        }
        size_t max = (size_t)(e->max_size ? e->max_size : CADU_CHUNK_SIZE_MAX_LIMIT);
        r = v->store->ops->get(v->store, e->id, cadu_chunk_max_raw(max), raw);
        if (r == -ENOENT) {
                res->kind = CADU_CHECK_MISSING;
                return 0;
        }
        if (r == -EFBIG || r == -EBADMSG) {
                res->kind = CADU_CHECK_CORRUPT;
                res->why = strdup(r == -EFBIG ? "chunk file larger than any chunk can compress to"
                                              : "not a regular file, or changed while read");
                return 0;
        }
        if (r < 0) {
                res->kind = CADU_CHECK_ERROR;
                res->err = r;
                return 0;
        }
        v->raw_bytes += raw->len;
        if (raw->len >= CADU_CRYPT_MAGIC_SIZE && !memcmp(raw->data, CADU_CRYPT_CHUNK_MAGIC, CADU_CRYPT_MAGIC_SIZE))
                return verify_sealed(v, e, res, raw, out, max);
        r = cadu_chunk_decode(raw->data, raw->len, max, out);
        if (r == -EBADMSG || r == -EFBIG) {
                res->kind = CADU_CHECK_CORRUPT;
                if (r == -EBADMSG)
                        res->why = strdup("compressed data is corrupt");
                else if (asprintf(&res->why, "decompresses to more than %zu bytes", max) < 0)
                        res->why = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        v->bytes += out->len;
        if (e->size && out->len != e->size) {
                res->kind = CADU_CHECK_CORRUPT;
                if (asprintf(&res->why, "decompresses to %zu bytes, the index says %llu", out->len,
                             (unsigned long long)e->size) < 0)
                        res->why = NULL;
                return 0;
        }
        uint8_t got[CADU_DIGEST_SIZE];
        bool match = false;
        for (int k = 0; k < 2 && !match; k++) {
                cadu_digest_type t = v->have_digest ? (e->size ? e->digest : v->digest)
                                                    : (k == 0 ? CADU_DIGEST_SHA256 : CADU_DIGEST_SHA512_256);
                if ((r = cadu_digest(t, out->data, out->len, got)) < 0)
                        return r;
                match = !memcmp(got, e->id, CADU_DIGEST_SIZE);
                if (v->have_digest)
                        break;
        }
        if (!match) {
                res->kind = CADU_CHECK_CORRUPT;
                res->why = strdup("content does not match its id");
        }
        return 0;
}

static int list_entry(void *ud, const cadu_store_entry *e) {
        lister *l = ud;
        if (e->kind == CADU_STORE_NAME_CHUNK) {
                if (l->v->index_mode) {
                        /* The set is not changed while the threads list:
                         * lookups are safe, and each entry is found by
                         * exactly one thread. */
                        cadu_chunk_entry *ce = cadu_chunk_set_find(&l->v->set, e->id);
                        if (ce) {
                                ce->state = CHUNK_PRESENT;
                                return 0;
                        }
                        l->unreferenced++;
                        return 0;
                }
                if (CADU_ARRAY_GROW(l->chunks, l->achunks, l->nchunks, 64) < 0)
                        return -ENOMEM;
                memcpy(l->chunks[l->nchunks++].id, e->id, CADU_DIGEST_SIZE);
                return 0;
        }
        if (S_ISDIR(e->st.st_mode) && !strchr(e->path, '/') && cadu_packs_known_dir(e->path))
                return 0;       /* packs, delta files, sketches: checked through the indexes */
        if (CADU_ARRAY_GROW(l->strays, l->astrays, l->nstrays, 64) < 0)
                return -ENOMEM;
        cadu_verify_stray *st = &l->strays[l->nstrays];
        if (!(st->path = strdup(e->path)))
                return -ENOMEM;
        st->why = e->kind == CADU_STORE_NAME_TEMP ? "leftover temporary file" : e->why;
        l->nstrays++;
        return 0;
}

static int list_one(void *ud, size_t i, unsigned w) {
        listing *ls = ud;
        return cadu_store_walk_prefix(ls->rootfd, ls->root, &ls->prefixes[i], &ls->walkers[w],
                                      &ls->listers[w].where);
}

static int cmp_stray(const void *a, const void *b) {
        return strcmp(((const cadu_verify_stray *)a)->path, ((const cadu_verify_stray *)b)->path);
}

/* What failed, for the caller's message. Returns r. */
static int fail(cadu_verify *v, int r, const char *what, const char *path) {
        free(v->error);
        if (asprintf(&v->error, "%s%s%s", what, path ? " " : "", path ? path : "") < 0)
                v->error = NULL;
        return r;
}

/* List the directory store: its prefix directories on nt threads. Every
 * chunk file found is marked present in v->set (index mode: unknown ones
 * are counted as unreferenced; otherwise they are added); everything else
 * becomes a stray, sorted by path. Returns 0 or -errno. */
static int list_store(cadu_verify *v, const char *root, unsigned nt) {
        listing ls = { .root = root };
        size_t nprefixes = 0;
        int ret = 0, r;
        ls.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ls.rootfd < 0)
                return fail(v, -errno, "cannot open store", root);
        ls.listers = calloc(nt, sizeof(lister));
        ls.walkers = calloc(nt, sizeof(cadu_store_walker));
        if (!ls.listers || !ls.walkers) {
                ret = fail(v, -ENOMEM, "verify-store", NULL);
                goto out;
        }
        for (unsigned k = 0; k < nt; k++) {
                ls.listers[k].v = v;
                ls.walkers[k] = (cadu_store_walker){ .entry = list_entry, .userdata = &ls.listers[k],
                                                     .types_only = true };
        }
        r = cadu_store_list_prefixes(ls.rootfd, root, &ls.walkers[0], &ls.prefixes, &nprefixes, &ls.listers[0].where);
        if (r >= 0)
                r = cadu_parallel_for(nprefixes, nt, list_one, NULL, &ls);
        if (r < 0) {
                const char *where = root;
                for (unsigned k = 0; k < nt; k++)
                        if (ls.listers[k].where) {
                                where = ls.listers[k].where;
                                break;
                        }
                ret = fail(v, r, "reading store", where);
                goto out;
        }
        /* Merge what the threads found. */
        for (unsigned k = 0; k < nt; k++) {
                lister *l = &ls.listers[k];
                v->unreferenced += l->unreferenced;
                for (size_t i = 0; i < l->nchunks; i++) {
                        cadu_chunk_entry *ce;
                        if ((r = cadu_chunk_set_add(&v->set, l->chunks[i].id, &ce)) < 0) {
                                ret = fail(v, r, "verify-store", NULL);
                                goto out;
                        }
                        ce->max_size = CADU_CHUNK_SIZE_MAX_LIMIT;
                        ce->state = CHUNK_PRESENT;
                }
                if (l->nstrays) {
                        cadu_verify_stray *n = realloc(v->strays, (v->nstrays + l->nstrays) * sizeof(cadu_verify_stray));
                        if (!n) {
                                ret = fail(v, -ENOMEM, "verify-store", NULL);
                                goto out;
                        }
                        v->strays = n;
                        memcpy(v->strays + v->nstrays, l->strays, l->nstrays * sizeof(cadu_verify_stray));
                        v->nstrays += l->nstrays;
                        l->nstrays = 0;         /* the paths belong to v now */
                }
        }
        if (v->nstrays)
                qsort(v->strays, v->nstrays, sizeof(cadu_verify_stray), cmp_stray);
        for (size_t i = 0; v->index_mode && i < v->set.n; i++)
                if (v->set.entries[i].state != CHUNK_PRESENT)
                        v->set.entries[i].state = CHUNK_MISSING;
out:
        for (unsigned k = 0; ls.listers && k < nt; k++) {
                for (size_t i = 0; i < ls.listers[k].nstrays; i++)
                        free(ls.listers[k].strays[i].path);
                free(ls.listers[k].strays);
                free(ls.listers[k].chunks);
                free(ls.listers[k].where);
        }
        free(ls.listers);
        free(ls.walkers);
        free(ls.prefixes);
        close(ls.rootfd);
        return ret;
}

static int cmp_entry_id(const void *a, const void *b) {
        return memcmp(((const cadu_chunk_entry *)a)->id, ((const cadu_chunk_entry *)b)->id, CADU_DIGEST_SIZE);
}

/* Between items: total is for the end alone (other workers may finish the
 * last items before the loop does). */
static void progress_step(void *ud) {
        cadu_verify *v = ud;
        uint64_t done = atomic_load(&v->done);
        if (v->progress && done < v->total)
                v->progress(v->userdata, done, v->total);
}

int cadu_verify_run(cadu_verify *v) {
        unsigned nt = v->threads ? v->threads : 1;
        int r;
        v->threads = nt;
        /* List the store: chunks, and everything that is not one. */
        if (v->root && (r = list_store(v, v->root, nt)) < 0)
                return r;
        /* Report in id order whatever the threads did. */
        if (v->set.n)
                qsort(v->set.entries, v->set.n, sizeof(*v->set.entries), cmp_entry_id);
        free(v->set.slots);     /* the order changed; no more lookups */
        v->set.slots = NULL;
        v->set.cap = 0;

        v->res = calloc(v->set.n + 1, sizeof(*v->res));
        v->raw = calloc(nt, sizeof(cadu_buf));
        v->out = calloc(nt, sizeof(cadu_buf));
        if (!v->res || !v->raw || !v->out)
                return fail(v, -ENOMEM, "verify-store", NULL);
        /* Progress: the uncompressed bytes the indexes name, or (a whole
         * store, whose listing stats no file) chunks. */
        v->total = 0;
        if (v->index_mode)
                for (size_t i = 0; i < v->set.n; i++)
                        v->total += v->set.entries[i].size;
        else
                v->total = v->set.n;
        if (v->progress)
                v->progress(v->userdata, 0, v->total);
        r = cadu_parallel_for(v->set.n, nt, verify_one, progress_step, v);
        if (r < 0)
                return fail(v, r, "verify-store", v->store->location);
        if (v->progress && v->total)
                v->progress(v->userdata, v->total, v->total);
        return 0;
}

void cadu_verify_done(cadu_verify *v) {
        for (size_t i = 0; v->res && i < v->set.n; i++)
                free(v->res[i].why);
        for (size_t i = 0; i < v->nstrays; i++)
                free(v->strays[i].path);
        for (unsigned k = 0; k < v->threads && v->raw && v->out; k++) {
                cadu_buf_free(&v->raw[k]);
                cadu_buf_free(&v->out[k]);
        }
        free(v->raw);
        free(v->out);
        free(v->res);
        free(v->strays);
        free(v->error);
        v->raw = v->out = NULL;
        v->res = NULL;
        v->strays = NULL;
        v->nstrays = 0;
        v->error = NULL;
        cadu_chunk_set_done(&v->set);
        cadu_chunk_codec_release();
}
