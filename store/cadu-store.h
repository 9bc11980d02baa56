/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-store.h - chunk stores.
 *
 * A store maps a chunk id (digest of the uncompressed chunk) to the bytes of
 * its file STORE/<first 4 hex of id>/<64 hex of id>.cacnk, zstd-compressed
 * (recognised by magic 28 B5 2F FD) or plain. Backends (local directory,
 * HTTP(S)) sit behind a small versioned vtable; a chain tries several stores
 * in order. Every chunk read through cadu_store_get_chunk() is decompressed
 * with a size cap and verified against its id: a mismatch is -EBADMSG.
 *
 * All functions return 0 (or a count / boolean) or a negative errno; none log.
 * Every backend is safe to call from several threads at once.
 */
#ifndef CADU_STORE_H
#define CADU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cadu-util.h"

#define CADU_CHUNK_SUFFIX ".cacnk"

/* A growable byte buffer. */
typedef struct cadu_buf {
        uint8_t *data;
        size_t len, alloc;
} cadu_buf;
#define CADU_BUF_INIT { 0 }
int cadu_buf_reserve(cadu_buf *b, size_t n);   /* make room for n more bytes */
int cadu_buf_append(cadu_buf *b, const void *p, size_t n);
void cadu_buf_free(cadu_buf *b);

/* "<4 hex>/<64 hex>.cacnk" for id (buffer of at least CADU_CHUNK_PATH_MAX). */
#define CADU_CHUNK_PATH_MAX (4 + 1 + 64 + sizeof(CADU_CHUNK_SUFFIX))
void cadu_chunk_path(const uint8_t id[CADU_DIGEST_SIZE], char *out);

/* ---- chunk codec ---- */

/* zstd-compress a chunk at level (1..19). *out is replaced. */
int cadu_chunk_compress(int level, const void *data, size_t len, cadu_buf *out);
/* The largest chunk file (compressed) that can hold a chunk of max_size bytes. */
size_t cadu_chunk_max_raw(size_t max_size);
/* Decode a chunk file (zstd by magic, else plain). Fails with -EFBIG when the
 * result would exceed max_size and -EBADMSG on corrupt data. *out is replaced. */
int cadu_chunk_decode(const void *raw, size_t len, size_t max_size, cadu_buf *out);

/* The codec keeps one compression context per thread and a few
 * decompression contexts shared by all threads; a thread that used it calls
 * this before it exits (and the main thread before exit). */
void cadu_chunk_codec_release(void);

/* ---- stores ---- */

/* A byte range of a file below a store's base (cadu_store_get_ranges()). */
typedef struct cadu_range {
        uint64_t off, len;              /* bytes [off, off+len) of the file */
} cadu_range;
/* Called once per requested range, in any order, from the calling thread,
 * with exactly len bytes. A non-zero return aborts the whole call with it. */
typedef int (*cadu_range_cb)(void *ud, size_t i, const uint8_t *data, size_t len);

typedef struct cadu_store cadu_store;

/* Backend interface. Version 1. Functions not supported are NULL. */
typedef struct cadu_store_ops {
        unsigned version;
        const char *kind;               /* "dir", "http", "chain" */
        /* Fetch the raw chunk file into *out (replaced). -ENOENT when the store
         * lacks it; other -errno for failures. max_raw bounds what a backend
         * accepts (-EFBIG beyond). Must be safe from several threads. */
        int (*get)(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out);
        /* Store raw chunk file bytes atomically (never a partial file under the
         * final name). Storing an existing chunk is fine. */
        int (*put)(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], const void *raw, size_t len);
        /* 1 present, 0 absent, <0 error. */
        int (*has)(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]);
        void (*free)(cadu_store *s);
        /* Files below the store base (see cadu_store_get_ranges() and
         * cadu_store_get_file()); relpath and ranges are already checked. */
        int (*get_ranges)(cadu_store *s, const char *relpath, const cadu_range *r, size_t n,
                          cadu_range_cb cb, void *ud);
        int (*get_file)(cadu_store *s, const char *relpath, size_t max, cadu_buf *out);
} cadu_store_ops;

