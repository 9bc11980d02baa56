/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "chunkfile.h"
#include "extract.h"

/* A seed location that may hold a chunk; cands are chained by index+1. */
typedef struct cand {
        uint32_t seed;
        uint32_t next;
        uint64_t off;
        bool has_fp;                    /* fp was taken from data verified by its id */
        cadu_fp fp;
} cand;

/* One entry per distinct chunk id of the target. */
typedef struct need {
        uint8_t id[CADU_DIGEST_SIZE];
        size_t first;                   /* first target chunk with this id; SIZE_MAX: empty slot */
        uint32_t cands;                 /* head of the candidate list, 0 = none */
        atomic_bool done;
} need;

typedef struct zero_id {
        uint64_t size;
        uint8_t id[CADU_DIGEST_SIZE];
} zero_id;

typedef struct seed_src {
        int fd;
        uint64_t size;
} seed_src;

typedef struct worker_ctx {
        struct extractor *x;
        cadu_extract_stats st;
        cadu_buf raw, buf, chk;
        bool is_main;
} worker_ctx;

typedef struct extractor {
        const cadu_extract_opts *o;
        const cadu_index *idx;
        need *table;
        size_t mask;
        cand *cands;
        size_t ncands, acands;
        zero_id zeros[3];
        size_t nzeros;
        seed_src *seeds;
        cadu_outfile out;
        bool check_existing;            /* output has content worth checking */
        bool sparse;                    /* output is a fresh sparse file */
        size_t *order;                  /* chunk indices: first occurrences, then repeats */
        size_t norder, nunique;
        atomic_size_t next;
        atomic_uint_fast64_t done_bytes;
        atomic_uint_fast64_t unflushed;         /* bytes written since writeback was last started */
        atomic_bool abort;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int error;
        char *errmsg;
        uint8_t *zerobuf;
} extractor;

