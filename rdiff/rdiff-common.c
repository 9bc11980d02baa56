/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parameters, buffered output and the ordered worker pool. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "rdiff-private.h"

int rdiff_bad(cadu_rdiff_stats *st, const char *fmt, ...) {
        if (st) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

uint32_t cadu_rdiff_sig_magic(bool blake2, bool rabinkarp) {
        if (rabinkarp)
                return blake2 ? CADU_RDIFF_RK_BLAKE2_SIG_MAGIC : CADU_RDIFF_RK_MD4_SIG_MAGIC;
        return blake2 ? CADU_RDIFF_BLAKE2_SIG_MAGIC : CADU_RDIFF_MD4_SIG_MAGIC;
}

bool cadu_rdiff_is_sig_magic(uint32_t magic) {
        return magic == CADU_RDIFF_MD4_SIG_MAGIC || magic == CADU_RDIFF_BLAKE2_SIG_MAGIC ||
               magic == CADU_RDIFF_RK_MD4_SIG_MAGIC || magic == CADU_RDIFF_RK_BLAKE2_SIG_MAGIC;
}

/* floor(log2(v)) for v >= 1, 0 for 0 (librsync's rs_long_ln2). */
static unsigned ln2(uint64_t v) {
        unsigned r = 0;
        while (v >>= 1)
                r++;
        return r;
}

/* floor(sqrt(v)). */
static uint64_t isqrt(uint64_t v) {
        uint64_t r = 0, bit = 1ull << 62;
        while (bit > v)
                bit >>= 2;
        while (bit) {
                if (v >= r + bit) {
                        v -= r + bit;
                        r = (r >> 1) + bit;
                } else
                        r >>= 1;
                bit >>= 2;
        }
        return r;
}

int cadu_rdiff_sig_params_init(cadu_rdiff_sig_params *p, uint32_t magic, uint64_t basis_size,
                               uint32_t block_len, int strong_len, bool *ret_weak) {
        uint32_t max_strong;
        if (!p)
                return -EINVAL;
        switch (magic) {
        case CADU_RDIFF_BLAKE2_SIG_MAGIC:
        case CADU_RDIFF_RK_BLAKE2_SIG_MAGIC:
                max_strong = RDIFF_BLAKE2_LEN;
                break;
        case CADU_RDIFF_MD4_SIG_MAGIC:
        case CADU_RDIFF_RK_MD4_SIG_MAGIC:
                max_strong = RDIFF_MD4_LEN;
                break;
        default:
                return -EINVAL;
        }
        bool known = basis_size != CADU_RDIFF_SIZE_UNKNOWN;
        if (block_len == 0) {
                if (!known)
                        block_len = 2048;
                else if (basis_size <= 256 * 256)
                        block_len = 256;
                else
                        block_len = (uint32_t)CADU_MIN(isqrt(basis_size) & ~127ull,
                                                       (uint64_t)CADU_RDIFF_MAX_BLOCK_LEN);
        }
        if (block_len > CADU_RDIFF_MAX_BLOCK_LEN)
                return -EINVAL;
        /* rdiff's smallest recommended strong length: the worst case is a
         * new file 16 MiB larger than the basis with every block matching;
         * the weak sum is assumed to be worth a few bits. */
        uint32_t min_strong = 12;
        if (known)
                min_strong = 2 + (ln2(basis_size + (1ull << 24)) + ln2(basis_size / block_len + 1) + 7) / 8;
        uint32_t len;
        if (strong_len == 0)
                len = max_strong;
        else if (strong_len == -1)
                len = CADU_MIN(min_strong, max_strong);
        else if (strong_len < 0 || (uint32_t)strong_len > max_strong)
                return -EINVAL;
        else
                len = (uint32_t)strong_len;
        if (ret_weak)
                *ret_weak = known && len < min_strong;
        *p = (cadu_rdiff_sig_params){ .magic = magic, .block_len = block_len, .strong_len = len };
        return 0;
}

/* ---- buffered output ---- */

int rdiff_writer_init(rdiff_writer *w, int fd, size_t cap, cadu_digest_ctx *hash) {
        *w = (rdiff_writer){ .fd = fd, .cap = cap, .hash = hash };
        return 0;
}

#define SPARSE_BLOCK 4096u

static bool all_zero(const uint8_t *p, size_t n) {
        uint64_t acc = 0;
        size_t i = 0;
        for (; i + 64 <= n; i += 64) {
                uint64_t v[8];
                memcpy(v, p + i, 64);
                acc |= v[0] | v[1] | v[2] | v[3] | v[4] | v[5] | v[6] | v[7];
                if (acc)
                        return false;
        }
        for (; i < n; i++)
                acc |= p[i];
        return acc == 0;
}

/* Write p[0..n) at w->pos, skipping aligned zero blocks in sparse mode. */
static int writer_emit(rdiff_writer *w, const uint8_t *p, size_t n) {
        if (!w->sparse) {
                int r = cadu_write_full(w->fd, p, n);
                if (r == 0)
                        w->pos += n;
                return r;
        }
        size_t i = 0;
        while (i < n) {
                /* a run of data, up to the next aligned zero block */
                size_t start = i;
                bool zero = false;
                while (i < n) {
                        size_t blk = SPARSE_BLOCK - (size_t)((w->pos + (i - start)) % SPARSE_BLOCK);
                        if (blk == SPARSE_BLOCK && n - i >= SPARSE_BLOCK && all_zero(p + i, SPARSE_BLOCK)) {
                                zero = true;
                                break;
                        }
                        i += CADU_MIN(blk, n - i);
                }
                if (i > start) {
                        int r = cadu_write_full(w->fd, p + start, i - start);
                        if (r < 0)
                                return r;
                        w->pos += i - start;
                }
                if (!zero)
                        continue;
                size_t z = i;
                while (i + SPARSE_BLOCK <= n && all_zero(p + i, SPARSE_BLOCK))
                        i += SPARSE_BLOCK;
                if (lseek(w->fd, (off_t)(i - z), SEEK_CUR) < 0)
                        return -errno;
                w->pos += i - z;
        }
        return 0;
}

bool rdiff_writer_try_sparse(rdiff_writer *w) {
        struct stat st;
        off_t pos = lseek(w->fd, 0, SEEK_CUR);
        int fl = fcntl(w->fd, F_GETFL);
        if (getenv("CADU_RDIFF_NO_SPARSE") || pos < 0 || fl < 0 || (fl & O_APPEND) || fstat(w->fd, &st) < 0 ||
            !S_ISREG(st.st_mode) || st.st_size != pos)
                return false;
        w->sparse = true;
        w->pos = (uint64_t)pos;
        return true;
}

int rdiff_writer_zeros(rdiff_writer *w, uint64_t n) {
        static const uint8_t zeros[SPARSE_BLOCK];
        int r;
        if (w->sparse) {
                /* fill up to a block boundary through the buffer, skip whole
                 * blocks, and leave the rest to the buffer */
                while (n && (w->pos + w->len) % SPARSE_BLOCK) {
                        size_t k = (size_t)CADU_MIN(n, (uint64_t)(SPARSE_BLOCK - (w->pos + w->len) % SPARSE_BLOCK));
                        if ((r = rdiff_writer_put(w, zeros, k)) < 0)
                                return r;
                        n -= k;
                }
                uint64_t skip = n - n % SPARSE_BLOCK;
                if (skip) {
                        if ((r = rdiff_writer_flush(w)) < 0)
                                return r;
                        if (lseek(w->fd, (off_t)skip, SEEK_CUR) < 0)
                                return -errno;
                        w->pos += skip;
                        w->total += skip;
                        n -= skip;
                        for (uint64_t h = skip; w->hash && h; ) {
                                size_t k = (size_t)CADU_MIN(h, (uint64_t)sizeof(zeros));
                                if ((r = cadu_digest_update(w->hash, zeros, k)) < 0)
                                        return r;
                                h -= k;
                        }
                }
        }
        while (n) {
                size_t k = (size_t)CADU_MIN(n, (uint64_t)sizeof(zeros));
                if ((r = rdiff_writer_put(w, zeros, k)) < 0)
                        return r;
                n -= k;
        }
        return 0;
}

int rdiff_writer_finish(rdiff_writer *w) {
        int r = rdiff_writer_flush(w);
        if (r < 0 || !w->sparse)
                return r;
        struct stat st;
        if (fstat(w->fd, &st) < 0)
                return -errno;
        if ((uint64_t)st.st_size < w->pos && ftruncate(w->fd, (off_t)w->pos) < 0)
                return -errno;
        return 0;
}

int rdiff_writer_flush(rdiff_writer *w) {
        if (!w->len)
                return 0;
        int r = writer_emit(w, w->buf, w->len);
        if (r < 0)
                return r;
        if (w->hash) {
                r = cadu_digest_update(w->hash, w->buf, w->len);
                if (r < 0)
                        return r;
        }
        w->len = 0;
        return 0;
}

int rdiff_writer_room(rdiff_writer *w, size_t *ret_room) {
        if (w->len == w->alloc) {
                if (w->alloc < w->cap) {
                        size_t n = CADU_MIN(w->cap, CADU_MAX(w->alloc * 2, (size_t)16384));
                        void *b = w->buf;
                        if (cadu_realloc_io(&b, w->len, n) < 0)
                                return -ENOMEM;
                        w->buf = b;
                        w->alloc = n;
                } else {
                        int r = rdiff_writer_flush(w);
                        if (r < 0)
                                return r;
                }
        }
        *ret_room = w->alloc - w->len;
        return 0;
}

int rdiff_writer_put(rdiff_writer *w, const void *p, size_t n) {
        const uint8_t *s = p;
        while (n) {
                if (w->len == 0 && n >= w->cap) {
                        /* Large pieces go straight out. */
                        int r = writer_emit(w, s, n);
                        if (r < 0)
                                return r;
                        if (w->hash && (r = cadu_digest_update(w->hash, s, n)) < 0)
                                return r;
                        w->total += n;
                        return 0;
                }
                size_t room;
                int r = rdiff_writer_room(w, &room);
                if (r < 0)
                        return r;
                size_t k = CADU_MIN(n, room);
                memcpy(w->buf + w->len, s, k);
                w->len += k;
                w->total += k;
                s += k;
                n -= k;
        }
        return 0;
}

void rdiff_writer_done(rdiff_writer *w) {
        free(w->buf);
        w->buf = NULL;
        w->alloc = w->len = 0;
}

/* ---- input ---- */

int rdiff_source_init(rdiff_source *s, int fd) {
        struct stat st;
        *s = (rdiff_source){ .fd = fd, .page = (size_t)sysconf(_SC_PAGESIZE) };
        if (fstat(fd, &st) < 0)
                return -errno;
        if (getenv("CADU_RDIFF_NO_MMAP") || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
                return 0;
        uint64_t size;
        off_t cur = lseek(fd, 0, SEEK_CUR);
        if (cur < 0 || cadu_fd_size(fd, &size) < 0 || (uint64_t)cur > size)
                return 0;
        s->mapped = true;
        s->start = (uint64_t)cur;
        s->size = size - (uint64_t)cur;
        return 0;
}

int rdiff_source_map(const rdiff_source *s, uint64_t off, size_t len, rdiff_map *m, const uint8_t **ret) {
        uint64_t abs = s->start + off, base = abs - abs % s->page;
        size_t maplen = (size_t)(abs - base) + len;
        void *p = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, s->fd, (off_t)base);
        if (p == MAP_FAILED)
                return -errno;
        m->base = p;
        m->len = maplen;
        *ret = (const uint8_t *)p + (abs - base);
        return 0;
}

void rdiff_map_release(rdiff_map *m) {
        if (m->base)
                munmap(m->base, m->len);
        m->base = NULL;
        m->len = 0;
}

/* ---- ordered pool ---- */

struct rdiff_pool {
        rdiff_pool_fn fn;
        void *userdata;
        unsigned nthreads;
        pthread_t *threads;
        pthread_mutex_t lock;
        pthread_cond_t work_cond, done_cond;
        bool stop;
        /* Queued jobs in submission order; [head, next) not yet started,
         * [0, head) started or done. done[i] tells which finished. */
        void **jobs;
        bool *done;
        size_t cap, count, next_start;
};

unsigned rdiff_default_threads(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                n = 1;
        return (unsigned)CADU_MIN(n, 8);
}

static void *pool_worker(void *arg) {
        rdiff_pool *p = arg;
        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (!p->stop && p->next_start >= p->count)
                        pthread_cond_wait(&p->work_cond, &p->lock);
                if (p->stop)
                        break;
                size_t i = p->next_start++;
                void *job = p->jobs[i];
                pthread_mutex_unlock(&p->lock);
                p->fn(job, p->userdata);
                pthread_mutex_lock(&p->lock);
                /* The queue may have shifted while we worked: find the job. */
                for (size_t k = 0; k < p->count; k++)
                        if (p->jobs[k] == job) {
                                p->done[k] = true;
                                break;
                        }
                pthread_cond_broadcast(&p->done_cond);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

int rdiff_pool_new(unsigned threads, size_t max_jobs, rdiff_pool_fn fn, void *userdata, rdiff_pool **ret) {
        rdiff_pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->fn = fn;
        p->userdata = userdata;
        p->cap = CADU_MAX(max_jobs, (size_t)1);
        p->jobs = calloc(p->cap, sizeof(void *));
        p->done = calloc(p->cap, sizeof(bool));
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->work_cond, NULL);
        pthread_cond_init(&p->done_cond, NULL);
        if (!p->jobs || !p->done) {
                rdiff_pool_free(p);
                return -ENOMEM;
        }
        if (threads > 1) {
                p->threads = calloc(threads, sizeof(pthread_t));
                if (!p->threads) {
                        rdiff_pool_free(p);
                        return -ENOMEM;
                }
                for (unsigned i = 0; i < threads; i++) {
                        int r = pthread_create(&p->threads[i], NULL, pool_worker, p);
                        if (r != 0) {
                                rdiff_pool_free(p);
                                return -r;
                        }
                        p->nthreads++;
                }
        }
        *ret = p;
        return 0;
}

int rdiff_pool_submit(rdiff_pool *p, void *job) {
        pthread_mutex_lock(&p->lock);
        if (p->count == p->cap) {
                pthread_mutex_unlock(&p->lock);
                return -ENOBUFS;
        }
        p->jobs[p->count] = job;
        p->done[p->count] = false;
        p->count++;
        pthread_cond_signal(&p->work_cond);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

void *rdiff_pool_wait(rdiff_pool *p) {
        pthread_mutex_lock(&p->lock);
        if (p->count == 0) {
                pthread_mutex_unlock(&p->lock);
                return NULL;
        }
        if (p->nthreads == 0) {
                /* No workers: run the oldest job here. */
                void *job = p->jobs[0];
                p->next_start = 0;
                pthread_mutex_unlock(&p->lock);
                p->fn(job, p->userdata);
                pthread_mutex_lock(&p->lock);
                p->done[0] = true;
        }
        while (!p->done[0])
                pthread_cond_wait(&p->done_cond, &p->lock);
        void *job = p->jobs[0];
        memmove(p->jobs, p->jobs + 1, (p->count - 1) * sizeof(void *));
        memmove(p->done, p->done + 1, (p->count - 1) * sizeof(bool));
        p->count--;
        if (p->next_start > 0)
                p->next_start--;
        pthread_mutex_unlock(&p->lock);
        return job;
}

rdiff_pool *rdiff_pool_free(rdiff_pool *p) {
        if (!p)
                return NULL;
        /* Let running jobs finish: their memory belongs to the caller. */
        if (p->nthreads) {
                pthread_mutex_lock(&p->lock);
                while (p->count > 0) {
                        bool all = true;
                        for (size_t i = 0; i < p->next_start; i++)
                                all = all && p->done[i];
                        if (all)
                                break;
                        pthread_cond_wait(&p->done_cond, &p->lock);
                }
                p->stop = true;
                pthread_cond_broadcast(&p->work_cond);
                pthread_mutex_unlock(&p->lock);
                for (unsigned i = 0; i < p->nthreads; i++)
                        pthread_join(p->threads[i], NULL);
        }
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->work_cond);
        pthread_cond_destroy(&p->done_cond);
        free(p->threads);
        free(p->jobs);
        free(p->done);
        free(p);
        return NULL;
}
