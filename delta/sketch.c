/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Similarity sketches, sketch files and the sketch index
 * (doc/delta-format.md, "Sketches"). */
#include <errno.h>
#include <pthread.h>

#include "cadu-delta.h"

/* A gear hash h = (h << 1) + gear[byte]: bit k of h depends on the last
 * k + 1 bytes only, so h's low 48 bits are a rolling hash of a 48-byte
 * window. Positions where bits 40..44 are zero (1 in 32, content-defined)
 * are sampled; at each, x = bits 16..47 goes through the 12 transforms
 * a_j * x + b_j (mod 2^32) and each feature keeps its maximum. Changing
 * any constant here changes every sketch: bump CADU_SKETCH_FILE_VERSION. */
#define SAMPLE_SHIFT 40
#define SAMPLE_MASK 31u
#define WINDOW 48

static uint64_t gear[256];
static uint32_t mul[CADU_SKETCH_FEATURES], add[CADU_SKETCH_FEATURES];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint64_t splitmix64(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static void tables_init(void) {
        uint64_t s = 0x63616475736b6368ull;     /* "cadusketch" */
        for (size_t i = 0; i < 256; i++)
                gear[i] = splitmix64(&s);
        for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++) {
                mul[j] = (uint32_t)splitmix64(&s) | 1;
                add[j] = (uint32_t)splitmix64(&s);
        }
}

void cadu_sketch_compute(const void *data, size_t len, cadu_sketch *ret) {
        pthread_once(&tables_once, tables_init);
        const uint8_t *p = data;
        uint32_t f[CADU_SKETCH_FEATURES] = { 0 };
        bool any = false;
        uint64_t h = 0;
        size_t i = 0;
        for (; i < len && i < WINDOW - 1; i++)
                h = (h << 1) + gear[p[i]];
        for (; i < len; i++) {
                h = (h << 1) + gear[p[i]];
                if (__builtin_expect(((h >> SAMPLE_SHIFT) & SAMPLE_MASK) != 0, 1))
                        continue;
                uint32_t x = (uint32_t)(h >> 16);
                any = true;
                for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++) {
                        uint32_t v = mul[j] * x + add[j];
                        if (v > f[j])
                                f[j] = v;
                }
        }
        /* 0 means "no feature": a sampled maximum of 0 becomes 1. */
        for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                ret->f[j] = any && f[j] == 0 ? 1 : f[j];
}

/* ---- sketch files ---- */

#define FILE_MAGIC "CADUSKCH"
#define CADU_SKETCH_FILE_VERSION 1
#define FILE_HEADER 24
#define FILE_RECORD (CADU_DIGEST_SIZE + 8 + 4 * CADU_SKETCH_FEATURES)

static uint32_t le32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++, v >>= 8)
                p[i] = (uint8_t)v;
}

int cadu_sketch_file_serialize(const cadu_sketch_entry *e, size_t n, cadu_buf *out) {
        out->len = 0;
        if (n > (SIZE_MAX - FILE_HEADER) / FILE_RECORD)
                return -ENOMEM;
        int r = cadu_buf_reserve(out, FILE_HEADER + n * FILE_RECORD);
        if (r < 0)
                return r;
        uint8_t *p = out->data;
        memcpy(p, FILE_MAGIC, 8);
        put_le32(p + 8, CADU_SKETCH_FILE_VERSION);
        put_le32(p + 12, CADU_SKETCH_FEATURES);
        cadu_put_le64(p + 16, n);
        p += FILE_HEADER;
        for (size_t i = 0; i < n; i++, p += FILE_RECORD) {
                if (e[i].size < 1 || e[i].size > CADU_DELTA_SIZE_MAX)
                        return -EINVAL;
                memcpy(p, e[i].id, CADU_DIGEST_SIZE);
                cadu_put_le64(p + CADU_DIGEST_SIZE, e[i].size);
                for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                        put_le32(p + CADU_DIGEST_SIZE + 8 + 4 * j, e[i].sketch.f[j]);
        }
        out->len = FILE_HEADER + n * FILE_RECORD;
        return 0;
}

