/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cadu-util.h"
#include "cadu/cadu.h"
#include "cmd.h"
#include "context.h"

const char *cadu_strerror(int r) {
        return cadu_context_strerror(r);
}

static void verror(const char *fmt, va_list ap, const char *suffix) __attribute__((format(printf, 1, 0)));
static void verror(const char *fmt, va_list ap, const char *suffix) {
        fputs("cadu: ", stderr);
        vfprintf(stderr, fmt, ap);
        if (suffix)
                fprintf(stderr, ": %s", suffix);
        fputc('\n', stderr);
}

int cadu_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        verror(fmt, ap, NULL);
        va_end(ap);
        return CADU_EXIT_FAILURE;
}

int cadu_error_errno(int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        verror(fmt, ap, cadu_strerror(r));
        va_end(ap);
        return r == -EBADMSG || r == -EFBIG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
}

int cadu_usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        verror(fmt, ap, NULL);
        va_end(ap);
        fprintf(stderr, "Try 'cadu %s --help'.\n", cmd);
        return CADU_EXIT_USAGE;
}

int cadu_default_store(const char *index_path, char **ret) {
        const char *slash = strrchr(index_path, '/');
        int prefix = slash ? (int)(slash - index_path + 1) : 0;
        return asprintf(ret, "%.*sdefault.castr", prefix, index_path) < 0 ? -ENOMEM : 0;
}

const char *cadu_format_bytes(uint64_t n, char *buf) {
        static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double)n;
        size_t u = 0;
        while (v >= 1024 && u + 1 < CADU_ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, 32, "%llu B", (unsigned long long)n);
        else
                snprintf(buf, 32, "%.1f %s", v, units[u]);
        return buf;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s) {
        unsigned char c = s[0];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07, min = 0x10000;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)      /* also stops at the NUL */
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

void cadu_json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; p && *p;) {
                unsigned char c = *p;
                size_t n = utf8_len(p);
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\u%04x", c);
                else if (n == 0) {
                        /* Not UTF-8 (a file name is any bytes): the
                         * replacement character, so that every JSON parser
                         * accepts the line. */
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                } else {
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
                p++;
        }
        fputc('"', f);
}

void cadu_progress_begin(cadu_progress *p, const char *what, uint64_t total) {
        *p = (cadu_progress){ .what = what, .total = total };
        p->start_ns = p->last_ns = cadu_now_ns();
        p->tty = !cadu_quiet && isatty(STDERR_FILENO);
}

void cadu_progress_begin_count(cadu_progress *p, const char *what, uint64_t total, const char *unit) {
        cadu_progress_begin(p, what, total);
        p->unit = unit;
}

static void progress_show(cadu_progress *p, uint64_t done, bool force) {
        p->done = done;
        if (!p->tty && !cadu_json)
                return;
        uint64_t now = cadu_now_ns();
        if (!force && now - p->last_ns < 200000000ull)
                return;
        p->last_ns = now;
        if (cadu_json) {
                printf("{\"event\":\"progress\",\"phase\":");
                cadu_json_string(stdout, p->what);
                printf(",\"done\":%llu,\"total\":%llu", (unsigned long long)done, (unsigned long long)p->total);
                if (p->unit) {
                        printf(",\"unit\":");
                        cadu_json_string(stdout, p->unit);
                }
                printf("}\n");
                fflush(stdout);
        }
        if (p->tty) {
                char a[32], b[32], c[32];
                double secs = (double)(now - p->start_ns) / 1e9;
                uint64_t rate = secs > 0 ? (uint64_t)((double)done / secs) : 0;
                if (p->unit)
                        fprintf(stderr, "\r%s: %3u%% %llu / %llu %s  %llu/s   ", p->what,
                                p->total ? (unsigned)(done * 100 / p->total) : 0, (unsigned long long)done,
                                (unsigned long long)p->total, p->unit, (unsigned long long)rate);
                else
                        fprintf(stderr, "\r%s: %3u%% %s / %s  %s/s   ", p->what,
                                p->total ? (unsigned)(done * 100 / p->total) : 0,
                                cadu_format_bytes(done, a), cadu_format_bytes(p->total, b),
                                cadu_format_bytes(rate, c));
                p->shown = true;
        }
}

