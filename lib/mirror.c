/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mirror.c - the engine of cadu mirror and cadu_store_mirror() (mirror.h):
 * every chunk read from the destination (kept when intact) or the source
 * (checked, then stored as it was compressed), on several threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-chunker.h"
#include "cadu-crypt.h"
#include "cadu-util.h"
#include "mirror.h"

/* A chunk file of an encrypted store, by its keyed name (no key): copied
 * as it is when its structure is sound; the devices authenticate it. */
static int get_sealed(cadu_store *s, const uint8_t name[CADU_CRYPT_NAME_SIZE], cadu_buf *raw) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        int r = s->ops->get(s, name, cadu_chunk_max_raw(CADU_CHUNK_SIZE_MAX_LIMIT) + CADU_CRYPT_CHUNK_OVERHEAD, raw);
        if (r < 0)
                return r;
        return cadu_crypt_chunk_check(raw->data, raw->len, key_id);
}

static int mirror_one(void *ud, size_t i, unsigned w) {
        cadu_mirror *m = ud;
        cadu_chunk_entry *e = &m->set->entries[i];
        cadu_buf *raw = &m->raw[w], *out = &m->out[w];
        size_t max = (size_t)e->max_size;
        /* No size bound: a keyed name from an encrypted index. */
        bool sealed = max == 0;

        /* Resume: a chunk already there and intact is kept. */
        int r = sealed ? get_sealed(m->dst, e->id, raw)
                       : cadu_store_get_chunk(m->dst, e->digest, e->id, (size_t)e->size, max, raw, out);
        if (r == 0) {
                e->state = CADU_MIRROR_PRESENT;
                m->present++;
                m->done += e->size;
                return 0;
        }
        if (r != -ENOENT && r != -EBADMSG && r != -EFBIG)
                goto fatal;
        if (r != -ENOENT)
                m->repaired++;          /* a damaged copy: replaced below */
        r = sealed ? get_sealed(m->src, e->id, raw)
                   : cadu_store_get_chunk(m->src, e->digest, e->id, (size_t)e->size, max, raw, out);
        if (r < 0) {
                e->state = r == -ENOENT ? CADU_MIRROR_MISSING : (r == -EBADMSG || r == -EFBIG) ? CADU_MIRROR_CORRUPT : CADU_MIRROR_ERROR;
                m->errs[i] = r;
                m->done += e->size;
                return 0;
        }
        r = m->dst->ops->put(m->dst, e->id, raw->data, raw->len);
        if (r < 0)
                goto fatal;
        e->state = CADU_MIRROR_COPIED;
        m->copied++;
        m->copied_raw += raw->len;
        m->done += e->size;
        return 0;
fatal:
        pthread_mutex_lock(&m->lock);
        if (!m->fatal) {
                m->fatal = r;
                m->fatal_entry = i;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

/* Between items: total is for the end alone. */
static void mirror_step(void *ud) {
        cadu_mirror *m = ud;
        uint64_t done = atomic_load(&m->done);
        if (m->progress && done < m->total)
                m->progress(m->userdata, done, m->total);
}

int cadu_mirror_run(cadu_mirror *m) {
        unsigned nt = m->threads ? m->threads : 1;
        m->threads = nt;
        m->fatal = 0;
        m->fatal_entry = 0;
        if (!m->lock_init) {
                pthread_mutex_init(&m->lock, NULL);
                m->lock_init = true;
        }
        m->errs = calloc(m->set->n + 1, sizeof(int));
        m->raw = calloc(nt, sizeof(cadu_buf));
        m->out = calloc(nt, sizeof(cadu_buf));
        if (!m->errs || !m->raw || !m->out)
                return -ENOMEM;
        m->total = 0;
        for (size_t i = 0; i < m->set->n; i++)
                m->total += m->set->entries[i].size;
        if (m->progress)
                m->progress(m->userdata, 0, m->total);
        int r = cadu_parallel_for(m->set->n, nt, mirror_one, mirror_step, m);
        if (r < 0)
                return m->fatal ? m->fatal : r;
        if (m->progress && m->total)
                m->progress(m->userdata, m->total, m->total);
        return 0;
}

void cadu_mirror_done(cadu_mirror *m) {
        for (unsigned k = 0; k < m->threads && m->raw && m->out; k++) {
                cadu_buf_free(&m->raw[k]);
                cadu_buf_free(&m->out[k]);
        }
        free(m->raw);
        free(m->out);
        free(m->errs);
        m->raw = m->out = NULL;
        m->errs = NULL;
        if (m->lock_init)
                pthread_mutex_destroy(&m->lock);
        m->lock_init = false;
}
