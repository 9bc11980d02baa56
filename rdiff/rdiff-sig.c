/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing signatures, and loading them into an index for delta. */
#include <errno.h>

#include "rdiff-private.h"

/* Input per job: about this much, in whole blocks. */
#define SIG_JOB_BYTES (4u << 20)

typedef struct sig_job {
        uint8_t *buf;           /* read mode: owned buffer */
        rdiff_map map;          /* mapped mode */
        const uint8_t *in;
        size_t in_len;
        uint8_t *out;
        size_t out_len;
} sig_job;

typedef struct sig_ctx {
        cadu_rdiff_sig_params p;
        bool blake2, rabinkarp;
} sig_ctx;

static void sig_job_run(void *job, void *userdata) {
        sig_job *j = job;
        const sig_ctx *c = userdata;
        const size_t bl = c->p.block_len, sl = c->p.strong_len, rec = 4 + sl;
        size_t nfull = j->in_len / bl, i = 0;
        uint8_t *o = j->out;
        uint8_t sums[4][RDIFF_MAX_STRONG];
        /* Full blocks four at a time (one SIMD BLAKE2b pass for four). */
        while (i < nfull) {
                unsigned k = (unsigned)CADU_MIN((size_t)4, nfull - i);
                const uint8_t *d[4];
                for (unsigned q = 0; q < k; q++)
                        d[q] = j->in + (i + q) * bl;
                rdiff_strong_multi(c->blake2, d, k, bl, sums);
                for (unsigned q = 0; q < k; q++) {
                        uint32_t w = c->rabinkarp ? rdiff_rabinkarp(d[q], bl) : rdiff_rollsum(d[q], bl);
                        cadu_put_be32(o, w);
                        memcpy(o + 4, sums[q], sl);
                        o += rec;
                }
                i += k;
        }
        size_t tail = j->in_len - nfull * bl;
        if (tail) {
                const uint8_t *d = j->in + nfull * bl;
                uint32_t w = c->rabinkarp ? rdiff_rabinkarp(d, tail) : rdiff_rollsum(d, tail);
                cadu_put_be32(o, w);
                rdiff_strong(c->blake2, d, tail, sums[0]);
                memcpy(o + 4, sums[0], sl);
                o += rec;
        }
        j->out_len = (size_t)(o - j->out);
}

int cadu_rdiff_signature_fd(int basis_fd, int sig_fd, const cadu_rdiff_sig_params *p,
                            const cadu_rdiff_opts *opts, cadu_rdiff_stats *stats) {
        cadu_rdiff_stats dummy;
        if (!stats)
                stats = &dummy;
        memset(stats, 0, sizeof(*stats));
        if (!p || basis_fd < 0 || sig_fd < 0)
                return -EINVAL;
        bool weak;
        cadu_rdiff_sig_params checked;
        int r = cadu_rdiff_sig_params_init(&checked, p->magic, CADU_RDIFF_SIZE_UNKNOWN, p->block_len,
                                           (int)p->strong_len, &weak);
        if (r < 0 || p->block_len == 0 || p->strong_len == 0)
                return -EINVAL;

        sig_ctx ctx = {
                .p = *p,
                .blake2 = p->magic == CADU_RDIFF_BLAKE2_SIG_MAGIC || p->magic == CADU_RDIFF_RK_BLAKE2_SIG_MAGIC,
                .rabinkarp = p->magic == CADU_RDIFF_RK_MD4_SIG_MAGIC || p->magic == CADU_RDIFF_RK_BLAKE2_SIG_MAGIC,
        };
        unsigned threads = opts && opts->threads ? opts->threads : rdiff_default_threads();
        size_t nslots = threads > 1 ? threads + 2 : 1;
        size_t blocks_per_job = CADU_MAX((size_t)1, SIG_JOB_BYTES / p->block_len);

        sig_job *slots = calloc(nslots, sizeof(sig_job));
        sig_job **free_slots = calloc(nslots, sizeof(sig_job *));
        rdiff_pool *pool = NULL;
        rdiff_writer w = { .buf = NULL };
        rdiff_source src;
        uint64_t next = 0;
        size_t nfree = 0;
        if (!slots || !free_slots) {
                r = -ENOMEM;
                goto out;
        }
        r = rdiff_source_init(&src, basis_fd);
        if (r < 0)
                goto out;
        if (src.mapped) /* no larger than the basis needs */
                blocks_per_job = (size_t)CADU_MIN((uint64_t)blocks_per_job,
                                                  CADU_MAX((uint64_t)1, (src.size + p->block_len - 1) / p->block_len));
        size_t in_cap = blocks_per_job * p->block_len;
        size_t out_cap = blocks_per_job * (4 + (size_t)p->strong_len);
        for (size_t i = 0; i < nslots; i++) {
                if (!src.mapped)
                        slots[i].buf = cadu_malloc_io(in_cap);
                slots[i].out = malloc(out_cap);
                if ((!src.mapped && !slots[i].buf) || !slots[i].out) {
                        r = -ENOMEM;
                        goto out;
                }
                free_slots[nfree++] = &slots[i];
        }
        r = rdiff_writer_init(&w, sig_fd, 1 << 20, NULL);
        if (r < 0)
                goto out;
        r = rdiff_pool_new(threads, nslots, sig_job_run, &ctx, &pool);
        if (r < 0)
                goto out;

        uint8_t hdr[12];
        cadu_put_be32(hdr, p->magic);
        cadu_put_be32(hdr + 4, p->block_len);
        cadu_put_be32(hdr + 8, p->strong_len);
        r = rdiff_writer_put(&w, hdr, sizeof(hdr));
        if (r < 0)
                goto out;

        bool eof = false;
        size_t queued = 0;
        while (!eof || queued) {
                if (!eof && nfree) {
                        sig_job *j = free_slots[--nfree];
                        ssize_t k;
                        if (src.mapped) {
                                k = (ssize_t)CADU_MIN((uint64_t)in_cap, src.size - next);
                                if (k > 0 && (r = rdiff_source_map(&src, next, (size_t)k, &j->map, &j->in)) < 0) {
                                        free_slots[nfree++] = j;
                                        goto out;
                                }
                        } else {
                                k = cadu_read_full(basis_fd, j->buf, in_cap);
                                if (k < 0) {
                                        free_slots[nfree++] = j;
                                        r = (int)k;
                                        goto out;
                                }
                                j->in = j->buf;
                        }
                        if ((size_t)k < in_cap)
                                eof = true;
                        if (k == 0) {
                                free_slots[nfree++] = j;
                                continue;
                        }
                        next += (uint64_t)k;
                        j->in_len = (size_t)k;
                        stats->in_bytes += (uint64_t)k;
                        r = rdiff_pool_submit(pool, j);
                        if (r < 0)
                                goto out;
                        queued++;
                        continue;
                }
                sig_job *j = rdiff_pool_wait(pool);
                queued--;
                r = rdiff_writer_put(&w, j->out, j->out_len);
                if (r < 0)
                        goto out;
                stats->blocks += j->out_len / (4 + p->strong_len);
                rdiff_map_release(&j->map);
                free_slots[nfree++] = j;
                if (opts && opts->progress)
                        opts->progress(opts->userdata, stats->in_bytes);
        }
        r = rdiff_writer_flush(&w);
        stats->out_bytes = w.total;
        if (src.mapped)
                (void)lseek(basis_fd, (off_t)(src.start + next), SEEK_SET);
out:
        rdiff_pool_free(pool);
        rdiff_writer_done(&w);
        if (slots)
                for (size_t i = 0; i < nslots; i++) {
                        rdiff_map_release(&slots[i].map);
                        free(slots[i].buf);
                        free(slots[i].out);
                }
        free(slots);
        free(free_slots);
        return r;
}

