/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pack indexes and pack catalogs: writer and hostile-safe parser
 * (doc/pack-format.md). */
#include <errno.h>
#include <string.h>

#include <zstd.h>

#include "cadu-pack.h"

#define BAD(why) do { *reason = (why); r = -EBADMSG; goto fail; } while (0)

void cadu_pack_path(const uint8_t sha[CADU_DIGEST_SIZE], const char *suffix, char *out) {
        char hex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(sha, CADU_DIGEST_SIZE, hex);
        snprintf(out, CADU_PACK_PATH_MAX, CADU_PACK_DIR "/%s%s", hex, suffix);
}

bool cadu_pack_name_parse(const char *name, const char *suffix, uint8_t sha[CADU_DIGEST_SIZE]) {
        size_t l = strlen(name), sl = strlen(suffix);
        char hex[2 * CADU_DIGEST_SIZE + 1];
        if (l != 2 * CADU_DIGEST_SIZE + sl || strcmp(name + 2 * CADU_DIGEST_SIZE, suffix) != 0)
                return false;
        memcpy(hex, name, 2 * CADU_DIGEST_SIZE);
        hex[2 * CADU_DIGEST_SIZE] = 0;
        return cadu_hex_decode(hex, sha, CADU_DIGEST_SIZE) == 0;
}

static uint64_t max_payload(size_t nchunks) {
        return 4096 + 512 * (uint64_t)nchunks;
}

size_t cadu_pack_index_max_size(const cadu_index *idx) {
        uint64_t p = max_payload(idx->n);
        if (p > SIZE_MAX / 2)
                return SIZE_MAX / 2;
        return CADU_PACKIDX_HEADER_SIZE + ZSTD_compressBound((size_t)p);
}

uint64_t cadu_pack_entry_max_len(const cadu_index *idx, uint32_t nbases) {
        uint64_t m = cadu_chunk_max_raw((size_t)idx->max);
        return nbases ? m + CADU_PACK_DELTA_OVERHEAD + 32 * (uint64_t)nbases : m;
}

cadu_pack_index *cadu_pack_index_free(cadu_pack_index *pi) {
        if (!pi)
                return NULL;
        free(pi->packs);
        free(pi->entries);
        free(pi->first);
        free(pi->base_ids);
        free(pi);
        return NULL;
}

int cadu_pack_index_new(const cadu_index *idx, const uint8_t index_sha[CADU_DIGEST_SIZE], cadu_pack_index **ret) {
        cadu_pack_index *pi = calloc(1, sizeof(*pi));
        if (!pi)
                return -ENOMEM;
        memcpy(pi->index_sha, index_sha, CADU_DIGEST_SIZE);
        pi->nchunks = idx->n;
        *ret = pi;
        return 0;
}

int cadu_pack_index_add_pack(cadu_pack_index *pi, const uint8_t id[CADU_DIGEST_SIZE], uint64_t size, uint32_t *ret) {
        for (size_t i = 0; i < pi->npacks; i++)
                if (!memcmp(pi->packs[i].id, id, CADU_DIGEST_SIZE)) {
                        *ret = (uint32_t)i;
                        return 0;
                }
        if (size > CADU_PACK_MAX_SIZE || pi->npacks >= UINT32_MAX)
                return -E2BIG;
        if (CADU_ARRAY_GROW(pi->packs, pi->apacks, pi->npacks, 8) < 0)
                return -ENOMEM;
        memcpy(pi->packs[pi->npacks].id, id, CADU_DIGEST_SIZE);
        pi->packs[pi->npacks].size = size;
        *ret = (uint32_t)pi->npacks++;
        return 0;
}

static int add_bases(uint8_t (**ids)[CADU_DIGEST_SIZE], size_t *n, size_t *alloc,
                     const uint8_t (*base_ids)[CADU_DIGEST_SIZE], uint32_t nbases) {
        for (uint32_t b = 0; b < nbases; b++) {
                if (CADU_ARRAY_GROW(*ids, *alloc, *n, 64) < 0)
                        return -ENOMEM;
                memcpy((*ids)[(*n)++], base_ids[b], CADU_DIGEST_SIZE);
        }
        return 0;
}

