/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gc.c - the engine of cadu gc and cadu_store_gc() (gc.h): one walk of the
 * directory store deleting unreferenced chunk files and old temporary
 * files, then the packs step (store-packs.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cadu-store.h"
#include "cadu-util.h"
#include "gc.h"

static int gc_delete(cadu_gc *g, const cadu_store_entry *e) {
        if (!g->dry_run && unlinkat(e->dfd, e->name, 0) < 0) {
                if (errno == ENOENT)
                        return 0;       /* gone already */
                int r = -errno;
                g->failed = strdup(e->path);
                return r;
        }
        g->cur_deleted++;
        if (g->deleted)
                g->deleted(g->userdata, e->path);
        return 1;
}

static int gc_entry(void *ud, const cadu_store_entry *e) {
        cadu_gc *g = ud;
        uint64_t size = (uint64_t)e->st.st_size;
        bool young = (int64_t)e->st.st_mtime >= g->cutoff;
        cadu_chunk_entry *ref;
        int r;
        switch (e->kind) {
        case CADU_STORE_NAME_CHUNK:
                if ((ref = cadu_chunk_set_find(&g->set, e->id))) {
                        ref->state = CHUNK_PRESENT;
                        g->kept++;
                        g->kept_bytes += size;
                } else if (young) {
                        g->young++;
                        g->young_bytes += size;
                } else {
                        if ((r = gc_delete(g, e)) < 0)
                                return r;
                        if (r > 0) {
                                g->deleted_chunks++;
                                g->deleted_bytes += size;
                        }
                }
                return 0;
        case CADU_STORE_NAME_TEMP:
                if (young) {
                        g->temp_young++;
                        return 0;
                }
                if ((r = gc_delete(g, e)) < 0)
                        return r;
                if (r > 0) {
                        g->temp_deleted++;
                        g->temp_bytes += size;
                }
                return 0;
        default:
                g->other++;
                return 0;
        }
}

/* Is chunk id still in the store after this gc: referenced, or a file
 * younger than the grace period? (For the delta files of packs.) */
static bool gc_chunk_kept(void *ud, const uint8_t id[CADU_DIGEST_SIZE]) {
        cadu_gc *g = ud;
        char rel[CADU_CHUNK_PATH_MAX];
        _cleanup_free_ char *path = NULL;
        struct stat st;
        if (cadu_chunk_set_find(&g->set, id))
                return true;
        cadu_chunk_path(id, rel);
        return asprintf(&path, "%s/%s", g->root, rel) >= 0 && stat(path, &st) == 0 && (int64_t)st.st_mtime >= g->cutoff;
}

static void gc_deleted(void *ud, const char *path) {
        cadu_gc *g = ud;
        if (g->deleted)
                g->deleted(g->userdata, path);
}

static int gc_prefix_done(void *ud, int dfd, const char *prefix, size_t nentries, const struct stat *st) {
        cadu_gc *g = ud;
        size_t deleted = g->cur_deleted;
        g->cur_deleted = 0;
        /* Remove a directory we emptied, or found empty, unless it changed
         * within the grace period before we looked (a writer may be about
         * to create a chunk in it). */
        if (deleted != nentries || (int64_t)st->st_mtime >= g->cutoff)
                return 0;
        if (!g->dry_run && unlinkat(dfd, prefix, AT_REMOVEDIR) < 0)
                return 0;       /* not empty after all (a writer), or gone */
        g->dirs_removed++;
        return 0;
}

/* What failed, for the caller's message. Returns r. */
__attribute__((format(printf, 3, 4)))
static int fail(cadu_gc *g, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        free(g->error);
        if (vasprintf(&g->error, fmt, ap) < 0)
                g->error = NULL;
        va_end(ap);
        return r;
}

int cadu_gc_run(cadu_gc *g) {
        _cleanup_free_ char *where = NULL;
        cadu_store_walker w = { .entry = gc_entry, .prefix_done = gc_prefix_done, .userdata = g };
        int r = cadu_store_walk(g->root, &w, &where);
        if (r < 0) {
                if (g->failed)
                        return fail(g, r, "gc %s: cannot delete %s", g->root, g->failed);
                return fail(g, r, "gc: reading store %s", where ? where : g->root);
        }
        /* Then the packs, pack indexes and delta files. */
        _cleanup_free_ uint8_t(*shas)[CADU_DIGEST_SIZE] = calloc(g->n + 1, CADU_DIGEST_SIZE);
        _cleanup_free_ uint8_t(*sealed)[CADU_DIGEST_SIZE] = calloc(g->n + 1, CADU_DIGEST_SIZE);
        _cleanup_free_ cadu_index **plain = calloc(g->n + 1, sizeof(*plain));
        _cleanup_free_ char *msg = NULL;
        size_t np = 0, ns = 0;
        r = shas && sealed && plain ? 0 : -ENOMEM;
        /* Encrypted indexes name sealed pack indexes by their own sha256. */
        for (size_t i = 0; r == 0 && i < g->n; i++)
                if (!g->idx[i])
                        r = cadu_sha256_file(g->paths[i], sealed[ns++], NULL);
                else if ((r = cadu_sha256_file(g->paths[i], shas[np], NULL)) == 0)
                        plain[np++] = g->idx[i];
        if (r == 0)
                r = cadu_packs_gc(g->root, (const uint8_t(*)[CADU_DIGEST_SIZE])shas, plain, np,
                                  (const uint8_t(*)[CADU_DIGEST_SIZE])sealed, ns, gc_chunk_kept, gc_deleted, g,
                                  g->cutoff, g->dry_run, &g->packs, &msg);
        if (r < 0)
                return fail(g, r, "gc %s: %s", g->root, msg ? msg : "packs");
        g->missing = 0;
        for (size_t i = 0; i < g->set.n; i++)
                g->missing += g->set.entries[i].state != CHUNK_PRESENT;
        return 0;
}

void cadu_gc_done(cadu_gc *g) {
        free(g->failed);
        free(g->error);
        g->failed = g->error = NULL;
        cadu_chunk_set_done(&g->set);
}
