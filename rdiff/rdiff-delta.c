/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Delta: find the new file's windows in the signature's blocks.
 *
 * The new file is read in segments (a few MiB, whole blocks) plus the
 * block_len - 1 bytes that follow each, so every window starting inside a
 * segment can be looked at. Segments are parsed independently on worker
 * threads; each parse is rdiff's greedy one: at position p take the window
 * p..p+block_len; if its weak sum is in the signature and the strong sum
 * agrees, COPY and jump past it, else the byte at p is literal and the weak
 * sum rolls on by one byte. Near the end of the file the window shrinks and
 * can only match the basis's (short) last block.
 *
 * Better than rdiff: among equal blocks the block right after the previous
 * match wins, so runs of equal blocks (zeros) become one COPY; adjacent
 * copies are merged without a size limit, literals in pieces of up to
 * 1 MiB; literal bytes that repeat the block just matched (the end of a run
 * of zero blocks off the block grid) are a partial copy of it; a copy that
 * costs more bytes than its data becomes literal.
 *
 * Faster than rdiff: in new data the weak sum rolls in a tight loop and a
 * bit filter rejects almost every window before the table is looked at;
 * strong sums of aligned windows in a run of matches are computed four at a
 * time (AVX2 BLAKE2b); segments run on all CPUs; input is mapped, not read.
 *
 * The writer (calling thread) takes segments in order. A match at the end of
 * one segment may reach into the next: the next segment's commands are
 * trimmed from the front to where output has got to. The segment size
 * depends only on block_len, so the delta does not depend on the number of
 * threads.
 */
#include <errno.h>

#include "rdiff-private.h"

typedef struct dcmd {
        uint64_t npos;   /* position in the new file */
        uint64_t boff;   /* copy: offset in the basis */
        uint64_t len;
        bool copy;
} dcmd;

typedef struct delta_job {
        uint8_t *buf;             /* read mode: owned buffer */
        rdiff_map map;            /* mapped mode */
        const uint8_t *data;
        uint64_t pos;     /* offset of data[0] in the new file */
        size_t len;       /* windows start in [0, len) */
        size_t avail;     /* bytes at data */
        bool eof;         /* the new file ends at data + avail */
        dcmd *cmds;
        size_t ncmds, cap;
        uint64_t strong_sums;
        int error;
} delta_job;

/* Strong sums computed ahead for aligned windows of a run of matches. */
typedef struct strong_cache {
        unsigned n;
        size_t pos[4];
        uint32_t weak[4];
        uint8_t sum[4][RDIFF_MAX_STRONG];
} strong_cache;

static int job_emit(delta_job *j, bool copy, uint64_t npos, uint64_t boff, uint64_t len) {
        if (j->ncmds) {
                dcmd *l = &j->cmds[j->ncmds - 1];
                if (l->copy == copy && l->npos + l->len == npos && (!copy || l->boff + l->len == boff)) {
                        l->len += len;
                        return 0;
                }
        }
        if (CADU_ARRAY_GROW(j->cmds, j->cap, j->ncmds, 256) < 0)
                return -ENOMEM;
        j->cmds[j->ncmds++] = (dcmd){ .npos = npos, .boff = boff, .len = len, .copy = copy };
        return 0;
}

/* The strong sum of the full window at p: from the cache, or computed
 * together with up to three more aligned windows that may match next. */
static const uint8_t *window_strong(const cadu_rdiff_sig *s, delta_job *j, strong_cache *c, size_t p,
                                    size_t wlen, uint8_t *one) {
        for (unsigned i = 0; i < c->n; i++)
                if (c->pos[i] == p)
                        return c->sum[i];
        const size_t n = s->block_len;
        if (wlen != n) {
                rdiff_strong(s->blake2, j->data + p, wlen, one);
                j->strong_sums++;
                return one;
        }
        const uint8_t *d[4] = { j->data + p };
        unsigned k = 1;
        c->n = 0;
        c->pos[0] = p;
        c->weak[0] = 0; /* not needed: the caller has it */
        if (s->blake2)
                for (size_t q = p + n; k < 4 && q < j->len && q + n <= j->avail; q += n) {
                        uint32_t w = s->rabinkarp ? rdiff_rabinkarp(j->data + q, n) : rdiff_rollsum(j->data + q, n);
                        if (!rdiff_sig_maybe(s, w))
                                break;
                        c->pos[k] = q;
                        c->weak[k] = w;
                        d[k++] = j->data + q;
                }
        rdiff_strong_multi(s->blake2, d, k, n, c->sum);
        j->strong_sums += k;
        c->n = k;
        return c->sum[0];
}

