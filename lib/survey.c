/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * survey.c - the engine of cadu info and cadu_index_survey() (survey.h):
 * an index described, and its chunks looked up in a store on several
 * threads (a directory store by stat(), another by HEAD or download).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cadu-chunker.h"
#include "cadu-util.h"
#include "survey.h"

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned p) {
        size_t rank = (n * p + 99) / 100;
        return v[rank ? rank - 1 : 0];
}

int cadu_index_describe(const cadu_index *idx, cadu_index_desc *ii) {
        *ii = (cadu_index_desc){ 0 };
        cadu_chunk_set set = CADU_CHUNK_SET_INIT;
        uint64_t *sizes = malloc((idx->n ? idx->n : 1) * sizeof(uint64_t));
        int r = 0;
        if (!sizes)
                return -ENOMEM;
        ii->bytes = cadu_index_size(idx);
        ii->chunks = idx->n;
        for (size_t i = 0; i < idx->n; i++) {
                cadu_chunk_entry *e;
                sizes[i] = cadu_index_chunk_size(idx, i);
                if ((r = cadu_chunk_set_add(&set, idx->items[i].id, &e)) < 0)
                        break;
                if (r > 0) {
                        ii->distinct++;
                        ii->distinct_bytes += sizes[i];
                }
                r = 0;
        }
        if (r == 0 && idx->n) {
                qsort(sizes, idx->n, sizeof(*sizes), cmp_u64);
                ii->sizes = (cadu_size_dist){
                        .min = sizes[0],
                        .p10 = percentile(sizes, idx->n, 10),
                        .p50 = percentile(sizes, idx->n, 50),
                        .p90 = percentile(sizes, idx->n, 90),
                        .p99 = percentile(sizes, idx->n, 99),
                        .max = sizes[idx->n - 1],
                        .avg = (double)ii->bytes / (double)idx->n,
                };
        }
        free(sizes);
        cadu_chunk_set_done(&set);
        return r;
}

/* Is chunk i in the store, and how large is its file? */
static int survey_one(void *ud, size_t i, unsigned w) {
        cadu_survey *sv = ud;
        cadu_chunk_entry *e = &sv->set->entries[i];
        int r;
        if (sv->rootfd >= 0) {
                char path[CADU_CHUNK_PATH_MAX];
                uint8_t name[CADU_CRYPT_NAME_SIZE];
                struct stat st;
                if (sv->key && (r = cadu_crypt_chunk_name(sv->key, e->id, name)) < 0)
                        return r;
                cadu_chunk_path(sv->key ? name : e->id, path);
                /* A symlink or FIFO squatting the name is not the chunk. */
                if (fstatat(sv->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        r = errno == ENOENT ? 0 : -errno;
                else if (!S_ISREG(st.st_mode))
                        r = 0;
                else {
                        e->raw_size = (uint64_t)st.st_size;
                        r = 1;
                }
        } else if (sv->download) {
                r = sv->store->ops->get(sv->store, e->id, cadu_chunk_max_raw(CADU_CHUNK_SIZE_MAX_LIMIT), &sv->raw[w]);
                if (r == 0) {
                        e->raw_size = sv->raw[w].len;
                        r = 1;
                } else if (r == -ENOENT)
                        r = 0;
        } else
                r = sv->store->ops->has(sv->store, e->id);
        if (r < 0) {
                size_t zero = 0;
                atomic_compare_exchange_strong(&sv->first_failed, &zero, i + 1);
                return r;
        }
        e->state = r ? CHUNK_PRESENT : CHUNK_MISSING;
        sv->done += e->size;
        return 0;
}

/* Between items: total is for the end alone. */
static void survey_step(void *ud) {
        cadu_survey *sv = ud;
        uint64_t done = atomic_load(&sv->done);
        if (sv->progress && done < sv->total)
                sv->progress(sv->userdata, done, sv->total);
}

int cadu_survey_run(cadu_survey *sv) {
        unsigned nt = sv->threads ? sv->threads : 1;
        int r = 0;
        sv->rootfd = -1;
        sv->failed = 0;
        sv->open_failed = false;
        atomic_store(&sv->first_failed, 0);
        if (sv->root) {
                sv->rootfd = open(sv->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sv->rootfd < 0) {
                        sv->open_failed = true;
                        return -errno;
                }
        }
        sv->sizes_known = sv->rootfd >= 0 || sv->download;
        if (!(sv->raw = calloc(nt, sizeof(cadu_buf)))) {
                r = -ENOMEM;
                goto out;
        }
        sv->total = 0;
        for (size_t i = 0; i < sv->set->n; i++)
                sv->total += sv->set->entries[i].size;
        if (sv->progress)
                sv->progress(sv->userdata, 0, sv->total);
        r = cadu_parallel_for(sv->set->n, nt, survey_one, survey_step, sv);
        for (unsigned k = 0; k < nt; k++)
                cadu_buf_free(&sv->raw[k]);
        if (r < 0)
                sv->failed = atomic_load(&sv->first_failed);
        else if (sv->progress && sv->total)
                sv->progress(sv->userdata, sv->total, sv->total);
out:
        free(sv->raw);
        sv->raw = NULL;
        if (sv->rootfd >= 0)
                close(sv->rootfd);
        sv->rootfd = -1;
        return r;
}

cadu_survey_tally cadu_survey_tally_of(const cadu_chunk_set *all) {
        cadu_survey_tally t = { 0 };
        for (size_t i = 0; i < all->n; i++) {
                const cadu_chunk_entry *e = &all->entries[i];
                if (e->state == CHUNK_PRESENT) {
                        t.present++;
                        t.present_bytes += e->size;
                        t.raw += e->raw_size;
                } else {
                        t.missing++;
                        t.missing_bytes += e->size;
                }
        }
        return t;
}

