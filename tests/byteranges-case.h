/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * byteranges-case.h - one multipart/byteranges test case, shared by
 * tests/test-byteranges.c (golden files in tests/byteranges-invalid/) and
 * tests/fuzz/fuzz-byteranges.c (its corpus). A case is text lines ending
 * in LF, then an empty line, then the body as received:
 *
 *   Content-Type: <the answer's Content-Type value>
 *   Ranges: OFF+LEN,OFF+LEN,...      (the segments requested, sorted)
 *
 *   <body>
 *
 * byteranges_case_run() parses the body with the boundary of the
 * Content-Type fed in pieces of the given size (0: all at once), checks
 * that every byte delivered is in order within its part, and returns the
 * parser's result and reason ("Content-Type" when the boundary was refused).
 */
#ifndef CADU_BYTERANGES_CASE_H
#define CADU_BYTERANGES_CASE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteranges.h"

#define CASE_MAX_SEGS 64

typedef struct byteranges_case {
        char ctype[512];
        cadu_byteranges_seg segs[CASE_MAX_SEGS];
        size_t nsegs;
        const uint8_t *body;
        size_t body_len;
} byteranges_case;

/* 0, or -EINVAL when data is not a case. */
static inline int byteranges_case_load(const uint8_t *data, size_t len, byteranges_case *c) {
        const uint8_t *p = data, *e = data + len;
        bool have_type = false, have_ranges = false;
        memset(c, 0, sizeof(*c));
        for (;;) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(e - p));
                if (!nl)
                        return -EINVAL;
                size_t n = (size_t)(nl - p);
                if (n == 0) {
                        p = nl + 1;
                        break;
                }
                if (n > 14 && !memcmp(p, "Content-Type: ", 14) && n - 14 < sizeof(c->ctype)) {
                        memcpy(c->ctype, p + 14, n - 14);
                        have_type = true;
                } else if (n > 8 && !memcmp(p, "Ranges: ", 8)) {
                        char buf[4096];
                        if (n - 8 >= sizeof(buf))
                                return -EINVAL;
                        memcpy(buf, p + 8, n - 8);
                        buf[n - 8] = 0;
                        uint64_t end = 0;
                        for (char *s = buf; *s;) {
                                unsigned long long o, l;
                                int used;
                                if (c->nsegs == CASE_MAX_SEGS || sscanf(s, "%llu+%llu%n", &o, &l, &used) != 2 || l == 0 ||
                                    o < end || o > UINT64_MAX / 2 || l > UINT64_MAX / 4)
                                        return -EINVAL;
                                c->segs[c->nsegs++] = (cadu_byteranges_seg) { o, l };
                                end = o + l;
                                s += used;
                                if (*s == ',')
                                        s++;
                        }
                        have_ranges = c->nsegs > 0;
                } else
                        return -EINVAL;
                p = nl + 1;
        }
        if (!have_type || !have_ranges)
                return -EINVAL;
        c->body = p;
        c->body_len = (size_t)(e - p);
        return 0;
}

typedef struct case_state {
        const byteranges_case *c;
        uint64_t pos[CASE_MAX_SEGS];
        bool confirmed[CASE_MAX_SEGS];
        int order_error;
} case_state;

static inline int case_cb(void *ud, size_t seg, uint64_t pos, const uint8_t *data, size_t len) {
        case_state *st = ud;
        if (seg >= st->c->nsegs || st->confirmed[seg])
                st->order_error = 1;
        else if (!data) {
                if (len != 0 || pos != st->c->segs[seg].len || st->pos[seg] != pos)
                        st->order_error = 2;
                st->confirmed[seg] = true;
        } else if (pos != st->pos[seg] || len == 0 || len > st->c->segs[seg].len - pos)
                st->order_error = 3;
        else
                st->pos[seg] += len;
        return 0;
}

/* The result; *why gets the reason of a failure. *order_error non-zero when
 * the parser broke its own contract (a bug, not bad input). */
static inline int byteranges_case_run(const byteranges_case *c, size_t piece, const char **why, int *order_error) {
        char boundary[BYTERANGES_MAX_BOUNDARY + 1];
        bool seen[CASE_MAX_SEGS];
        cadu_byteranges p;
        case_state st = { .c = c };
        int r;

        *why = NULL;
        *order_error = 0;
        if (cadu_byteranges_boundary(c->ctype, strlen(c->ctype), boundary) < 0) {
                *why = "Content-Type";
                return -EBADMSG;
        }
        cadu_byteranges_init(&p, boundary, c->segs, c->nsegs, seen, BYTERANGES_TOTAL_UNKNOWN);
        r = 0;
        for (size_t o = 0; o < c->body_len && r == 0;) {
                size_t k = piece ? piece : c->body_len;
                if (k > c->body_len - o)
                        k = c->body_len - o;
                r = cadu_byteranges_feed(&p, c->body + o, k, case_cb, &st);
                o += k;
        }
        if (r == 0)
                r = cadu_byteranges_finish(&p);
        *why = p.why;
        *order_error = st.order_error;
        if (r == 0)
                for (size_t i = 0; i < c->nsegs; i++)
                        if (!st.confirmed[i] || !seen[i])
                                *order_error = 4;       /* success without every part */
        return r;
}

#endif