/* ---- loading ---- */

cadu_rdiff_sig *cadu_rdiff_sig_free(cadu_rdiff_sig *s) {
        if (!s)
                return NULL;
        free(s->weak);
        free(s->strong);
        free(s->entry_block);
        free(s->table_weak);
        free(s->table_entry);
        free(s->filter);
        free(s);
        return NULL;
}

void cadu_rdiff_sig_get_params(const cadu_rdiff_sig *s, cadu_rdiff_sig_params *ret, uint64_t *ret_blocks) {
        if (ret)
                *ret = (cadu_rdiff_sig_params){ .magic = s->magic, .block_len = s->block_len,
                                                .strong_len = s->strong_len };
        if (ret_blocks)
                *ret_blocks = s->nblocks;
}

static int cmp_blocks(const void *a, const void *b, void *userdata) {
        const cadu_rdiff_sig *s = userdata;
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        if (s->weak[x] != s->weak[y])
                return s->weak[x] < s->weak[y] ? -1 : 1;
        int c = memcmp(s->strong + (size_t)x * s->strong_len, s->strong + (size_t)y * s->strong_len,
                       s->strong_len);
        if (c)
                return c;
        return x < y ? -1 : x > y;
}

/* Build the lookup structures: one entry per distinct (weak, strong) pair,
 * naming its first block, so that runs of identical blocks (zeros) cost one
 * comparison, and the delta can still prefer the block after the previous
 * match by looking at s->weak/s->strong directly. */
