/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Packs in the store maintenance commands: see store-packs.h. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "cadu-crypt.h"
#include "cadu-delta.h"
#include "cadu-pack.h"
#include "cadu-caibz.h"
#include "store-packs.h"
#include "storewalk.h"

#define COPY_RANGE (4u << 20)

static int fail(char **errmsg, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **errmsg, int r, const char *fmt, ...) {
        va_list ap;
        if (!*errmsg) {
                va_start(ap, fmt);
                if (vasprintf(errmsg, fmt, ap) < 0)
                        *errmsg = NULL;
                va_end(ap);
        }
        return r;
}

typedef struct copy_ctx {
        int fd;
        const cadu_range *r;
} copy_ctx;

static int copy_cb(void *ud, size_t i, const uint8_t *data, size_t len) {
        copy_ctx *c = ud;
        return cadu_pwrite_full(c->fd, data, len, c->r[i].off);
}

/* Is path a file of this size and sha256? */
static bool intact(const char *path, uint64_t size, const uint8_t sha[CADU_DIGEST_SIZE]) {
        uint8_t got[CADU_DIGEST_SIZE];
        uint64_t n;
        struct stat st;
        return stat(path, &st) == 0 && (uint64_t)st.st_size == size && cadu_sha256_file(path, got, &n) == 0 &&
               n == size && !memcmp(got, sha, CADU_DIGEST_SIZE);
}

