/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#include "cadu-chunker.h"
#include "cadu-store.h"
#include "chunkfile.h"

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

typedef struct slot {
        enum slot_state state;
        bool hole;                      /* every byte so far lies in a hole of the file */
        uint8_t *buf;
        cadu_chunk_info info;
} slot;

/* Digests of all-zero chunks by size: disk images hold many of them. */
typedef struct zero_memo {
        size_t len;
        uint8_t id[CADU_DIGEST_SIZE];
        cadu_fp fp;
} zero_memo;

typedef struct pipeline {
        zero_memo zeros[4];
        size_t nzeros;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        const cadu_chunkfile_params *p;
        const uint8_t *zeros_buf;       /* the data of chunks that lie in holes */
        slot *slots;
        size_t nslots;
        uint64_t next_work, produced;
        bool finished;
        int error;
        cadu_chunk_info failed;
} pipeline;

static void fail_locked(pipeline *pl, int r, const cadu_chunk_info *c) {
        if (pl->error)
                return;
        pl->error = r;
        if (c) {
                pl->failed = *c;
                pl->failed.data = NULL;
        }
        pthread_cond_broadcast(&pl->cond);
}

static bool all_zero(const uint8_t *p, size_t n) {
        return n > 0 && p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

/* The chunk's id (and fingerprint): from the memo for an all-zero chunk of a
 * size seen before, else computed. Called without the lock held. */
static int identify(pipeline *pl, cadu_chunk_info *c) {
        bool zero = c->data == pl->zeros_buf || all_zero(c->data, c->len);
        c->zero = zero;
        if (zero) {
                pthread_mutex_lock(&pl->lock);
                for (size_t i = 0; i < pl->nzeros; i++)
                        if (pl->zeros[i].len == c->len) {
                                memcpy(c->id, pl->zeros[i].id, CADU_DIGEST_SIZE);
                                c->fp = pl->zeros[i].fp;
                                pthread_mutex_unlock(&pl->lock);
                                return 0;
                        }
                pthread_mutex_unlock(&pl->lock);
        }
        int r = cadu_digest(pl->p->digest, c->data, c->len, c->id);
        if (r < 0)
                return r;
        if (pl->p->fingerprints)
                cadu_fp_compute(c->data, c->len, &c->fp);
        if (zero) {
                pthread_mutex_lock(&pl->lock);
                if (pl->nzeros < CADU_ELEMENTSOF(pl->zeros)) {
                        pl->zeros[pl->nzeros] = (zero_memo){ .len = c->len, .fp = c->fp };
                        memcpy(pl->zeros[pl->nzeros++].id, c->id, CADU_DIGEST_SIZE);
                }
                pthread_mutex_unlock(&pl->lock);
        }
        return 0;
}

static void *worker(void *arg) {
        pipeline *pl = arg;
        cadu_buf scratch = CADU_BUF_INIT;
        pthread_mutex_lock(&pl->lock);
        for (;;) {
                while (pl->next_work == pl->produced && !pl->finished && !pl->error)
                        pthread_cond_wait(&pl->cond, &pl->lock);
                if (pl->error || pl->next_work == pl->produced)
                        break;
                slot *s = &pl->slots[pl->next_work++ % pl->nslots];
                s->state = SLOT_BUSY;
                pthread_mutex_unlock(&pl->lock);
                int r = identify(pl, &s->info);
                if (r == 0 && pl->p->work)
                        r = pl->p->work(pl->p->userdata, &s->info, &scratch);
                pthread_mutex_lock(&pl->lock);
                if (r < 0)
                        fail_locked(pl, r, &s->info);
                s->state = SLOT_DONE;
                pthread_cond_broadcast(&pl->cond);
        }
        pthread_mutex_unlock(&pl->lock);
        cadu_buf_free(&scratch);
        cadu_chunk_codec_release();
        return NULL;
}

/* Wait for slot seq, hand it to the ordered callback, free it. Lock held. */
static int collect(pipeline *pl, uint64_t seq) {
        slot *s = &pl->slots[seq % pl->nslots];
        while (s->state != SLOT_DONE && !pl->error)
                pthread_cond_wait(&pl->cond, &pl->lock);
        if (pl->error)
                return pl->error;
        s->state = SLOT_FREE;
        if (!pl->p->ordered)
                return 0;
        pthread_mutex_unlock(&pl->lock);
        int r = pl->p->ordered(pl->p->userdata, &s->info);
        pthread_mutex_lock(&pl->lock);
        if (r < 0)
                fail_locked(pl, r, &s->info);
        return r;
}

int cadu_chunk_fd(int fd, const cadu_chunkfile_params *p, uint64_t *ret_size, cadu_chunk_info *ret_failed) {
        cadu_chunker ch;
        int r = cadu_chunker_init(&ch, p->min, p->avg, p->max);
        if (r < 0)
                return r;
        unsigned threads = p->threads;
        if (!threads) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                threads = n > 0 ? (unsigned)n : 1;
        }
        pipeline pl = {
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .cond = PTHREAD_COND_INITIALIZER,
                .p = p,
        };
        /* Enough slots to keep the workers busy while the reader refills,
         * within ~32 MiB of chunk buffers (with low_memory, one being
         * filled while one is hashed per thread). */
        pl.nslots = CADU_MAX((size_t)4 * threads, (size_t)8);
        pl.nslots = CADU_MIN(pl.nslots, CADU_MAX((size_t)2 * threads, (size_t)((32u << 20) / p->max)));
        if (p->low_memory)
                pl.nslots = (size_t)2 * threads;
        pl.nslots = CADU_MAX(pl.nslots, (size_t)2);

        const size_t bufsz = p->low_memory ? (size_t)256 << 10 : (size_t)1 << 20;
        uint8_t *buf = cadu_malloc_io(bufsz);
        /* A sparse file's holes are not read: their bytes come from zeros
         * (found with SEEK_DATA/SEEK_HOLE), and a chunk lying wholly in
         * holes is not copied either (its data is zeros). */
        struct stat st;
        off_t pos = lseek(fd, 0, SEEK_CUR);
        bool sparse = pos >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                      (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size;
        uint64_t region_end = 0;
        bool hole = false;
        uint8_t *zeros = sparse ? calloc(1, CADU_MAX(bufsz, (size_t)p->max)) : NULL;
        pl.zeros_buf = zeros;
        sparse = sparse && zeros;
        pl.slots = calloc(pl.nslots, sizeof(slot));
        pthread_t *tids = calloc(threads, sizeof(pthread_t));
        unsigned nthreads = 0;
        uint64_t offset = 0, seq = 0;
        slot *cur = NULL;

        r = (!buf || !pl.slots || !tids) ? -ENOMEM : 0;
        for (size_t i = 0; r == 0 && i < pl.nslots; i++)
                if (!(pl.slots[i].buf = cadu_malloc_io(p->max)))
                        r = -ENOMEM;
        for (; r == 0 && nthreads < threads; nthreads++)
                if ((r = -pthread_create(&tids[nthreads], NULL, worker, &pl)) < 0)
                        break;

        while (r == 0) {
                const uint8_t *q = buf;
                ssize_t k;
                if (sparse && (uint64_t)pos >= region_end) {
                        /* The next region: a hole up to the next data, or
                         * data up to the next hole (or, past the last
                         * data, read to end of file). */
                        off_t d = lseek(fd, pos, SEEK_DATA);
                        if (d < 0 && errno == ENXIO && pos < st.st_size)
                                d = st.st_size;
                        if (d > pos) {
                                hole = true;
                                region_end = (uint64_t)CADU_MIN(d, st.st_size);
                        } else {
                                off_t e = d == pos ? lseek(fd, pos, SEEK_HOLE) : -1;
                                hole = false;
                                region_end = e > pos ? (uint64_t)e : UINT64_MAX;
                        }
                }
                if (sparse && hole) {
                        k = (ssize_t)CADU_MIN((uint64_t)bufsz, region_end - (uint64_t)pos);
                        q = zeros;
                } else if (sparse)
                        k = cadu_pread_full(fd, buf, (size_t)CADU_MIN((uint64_t)bufsz, region_end - (uint64_t)pos),
                                            (uint64_t)pos);
                else
                        k = cadu_read_full(fd, buf, bufsz);
                if (k < 0) {
                        r = (int)k;
                        break;
                }
                pos += k;
                bool from_hole = q == zeros;
                size_t n = (size_t)k;
                bool eof = n == 0;
                while (r == 0 && (n > 0 || (eof && cur))) {
                        if (!cur) {
                                pthread_mutex_lock(&pl.lock);
                                if (seq >= pl.nslots)
                                        r = collect(&pl, seq - pl.nslots);
                                pthread_mutex_unlock(&pl.lock);
                                if (r < 0)
                                        break;
                                cur = &pl.slots[seq % pl.nslots];
                                cur->info = (cadu_chunk_info){ .offset = offset, .data = cur->buf };
                                cur->hole = true;
                        }
                        size_t cut = eof ? (size_t)-1 : cadu_chunker_scan(&ch, q, n);
                        size_t take = cut == (size_t)-1 ? n : cut;
                        if (from_hole) {
                                if (!cur->hole)
                                        memset(cur->buf + cur->info.len, 0, take);
                        } else {
                                if (cur->hole) {
                                        memset(cur->buf, 0, cur->info.len);
                                        cur->hole = false;
                                }
                                memcpy(cur->buf + cur->info.len, q, take);
                        }
                        cur->info.len += take;
                        offset += take;
                        q += take;
                        n -= take;
                        if (cut != (size_t)-1 || eof) {
                                cur->info.end = offset;
                                if (cur->hole)
                                        cur->info.data = zeros;
                                pthread_mutex_lock(&pl.lock);
                                cur->state = SLOT_READY;
                                pl.produced = ++seq;
                                pthread_cond_broadcast(&pl.cond);
                                pthread_mutex_unlock(&pl.lock);
                                cur = NULL;
                        }
                }
                if (p->progress)
                        p->progress(p->userdata, offset);
                if (eof)
                        break;
        }
        if (sparse)
                (void)lseek(fd, pos, SEEK_SET);

        pthread_mutex_lock(&pl.lock);
        pl.finished = true;
        pthread_cond_broadcast(&pl.cond);
        for (uint64_t i = seq > pl.nslots ? seq - pl.nslots : 0; r == 0 && i < seq; i++)
                r = collect(&pl, i);
        if (r < 0)
                fail_locked(&pl, r, NULL);
        pthread_mutex_unlock(&pl.lock);
        for (unsigned i = 0; i < nthreads; i++)
                pthread_join(tids[i], NULL);
        if (r < 0 && pl.error)
                r = pl.error;
        if (r < 0 && ret_failed)
                *ret_failed = pl.failed;
        if (ret_size)
                *ret_size = offset;
        for (size_t i = 0; pl.slots && i < pl.nslots; i++)
                free(pl.slots[i].buf);
        free(pl.slots);
        free(buf);
        free(zeros);
        free(tids);
        return r;
}