int cadu_pack_index_add_entry(cadu_pack_index *pi, size_t chunk, uint32_t pack, uint64_t off, uint64_t len,
                              const uint8_t (*base_ids)[CADU_DIGEST_SIZE], uint32_t nbases) {
        if (chunk >= pi->nchunks || pack >= pi->npacks || nbases > CADU_PACK_MAX_BASES || len == 0 ||
            off > pi->packs[pack].size || len > pi->packs[pack].size - off)
                return -EINVAL;
        if (pi->nentries && pi->entries[pi->nentries - 1].chunk > chunk)
                return -EINVAL;
        size_t same = 0;
        for (size_t e = pi->nentries; e > 0 && pi->entries[e - 1].chunk == chunk; e--)
                same++;
        if (same >= CADU_PACK_MAX_ENTRIES)
                return -E2BIG;
        if (CADU_ARRAY_GROW(pi->entries, pi->aentries, pi->nentries, 256) < 0)
                return -ENOMEM;
        size_t first_base = pi->nbases;
        int r = add_bases(&pi->base_ids, &pi->nbases, &pi->abases, base_ids, nbases);
        if (r < 0)
                return r;
        pi->entries[pi->nentries++] = (cadu_pack_entry){
                .chunk = chunk, .pack = pack, .nbases = nbases, .bases = first_base, .off = off, .len = len,
        };
        return 0;
}

static int put_varint(cadu_buf *b, uint64_t v) {
        uint8_t t[10];
        size_t n = 0;
        do {
                t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
        } while (v);
        return cadu_buf_append(b, t, n);
}

/* The writer refers to a base that is a chunk of the index by its position:
 * an open-addressing table maps each id to its first position + 1. */
typedef struct id_slot {
        uint8_t id[CADU_DIGEST_SIZE];
        size_t pos1;
} id_slot;

static size_t id_slot_hash(const uint8_t *id) {
        uint64_t h;
        memcpy(&h, id, sizeof(h));
        return (size_t)h;
}

