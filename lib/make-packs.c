/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pack step of cadu make: see make-packs.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "cadu-crypt.h"
#include "cadu-delta.h"
#include "cadu-pack.h"
#include "make-packs.h"

/* A file of the store that may go into a pack for one chunk. */
typedef struct cand {
        char *path;
        uint64_t len;
        uint32_t nbases;                /* 0: the chunk file */
        uint8_t bases[CADU_PACK_MAX_BASES][CADU_DIGEST_SIZE];
        int pack;                       /* 0 primary, 1 secondary, -1 not packed */
        uint64_t off;
} cand;

typedef struct newchunk {
        size_t pos;                     /* in the index */
        cand *cands;                    /* the preferred (smallest) first */
        size_t n;
} newchunk;

/* An entry of an earlier pack, found through its catalog. */
typedef struct ref {
        const uint8_t *id;
        uint32_t cat, entry;
} ref;

typedef struct pack_writer {
        int fd;
        char *tmp;
        cadu_digest_ctx *dc;
        cadu_pack_catalog *cat;
        uint8_t id[CADU_DIGEST_SIZE];
} pack_writer;

typedef struct packer {
        const char *store_dir;
        const cadu_crypt_key *key;      /* an encrypted store: sealed files, keyed names */
        const cadu_index *idx;
        char *packs_dir;
        cadu_pack_catalog **cats;
        size_t ncats, acats;
        ref *refs;
        size_t nrefs, arefs;
        newchunk *news;
        size_t nnews, anews;
        cadu_buf buf;
        char *errmsg;
} packer;