int cadu_sketch_file_parse(const void *raw, size_t len, const uint8_t expected_sha[CADU_DIGEST_SIZE],
                           cadu_sketch_entry **ret, size_t *ret_n) {
        const uint8_t *p = raw;
        if (!raw || len < FILE_HEADER || memcmp(p, FILE_MAGIC, 8) != 0 || le32(p + 8) != CADU_SKETCH_FILE_VERSION ||
            le32(p + 12) != CADU_SKETCH_FEATURES)
                return -EBADMSG;
        uint64_t n = cadu_le64(p + 16);
        if (n > (len - FILE_HEADER) / FILE_RECORD || FILE_HEADER + n * FILE_RECORD != len)
                return -EBADMSG;
        if (expected_sha) {
                uint8_t sha[CADU_DIGEST_SIZE];
                int r = cadu_digest(CADU_DIGEST_SHA256, raw, len, sha);
                if (r < 0)
                        return r;
                if (memcmp(sha, expected_sha, CADU_DIGEST_SIZE) != 0)
                        return -EBADMSG;
        }
        cadu_sketch_entry *e = calloc(n ? n : 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        p += FILE_HEADER;
        for (size_t i = 0; i < n; i++, p += FILE_RECORD) {
                memcpy(e[i].id, p, CADU_DIGEST_SIZE);
                e[i].size = cadu_le64(p + CADU_DIGEST_SIZE);
                if (e[i].size < 1 || e[i].size > CADU_DELTA_SIZE_MAX) {
                        free(e);
                        return -EBADMSG;
                }
                for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                        e[i].sketch.f[j] = le32(p + CADU_DIGEST_SIZE + 8 + 4 * j);
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

int cadu_sketch_file_name(const void *raw, size_t len, char *out) {
        uint8_t sha[CADU_DIGEST_SIZE];
        int r = cadu_digest(CADU_DIGEST_SHA256, raw, len, sha);
        if (r < 0)
                return r;
        cadu_hex_encode(sha, CADU_DIGEST_SIZE, out);
        memcpy(out + 64, CADU_SKETCH_SUFFIX, sizeof(CADU_SKETCH_SUFFIX));
        return 0;
}

int cadu_sketch_file_name_parse(const char *name, uint8_t sha[CADU_DIGEST_SIZE]) {
        if (strlen(name) != CADU_SKETCH_NAME_MAX - 1 || strcmp(name + 64, CADU_SKETCH_SUFFIX) != 0)
                return -EINVAL;
        char hex[65];
        for (size_t i = 0; i < 64; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return -EINVAL;
        memcpy(hex, name, 64);
        hex[64] = 0;
        return cadu_hex_decode(hex, sha, CADU_DIGEST_SIZE);
}

/* ---- the sketch index ---- */

/* Per feature, the (value, chunk) pairs with a non-zero value, sorted by
 * value then chunk: equal values are neighbours, found by binary search. */
typedef struct pair {
        uint32_t value;
        uint32_t chunk;
} pair;

struct cadu_sketch_index {
        pair *pairs[CADU_SKETCH_FEATURES];
        size_t n[CADU_SKETCH_FEATURES];
        size_t common_max;
};

static int pair_cmp(const void *a, const void *b) {
        const pair *x = a, *y = b;
        if (x->value != y->value)
                return x->value < y->value ? -1 : 1;
        return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

cadu_sketch_index *cadu_sketch_index_free(cadu_sketch_index *x) {
        if (x)
                for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++)
                        free(x->pairs[j]);
        free(x);
        return NULL;
}

int cadu_sketch_index_new(const cadu_sketch *s, size_t n, size_t common_max, cadu_sketch_index **ret) {
        if (n > UINT32_MAX)
                return -E2BIG;
        cadu_sketch_index *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->common_max = common_max;
        for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++) {
                if (!(x->pairs[j] = malloc((n ? n : 1) * sizeof(pair)))) {
                        cadu_sketch_index_free(x);
                        return -ENOMEM;
                }
                size_t k = 0;
                for (size_t i = 0; i < n; i++)
                        if (s[i].f[j])
                                x->pairs[j][k++] = (pair){ s[i].f[j], (uint32_t)i };
                qsort(x->pairs[j], k, sizeof(pair), pair_cmp);
                x->n[j] = k;
        }
        *ret = x;
        return 0;
}

typedef struct cand {
        size_t chunk;
        unsigned count;
} cand;

static int cand_cmp(const void *a, const void *b) {
        const cand *x = a, *y = b;
        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

ssize_t cadu_sketch_index_query(const cadu_sketch_index *x, const cadu_sketch *s, bool (*accept)(void *ud, size_t i),
                                void *ud, size_t *out, unsigned *matches, size_t max) {
        /* At most common_max chunks per feature: a small array suffices. */
        size_t cap = CADU_SKETCH_FEATURES * (x->common_max ? x->common_max : 1), nc = 0;
        _cleanup_free_ cand *c = malloc(cap * sizeof(cand));
        if (!c)
                return -ENOMEM;
        for (size_t j = 0; j < CADU_SKETCH_FEATURES; j++) {
                if (!s->f[j])
                        continue;
                const pair *p = x->pairs[j];
                size_t lo = 0, hi = x->n[j];
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (p[mid].value < s->f[j])
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                size_t end = lo;
                while (end < x->n[j] && p[end].value == s->f[j])
                        end++;
                if (end - lo > x->common_max)
                        continue;
                for (size_t k = lo; k < end; k++) {
                        size_t chunk = p[k].chunk, m;
                        if (accept && !accept(ud, chunk))
                                continue;
                        for (m = 0; m < nc && c[m].chunk != chunk; m++)
                                ;
                        if (m == nc)
                                c[nc++] = (cand){ chunk, 0 };
                        c[m].count++;
                }
        }
        qsort(c, nc, sizeof(cand), cand_cmp);
        size_t k = CADU_MIN(nc, max);
        for (size_t i = 0; i < k; i++) {
                out[i] = c[i].chunk;
                if (matches)
                        matches[i] = c[i].count;
        }
        return (ssize_t)k;
}
