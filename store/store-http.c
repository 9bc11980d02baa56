/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-http.c - HTTP(S) chunk store on the libcurl multi interface.
 *
 * Every get() and has() call, from any number of threads, becomes a request
 * on the store's queue and the caller sleeps until it is answered. One worker
 * thread per store drives a single CURLM handle: it starts up to
 * max_transfers transfers at once on a pool of configured easy handles, so
 * connections are kept alive and reused (HTTP/1.1) or multiplexed (HTTP/2 over
 * TLS when the server offers it, CURLPIPE_MULTIPLEX + CURLOPT_PIPEWAIT).
 *
 * A transfer writes straight into the caller's buffer and is aborted as soon
 * as the body would exceed max_raw (-EFBIG), so memory stays bounded by
 * max_transfers * max_raw whatever a server sends. Error bodies are discarded
 * except for a short excerpt kept for the error message.
 *
 * Transient failures (connection errors, timeouts, truncated bodies, 408,
 * 429, 5xx) are retried with exponential backoff and jitter; 404/410 answer
 * -ENOENT at once so a chain can move on to its next store. When a request
 * fails to connect even after its retries, the store is considered down for
 * a while and further requests fail at once instead of waiting through their
 * own retries (a dead mirror at the head of a chain costs one retry cycle,
 * not one per chunk).
 *
 * Nothing is cached: a get() after a corrupt result goes to the network again,
 * and asks HTTP caches on the way not to answer it (Cache-Control: no-cache),
 * as do retries.
 *
 * Other files below the base go through the same queue and transfers: whole
 * (get_file) or as byte ranges (get_ranges). A range call keeps up to
 * max_transfers requests of its own on the queue, each planned by
 * store-range.c (which ranges share a request, by the cost model; a single
 * span or several) and judged there as its headers and body arrive; the
 * worker only routes the bytes and remembers what the server showed of its
 * Range support. The caller's thread hands over each range once complete.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cadu-store.h"
#include "store-range.h"

#define DEFAULT_MAX_TRANSFERS 8
#define MAX_MAX_TRANSFERS 256
#define DEFAULT_RETRIES 5
#define DEFAULT_CONNECT_TIMEOUT_S 15
#define DEFAULT_LOW_SPEED_TIME_S 30
#define DEFAULT_MAX_REDIRECTS 5
/* Chunks are at most 128 MiB uncompressed (caibx limit); a caller that
 * passes max_raw == 0 still gets a hard bound a little above that. */
#define HARD_MAX_RAW ((size_t)129 << 20)
/* What we read of an error response body before giving up on it. */
#define MAX_ERROR_BODY (64 * 1024)
#define BACKOFF_BASE_MS 200
#define BACKOFF_MAX_MS 10000
#define RETRY_AFTER_MAX_S 30
/* How long a store that could not be reached answers at once. */
#define DOWN_HOLD_NS (30ULL * 1000000000ULL)

typedef enum http_kind {
        HTTP_GET,
        HTTP_HEAD,
} http_kind;

typedef struct http_request {
        struct http_request *next;
        http_kind kind;
        uint8_t id[CADU_DIGEST_SIZE];
        char path[CADU_STORE_RELPATH_MAX + 1];
        bool is_file;                   /* GET of another file than a chunk */
        range_job *job;                 /* GET of byte ranges (store-range.c) */
        size_t max_raw;
        cadu_buf *out;                  /* GET: the caller's buffer */
        unsigned attempts;              /* transfers started */
        unsigned hops;                  /* redirects followed */
        char redirect[4096];            /* where the last redirect pointed, or "" */
        uint64_t not_before_ns;         /* backoff before the next attempt */
        int result;
        bool done;
        pthread_cond_t cond;
        char error[512];                /* why it failed */
} http_request;

typedef struct http_store http_store;

typedef struct http_slot {
        http_store *store;
        CURL *easy;
        http_request *req;              /* NULL when idle */
        char *url;
        bool too_big, oom;
        bool paused;                    /* held back by the rate limit */
        bool held;                      /* paused: its range call has RANGE_READY_MAX for the caller */
        bool stalled;                   /* cut off by the low-speed timeout */
        uint64_t progress_ns;           /* when the last byte arrived */
        uint64_t window_ns;             /* start of the current speed window */
        uint64_t window_bytes;          /* bytes received in it */
        bool slow;                      /* cut off by the minimum speed */
        size_t error_body;              /* bytes of a non-200 body seen */
        char excerpt[256];              /* start of a non-200 body */
        size_t excerpt_len;
        char errbuf[CURL_ERROR_SIZE];
} http_slot;

struct http_store {
        cadu_store base;
        char *base_url;                 /* no trailing slash */
        size_t base_len;
        char *ca_file, *client_cert, *client_key;
        struct curl_slist *headers;
        /* The same plus "Cache-Control: no-cache", for requests that must
         * not be answered from an HTTP cache on the way: retries, and a
         * chunk asked for again after it was delivered (it was corrupt). */
        struct curl_slist *headers_nocache;
        uint8_t recent[64][CADU_DIGEST_SIZE];   /* worker only: ids delivered lately */
        size_t recent_next;
        unsigned max_transfers, retries;
        unsigned max_redirects;
        uint64_t stall_ns;              /* low-speed timeout */
        uint64_t low_speed;             /* bytes/s to average over stall_ns */
        uint64_t deadline_ns;           /* absolute (cadu_now_ns), 0 = none */
        uint64_t deadline_s;
        /* Rate limit: a token bucket shared by all transfers (worker only).
         * A transfer receiving while the bucket is empty is paused, which
         * stops reading its socket, so the limit holds on the wire. */
        uint64_t rate;                  /* bytes/s, 0 = none */
        int64_t tokens, burst;
        uint64_t tokens_ns;
        unsigned n_paused;

        CURLM *multi;
        CURLSH *share;
        http_slot *slots;
        uint64_t rng;                   /* worker thread only */

        pthread_t thread;
        bool thread_started;

        pthread_mutex_t lock;
        /* Protected by lock: */
        http_request *queue;            /* waiting to start, retries first */
        bool quit;
        uint64_t down_until_ns;         /* fail fast until then */
        int down_error;
        char down_detail[CURL_ERROR_SIZE + 64];
        cadu_store_http_stats stats;
        char last_error[512];
        range_support ranges, multi_ranges;     /* what the server showed */
        range_model model;
};

static const cadu_store_ops http_ops;

static http_store *to_http(cadu_store *s) {
        return s && s->ops == &http_ops ? (http_store *) s : NULL;
}

/* ---- libcurl global state ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- errors ---- */

typedef struct outcome {
        int error;              /* 0 or -errno */
        bool retry;             /* transient: worth another attempt */
        bool unreachable;       /* could not reach the server at all */
        long http_code;
} outcome;