struct cadu_store {
        const cadu_store_ops *ops;
        char *location;                 /* as given: path or URL */
};

/* Options for network stores (ignored by local ones). Zero means default. */
#define CADU_STORE_RETRIES_NONE ((unsigned)-1)  /* retries: not a single one */
#define CADU_STORE_LOW_SPEED_LIMIT_DEFAULT 512
/* Deadline of a whole cadu_fetch() (manifest, signature, index, delta) when
 * the options set none. */
#define CADU_FETCH_DEADLINE_DEFAULT_S 600
typedef struct cadu_store_options {
        unsigned max_transfers;         /* in flight at once (default 8) */
        unsigned retries;               /* per chunk and store (default 5; or _NONE) */
        unsigned connect_timeout_s;     /* default 15 */
        unsigned low_speed_time_s;      /* the window of the speed check (default 30) */
        uint64_t low_speed_limit;       /* bytes/s a transfer must average over that
                                         * window, else it is cut off and retried
                                         * (default CADU_STORE_LOW_SPEED_LIMIT_DEFAULT) */
        uint64_t deadline_s;            /* overall deadline, 0 = none */
        uint64_t rate_limit;            /* bytes/s for the whole store, 0 = none */
        unsigned max_redirects;         /* default 5 */
        const char *ca_file;
        const char *client_cert;
        const char *client_key;
        const char *const *headers;     /* NULL-terminated "Name: value" list */
        bool insecure;                  /* disable TLS verification (explicit only) */
} cadu_store_options;

/* Open a store by location: an http:// or https:// URL, or a directory path
 * (created when create is true). opts may be NULL. */
int cadu_store_open(const char *location, const cadu_store_options *opts, bool create, cadu_store **ret);
/* Open a local directory store. */
int cadu_store_open_dir(const char *path, bool create, cadu_store **ret);
/* Open an HTTP(S) store (base URL, without the trailing chunk path). */
int cadu_store_open_http(const char *url, const cadu_store_options *opts, cadu_store **ret);
/* NULL-safe; returns NULL. */
cadu_store *cadu_store_free(cadu_store *s);

static inline bool cadu_location_is_url(const char *l) {
        return !strncmp(l, "http://", 7) || !strncmp(l, "https://", 8);
}

/* Fetch, decode and verify one chunk: *out receives the uncompressed chunk.
 * expected_size (0 = unknown) must match; max_size bounds decompression.
 * -ENOENT missing, -EBADMSG corrupt or wrong digest, -EFBIG too large. */
int cadu_store_get_chunk(cadu_store *s, cadu_digest_type digest, const uint8_t id[CADU_DIGEST_SIZE],
                         size_t expected_size, size_t max_size, cadu_buf *raw_scratch, cadu_buf *out);

/* Mark an existing chunk of a directory store as just used (its mtime), so
 * that a concurrent gc's grace period protects it; 0 for other stores,
 * -ENOENT when it is gone. */
int cadu_store_touch(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]);

/* Local directory helpers used by maintenance commands. */
int cadu_store_dir_path(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], char **ret);

/* A chain tries its members in order; -ENOENT and -EBADMSG from one member
 * fall through to the next. The chain takes ownership of the members. */
int cadu_store_chain_new(cadu_store **members, size_t n, cadu_store **ret);

/* ---- other files below the store base: packs, pack indexes, deltas ---- */

/* A path below the store base: 1..CADU_STORE_RELPATH_MAX bytes of
 * [A-Za-z0-9._-] in '/'-separated components, none empty, "." or "..". */
#define CADU_STORE_RELPATH_MAX 255
bool cadu_store_relpath_valid(const char *relpath);