static int fail(packer *p, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(packer *p, int r, const char *fmt, ...) {
        va_list ap;
        if (!p->errmsg) {
                va_start(ap, fmt);
                if (vasprintf(&p->errmsg, fmt, ap) < 0)
                        p->errmsg = NULL;
                va_end(ap);
        }
        return r;
}

static int ref_cmp(const void *a, const void *b) {
        return memcmp(((const ref *)a)->id, ((const ref *)b)->id, CADU_DIGEST_SIZE);
}

/* Read every catalog whose pack is present and of the size it says. */
static int load_catalogs(packer *p) {
        DIR *d = opendir(p->packs_dir);
        struct dirent *de;
        int r = 0;
        if (!d)
                return errno == ENOENT ? 0 : fail(p, -errno, "cannot read %s", p->packs_dir);
        while (r == 0 && (de = readdir(d))) {
                uint8_t id[CADU_DIGEST_SIZE];
                _cleanup_free_ char *path = NULL, *pack = NULL;
                _cleanup_free_ uint8_t *raw = NULL;
                cadu_pack_catalog *c = NULL;
                const char *why = NULL;
                struct stat st;
                size_t len;
                if (!cadu_pack_name_parse(de->d_name, CADU_PACKCAT_SUFFIX, id))
                        continue;
                if (asprintf(&path, "%s/%s", p->packs_dir, de->d_name) < 0 ||
                    asprintf(&pack, "%s/%.64s%s", p->packs_dir, de->d_name, CADU_PACK_SUFFIX) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (stat(pack, &st) < 0)
                        continue;       /* a pack being removed by gc: not there to reference */
                r = cadu_read_file(path, (size_t)1 << 30, &raw, &len);
                /* Packs of another kind or key (a plain release, an
                 * earlier key) hold entries this release cannot use. */
                uint8_t kid[CADU_CRYPT_KEY_ID_SIZE];
                bool sealed = r == 0 && cadu_crypt_sealed_check(CADU_CRYPT_PACKCAT_MAGIC, 0, raw, len, kid) == 0;
                if (r == 0 && (sealed != (p->key != NULL) || (p->key && memcmp(kid, p->key->id, sizeof(kid)) != 0)))
                        continue;
                size_t off = 0;
                if (r == 0 && p->key &&
                    (r = cadu_crypt_open(p->key, CADU_CRYPT_PACKCAT_MAGIC, 0, id, CADU_DIGEST_SIZE, raw, len, &off,
                                         &len)) < 0)
                        why = r == -EKEYREJECTED ? "sealed under another key" : "not a sealed catalog of this key";
                if (r == -EKEYREJECTED)
                        r = -EBADMSG;
                if (r == 0)
                        r = cadu_pack_catalog_parse(raw + off, len, id, &c, &why);
                if (r < 0) {
                        r = fail(p, r, "pack catalog %s%s%s", path, why ? ": " : "", why ? why : "");
                        break;
                }
                if ((uint64_t)st.st_size != cadu_pack_catalog_size(c)) {
                        r = fail(p, -EBADMSG, "pack %s: %llu bytes, its catalog says %llu", pack,
                                 (unsigned long long)st.st_size, (unsigned long long)cadu_pack_catalog_size(c));
                        cadu_pack_catalog_free(c);
                        break;
                }
                if (CADU_ARRAY_GROW(p->cats, p->acats, p->ncats, 16) < 0) {
                        cadu_pack_catalog_free(c);
                        r = -ENOMEM;
                        break;
                }
                p->cats[p->ncats++] = c;
        }
        closedir(d);
        for (size_t k = 0; r == 0 && k < p->ncats; k++)
                for (size_t e = 0; e < p->cats[k]->n; e++) {
                        if (CADU_ARRAY_GROW(p->refs, p->arefs, p->nrefs, 1024) < 0)
                                return -ENOMEM;
                        p->refs[p->nrefs++] = (ref){ p->cats[k]->entries[e].id, (uint32_t)k, (uint32_t)e };
                }
        if (r == 0 && p->nrefs)
                qsort(p->refs, p->nrefs, sizeof(ref), ref_cmp);
        return r;
}

/* The first of the refs to id, or NULL. */
static const ref *find_refs(const packer *p, const uint8_t *id, size_t *ret_n) {
        size_t lo = 0, hi = p->nrefs;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (memcmp(p->refs[mid].id, id, CADU_DIGEST_SIZE) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        size_t n = 0;
        while (lo + n < p->nrefs && !memcmp(p->refs[lo + n].id, id, CADU_DIGEST_SIZE))
                n++;
        *ret_n = n;
        return n ? &p->refs[lo] : NULL;
}

static int cand_cmp(const void *a, const void *b) {
        const cand *x = a, *y = b;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1;
        return (x->nbases > 0) - (y->nbases > 0);      /* a tie goes to the chunk file */
}

/* Add the delta files of target id (STORE/deltas/<4hex>/<hex>-*.cadelta)
 * to nc, keeping the CADU_PACK_MAX_ENTRIES - 1 smallest (a pack index entry
 * list always keeps room for the chunk file). */
static int collect_deltas(packer *p, newchunk *nc, const uint8_t *id) {
        char hex[2 * CADU_DIGEST_SIZE + 1];
        _cleanup_free_ char *dir = NULL;
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        /* Encrypted: the delta files are named by the target's keyed name. */
        if (p->key) {
                int r = cadu_crypt_chunk_name(p->key, id, name);
                if (r < 0)
                        return r;
        }
        cadu_hex_encode(p->key ? name : id, CADU_DIGEST_SIZE, hex);
        if (asprintf(&dir, "%s/deltas/%.4s", p->store_dir, hex) < 0)
                return -ENOMEM;
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : fail(p, -errno, "cannot read %s", dir);
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l != 64 + 1 + 16 + strlen(CADU_DELTA_SUFFIX) || memcmp(de->d_name, hex, 64) != 0 ||
                    de->d_name[64] != '-' || strcmp(de->d_name + 81, CADU_DELTA_SUFFIX) != 0)
                        continue;
                cand c = { .pack = -1 };
                cadu_delta_info info;
                if (asprintf(&c.path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                uint8_t *raw = NULL;
                size_t len;
                r = cadu_read_file(c.path, (size_t)cadu_pack_entry_max_len(p->idx, CADU_PACK_MAX_BASES), &raw, &len);
                /* The pack takes the file as it is; the catalog what it holds. */
                size_t off = 0, plen = len;
                uint8_t bind[CADU_CRYPT_DELTA_BIND];
                if (r == 0 && p->key && (r = cadu_crypt_delta_name_parse(de->d_name, bind)) == 0)
                        r = cadu_crypt_delta_open(p->key, bind, raw, len, &off, &plen);
                if (r == -EINVAL || r == -EKEYREJECTED)
                        r = -EBADMSG;
                if (r == 0)
                        r = cadu_delta_parse(raw + off, plen, &info);
                free(raw);
                if (r == 0 && (memcmp(info.target_id, id, CADU_DIGEST_SIZE) != 0 ||
                               len > cadu_pack_entry_max_len(p->idx, (uint32_t)info.nbases)))
                        r = -EBADMSG;
                if (r < 0) {
                        r = fail(p, r, "delta file %s", c.path);
                        free(c.path);
                        break;
                }
                c.len = len;
                c.nbases = (uint32_t)info.nbases;
                memcpy(c.bases, info.base_ids, sizeof(c.bases[0]) * info.nbases);
                cand *nn = realloc(nc->cands, (nc->n + 1) * sizeof(cand));
                if (!nn) {
                        free(c.path);
                        r = -ENOMEM;
                        break;
                }
                nc->cands = nn;
                nc->cands[nc->n++] = c;
        }
        closedir(d);
        if (r < 0)
                return r;
        /* The chunk file is cands[0]; keep the smallest deltas after it. */
        qsort(nc->cands + 1, nc->n - 1, sizeof(cand), cand_cmp);
        while (nc->n > CADU_PACK_MAX_ENTRIES)
                free(nc->cands[--nc->n].path);
        return 0;
}

/* The files that can serve chunk pos, smallest first. */
static int collect(packer *p, size_t pos) {
        const uint8_t *id = p->idx->items[pos].id;
        char rel[CADU_CHUNK_PATH_MAX];
        struct stat st;
        if (CADU_ARRAY_GROW(p->news, p->anews, p->nnews, 256) < 0)
                return -ENOMEM;
        newchunk *nc = &p->news[p->nnews];
        *nc = (newchunk){ .pos = pos };
        if (!(nc->cands = calloc(1, sizeof(cand))))
                return -ENOMEM;
        p->nnews++;
        if (p->key) {
                uint8_t name[CADU_CRYPT_NAME_SIZE];
                int r = cadu_crypt_chunk_name(p->key, id, name);
                if (r < 0)
                        return r;
                cadu_chunk_path(name, rel);
        } else
                cadu_chunk_path(id, rel);
        if (asprintf(&nc->cands[0].path, "%s/%s", p->store_dir, rel) < 0) {
                nc->cands[0].path = NULL;
                return -ENOMEM;
        }
        nc->n = 1;
        if (stat(nc->cands[0].path, &st) < 0)
                return fail(p, -errno, "chunk file %s", nc->cands[0].path);
        if (st.st_size <= 0 || (uint64_t)st.st_size > cadu_pack_entry_max_len(p->idx, 0))
                return fail(p, -EBADMSG, "chunk file %s: %lld bytes", nc->cands[0].path, (long long)st.st_size);
        nc->cands[0].len = (uint64_t)st.st_size;
        nc->cands[0].pack = -1;
        int r = collect_deltas(p, nc, id);
        if (r < 0)
                return r;
        qsort(nc->cands, nc->n, sizeof(cand), cand_cmp);
        return 0;
}

static int writer_open(packer *p, pack_writer *w) {
        *w = (pack_writer){ .fd = -1 };
        if (asprintf(&w->tmp, "%s/.pack-XXXXXX", p->packs_dir) < 0) {
                w->tmp = NULL;
                return -ENOMEM;
        }
        w->fd = mkostemp(w->tmp, O_CLOEXEC);
        if (w->fd < 0)
                return fail(p, -errno, "cannot create a pack in %s", p->packs_dir);
        if (fchmod(w->fd, 0644) < 0)
                return fail(p, -errno, "%s", w->tmp);
        if (!(w->dc = cadu_digest_new(CADU_DIGEST_SHA256)))
                return -ENOMEM;
        return cadu_pack_catalog_new(&w->cat);
}

static void writer_close(pack_writer *w) {
        if (w->fd >= 0) {
                close(w->fd);
                if (w->tmp)
                        unlink(w->tmp);
        }
        free(w->tmp);
        cadu_digest_free(w->dc);
        cadu_pack_catalog_free(w->cat);
        *w = (pack_writer){ .fd = -1 };
}

/* Copy candidate c of chunk id into the pack, checking it is still the
 * size it had. */
static int writer_add(packer *p, pack_writer *w, const uint8_t *id, cand *c, int which) {
        _cleanup_close_ int fd = open(c->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return fail(p, -errno, "cannot open %s", c->path);
        p->buf.len = 0;
        int r = cadu_buf_reserve(&p->buf, c->len + 1);
        if (r < 0)
                return r;
        ssize_t k = cadu_read_full(fd, p->buf.data, c->len + 1);
        if (k < 0)
                return fail(p, (int)k, "reading %s", c->path);
        if ((uint64_t)k != c->len)
                return fail(p, -ESTALE, "%s changed while packing", c->path);
        c->off = cadu_pack_catalog_size(w->cat);
        c->pack = which;
        if ((r = cadu_write_full(w->fd, p->buf.data, c->len)) < 0)
                return fail(p, r, "writing %s", w->tmp);
        if ((r = cadu_digest_update(w->dc, p->buf.data, c->len)) < 0)
                return r;
        return cadu_pack_catalog_add(w->cat, id, c->len, (const uint8_t(*)[CADU_DIGEST_SIZE])c->bases, c->nbases);
}

static int fsync_dir(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Name the pack by its sha256, then write its catalog. */
static int writer_commit(packer *p, pack_writer *w, cadu_make_packs_stats *st) {
        char rel[CADU_PACK_PATH_MAX];
        _cleanup_free_ char *path = NULL, *cpath = NULL;
        cadu_buf out = CADU_BUF_INIT;
        int r = cadu_digest_final(w->dc, w->id);
        if (r < 0)
                return r;
        if (fsync(w->fd) < 0)
                return fail(p, -errno, "writing %s", w->tmp);
        cadu_pack_path(w->id, CADU_PACK_SUFFIX, rel);
        if (asprintf(&path, "%s/%s", p->store_dir, rel) < 0)
                return -ENOMEM;
        cadu_pack_path(w->id, CADU_PACKCAT_SUFFIX, rel);
        if (asprintf(&cpath, "%s/%s", p->store_dir, rel) < 0)
                return -ENOMEM;
        if (rename(w->tmp, path) < 0)
                return fail(p, -errno, "renaming %s to %s", w->tmp, path);
        free(w->tmp);
        w->tmp = NULL;
        if ((r = fsync_dir(p->packs_dir)) < 0)
                return fail(p, r, "%s", p->packs_dir);
        memcpy(w->cat->pack_id, w->id, CADU_DIGEST_SIZE);
        r = cadu_pack_catalog_serialize(w->cat, &out);
        if (r == 0 && p->key) {
                cadu_buf sealed = CADU_BUF_INIT;
                r = cadu_crypt_seal(p->key, CADU_CRYPT_PACKCAT_MAGIC, NULL, 0, w->id, CADU_DIGEST_SIZE, out.data, out.len,
                                    &sealed);
                cadu_buf_free(&out);
                out = sealed;
        }
        if (r == 0 && (r = cadu_write_file_atomic(cpath, out.data, out.len)) < 0)
                r = fail(p, r, "writing %s", cpath);
        cadu_buf_free(&out);
        st->packs++;
        st->pack_bytes += cadu_pack_catalog_size(w->cat);
        return r;
}

/* Add chunk pos's entries to the pack index: those just packed, or those of
 * earlier packs (smallest first, at most CADU_PACK_MAX_ENTRIES, keeping a
 * chunk file among them). */
static int index_entries(packer *p, cadu_pack_index *pi, const uint32_t packid[2], const newchunk *nc, size_t pos) {
        int r;
        if (nc) {
                size_t k = 0;
                for (size_t c = 0; c < nc->n && k < CADU_PACK_MAX_ENTRIES; c++) {
                        const cand *cd = &nc->cands[c];
                        if (cd->pack < 0)
                                continue;
                        if ((r = cadu_pack_index_add_entry(pi, pos, packid[cd->pack], cd->off, cd->len,
                                                           (const uint8_t(*)[CADU_DIGEST_SIZE])cd->bases,
                                                           cd->nbases)) < 0)
                                return r;
                        k++;
                }
                return 0;
        }
        size_t n;
        const ref *rs = find_refs(p, p->idx->items[pos].id, &n);
        if (!rs)
                return 0;
        cand *cs = calloc(n, sizeof(cand));
        if (!cs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const cadu_pack_catalog *c = p->cats[rs[i].cat];
                const cadu_pack_catalog_entry *e = &c->entries[rs[i].entry];
                cs[i] = (cand){ .len = e->len, .nbases = e->nbases, .pack = (int)rs[i].cat, .off = e->off };
                for (uint32_t b = 0; b < e->nbases; b++)
                        memcpy(cs[i].bases[b], c->base_ids[e->bases + b], CADU_DIGEST_SIZE);
        }
        qsort(cs, n, sizeof(cand), cand_cmp);
        /* Keep a chunk file: move the first one into the last place kept. */
        size_t keep = CADU_MIN(n, (size_t)CADU_PACK_MAX_ENTRIES);
        for (size_t i = keep; i < n; i++)
                if (!cs[i].nbases) {
                        bool have = false;
                        for (size_t j = 0; j < keep; j++)
                                have |= !cs[j].nbases;
                        if (!have)
                                cs[keep - 1] = cs[i];
                        break;
                }
        r = 0;
        for (size_t i = 0; r == 0 && i < keep; i++) {
                const cadu_pack_catalog *c = p->cats[cs[i].pack];
                uint32_t pk;
                if ((r = cadu_pack_index_add_pack(pi, c->pack_id, cadu_pack_catalog_size(c), &pk)) == 0)
                        r = cadu_pack_index_add_entry(pi, pos, pk, cs[i].off, cs[i].len,
                                                      (const uint8_t(*)[CADU_DIGEST_SIZE])cs[i].bases, cs[i].nbases);
        }
        free(cs);
        return r;
}

/* Positions of the first occurrence of every id, flagged in first[]. */
static int first_occurrences(const cadu_index *idx, bool *first) {
        size_t cap = 16;
        while (cap < 2 * idx->n + 2)
                cap *= 2;
        size_t *tab = malloc(cap * sizeof(size_t));
        if (!tab)
                return -ENOMEM;
        for (size_t i = 0; i < cap; i++)
                tab[i] = SIZE_MAX;
        for (size_t i = 0; i < idx->n; i++) {
                uint64_t h;
                memcpy(&h, idx->items[i].id, sizeof(h));
                for (size_t s = (size_t)h & (cap - 1);; s = (s + 1) & (cap - 1)) {
                        if (tab[s] == SIZE_MAX) {
                                tab[s] = i;
                                first[i] = true;
                                break;
                        }
                        if (!memcmp(idx->items[tab[s]].id, idx->items[i].id, CADU_DIGEST_SIZE))
                                break;
                }
        }
        free(tab);
        return 0;
}

/* Seal the pack index: its packs and delta files in clear (by keyed
 * names), for mirror and gc without the key. */
static int seal_pack_index(const cadu_crypt_key *k, const cadu_pack_index *pi, const cadu_index *idx, cadu_buf *out) {
        size_t nd = 0;
        for (size_t e = 0; e < pi->nentries; e++)
                nd += pi->entries[e].nbases > 0;
        _cleanup_free_ uint8_t *packs = malloc(pi->npacks * CADU_CRYPT_PACKIDX_PACK + 1);
        _cleanup_free_ uint8_t *deltas = malloc(nd * CADU_CRYPT_DELTA_BIND + 1);
        if (!packs || !deltas)
                return -ENOMEM;
        for (size_t i = 0; i < pi->npacks; i++) {
                memcpy(packs + i * CADU_CRYPT_PACKIDX_PACK, pi->packs[i].id, CADU_DIGEST_SIZE);
                cadu_put_le64(packs + i * CADU_CRYPT_PACKIDX_PACK + CADU_DIGEST_SIZE, pi->packs[i].size);
        }
        nd = 0;
        for (size_t e = 0; e < pi->nentries; e++) {
                const cadu_pack_entry *en = &pi->entries[e];
                char rel[CADU_DELTA_PATH_MAX];
                if (!en->nbases)
                        continue;
                int r = cadu_crypt_delta_path(k, idx->items[en->chunk].id,
                                              (const uint8_t(*)[CADU_DIGEST_SIZE])pi->base_ids[en->bases], en->nbases,
                                              rel, deltas + nd++ * CADU_CRYPT_DELTA_BIND);
                if (r < 0)
                        return r;
        }
        cadu_buf plain = *out;
        *out = (cadu_buf)CADU_BUF_INIT;
        int r = cadu_crypt_packidx_seal(k, pi->index_sha, packs, pi->npacks, deltas, nd, plain.data, plain.len, out);
        cadu_buf_free(&plain);
        return r;
}

int cadu_make_packs(const char *store_dir, const char *index_path, const cadu_index *idx,
                    const cadu_crypt_key *key, cadu_make_packs_stats *st, char **errmsg) {
        packer p = { .store_dir = store_dir, .idx = idx, .key = key };
        pack_writer w[2] = { { .fd = -1 }, { .fd = -1 } };
        cadu_pack_index *pi = NULL;
        cadu_buf out = CADU_BUF_INIT;
        _cleanup_free_ bool *first = NULL;
        _cleanup_free_ char *capx = NULL;
        uint8_t isha[CADU_DIGEST_SIZE];
        char rel[CADU_PACK_PATH_MAX];
        uint32_t packid[2];
        int r;

        *st = (cadu_make_packs_stats){ 0 };
        *errmsg = NULL;
        if ((r = cadu_sha256_file(index_path, isha, NULL)) < 0) {
                r = fail(&p, r, "reading index %s", index_path);
                goto done;
        }
        cadu_pack_path(isha, CADU_PACKIDX_SUFFIX, rel);
        if (asprintf(&p.packs_dir, "%s/" CADU_PACK_DIR, store_dir) < 0 || asprintf(&capx, "%s/%s", store_dir, rel) < 0) {
                p.packs_dir = NULL;
                r = -ENOMEM;
                goto done;
        }
        if (access(capx, F_OK) == 0) {
                st->existed = true;
                goto done;
        }
        if ((r = cadu_mkdir_p(p.packs_dir)) < 0) {
                r = fail(&p, r, "cannot create %s", p.packs_dir);
                goto done;
        }
        if ((r = load_catalogs(&p)) < 0)
                goto done;
        if (!(first = calloc(idx->n + 1, sizeof(bool)))) {
                r = -ENOMEM;
                goto done;
        }
        if ((r = first_occurrences(idx, first)) < 0)
                goto done;
        for (size_t i = 0; i < idx->n; i++) {
                size_t n;
                if (!first[i])
                        continue;
                if (find_refs(&p, idx->items[i].id, &n))
                        st->referenced_chunks++;
                else if ((r = collect(&p, i)) < 0)
                        goto done;
        }
        /* Primary: each new chunk's preferred entry, in index order; then
         * secondary: the rest of what can serve them. */
        for (int k = 0; k < 2 && p.nnews; k++) {
                bool any = false;
                for (size_t c = 0; c < p.nnews && !any; c++)
                        any = k == 0 || p.news[c].n > 1;
                if (!any)
                        break;
                if ((r = writer_open(&p, &w[k])) < 0)
                        goto done;
                for (size_t c = 0; c < p.nnews; c++) {
                        newchunk *nc = &p.news[c];
                        for (size_t j = k == 0 ? 0 : 1; j < (k == 0 ? 1 : nc->n); j++)
                                if ((r = writer_add(&p, &w[k], idx->items[nc->pos].id, &nc->cands[j], k)) < 0)
                                        goto done;
                }
                if ((r = writer_commit(&p, &w[k], st)) < 0)
                        goto done;
        }
        st->packed_chunks = p.nnews;
        /* The pack index: packs of this release first. */
        if ((r = cadu_pack_index_new(idx, isha, &pi)) < 0)
                goto done;
        for (int k = 0; k < 2; k++)
                if (w[k].cat && (r = cadu_pack_index_add_pack(pi, w[k].id, cadu_pack_catalog_size(w[k].cat), &packid[k])) < 0)
                        goto done;
        for (size_t i = 0, c = 0; i < idx->n; i++) {
                if (!first[i])
                        continue;
                const newchunk *nc = c < p.nnews && p.news[c].pos == i ? &p.news[c++] : NULL;
                if ((r = index_entries(&p, pi, packid, nc, i)) < 0) {
                        r = fail(&p, r, "pack index of %s", index_path);
                        goto done;
                }
        }
        if ((r = cadu_pack_index_serialize(pi, idx, &out)) < 0 || (key && (r = seal_pack_index(key, pi, idx, &out)) < 0)) {
                r = fail(&p, r, "pack index of %s", index_path);
                goto done;
        }
        if ((r = cadu_write_file_atomic(capx, out.data, out.len)) < 0) {
                r = fail(&p, r, "writing %s", capx);
                goto done;
        }
        st->index_bytes = out.len;
done:
        if (r < 0 && !p.errmsg)
                fail(&p, r, "packing %s into %s", index_path, store_dir);
        writer_close(&w[0]);
        writer_close(&w[1]);
        cadu_pack_index_free(pi);
        cadu_buf_free(&out);
        cadu_buf_free(&p.buf);
        for (size_t k = 0; k < p.ncats; k++)
                cadu_pack_catalog_free(p.cats[k]);
        for (size_t c = 0; c < p.nnews; c++) {
                for (size_t j = 0; j < p.news[c].n; j++)
                        free(p.news[c].cands[j].path);
                free(p.news[c].cands);
        }
        free(p.cats);
        free(p.refs);
        free(p.news);
        free(p.packs_dir);
        *errmsg = p.errmsg;
        return r;
}