int cadu_pack_index_serialize(const cadu_pack_index *pi, const cadu_index *idx, cadu_buf *out) {
        cadu_buf p = CADU_BUF_INIT;
        id_slot *tab = NULL;
        uint64_t *cursor = NULL;
        size_t cap = 16;
        int r = -ENOMEM;

        if (pi->nchunks != idx->n)
                return -EINVAL;
        while (cap < 2 * idx->n + 2)
                cap *= 2;
        tab = calloc(cap, sizeof(*tab));
        cursor = calloc(pi->npacks + 1, sizeof(*cursor));
        if (!tab || !cursor)
                goto fail;
        for (size_t i = 0; i < idx->n; i++)
                for (size_t h = id_slot_hash(idx->items[i].id) & (cap - 1);; h = (h + 1) & (cap - 1)) {
                        if (!tab[h].pos1) {
                                memcpy(tab[h].id, idx->items[i].id, CADU_DIGEST_SIZE);
                                tab[h].pos1 = i + 1;
                                break;
                        }
                        if (!memcmp(tab[h].id, idx->items[i].id, CADU_DIGEST_SIZE))
                                break;
                }
        if ((r = put_varint(&p, pi->npacks)) < 0)
                goto fail;
        for (size_t k = 0; k < pi->npacks; k++)
                if ((r = cadu_buf_append(&p, pi->packs[k].id, CADU_DIGEST_SIZE)) < 0 ||
                    (r = put_varint(&p, pi->packs[k].size)) < 0)
                        goto fail;
        size_t e = 0;
        for (size_t c = 0; c < idx->n; c++) {
                size_t e0 = e;
                while (e < pi->nentries && pi->entries[e].chunk == c)
                        e++;
                if ((r = put_varint(&p, e - e0)) < 0)
                        goto fail;
                for (size_t k = e0; k < e; k++) {
                        const cadu_pack_entry *en = &pi->entries[k];
                        uint64_t d = en->off - cursor[en->pack];       /* two's complement */
                        uint64_t zz = (d << 1) ^ (uint64_t)-(int64_t)(d >> 63);
                        if ((r = put_varint(&p, en->pack)) < 0 || (r = put_varint(&p, zz)) < 0 ||
                            (r = put_varint(&p, en->len)) < 0 || (r = put_varint(&p, en->nbases)) < 0)
                                goto fail;
                        cursor[en->pack] = en->off + en->len;
                        for (uint32_t b = 0; b < en->nbases; b++) {
                                const uint8_t *id = pi->base_ids[en->bases + b];
                                size_t pos1 = 0;
                                for (size_t h = id_slot_hash(id) & (cap - 1); tab[h].pos1; h = (h + 1) & (cap - 1))
                                        if (!memcmp(tab[h].id, id, CADU_DIGEST_SIZE)) {
                                                pos1 = tab[h].pos1;
                                                break;
                                        }
                                if ((r = put_varint(&p, pos1)) < 0 ||
                                    (!pos1 && (r = cadu_buf_append(&p, id, CADU_DIGEST_SIZE)) < 0))
                                        goto fail;
                        }
                }
        }
        if (e != pi->nentries || p.len > max_payload(idx->n)) {
                r = e != pi->nentries ? -EINVAL : -E2BIG;
                goto fail;
        }
        size_t bound = ZSTD_compressBound(p.len);
        out->len = 0;
        if ((r = cadu_buf_reserve(out, CADU_PACKIDX_HEADER_SIZE + bound)) < 0)
                goto fail;
        uint8_t *h = out->data;
        memcpy(h, CADU_PACKIDX_MAGIC, 8);
        memset(h + 8, 0, 8);
        h[8] = CADU_PACKIDX_VERSION;
        memcpy(h + 16, pi->index_sha, CADU_DIGEST_SIZE);
        cadu_put_le64(h + 48, idx->n);
        cadu_put_le64(h + 56, p.len);
        size_t k = ZSTD_compress(h + CADU_PACKIDX_HEADER_SIZE, bound, p.data, p.len, 19);
        if (ZSTD_isError(k)) {
                r = -ENOMEM;
                goto fail;
        }
        out->len = CADU_PACKIDX_HEADER_SIZE + k;
        r = 0;
fail:
        cadu_buf_free(&p);
        free(tab);
        free(cursor);
        return r;
}

typedef struct reader {
        const uint8_t *p, *end;
} reader;