static outcome classify_curl(CURLcode rc) {
        switch (rc) {
        case CURLE_COULDNT_CONNECT:
                return (outcome) { -ECONNREFUSED, true, true, 0 };
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return (outcome) { -EHOSTUNREACH, true, true, 0 };
        case CURLE_OPERATION_TIMEDOUT:
                return (outcome) { -ETIMEDOUT, true, false, 0 };
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_HTTP3:
        case CURLE_WEIRD_SERVER_REPLY:
                return (outcome) { -ECONNRESET, true, false, 0 };
        case CURLE_SSL_CONNECT_ERROR:
                /* A handshake cut short by the network looks like this too. */
                return (outcome) { -EPROTO, true, false, 0 };
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_USE_SSL_FAILED:
                return (outcome) { -EPROTO, false, false, 0 };
        case CURLE_TOO_MANY_REDIRECTS:
                return (outcome) { -ELOOP, false, false, 0 };
        case CURLE_UNSUPPORTED_PROTOCOL:
                return (outcome) { -EPROTONOSUPPORT, false, false, 0 };
        case CURLE_FILESIZE_EXCEEDED:
                return (outcome) { -EFBIG, false, false, 0 };
        case CURLE_OUT_OF_MEMORY:
                return (outcome) { -ENOMEM, false, false, 0 };
        case CURLE_URL_MALFORMAT:
                return (outcome) { -EINVAL, false, false, 0 };
        default:
                return (outcome) { -EIO, true, false, 0 };
        }
}

static outcome classify_http(long code, http_kind kind) {
        if (code == 200)
                return (outcome) { kind == HTTP_HEAD ? 1 : 0, false, false, code };
        switch (code) {
        case 404:
        case 410:
                return (outcome) { -ENOENT, false, false, code };
        case 401:
        case 403:
        case 407:
                return (outcome) { -EACCES, false, false, code };
        case 408:
        case 425:
        case 429:
                return (outcome) { -EREMOTEIO, true, false, code };
        default:
                return (outcome) { -EREMOTEIO, code >= 500 && code <= 599, false, code };
        }
}

/* A short printable excerpt of an error body for the message: the HTML
 * <title> when there is one, else the text without tags, with runs of
 * space collapsed and a leading repeat of the status code dropped. */
static void excerpt_text(const char *in, size_t n, long code, char *out, size_t size) {
        size_t o = 0;
        bool tag = false, space = true;
        const char *t = memmem(in, n, "<title>", 7);

        if (t) {
                const char *e = memmem(t + 7, n - (size_t) (t + 7 - in), "</title>", 8);
                if (e) {
                        in = t + 7;
                        n = (size_t) (e - in);
                }
        }
        for (size_t i = 0; i < n && o + 1 < size; i++) {
                char c = in[i];
                if (c == '<') {
                        tag = true;
                        continue;
                }
                if (c == '>') {
                        tag = false;
                        c = ' ';
                } else if (tag)
                        continue;
                if (c == '\r' || c == '\n' || c == '\t')
                        c = ' ';
                if ((unsigned char) c < 0x20 || (unsigned char) c > 0x7e)
                        continue;
                if (c == ' ') {
                        if (space)
                                continue;
                        space = true;
                } else
                        space = false;
                out[o++] = c;
        }
        while (o > 0 && out[o - 1] == ' ')
                o--;
        out[o] = 0;

        char num[24];
        int k = snprintf(num, sizeof(num), "%ld ", code);
        if (k > 0 && !strncmp(out, num, (size_t) k))
                memmove(out, out + k, strlen(out + k) + 1);
}

/* ---- the transfer callbacks (worker thread) ---- */

static void refill(http_store *h, uint64_t now) {
        uint64_t dt = now > h->tokens_ns ? now - h->tokens_ns : 0;

        if (dt >= 10000000000ULL) {
                h->tokens = h->burst;
                h->tokens_ns = now;
                return;
        }
        /* dt < 1e10 ns and rate <= 1e9 B/s: no overflow. */
        uint64_t add = dt * h->rate / 1000000000ULL;
        if (add == 0)
                return;                 /* keep the fraction for next time */
        int64_t t = h->tokens + (int64_t) add;
        h->tokens = t > h->burst ? h->burst : t;
        h->tokens_ns = now;
}

/* May n more bytes be received now? Otherwise the transfer pauses. */
static bool rate_admit(http_slot *s, size_t n) {
        http_store *h = s->store;

        if (!h->rate)
                return true;
        refill(h, cadu_now_ns());
        if (h->tokens <= 0) {
                if (!s->paused) {
                        s->paused = true;
                        h->n_paused++;
                }
                return false;
        }
        /* Debt is allowed: the next deliveries wait until it is paid. */
        h->tokens -= (int64_t) CADU_MIN(n, (size_t) INT64_MAX / 2);
        return true;
}

/* Resume paused transfers once the bucket has tokens again. Returns the ms
 * until that is the case, or -1 when nothing waits. */
static long rate_resume(http_store *h) {
        if (!h->n_paused)
                return -1;
        refill(h, cadu_now_ns());
        if (h->tokens <= 0)
                return (long) ((uint64_t) (-h->tokens + 1) * 1000 / h->rate) + 1;
        for (size_t i = 0; i < h->max_transfers; i++) {
                http_slot *s = &h->slots[i];
                if (!s->paused)
                        continue;
                s->paused = false;
                h->n_paused--;
                /* Time spent waiting for the bucket is not a stall. */
                s->progress_ns = s->window_ns = cadu_now_ns();
                s->window_bytes = 0;
                /* May deliver the held data (and pause again) right here. */
                (void) curl_easy_pause(s->easy, CURLPAUSE_CONT);
        }
        return h->n_paused ? 1 : -1;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *userdata) {
        http_slot *s = userdata;
        http_request *req = s->req;
        size_t n = size * nmemb;
        long code = 0;

        (void) curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        if (req->job && code == 206 && atomic_load(&req->job->call->ready) >= RANGE_READY_MAX &&
            !atomic_load(&req->job->call->cancel)) {
                s->held = true;         /* resumed by held_resume() */
                return CURL_WRITEFUNC_PAUSE;
        }
        if (!rate_admit(s, n))
                return CURL_WRITEFUNC_PAUSE;
        s->progress_ns = cadu_now_ns();
        s->window_bytes += n;
        if (code != (req->job ? 206 : 200)) {
                size_t k = CADU_MIN(n, sizeof(s->excerpt) - 1 - s->excerpt_len);
                memcpy(s->excerpt + s->excerpt_len, p, k);
                s->excerpt_len += k;
                s->error_body += n;
                return s->error_body > MAX_ERROR_BODY ? 0 : n;
        }
        if (req->kind != HTTP_GET)
                return n;
        if (req->job)
                return range_job_body(req->job, (const uint8_t *) p, n) < 0 ? 0 : n;
        if (n > req->max_raw || req->out->len > req->max_raw - n) {
                s->too_big = true;
                return 0;
        }
        if (req->out->len == 0) {
                curl_off_t cl = -1;
                if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
                    cl > 0 && (uint64_t) cl <= req->max_raw)
                        (void) cadu_buf_reserve(req->out, (size_t) cl);
        }
        if (cadu_buf_append(req->out, p, n) < 0) {
                s->oom = true;
                return 0;
        }
        return n;
}