void cadu_progress_update(cadu_progress *p, uint64_t done) {
        progress_show(p, done, false);
}

void cadu_engine_progress_fn(void *ud, uint64_t done, uint64_t total) {
        cadu_engine_progress *p = ud;
        if (!p->begun) {
                p->begun = true;
                cadu_progress_begin_count(&p->prog, p->what, total, p->unit);
                return;
        }
        cadu_progress_update(&p->prog, done);
}

void cadu_progress_end(cadu_progress *p) {
        if (p->shown)
                fputs("\r\033[K", stderr);
        p->shown = false;
}

void cadu_extract_progress_begin(cadu_extract_progress *p, const char *what, uint64_t total) {
        *p = (cadu_extract_progress){ .what = what, .total = total };
        cadu_progress_begin(&p->prog, what, total);
}

/* End the scan of a seed (with a last event saying how far it got). */
static void seed_scan_end(cadu_extract_progress *p) {
        if (!p->seed)
                return;
        progress_show(&p->prog, p->prog.done, true);
        cadu_progress_end(&p->prog);
        p->seed = NULL;
}

void cadu_extract_progress_seed(void *ud, const char *seed_path, uint64_t done, uint64_t total) {
        cadu_extract_progress *p = ud;
        if (p->seed != seed_path) {
                seed_scan_end(p);
                cadu_progress_end(&p->prog);
                snprintf(p->label, sizeof(p->label), "scanning seed %s", seed_path);
                cadu_progress_begin(&p->prog, p->label, total);
                p->seed = seed_path;
        }
        cadu_progress_update(&p->prog, done);
}

void cadu_extract_progress_out(void *ud, uint64_t done, uint64_t total) {
        cadu_extract_progress *p = ud;
        (void)total;
        if (p->seed) {
                seed_scan_end(p);
                cadu_progress_begin(&p->prog, p->what, p->total);
        }
        cadu_progress_update(&p->prog, done);
}

void cadu_extract_progress_end(cadu_extract_progress *p) {
        seed_scan_end(p);
        cadu_progress_end(&p->prog);
}

int cadu_error_lib(const cadu_context *ctx, int r, const char *what) {
        const char *msg = cadu_context_last_error(ctx);
        if (msg) {
                cadu_error("%s", msg);
                return r == -EBADMSG || r == -EFBIG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
        }
        return cadu_error_errno(r, "%s", what);
}

void cadu_cmd_log(void *userdata, int level, const char *message) {
        (void)userdata;
        if (level == CADU_LOG_WARNING)
                fprintf(stderr, "cadu: warning: %s\n", message);
}

void cadu_cmd_progress_end(cadu_cmd_progress *p) {
        if (!p->open)
                return;
        /* A seed's scan says how far it got (cadu_extract_progress_seed()). */
        if (!strncmp(p->what, "scanning seed ", 14))
                progress_show(&p->prog, p->prog.done, true);
        cadu_progress_end(&p->prog);
        p->open = false;
}

void cadu_cmd_progress_fn(void *userdata, const char *what, uint64_t done, uint64_t total) {
        cadu_cmd_progress *p = userdata;
        if (!p->open || strcmp(p->what, what) != 0) {
                if (p->open)
                        cadu_progress_end(&p->prog);
                snprintf(p->what, sizeof(p->what), "%s", what);
                const char *unit = NULL;
                for (size_t i = 0; p->count_phases && p->count_phases[i]; i++)
                        if (!strcmp(p->count_phases[i], what))
                                unit = "chunks";
                cadu_progress_begin_count(&p->prog, p->what, total, unit);
                p->open = true;
        }
        p->prog.total = total;
        cadu_progress_update(&p->prog, done);
        if (done == total && done)
                cadu_cmd_progress_end(p);
}