/* Copy pack (id, size) from src into to/packs/. */
static int copy_pack(cadu_store *src, const char *to, const cadu_pack_ref *pk, cadu_packs_stats *st, char **errmsg) {
        char rel[CADU_PACK_PATH_MAX];
        _cleanup_free_ char *path = NULL, *dir = NULL;
        _cleanup_free_ cadu_range *rg = NULL;
        cadu_outfile o = CADU_OUTFILE_INIT;
        uint8_t got[CADU_DIGEST_SIZE];
        int r;
        cadu_pack_path(pk->id, CADU_PACK_SUFFIX, rel);
        if (asprintf(&path, "%s/%s", to, rel) < 0 || asprintf(&dir, "%s/" CADU_PACK_DIR, to) < 0)
                return -ENOMEM;
        if (intact(path, pk->size, pk->id)) {
                st->present++;
                return 0;
        }
        size_t n = (size_t)((pk->size + COPY_RANGE - 1) / COPY_RANGE);
        if (!(rg = calloc(n + 1, sizeof(*rg))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                rg[i] = (cadu_range){ (uint64_t)i * COPY_RANGE, CADU_MIN((uint64_t)COPY_RANGE, pk->size - (uint64_t)i * COPY_RANGE) };
        if ((r = cadu_mkdir_p(dir)) < 0 || (r = cadu_outfile_open(&o, path, false)) < 0)
                return fail(errmsg, r, "cannot create %s", path);
        copy_ctx c = { o.fd, rg };
        r = cadu_store_get_ranges(src, rel, rg, n, copy_cb, &c);
        if (r < 0) {
                cadu_outfile_abort(&o);
                return fail(errmsg, r, "copying %s from %s", rel, src->location);
        }
        if ((r = cadu_sha256_file(o.tmp ? o.tmp : path, got, NULL)) < 0 || memcmp(got, pk->id, CADU_DIGEST_SIZE) != 0) {
                cadu_outfile_abort(&o);
                return fail(errmsg, r < 0 ? r : -EBADMSG, "%s from %s does not match its name", rel, src->location);
        }
        if ((r = cadu_outfile_commit(&o)) < 0) {
                cadu_outfile_abort(&o);
                return fail(errmsg, r, "writing %s", path);
        }
        st->packs++;
        st->pack_bytes += pk->size;
        return 0;
}

/* Copy a small file relpath from src to to/relpath unless it is there;
 * check(data) must accept it. -ENOENT when src lacks it. */
static int copy_small(cadu_store *src, const char *to, const char *rel, size_t max, cadu_buf *b,
                      int (*check)(const cadu_buf *b, const void *arg), const void *arg, char **errmsg) {
        _cleanup_free_ char *path = NULL, *dir = NULL;
        struct stat s;
        int r;
        if (asprintf(&path, "%s/%s", to, rel) < 0)
                return -ENOMEM;
        if (stat(path, &s) == 0)
                return 1;
        if ((r = cadu_store_get_file(src, rel, max, b)) < 0)
                return r == -ENOENT ? r : fail(errmsg, r, "fetching %s from %s", rel, src->location);
        if ((r = check(b, arg)) < 0)
                return fail(errmsg, r, "%s from %s is not what it should be", rel, src->location);
        if ((r = cadu_dirname(path, &dir)) < 0 || (r = cadu_mkdir_p(dir)) < 0 ||
            (r = cadu_write_file_atomic(path, b->data, b->len)) < 0)
                return fail(errmsg, r, "writing %s", path);
        return 0;
}

/* A delta file, for devices whose server ignores Range: copied and counted
 * when the source has it (a missing one is not an error). */
static int copy_delta(cadu_store *src, const char *to, const char *rel, size_t max, cadu_buf *b,
                      int (*check)(const cadu_buf *b, const void *arg), const void *arg, cadu_packs_stats *st,
                      char **errmsg) {
        int r = copy_small(src, to, rel, max, b, check, arg, errmsg);
        if (r == -ENOENT)
                return 0;
        if (r == 0) {
                st->deltas++;
                st->delta_bytes += b->len;
        }
        return r;
}

static int check_catalog(const cadu_buf *b, const void *arg) {
        cadu_pack_catalog *c = NULL;
        int r = cadu_pack_catalog_parse(b->data, b->len, arg, &c, NULL);
        cadu_pack_catalog_free(c);
        return r;
}

static int check_delta(const cadu_buf *b, const void *arg) {
        cadu_delta_info info;
        int r = cadu_delta_parse(b->data, b->len, &info);
        return r < 0 ? r : memcmp(info.target_id, arg, CADU_DIGEST_SIZE) ? -EBADMSG : 0;
}

static int check_sealed_catalog(const cadu_buf *b, const void *arg) {
        uint8_t kid[CADU_CRYPT_KEY_ID_SIZE];
        return cadu_crypt_sealed_check(CADU_CRYPT_PACKCAT_MAGIC, 0, b->data, b->len, kid);
}

static int check_sealed_delta(const cadu_buf *b, const void *arg) {
        const uint8_t *names;
        size_t n;
        return cadu_crypt_delta_header(b->data, b->len, &n, &names);
}

/* An encrypted release (doc/encryption.md), without the key: its sealed
 * pack index and what it lists in clear. */
static int mirror_sealed(cadu_store *src, const char *to, const uint8_t index_sha[CADU_DIGEST_SIZE], cadu_packs_stats *st,
                         char **errmsg) {
        char rel[CADU_PACK_PATH_MAX];
        cadu_buf b = CADU_BUF_INIT, tmp = CADU_BUF_INIT;
        _cleanup_free_ char *capx = NULL, *dir = NULL;
        cadu_crypt_packidx_header h;
        int r;
        cadu_pack_path(index_sha, CADU_PACKIDX_SUFFIX, rel);
        if (asprintf(&capx, "%s/%s", to, rel) < 0)
                return -ENOMEM;
        r = cadu_store_get_file(src, rel, CADU_CRYPT_PACKIDX_MAX, &b);
        if (r == -ENOENT || r == -ENOTSUP) {
                r = 0;
                goto out;
        }
        if (r == 0 && cadu_crypt_packidx_header_parse(b.data, b.len, &h) < 0)
                r = -EBADMSG;
        if (r < 0) {
                r = fail(errmsg, r, "pack index %s of %s%s", rel, src->location,
                         r == -EBADMSG ? ": not a sealed pack index" : "");
                goto out;
        }
        st->pack_indexes++;
        for (size_t k = 0; k < h.npacks; k++) {
                char crel[CADU_PACK_PATH_MAX];
                cadu_pack_ref pk;
                memcpy(pk.id, h.packs + k * CADU_CRYPT_PACKIDX_PACK, CADU_DIGEST_SIZE);
                pk.size = cadu_le64(h.packs + k * CADU_CRYPT_PACKIDX_PACK + CADU_DIGEST_SIZE);
                if (pk.size == 0 || pk.size > CADU_PACK_MAX_SIZE) {
                        r = fail(errmsg, -EBADMSG, "pack index %s of %s: a pack size out of bounds", rel, src->location);
                        goto out;
                }
                if ((r = copy_pack(src, to, &pk, st, errmsg)) < 0)
                        goto out;
                cadu_pack_path(pk.id, CADU_PACKCAT_SUFFIX, crel);
                r = copy_small(src, to, crel, (size_t)1 << 30, &tmp, check_sealed_catalog, NULL, errmsg);
                if (r < 0 && r != -ENOENT)
                        goto out;
        }
        for (size_t e = 0; e < h.ndeltas; e++) {
                const uint8_t *d = h.deltas + e * CADU_CRYPT_DELTA_BIND;
                char drel[CADU_DELTA_PATH_MAX], hex[65], bhex[17];
                cadu_hex_encode(d, CADU_CRYPT_NAME_SIZE, hex);
                cadu_hex_encode(d + CADU_CRYPT_NAME_SIZE, CADU_CRYPT_DELTA_TAG_SIZE, bhex);
                snprintf(drel, sizeof(drel), "deltas/%.4s/%s-%s%s", hex, hex, bhex, CADU_DELTA_SUFFIX);
                if ((r = copy_delta(src, to, drel, (size_t)CADU_DELTA_SIZE_MAX + (1u << 20), &tmp, check_sealed_delta,
                                    NULL, st, errmsg)) < 0)
                        goto out;
        }
        if ((r = cadu_dirname(capx, &dir)) < 0 || (r = cadu_mkdir_p(dir)) < 0 ||
            (r = cadu_write_file_atomic(capx, b.data, b.len)) < 0)
                r = fail(errmsg, r, "writing %s", capx);
out:
        cadu_buf_free(&b);
        cadu_buf_free(&tmp);
        return r < 0 ? r : 0;
}

int cadu_packs_mirror(cadu_store *src, const char *to, const cadu_index *idx, const uint8_t index_sha[CADU_DIGEST_SIZE],
                      cadu_packs_stats *st, char **errmsg) {
        char rel[CADU_PACK_PATH_MAX];
        cadu_buf b = CADU_BUF_INIT, tmp = CADU_BUF_INIT;
        cadu_pack_index *pi = NULL;
        _cleanup_free_ char *capx = NULL, *dir = NULL;
        const char *why = NULL;
        int r;

        *errmsg = NULL;
        if (!idx)
                return mirror_sealed(src, to, index_sha, st, errmsg);
        cadu_pack_path(index_sha, CADU_PACKIDX_SUFFIX, rel);
        if (asprintf(&capx, "%s/%s", to, rel) < 0)
                return -ENOMEM;
        r = cadu_store_get_file(src, rel, cadu_pack_index_max_size(idx), &b);
        if (r == -ENOENT || r == -ENOTSUP) {
                r = 0;                  /* no packs for this release */
                goto out;
        }
        if (r == 0)
                r = cadu_pack_index_parse(b.data, b.len, idx, index_sha, &pi, &why);
        if (r < 0) {
                r = fail(errmsg, r, "pack index %s of %s%s%s", rel, src->location, why ? ": " : "", why ? why : "");
                goto out;
        }
        st->pack_indexes++;
        for (size_t k = 0; k < pi->npacks; k++) {
                char crel[CADU_PACK_PATH_MAX];
                if ((r = copy_pack(src, to, &pi->packs[k], st, errmsg)) < 0)
                        goto out;
                cadu_pack_path(pi->packs[k].id, CADU_PACKCAT_SUFFIX, crel);
                r = copy_small(src, to, crel, (size_t)1 << 30, &tmp, check_catalog, pi->packs[k].id, errmsg);
                if (r < 0 && r != -ENOENT)
                        goto out;
        }
        /* The delta files, for devices whose server ignores Range. */
        for (size_t e = 0; e < pi->nentries; e++) {
                const cadu_pack_entry *en = &pi->entries[e];
                char drel[CADU_DELTA_PATH_MAX];
                if (!en->nbases)
                        continue;
                const uint8_t *target = idx->items[en->chunk].id;
                if ((r = cadu_delta_path(target, (const uint8_t(*)[CADU_DIGEST_SIZE])pi->base_ids[en->bases],
                                         en->nbases, drel)) < 0)
                        goto out;
                if ((r = copy_delta(src, to, drel, (size_t)cadu_pack_entry_max_len(idx, en->nbases), &tmp, check_delta,
                                    target, st, errmsg)) < 0)
                        goto out;
        }
        if ((r = cadu_dirname(capx, &dir)) < 0 || (r = cadu_mkdir_p(dir)) < 0 ||
            (r = cadu_write_file_atomic(capx, b.data, b.len)) < 0)
                r = fail(errmsg, r, "writing %s", capx);
out:
        cadu_pack_index_free(pi);
        cadu_buf_free(&b);
        cadu_buf_free(&tmp);
        return r < 0 ? r : 0;
}

bool cadu_packs_known_dir(const char *name) {
        return !strcmp(name, CADU_PACK_DIR) || !strcmp(name, "deltas") || !strcmp(name, "sketches");
}

typedef struct verify_ctx {
        cadu_store *s;
        const cadu_index *idx;
        const cadu_pack_index *pi;
        const size_t *order;            /* entry numbers of one pack, by offset */
        void (*problem)(void *ud, const char *where, const char *why);
        void *ud;
        cadu_buf out, raw, bases;
        const cadu_crypt_key *key;      /* an encrypted store: sealed entries */
        cadu_buf plain;
        int defects;
        cadu_packs_stats *st;
} verify_ctx;

static void defect(verify_ctx *v, const cadu_pack_entry *e, const char *why) {
        char hex[2 * CADU_DIGEST_SIZE + 1], where[CADU_PACK_PATH_MAX + 96];
        char rel[CADU_PACK_PATH_MAX];
        cadu_pack_path(v->pi->packs[e->pack].id, CADU_PACK_SUFFIX, rel);
        cadu_hex_encode(v->idx->items[e->chunk].id, CADU_DIGEST_SIZE, hex);
        snprintf(where, sizeof(where), "%s@%llu (%s of %.16s...)", rel, (unsigned long long)e->off,
                 e->nbases ? "delta" : "chunk file", hex);
        v->problem(v->ud, where, why);
        v->defects++;
}

static int verify_cb(void *ud, size_t i, const uint8_t *data, size_t len) {
        verify_ctx *v = ud;
        const cadu_pack_entry *e = &v->pi->entries[v->order[i]];
        const cadu_index_item *it = &v->idx->items[e->chunk];
        const size_t clen = (size_t)cadu_index_chunk_size(v->idx, e->chunk);
        uint8_t got[CADU_DIGEST_SIZE];
        int r;
        if (v->key) {
                /* Sealed: authenticated under the name of what the pack
                 * index says it is, then checked as a plain entry. */
                uint8_t bind[CADU_CRYPT_DELTA_BIND];
                char drel[CADU_DELTA_PATH_MAX];
                size_t off = 0, n = 0;
                v->plain.len = 0;
                if ((r = cadu_buf_append(&v->plain, data, len)) < 0)
                        return r;
                if (!e->nbases && (r = cadu_crypt_chunk_name(v->key, it->id, bind)) == 0)
                        r = cadu_crypt_chunk_open(v->key, bind, v->plain.data, len, &n);
                else if (e->nbases &&
                         (r = cadu_crypt_delta_path(v->key, it->id, (const uint8_t(*)[CADU_DIGEST_SIZE])v->pi->base_ids[e->bases],
                                                    e->nbases, drel, bind)) == 0)
                        r = cadu_crypt_delta_open(v->key, bind, v->plain.data, len, &off, &n);
                if (r == -EBADMSG || r == -EKEYREJECTED) {
                        defect(v, e, "fails authentication under its name");
                        return 0;
                }
                if (r < 0)
                        return r;
                data = v->plain.data + off;
                len = n;
        }
        if (!e->nbases) {
                r = cadu_chunk_decode(data, len, clen, &v->out);
                if (r == 0 && (v->out.len != clen || cadu_digest(v->idx->digest, v->out.data, clen, got) < 0 ||
                               memcmp(got, it->id, CADU_DIGEST_SIZE)))
                        r = -EBADMSG;
                if (r < 0)
                        defect(v, e, "does not decode to its chunk");
                return 0;
        }
        cadu_delta_info info;
        if (cadu_delta_parse(data, len, &info) < 0) {
                defect(v, e, "not a delta file");
                return 0;
        }
        if (memcmp(info.target_id, it->id, CADU_DIGEST_SIZE) || info.target_size != clen) {
                defect(v, e, "a delta of another chunk");
                return 0;
        }
        if (info.nbases != e->nbases ||
            memcmp(info.base_ids, v->pi->base_ids[e->bases], e->nbases * CADU_DIGEST_SIZE) != 0) {
                defect(v, e, "its bases differ from the pack index's");
                return 0;
        }
        /* Decode it when the store has the bases. */
        cadu_delta_base b[CADU_DELTA_MAX_BASES];
        size_t at[CADU_DELTA_MAX_BASES];
        v->bases.len = 0;
        for (size_t k = 0; k < info.nbases; k++) {
                r = cadu_store_get_chunk(v->s, v->idx->digest, info.base_ids[k], (size_t)info.base_sizes[k],
                                         (size_t)info.base_sizes[k], &v->raw, &v->out);
                if (r < 0)
                        return 0;       /* a base elsewhere: the header is all that can be checked */
                at[k] = v->bases.len;
                if ((r = cadu_buf_append(&v->bases, v->out.data, v->out.len)) < 0)
                        return r;
        }
        for (size_t k = 0; k < info.nbases; k++)
                b[k] = (cadu_delta_base){ v->bases.data + at[k], (size_t)info.base_sizes[k] };
        r = cadu_delta_decode(data, len, b, info.nbases, clen, &v->out);
        if (r == 0 && (v->out.len != clen || cadu_digest(v->idx->digest, v->out.data, clen, got) < 0 ||
                       memcmp(got, it->id, CADU_DIGEST_SIZE)))
                r = -EBADMSG;
        if (r < 0)
                defect(v, e, "does not decode to its chunk");
        else
                v->st->deltas++;
        return 0;
}

static int entry_off_cmp(const void *a, const void *b, void *arg) {
        const cadu_pack_index *pi = arg;
        uint64_t x = pi->entries[*(const size_t *)a].off, y = pi->entries[*(const size_t *)b].off;
        return x < y ? -1 : x > y;
}

int cadu_packs_verify(cadu_store *s, const cadu_index *idx, const uint8_t index_sha[CADU_DIGEST_SIZE],
                      void (*problem)(void *ud, const char *where, const char *why), void *ud,
                      cadu_packs_stats *st, char **errmsg) {
        char rel[CADU_PACK_PATH_MAX];
        cadu_buf b = CADU_BUF_INIT;
        cadu_pack_index *pi = NULL;
        const char *why = NULL;
        size_t *order = NULL;
        cadu_range *rg = NULL;
        verify_ctx v = { .s = s, .idx = idx, .problem = problem, .ud = ud, .st = st, .key = cadu_store_crypt_key(s) };
        cadu_store *raw = cadu_store_crypt_inner(s);
        size_t max = cadu_pack_index_max_size(idx), off = 0, len;
        int r;

        *errmsg = NULL;
        cadu_pack_path(index_sha, CADU_PACKIDX_SUFFIX, rel);
        r = cadu_store_get_file(raw, rel, v.key ? CADU_CRYPT_PACKIDX_MAX : max, &b);
        if (r == -ENOENT || r == -ENOTSUP) {
                r = 0;
                goto out;
        }
        len = b.len;
        if (r == 0 && v.key && (r = cadu_crypt_packidx_open(v.key, index_sha, b.data, b.len, &off, &len)) < 0) {
                why = r == -EKEYREJECTED ? "sealed under another key" : "fails authentication under its name";
                r = -EBADMSG;
        }
        if (r == 0)
                r = cadu_pack_index_parse(b.data + off, len, idx, index_sha, &pi, &why);
        if (r == -EBADMSG || r == -EFBIG) {
                problem(ud, rel, why ? why : "larger than its index allows");
                r = 1;
                goto out;
        }
        if (r < 0) {
                r = fail(errmsg, r, "reading %s", rel);
                goto out;
        }
        st->pack_indexes++;
        v.pi = pi;
        order = malloc((pi->nentries + 1) * sizeof(size_t));
        rg = malloc((pi->nentries + 1) * sizeof(cadu_range));
        if (!order || !rg) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t k = 0; k < pi->npacks; k++) {
                char prel[CADU_PACK_PATH_MAX];
                size_t n = 0;
                for (size_t e = 0; e < pi->nentries; e++)
                        if (pi->entries[e].pack == k)
                                order[n++] = e;
                qsort_r(order, n, sizeof(size_t), entry_off_cmp, pi);
                /* An entry listed twice (or overlapping another) is checked once. */
                size_t m = 0;
                for (size_t j = 0; j < n; j++)
                        if (!m || pi->entries[order[j]].off >= rg[m - 1].off + rg[m - 1].len) {
                                order[m] = order[j];
                                rg[m++] = (cadu_range){ pi->entries[order[j]].off, pi->entries[order[j]].len };
                        }
                v.order = order;
                cadu_pack_path(pi->packs[k].id, CADU_PACK_SUFFIX, prel);
                r = cadu_store_get_ranges(raw, prel, rg, m, verify_cb, &v);
                if (r == -ENOENT || r == -EBADMSG) {
                        problem(ud, prel, r == -ENOENT ? "missing" : "shorter than its pack index says");
                        v.defects++;
                        continue;
                }
                if (r < 0) {
                        r = fail(errmsg, r, "reading %s", prel);
                        goto out;
                }
                st->packs++;
                st->pack_bytes += pi->packs[k].size;
        }
        r = v.defects;
out:
        cadu_pack_index_free(pi);
        cadu_buf_free(&b);
        cadu_buf_free(&v.out);
        cadu_buf_free(&v.raw);
        cadu_buf_free(&v.bases);
        cadu_buf_free(&v.plain);
        free(order);
        free(rg);
        return r;
}

typedef struct hash_ctx {
        cadu_digest_ctx *dc;
} hash_ctx;

static int hash_cb(void *ud, size_t i, const uint8_t *data, size_t len) {
        return cadu_digest_update(((hash_ctx *)ud)->dc, data, len);
}

int cadu_packs_verify_sealed(cadu_store *s, const uint8_t index_sha[CADU_DIGEST_SIZE],
                             void (*problem)(void *ud, const char *where, const char *why), void *ud,
                             cadu_packs_stats *st, char **errmsg) {
        char rel[CADU_PACK_PATH_MAX];
        cadu_buf b = CADU_BUF_INIT, d = CADU_BUF_INIT;
        cadu_crypt_packidx_header h;
        uint8_t kid[CADU_CRYPT_KEY_ID_SIZE];
        int r, defects = 0;

        *errmsg = NULL;
        cadu_pack_path(index_sha, CADU_PACKIDX_SUFFIX, rel);
        r = cadu_store_get_file(s, rel, CADU_CRYPT_PACKIDX_MAX, &b);
        if (r == -ENOENT || r == -ENOTSUP) {
                r = 0;
                goto out;
        }
        if (r == 0 && (cadu_crypt_packidx_header_parse(b.data, b.len, &h) < 0 ||
                       cadu_crypt_sealed_check(CADU_CRYPT_PACKIDX_MAGIC, h.clear_len, b.data, b.len, kid) < 0)) {
                problem(ud, rel, "not a sealed pack index");
                r = 1;
                goto out;
        }
        if (r < 0) {
                r = fail(errmsg, r, "reading %s", rel);
                goto out;
        }
        st->pack_indexes++;
        /* Each pack is there, of its size and sha256. */
        for (size_t k = 0; k < h.npacks; k++) {
                char prel[CADU_PACK_PATH_MAX];
                uint8_t id[CADU_DIGEST_SIZE], got[CADU_DIGEST_SIZE];
                uint64_t size = cadu_le64(h.packs + k * CADU_CRYPT_PACKIDX_PACK + CADU_DIGEST_SIZE);
                memcpy(id, h.packs + k * CADU_CRYPT_PACKIDX_PACK, CADU_DIGEST_SIZE);
                cadu_pack_path(id, CADU_PACK_SUFFIX, prel);
                size_t n = (size_t)((size + COPY_RANGE - 1) / COPY_RANGE);
                _cleanup_free_ cadu_range *rg = size && size <= CADU_PACK_MAX_SIZE ? calloc(n, sizeof(*rg)) : NULL;
                if (!rg) {
                        problem(ud, prel, "its size in the pack index is out of bounds");
                        defects++;
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        rg[i] = (cadu_range){ (uint64_t)i * COPY_RANGE, CADU_MIN((uint64_t)COPY_RANGE, size - (uint64_t)i * COPY_RANGE) };
                hash_ctx hc = { cadu_digest_new(CADU_DIGEST_SHA256) };
                if (!hc.dc) {
                        r = -ENOMEM;
                        goto out;
                }
                r = cadu_store_get_ranges(s, prel, rg, n, hash_cb, &hc);
                int f = r == 0 ? cadu_digest_final(hc.dc, got) : 0;
                cadu_digest_free(hc.dc);
                if (r == -ENOENT || r == -EBADMSG || (r == 0 && (f < 0 || memcmp(got, id, CADU_DIGEST_SIZE)))) {
                        problem(ud, prel, r == -ENOENT ? "missing" : "does not match its name and size");
                        defects++;
                        continue;
                }
                if (r < 0) {
                        r = fail(errmsg, r, "reading %s", prel);
                        goto out;
                }
                st->packs++;
                st->pack_bytes += size;
        }
        /* Each delta file listed is a sealed delta file. */
        for (size_t e = 0; e < h.ndeltas; e++) {
                const uint8_t *dn = h.deltas + e * CADU_CRYPT_DELTA_BIND, *names;
                char drel[CADU_DELTA_PATH_MAX], hex[65], bhex[17];
                size_t nb;
                cadu_hex_encode(dn, CADU_CRYPT_NAME_SIZE, hex);
                cadu_hex_encode(dn + CADU_CRYPT_NAME_SIZE, CADU_CRYPT_DELTA_TAG_SIZE, bhex);
                snprintf(drel, sizeof(drel), "deltas/%.4s/%s-%s%s", hex, hex, bhex, CADU_DELTA_SUFFIX);
                r = cadu_store_get_file(s, drel, (size_t)CADU_DELTA_SIZE_MAX + (1u << 20), &d);
                if (r == -ENOENT)
                        continue;       /* packed only */
                if (r == 0 && cadu_crypt_delta_header(d.data, d.len, &nb, &names) < 0) {
                        problem(ud, drel, "not a sealed delta file");
                        defects++;
                } else if (r < 0) {
                        r = fail(errmsg, r, "reading %s", drel);
                        goto out;
                }
        }
        r = defects;
out:
        cadu_buf_free(&b);
        cadu_buf_free(&d);
        return r;
}

typedef struct gc_state {
        const char *root;
        int64_t cutoff;
        bool dry_run;
        void (*deleted)(void *ud, const char *path);
        void *ud;
        cadu_packs_gc_stats *st;
} gc_state;

/* Delete dir/name unless young; 1 deleted, 0 kept, -errno. */
static int gc_remove(gc_state *g, const char *dir, const char *name, const char *rel) {
        _cleanup_free_ char *path = NULL;
        struct stat s;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        if (lstat(path, &s) < 0)
                return errno == ENOENT ? 0 : -errno;
        if ((int64_t)s.st_mtime >= g->cutoff) {
                g->st->young++;
                return 0;
        }
        if (!g->dry_run && unlink(path) < 0 && errno != ENOENT)
                return -errno;
        g->st->files++;
        g->st->bytes += (uint64_t)s.st_size;
        if (g->deleted)
                g->deleted(g->ud, rel);
        return 1;
}

/* A compact index (cadu-caibz.h): "<64 hex>.caibz" or "<64 hex>-<16 hex>.caibz";
 * *id is the sha of the index it stands for. */
static bool caibz_name(const char *name, uint8_t id[CADU_DIGEST_SIZE]) {
        size_t n = strlen(name), sl = strlen(CADU_CAIBZ_SUFFIX);
        char hex[65], bhex[17];
        uint8_t b[8];
        if ((n != 64 + sl && n != 64 + 1 + 16 + sl) || strcmp(name + n - sl, CADU_CAIBZ_SUFFIX))
                return false;
        memcpy(hex, name, 64);
        hex[64] = 0;
        if (cadu_hex_decode(hex, id, CADU_DIGEST_SIZE) < 0)
                return false;
        if (n == 64 + sl)
                return true;
        memcpy(bhex, name + 65, 16);
        bhex[16] = 0;
        return name[64] == '-' && cadu_hex_decode(bhex, b, sizeof b) == 0;
}

/* The packs a kept encrypted release's sealed pack index lists in clear. */
static int keep_sealed(const char *root, const uint8_t sha[CADU_DIGEST_SIZE], uint8_t (**keep)[CADU_DIGEST_SIZE],
                       size_t *nkeep, size_t *akeep, char **errmsg) {
        char rel[CADU_PACK_PATH_MAX];
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        cadu_crypt_packidx_header h;
        size_t len;
        cadu_pack_path(sha, CADU_PACKIDX_SUFFIX, rel);
        if (asprintf(&path, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        int r = cadu_read_file(path, (size_t)1 << 30, &raw, &len);
        if (r == -ENOENT)
                return 0;
        if (r == 0 && cadu_crypt_packidx_header_parse(raw, len, &h) < 0)
                r = -EBADMSG;
        if (r < 0)
                return fail(errmsg, r, "pack index %s (run cadu verify-store)", path);
        for (size_t k = 0; k < h.npacks; k++) {
                if (CADU_ARRAY_GROW(*keep, *akeep, *nkeep, 16) < 0)
                        return -ENOMEM;
                memcpy((*keep)[(*nkeep)++], h.packs + k * CADU_CRYPT_PACKIDX_PACK, CADU_DIGEST_SIZE);
        }
        return 0;
}

/* A sealed delta file (encrypted store): kept with its target's chunk file
 * and the chunk files of its bases, by keyed names. */
static bool sealed_delta_kept(const char *name, const uint8_t *raw, size_t len,
                              bool (*chunk_kept)(void *ud, const uint8_t id[CADU_DIGEST_SIZE]), void *ud) {
        uint8_t bind[CADU_CRYPT_DELTA_BIND];
        const uint8_t *names;
        size_t n;
        if (cadu_crypt_delta_name_parse(name, bind) < 0 || cadu_crypt_delta_header(raw, len, &n, &names) < 0 ||
            !chunk_kept(ud, bind))
                return false;
        for (size_t k = 0; k < n; k++)
                if (!chunk_kept(ud, names + k * CADU_CRYPT_NAME_SIZE))
                        return false;
        return true;
}

int cadu_packs_gc(const char *root, const uint8_t (*shas)[CADU_DIGEST_SIZE], cadu_index *const *idx, size_t n,
                  const uint8_t (*sealed)[CADU_DIGEST_SIZE], size_t nsealed,
                  bool (*chunk_kept)(void *ud, const uint8_t id[CADU_DIGEST_SIZE]),
                  void (*deleted)(void *ud, const char *path), void *ud, int64_t cutoff, bool dry_run,
                  cadu_packs_gc_stats *st, char **errmsg) {
        gc_state g = { root, cutoff, dry_run, deleted, ud, st };
        _cleanup_free_ char *pdir = NULL, *ddir = NULL;
        uint8_t (*keep)[CADU_DIGEST_SIZE] = NULL;
        size_t nkeep = 0, akeep = 0;
        DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        *errmsg = NULL;
        if (asprintf(&pdir, "%s/" CADU_PACK_DIR, root) < 0 || asprintf(&ddir, "%s/deltas", root) < 0)
                return -ENOMEM;
        /* The packs the kept pack indexes name. */
        for (size_t i = 0; i < n; i++) {
                char rel[CADU_PACK_PATH_MAX];
                _cleanup_free_ char *path = NULL;
                _cleanup_free_ uint8_t *raw = NULL;
                cadu_pack_index *pi = NULL;
                size_t len;
                cadu_pack_path(shas[i], CADU_PACKIDX_SUFFIX, rel);
                if (asprintf(&path, "%s/%s", root, rel) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                r = cadu_read_file(path, cadu_pack_index_max_size(idx[i]), &raw, &len);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r == 0)
                        r = cadu_pack_index_parse(raw, len, idx[i], shas[i], &pi, NULL);
                if (r < 0) {
                        r = fail(errmsg, r, "pack index %s (run cadu verify-store)", path);
                        goto out;
                }
                for (size_t k = 0; r == 0 && k < pi->npacks; k++) {
                        if (CADU_ARRAY_GROW(keep, akeep, nkeep, 16) < 0)
                                r = -ENOMEM;
                        else
                                memcpy(keep[nkeep++], pi->packs[k].id, CADU_DIGEST_SIZE);
                }
                cadu_pack_index_free(pi);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < nsealed; i++)
                if ((r = keep_sealed(root, sealed[i], &keep, &nkeep, &akeep, errmsg)) < 0)
                        goto out;
        if ((d = opendir(pdir))) {
                while ((de = readdir(d))) {
                        uint8_t id[CADU_DIGEST_SIZE];
                        char rel[sizeof(CADU_PACK_DIR) + 256];
                        bool kept = false, idxfile = cadu_pack_name_parse(de->d_name, CADU_PACKIDX_SUFFIX, id) ||
                                                     caibz_name(de->d_name, id);
                        bool packfile = !idxfile && (cadu_pack_name_parse(de->d_name, CADU_PACK_SUFFIX, id) ||
                                                     cadu_pack_name_parse(de->d_name, CADU_PACKCAT_SUFFIX, id));
                        bool tmp = !strncmp(de->d_name, ".pack-", 6);
                        if (!idxfile && !packfile && !tmp)
                                continue;       /* not ours: left alone */
                        for (size_t i = 0; idxfile && i < n; i++)
                                kept |= !memcmp(shas[i], id, CADU_DIGEST_SIZE);
                        for (size_t i = 0; idxfile && i < nsealed; i++)
                                kept |= !memcmp(sealed[i], id, CADU_DIGEST_SIZE);
                        for (size_t i = 0; packfile && i < nkeep; i++)
                                kept |= !memcmp(keep[i], id, CADU_DIGEST_SIZE);
                        if (kept) {
                                st->kept_packs += packfile && strstr(de->d_name, CADU_PACK_SUFFIX) != NULL;
                                continue;
                        }
                        snprintf(rel, sizeof(rel), CADU_PACK_DIR "/%s", de->d_name);
                        if ((r = gc_remove(&g, pdir, de->d_name, rel)) < 0) {
                                r = fail(errmsg, r, "cannot delete %s/%s", pdir, de->d_name);
                                goto out;
                        }
                        if (r > 0) {
                                st->pack_indexes += idxfile && !strstr(de->d_name, CADU_CAIBZ_SUFFIX);
                                st->packs += packfile && strstr(de->d_name, CADU_PACK_SUFFIX) != NULL;
                        }
                }
                closedir(d);
                d = NULL;
        }
        /* Delta files: kept with their chunk and all their bases. */
        if ((d = opendir(ddir))) {
                while ((de = readdir(d))) {
                        _cleanup_free_ char *sub = NULL;
                        if (!cadu_store_prefix_valid(de->d_name))
                                continue;
                        if (asprintf(&sub, "%s/%s", ddir, de->d_name) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                        DIR *sd = opendir(sub);
                        struct dirent *fe;
                        size_t left = 0;
                        while (sd && (fe = readdir(sd))) {
                                _cleanup_free_ char *path = NULL;
                                _cleanup_free_ uint8_t *raw = NULL;
                                cadu_delta_info info;
                                size_t len;
                                char rel[8 + 5 + 256];
                                if (fe->d_name[0] == '.' && (!fe->d_name[1] || !strcmp(fe->d_name, "..")))
                                        continue;
                                left++;
                                if (asprintf(&path, "%s/%s", sub, fe->d_name) < 0) {
                                        r = -ENOMEM;
                                        break;
                                }
                                size_t l = strlen(fe->d_name);
                                if (l < sizeof(CADU_DELTA_SUFFIX) || strcmp(fe->d_name + l - strlen(CADU_DELTA_SUFFIX), CADU_DELTA_SUFFIX))
                                        continue;       /* not a delta file: left alone */
                                bool got = cadu_read_file(path, (size_t)CADU_DELTA_SIZE_MAX + (1u << 20), &raw, &len) == 0;
                                bool kept = got && cadu_delta_parse(raw, len, &info) == 0 && chunk_kept(ud, info.target_id);
                                for (size_t k = 0; kept && k < info.nbases; k++)
                                        kept = chunk_kept(ud, info.base_ids[k]);
                                if (got && !kept)
                                        kept = sealed_delta_kept(fe->d_name, raw, len, chunk_kept, ud);
                                if (kept) {
                                        st->kept_deltas++;
                                        continue;
                                }
                                snprintf(rel, sizeof(rel), "deltas/%s/%s", de->d_name, fe->d_name);
                                if ((r = gc_remove(&g, sub, fe->d_name, rel)) < 0) {
                                        r = fail(errmsg, r, "cannot delete %s", path);
                                        break;
                                }
                                if (r > 0) {
                                        st->deltas++;
                                        left--;
                                }
                                r = 0;
                        }
                        if (sd)
                                closedir(sd);
                        if (r < 0)
                                goto out;
                        if (!left && !dry_run)
                                (void)rmdir(sub);       /* emptied (a writer may have refilled it: then it stays) */
                }
        }
        r = 0;
out:
        if (d)
                closedir(d);
        free(keep);
        return r;
}