/* Headers of the answer to a range request: store-range.c judges them; at
 * their end, what the server showed of its Range support is remembered and
 * a 200 (the whole file) is cut off before any of its body is read. */
static size_t on_header(char *b, size_t size, size_t nitems, void *userdata) {
        http_slot *s = userdata;
        http_store *h = s->store;
        size_t n = size * nitems, len = n;
        range_job *j = s->req ? s->req->job : NULL;
        long code = 0;

        if (!j)
                return n;
        while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == '\r'))
                len--;
        if (len > 0) {
                range_job_header(j, b, len);
                return n;
        }
        (void) curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        int r = range_job_headers_end(j, code);
        pthread_mutex_lock(&h->lock);
        if (r == 0 && code == 206) {
                h->ranges = RANGE_YES;
                if (j->multipart)
                        h->multi_ranges = RANGE_YES;
                j->confirmed = true;
        } else if (j->multi_refused || (j->refused && j->nasegs > 1))
                h->multi_ranges = RANGE_NO;
        else if (j->refused)
                h->ranges = RANGE_NO;
        pthread_cond_broadcast(&j->call->cond);
        pthread_mutex_unlock(&h->lock);
        return r < 0 ? 0 : n;
}

/* Called by curl at least once a second during a range transfer: stops
 * it when its caller gave up (even while no byte arrives). */
static int on_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        http_slot *s = userdata;
        (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
        return s->req && s->req->job && atomic_load(&s->req->job->call->cancel);
}

static uint64_t rng_next(http_store *h) {
        /* xorshift64*: only for jitter. */
        h->rng ^= h->rng >> 12;
        h->rng ^= h->rng << 25;
        h->rng ^= h->rng >> 27;
        return h->rng * 0x2545F4914F6CDD1DULL;
}

/* Exponential backoff with jitter: a random delay in [d/2, d] where
 * d = BASE * 2^(attempt-1), capped. */
static uint64_t backoff_ns(http_store *h, unsigned attempt) {
        uint64_t d = BACKOFF_BASE_MS;
        for (unsigned i = 1; i < attempt && d < BACKOFF_MAX_MS; i++)
                d *= 2;
        d = CADU_MIN(d, (uint64_t) BACKOFF_MAX_MS);
        d = d / 2 + rng_next(h) % (d / 2 + 1);
        return d * 1000000ULL;
}

static void complete_locked(http_store *h, http_request *req, int r) {
        req->result = r;
        req->done = true;
        if (req->job)
                pthread_cond_broadcast(&req->job->call->cond);
        else
                pthread_cond_signal(&req->cond);
}

/* The message of a failed request, also kept as the store's latest. */
static void set_error_locked(http_store *h, http_request *req, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void set_error_locked(http_store *h, http_request *req, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(req->error, sizeof(req->error), fmt, ap);
        va_end(ap);
        memcpy(h->last_error, req->error, sizeof(h->last_error));
}

/* The latest failure of each thread, so that cadu_store_http_last_error()
 * describes the caller's own request, not another thread's. */
static __thread struct {
        const http_store *store;
        char error[512];
} thread_error;

static const char *method(const http_request *req) {
        return req->kind == HTTP_GET ? "GET" : "HEAD";
}

static int start_transfer(http_store *h, http_slot *s, http_request *req) {
        CURL *e = s->easy;
        size_t max_raw = req->max_raw;

        s->req = req;
        s->too_big = s->oom = s->stalled = s->slow = false;
        s->progress_ns = s->window_ns = cadu_now_ns();
        s->window_bytes = 0;
        s->error_body = s->excerpt_len = 0;
        s->errbuf[0] = 0;
        req->attempts++;
        if (req->job && range_job_begin(req->job) < 0) {
                s->req = NULL;
                return -ENOMEM;
        }

        memcpy(s->url + h->base_len + 1, req->path, strlen(req->path) + 1);
        if (curl_easy_setopt(e, CURLOPT_URL, req->redirect[0] ? req->redirect : s->url) != CURLE_OK)
                return -ENOMEM;
        bool again = req->attempts > 1;
        for (size_t i = 0; i < CADU_ELEMENTSOF(h->recent) && !again && req->kind == HTTP_GET && !req->job && !req->is_file;
             i++)
                again = !memcmp(h->recent[i], req->id, CADU_DIGEST_SIZE);
        /* Redirects are followed here, not by libcurl (which sends custom
         * headers and the client certificate to any host): the configured
         * headers and client certificate go only to the store's origin. */
        bool origin = !req->redirect[0] || cadu_url_same_origin(h->base_url, req->redirect);
        (void) curl_easy_setopt(e, CURLOPT_HTTPHEADER, !origin ? NULL : again ? h->headers_nocache : h->headers);
        (void) curl_easy_setopt(e, CURLOPT_SSLCERT, origin ? h->client_cert : NULL);
        (void) curl_easy_setopt(e, CURLOPT_SSLKEY, origin ? h->client_key : NULL);
        (void) curl_easy_setopt(e, CURLOPT_RANGE, req->job ? req->job->hdr : NULL);
        (void) curl_easy_setopt(e, CURLOPT_NOPROGRESS, req->job ? 0L : 1L);
        if (req->job) {
                /* Bounded by the range answer's own checks. */
                (void) curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
                (void) curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) 0);
        } else if (req->kind == HTTP_GET) {
                req->out->len = 0;
                (void) curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
                /* A file's cap may be below the size of an error page: the
                 * write callback applies it to a 200's body only. */
                (void) curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, req->is_file ? (curl_off_t) 0 : (curl_off_t) max_raw);
        } else {
                (void) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
                (void) curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) 0);
        }
        if (h->deadline_ns) {
                uint64_t now = cadu_now_ns();
                long ms = now >= h->deadline_ns ? 1 : (long) ((h->deadline_ns - now) / 1000000ULL) + 1;
                (void) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
        }
        if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
                s->req = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* The outcome of a range request where the range rules decide it; false
 * to apply the usual ones (network errors, error statuses). */
static bool range_outcome(range_job *j, CURLcode rc, long code, outcome *o, char *detail, size_t size) {
        bool all_done = true;

        for (size_t k = 0; k < j->last - j->first; k++)
                all_done = all_done && j->done[k];
        if (atomic_load(&j->call->cancel)) {
                *o = (outcome) { -ECANCELED, false, false, code };
                snprintf(detail, size, "cancelled");
        } else if (j->refused || j->multi_refused) {
                *o = (outcome) { -ENOTSUP, false, false, code };
                snprintf(detail, size, "HTTP %ld: the server ignores %s", code,
                         j->nasegs > 1 ? "multi-range requests" : "Range (answer cut off before its body)");
        } else if (j->bad) {
                *o = (outcome) { -EBADMSG, false, false, code };
                snprintf(detail, size, "malformed range answer: %s", j->why);
        } else if (rc == CURLE_OK && code == 206) {
                if (range_job_end(j) < 0) {
                        *o = (outcome) { -EBADMSG, false, false, code };
                        snprintf(detail, size, "malformed range answer: %s", j->why);
                } else
                        *o = (outcome) { 0, false, false, code };
        } else if (code == 206 && all_done) {
                /* Every range came and was checked; only the end was lost. */
                *o = (outcome) { 0, false, false, code };
        } else if (code == 416) {
                *o = (outcome) { -EBADMSG, false, false, code };
                snprintf(detail, size, "HTTP 416: range beyond the end of the file");
        } else
                return false;
        return true;
}