/* The weak sum of the full window at p if window_strong() computed it. */
static bool cached_weak(const cadu_rdiff_sig *s, const strong_cache *c, size_t p, size_t wlen, rdiff_weak *w) {
        if (wlen != s->block_len)
                return false;
        for (unsigned i = 1; i < c->n; i++)
                if (c->pos[i] == p) {
                        *w = (rdiff_weak){ .rabinkarp = s->rabinkarp, .count = (uint32_t)wlen };
                        if (s->rabinkarp) {
                                w->h = c->weak[i];
                                w->kn = rdiff_rk_pow(wlen);
                        } else {
                                w->s1 = c->weak[i] & 0xffff;
                                w->s2 = c->weak[i] >> 16;
                        }
                        return true;
                }
        return false;
}

/* The block matching the window at p (length wlen, weak sum w), or -1. */
static int64_t find_match(const cadu_rdiff_sig *s, delta_job *j, strong_cache *c, size_t p, size_t wlen,
                          uint32_t w, int64_t prev) {
        const size_t sl = s->strong_len;
        const uint8_t *st = NULL;
        uint8_t one[RDIFF_MAX_STRONG];
        if (s->nblocks == 0)
                return -1;
        if (wlen < s->block_len) {
                /* A short window (end of the file) can only be the last block. */
                uint32_t b = s->nblocks - 1;
                if (s->weak[b] != w)
                        return -1;
                st = window_strong(s, j, c, p, wlen, one);
                return memcmp(st, s->strong + (size_t)b * sl, sl) ? -1 : (int64_t)b;
        }
        if (prev >= 0 && (uint64_t)prev + 1 < s->nblocks && s->weak[prev + 1] == w) {
                st = window_strong(s, j, c, p, wlen, one);
                if (!memcmp(st, s->strong + (size_t)(prev + 1) * sl, sl))
                        return prev + 1;
        }
        if (!rdiff_sig_maybe(s, w))
                return -1;
        for (uint32_t slot = rdiff_mix(s->rabinkarp, w) >> s->table_shift; s->table_entry[slot];
             slot = (slot + 1) & s->table_mask) {
                if (s->table_weak[slot] != w)
                        continue;
                uint32_t b = s->entry_block[s->table_entry[slot] - 1];
                if (!st)
                        st = window_strong(s, j, c, p, wlen, one);
                if (!memcmp(st, s->strong + (size_t)b * sl, sl))
                        return b;
        }
        return -1;
}

/* Roll a full window from p towards end (exclusive, with end + block_len
 * within the data) while the filter rules every window out; returns where
 * it stopped, with *w the weak sum there. Every position passed is a miss.
 * These loops are where a delta of new data spends its time: the weak sum
 * stays in registers, and RabinKarp goes two bytes per multiply on the
 * critical path (h2 = h K^2 + c0 K + c1). */
static size_t scan_rabinkarp(const cadu_rdiff_sig *s, const uint8_t *d, size_t p, size_t end, rdiff_weak *w) {
        const size_t n = s->block_len;
        const uint64_t *filter = s->filter;
        const unsigned shift = s->filter_shift;
        const uint32_t K = RDIFF_RK_MULT, K2 = K * K, kn = w->kn;
        uint32_t h = w->h;
        while (p + 2 <= end) {
                if (rdiff_filter_test(filter, shift, h))
                        goto out;
                uint32_t c0 = d[p + n] - kn * (d[p] + K - 1);
                uint32_t c1 = d[p + n + 1] - kn * (d[p + 1] + K - 1);
                uint32_t h1 = h * K + c0;
                if (rdiff_filter_test(filter, shift, h1)) {
                        h = h1;
                        p++;
                        goto out;
                }
                h = h * K2 + (c0 * K + c1);
                p += 2;
        }
        if (p < end && !rdiff_filter_test(filter, shift, h)) {
                h = h * K + d[p + n] - kn * (d[p] + K - 1);
                p++;
        }
out:
        w->h = h;
        return p;
}

static size_t scan_rollsum(const cadu_rdiff_sig *s, const uint8_t *d, size_t p, size_t end, rdiff_weak *w) {
        const size_t n = s->block_len;
        const uint64_t *filter = s->filter;
        const unsigned shift = s->filter_shift;
        uint32_t s1 = w->s1, s2 = w->s2, cnt = w->count;
        for (; p < end; p++) {
                uint32_t dig = ((s2 & 0xffff) << 16) | (s1 & 0xffff);
                if (rdiff_filter_test(filter, shift, rdiff_mix(false, dig)))
                        break;
                uint8_t out = d[p], in = d[p + n];
                s1 += (uint32_t)in - out;
                s2 += s1 - cnt * (out + RDIFF_RS_OFFSET);
        }
        w->s1 = s1;
        w->s2 = s2;
        return p;
}

