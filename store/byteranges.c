/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict parsers for Content-Range values and multipart/byteranges bodies. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "byteranges.h"

enum {
        S_START,        /* before anything: optional CRLF, then the first delimiter */
        S_DELIM,        /* matching delim[match..] */
        S_AFTER,        /* after a delimiter: CRLF (a part) or "--" (the end) */
        S_AFTER_LF,
        S_CLOSE,        /* the second '-' of "--" */
        S_HEADER,       /* a header line */
        S_HEADER_LF,
        S_DATA,
        S_END,          /* after the close delimiter: optional CRLF */
        S_END_LF,
        S_DONE,
};

/* Digits of a decimal number without sign or leading garbage, at most 19
 * of them (no overflow of uint64_t). Returns characters used, 0 on error. */
static size_t parse_dec(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;
        size_t i = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (i == 19)
                        return 0;
                v = v * 10 + (uint64_t)(s[i] - '0');
                i++;
        }
        *ret = v;
        return i;
}

int cadu_content_range_parse(const char *s, size_t n, uint64_t *first, uint64_t *last, uint64_t *total) {
        size_t k;
        while (n > 0 && (*s == ' ' || *s == '\t'))
                s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        if (n < 6 || strncasecmp(s, "bytes ", 6) != 0)
                return -EBADMSG;
        s += 6, n -= 6;
        if (!(k = parse_dec(s, n, first)) || k == n || s[k] != '-')
                return -EBADMSG;
        s += k + 1, n -= k + 1;
        if (!(k = parse_dec(s, n, last)) || k == n || s[k] != '/')
                return -EBADMSG;
        s += k + 1, n -= k + 1;
        if (n == 1 && s[0] == '*')
                *total = BYTERANGES_TOTAL_UNKNOWN;
        else if (!(k = parse_dec(s, n, total)) || k != n)
                return -EBADMSG;
        if (*first > *last || (*total != BYTERANGES_TOTAL_UNKNOWN && *last >= *total))
                return -EBADMSG;
        return 0;
}

/* RFC 2046 bchars, without the space (allowed inside but not at the end;
 * no server cadu talks to uses it, and a quoted space invites confusion). */
static bool bchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("'()+_,-./:=?", c) != NULL;
}

int cadu_byteranges_boundary(const char *ctype, size_t n, char out[BYTERANGES_MAX_BOUNDARY + 1]) {
        static const char type[] = "multipart/byteranges";
        const char *e = ctype + n;
        const char *p = ctype;

        while (p < e && (*p == ' ' || *p == '\t'))
                p++;
        if ((size_t)(e - p) < sizeof(type) - 1 || strncasecmp(p, type, sizeof(type) - 1) != 0)
                return -EBADMSG;
        p += sizeof(type) - 1;
        /* Parameters: ; name=value, exactly one of them the boundary. */
        bool found = false;
        while (p < e) {
                while (p < e && (*p == ' ' || *p == '\t'))
                        p++;
                if (p == e)
                        break;
                if (*p != ';')
                        return -EBADMSG;
                p++;
                while (p < e && (*p == ' ' || *p == '\t'))
                        p++;
                const char *name = p;
                while (p < e && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
                        p++;
                if (p == e || *p != '=' || p == name)
                        return -EBADMSG;
                bool is_boundary = (size_t)(p - name) == 8 && !strncasecmp(name, "boundary", 8);
                p++;
                const char *v, *ve;
                if (p < e && *p == '"') {
                        v = ++p;
                        while (p < e && *p != '"')
                                p++;
                        if (p == e)
                                return -EBADMSG;
                        ve = p++;
                } else {
                        v = p;
                        while (p < e && *p != ';' && *p != ' ' && *p != '\t')
                                p++;
                        ve = p;
                }
                if (!is_boundary)
                        continue;
                if (found || ve == v || (size_t)(ve - v) > BYTERANGES_MAX_BOUNDARY)
                        return -EBADMSG;
                for (const char *q = v; q < ve; q++)
                        if (!bchar(*q))
                                return -EBADMSG;
                memcpy(out, v, (size_t)(ve - v));
                out[ve - v] = 0;
                found = true;
        }
        return found ? 0 : -EBADMSG;
}

void cadu_byteranges_init(cadu_byteranges *p, const char *boundary, const cadu_byteranges_seg *segs, size_t nsegs,
                          bool *seen, uint64_t total) {
        size_t bl = strnlen(boundary, BYTERANGES_MAX_BOUNDARY);
        memset(p, 0, sizeof(*p));
        memcpy(p->delim, "\r\n--", 4);
        memcpy(p->delim + 4, boundary, bl);
        p->delim_len = 4 + bl;
        p->segs = segs;
        p->nsegs = nsegs;
        p->seen = seen;
        p->total = total;
        p->state = S_START;
        if (nsegs)
                memset(seen, 0, nsegs * sizeof(*seen));
}

static int fail(cadu_byteranges *p, const char *why) {
        p->error = -EBADMSG;
        p->why = why;
        return p->error;
}

/* The segment requested as [first, last], or nsegs. */
static size_t find_seg(const cadu_byteranges *p, uint64_t first, uint64_t last) {
        size_t lo = 0, hi = p->nsegs;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (p->segs[mid].off < first)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < p->nsegs && p->segs[lo].off == first && last - first == p->segs[lo].len - 1)
                return lo;
        return p->nsegs;
}