static void finish_transfer(http_store *h, http_slot *s, CURLcode rc) {
        http_request *req = s->req;
        long code = 0, nconn = 0, header_size = 0;
        curl_off_t body = 0, retry_after = 0, t_pre = 0, t_start = 0, t_total = 0;
        outcome o;
        char detail[CURL_ERROR_SIZE + 64];

        (void) curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        (void) curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &nconn);
        (void) curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &header_size);
        (void) curl_easy_getinfo(s->easy, CURLINFO_SIZE_DOWNLOAD_T, &body);
        (void) curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &retry_after);
        (void) curl_easy_getinfo(s->easy, CURLINFO_PRETRANSFER_TIME_T, &t_pre);
        (void) curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &t_start);
        (void) curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &t_total);
        curl_multi_remove_handle(h->multi, s->easy);
        s->req = NULL;
        s->held = false;
        if (s->paused) {
                s->paused = false;
                h->n_paused--;
        }

        /* A redirect: the same request again, to where it points. */
        char *loc = NULL;
        int redirect_r = 0;
        if (rc == CURLE_OK && !s->stalled && !s->too_big && !s->oom &&
            (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) &&
            curl_easy_getinfo(s->easy, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) {
                redirect_r = cadu_redirect_check(req->redirect[0] ? req->redirect : s->url, loc, req->hops + 1,
                                                 h->max_redirects);
                if (redirect_r == 0 && strlen(loc) >= sizeof(req->redirect))
                        redirect_r = -ENAMETOOLONG;
                if (redirect_r == 0) {
                        memcpy(req->redirect, loc, strlen(loc) + 1);
                        req->hops++;
                        req->attempts--;        /* a hop, not an attempt */
                        pthread_mutex_lock(&h->lock);
                        h->stats.requests++;
                        if (req->job)
                                h->stats.range_requests++;
                        h->stats.connections += (uint64_t) CADU_MAX(nconn, 0L);
                        h->stats.bytes_received += (uint64_t) CADU_MAX(body, (curl_off_t) 0) +
                                                   (uint64_t) CADU_MAX(header_size, 0L);
                        req->not_before_ns = 0;
                        req->next = h->queue;
                        h->queue = req;
                        pthread_mutex_unlock(&h->lock);
                        return;
                }
        }

        if (redirect_r == -ELOOP) {
                o = (outcome) { -ELOOP, false, false, code };
                snprintf(detail, sizeof(detail), "more than %u redirects", h->max_redirects);
        } else if (redirect_r < 0) {
                o = (outcome) { redirect_r == -ENAMETOOLONG ? -EPROTO : -EPROTONOSUPPORT, false, false, code };
                snprintf(detail, sizeof(detail), "redirect to %.200s refused (%s)", loc,
                         redirect_r == -ENAMETOOLONG ? "URL too long" : "to http(s) only, never from https to http");
        } else if (s->stalled) {
                o = (outcome) { -ETIMEDOUT, true, false, code };
                snprintf(detail, sizeof(detail), "nothing received for %" PRIu64 " s", (uint64_t) (h->stall_ns / 1000000000ULL));
        } else if (s->slow) {
                o = (outcome) { -ETIMEDOUT, true, false, code };
                snprintf(detail, sizeof(detail), "slower than %" PRIu64 " bytes/s for %" PRIu64 " s", h->low_speed,
                         (uint64_t) (h->stall_ns / 1000000000ULL));
        } else if (s->too_big) {
                o = (outcome) { -EFBIG, false, false, code };
                snprintf(detail, sizeof(detail), "body larger than %zu bytes", req->max_raw);
        } else if (s->oom) {
                o = (outcome) { -ENOMEM, false, false, code };
                snprintf(detail, sizeof(detail), "out of memory");
        } else if (req->job && range_outcome(req->job, rc, code, &o, detail, sizeof(detail))) {
                /* decided by the range rules */
        } else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && code != 200)) {
                /* A write error with a non-200 status is our own refusal of a
                 * long error body: the status is what counts. */
                o = classify_http(code, req->kind);
                char text[160];
                excerpt_text(s->excerpt, s->excerpt_len, code, text, sizeof(text));
                snprintf(detail, sizeof(detail), "HTTP %ld%s%s", code, text[0] ? ": " : "", text);
        } else {
                o = classify_curl(rc);
                if (rc == CURLE_FILESIZE_EXCEEDED)
                        snprintf(detail, sizeof(detail), "body larger than %zu bytes", req->max_raw);
                else
                        snprintf(detail, sizeof(detail), "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
        }

        uint64_t now = cadu_now_ns();
        uint64_t delay = 0;
        if (o.error < 0 && o.retry) {
                delay = backoff_ns(h, req->attempts);
                if (retry_after > 0)
                        delay = CADU_MAX(delay, (uint64_t) CADU_MIN(retry_after, RETRY_AFTER_MAX_S) * 1000000000ULL);
        }

        pthread_mutex_lock(&h->lock);
        h->stats.requests++;
        h->stats.connections += (uint64_t) CADU_MAX(nconn, 0L);
        h->stats.bytes_received += (uint64_t) CADU_MAX(body, (curl_off_t) 0) + (uint64_t) CADU_MAX(header_size, 0L);
        if (req->job)
                h->stats.range_requests++;
        /* The cost model learns the round trip from every answer (even a
         * refused or failed one: the server answered), throughput from
         * successful bodies. */
        if (code > 0 && t_start > t_pre)
                range_model_rtt(&h->model, (uint64_t) (t_start - t_pre) * 1000);
        if (o.error >= 0) {
                if (req->kind == HTTP_GET) {
                        if (t_total > t_start && body > 0)
                                range_model_throughput(&h->model, (uint64_t) body, (uint64_t) (t_total - t_start) * 1000);
                }
                if (req->kind == HTTP_GET && !req->job)
                        h->stats.chunks++;
                if (req->kind == HTTP_GET && !req->job && !req->is_file) {
                        memcpy(h->recent[h->recent_next], req->id, CADU_DIGEST_SIZE);
                        h->recent_next = (h->recent_next + 1) % CADU_ELEMENTSOF(h->recent);
                }
                h->down_until_ns = 0;
                complete_locked(h, req, o.error);
        } else if (o.retry && req->attempts <= h->retries && !h->quit && h->down_until_ns <= now &&
                   (!h->deadline_ns || now + delay < h->deadline_ns)) {
                h->stats.retries++;
                req->not_before_ns = now + delay;
                req->next = h->queue;
                h->queue = req;
        } else {
                if (o.error == -ENOENT)
                        h->stats.not_found++;
                else
                        h->stats.failures++;
                if (o.unreachable) {
                        h->down_until_ns = now + DOWN_HOLD_NS;
                        h->down_error = o.error;
                        snprintf(h->down_detail, sizeof(h->down_detail), "%s", detail);
                }
                if (o.retry && h->deadline_ns && now + delay >= h->deadline_ns)
                        set_error_locked(h, req, "%s %s: %s (deadline of %" PRIu64 " s reached after %u attempt%s)",
                                         method(req), s->url, detail, h->deadline_s, req->attempts,
                                         req->attempts == 1 ? "" : "s");
                else if (o.retry && req->attempts > 1)
                        set_error_locked(h, req, "%s %s: %s (after %u attempts)", method(req), s->url, detail,
                                         req->attempts);
                else
                        set_error_locked(h, req, "%s %s: %s", method(req), s->url, detail);
                if (req->kind == HTTP_HEAD && o.error == -ENOENT)
                        o.error = 0;            /* has(): absent */
                complete_locked(h, req, o.error);
        }
        pthread_mutex_unlock(&h->lock);
}