/* Emit the literal run [lit, end). If it follows a match of block b (the
 * window [lit - n, lit) equals that block), its first bytes may repeat the
 * block, as at the end of a run of zero blocks that is not a multiple of the
 * block length: those are a copy of the start of block b, known to be equal
 * without looking at the basis. */
static int emit_literal_run(const cadu_rdiff_sig *s, delta_job *j, size_t lit, size_t end, int64_t b) {
        const size_t n = s->block_len;
        size_t r = 0;
        if (b >= 0 && lit >= n) {
                const uint8_t *a = j->data + lit, *c = j->data + lit - n;
                size_t lim = CADU_MIN(end - lit, n);
                while (r < lim && a[r] == c[r])
                        r++;
                uint64_t off = (uint64_t)b * n;
                if (r <= 1 + rdiff_int_len(off) + rdiff_int_len(r))
                        r = 0;
                else {
                        int ret = job_emit(j, true, j->pos + lit, off, r);
                        if (ret < 0)
                                return ret;
                }
        }
        if (lit + r < end)
                return job_emit(j, false, j->pos + lit + r, 0, end - lit - r);
        return 0;
}

static void delta_job_run(void *job, void *userdata) {
        delta_job *j = job;
        const cadu_rdiff_sig *s = userdata;
        const size_t n = s->block_len;
        rdiff_weak weak;
        bool have_weak = false;
        strong_cache cache = { .n = 0 };
        int64_t prev = -1, lit_after = -1;
        size_t p = 0, lit = SIZE_MAX;
        int r = 0;

        j->ncmds = 0;
        j->strong_sums = 0;
        /* Windows at p < scan_end are full and can roll one byte on. */
        const size_t scan_end = j->avail > n ? CADU_MIN(j->len, j->avail - n) : 0;
        while (p < j->len) {
                size_t wlen = CADU_MIN(n, j->avail - p);
                if (!have_weak) {
                        if (!cached_weak(s, &cache, p, wlen, &weak))
                                rdiff_weak_init(&weak, s->rabinkarp, j->data + p, wlen);
                        have_weak = true;
                } else if (prev < 0 && p < scan_end) {
                        /* in a miss: skip what the filter rules out */
                        size_t q = s->rabinkarp ? scan_rabinkarp(s, j->data, p, scan_end, &weak)
                                                : scan_rollsum(s, j->data, p, scan_end, &weak);
                        if (q > p && lit == SIZE_MAX) {
                                lit = p;
                                lit_after = -1;
                        }
                        p = q;
                        if (p >= j->len)
                                break;
                        wlen = CADU_MIN(n, j->avail - p);
                }
                int64_t b = find_match(s, j, &cache, p, wlen, rdiff_weak_digest(&weak), prev);
                if (b >= 0) {
                        if (lit != SIZE_MAX) {
                                r = emit_literal_run(s, j, lit, p, lit_after);
                                lit = SIZE_MAX;
                        }
                        if (r == 0)
                                r = job_emit(j, true, j->pos + p, (uint64_t)b * n, wlen);
                        if (r < 0)
                                break;
                        p += wlen;
                        prev = b;
                        have_weak = false;
                        continue;
                }
                if (lit == SIZE_MAX) {
                        lit = p;
                        /* right after a full-block match? */
                        lit_after = prev >= 0 && p >= n ? prev : -1;
                }
                prev = -1;
                if (wlen == n && p + n < j->avail)
                        rdiff_weak_rotate(&weak, j->data[p], j->data[p + n]);
                else
                        rdiff_weak_rollout(&weak, j->data[p]);
                p++;
        }
        if (r == 0 && lit != SIZE_MAX)
                r = emit_literal_run(s, j, lit, p, lit_after);
        j->error = r;
}

/* ---- writing the delta ---- */

typedef struct delta_out {
        rdiff_writer w;
        cadu_rdiff_stats *st;
        uint8_t *lit;            /* literal bytes not yet written */
        size_t lit_len, lit_alloc, lit_cap;
        bool have_copy;
        uint64_t copy_off, copy_len;
} delta_out;