static int sig_index(cadu_rdiff_sig *s) {
        uint32_t n = s->nblocks;
        uint32_t *order = malloc(((size_t)n + 1) * sizeof(uint32_t));
        if (!order)
                return -ENOMEM;
        for (uint32_t i = 0; i < n; i++)
                order[i] = i;
        qsort_r(order, n, sizeof(uint32_t), cmp_blocks, s);
        uint32_t m = 0;
        for (uint32_t i = 0; i < n; i++) {
                if (m > 0) {
                        uint32_t prev = order[m - 1], cur = order[i];
                        if (s->weak[prev] == s->weak[cur] &&
                            !memcmp(s->strong + (size_t)prev * s->strong_len,
                                    s->strong + (size_t)cur * s->strong_len, s->strong_len))
                                continue;
                }
                order[m++] = order[i];
        }
        s->nentries = m;
        s->entry_block = order;

        unsigned tbits = 4;
        while (tbits < 31 && (1ull << tbits) < 2ull * m)
                tbits++;
        /* About 32 to 64 filter bits per entry: 1.5 to 3% of the windows
         * in new data get past it to the table. */
        unsigned fbits = CADU_MIN(tbits + 5, 24u);
        s->table_mask = (uint32_t)((1ull << tbits) - 1);
        s->table_shift = 32 - tbits;
        s->table_weak = calloc((size_t)1 << tbits, sizeof(uint32_t));
        s->table_entry = calloc((size_t)1 << tbits, sizeof(uint32_t));
        s->filter_shift = 32 - fbits;
        s->filter = calloc(((size_t)1 << fbits) / 64 + 1, sizeof(uint64_t));
        if (!s->table_weak || !s->table_entry || !s->filter)
                return -ENOMEM;
        for (uint32_t e = 0; e < m; e++) {
                uint32_t w = s->weak[order[e]];
                uint32_t h = rdiff_mix(s->rabinkarp, w);
                uint32_t fb = h >> s->filter_shift;
                s->filter[fb >> 6] |= 1ull << (fb & 63);
                uint32_t slot = h >> s->table_shift;
                while (s->table_entry[slot])
                        slot = (slot + 1) & s->table_mask;
                s->table_weak[slot] = w;
                s->table_entry[slot] = e + 1;
        }
        return 0;
}

int cadu_rdiff_sig_load_mem(const void *data, size_t n, cadu_rdiff_sig **ret, cadu_rdiff_stats *stats) {
        const uint8_t *d = data;
        if (!ret || (!data && n))
                return -EINVAL;
        if (stats)
                memset(stats, 0, sizeof(*stats));
        if (n < 4)
                return rdiff_bad(stats, "truncated header (%zu of 12 bytes)", n);
        uint32_t magic = cadu_be32(d);
        if (magic == CADU_RDIFF_DELTA_MAGIC)
                return rdiff_bad(stats, "bad magic 0x%08x: this is a delta, not a signature", magic);
        if (!cadu_rdiff_is_sig_magic(magic))
                return rdiff_bad(stats, "bad magic 0x%08x: not an rdiff signature", magic);
        if (n < 12)
                return rdiff_bad(stats, "truncated header (%zu of 12 bytes)", n);
        uint32_t bl = cadu_be32(d + 4), sl = cadu_be32(d + 8);
        bool blake2 = magic == CADU_RDIFF_BLAKE2_SIG_MAGIC || magic == CADU_RDIFF_RK_BLAKE2_SIG_MAGIC;
        uint32_t max_sl = blake2 ? RDIFF_BLAKE2_LEN : RDIFF_MD4_LEN;
        if (bl == 0)
                return rdiff_bad(stats, "block length 0");
        if (bl > CADU_RDIFF_MAX_BLOCK_LEN)
                return rdiff_bad(stats, "block length %u above the limit of %u", bl, CADU_RDIFF_MAX_BLOCK_LEN);
        if (sl == 0 || sl > max_sl)
                return rdiff_bad(stats, "strong sum length %u outside 1..%u for %s", sl, max_sl,
                                 blake2 ? "BLAKE2" : "MD4");
        size_t rec = 4 + (size_t)sl, body = n - 12;
        if (body % rec)
                return rdiff_bad(stats, "truncated record at block %zu (%zu of %zu bytes)", body / rec,
                                 body % rec, rec);
        if (body / rec >= UINT32_MAX)
                return rdiff_bad(stats, "too many blocks (%zu)", body / rec);

        cadu_rdiff_sig *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->magic = magic;
        s->block_len = bl;
        s->strong_len = sl;
        s->blake2 = blake2;
        s->rabinkarp = magic == CADU_RDIFF_RK_MD4_SIG_MAGIC || magic == CADU_RDIFF_RK_BLAKE2_SIG_MAGIC;
        s->nblocks = (uint32_t)(body / rec);
        s->weak = malloc(((size_t)s->nblocks + 1) * sizeof(uint32_t));
        s->strong = malloc((size_t)s->nblocks * sl + 1);
        if (!s->weak || !s->strong) {
                cadu_rdiff_sig_free(s);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < s->nblocks; i++) {
                const uint8_t *r = d + 12 + (size_t)i * rec;
                s->weak[i] = cadu_be32(r);
                memcpy(s->strong + (size_t)i * sl, r + 4, sl);
        }
        int r = sig_index(s);
        if (r < 0) {
                cadu_rdiff_sig_free(s);
                return r;
        }
        if (stats) {
                stats->in_bytes = n;
                stats->blocks = s->nblocks;
        }
        *ret = s;
        return 0;
}

int cadu_rdiff_sig_load_fd(int fd, cadu_rdiff_sig **ret, cadu_rdiff_stats *stats) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r = cadu_read_fd(fd, SIZE_MAX, &buf, &len);
        if (r < 0)
                return r;
        return cadu_rdiff_sig_load_mem(buf, len, ret, stats);
}