/* Take ready requests off the queue, at most n. Fails queued requests that
 * can no longer succeed. Returns how long to wait for the next one to be
 * ready (ms, capped), or -1 when none waits on time. */
static long take_ready_locked(http_store *h, http_request **ready, size_t n, size_t *ret_n) {
        uint64_t now = cadu_now_ns();
        uint64_t next = UINT64_MAX;
        size_t k = 0;

        for (http_request **pp = &h->queue; *pp;) {
                http_request *r = *pp;
                int fail = 0;

                if (h->quit)
                        fail = -ECANCELED;
                else if (h->deadline_ns && now >= h->deadline_ns) {
                        fail = -ETIMEDOUT;
                        set_error_locked(h, r, "%s %s/%s: deadline of %" PRIu64 " s reached", method(r),
                                         h->base_url, r->path, h->deadline_s);
                } else if (h->down_until_ns > now) {
                        fail = h->down_error;
                        set_error_locked(h, r, "%s %s/%s: not tried: the store is unreachable (%s)", method(r),
                                         h->base_url, r->path, h->down_detail);
                } else if (r->job && atomic_load(&r->job->call->cancel)) {
                        fail = -ECANCELED;
                        set_error_locked(h, r, "%s %s/%s: cancelled", method(r), h->base_url, r->path);
                } else if (r->job && h->ranges == RANGE_NO) {
                        fail = -ENOTSUP;
                        set_error_locked(h, r, "%s %s/%s: not tried: the server ignores Range", method(r),
                                         h->base_url, r->path);
                }
                if (fail) {
                        *pp = r->next;
                        h->stats.failures++;
                        complete_locked(h, r, fail);
                        continue;
                }
                if (r->not_before_ns > now) {
                        next = CADU_MIN(next, r->not_before_ns);
                        pp = &r->next;
                        continue;
                }
                if (k >= n) {
                        pp = &r->next;
                        continue;
                }
                *pp = r->next;
                ready[k++] = r;
        }
        *ret_n = k;
        if (h->deadline_ns && h->queue)
                next = CADU_MIN(next, h->deadline_ns);
        if (next == UINT64_MAX)
                return -1;
        return next <= now ? 0 : (long) ((next - now) / 1000000ULL) + 1;
}

/* Resume range transfers held back while their caller had ranges to
 * take, once it took them (or gave up). */
static void held_resume(http_store *h) {
        for (size_t i = 0; i < h->max_transfers; i++) {
                http_slot *s = &h->slots[i];
                if (!s->held)
                        continue;
                range_call *c = s->req->job->call;
                if (atomic_load(&c->ready) >= RANGE_READY_MAX && !atomic_load(&c->cancel))
                        continue;
                s->held = false;
                /* Time spent waiting for the caller is not a stall. */
                s->progress_ns = s->window_ns = cadu_now_ns();
                s->window_bytes = 0;
                (void) curl_easy_pause(s->easy, CURLPAUSE_CONT);
        }
}

static void *worker(void *userdata) {
        http_store *h = userdata;
        http_request *ready[MAX_MAX_TRANSFERS];
        sigset_t ss;

        /* A write to a closed socket must not kill the process. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &ss, NULL);

        for (;;) {
                size_t idle = 0, n = 0, busy = 0;
                bool quit;
                long wait;

                for (size_t i = 0; i < h->max_transfers; i++)
                        if (!h->slots[i].req)
                                idle++;

                pthread_mutex_lock(&h->lock);
                wait = take_ready_locked(h, ready, idle, &n);
                quit = h->quit;
                pthread_mutex_unlock(&h->lock);

                for (size_t i = 0, j = 0; i < n; i++) {
                        while (h->slots[j].req)
                                j++;
                        int r = start_transfer(h, &h->slots[j], ready[i]);
                        if (r < 0) {
                                pthread_mutex_lock(&h->lock);
                                h->stats.failures++;
                                set_error_locked(h, ready[i], "%s %s/%s: cannot start transfer", method(ready[i]),
                                                 h->base_url, ready[i]->path);
                                complete_locked(h, ready[i], r);
                                pthread_mutex_unlock(&h->lock);
                        }
                }

                if (quit) {
                        /* Nobody may call into a store being freed, but be safe. */
                        for (size_t i = 0; i < h->max_transfers; i++)
                                if (h->slots[i].req)
                                        finish_transfer(h, &h->slots[i], CURLE_ABORTED_BY_CALLBACK);
                        break;
                }

                (void) rate_resume(h);
                held_resume(h);

                int running = 0;
                curl_multi_perform(h->multi, &running);

                bool finished = false;
                CURLMsg *m;
                int left;
                while ((m = curl_multi_info_read(h->multi, &left)))
                        if (m->msg == CURLMSG_DONE) {
                                char *priv = NULL;
                                (void) curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
                                finish_transfer(h, (http_slot *) priv, m->data.result);
                                finished = true;
                        }
                if (finished)
                        continue;       /* free slots: look at the queue first */

                for (size_t i = 0; i < h->max_transfers; i++)
                        if (h->slots[i].req)
                                busy++;
                /* Cut off transfers that received nothing for too long (a
                 * stalled server), or less than the minimum speed over a
                 * whole window (a server dripping a byte now and then);
                 * they are retried like timeouts. */
                uint64_t now = cadu_now_ns();
                for (size_t i = 0; i < h->max_transfers; i++) {
                        http_slot *s = &h->slots[i];
                        if (!s->req || s->paused || s->held)
                                continue;
                        if (now - s->progress_ns > h->stall_ns)
                                s->stalled = true;
                        else if (now - s->window_ns >= h->stall_ns) {
                                uint64_t ms = (now - s->window_ns) / 1000000ULL;
                                if (s->window_bytes < h->low_speed * ms / 1000)
                                        s->slow = true;
                                s->window_ns = now;
                                s->window_bytes = 0;
                        }
                        if (s->stalled || s->slow) {
                                finish_transfer(h, s, CURLE_OPERATION_TIMEDOUT);
                                finished = true;
                        }
                }
                if (finished)
                        continue;

                /* Transfers paused by the rate limit resume when it allows. */
                long resume = rate_resume(h);
                if (resume >= 0 && (wait < 0 || resume < wait))
                        wait = resume;
                /* Sleep until curl has work, a caller wakes us or a retry is due. */
                if (wait < 0 || (busy == h->max_transfers && wait > 1000))
                        wait = 1000;
                curl_multi_poll(h->multi, NULL, 0, (int) CADU_MIN(wait, 1000L), NULL);
        }
        return NULL;
}