static int out_flush_literal(delta_out *o) {
        if (!o->lit_len)
                return 0;
        uint8_t hdr[9];
        size_t h = 1;
        if (o->lit_len <= 64)
                hdr[0] = (uint8_t)o->lit_len;
        else {
                unsigned wl = rdiff_int_len(o->lit_len);
                hdr[0] = (uint8_t)(0x41 + __builtin_ctz(wl));
                rdiff_put_be(hdr + 1, o->lit_len, wl);
                h += wl;
        }
        int r = rdiff_writer_put(&o->w, hdr, h);
        if (r == 0)
                r = rdiff_writer_put(&o->w, o->lit, o->lit_len);
        o->st->literal_cmds++;
        o->st->literal_bytes += o->lit_len;
        o->lit_len = 0;
        return r;
}

static int out_flush_copy(delta_out *o) {
        if (!o->have_copy)
                return 0;
        uint8_t cmd[17];
        unsigned wo = rdiff_int_len(o->copy_off), wl = rdiff_int_len(o->copy_len);
        cmd[0] = (uint8_t)(0x45 + 4 * __builtin_ctz(wo) + __builtin_ctz(wl));
        rdiff_put_be(cmd + 1, o->copy_off, wo);
        rdiff_put_be(cmd + 1 + wo, o->copy_len, wl);
        o->st->copy_cmds++;
        o->st->copy_bytes += o->copy_len;
        o->have_copy = false;
        return rdiff_writer_put(&o->w, cmd, 1 + wo + wl);
}

static int out_literal(delta_out *o, const uint8_t *data, size_t len) {
        int r = out_flush_copy(o);
        while (r == 0 && len) {
                if (o->lit_len == o->lit_alloc) {
                        size_t n = CADU_MIN(o->lit_cap, CADU_MAX(o->lit_alloc * 2, (size_t)16384));
                        uint8_t *b = realloc(o->lit, n);
                        if (!b)
                                return -ENOMEM;
                        o->lit = b;
                        o->lit_alloc = n;
                }
                size_t k = CADU_MIN(len, o->lit_alloc - o->lit_len);
                memcpy(o->lit + o->lit_len, data, k);
                o->lit_len += k;
                data += k;
                len -= k;
                if (o->lit_len == o->lit_cap)
                        r = out_flush_literal(o);
        }
        return r;
}

static int out_copy(delta_out *o, uint64_t off, uint64_t len, const uint8_t *data) {
        if (o->have_copy && o->copy_off + o->copy_len == off) {
                o->copy_len += len;
                return 0;
        }
        /* A copy that is no shorter than its command is cheaper as literal. */
        if (len <= 1 + rdiff_int_len(off) + rdiff_int_len(len))
                return out_literal(o, data, (size_t)len);
        int r = out_flush_copy(o);
        if (r == 0)
                r = out_flush_literal(o);
        o->have_copy = true;
        o->copy_off = off;
        o->copy_len = len;
        return r;
}

static int out_job(delta_out *o, const delta_job *j, uint64_t *covered) {
        for (size_t i = 0; i < j->ncmds; i++) {
                dcmd c = j->cmds[i];
                if (c.npos + c.len <= *covered)
                        continue;
                if (c.npos < *covered) {
                        uint64_t d = *covered - c.npos;
                        c.npos += d;
                        c.boff += d;
                        c.len -= d;
                }
                if (c.npos != *covered)
                        return -EIO; /* cannot happen: segments leave no gaps */
                const uint8_t *data = j->data + (c.npos - j->pos);
                int r = c.copy ? out_copy(o, c.boff, c.len, data) : out_literal(o, data, (size_t)c.len);
                if (r < 0)
                        return r;
                *covered = c.npos + c.len;
        }
        return 0;
}