/* 0, or -EBADMSG when the varint runs past the end or 64 bits. */
static int get_varint(reader *rd, uint64_t *ret) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 10; i++) {
                if (rd->p >= rd->end)
                        return -EBADMSG;
                uint8_t b = *rd->p++;
                if (i == 9 && b > 1)
                        return -EBADMSG;
                v |= (uint64_t)(b & 0x7f) << (7 * i);
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

int cadu_pack_index_parse(const uint8_t *raw, size_t len, const cadu_index *idx,
                          const uint8_t index_sha[CADU_DIGEST_SIZE], cadu_pack_index **ret, const char **reason) {
        cadu_pack_index *pi = NULL;
        uint8_t *payload = NULL;
        uint64_t *cursor = NULL;
        const char *dummy;
        int r;

        if (!reason)
                reason = &dummy;
        *reason = NULL;
        if (len < CADU_PACKIDX_HEADER_SIZE)
                BAD("pack index shorter than its header");
        if (memcmp(raw, CADU_PACKIDX_MAGIC, 8) != 0)
                BAD("not a pack index (bad magic)");
        if (raw[8] != CADU_PACKIDX_VERSION || raw[9] || raw[10] || raw[11])
                BAD("unsupported pack index version");
        if (raw[12] || raw[13] || raw[14] || raw[15])
                BAD("unknown pack index flags");
        if (memcmp(raw + 16, index_sha, CADU_DIGEST_SIZE) != 0)
                BAD("pack index belongs to another index");
        if (cadu_le64(raw + 48) != idx->n)
                BAD("pack index chunk count differs from the index");
        uint64_t plen = cadu_le64(raw + 56);
        if (plen > max_payload(idx->n))
                BAD("pack index payload larger than the index allows");
        if (len > cadu_pack_index_max_size(idx))
                BAD("pack index larger than the index allows");
        const uint8_t *frame = raw + CADU_PACKIDX_HEADER_SIZE;
        size_t flen = len - CADU_PACKIDX_HEADER_SIZE;
        size_t fsz = ZSTD_findFrameCompressedSize(frame, flen);
        if (ZSTD_isError(fsz) || fsz != flen)
                BAD("pack index is not one zstd frame");
        if (!(payload = malloc((size_t)plen + 1))) {
                r = -ENOMEM;
                goto fail;
        }
        size_t k = ZSTD_decompress(payload, (size_t)plen + 1, frame, flen);
        if (ZSTD_isError(k))
                BAD("pack index frame is corrupt");
        if (k != plen)
                BAD("pack index payload length differs from its header");
        if ((r = cadu_pack_index_new(idx, index_sha, &pi)) < 0)
                goto fail;
        reader rd = { payload, payload + plen };
        uint64_t v, npacks;
        if (get_varint(&rd, &npacks) < 0)
                BAD("pack index truncated in its pack list");
        /* Every pack takes at least 33 bytes. */
        if (npacks > plen / 33)
                BAD("pack index lists more packs than it can hold");
        pi->packs = malloc((size_t)(npacks ? npacks : 1) * sizeof(cadu_pack_ref));
        cursor = calloc((size_t)npacks + 1, sizeof(uint64_t));
        pi->first = malloc((idx->n + 1) * sizeof(size_t));
        if (!pi->packs || !cursor || !pi->first) {
                r = -ENOMEM;
                goto fail;
        }
        pi->apacks = (size_t)npacks;
        for (uint64_t i = 0; i < npacks; i++) {
                if ((size_t)(rd.end - rd.p) < CADU_DIGEST_SIZE)
                        BAD("pack index truncated in its pack list");
                memcpy(pi->packs[i].id, rd.p, CADU_DIGEST_SIZE);
                rd.p += CADU_DIGEST_SIZE;
                if (get_varint(&rd, &v) < 0)
                        BAD("pack index truncated in its pack list");
                if (v > CADU_PACK_MAX_SIZE)
                        BAD("pack index names a pack larger than 2^48 bytes");
                pi->packs[i].size = v;
        }
        pi->npacks = (size_t)npacks;
        for (size_t c = 0; c < idx->n; c++) {
                uint64_t nent;
                pi->first[c] = pi->nentries;
                if (get_varint(&rd, &nent) < 0)
                        BAD("pack index truncated in its entries");
                if (nent > CADU_PACK_MAX_ENTRIES)
                        BAD("pack index lists too many entries for one chunk");
                for (uint64_t e = 0; e < nent; e++) {
                        uint64_t pack, gap, elen, nbases;
                        if (get_varint(&rd, &pack) < 0 || get_varint(&rd, &gap) < 0 || get_varint(&rd, &elen) < 0 ||
                            get_varint(&rd, &nbases) < 0)
                                BAD("pack index truncated in its entries");
                        if (pack >= npacks)
                                BAD("pack index entry names a pack it does not list");
                        if (nbases > CADU_PACK_MAX_BASES)
                                BAD("pack index delta has too many bases");
                        if (elen == 0 || elen > cadu_pack_entry_max_len(idx, (uint32_t)nbases))
                                BAD("pack index entry length out of bounds");
                        uint64_t psize = pi->packs[pack].size;
                        /* zigzag: even = forward, odd = backward */
                        uint64_t mag = (gap >> 1) + (gap & 1);
                        if ((gap & 1) ? mag > cursor[pack] : mag > psize - cursor[pack])
                                BAD("pack index entry runs past the end of its pack");
                        uint64_t off = (gap & 1) ? cursor[pack] - mag : cursor[pack] + mag;
                        if (elen > psize - off)
                                BAD("pack index entry runs past the end of its pack");
                        uint8_t bases[CADU_PACK_MAX_BASES][CADU_DIGEST_SIZE];
                        for (uint64_t b = 0; b < nbases; b++) {
                                uint64_t ref;
                                if (get_varint(&rd, &ref) < 0)
                                        BAD("pack index truncated in its entries");
                                if (ref > idx->n)
                                        BAD("pack index base refers past the index");
                                if (ref) {
                                        memcpy(bases[b], idx->items[ref - 1].id, CADU_DIGEST_SIZE);
                                        continue;
                                }
                                if ((size_t)(rd.end - rd.p) < CADU_DIGEST_SIZE)
                                        BAD("pack index truncated in its entries");
                                memcpy(bases[b], rd.p, CADU_DIGEST_SIZE);
                                rd.p += CADU_DIGEST_SIZE;
                        }
                        if ((r = cadu_pack_index_add_entry(pi, c, (uint32_t)pack, off, elen,
                                                           (const uint8_t(*)[CADU_DIGEST_SIZE])bases,
                                                           (uint32_t)nbases)) < 0)
                                goto fail;
                        cursor[pack] = off + elen;
                }
        }
        pi->first[idx->n] = pi->nentries;
        if (rd.p != rd.end)
                BAD("pack index has bytes after its last entry");
        free(payload);
        free(cursor);
        *ret = pi;
        return 0;
fail:
        free(payload);
        free(cursor);
        cadu_pack_index_free(pi);
        return r;
}

/* ---- catalogs ---- */

int cadu_pack_catalog_new(cadu_pack_catalog **ret) {
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

cadu_pack_catalog *cadu_pack_catalog_free(cadu_pack_catalog *c) {
        if (!c)
                return NULL;
        free(c->entries);
        free(c->base_ids);
        free(c);
        return NULL;
}

uint64_t cadu_pack_catalog_size(const cadu_pack_catalog *c) {
        return c->n ? c->entries[c->n - 1].off + c->entries[c->n - 1].len : 0;
}

int cadu_pack_catalog_add(cadu_pack_catalog *c, const uint8_t id[CADU_DIGEST_SIZE], uint64_t len,
                          const uint8_t (*base_ids)[CADU_DIGEST_SIZE], uint32_t nbases) {
        uint64_t off = cadu_pack_catalog_size(c);
        if (nbases > CADU_PACK_MAX_BASES || len == 0 || len > CADU_PACK_MAX_SIZE - off)
                return -EINVAL;
        if (CADU_ARRAY_GROW(c->entries, c->alloc, c->n, 256) < 0)
                return -ENOMEM;
        size_t first = c->nbases;
        int r = add_bases(&c->base_ids, &c->nbases, &c->abases, base_ids, nbases);
        if (r < 0)
                return r;
        cadu_pack_catalog_entry *e = &c->entries[c->n++];
        *e = (cadu_pack_catalog_entry){ .nbases = nbases, .bases = first, .off = off, .len = len };
        memcpy(e->id, id, CADU_DIGEST_SIZE);
        return 0;
}

int cadu_pack_catalog_serialize(const cadu_pack_catalog *c, cadu_buf *out) {
        uint8_t h[CADU_PACKCAT_HEADER_SIZE] = { 0 };
        int r;
        out->len = 0;
        memcpy(h, CADU_PACKCAT_MAGIC, 8);
        h[8] = CADU_PACKIDX_VERSION;
        memcpy(h + 16, c->pack_id, CADU_DIGEST_SIZE);
        cadu_put_le64(h + 48, c->n);
        if ((r = cadu_buf_append(out, h, sizeof(h))) < 0)
                return r;
        for (size_t i = 0; i < c->n; i++) {
                const cadu_pack_catalog_entry *e = &c->entries[i];
                uint8_t t[8 + 8 + CADU_DIGEST_SIZE + 4];
                cadu_put_le64(t, e->off);
                cadu_put_le64(t + 8, e->len);
                memcpy(t + 16, e->id, CADU_DIGEST_SIZE);
                for (int b = 0; b < 4; b++)
                        t[48 + b] = (uint8_t)(e->nbases >> (8 * b));
                if ((r = cadu_buf_append(out, t, sizeof(t))) < 0)
                        return r;
                for (uint32_t b = 0; b < e->nbases; b++)
                        if ((r = cadu_buf_append(out, c->base_ids[e->bases + b], CADU_DIGEST_SIZE)) < 0)
                                return r;
        }
        return 0;
}

int cadu_pack_catalog_parse(const uint8_t *raw, size_t len, const uint8_t *pack_id, cadu_pack_catalog **ret,
                            const char **reason) {
        cadu_pack_catalog *c = NULL;
        const char *dummy;
        int r;
        if (!reason)
                reason = &dummy;
        *reason = NULL;
        if (len < CADU_PACKCAT_HEADER_SIZE)
                BAD("pack catalog shorter than its header");
        if (memcmp(raw, CADU_PACKCAT_MAGIC, 8) != 0)
                BAD("not a pack catalog (bad magic)");
        if (raw[8] != CADU_PACKIDX_VERSION || raw[9] || raw[10] || raw[11] || raw[12] || raw[13] || raw[14] || raw[15])
                BAD("unsupported pack catalog version or flags");
        if (pack_id && memcmp(raw + 16, pack_id, CADU_DIGEST_SIZE) != 0)
                BAD("pack catalog belongs to another pack");
        uint64_t n = cadu_le64(raw + 48);
        const size_t esz = 8 + 8 + CADU_DIGEST_SIZE + 4;
        if (n > (len - CADU_PACKCAT_HEADER_SIZE) / esz)
                BAD("pack catalog lists more entries than it holds");
        if ((r = cadu_pack_catalog_new(&c)) < 0)
                goto fail;
        memcpy(c->pack_id, raw + 16, CADU_DIGEST_SIZE);
        const uint8_t *p = raw + CADU_PACKCAT_HEADER_SIZE, *end = raw + len;
        for (uint64_t i = 0; i < n; i++) {
                if ((size_t)(end - p) < esz)
                        BAD("pack catalog truncated");
                uint64_t off = cadu_le64(p), elen = cadu_le64(p + 8);
                uint32_t nb = (uint32_t)p[48] | (uint32_t)p[49] << 8 | (uint32_t)p[50] << 16 | (uint32_t)p[51] << 24;
                if (off != cadu_pack_catalog_size(c))
                        BAD("pack catalog entries are not contiguous");
                if (nb > CADU_PACK_MAX_BASES)
                        BAD("pack catalog delta has too many bases");
                if ((size_t)(end - p - esz) / CADU_DIGEST_SIZE < nb)
                        BAD("pack catalog truncated");
                r = cadu_pack_catalog_add(c, p + 16, elen, (const uint8_t(*)[CADU_DIGEST_SIZE])(p + esz), nb);
                if (r == -EINVAL)
                        BAD("pack catalog entry length out of bounds");
                if (r < 0)
                        goto fail;
                p += esz + (size_t)nb * CADU_DIGEST_SIZE;
        }
        if (p != end)
                BAD("pack catalog has bytes after its last entry");
        *ret = c;
        return 0;
fail:
        cadu_pack_catalog_free(c);
        return r;
}