/* ---- the backend ---- */

static int http_run(http_store *h, http_request *req) {
        int r;

        if (pthread_cond_init(&req->cond, NULL) != 0)
                return -ENOMEM;
        req->next = NULL;
        req->error[0] = 0;
        req->done = false;
        req->attempts = 0;
        req->not_before_ns = 0;

        pthread_mutex_lock(&h->lock);
        /* Append: first come, first served. */
        http_request **pp = &h->queue;
        while (*pp)
                pp = &(*pp)->next;
        *pp = req;
        pthread_mutex_unlock(&h->lock);

        (void) curl_multi_wakeup(h->multi);

        pthread_mutex_lock(&h->lock);
        while (!req->done)
                pthread_cond_wait(&req->cond, &h->lock);
        r = req->result;
        pthread_mutex_unlock(&h->lock);

        pthread_cond_destroy(&req->cond);
        if (r < 0) {
                thread_error.store = h;
                memcpy(thread_error.error, req->error, sizeof(thread_error.error));
        }
        return r;
}

static int http_get(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out) {
        http_store *h = to_http(s);
        http_request req = {
                .kind = HTTP_GET,
                .max_raw = max_raw == 0 || max_raw > HARD_MAX_RAW ? HARD_MAX_RAW : max_raw,
                .out = out,
        };

        if (!h || !id || !out)
                return -EINVAL;
        out->len = 0;
        memcpy(req.id, id, CADU_DIGEST_SIZE);
        cadu_chunk_path(id, req.path);
        return http_run(h, &req);
}

static int http_has(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        http_store *h = to_http(s);
        http_request req = { .kind = HTTP_HEAD };

        if (!h || !id)
                return -EINVAL;
        memcpy(req.id, id, CADU_DIGEST_SIZE);
        cadu_chunk_path(id, req.path);
        return http_run(h, &req);
}

static int http_get_file(cadu_store *s, const char *relpath, size_t max, cadu_buf *out) {
        http_store *h = to_http(s);
        http_request req = {
                .kind = HTTP_GET,
                .is_file = true,
                .max_raw = max,
                .out = out,
        };

        if (!h || !out || strlen(relpath) >= sizeof(req.path))
                return -EINVAL;
        out->len = 0;
        strcpy(req.path, relpath);
        return http_run(h, &req);
}

/* One request of a range call: its plan and buffers, and its place in the
 * store's queue. */
typedef struct range_slot {
        range_job job;
        http_request req;
        size_t bytes;                   /* its buffer */
        bool busy;
} range_slot;

/* Queue the request of a planned job (lock held), without the ranges
 * delivered already (by an earlier request of the same ranges that was
 * refused halfway). 1 when nothing was left to ask. */
static int range_submit_locked(http_store *h, range_slot *rs, const char *relpath, const bool *delivered) {
        bool any = false;
        int r = range_job_alloc(&rs->job);
        if (r < 0)
                return r;
        for (size_t k = 0; k < rs->job.last - rs->job.first; k++) {
                rs->job.done[k] = rs->job.delivered[k] = delivered[rs->job.first + k];
                any = any || !delivered[rs->job.first + k];
        }
        if (!any)
                return 1;
        rs->req = (http_request) {
                .kind = HTTP_GET,
                .job = &rs->job,
        };
        strcpy(rs->req.path, relpath);
        http_request **pp = &h->queue;
        while (*pp)
                pp = &(*pp)->next;
        *pp = &rs->req;
        rs->busy = true;
        return 0;
}

/* The caller's side of a range call: plans requests as the store's state
 * allows (a first request alone until the server showed it answers ranges;
 * a first multi-range request alone until it showed it answers those),
 * keeps at most max_transfers in flight, hands each range to cb as soon as
 * it is complete, and on any failure cancels the rest and waits for them. */