int cadu_rdiff_delta_fd(const cadu_rdiff_sig *sig, int new_fd, int delta_fd, const cadu_rdiff_opts *opts,
                        cadu_rdiff_stats *stats) {
        cadu_rdiff_stats dummy;
        if (!stats)
                stats = &dummy;
        memset(stats, 0, sizeof(*stats));
        if (!sig || new_fd < 0 || delta_fd < 0)
                return -EINVAL;
        const size_t n = sig->block_len;
        /* Segment: whole blocks, a few MiB, at least two blocks; fewer bytes
         * for tiny blocks so a segment's command list stays small. */
        size_t seg = CADU_MIN((size_t)4 << 20, n * 8192);
        seg = CADU_MAX(seg, 2 * n);
        seg = (seg + n - 1) / n * n;
        const size_t bufsz = seg + n - 1;
        unsigned threads = opts && opts->threads ? opts->threads : rdiff_default_threads();
        size_t nslots = threads > 1 ? threads + 2 : 1;

        delta_out o = { .st = stats, .lit_cap = 1 << 20 };
        delta_job *slots = calloc(nslots, sizeof(delta_job));
        delta_job **free_slots = calloc(nslots, sizeof(delta_job *));
        rdiff_pool *pool = NULL;
        rdiff_source src;
        size_t nfree = 0;
        int r;
        if (!slots || !free_slots) {
                r = -ENOMEM;
                goto out;
        }
        r = rdiff_source_init(&src, new_fd);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < nslots; i++) {
                if (!src.mapped && !(slots[i].buf = cadu_malloc_io(bufsz))) {
                        r = -ENOMEM;
                        goto out;
                }
                free_slots[nfree++] = &slots[i];
        }
        r = rdiff_writer_init(&o.w, delta_fd, 1 << 20, NULL);
        if (r < 0)
                goto out;
        r = rdiff_pool_new(threads, nslots, delta_job_run, (void *)sig, &pool);
        if (r < 0)
                goto out;
        uint8_t magic[4];
        cadu_put_be32(magic, CADU_RDIFF_DELTA_MAGIC);
        r = rdiff_writer_put(&o.w, magic, 4);
        if (r < 0)
                goto out;

        /* Read mode: the bytes after the previous segment (its look-ahead)
         * start the next one. Mapped mode: segments overlap in the map. */
        const uint8_t *carry = NULL;
        size_t carry_len = 0, queued = 0;
        uint64_t next_pos = 0, covered = 0;
        bool eof = false;
        while (!eof || carry_len || queued) {
                if ((!eof || carry_len) && nfree) {
                        delta_job *j = free_slots[--nfree];
                        size_t have = carry_len;
                        if (src.mapped) {
                                have = (size_t)CADU_MIN((uint64_t)bufsz, src.size - next_pos);
                                if (have > 0 && (r = rdiff_source_map(&src, next_pos, have, &j->map, &j->data)) < 0) {
                                        free_slots[nfree++] = j;
                                        goto out;
                                }
                                eof = next_pos + have == src.size;
                                if (next_pos + have > stats->in_bytes)
                                        stats->in_bytes = next_pos + have;
                        } else {
                                if (carry_len)
                                        memmove(j->buf, carry, carry_len);
                                if (!eof) {
                                        ssize_t k = cadu_read_full(new_fd, j->buf + have, bufsz - have);
                                        if (k < 0) {
                                                free_slots[nfree++] = j;
                                                r = (int)k;
                                                goto out;
                                        }
                                        have += (size_t)k;
                                        stats->in_bytes += (uint64_t)k;
                                        if (have < bufsz)
                                                eof = true;
                                }
                                j->data = j->buf;
                        }
                        if (have == 0) {
                                free_slots[nfree++] = j;
                                carry_len = 0;
                                continue;
                        }
                        j->pos = next_pos;
                        j->avail = have;
                        j->len = CADU_MIN(seg, have);
                        j->eof = eof;
                        carry = j->data + seg;
                        carry_len = have > seg ? have - seg : 0;
                        next_pos += seg;
                        r = rdiff_pool_submit(pool, j);
                        if (r < 0)
                                goto out;
                        queued++;
                        continue;
                }
                delta_job *j = rdiff_pool_wait(pool);
                queued--;
                if (j->error < 0) {
                        r = j->error;
                        goto out;
                }
                r = out_job(&o, j, &covered);
                if (r < 0)
                        goto out;
                stats->strong_sums += j->strong_sums;
                rdiff_map_release(&j->map);
                free_slots[nfree++] = j;
                if (opts && opts->progress)
                        opts->progress(opts->userdata, covered);
        }
        if (covered != stats->in_bytes) {
                r = -EIO;
                goto out;
        }
        r = out_flush_copy(&o);
        if (r == 0)
                r = out_flush_literal(&o);
        if (r == 0)
                r = rdiff_writer_put(&o.w, "", 1); /* END */
        if (r == 0)
                r = rdiff_writer_flush(&o.w);
        stats->out_bytes = o.w.total;
        if (src.mapped)
                (void)lseek(new_fd, (off_t)(src.start + src.size), SEEK_SET);
out:
        rdiff_pool_free(pool);
        rdiff_writer_done(&o.w);
        free(o.lit);
        if (slots)
                for (size_t i = 0; i < nslots; i++) {
                        rdiff_map_release(&slots[i].map);
                        free(slots[i].buf);
                        free(slots[i].cmds);
                }
        free(slots);
        free(free_slots);
        return r;
}
