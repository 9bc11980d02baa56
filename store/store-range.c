/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Range fetching without curl: cost model, request plans, answers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store-range.h"

/* ---- cost model ---- */

void range_model_init(range_model *m) {
        *m = (range_model) { .rtt_ns = RANGE_DEFAULT_RTT_NS, .bps = RANGE_DEFAULT_BPS };
}

/* The first measurement replaces the default; later ones move the
 * estimate by a quarter of the difference (smooths out one slow answer). */
static uint64_t smooth(uint64_t old, uint64_t sample, unsigned *samples) {
        if ((*samples)++ == 0)
                return sample;
        return old - old / 4 + sample / 4;
}

/* The round trip is the smallest time seen since the store was opened: an
 * answer's first byte also waits for the server and, on a busy link, behind
 * the bytes of the other transfers in flight. That queueing is latency, not
 * lost capacity (the link stays busy), and counting it would make gaps look
 * cheaper the more of them are merged. */
void range_model_rtt(range_model *m, uint64_t ns) {
        if (ns == 0)
                return;
        if (m->rtt_samples++ == 0 || ns < m->rtt_ns)
                m->rtt_ns = ns;
}

void range_model_throughput(range_model *m, uint64_t bytes, uint64_t ns) {
        if (bytes < RANGE_MODEL_MIN_BODY || ns < 1000000)
                return;
        /* bytes < 2^44 in practice; ns >= 1e6: no overflow below. */
        uint64_t bps = bytes > (UINT64_MAX / 1000) ? UINT64_MAX / ns : bytes * 1000 / (ns / 1000000);
        m->bps = smooth(m->bps, CADU_MAX(bps, (uint64_t)1), &m->bps_samples);
}

uint64_t range_model_max_gap(const range_model *m, uint64_t cap) {
        /* gap / bps < rtt  <=>  gap < rtt * bps, in microseconds to stay in range */
        uint64_t us = m->rtt_ns / 1000;
        if (us && m->bps > cap * 1000000 / us)
                return cap;
        return CADU_MIN(us * m->bps / 1000000, cap);
}

size_t range_window(unsigned max_transfers) {
        size_t w = RANGE_WINDOW_TOTAL / (max_transfers ? max_transfers : 1);
        return CADU_MIN(CADU_MAX(w, RANGE_WINDOW_MIN), RANGE_WINDOW_MAX);
}

bool range_admit(size_t buffered, size_t bytes) {
        return buffered == 0 || (bytes <= RANGE_BUFFER_TOTAL && buffered <= RANGE_BUFFER_TOTAL - bytes);
}

/* ---- plans ---- */

void range_plan(range_job *j, range_call *c, size_t first, size_t limit, bool multi, uint64_t max_gap,
                size_t window) {
        const cadu_range *r = c->r;
        uint64_t bytes = r[first].len;
        size_t i = first + 1;

        j->call = c;
        j->first = first;
        j->nsegs = 1;
        j->seg_first[0] = first;
        for (; i < limit; i++) {
                uint64_t gap = r[i].off - (r[i - 1].off + r[i - 1].len);
                if (bytes + r[i].len > window)
                        break;
                if (gap > (multi ? CADU_MIN(max_gap, (uint64_t)RANGE_PART_OVERHEAD) : max_gap)) {
                        if (!multi || j->nsegs == RANGE_MAX_SEGS)
                                break;
                        j->seg_first[j->nsegs++] = i;
                }
                bytes += r[i].len;
        }
        j->last = i;
        j->seg_first[j->nsegs] = i;
        j->multi = j->nsegs > 1;
}

size_t range_job_bytes(const range_job *j) {
        size_t size = 0;
        for (size_t i = j->first; i < j->last; i++)
                size += (size_t)j->call->r[i].len;
        return size;
}

int range_job_alloc(range_job *j) {
        size_t k = j->last - j->first, size = 0;
        j->boff = calloc(k, sizeof(*j->boff));
        j->got = calloc(k, sizeof(*j->got));
        j->done = calloc(k, sizeof(*j->done));
        j->delivered = calloc(k, sizeof(*j->delivered));
        if (!j->boff || !j->got || !j->done || !j->delivered)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++) {
                j->boff[i] = size;
                size += (size_t)j->call->r[j->first + i].len;
        }
        j->buf = malloc(size);
        return j->buf ? 0 : -ENOMEM;
}