static int http_get_ranges(cadu_store *s, const char *relpath, const cadu_range *r, size_t n,
                           cadu_range_cb cb, void *ud) {
        http_store *h = to_http(s);
        range_call call = { .r = r, .n = n, .total = BYTERANGES_TOTAL_UNKNOWN };
        size_t window, next = 0, inflight = 0, redo_first = 0, redo_last = 0, buffered = 0;
        range_slot *slots;
        bool *delivered;                /* of all ranges of the call */
        int ret = 0;

        if (!h || strlen(relpath) > CADU_STORE_RELPATH_MAX)
                return -EINVAL;
        slots = calloc(h->max_transfers, sizeof(*slots));
        delivered = calloc(n, sizeof(*delivered));
        if (!slots || !delivered || pthread_cond_init(&call.cond, NULL) != 0) {
                free(slots);
                free(delivered);
                return -ENOMEM;
        }
        call.lock = &h->lock;
        atomic_init(&call.cancel, false);
        atomic_init(&call.ready, 0);
        window = range_window(h->max_transfers);

        pthread_mutex_lock(&h->lock);
        if (h->ranges == RANGE_NO) {
                snprintf(thread_error.error, sizeof(thread_error.error),
                         "GET %s/%s: not tried: the server ignores Range", h->base_url, relpath);
                thread_error.store = h;
                ret = -ENOTSUP;
        }
        for (;;) {
                bool progress = false, woke = false;

                /* Start what the store's state allows. */
                while (ret == 0 && (next < n || redo_first < redo_last) && inflight < h->max_transfers) {
                        range_slot *rs = NULL;
                        bool redo = redo_first < redo_last;
                        bool confirmed = false;
                        for (size_t i = 0; i < h->max_transfers; i++)
                                if (slots[i].busy && slots[i].job.confirmed)
                                        confirmed = true;
                        if (h->ranges != RANGE_YES && inflight > 0 && !confirmed)
                                break;          /* the first answer decides */
                        for (size_t i = 0; i < h->max_transfers && !rs; i++)
                                if (!slots[i].busy)
                                        rs = &slots[i];
                        memset(&rs->job, 0, sizeof(rs->job));
                        range_plan(&rs->job, &call, redo ? redo_first : next, redo ? redo_last : n,
                                   !redo && h->multi_ranges != RANGE_NO,
                                   range_model_max_gap(&h->model, window), window);
                        if (rs->job.multi && h->multi_ranges == RANGE_UNKNOWN && inflight > 0)
                                break;          /* a first multi-range request goes alone */
                        rs->bytes = range_job_bytes(&rs->job);
                        if (!range_admit(buffered, rs->bytes))
                                break;          /* memory: wait for a request to finish */
                        int k = range_submit_locked(h, rs, relpath, delivered);
                        if (k < 0) {
                                range_job_free(&rs->job);
                                ret = k;
                                break;
                        }
                        if (redo)
                                redo_first = rs->job.last;
                        else
                                next = rs->job.last;
                        if (k > 0) {
                                range_job_free(&rs->job);
                                continue;
                        }
                        inflight++;
                        buffered += rs->bytes;
                        woke = true;
                }
                if (woke) {
                        pthread_mutex_unlock(&h->lock);
                        (void) curl_multi_wakeup(h->multi);
                        pthread_mutex_lock(&h->lock);
                }
                if (inflight == 0)
                        break;

                /* Hand over complete ranges; collect finished requests. */
                for (size_t i = 0; i < h->max_transfers; i++) {
                        range_slot *rs = &slots[i];
                        range_job *j = &rs->job;
                        if (!rs->busy)
                                continue;
                        for (size_t k = 0; k < j->last - j->first && ret == 0; k++) {
                                if (!j->done[k] || j->delivered[k])
                                        continue;
                                j->delivered[k] = true;
                                delivered[j->first + k] = true;
                                progress = true;
                                size_t len = (size_t) r[j->first + k].len;
                                h->stats.range_bytes += len;
                                pthread_mutex_unlock(&h->lock);
                                int c = cb(ud, j->first + k, j->buf + j->boff[k], len);
                                range_job_release(j, k);
                                pthread_mutex_lock(&h->lock);
                                if (atomic_fetch_sub(&call.ready, len) >= RANGE_READY_MAX &&
                                    atomic_load(&call.ready) < RANGE_READY_MAX)
                                        (void) curl_multi_wakeup(h->multi);     /* held transfers may go on */
                                if (c != 0) {
                                        ret = c;
                                        atomic_store(&call.cancel, true);
                                        (void) curl_multi_wakeup(h->multi);
                                }
                        }
                        if (!rs->req.done)
                                continue;
                        progress = true;
                        int res = rs->req.result;
                        if (res == 0 && ret == 0)
                                for (size_t k = 0; k < j->last - j->first; k++)
                                        if (!j->delivered[k])
                                                res = -EBADMSG;         /* cannot happen */
                        if (res == -ENOTSUP && (j->multi_refused || (j->refused && j->nasegs > 1))) {
                                /* Not the ranges but several at once: these
                                 * again, one span per request. */
                                redo_first = j->first;
                                redo_last = j->last;
                        } else if (res < 0 && ret == 0) {
                                ret = res;
                                memcpy(thread_error.error, rs->req.error, sizeof(thread_error.error));
                                thread_error.store = h;
                                atomic_store(&call.cancel, true);
                                (void) curl_multi_wakeup(h->multi);
                        }
                        for (size_t k = 0; k < j->last - j->first; k++)
                                if (j->done[k] && !j->delivered[k])
                                        atomic_fetch_sub(&call.ready, (size_t) r[j->first + k].len);
                        range_job_free(j);
                        rs->busy = false;
                        inflight--;
                        buffered -= rs->bytes;
                }
                if (!progress)
                        pthread_cond_wait(&call.cond, &h->lock);
        }
        pthread_mutex_unlock(&h->lock);
        pthread_cond_destroy(&call.cond);
        free(slots);
        free(delivered);
        return ret;
}

static void http_free(cadu_store *s) {
        http_store *h = to_http(s);

        if (!h)
                return;
        if (h->thread_started) {
                pthread_mutex_lock(&h->lock);
                h->quit = true;
                pthread_mutex_unlock(&h->lock);
                (void) curl_multi_wakeup(h->multi);
                pthread_join(h->thread, NULL);
        }
        if (h->slots)
                for (size_t i = 0; i < h->max_transfers; i++) {
                        if (h->slots[i].easy) {
                                if (h->slots[i].req)
                                        curl_multi_remove_handle(h->multi, h->slots[i].easy);
                                curl_easy_cleanup(h->slots[i].easy);
                        }
                        free(h->slots[i].url);
                }
        free(h->slots);
        if (h->multi)
                curl_multi_cleanup(h->multi);
        if (h->share)
                curl_share_cleanup(h->share);
        curl_slist_free_all(h->headers);
        curl_slist_free_all(h->headers_nocache);
        pthread_mutex_destroy(&h->lock);
        free(h->base_url);
        free(h->ca_file);
        free(h->client_cert);
        free(h->client_key);
        free(h->base.location);
        free(h);
}

static const cadu_store_ops http_ops = {
        .version = 1,
        .kind = "http",
        .get = http_get,
        .put = NULL,
        .has = http_has,
        .free = http_free,
        .get_ranges = http_get_ranges,
        .get_file = http_get_file,
};

/* ---- opening ---- */

static bool header_valid(const char *hdr) {
        const char *colon = strchr(hdr, ':');

        if (!colon || colon == hdr)
                return false;
        for (const char *p = hdr; p < colon; p++)
                /* RFC 9110 token characters */
                if (!strchr("!#$%&'*+-.^_`|~", *p) && !(*p >= '0' && *p <= '9') &&
                    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z'))
                        return false;
        for (const char *p = colon + 1; *p; p++)
                if ((unsigned char) *p < 0x20 && *p != '\t')
                        return false;
        return true;
}

int cadu_store_http_validate_header(const char *header) {
        return header && header_valid(header) ? 0 : -EINVAL;
}

static int validate_url(const char *url) {
        CURLU *u;
        char *host = NULL;
        int r = 0;

        if (!url || !cadu_location_is_url(url))
                return -EINVAL;
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f || *p == '?' || *p == '#')
                        return -EINVAL;
        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !host[0])
                r = -EINVAL;
        curl_free(host);
        curl_url_cleanup(u);
        return r;
}

