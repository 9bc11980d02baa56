/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * byteranges.h - strict parsers for the answers to HTTP range requests
 * (RFC 9110 section 14): a Content-Range value and a multipart/byteranges
 * body, fed incrementally as it arrives.
 *
 * Strict means: only what a correct server sends to the requests cadu
 * makes. A body is accepted when it consists of an optional CRLF, then for
 * each part "--BOUNDARY" CRLF, header lines ending in CRLF (at most
 * BYTERANGES_MAX_LINE bytes each, at most BYTERANGES_MAX_HEADERS of them,
 * exactly one Content-Range), an empty line, exactly the part's bytes and
 * CRLF; then "--BOUNDARY--" and an optional CRLF, and nothing after. Each
 * part's Content-Range must be exactly one of the requested segments, each
 * segment must come exactly once (in any order), and every part must name
 * the same complete length. Anything else is -EBADMSG; memory is the parser
 * itself, whatever the input.
 */
#ifndef CADU_BYTERANGES_H
#define CADU_BYTERANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BYTERANGES_MAX_BOUNDARY 70      /* RFC 2046 */
#define BYTERANGES_MAX_LINE 512
#define BYTERANGES_MAX_HEADERS 16
#define BYTERANGES_TOTAL_UNKNOWN UINT64_MAX

/* "bytes FIRST-LAST/COMPLETE" (COMPLETE may be "*": *total is then
 * BYTERANGES_TOTAL_UNKNOWN), n bytes without the CRLF, optional spaces
 * around the value. 0 or -EBADMSG. */
int cadu_content_range_parse(const char *s, size_t n, uint64_t *first, uint64_t *last, uint64_t *total);

/* The boundary parameter of a Content-Type value of n bytes that must be
 * multipart/byteranges; out receives it NUL-terminated. 0, or -EBADMSG
 * for another type or a missing, empty, overlong or invalid boundary. */
int cadu_byteranges_boundary(const char *ctype, size_t n, char out[BYTERANGES_MAX_BOUNDARY + 1]);

typedef struct cadu_byteranges_seg {
        uint64_t off, len;              /* requested: [off, off+len) */
} cadu_byteranges_seg;

/* Receives the bytes of segment seg at offset pos within it, in order
 * within each part; then, once the delimiter after the part was matched
 * (so the part was neither short nor long), data == NULL and len == 0:
 * only then are the part's bytes known to be right. Non-zero aborts the
 * parse with that value. */
typedef int (*cadu_byteranges_cb)(void *ud, size_t seg, uint64_t pos, const uint8_t *data, size_t len);

typedef struct cadu_byteranges {
        char delim[4 + BYTERANGES_MAX_BOUNDARY + 1];    /* "\r\n--" BOUNDARY */
        size_t delim_len;
        const cadu_byteranges_seg *segs;
        size_t nsegs, nseen;
        bool *seen;                     /* nsegs flags, owned by the caller */
        uint64_t total;                 /* complete length, or _TOTAL_UNKNOWN */
        int state;
        size_t match;                   /* bytes of a literal matched so far */
        char line[BYTERANGES_MAX_LINE];
        size_t line_len;
        unsigned nheaders;
        bool have_range;
        uint64_t first, last, ptotal;
        size_t cur;                     /* segment of the current part */
        uint64_t pos;                   /* bytes of it delivered */
        bool in_part;                   /* its closing delimiter is yet to come */
        int error;
        const char *why;                /* after -EBADMSG: what was wrong (static) */
} cadu_byteranges;

/* segs (sorted, not overlapping) and seen (nsegs flags, cleared here) stay
 * the caller's. total: the complete length already known (from another
 * answer), or BYTERANGES_TOTAL_UNKNOWN; afterwards p->total holds what the
 * parts named. */
void cadu_byteranges_init(cadu_byteranges *p, const char *boundary, const cadu_byteranges_seg *segs, size_t nsegs,
                          bool *seen, uint64_t total);
/* The next n bytes of the body. 0, -EBADMSG, or the callback's value. Once
 * it failed, every further call fails the same way. */
int cadu_byteranges_feed(cadu_byteranges *p, const uint8_t *data, size_t n, cadu_byteranges_cb cb, void *ud);
/* At the end of the body: 0 when it was complete and every segment came. */
int cadu_byteranges_finish(cadu_byteranges *p);

#endif