void range_job_release(range_job *j, size_t k) {
        static long page;
        if (!page)
                page = sysconf(_SC_PAGESIZE);
        if (page <= 0 || page & (page - 1))
                return;
        uintptr_t a = (uintptr_t)(j->buf + j->boff[k]);
        uintptr_t e = a + (size_t)j->call->r[j->first + k].len;
        a = (a + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
        e &= ~((uintptr_t)page - 1);
        if (e > a)
                (void)madvise((void *)a, e - a, MADV_DONTNEED);
}

void range_job_free(range_job *j) {
        free(j->boff);
        free(j->got);
        free(j->done);
        free(j->delivered);
        free(j->buf);
        free(j->hdr);
        j->boff = NULL;
        j->got = NULL;
        j->done = NULL;
        j->delivered = NULL;
        j->buf = NULL;
        j->hdr = NULL;
}

/* ---- one attempt ---- */

int range_job_begin(range_job *j) {
        const cadu_range *r = j->call->r;
        size_t len = 0, o;

        j->nasegs = 0;
        pthread_mutex_lock(j->call->lock);
        for (size_t s = 0; s < j->nsegs; s++) {
                size_t u = SIZE_MAX, v = 0;
                for (size_t i = j->seg_first[s]; i < j->seg_first[s + 1]; i++)
                        if (!j->done[i - j->first]) {
                                if (u == SIZE_MAX)
                                        u = i;
                                v = i;
                                j->got[i - j->first] = 0;
                        }
                if (u == SIZE_MAX)
                        continue;
                j->asegs[j->nasegs] = (cadu_byteranges_seg) { r[u].off, r[v].off + r[v].len - r[u].off };
                j->aseg_first[j->nasegs++] = u;
        }
        pthread_mutex_unlock(j->call->lock);

        free(j->hdr);
        j->hdr = malloc(j->nasegs * 42 + 1);
        if (!j->hdr)
                return -ENOMEM;
        for (size_t s = 0; s < j->nasegs; s++) {
                o = (size_t)snprintf(j->hdr + len, 43, "%s%" PRIu64 "-%" PRIu64, s ? "," : "", j->asegs[s].off,
                                     j->asegs[s].off + j->asegs[s].len - 1);
                len += o;
        }
        j->hdr[len] = 0;
        j->ctype_len = j->crange_len = 0;
        j->multipart = false;
        j->spos = 0;
        j->cursor = j->nasegs ? j->aseg_first[0] : j->first;
        j->refused = j->multi_refused = false;
        j->bad = 0;
        j->why[0] = 0;
        return 0;
}

static void keep(char *dst, size_t size, size_t *len, const char *v, size_t n) {
        while (n > 0 && (*v == ' ' || *v == '\t'))
                v++, n--;
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
        if (*len != 0 || n >= size) {
                *len = SIZE_MAX;        /* repeated or overlong: refused at the end */
                return;
        }
        memcpy(dst, v, n);
        dst[n] = 0;
        *len = n ? n : SIZE_MAX;
}

void range_job_header(range_job *j, const char *line, size_t n) {
        const char *colon = memchr(line, ':', n);
        if (!colon)
                return;
        size_t name = (size_t)(colon - line), vn = n - name - 1;
        if (name == 12 && !strncasecmp(line, "Content-Type", 12))
                keep(j->ctype, sizeof(j->ctype), &j->ctype_len, colon + 1, vn);
        else if (name == 13 && !strncasecmp(line, "Content-Range", 13))
                keep(j->crange, sizeof(j->crange), &j->crange_len, colon + 1, vn);
}

static int bad(range_job *j, const char *why) {
        snprintf(j->why, sizeof(j->why), "%s%s", j->multipart ? "multipart/byteranges: " : "", why);
        j->bad = -EBADMSG;
        return -EBADMSG;
}

/* The complete length an answer names must be the same in every answer. */
static int check_total(range_job *j, uint64_t total) {
        range_call *c = j->call;
        int r = 0;
        if (total == BYTERANGES_TOTAL_UNKNOWN)
                return 0;
        pthread_mutex_lock(c->lock);
        if (c->total == BYTERANGES_TOTAL_UNKNOWN)
                c->total = total;
        else if (c->total != total)
                r = -1;
        pthread_mutex_unlock(c->lock);
        return r;
}

int range_job_headers_end(range_job *j, long code) {
        if (code < 200 || (code >= 300 && code < 400)) {
                /* An interim answer or a redirect: the real one follows. */
                j->ctype_len = j->crange_len = 0;
                return 0;
        }
        if (code == 200) {
                j->refused = true;
                return -ENOTSUP;
        }
        if (code != 206)
                return 0;               /* an error: its status counts */
        if (j->ctype_len != SIZE_MAX && j->ctype_len >= 9 && !strncasecmp(j->ctype, "multipart", 9)) {
                char boundary[BYTERANGES_MAX_BOUNDARY + 1];
                if (j->nasegs < 2)
                        return bad(j, "multipart answer to a single range");
                if (j->crange_len)
                        return bad(j, "Content-Range on a multipart answer");
                if (cadu_byteranges_boundary(j->ctype, j->ctype_len, boundary) < 0)
                        return bad(j, "bad multipart/byteranges Content-Type");
                pthread_mutex_lock(j->call->lock);
                uint64_t total = j->call->total;
                pthread_mutex_unlock(j->call->lock);
                cadu_byteranges_init(&j->mp, boundary, j->asegs, j->nasegs, j->aseen, total);
                j->multipart = true;
        } else {
                uint64_t first, last, total;
                if (j->crange_len == 0 || j->crange_len == SIZE_MAX ||
                    cadu_content_range_parse(j->crange, j->crange_len, &first, &last, &total) < 0)
                        return bad(j, "206 without a valid Content-Range");
                if (j->nasegs > 1 && first == j->asegs[0].off) {
                        /* The server answers multi-range requests with their
                         * first range only: it does not support them. */
                        j->multi_refused = true;
                        return -ENOTSUP;
                }
                if (j->nasegs != 1 || first != j->asegs[0].off || last - first != j->asegs[0].len - 1)
                        return bad(j, "Content-Range is not the range requested");
                if (check_total(j, total) < 0)
                        return bad(j, "Content-Range names another file length");
        }
        return 0;
}

static void mark_done(range_job *j, size_t i) {
        pthread_mutex_lock(j->call->lock);
        j->done[i - j->first] = true;
        atomic_fetch_add(&j->call->ready, (size_t)j->call->r[i].len);
        pthread_cond_broadcast(&j->call->cond);
        pthread_mutex_unlock(j->call->lock);
}

/* Bytes [pos, pos+n) of attempt segment a: copy what falls in ranges not
 * yet done, drop the gaps; mark ranges done as they complete (now when
 * complete is true, else at the part's end: data == NULL). */
static int put_bytes(range_job *j, size_t a, uint64_t pos, const uint8_t *data, size_t n, bool complete) {
        const cadu_range *r = j->call->r;
        uint64_t o = j->asegs[a].off + pos, e = o + n;

        if (atomic_load(&j->call->cancel))
                return -ECANCELED;
        if (!data) {
                for (size_t i = j->aseg_first[a]; i < j->last && r[i].off < o; i++)
                        if (!j->done[i - j->first] && j->got[i - j->first] == r[i].len)
                                mark_done(j, i);
                return 0;
        }
        if (j->cursor < j->aseg_first[a] || pos == 0)
                j->cursor = j->aseg_first[a];
        for (size_t i = j->cursor; i < j->last && r[i].off < e; i++) {
                size_t k = i - j->first;
                uint64_t rend = r[i].off + r[i].len;
                if (rend <= o) {
                        j->cursor = i + 1;
                        continue;
                }
                if (j->done[k])         /* from an earlier attempt: the caller may be reading it */
                        continue;
                uint64_t from = CADU_MAX(o, r[i].off), to = CADU_MIN(e, rend);
                memcpy(j->buf + j->boff[k] + (from - r[i].off), data + (from - o), (size_t)(to - from));
                j->got[k] += to - from;
                if (complete && j->got[k] == r[i].len)
                        mark_done(j, i);
        }
        return 0;
}

static int put_part(void *ud, size_t a, uint64_t pos, const uint8_t *data, size_t n) {
        return put_bytes(ud, a, pos, data, n, false);
}

int range_job_body(range_job *j, const uint8_t *data, size_t n) {
        int r;
        if (j->multipart) {
                r = cadu_byteranges_feed(&j->mp, data, n, put_part, j);
                if (r == -EBADMSG)
                        return bad(j, j->mp.why);
                if (r == 0 && j->mp.total != BYTERANGES_TOTAL_UNKNOWN && check_total(j, j->mp.total) < 0)
                        return bad(j, "Content-Range names another file length");
                return r;
        }
        if (n > j->asegs[0].len - j->spos)
                return bad(j, "body longer than the range");
        r = put_bytes(j, 0, j->spos, data, n, true);
        j->spos += n;
        return r;
}

int range_job_end(range_job *j) {
        if (j->multipart)
                return cadu_byteranges_finish(&j->mp) < 0 ? bad(j, j->mp.why) : 0;
        if (j->spos != j->asegs[0].len)
                return bad(j, "body shorter than the range");
        return 0;
}