static int dup_file_option(const char *path, char **ret) {
        if (!path || !path[0]) {
                *ret = NULL;
                return 0;
        }
        if (access(path, R_OK) < 0)
                return -errno;
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

static int setup_easy(http_store *h, http_slot *s, const cadu_store_options *o) {
        CURL *e = curl_easy_init();
        CURLcode c = CURLE_OK;
        unsigned connect_timeout = o->connect_timeout_s ? o->connect_timeout_s : DEFAULT_CONNECT_TIMEOUT_S;

        if (!e)
                return -ENOMEM;
        s->easy = e;
        s->store = h;
        s->url = malloc(h->base_len + 1 + CADU_STORE_RELPATH_MAX + 1);
        if (!s->url)
                return -ENOMEM;
        memcpy(s->url, h->base_url, h->base_len);
        s->url[h->base_len] = '/';
        s->url[h->base_len + 1] = 0;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val); } while (0)
        SET(CURLOPT_PRIVATE, (void *) s);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, (void *) s);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, (void *) s);
        SET(CURLOPT_XFERINFOFUNCTION, on_xferinfo);
        SET(CURLOPT_XFERINFODATA, (void *) s);
        SET(CURLOPT_ERRORBUFFER, s->errbuf);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_SHARE, h->share);
        SET(CURLOPT_USERAGENT, "cadu/" PACKAGE_VERSION);
        /* Redirects: followed by finish_transfer(), never from https down to
         * plain http (cadu_redirect_check). */
        SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
        SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        SET(CURLOPT_CONNECTTIMEOUT, (long) connect_timeout);
        /* No CURLOPT_LOW_SPEED_*: the worker itself cuts off transfers that
         * receive nothing for low_speed_time_s (curl's check averages the
         * speed over several seconds, so it reacts late). */
        SET(CURLOPT_TCP_KEEPALIVE, 1L);
        SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
        SET(CURLOPT_PIPEWAIT, 1L);
        SET(CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
        SET(CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
        if (h->ca_file)
                SET(CURLOPT_CAINFO, h->ca_file);
#undef SET
        if (c == CURLE_OUT_OF_MEMORY)
                return -ENOMEM;
        return c == CURLE_OK ? 0 : -EINVAL;
}

int cadu_store_open_http(const char *url, const cadu_store_options *opts, cadu_store **ret) {
        static const cadu_store_options defaults = { 0 };
        const cadu_store_options *o = opts ? opts : &defaults;
        http_store *h;
        int r;

        if (!ret)
                return -EINVAL;
        r = validate_url(url);
        if (r < 0)
                return r;
        if (o->max_transfers > MAX_MAX_TRANSFERS)
                return -ERANGE;
        if (o->headers)
                for (const char *const *p = o->headers; *p; p++)
                        if (!header_valid(*p))
                                return -EINVAL;
        if (o->client_key && !o->client_cert)
                return -EINVAL;

        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return -ENOMEM;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->base.ops = &http_ops;
        pthread_mutex_init(&h->lock, NULL);
        h->max_transfers = o->max_transfers ? o->max_transfers : DEFAULT_MAX_TRANSFERS;
        h->max_redirects = o->max_redirects ? o->max_redirects : DEFAULT_MAX_REDIRECTS;
        range_model_init(&h->model);
        h->retries = o->retries == CADU_STORE_RETRIES_NONE ? 0 : o->retries ? o->retries : DEFAULT_RETRIES;
        h->stall_ns = (uint64_t) (o->low_speed_time_s ? o->low_speed_time_s : DEFAULT_LOW_SPEED_TIME_S) * 1000000000ULL;
        h->deadline_s = o->deadline_s;
        h->low_speed = o->low_speed_limit ? o->low_speed_limit : CADU_STORE_LOW_SPEED_LIMIT_DEFAULT;
        /* A rate limit shared by the transfers may itself keep each below
         * the minimum: ask at most half a transfer's share of it. */
        if (o->rate_limit)
                h->low_speed = CADU_MAX(CADU_MIN(h->low_speed, o->rate_limit / (2 * h->max_transfers)), (uint64_t) 1);
        if (o->rate_limit) {
                h->rate = CADU_MIN(o->rate_limit, (uint64_t) 1000000000);
                /* Allow bursts of a tenth of a second, at least one read. */
                h->burst = (int64_t) CADU_MAX(h->rate / 10, (uint64_t) 16384);
                h->tokens = h->burst;
                h->tokens_ns = cadu_now_ns();
        }
        if (o->deadline_s)
                h->deadline_ns = cadu_now_ns() + CADU_MIN(o->deadline_s, (uint64_t) 100 * 365 * 86400) * 1000000000ULL;
        h->base.location = strdup(url);
        h->base_url = strdup(url);
        if (!h->base.location || !h->base_url) {
                r = -ENOMEM;
                goto fail;
        }
        h->base_len = strlen(h->base_url);
        while (h->base_len > 0 && h->base_url[h->base_len - 1] == '/')
                h->base_url[--h->base_len] = 0;

        r = dup_file_option(o->ca_file, &h->ca_file);
        if (r < 0)
                goto fail;
        r = dup_file_option(o->client_cert, &h->client_cert);
        if (r < 0)
                goto fail;
        r = dup_file_option(o->client_key, &h->client_key);
        if (r < 0)
                goto fail;
        if (o->headers)
                for (const char *const *p = o->headers; *p; p++) {
                        struct curl_slist *l = curl_slist_append(h->headers, *p);
                        if (!l) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        h->headers = l;
                }
        for (const char *const *p = o->headers; p && *p; p++) {
                struct curl_slist *l = curl_slist_append(h->headers_nocache, *p);
                if (!l) {
                        r = -ENOMEM;
                        goto fail;
                }
                h->headers_nocache = l;
        }
        static const char *const nocache[] = { "Cache-Control: no-cache", "Pragma: no-cache" };
        for (size_t i = 0; i < CADU_ELEMENTSOF(nocache); i++) {
                struct curl_slist *l = curl_slist_append(h->headers_nocache, nocache[i]);
                if (!l) {
                        r = -ENOMEM;
                        goto fail;
                }
                h->headers_nocache = l;
        }

        {
                uint64_t seed = 0;
                if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
                        seed = cadu_now_ns() ^ (uint64_t) (uintptr_t) h;
                h->rng = seed | 1;
        }

        r = -ENOMEM;
        h->share = curl_share_init();
        if (!h->share ||
            curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
            curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
                goto fail;
        h->multi = curl_multi_init();
        if (!h->multi ||
            curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) h->max_transfers) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long) h->max_transfers + 2) != CURLM_OK)
                goto fail;
        h->slots = calloc(h->max_transfers, sizeof(*h->slots));
        if (!h->slots)
                goto fail;
        for (size_t i = 0; i < h->max_transfers; i++) {
                r = setup_easy(h, &h->slots[i], o);
                if (r < 0)
                        goto fail;
        }

        r = -pthread_create(&h->thread, NULL, worker, h);
        if (r < 0)
                goto fail;
        h->thread_started = true;

        *ret = &h->base;
        return 0;

fail:
        http_free(&h->base);
        return r;
}

/* ---- extras ---- */

int cadu_store_http_get_stats(cadu_store *s, cadu_store_http_stats *ret) {
        http_store *h = to_http(s);

        if (!h || !ret)
                return -EINVAL;
        pthread_mutex_lock(&h->lock);
        *ret = h->stats;
        pthread_mutex_unlock(&h->lock);
        return 0;
}

int cadu_store_http_last_error(cadu_store *s, char *buf, size_t size) {
        http_store *h = to_http(s);

        if (!h || !buf || size == 0)
                return -EINVAL;
        if (thread_error.store == h) {
                snprintf(buf, size, "%s", thread_error.error);
                return 0;
        }
        pthread_mutex_lock(&h->lock);
        snprintf(buf, size, "%s", h->last_error);
        pthread_mutex_unlock(&h->lock);
        return 0;
}
