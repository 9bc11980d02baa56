/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cadu-crypt.h"
#include "cadu-delta.h"
#include "cadu-pack.h"
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

/* One entry per distinct chunk id of the target (24 bytes: the id is the
 * index's, at first; tag is 4 more bytes of it, to skip most compares). */
typedef struct need {
        size_t first;                   /* first target chunk with this id; SIZE_MAX: empty slot */
        uint32_t tag;
        uint32_t cands;                 /* head of the candidate list, 0 = none */
        atomic_bool done;
        bool deferred;                  /* waits for the network (packs) */
        uint8_t sim;                    /* planning state (SIM_*) */
        int8_t choice;                  /* entry of the pack index to fetch, -1: the per-chunk file */
        uint8_t tried;                  /* entries that failed, bit by bit */
} need;

/* Every chunk of the seeds (not only those the target needs: delta bases
 * mostly are not), sorted by id. */
typedef struct seed_chunk {
        uint8_t id[CADU_DIGEST_SIZE];
        uint32_t seed, len;
        uint64_t off;
} seed_chunk;

typedef struct zero_id {
        uint64_t size;
        uint8_t id[CADU_DIGEST_SIZE];
} zero_id;

typedef struct seed_src {
        int fd;
        uint64_t size;
        /* Ways to copy from this seed to the output without passing the
         * data through here; cleared at their first failure. */
        atomic_bool clone;              /* FICLONERANGE: share the blocks */
        atomic_bool copy;               /* copy_file_range: the kernel copies */
        bool is_out;                    /* the output itself (in place) */
} seed_src;