static void set_error(extractor *x, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(extractor *x, int r, const char *fmt, ...) {
        va_list ap;
        pthread_mutex_lock(&x->lock);
        if (!x->error) {
                x->error = r;
                va_start(ap, fmt);
                if (vasprintf(&x->errmsg, fmt, ap) < 0)
                        x->errmsg = NULL;
                va_end(ap);
        }
        x->abort = true;
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
}

static size_t id_hash(const uint8_t id[CADU_DIGEST_SIZE]) {
        uint64_t h;
        memcpy(&h, id, sizeof(h));     /* ids are digests: uniformly distributed */
        return (size_t)h;
}

/* Find id's entry, or the empty slot where it belongs. */
static need *lookup(extractor *x, const uint8_t id[CADU_DIGEST_SIZE]) {
        for (size_t i = id_hash(id) & x->mask;; i = (i + 1) & x->mask) {
                need *n = &x->table[i];
                if (n->first == SIZE_MAX || !memcmp(n->id, id, CADU_DIGEST_SIZE))
                        return n;
        }
}

static int add_cand(extractor *x, const uint8_t id[CADU_DIGEST_SIZE], uint32_t seed, const cadu_fp *fp, uint64_t off) {
        need *n = lookup(x, id);
        if (n->first == SIZE_MAX)
                return 0;               /* the target does not need it */
        if (CADU_ARRAY_GROW(x->cands, x->acands, x->ncands, 1024) < 0)
                return -ENOMEM;
        x->cands[x->ncands] = (cand){ .seed = seed, .next = n->cands, .off = off, .has_fp = fp != NULL };
        if (fp)
                x->cands[x->ncands].fp = *fp;
        n->cands = (uint32_t)++x->ncands;
        return 0;
}

static bool is_zero_id(const extractor *x, const uint8_t id[CADU_DIGEST_SIZE], uint64_t size) {
        for (size_t i = 0; i < x->nzeros; i++)
                if (x->zeros[i].size == size && !memcmp(x->zeros[i].id, id, CADU_DIGEST_SIZE))
                        return true;
        return false;
}

static bool all_zero(const uint8_t *p, size_t n) {
        return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

static int verify(extractor *x, const uint8_t *data, size_t len, const uint8_t id[CADU_DIGEST_SIZE]) {
        uint8_t got[CADU_DIGEST_SIZE];
        int r = cadu_digest(x->idx->digest, data, len, got);
        if (r < 0)
                return r;
        return memcmp(got, id, CADU_DIGEST_SIZE) ? -EBADMSG : 0;
}

static int write_out(worker_ctx *w, const void *data, size_t len, uint64_t off) {
        extractor *x = w->x;
        if (x->o->dry_run)
                return 0;
        int r = cadu_pwrite_full(x->out.fd, data, len, off);
        if (r < 0) {
                set_error(x, r, "writing %s at offset %llu", x->o->out_path, (unsigned long long)off);
                return r;
        }
        w->st.bytes_written += len;
        /* Start writeback every 32 MiB so that the final fsync has little
         * left to do and the disk works while we compute. */
        if (atomic_fetch_add(&x->unflushed, len) + len >= (32u << 20)) {
                x->unflushed = 0;
                (void)sync_file_range(x->out.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        }
        return 0;
}

static void count(cadu_source_stats *s, uint64_t bytes, uint64_t raw) {
        s->chunks++;
        s->bytes += bytes;
        s->raw_bytes += raw;
}

/* Read len bytes at off from fd into w->buf. 0, -ENODATA when short. */
static int read_at(cadu_buf *b, int fd, size_t len, uint64_t off) {
        int r = cadu_buf_reserve(b, len);
        if (r < 0)
                return r;
        ssize_t k = cadu_pread_full(fd, b->data, len, off);
        if (k < 0)
                return (int)k;
        b->len = (size_t)k;
        return (size_t)k == len ? 0 : -ENODATA;
}

/* Produce target chunk i. Returns 0 or a negative errno (error already set). */
static int produce(worker_ctx *w, size_t i, bool repeat) {
        extractor *x = w->x;
        const cadu_extract_opts *o = x->o;
        const cadu_index_item *it = &x->idx->items[i];
        const uint64_t off = cadu_index_chunk_offset(x->idx, i);
        const size_t len = (size_t)cadu_index_chunk_size(x->idx, i);
        const bool zero = is_zero_id(x, it->id, len);
        char hex[2 * CADU_DIGEST_SIZE + 1];
        int r;

        /* 1. Already in place (resume, or an in-place update of a slot). */
        if (x->check_existing) {
                r = read_at(&w->buf, x->out.fd, len, off);
                if (r == 0 && (zero ? all_zero(w->buf.data, len) : verify(x, w->buf.data, len, it->id) == 0)) {
                        count(&w->st.in_place, len, 0);
                        return 0;
                }
        }
        /* 2. Zeros. */
        if (zero) {
                if (!x->sparse && (r = write_out(w, x->zerobuf, len, off)) < 0)
                        return r;
                count(&w->st.zero, len, 0);
                return 0;
        }
        need *n = lookup(x, it->id);
        /* 3. A repeat: copy the first occurrence from the output. */
        if (repeat && !o->dry_run) {
                uint64_t first_off = cadu_index_chunk_offset(x->idx, n->first);
                r = read_at(&w->buf, x->out.fd, len, first_off);
                if (r == 0 && verify(x, w->buf.data, len, it->id) == 0) {
                        if ((r = write_out(w, w->buf.data, len, off)) < 0)
                                return r;
                        count(&w->st.duplicate, len, 0);
                        return 0;
                }
        } else if (repeat) {
                count(&w->st.duplicate, len, 0);
                return 0;
        }
        /* 4. Seeds. */
        for (uint32_t c = n->cands; c; c = x->cands[c - 1].next) {
                const cand *cd = &x->cands[c - 1];
                cadu_source_stats *ss = &w->st.seeds[cd->seed];
                if (o->dry_run) {
                        count(ss, len, 0);
                        return 0;
                }
                const seed_src *sd = &x->seeds[cd->seed];
                r = read_at(&w->buf, sd->fd, len, cd->off);
                if (r == 0 && cd->has_fp) {
                        /* The fingerprint was taken from data verified by its
                         * id (when this seed was chunked here, or when cadu
                         * saved its index): unchanged data matches it. */
                        cadu_fp fp;
                        cadu_fp_compute(w->buf.data, len, &fp);
                        if (memcmp(&fp, &cd->fp, sizeof(fp)) != 0)
                                r = -EBADMSG;
                } else if (r == 0)
                        r = verify(x, w->buf.data, len, it->id);
                if (r == 0) {
                        if ((r = write_out(w, w->buf.data, len, off)) < 0)
                                return r;
                        count(ss, len, 0);
                        return 0;
                }
                ss->rejected++;         /* the seed changed since its index was written */
        }
        /* 5. Cache, then 6. the stores in order. A corrupt chunk is asked
         * for once more from the same store, then from the next one. */
        int last = -ENOENT;
        cadu_store *last_store = NULL;
        for (size_t s = 0; s <= o->nstores; s++) {
                cadu_store *st = s == 0 ? o->cache : o->stores[s - 1];
                cadu_source_stats *ss = s == 0 ? &w->st.cache : &w->st.stores[s - 1];
                if (!st)
                        continue;
                for (int attempt = 0; attempt < (s == 0 ? 1 : 2); attempt++) {
                        r = cadu_store_get_chunk(st, x->idx->digest, it->id, len, x->idx->max, &w->raw, &w->chk);
                        if (r == -EBADMSG || r == -EFBIG) {
                                ss->rejected++;
                                last = r;
                                continue;
                        }
                        break;
                }
                if (r == -ENOENT || r == -EBADMSG || r == -EFBIG)
                        continue;
                if (r < 0) {
                        /* Network or I/O trouble with this store: try the next. */
                        last = r;
                        last_store = st;
                        continue;
                }
                if ((r = write_out(w, w->chk.data, len, off)) < 0)
                        return r;
                count(ss, len, w->raw.len);
                if (s > 0 && o->cache && !o->dry_run)
                        (void)o->cache->ops->put(o->cache, it->id, w->raw.data, w->raw.len);
                return 0;
        }
        if (o->dry_run && last == -ENOENT) {
                /* Planning: count what no source has instead of failing. */
                count(&w->st.missing, len, 0);
                return 0;
        }
        cadu_hex_encode(it->id, CADU_DIGEST_SIZE, hex);
        if (last == -ENOENT)
                set_error(x, -ENOENT, "chunk %s (offset %llu, %zu bytes) is in no seed%s", hex,
                          (unsigned long long)off, len, o->nstores || o->cache ? " or store" : " and no store was given");
        else if (last == -EBADMSG || last == -EFBIG)
                set_error(x, last, "chunk %s (offset %llu, %zu bytes): no source delivered it intact", hex,
                          (unsigned long long)off, len);
        else {
                /* The store's own account of this thread's last failure. */
                char detail[512] = "";
                if (!last_store || cadu_store_http_last_error(last_store, detail, sizeof(detail)) < 0)
                        detail[0] = 0;
                set_error(x, last, "chunk %s (offset %llu, %zu bytes) could not be fetched%s%s", hex,
                          (unsigned long long)off, len, detail[0] ? ": " : "", detail);
        }
        return last;
}

static void *run_worker(void *arg) {
        worker_ctx *w = arg;
        extractor *x = w->x;
        for (;;) {
                if (x->abort)
                        break;
                size_t k = atomic_fetch_add(&x->next, 1);
                if (k >= x->norder)
                        break;
                size_t i = x->order[k];
                bool repeat = k >= x->nunique;
                need *n = NULL;
                if (repeat) {
                        /* Wait until the first occurrence is written. */
                        n = lookup(x, x->idx->items[i].id);
                        pthread_mutex_lock(&x->lock);
                        while (!n->done && !x->abort)
                                pthread_cond_wait(&x->cond, &x->lock);
                        pthread_mutex_unlock(&x->lock);
                        if (x->abort)
                                break;
                }
                if (produce(w, i, repeat) < 0)
                        break;
                x->done_bytes += cadu_index_chunk_size(x->idx, i);
                if (!repeat) {
                        n = lookup(x, x->idx->items[i].id);
                        pthread_mutex_lock(&x->lock);
                        n->done = true;
                        pthread_cond_broadcast(&x->cond);
                        pthread_mutex_unlock(&x->lock);
                }
                if (w->is_main && x->o->progress)
                        x->o->progress(x->o->userdata, x->done_bytes, cadu_index_size(x->idx));
        }
        cadu_chunk_codec_release();
        return NULL;
}

static void merge(cadu_source_stats *a, const cadu_source_stats *b) {
        a->chunks += b->chunks;
        a->bytes += b->bytes;
        a->raw_bytes += b->raw_bytes;
        a->rejected += b->rejected;
}

static int plan(extractor *x) {
        const cadu_index *idx = x->idx;
        size_t cap = 16;
        while (cap < 2 * idx->n + 2)
                cap *= 2;
        x->table = malloc(cap * sizeof(need));
        x->order = malloc((idx->n ? idx->n : 1) * sizeof(size_t));
        if (!x->table || !x->order)
                return -ENOMEM;
        x->mask = cap - 1;
        for (size_t i = 0; i < cap; i++) {
                x->table[i].first = SIZE_MAX;
                x->table[i].cands = 0;
                atomic_init(&x->table[i].done, false);
        }
        /* First occurrences in order, then repeats in order. */
        size_t nrep = 0;
        for (size_t i = 0; i < idx->n; i++) {
                need *n = lookup(x, idx->items[i].id);
                if (n->first == SIZE_MAX) {
                        memcpy(n->id, idx->items[i].id, CADU_DIGEST_SIZE);
                        n->first = i;
                        x->order[x->nunique++] = i;
                } else
                        x->order[idx->n - 1 - nrep++] = i;
        }
        x->norder = idx->n;
        /* Repeats were stored from the back; put them in ascending order. */
        for (size_t a = x->nunique, b = idx->n - 1; nrep > 1 && a < b; a++, b--) {
                size_t t = x->order[a];
                x->order[a] = x->order[b];
                x->order[b] = t;
        }
        /* All-zero chunks come in the sizes min (if a zero window cuts),
         * max, and that of the last chunk. */
        uint64_t sizes[3] = { idx->min, idx->max, idx->n ? cadu_index_chunk_size(idx, idx->n - 1) : 0 };
        for (size_t i = 0; i < 3; i++) {
                bool dup = false;
                for (size_t j = 0; j < x->nzeros; j++)
                        dup |= x->zeros[j].size == sizes[i];
                if (dup || sizes[i] == 0)
                        continue;
                int r = cadu_digest(idx->digest, x->zerobuf, (size_t)sizes[i], x->zeros[x->nzeros].id);
                if (r < 0)
                        return r;
                x->zeros[x->nzeros++].size = sizes[i];
        }
        return 0;
}

typedef struct seed_scan {
        extractor *x;
        uint32_t seed;
} seed_scan;

static int scan_chunk(void *ud, const cadu_chunk_info *c) {
        seed_scan *s = ud;
        return add_cand(s->x, c->id, s->seed, &c->fp, c->offset);
}

static void scan_progress(void *ud, uint64_t done) {
        seed_scan *s = ud;
        const cadu_extract_opts *o = s->x->o;
        o->seed_progress(o->userdata, o->seeds[s->seed].path, done, s->x->seeds[s->seed].size);
}

/* Learn what each seed holds: from its saved index when that index is usable
 * (same digest and chunk parameters, not longer than the seed), otherwise by
 * chunking the seed with the target's parameters. */
static int load_seed(extractor *x, uint32_t k) {
        const cadu_seed *sd = &x->o->seeds[k];
        seed_src *src = &x->seeds[k];
        const cadu_index *t = x->idx;
        int r;

        src->fd = open(sd->path, O_RDONLY | O_CLOEXEC);
        if (src->fd < 0) {
                r = -errno;
                set_error(x, r, "cannot open seed %s", sd->path);
                return r;
        }
        r = cadu_fd_size(src->fd, &src->size);
        if (r < 0) {
                set_error(x, r, "seed %s", sd->path);
                return r;
        }
        if (sd->index_path) {
                cadu_index *si = NULL;
                const char *why = NULL;
                _cleanup_free_ uint8_t *ibuf = NULL;
                _cleanup_free_ char *fp_path = NULL;
                _cleanup_free_ cadu_fp *fps = NULL;
                uint8_t isha[CADU_DIGEST_SIZE];
                size_t ilen;
                r = cadu_read_file(sd->index_path, (size_t)2 << 30, &ibuf, &ilen);
                if (r == 0)
                        r = cadu_index_parse(ibuf, ilen, &si, &why);
                if (r < 0) {
                        set_error(x, r, "seed index %s%s%s", sd->index_path, why ? ": " : "", why ? why : "");
                        return r;
                }
                bool usable = si->digest == t->digest && si->min == t->min && si->avg == t->avg &&
                              si->max == t->max && cadu_index_size(si) <= src->size;
                /* Fingerprints are used only when they belong to this very index. */
                if (usable && cadu_fp_path(sd->index_path, &fp_path) == 0 &&
                    cadu_digest(CADU_DIGEST_SHA256, ibuf, ilen, isha) == 0 &&
                    cadu_fp_read(fp_path, isha, si->n, &fps) < 0)
                        fps = NULL;
                for (size_t i = 0; usable && i < si->n; i++)
                        if ((r = add_cand(x, si->items[i].id, k, fps ? &fps[i] : NULL,
                                          cadu_index_chunk_offset(si, i))) < 0)
                                break;
                cadu_index_free(si);
                if (r < 0) {
                        set_error(x, r, "seed index %s", sd->index_path);
                        return r;
                }
                if (usable)
                        return 0;
        }
        seed_scan ss = { x, k };
        cadu_chunkfile_params p = {
                .min = t->min, .avg = t->avg, .max = t->max,
                .digest = t->digest,
                .threads = x->o->threads,
                .fingerprints = true,
                .ordered = scan_chunk,
                .progress = x->o->seed_progress ? scan_progress : NULL,
                .userdata = &ss,
        };
        r = cadu_chunk_fd(src->fd, &p, NULL, NULL);
        if (r < 0)
                set_error(x, r, "reading seed %s", sd->path);
        return r;
}

static int open_output(extractor *x) {
        const cadu_extract_opts *o = x->o;
        uint64_t total = cadu_index_size(x->idx), cur = 0;
        struct stat st;
        int r = cadu_outfile_open(&x->out, o->out_path, o->in_place);
        if (r < 0) {
                set_error(x, r, "cannot open output %s", o->out_path);
                return r;
        }
        if (fstat(x->out.fd, &st) < 0) {
                r = -errno;
                set_error(x, r, "output %s", o->out_path);
                return r;
        }
        if (S_ISREG(st.st_mode)) {
                cur = (uint64_t)st.st_size;
                x->sparse = x->out.tmp != NULL;
                x->check_existing = !x->sparse && cur > 0;
                if (cur < total && ftruncate(x->out.fd, (off_t)total) < 0) {
                        r = -errno;
                        set_error(x, r, "resizing output %s", o->out_path);
                        return r;
                }
                return 0;
        }
        /* Block device: check it is large enough; it is always checked in place. */
        x->check_existing = true;
        r = cadu_fd_size(x->out.fd, &cur);
        if (r == 0 && cur < total)
                r = -ENOSPC;
        if (r == -ENOSPC)
                set_error(x, r, "output %s holds %llu bytes, the image needs %llu", o->out_path,
                          (unsigned long long)cur, (unsigned long long)total);
        else if (r < 0 && r != -ENOTSUP)
                set_error(x, r, "output %s", o->out_path);
        return r == -ENOTSUP ? 0 : r;  /* character devices: no size to check */
}

int cadu_extract(const cadu_extract_opts *o, cadu_extract_stats *st, char **errmsg) {
        extractor x = {
                .o = o,
                .idx = o->index,
                .out = CADU_OUTFILE_INIT,
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .cond = PTHREAD_COND_INITIALIZER,
        };
        uint64_t start = cadu_now_ns();
        worker_ctx *ws = NULL;
        pthread_t *tids = NULL;
        size_t nw = 0, started = 0;
        int r;

        *st = (cadu_extract_stats){ 0 };
        *errmsg = NULL;
        st->seeds = calloc(o->nseeds + 1, sizeof(cadu_source_stats));
        st->stores = calloc(o->nstores + 1, sizeof(cadu_source_stats));
        x.seeds = calloc(o->nseeds + 1, sizeof(seed_src));
        x.zerobuf = calloc(1, (size_t)o->index->max);
        if (!st->seeds || !st->stores || !x.seeds || !x.zerobuf) {
                set_error(&x, -ENOMEM, "extract");
                goto done;
        }
        for (size_t k = 0; k < o->nseeds; k++)
                x.seeds[k].fd = -1;
        if ((r = plan(&x)) < 0) {
                set_error(&x, r, "planning");
                goto done;
        }
        for (size_t k = 0; k < o->nseeds; k++)
                if (load_seed(&x, (uint32_t)k) < 0)
                        goto done;
        if (!o->dry_run && open_output(&x) < 0)
                goto done;

        /* Local sources are CPU and disk bound; network stores want several
         * requests in flight, so add workers that mostly wait. */
        nw = o->threads;
        if (!nw) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                nw = n > 0 ? (size_t)n : 1;
                for (size_t s = 0; s < o->nstores; s++)
                        if (strcmp(o->stores[s]->ops->kind, "dir") != 0) {
                                nw += 8;
                                break;
                        }
        }
        ws = calloc(nw, sizeof(*ws));
        tids = calloc(nw, sizeof(*tids));
        if (!ws || !tids) {
                set_error(&x, -ENOMEM, "extract");
                goto done;
        }
        for (size_t i = 0; i < nw; i++) {
                ws[i].x = &x;
                ws[i].is_main = i == 0;
                ws[i].st.seeds = calloc(o->nseeds + 1, sizeof(cadu_source_stats));
                ws[i].st.stores = calloc(o->nstores + 1, sizeof(cadu_source_stats));
                if (!ws[i].st.seeds || !ws[i].st.stores) {
                        set_error(&x, -ENOMEM, "extract");
                        goto join;
                }
        }
        for (started = 1; started < nw; started++)
                if ((r = -pthread_create(&tids[started], NULL, run_worker, &ws[started])) < 0) {
                        set_error(&x, r, "starting threads");
                        break;
                }
        run_worker(&ws[0]);
join:
        for (size_t i = 1; i < started; i++)
                pthread_join(tids[i], NULL);
        for (size_t i = 0; i < nw; i++) {
                merge(&st->in_place, &ws[i].st.in_place);
                merge(&st->zero, &ws[i].st.zero);
                merge(&st->duplicate, &ws[i].st.duplicate);
                merge(&st->cache, &ws[i].st.cache);
                merge(&st->missing, &ws[i].st.missing);
                for (size_t k = 0; k < o->nseeds && ws[i].st.seeds; k++)
                        merge(&st->seeds[k], &ws[i].st.seeds[k]);
                for (size_t k = 0; k < o->nstores && ws[i].st.stores; k++)
                        merge(&st->stores[k], &ws[i].st.stores[k]);
                st->bytes_written += ws[i].st.bytes_written;
                free(ws[i].st.seeds);
                free(ws[i].st.stores);
                cadu_buf_free(&ws[i].raw);
                cadu_buf_free(&ws[i].buf);
                cadu_buf_free(&ws[i].chk);
        }
        if (!x.error && !o->dry_run) {
                uint64_t total = cadu_index_size(x.idx);
                if (!x.out.tmp && !x.out.is_dev && ftruncate(x.out.fd, (off_t)total) < 0)
                        set_error(&x, -errno, "resizing output %s", o->out_path);
                else if ((r = cadu_outfile_commit(&x.out)) < 0)
                        set_error(&x, r, "committing output %s", o->out_path);
        }
done:
        if (x.out.path)
                cadu_outfile_abort(&x.out);
        for (size_t k = 0; x.seeds && k < o->nseeds; k++) {
                if (x.seeds[k].fd >= 0)
                        close(x.seeds[k].fd);
        }
        st->total_bytes = cadu_index_size(o->index);
        st->total_chunks = o->index->n;
        st->seconds = (double)(cadu_now_ns() - start) / 1e9;
        free(ws);
        free(tids);
        free(x.seeds);
        free(x.table);
        free(x.cands);
        free(x.order);
        free(x.zerobuf);
        *errmsg = x.errmsg;
        return x.error;
}

void cadu_seed_parse(char *arg, cadu_seed *s) {
        char *colon = strrchr(arg, ':');
        struct stat st;
        s->path = arg;
        s->index_path = NULL;
        if (colon && colon[1] && stat(colon + 1, &st) == 0 && S_ISREG(st.st_mode)) {
                *colon = 0;
                s->index_path = colon + 1;
        }
}

void cadu_extract_stats_free(cadu_extract_stats *st) {
        free(st->seeds);
        free(st->stores);
        st->seeds = st->stores = NULL;
}
