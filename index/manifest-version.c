/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manifest values with an order or a calendar: versions and UTC times.
 *
 * Version grammar (doc/manifest-format.md, "Versions"):
 *   version    = release [ "-" prerelease ] [ "+" build ]
 *   release    = number *7( "." number )
 *   number     = "0" / %x31-39 *19DIGIT          ; no leading zeros
 *   prerelease = ident *( "." ident )             ; [0-9A-Za-z-]+, an all-digit
 *                                                 ; ident follows the number rule
 *   build      = 1*[0-9A-Za-z.-] (non-empty dot-separated identifiers)
 * at most 128 bytes in all.
 */
#include <errno.h>
#include <string.h>

#include "cadu-manifest.h"

#define VERSION_MAX 128
#define RELEASE_MAX_PARTS 8
#define NUMBER_MAX_DIGITS 20

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Length of the all-digit run at s that is a valid number, or 0. */
static size_t number_len(const char *s, size_t n) {
        size_t k = 0;
        while (k < n && is_digit(s[k]))
                k++;
        if (k == 0 || k > NUMBER_MAX_DIGITS || (k > 1 && s[0] == '0'))
                return 0;
        return k;
}

/* Split into release, pre-release and build parts; validate each. */
typedef struct vparts {
        const char *rel; size_t rel_len;
        const char *pre; size_t pre_len;   /* pre == NULL: no pre-release */
} vparts;

static bool ident_list_valid(const char *s, size_t n, bool numeric_rule) {
        if (n == 0)
                return false;
        size_t i = 0;
        while (i <= n) {
                size_t j = i;
                bool all_digits = true;
                while (j < n && s[j] != '.') {
                        if (!is_ident_char(s[j]))
                                return false;
                        all_digits = all_digits && is_digit(s[j]);
                        j++;
                }
                if (j == i)
                        return false;   /* empty identifier */
                if (numeric_rule && all_digits && number_len(s + i, j - i) != j - i)
                        return false;
                i = j + 1;
        }
        return true;
}

static bool split(const char *v, vparts *p) {
        size_t n = v ? strlen(v) : 0;
        if (n == 0 || n > VERSION_MAX)
                return false;
        const char *plus = memchr(v, '+', n);
        size_t core = plus ? (size_t)(plus - v) : n;
        if (plus && !ident_list_valid(plus + 1, n - core - 1, false))
                return false;
        const char *dash = memchr(v, '-', core);
        p->rel = v;
        p->rel_len = dash ? (size_t)(dash - v) : core;
        p->pre = dash ? dash + 1 : NULL;
        p->pre_len = dash ? core - p->rel_len - 1 : 0;
        if (p->pre && !ident_list_valid(p->pre, p->pre_len, true))
                return false;
        /* release: numbers separated by single dots */
        size_t i = 0, parts = 0;
        for (;;) {
                size_t k = number_len(p->rel + i, p->rel_len - i);
                if (k == 0 || ++parts > RELEASE_MAX_PARTS)
                        return false;
                i += k;
                if (i == p->rel_len)
                        return true;
                if (p->rel[i] != '.')
                        return false;
                i++;
        }
}

bool cadu_manifest_version_valid(const char *v) {
        vparts p;
        return split(v, &p);
}

/* Compare two valid numbers (no leading zeros): longer is larger. */
static int cmp_number(const char *a, size_t an, const char *b, size_t bn) {
        if (an != bn)
                return an < bn ? -1 : 1;
        int c = memcmp(a, b, an);
        return c < 0 ? -1 : c > 0;
}

/* Next dot-separated field of s[*i..n), or length 0 when exhausted. */
static size_t next_field(const char *s, size_t n, size_t *i, const char **field) {
        if (*i >= n) {
                *field = NULL;
                return 0;
        }
        const char *dot = memchr(s + *i, '.', n - *i);
        size_t len = dot ? (size_t)(dot - (s + *i)) : n - *i;
        *field = s + *i;
        *i += len + 1;
        return len;
}

static bool all_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

int cadu_manifest_version_compare(const char *a, const char *b, int *ret) {
        vparts pa, pb;
        if (!ret || !split(a, &pa) || !split(b, &pb))
                return -EINVAL;

        /* Release: numerically, component by component, missing = 0. */
        size_t ia = 0, ib = 0;
        for (;;) {
                const char *fa, *fb;
                size_t la = next_field(pa.rel, pa.rel_len, &ia, &fa);
                size_t lb = next_field(pb.rel, pb.rel_len, &ib, &fb);
                if (!fa && !fb)
                        break;
                int c = cmp_number(fa ? fa : "0", fa ? la : 1, fb ? fb : "0", fb ? lb : 1);
                if (c) {
                        *ret = c;
                        return 0;
                }
        }

        /* A release sorts after any of its pre-releases. */
        if (!pa.pre || !pb.pre) {
                *ret = (pa.pre ? -1 : 0) + (pb.pre ? 1 : 0);
                return 0;
        }

        /* Pre-release identifiers, SemVer 2.0 rules. */
        ia = ib = 0;
        for (;;) {
                const char *fa, *fb;
                size_t la = next_field(pa.pre, pa.pre_len, &ia, &fa);
                size_t lb = next_field(pb.pre, pb.pre_len, &ib, &fb);
                if (!fa || !fb) {
                        *ret = (fa ? 1 : 0) - (fb ? 1 : 0);
                        return 0;
                }
                bool na = all_digits(fa, la), nb = all_digits(fb, lb);
                int c;
                if (na && nb)
                        c = cmp_number(fa, la, fb, lb);
                else if (na != nb)
                        c = na ? -1 : 1;    /* numeric < alphanumeric */
                else {
                        c = memcmp(fa, fb, CADU_MIN(la, lb));
                        if (c == 0)
                                c = la < lb ? -1 : la > lb;
                        else
                                c = c < 0 ? -1 : 1;
                }
                if (c) {
                        *ret = c;
                        return 0;
                }
        }
}

/* ---- UTC times ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool digits(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return false;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        *ret = v;
        return true;
}

int cadu_manifest_parse_time(const char *s, int64_t *ret) {
        static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        unsigned y, mo, d, h, mi, se;
        if (!s || strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
            s[13] != ':' || s[16] != ':' || s[19] != 'Z')
                return -EINVAL;
        if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
            !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
                return -EINVAL;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
            d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 || se > 59)
                return -EINVAL;
        *ret = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
        return 0;
}

int cadu_manifest_format_time(int64_t t, char buf[CADU_MANIFEST_TIME_MAX]) {
        /* 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
        if (!buf)
                return -EINVAL;
        if (t < 0 || t > INT64_C(253402300799))
                return -ERANGE;
        int64_t y;
        unsigned m, d;
        civil_from_days(t / 86400, &y, &m, &d);
        unsigned sec = (unsigned)(t % 86400);
        char tmp[64];   /* roomy enough for the compiler's worst case */
        snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02uZ",
                 (unsigned)y, m, d, sec / 3600, sec / 60 % 60, sec % 60);
        memcpy(buf, tmp, CADU_MANIFEST_TIME_MAX);
        return 0;
}