/* Fetch ranges r[0..n) (sorted by off, not overlapping, each len > 0) of the
 * file at relpath below the store's base (e.g. "packs/<hex>.capack").
 * -EINVAL for an invalid relpath or range list.
 *
 * HTTP stores merge neighbours when the gap costs less than another request
 * (cost model from measured RTT and throughput), keep max_transfers requests
 * in flight, use multi-range requests only where the server has shown it
 * supports them, and buffer at most a bounded window per transfer (plus any
 * single range larger than it). -ENOTSUP when the server ignores Range (a
 * 200: detected on the first response, aborted before its body is read;
 * remembered, later calls fail at once); -EBADMSG on a malformed range
 * answer or a range beyond the end of the file; -ENOENT when the file is
 * absent; network errors as for chunks. A failure may come after some
 * ranges were delivered. Directory stores pread. cadu_store_http_get_stats()
 * counts the requests and bytes. A chain tries its members in order while
 * they answer -ENOENT or -ENOTSUP before delivering anything. */
int cadu_store_get_ranges(cadu_store *s, const char *relpath, const cadu_range *r, size_t n,
                          cadu_range_cb cb, void *ud);
/* A whole small file below the store base (pack index, delta file), at most
 * max bytes, into *out (replaced): -ENOENT when absent, -EFBIG beyond max. */
int cadu_store_get_file(cadu_store *s, const char *relpath, size_t max, cadu_buf *out);

/* Read a whole small file (manifest, signature, index, delta) from a path
 * or an http(s) URL into *out (replaced), at most max bytes (-EFBIG beyond).
 * URLs use opts (may be NULL) and retry transient failures; *errmsg (when
 * given) may receive a malloc'ed description of a network failure. */
int cadu_fetch(const char *location, const cadu_store_options *opts, size_t max, cadu_buf *out, char **errmsg);

/* Whether two http(s) URLs have the same origin (scheme, host and port, the
 * default port filled in). cadu follows redirects itself and sends the
 * configured headers and client certificate only to the origin of the URL
 * it was given, never to a redirect target elsewhere. */
bool cadu_url_same_origin(const char *a, const char *b);
/* Whether a redirect from URL from to URL to may be followed as hop number
 * hops: -ELOOP beyond max hops, -EPROTONOSUPPORT for another scheme than
 * http(s) or from https down to http; else 0. */
int cadu_redirect_check(const char *from, const char *to, unsigned hops, unsigned max);

/* ---- HTTP(S) store extras (store/store-http.c) ---- */

/* Counters of one HTTP(S) store since it was opened. */
typedef struct cadu_store_http_stats {
        uint64_t requests;              /* HTTP requests sent (GET and HEAD, retries included) */
        uint64_t retries;               /* of those, repeats after a transient failure */
        uint64_t connections;           /* new connections opened (TCP, TLS) */
        uint64_t bytes_received;        /* response headers + bodies, as sent by the server */
        uint64_t chunks;                /* successful GETs */
        uint64_t not_found;             /* answers passed up as -ENOENT */
        uint64_t failures;              /* other errors passed up */
        uint64_t range_requests;        /* of the requests, those with a Range header */
        uint64_t range_bytes;           /* bytes of requested ranges delivered */
} cadu_store_http_stats;
/* 0, or -EINVAL when s is not an HTTP(S) store. */
int cadu_store_http_get_stats(cadu_store *s, cadu_store_http_stats *ret);
/* Copy a one-line description of the latest failure passed up ("GET URL:
 * HTTP 503 (after 6 attempts)", curl's message, ...) into buf: the calling
 * thread's own latest failure on s when it had one, else the store's; ""
 * if none. 0, or -EINVAL when s is not an HTTP(S) store. */
int cadu_store_http_last_error(cadu_store *s, char *buf, size_t size);
/* 0 when header is a valid "Name: value" request header, else -EINVAL. */
int cadu_store_http_validate_header(const char *header);

#endif
