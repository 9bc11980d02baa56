/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-range.h - the parts of HTTP range fetching that do not drive curl
 * (private to store/): the cost model that decides which neighbouring
 * ranges share a request, the plan of one request, and what one request
 * does with the answer's headers and body.
 *
 * One cadu_store_get_ranges() call is a range_call; it becomes range_jobs,
 * one HTTP request each (retries included). A job covers caller ranges
 * [first, last) grouped in segments: the byte spans named in its Range
 * header (one for a single-range request, several for a multi-range one).
 * Gaps inside a segment are received and dropped; requested bytes go to the
 * job's buffer, each range at a fixed place, and a range is marked done
 * (under the store's lock, waking the caller) as soon as its last byte
 * came; it is never written again, so the caller reads it unlocked.
 */
#ifndef CADU_STORE_RANGE_H
#define CADU_STORE_RANGE_H

#include <pthread.h>
#include <stdatomic.h>

#include "byteranges.h"
#include "cadu-store.h"

/* Segments of one multi-range request (keeps the Range header < 3 KiB). */
#define RANGE_MAX_SEGS 64
/* A gap this small costs less than a part's boundary and headers. */
#define RANGE_PART_OVERHEAD 128
/* Requested bytes one request asks for: RANGE_WINDOW_TOTAL shared by the
 * store's transfers, between RANGE_WINDOW_MIN and RANGE_WINDOW_MAX. */
#define RANGE_WINDOW_TOTAL ((size_t)8 << 20)
#define RANGE_WINDOW_MIN ((size_t)256 << 10)
#define RANGE_WINDOW_MAX ((size_t)1 << 20)
/* Requested bytes the requests in flight of one call buffer together (a
 * request is received whole before its buffer is let go). One request
 * always may go, however large its one range. */
#define RANGE_BUFFER_TOTAL ((size_t)2 << 20)
/* Bytes of complete ranges the caller has not taken yet: at this much, the
 * call's transfers pause until it has (a caller slower than the link keeps
 * in memory about this and the ranges still arriving, not RANGE_BUFFER_TOTAL). */
#define RANGE_READY_MAX ((size_t)256 << 10)

/* What a server showed of its support for Range. */
typedef enum range_support {
        RANGE_UNKNOWN,
        RANGE_YES,
        RANGE_NO,
} range_support;

/* Cost model: a gap between two ranges is worth fetching (and dropping) when
 * receiving it takes less time than another request's round trip:
 * gap / throughput < rtt. Measured from completed transfers; throughput is
 * that of one transfer (with several in flight, a share of the link). */
typedef struct range_model {
        uint64_t rtt_ns;
        uint64_t bps;                   /* bytes per second of one transfer */
        unsigned rtt_samples, bps_samples;
} range_model;
#define RANGE_DEFAULT_RTT_NS (50ULL * 1000000ULL)
#define RANGE_DEFAULT_BPS ((uint64_t)1 << 20)
/* Throughput is only measured on bodies at least this large. */
#define RANGE_MODEL_MIN_BODY ((uint64_t)64 << 10)
void range_model_init(range_model *m);
/* A round trip measured: a request's time from sent to the first byte of
 * its answer (not a TCP handshake: with a proxy, that is the proxy's). The
 * model keeps the smallest. */
void range_model_rtt(range_model *m, uint64_t ns);
/* bytes of a body received in ns, after its first byte. */
void range_model_throughput(range_model *m, uint64_t bytes, uint64_t ns);
/* The largest gap worth merging, at most cap. */
uint64_t range_model_max_gap(const range_model *m, uint64_t cap);

/* Requested bytes one request may buffer, by the store's max_transfers. */
size_t range_window(unsigned max_transfers);
/* May a request buffering bytes start while the call's requests in flight
 * buffer buffered bytes? (RANGE_BUFFER_TOTAL; the first always may.) */
bool range_admit(size_t buffered, size_t bytes);

typedef struct range_call {
        const cadu_range *r;
        size_t n;
        pthread_mutex_t *lock;          /* the store's */
        pthread_cond_t cond;            /* a range done or a job finished */
        uint64_t total;                 /* under lock: complete length named by the answers */
        atomic_bool cancel;             /* the caller gave up: abort its transfers */
        atomic_size_t ready;            /* changed under lock: bytes of ranges done, not handed over */
} range_call;

typedef struct range_job {
        range_call *call;
        size_t first, last;             /* caller ranges [first, last) */
        bool multi;                     /* several segments: a multi-range request */
        size_t nsegs;
        size_t seg_first[RANGE_MAX_SEGS + 1];   /* caller ranges of segment s: [seg_first[s], seg_first[s+1]) */
        uint8_t *buf;                   /* requested bytes */
        size_t *boff;                   /* where range first+k starts in buf */
        uint64_t *got;                  /* worker: bytes of each range this attempt */
        bool *done;                     /* under lock: complete, never written again */
        bool *delivered;                /* caller only */
        bool confirmed;                 /* under lock: a valid range answer began */

        /* The current attempt (worker thread). */
        size_t nasegs;
        cadu_byteranges_seg asegs[RANGE_MAX_SEGS];      /* spans requested */
        size_t aseg_first[RANGE_MAX_SEGS];              /* caller range each starts in */
        bool aseen[RANGE_MAX_SEGS];
        size_t cursor;                  /* caller range the body has reached */
        char *hdr;                      /* for CURLOPT_RANGE: "A-B,C-D,..." (curl adds "bytes=") */
        char ctype[256], crange[128];
        size_t ctype_len, crange_len;   /* SIZE_MAX: overlong */
        bool multipart;                 /* the answer is multipart/byteranges */
        cadu_byteranges mp;
        uint64_t spos;                  /* single range: bytes received */
        bool refused;                   /* 200: the whole file */
        bool multi_refused;             /* one range answered to a multi-range request */
        int bad;                        /* -EBADMSG: malformed answer */
        char why[160];                  /* what was malformed */
} range_job;

/* Plan the job starting at caller range first: which of the ranges up to
 * limit it takes and how they group in segments. multi: a multi-range
 * request may be made; max_gap: the largest gap merged into a segment
 * otherwise; window: requested bytes at most (unless the first range alone
 * is larger). */
void range_plan(range_job *j, range_call *c, size_t first, size_t limit, bool multi, uint64_t max_gap,
                size_t window);
/* Requested bytes of a planned job (its buffer's size). */
size_t range_job_bytes(const range_job *j);
/* Allocate the job's buffers. 0 or -ENOMEM. */
int range_job_alloc(range_job *j);
void range_job_free(range_job *j);
/* Range first+k was handed over: give its buffer's whole pages back to the
 * system (the bytes are never read again; the job's requests in flight
 * then hold in memory what was not handed over yet, not what they asked). */
void range_job_release(range_job *j, size_t k);

/* Worker thread, at each attempt: the spans still missing and the Range
 * header for them. 0 or -ENOMEM. */
int range_job_begin(range_job *j);
/* A header line of the answer (without CRLF). */
void range_job_header(range_job *j, const char *line, size_t n);
/* The end of an answer's headers with status code. 0 to go on, <0 to
 * abort the transfer (refused / multi_refused / bad tell why). The caller
 * sets confirmed (a 206 accepted) under the lock. */
int range_job_headers_end(range_job *j, long code);
/* Body bytes of a 206 answer. 0, or <0 to abort (bad tells why, or cancel). */
int range_job_body(range_job *j, const uint8_t *data, size_t n);
/* The body ended without a transfer error: 0 when it was complete. */
int range_job_end(range_job *j);

#endif