static int header_line(cadu_byteranges *p) {
        const char *l = p->line;
        size_t n = p->line_len;

        if (n == 0) {
                /* End of the part's headers. */
                if (!p->have_range)
                        return fail(p, "part without Content-Range");
                size_t i = find_seg(p, p->first, p->last);
                if (i == p->nsegs)
                        return fail(p, "part for a range not requested");
                if (p->seen[i])
                        return fail(p, "part for a range already received");
                if (p->ptotal != BYTERANGES_TOTAL_UNKNOWN) {
                        if (p->total == BYTERANGES_TOTAL_UNKNOWN)
                                p->total = p->ptotal;
                        else if (p->total != p->ptotal)
                                return fail(p, "parts name different file lengths");
                }
                p->seen[i] = true;
                p->nseen++;
                p->cur = i;
                p->pos = 0;
                p->in_part = true;
                p->state = S_DATA;
                return 0;
        }
        if (++p->nheaders > BYTERANGES_MAX_HEADERS)
                return fail(p, "too many part headers");
        const char *colon = memchr(l, ':', n);
        if (!colon || colon == l)
                return fail(p, "bad part header");
        for (const char *q = l; q < colon; q++)
                if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                      strchr("!#$%&'*+-.^_`|~", *q)))
                        return fail(p, "bad part header");
        if (colon - l == 13 && !strncasecmp(l, "Content-Range", 13)) {
                if (p->have_range)
                        return fail(p, "part with two Content-Range headers");
                if (cadu_content_range_parse(colon + 1, n - (size_t)(colon + 1 - l), &p->first, &p->last,
                                             &p->ptotal) < 0)
                        return fail(p, "bad part Content-Range");
                p->have_range = true;
        }
        p->line_len = 0;
        return 0;
}

int cadu_byteranges_feed(cadu_byteranges *p, const uint8_t *data, size_t n, cadu_byteranges_cb cb, void *ud) {
        size_t i = 0;

        if (p->error)
                return p->error;
        while (i < n) {
                uint8_t c = data[i];
                switch (p->state) {
                case S_START:
                        /* "\r\n--B" or "--B" */
                        p->match = c == '\r' ? 0 : 2;
                        p->state = S_DELIM;
                        continue;       /* the same byte, now as part of the delimiter */
                case S_DELIM:
                        if (c != (uint8_t)p->delim[p->match])
                                return fail(p, p->in_part ? "part longer or shorter than its Content-Range"
                                                          : "no boundary where one belongs");
                        if (++p->match < p->delim_len)
                                break;
                        p->state = S_AFTER;
                        if (p->in_part) {
                                p->in_part = false;
                                int r = cb(ud, p->cur, p->pos, NULL, 0);
                                if (r != 0) {
                                        p->error = r;
                                        return r;
                                }
                        }
                        break;
                case S_AFTER:
                        if (c == '\r')
                                p->state = S_AFTER_LF;
                        else if (c == '-')
                                p->state = S_CLOSE;
                        else
                                return fail(p, "bad boundary line");
                        break;
                case S_AFTER_LF:
                        if (c != '\n')
                                return fail(p, "bad boundary line");
                        if (p->nseen == p->nsegs)
                                return fail(p, "more parts than ranges requested");
                        p->state = S_HEADER;
                        p->line_len = 0;
                        p->nheaders = 0;
                        p->have_range = false;
                        break;
                case S_CLOSE:
                        if (c != '-')
                                return fail(p, "bad boundary line");
                        p->state = S_END;
                        break;
                case S_HEADER:
                        if (c == '\r') {
                                p->state = S_HEADER_LF;
                                break;
                        }
                        if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return fail(p, "control character in a part header");
                        if (p->line_len == sizeof(p->line))
                                return fail(p, "part header line too long");
                        p->line[p->line_len++] = (char)c;
                        break;
                case S_HEADER_LF: {
                        if (c != '\n')
                                return fail(p, "part header line not ended by CRLF");
                        p->state = S_HEADER;
                        int r = header_line(p);
                        if (r < 0)
                                return r;
                        break;
                }
                case S_DATA: {
                        uint64_t left = p->segs[p->cur].len - p->pos;
                        size_t k = (size_t)(left < n - i ? left : n - i);
                        if (k > 0) {
                                int r = cb(ud, p->cur, p->pos, data + i, k);
                                if (r != 0) {
                                        p->error = r;
                                        return r;
                                }
                                p->pos += k;
                                i += k;
                        }
                        if (p->pos == p->segs[p->cur].len) {
                                p->state = S_DELIM;
                                p->match = 0;
                        }
                        continue;
                }
                case S_END:
                        if (c != '\r')
                                return fail(p, "bytes after the closing boundary");
                        p->state = S_END_LF;
                        break;
                case S_END_LF:
                        if (c != '\n')
                                return fail(p, "bytes after the closing boundary");
                        p->state = S_DONE;
                        break;
                default:
                        return fail(p, "bytes after the closing boundary");
                }
                i++;
        }
        return 0;
}

int cadu_byteranges_finish(cadu_byteranges *p) {
        if (p->error)
                return p->error;
        if (p->state != S_END && p->state != S_DONE)
                return fail(p, "body cut short");
        if (p->nseen != p->nsegs)
                return fail(p, "a range requested is missing");
        return 0;
}