typedef struct worker_ctx {
        struct extractor *x;
        cadu_extract_stats st;
        cadu_buf raw, buf, chk;
        cadu_buf plain;                 /* an encrypted store: the entry opened */
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
        uint64_t blksize;               /* output's file system block size (reflinks) */
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
        /* Packs. */
        bool want_seedmap;              /* collect seedmap while loading seeds */
        seed_chunk *seedmap;
        size_t nseedmap, aseedmap;
        cadu_pack_index *pi;            /* NULL: per-chunk files only */
        cadu_store *pack_store;         /* the store that had the pack index */
        cadu_store *pack_raw;           /* the same, or the store an encrypted one wraps */
        const cadu_crypt_key *key;      /* pack_store's key when encrypted, else NULL */
        bool defer;                     /* chunks for the network wait in deferred[] */
        bool trim_between;              /* workers give back their pages beyond an average chunk */
        size_t *deferred;
        size_t ndeferred, adeferred;
        uint64_t index_bytes;           /* size of the pack index fetched */
        atomic_uint_fast64_t downloaded;
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
static uint32_t id_tag(const uint8_t id[CADU_DIGEST_SIZE]) {
        uint32_t t;
        memcpy(&t, id + 8, sizeof(t));
        return t;
}

static need *lookup(extractor *x, const uint8_t id[CADU_DIGEST_SIZE]) {
        uint32_t tag = id_tag(id);
        for (size_t i = id_hash(id) & x->mask;; i = (i + 1) & x->mask) {
                need *n = &x->table[i];
                if (n->first == SIZE_MAX ||
                    (n->tag == tag && !memcmp(x->idx->items[n->first].id, id, CADU_DIGEST_SIZE)))
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

/* Does data, read from the output at off, hold chunk id? When the output's
 * own saved index with fingerprints is among the seeds (FILE:INDEX naming
 * OUT) and puts this chunk at this very offset, its fingerprint says so
 * (much cheaper than the digest); otherwise the digest. */
static bool holds(extractor *x, const uint8_t *data, size_t len, const uint8_t id[CADU_DIGEST_SIZE], uint64_t off) {
        const need *n = lookup(x, id);
        for (uint32_t c = n->first != SIZE_MAX ? n->cands : 0; c; c = x->cands[c - 1].next) {
                const cand *cd = &x->cands[c - 1];
                if (cd->has_fp && cd->off == off && x->seeds[cd->seed].is_out) {
                        cadu_fp fp;
                        cadu_fp_compute(data, len, &fp);
                        return memcmp(&fp, &cd->fp, sizeof(fp)) == 0;
                }
        }
        return verify(x, data, len, id) == 0;
}

/* Count bytes written to the output (by us or by the kernel) and start
 * their writeback every 32 MiB so that the final fsync has little left to
 * do and the disk works while we compute. */
static void written(worker_ctx *w, uint64_t len) {
        extractor *x = w->x;
        w->st.bytes_written += len;
        if (atomic_fetch_add(&x->unflushed, len) + len >= (32u << 20)) {
                x->unflushed = 0;
                (void)sync_file_range(x->out.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        }
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
        written(w, len);
        return 0;
}

/* Copy chunk data (len bytes, verified) from seed sd at soff to the output
 * at off. Where seed and output share a reflink-capable file system and the
 * offsets agree modulo its block size, the whole blocks are shared
 * (FICLONERANGE) and only the partial blocks at the ends are written;
 * otherwise the kernel copies (copy_file_range: server-side on NFS, and a
 * reflink where the file system makes one); otherwise data is written. Each
 * way that fails once (other file system, not supported) is not tried again
 * for this seed. */
static int seed_copy(worker_ctx *w, seed_src *sd, const uint8_t *data, size_t len, uint64_t soff, uint64_t off) {
        extractor *x = w->x;
        const uint64_t bs = x->blksize;
        if (sd->clone && soff % bs == off % bs) {
                uint64_t a = (off + bs - 1) / bs * bs, b = (off + len) / bs * bs;
                if (b > a) {
                        struct file_clone_range fcr = {
                                .src_fd = sd->fd, .src_offset = soff + (a - off),
                                .src_length = b - a, .dest_offset = a,
                        };
                        if (ioctl(x->out.fd, FICLONERANGE, &fcr) == 0) {
                                int r = write_out(w, data, (size_t)(a - off), off);
                                if (r == 0)
                                        r = write_out(w, data + (b - off), (size_t)(off + len - b), b);
                                w->st.bytes_cloned += b - a;
                                return r;
                        }
                        sd->clone = false;
                }
        }
        size_t done = 0;
        while (sd->copy && done < len) {
                loff_t in = (loff_t)(soff + done), out = (loff_t)(off + done);
                ssize_t k = copy_file_range(sd->fd, &in, x->out.fd, &out, len - done, 0);
                if (k <= 0) {
                        sd->copy = false;
                        break;
                }
                done += (size_t)k;
                w->st.bytes_copied += (uint64_t)k;
                written(w, (uint64_t)k);
        }
        return done < len ? write_out(w, data + done, len - done, off + done) : 0;
}

static void count(cadu_source_stats *s, uint64_t bytes, uint64_t raw) {
        s->chunks++;
        s->bytes += bytes;
        s->raw_bytes += raw;
}

/* Read len bytes at off from fd into w->buf. 0, -ENODATA when short. */
static int read_at(cadu_buf *b, int fd, size_t len, uint64_t off) {
        b->len = 0;             /* room for len bytes, not for len more */
        int r = cadu_buf_reserve(b, len);
        if (r < 0)
                return r;
        ssize_t k = cadu_pread_full(fd, b->data, len, off);
        if (k < 0)
                return (int)k;
        b->len = (size_t)k;
        return (size_t)k == len ? 0 : -ENODATA;
}

/* Leave chunk i for the pack phase. */
static int defer(extractor *x, size_t i, need *n, bool repeat) {
        pthread_mutex_lock(&x->lock);
        int r = CADU_ARRAY_GROW(x->deferred, x->adeferred, x->ndeferred, 256);
        if (r == 0) {
                x->deferred[x->ndeferred++] = i;
                if (!repeat)
                        n->deferred = true;
        }
        pthread_mutex_unlock(&x->lock);
        if (r < 0)
                set_error(x, r, "extract");
        return r;
}

static void format_budget_error(extractor *x, uint64_t need_bytes, const char *what) {
        set_error(x, -EDQUOT, "%s needs %llu bytes in all, more than the download limit of %llu bytes", what,
                  (unsigned long long)need_bytes, (unsigned long long)x->o->max_download);
}

/* Count bytes fetched; past the budget is an error (the plan was within it,
 * so only a fall back gets here). */
static int count_download(extractor *x, uint64_t bytes) {
        uint64_t total = atomic_fetch_add(&x->downloaded, bytes) + bytes;
        if (x->o->max_download && total > x->o->max_download) {
                format_budget_error(x, total, "falling back to per-chunk files");
                return -EDQUOT;
        }
        return 0;
}

/* Give the pages of b beyond its first keep bytes back to the system (the
 * bytes there are not needed any more): a worker's buffers stay as large as
 * the largest chunk it met, but hold in memory about an average chunk. */
static void trim(cadu_buf *b, size_t keep) {
        static long page;
        if (!page)
                page = sysconf(_SC_PAGESIZE);
        if (page <= 0 || b->alloc <= keep)
                return;
        uintptr_t a = ((uintptr_t)b->data + keep + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
        uintptr_t e = ((uintptr_t)b->data + b->alloc) & ~((uintptr_t)page - 1);
        if (e > a)
                (void)madvise((void *)a, e - a, MADV_DONTNEED);
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
                if (r == 0 && (zero ? all_zero(w->buf.data, len) : holds(x, w->buf.data, len, it->id, off))) {
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
                r = read_at(&w->buf, x->seeds[cd->seed].fd, len, cd->off);
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
                        if ((r = seed_copy(w, &x->seeds[cd->seed], w->buf.data, len, cd->off, off)) < 0)
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
                if (s > 0 && x->defer)
                        return defer(x, i, n, repeat);
                /* A worker waiting on the network holds no chunk pages: the
                 * store fills raw as the bytes arrive, buf is decoded into
                 * after (with eight transfers, 1 MiB less on average). */
                if (strcmp(st->ops->kind, "dir") != 0) {
                        trim(&w->raw, 0);
                        trim(&w->buf, 0);
                }
                for (int attempt = 0; attempt < (s == 0 ? 1 : 2); attempt++) {
                        /* Decoded into buf (free by now): a worker waiting
                         * on the network holds two chunk buffers, not three. */
                        r = cadu_store_get_chunk(st, x->idx->digest, it->id, len, x->idx->max, &w->raw, &w->buf);
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
                if (s > 0 && (r = count_download(x, w->raw.len)) < 0)
                        return r;
                if ((r = write_out(w, w->buf.data, len, off)) < 0)
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
                if (x->trim_between) {
                        trim(&w->raw, (size_t)x->idx->avg);
                        trim(&w->buf, (size_t)x->idx->avg);
                }
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
        /* At most three quarters full (linear probing stays short), at
         * least one entry empty: 32 to 64 bytes per chunk of the index. */
        size_t cap = 16;
        while (cap - cap / 4 < idx->n + 1)
                cap *= 2;
        x->table = malloc(cap * sizeof(need));
        x->order = malloc((idx->n ? idx->n : 1) * sizeof(size_t));
        if (!x->table || !x->order)
                return -ENOMEM;
        x->mask = cap - 1;
        for (size_t i = 0; i < cap; i++) {
                x->table[i].first = SIZE_MAX;
                x->table[i].cands = 0;
                x->table[i].deferred = false;
                x->table[i].sim = 0;
                x->table[i].choice = -1;
                x->table[i].tried = 0;
                atomic_init(&x->table[i].done, false);
        }
        /* First occurrences in order, then repeats in order. */
        size_t nrep = 0;
        for (size_t i = 0; i < idx->n; i++) {
                need *n = lookup(x, idx->items[i].id);
                if (n->first == SIZE_MAX) {
                        n->tag = id_tag(idx->items[i].id);
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

static int add_seedmap(extractor *x, const uint8_t id[CADU_DIGEST_SIZE], uint32_t seed, uint64_t off, uint64_t len) {
        if (!x->want_seedmap)
                return 0;
        if (len > UINT32_MAX || CADU_ARRAY_GROW(x->seedmap, x->aseedmap, x->nseedmap, 1024) < 0)
                return -ENOMEM;
        seed_chunk *c = &x->seedmap[x->nseedmap++];
        memcpy(c->id, id, CADU_DIGEST_SIZE);
        c->seed = seed;
        c->len = (uint32_t)len;
        c->off = off;
        return 0;
}

static int seed_chunk_cmp(const void *a, const void *b) {
        return memcmp(a, b, CADU_DIGEST_SIZE);
}

static const seed_chunk *find_seed_chunk(const extractor *x, const uint8_t id[CADU_DIGEST_SIZE]) {
        if (!x->nseedmap)
                return NULL;
        return bsearch(id, x->seedmap, x->nseedmap, sizeof(seed_chunk), seed_chunk_cmp);
}

static int scan_chunk(void *ud, const cadu_chunk_info *c) {
        seed_scan *s = ud;
        int r = add_seedmap(s->x, c->id, s->seed, c->offset, c->len);
        return r < 0 ? r : add_cand(s->x, c->id, s->seed, &c->fp, c->offset);
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

        src->fd = cadu_open_untrusted(sd->path, CADU_OPEN_BLOCK);
        if (src->fd < 0) {
                r = src->fd;
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
                /* An index of a longer image than the seed could not be used. */
                r = cadu_read_file(sd->index_path, cadu_index_file_max(src->size), &ibuf, &ilen);
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
                                          cadu_index_chunk_offset(si, i))) < 0 ||
                            (r = add_seedmap(x, si->items[i].id, k, cadu_index_chunk_offset(si, i),
                                             cadu_index_chunk_size(si, i))) < 0)
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
                .low_memory = true,
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
        /* A seed that is the output itself says what the output holds; it
         * is never copied from by the kernel: it changes as it is written. */
        for (size_t k = 0; k < o->nseeds; k++) {
                struct stat ss;
                seed_src *sd = &x->seeds[k];
                if (fstat(sd->fd, &ss) < 0)
                        continue;
                sd->is_out = S_ISBLK(st.st_mode) ? S_ISBLK(ss.st_mode) && ss.st_rdev == st.st_rdev
                                                 : ss.st_dev == st.st_dev && ss.st_ino == st.st_ino;
                sd->clone = sd->copy = S_ISREG(st.st_mode) && S_ISREG(ss.st_mode) && !sd->is_out;
        }
        if (S_ISREG(st.st_mode)) {
                x->blksize = st.st_blksize > 0 ? (uint64_t)st.st_blksize : 4096;
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

/* ---- packs ---- */

/* Fetch and parse the release's pack index from the first store that has
 * one. Without one (or when a store fails to deliver it), per-chunk files. */
static int load_pack_index(extractor *x) {
        const cadu_extract_opts *o = x->o;
        char rel[CADU_PACK_PATH_MAX];
        cadu_buf b = CADU_BUF_INIT;
        cadu_pack_path(o->index_sha, CADU_PACKIDX_SUFFIX, rel);
        for (size_t s = 0; s < o->nstores && !x->pi; s++) {
                /* An encrypted store's pack index is sealed, with its packs
                 * and delta files listed in clear: at most 4 entries a
                 * chunk, each in its own pack and up to 3 of them deltas. */
                const cadu_crypt_key *k = cadu_store_crypt_key(o->stores[s]);
                cadu_store *raw = cadu_store_crypt_inner(o->stores[s]);
                size_t max = cadu_pack_index_max_size(x->idx), off = 0, len;
                if (k)
                        max += CADU_CRYPT_SEALED_OVERHEAD + 16 +
                               (size_t)CADU_PACK_MAX_ENTRIES * x->idx->n * CADU_CRYPT_PACKIDX_PACK +
                               (size_t)(CADU_PACK_MAX_ENTRIES - 1) * x->idx->n * CADU_CRYPT_DELTA_BIND;
                int r = cadu_store_get_file(raw, rel, max, &b);
                if (r < 0)
                        continue;       /* absent, or not deliverable: that store's chunk files */
                x->downloaded += b.len;
                x->index_bytes += b.len;
                len = b.len;
                if (k && cadu_crypt_packidx_open(k, o->index_sha, b.data, b.len, &off, &len) < 0)
                        continue;       /* forged, or another key's: per-chunk files */
                if (cadu_pack_index_parse(b.data + off, len, x->idx, o->index_sha, &x->pi, NULL) == 0) {
                        x->pack_store = o->stores[s];
                        x->pack_raw = raw;
                        x->key = k;
                }
        }
        cadu_buf_free(&b);
        return 0;
}

/* Planning simulates the pack phase round by round: a round fetches the
 * chunks whose chosen entry has all its bases at hand (in a seed, or
 * chunks of the release written already or in an earlier round), so that a
 * delta against a chunk new in this release waits one round for it. */
enum { SIM_OPEN, SIM_ROUND, SIM_READY, SIM_FILE };

/* Is base id at hand (true), or coming in a later round (true, *pending
 * set), or not to be had in the pack phase (false)? */
static bool base_state(extractor *x, const uint8_t id[CADU_DIGEST_SIZE], bool *pending) {
        if (find_seed_chunk(x, id))
                return true;
        need *n = lookup(x, id);
        if (n->first == SIZE_MAX)
                return false;
        if (!n->deferred || n->sim == SIM_READY)
                return true;
        if (n->sim == SIM_OPEN || n->sim == SIM_ROUND) {
                *pending = true;
                return true;
        }
        return false;
}

/* The cheapest entry of chunk n not tried yet whose bases are at hand, or
 * with allow_pending also coming later (*ready: all at hand); -1 if none. */
static int best_entry(extractor *x, const need *n, bool allow_pending, bool *ready) {
        const cadu_pack_index *pi = x->pi;
        int best = -1;
        uint64_t best_len = UINT64_MAX;
        *ready = false;
        if (!pi || !x->pack_store)
                return -1;
        for (size_t e = pi->first[n->first]; e < pi->first[n->first + 1]; e++) {
                const cadu_pack_entry *en = &pi->entries[e];
                int k = (int)(e - pi->first[n->first]);
                bool ok = true, pending = false;
                if (n->tried & (1u << k) || en->len >= best_len)
                        continue;
                for (uint32_t b = 0; ok && b < en->nbases; b++)
                        ok = base_state(x, pi->base_ids[en->bases + b], &pending);
                if (!ok || (pending && !allow_pending))
                        continue;
                best = k;
                best_len = en->len;
                *ready = !pending;
        }
        return best;
}

/* The size of chunk pos's chunk file when the pack index knows it, else the
 * largest it can be (*bound set). */
static uint64_t chunk_file_size(extractor *x, size_t pos, bool *bound) {
        const cadu_pack_index *pi = x->pi;
        for (size_t e = pi ? pi->first[pos] : 0; pi && e < pi->first[pos + 1]; e++)
                if (!pi->entries[e].nbases)
                        return pi->entries[e].len;
        *bound = true;
        return cadu_chunk_max_raw((size_t)cadu_index_chunk_size(x->idx, pos));
}

typedef struct fetch_item {
        unsigned round;
        uint32_t pack;
        uint64_t off, len;
        size_t pos;                     /* first occurrence in the index */
        bool done;
} fetch_item;

static int fetch_item_cmp(const void *a, const void *b) {
        const fetch_item *x = a, *y = b;
        if (x->round != y->round)
                return x->round < y->round ? -1 : 1;
        if (x->pack != y->pack)
                return x->pack < y->pack ? -1 : 1;
        return x->off < y->off ? -1 : x->off > y->off;
}

/* Choose a source for every chunk marked deferred (first occurrences) and
 * sum up the plan (see SIM_*). With items, also list the pack entries of
 * the first round (malloc'ed, sorted by pack and offset). */
static int make_plan(extractor *x, cadu_extract_plan *p, fetch_item **items, size_t *nitems) {
        fetch_item *it = NULL;
        size_t n = 0, a = 0, open = 0;
        *p = (cadu_extract_plan){ .pack_index = x->pi != NULL, .index_bytes = x->index_bytes };
        for (size_t k = 0; k < x->nunique; k++) {
                need *nd = lookup(x, x->idx->items[x->order[k]].id);
                nd->sim = nd->deferred ? SIM_OPEN : SIM_READY;
                nd->choice = -1;
                open += nd->deferred;
        }
        for (unsigned round = 0; open; round++) {
                size_t n0 = n;
                for (int force = 0; force < 2 && n == n0; force++)
                        for (size_t k = 0; k < x->nunique; k++) {
                                size_t i = x->order[k];
                                need *nd = lookup(x, x->idx->items[i].id);
                                bool ready;
                                if (nd->sim != SIM_OPEN)
                                        continue;
                                int e = best_entry(x, nd, !force, &ready);
                                if (e < 0) {
                                        /* Nothing in the packs: the per-chunk file, after them. */
                                        nd->sim = SIM_FILE;
                                        open--;
                                        p->file_chunks++;
                                        p->file_bytes += chunk_file_size(x, i, &p->files_bound);
                                        continue;
                                }
                                if (!ready)
                                        continue;       /* waits for a base of this release */
                                const cadu_pack_entry *en = &x->pi->entries[x->pi->first[i] + (size_t)e];
                                nd->choice = (int8_t)e;
                                nd->sim = SIM_ROUND;
                                open--;
                                if (en->nbases) {
                                        p->delta_chunks++;
                                        p->delta_bytes += en->len;
                                } else {
                                        p->pack_chunks++;
                                        p->pack_bytes += en->len;
                                }
                                if (CADU_ARRAY_GROW(it, a, n, 256) < 0) {
                                        free(it);
                                        return -ENOMEM;
                                }
                                it[n++] = (fetch_item){ .round = round, .pack = en->pack, .off = en->off,
                                                        .len = en->len, .pos = i };
                        }
                for (size_t k = n0; k < n; k++)
                        lookup(x, x->idx->items[it[k].pos].id)->sim = SIM_READY;
        }
        if (n)
                qsort(it, n, sizeof(*it), fetch_item_cmp);
        size_t first_round = 0;
        for (size_t k = 0; k < n; k++) {
                if (k == 0 || it[k].round != it[k - 1].round || it[k].pack != it[k - 1].pack ||
                    it[k].off != it[k - 1].off + it[k - 1].len)
                        p->range_requests++;
                first_round += it[k].round == 0;
        }
        p->total_bytes = p->index_bytes + p->pack_bytes + p->delta_bytes + p->file_bytes;
        p->requests = (x->pi ? 1 : 0) + p->range_requests + p->file_chunks;
        if (items) {
                *items = it;
                *nitems = first_round;
        } else
                free(it);
        return 0;
}

/* Where base id of size bytes can be read: a seed, or the output (a chunk
 * of the release written already). -ENOENT if nowhere. */
static int locate_base(extractor *x, const uint8_t id[CADU_DIGEST_SIZE], uint64_t size, int *fd, uint64_t *off) {
        const seed_chunk *sc = find_seed_chunk(x, id);
        if (sc && sc->len == size) {
                *fd = x->seeds[sc->seed].fd;
                *off = sc->off;
                return 0;
        }
        need *n = lookup(x, id);
        if (n->first == SIZE_MAX || n->deferred || cadu_index_chunk_size(x->idx, n->first) != size || x->o->dry_run)
                return -ENOENT;
        *fd = x->out.fd;
        *off = cadu_index_chunk_offset(x->idx, n->first);
        return 0;
}

/* Turn a fetched entry (chunk file, or delta file when is_delta) of chunk
 * pos into the chunk and write it. 0; -EBADMSG/-ENOENT/... when this source
 * failed (the next one is tried); a write error is set and returned as
 * -ECANCELED. */
/* An encrypted store's entry: opened (authenticated against the name
 * of what the pack index says it is) into w->plain. */
static int open_entry(worker_ctx *w, size_t pos, const cadu_pack_entry *e, const uint8_t *data, size_t len) {
        extractor *x = w->x;
        const uint8_t *id = x->idx->items[pos].id;
        uint8_t bind[CADU_CRYPT_DELTA_BIND];
        char rel[CADU_DELTA_PATH_MAX];
        size_t off = 0, n = 0;
        w->plain.len = 0;
        int r = cadu_buf_append(&w->plain, data, len);
        if (r == 0 && e->nbases == 0 && (r = cadu_crypt_chunk_name(x->key, id, bind)) == 0)
                r = cadu_crypt_chunk_open(x->key, bind, w->plain.data, len, &n);
        else if (r == 0 && e->nbases > 0 &&
                 (r = cadu_crypt_delta_path(x->key, id, (const uint8_t(*)[CADU_DIGEST_SIZE])x->pi->base_ids[e->bases],
                                            e->nbases, rel, bind)) == 0)
                r = cadu_crypt_delta_open(x->key, bind, w->plain.data, len, &off, &n);
        if (r < 0)
                return r == -EKEYREJECTED ? -EBADMSG : r;
        memmove(w->plain.data, w->plain.data + off, n);
        w->plain.len = n;
        return 0;
}

static int apply_entry(worker_ctx *w, size_t pos, const cadu_pack_entry *e, const uint8_t *data, size_t len) {
        extractor *x = w->x;
        const cadu_index_item *it = &x->idx->items[pos];
        const size_t clen = (size_t)cadu_index_chunk_size(x->idx, pos);
        const bool is_delta = e->nbases > 0;
        const size_t fetched = len;
        /* Sealed (an encrypted store): opened first; a failure counts as
         * a corrupt entry. */
        int r = x->key ? open_entry(w, pos, e, data, len) : 0;
        if (x->key) {
                data = w->plain.data;
                len = w->plain.len;
        }
        if (r == 0 && !is_delta)
                r = cadu_chunk_decode(data, len, clen, &w->chk);
        else if (r == 0) {
                /* The bases are read now, into one buffer, and let go after:
                 * each is a chunk of a seed or of this release, of the size
                 * the delta states (so memory is bounded by what the device
                 * knows, not by what the delta claims). */
                cadu_delta_info info = { 0 };
                cadu_delta_base bases[CADU_DELTA_MAX_BASES];
                int fds[CADU_DELTA_MAX_BASES];
                uint64_t offs[CADU_DELTA_MAX_BASES], total = 0;
                r = cadu_delta_parse(data, len, &info);
                if (r == 0 && (memcmp(info.target_id, it->id, CADU_DIGEST_SIZE) || info.target_size != clen))
                        r = -EBADMSG;
                for (size_t b = 0; r == 0 && b < info.nbases; b++) {
                        r = locate_base(x, info.base_ids[b], info.base_sizes[b], &fds[b], &offs[b]);
                        total += info.base_sizes[b];
                }
                w->buf.len = 0;
                if (r == 0)
                        r = cadu_buf_reserve(&w->buf, (size_t)total);
                for (size_t b = 0, at = 0; r == 0 && b < info.nbases; b++) {
                        size_t bl = (size_t)info.base_sizes[b];
                        ssize_t k = cadu_pread_full(fds[b], w->buf.data + at, bl, offs[b]);
                        r = k < 0 ? (int)k : (size_t)k == bl ? 0 : -ENODATA;
                        bases[b] = (cadu_delta_base){ w->buf.data + at, bl };
                        at += bl;
                }
                if (r == 0)
                        r = cadu_delta_decode(data, len, bases, info.nbases, clen, &w->chk);
        }
        if (r == 0 && w->chk.len != clen)
                r = -EBADMSG;
        if (r == 0)
                r = verify(x, w->chk.data, clen, it->id);
        if (r < 0) {
                (is_delta ? &w->st.deltas : &w->st.packed)->rejected++;
                return r;
        }
        if (!x->o->dry_run && write_out(w, w->chk.data, clen, cadu_index_chunk_offset(x->idx, pos)) < 0)
                return -ECANCELED;
        count(is_delta ? &w->st.deltas : &w->st.packed, clen, fetched);
        lookup(x, it->id)->deferred = false;
        return 0;
}

typedef struct range_ctx {
        worker_ctx *w;
        fetch_item *items;
} range_ctx;

static int range_cb(void *ud, size_t i, const uint8_t *data, size_t len) {
        range_ctx *c = ud;
        extractor *x = c->w->x;
        fetch_item *f = &c->items[i];
        need *n = lookup(x, x->idx->items[f->pos].id);
        const cadu_pack_entry *e = &x->pi->entries[x->pi->first[f->pos] + (size_t)n->choice];
        f->done = true;
        if (count_download(x, len) < 0)
                return -EDQUOT;
        int r = apply_entry(c->w, f->pos, e, data, len);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                n->tried |= (uint8_t)(1u << n->choice);
        return 0;
}

/* Without range support: a delta as its own file, if that works. */
static void fetch_delta_file(worker_ctx *w, size_t pos, const cadu_pack_entry *e) {
        extractor *x = w->x;
        char rel[CADU_DELTA_PATH_MAX];
        uint8_t bind[CADU_CRYPT_DELTA_BIND];
        const uint8_t(*bases)[CADU_DIGEST_SIZE] = (const uint8_t(*)[CADU_DIGEST_SIZE])x->pi->base_ids[e->bases];
        if ((x->key ? cadu_crypt_delta_path(x->key, x->idx->items[pos].id, bases, e->nbases, rel, bind)
                    : cadu_delta_path(x->idx->items[pos].id, bases, e->nbases, rel)) < 0 ||
            cadu_store_get_file(x->pack_raw, rel, (size_t)cadu_pack_entry_max_len(x->idx, e->nbases), &w->raw) < 0 ||
            count_download(x, w->raw.len) < 0)
                return;
        (void)apply_entry(w, pos, e, w->raw.data, w->raw.len);
}

/* The pack phase: fetch the deferred chunks' chosen entries, then their
 * next choices, until none is left to try; what remains deferred goes to
 * the per-chunk files. Returns 0 or an error already set. */
static int fetch_packs(worker_ctx *w) {
        extractor *x = w->x;
        bool ranges = true;
        /* Each pass fetches the first round of a fresh plan: chunks that
         * failed have their next choice, and chunks waiting for bases of
         * this release find them written. Every pass writes chunks or marks
         * entries tried, so this ends. */
        for (unsigned round = 0; !x->error; round++) {
                fetch_item *items = NULL;
                size_t nitems = 0;
                cadu_extract_plan p;
                int r = make_plan(x, &p, &items, &nitems);
                if (r < 0) {
                        set_error(x, r, "planning the download");
                        return r;
                }
                uint64_t want = x->downloaded + p.pack_bytes + p.delta_bytes + p.file_bytes;
                if (x->o->max_download && want > x->o->max_download) {
                        free(items);
                        format_budget_error(x, want,
                                            round ? "falling back to other sources" : "the download");
                        return -EDQUOT;
                }
                if (!nitems) {
                        free(items);
                        return 0;
                }
                if (x->o->dry_run) {
                        /* Planning only: count what would come from packs. */
                        for (size_t k = 0; k < x->nunique; k++) {
                                size_t i = x->order[k];
                                need *n = lookup(x, x->idx->items[i].id);
                                if (!n->deferred || n->choice < 0)
                                        continue;
                                const cadu_pack_entry *e = &x->pi->entries[x->pi->first[i] + (size_t)n->choice];
                                count(e->nbases ? &w->st.deltas : &w->st.packed, cadu_index_chunk_size(x->idx, i),
                                      e->len);
                                n->deferred = false;
                        }
                        free(items);
                        return 0;
                }
                for (size_t k = 0; k < nitems && !x->error;) {
                        size_t end = k;
                        while (end < nitems && items[end].pack == items[k].pack)
                                end++;
                        if (ranges) {
                                char rel[CADU_PACK_PATH_MAX];
                                _cleanup_free_ cadu_range *rg = malloc((end - k) * sizeof(cadu_range));
                                if (!rg) {
                                        set_error(x, -ENOMEM, "extract");
                                        break;
                                }
                                for (size_t j = k; j < end; j++)
                                        rg[j - k] = (cadu_range){ items[j].off, items[j].len };
                                cadu_pack_path(x->pi->packs[items[k].pack].id, CADU_PACK_SUFFIX, rel);
                                range_ctx rc = { w, items + k };
                                r = cadu_store_get_ranges(x->pack_raw, rel, rg, end - k, range_cb, &rc);
                                if (r == -ENOTSUP)
                                        ranges = false;
                                if (r == -ECANCELED || r == -EDQUOT)
                                        break;  /* error set */
                        }
                        /* Not delivered: a delta as its own file, else (and
                         * after any other failure) the per-chunk file. */
                        for (size_t j = k; j < end; j++) {
                                if (items[j].done)
                                        continue;
                                need *n = lookup(x, x->idx->items[items[j].pos].id);
                                const cadu_pack_entry *e = &x->pi->entries[x->pi->first[items[j].pos] + (size_t)n->choice];
                                if (!ranges && e->nbases)
                                        fetch_delta_file(w, items[j].pos, e);
                                if (n->deferred)
                                        n->tried = 0xff;
                        }
                        k = end;
                }
                free(items);
        }
        return x->error;
}

/* Run the workers over x->order[0..x->norder) (first occurrences before
 * x->nunique). Returns 0 or an error (set). */
static int run_pool(extractor *x, worker_ctx *ws, size_t nw) {
        pthread_t *tids = calloc(nw, sizeof(*tids));
        size_t started;
        int r;
        if (!tids) {
                set_error(x, -ENOMEM, "extract");
                return -ENOMEM;
        }
        x->next = 0;
        for (started = 1; started < nw; started++)
                if ((r = -pthread_create(&tids[started], NULL, run_worker, &ws[started])) < 0) {
                        set_error(x, r, "starting threads");
                        break;
                }
        run_worker(&ws[0]);
        for (size_t i = 1; i < started; i++)
                pthread_join(tids[i], NULL);
        free(tids);
        /* The next phase (packs, or per-chunk files) starts with no chunk
         * buffers held: its own peak, not this one's on top. */
        for (size_t i = 0; i < nw; i++) {
                cadu_buf_free(&ws[i].raw);
                cadu_buf_free(&ws[i].buf);
                cadu_buf_free(&ws[i].chk);
        }
        return x->error;
}

/* Before anything is written: which chunks no local source has (seeds are
 * taken at their index's word here), and what fetching them costs. */
static int preplan(extractor *x, worker_ctx *w, cadu_extract_plan *p) {
        const cadu_extract_opts *o = x->o;
        int r;
        for (size_t k = 0; k < x->nunique; k++) {
                size_t i = x->order[k];
                const cadu_index_item *it = &x->idx->items[i];
                size_t len = (size_t)cadu_index_chunk_size(x->idx, i);
                need *n = lookup(x, it->id);
                if (is_zero_id(x, it->id, len) || n->cands)
                        continue;
                uint64_t off = cadu_index_chunk_offset(x->idx, i);
                if (x->check_existing && read_at(&w->buf, x->out.fd, len, off) == 0 &&
                    holds(x, w->buf.data, len, it->id, off))
                        continue;
                if (o->cache && o->cache->ops->has(o->cache, it->id) > 0)
                        continue;
                n->deferred = true;
        }
        r = make_plan(x, p, NULL, NULL);
        for (size_t k = 0; k < x->nunique; k++) {
                need *n = lookup(x, x->idx->items[x->order[k]].id);
                n->deferred = false;
                n->tried = 0;
        }
        if (r < 0) {
                set_error(x, r, "planning the download");
                return r;
        }
        if (o->max_download && p->total_bytes > o->max_download) {
                set_error(x, -EDQUOT, "the download needs %s%llu bytes, more than the limit of %llu bytes",
                          p->files_bound ? "up to " : "", (unsigned long long)p->total_bytes,
                          (unsigned long long)o->max_download);
                return -EDQUOT;
        }
        return 0;
}

/* After the pack phase: the chunks still missing (first occurrences) and
 * the repeats left waiting, for the per-chunk path. */
static size_t requeue_deferred(extractor *x) {
        size_t nf = 0, n = 0;
        for (size_t k = 0; k < x->ndeferred; k++) {
                size_t i = x->deferred[k];
                need *nd = lookup(x, x->idx->items[i].id);
                if (nd->first == i && nd->deferred) {
                        nd->done = false;
                        x->order[nf++] = i;
                }
        }
        n = nf;
        for (size_t k = 0; k < x->ndeferred; k++) {
                size_t i = x->deferred[k];
                if (lookup(x, x->idx->items[i].id)->first != i)
                        x->order[n++] = i;
        }
        x->nunique = nf;
        x->norder = n;
        return n;
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
        size_t nw = 0;
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
        /* The pack index first: every chunk of the seeds is kept in
         * seedmap (as delta bases) only when it names deltas. */
        if (o->index_sha && o->nstores)
                load_pack_index(&x);
        x.want_seedmap = x.pi && x.pi->nbases;
        for (size_t k = 0; k < o->nseeds; k++)
                if (load_seed(&x, (uint32_t)k) < 0)
                        goto done;
        if (x.nseedmap)
                qsort(x.seedmap, x.nseedmap, sizeof(seed_chunk), seed_chunk_cmp);
        if (o->plan_only && o->in_place && o->out_path) {
                /* Read only: what is there already need not be fetched. */
                x.out.fd = open(o->out_path, O_RDONLY | O_CLOEXEC);
                x.check_existing = x.out.fd >= 0;
        } else if (!o->dry_run && !o->plan_only && open_output(&x) < 0)
                goto done;

        /* Local sources are CPU and disk bound; network stores want several
         * requests in flight (8: the stores' default transfers), so there
         * are at least as many workers, which mostly wait (each holds up to
         * two chunk buffers). While the network waits for the pack phase,
         * only one worker per CPU runs. */
        size_t nlocal = o->threads;
        nw = o->threads;
        if (!nw) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                nw = nlocal = n > 0 ? (size_t)n : 1;
                for (size_t s = 0; s < o->nstores; s++)
                        if (strcmp(o->stores[s]->ops->kind, "dir") != 0) {
                                nw = CADU_MAX(nw, (size_t)8);
                                break;
                        }
        }
        /* Many workers waiting on the network would each hold the largest
         * chunk they met: they keep about an average chunk between chunks.
         * One worker per CPU keeps its buffers (at most two of the largest
         * chunk each): giving pages back after every chunk cost a TLB
         * shootdown on every CPU each time, 13% of a local extract's time. */
        x.trim_between = nw > nlocal;
        ws = calloc(nw, sizeof(*ws));
        if (!ws) {
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
        if ((x.pi || o->max_download || o->dry_run || o->plan_only) && preplan(&x, &ws[0], &st->plan) < 0)
                goto join;
        if (o->plan_only)
                goto join;
        /* 1. Local sources (the network waits when there are packs),
         * 2. packs, 3. per-chunk files for what is left. */
        x.defer = x.pi != NULL;
        if (run_pool(&x, ws, x.defer ? nlocal : nw) < 0)
                goto join;
        if (x.defer) {
                if (fetch_packs(&ws[0]) < 0)
                        goto join;
                x.defer = false;
                if (requeue_deferred(&x) && run_pool(&x, ws, nw) < 0)
                        goto join;
        }
join:
        for (size_t i = 0; i < nw && ws; i++) {
                merge(&st->in_place, &ws[i].st.in_place);
                merge(&st->zero, &ws[i].st.zero);
                merge(&st->duplicate, &ws[i].st.duplicate);
                merge(&st->cache, &ws[i].st.cache);
                merge(&st->missing, &ws[i].st.missing);
                merge(&st->packed, &ws[i].st.packed);
                merge(&st->deltas, &ws[i].st.deltas);
                for (size_t k = 0; k < o->nseeds && ws[i].st.seeds; k++)
                        merge(&st->seeds[k], &ws[i].st.seeds[k]);
                for (size_t k = 0; k < o->nstores && ws[i].st.stores; k++)
                        merge(&st->stores[k], &ws[i].st.stores[k]);
                st->bytes_written += ws[i].st.bytes_written;
                st->bytes_cloned += ws[i].st.bytes_cloned;
                st->bytes_copied += ws[i].st.bytes_copied;
                free(ws[i].st.seeds);
                free(ws[i].st.stores);
                cadu_buf_free(&ws[i].raw);
                cadu_buf_free(&ws[i].buf);
                cadu_buf_free(&ws[i].chk);
                cadu_buf_free(&ws[i].plain);
        }
        if (!x.error && !o->dry_run && !o->plan_only) {
                uint64_t total = cadu_index_size(x.idx);
                if (!x.out.tmp && !x.out.is_dev && ftruncate(x.out.fd, (off_t)total) < 0)
                        set_error(&x, -errno, "resizing output %s", o->out_path);
                else if ((r = cadu_outfile_commit(&x.out)) < 0)
                        set_error(&x, r, "committing output %s", o->out_path);
        }
done:
        if (x.out.path)
                cadu_outfile_abort(&x.out);
        else if (x.out.fd >= 0)
                close(x.out.fd);        /* read only, for a plan */
        for (size_t k = 0; x.seeds && k < o->nseeds; k++) {
                if (x.seeds[k].fd >= 0)
                        close(x.seeds[k].fd);
        }
        st->total_bytes = cadu_index_size(o->index);
        st->total_chunks = o->index->n;
        st->downloaded = x.downloaded;
        st->seconds = (double)(cadu_now_ns() - start) / 1e9;
        cadu_chunk_codec_release();
        cadu_delta_codec_release();
        free(ws);
        free(x.seeds);
        free(x.table);
        free(x.cands);
        free(x.order);
        free(x.zerobuf);
        free(x.seedmap);
        free(x.deferred);
        cadu_pack_index_free(x.pi);
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
