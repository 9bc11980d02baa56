/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * http-store-tool - drives the HTTP(S) store backend directly for the shell
 * tests (tests/http-*.sh), below cadu_store_get_chunk(): raw bytes, exact
 * error codes, statistics, many threads at once.
 *
 *   http-store-tool [STORE-OPTIONS] get URL ID [MAX_RAW]   raw chunk file to stdout
 *   http-store-tool [STORE-OPTIONS] has URL ID             prints 1 or 0
 *   http-store-tool [STORE-OPTIONS] fetch-all URL DIR THREADS ROUNDS
 *           fetch every chunk of the local store DIR ROUNDS times from
 *           THREADS threads (each thread starting at a different place),
 *           verify each (decode + digest) and compare with DIR's file
 *   http-store-tool [STORE-OPTIONS] fetch-split URL DIR THREADS
 *           the same, every chunk once, shared among THREADS threads
 *   http-store-tool [STORE-OPTIONS] verify URL ID TRIES    cadu_store_get_chunk() until the
 *           chunk verifies, at most TRIES times; prints the attempts made
 *   http-store-tool [STORE-OPTIONS] open URL               just open and close
 *   http-store-tool [STORE-OPTIONS] file URL RELPATH MAX   cadu_store_get_file() to stdout
 *   http-store-tool [STORE-OPTIONS] ranges URL RELPATH LOCAL SPEC [SPEC...]
 *           cadu_store_get_ranges() of RELPATH, one call per SPEC, each
 *           range compared with the same bytes of the local file LOCAL;
 *           SPEC is "OFF+LEN,OFF+LEN,..." or "random:SEED:COUNT:MAXLEN:MAXGAP"
 *           (COUNT ranges of 1..MAXLEN bytes, 0..MAXGAP apart, from a
 *           random start; cut at LOCAL's end). Prints
 *           "ranges: N ranges, B bytes" per call on stdout (or an error,
 *           and on to the next SPEC). With SLOW_CALLER_US=N in the
 *           environment, each range is handed back N microseconds late
 *           (a caller slower than the link), and the line ends with
 *           ", K KiB held": the most the process's anonymous memory grew
 *           during the call, seen at each range handed over.
 *
 * On failure: "error: ENAME: <last error of the store>" on stderr, exit 1.
 * Statistics after every command on stderr:
 *   "stats: requests=N retries=N connections=N bytes=N chunks=N not_found=N failures=N
 *           range_requests=N range_bytes=N"
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cadu-store.h"
#include "cadu-util.h"
#include "cmd.h"
#include "storeopts.h"

/* What src/cmd-storeopts.c needs from the command (src/cmd-util.c), kept
 * minimal here so the tool depends on nothing else of the command. */
const char *cadu_strerror(int r) {
        return strerror(-r);
}

int cadu_error_errno(int r, const char *fmt, ...) {
        va_list ap;
        fputs("http-store-tool: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(-r));
        return 1;
}

int cadu_usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;
        fputs("http-store-tool: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return 2;
}

typedef struct job {
        cadu_store *store;
        cadu_digest_type digest;
        uint8_t (*ids)[CADU_DIGEST_SIZE];
        char **files;
        size_t n, start, step;
        unsigned rounds;
        int result;
        char what[160];
} job;

static void print_stats(cadu_store *s) {
        cadu_store_http_stats st;
        if (cadu_store_http_get_stats(s, &st) < 0)
                return;
        fprintf(stderr, "stats: requests=%llu retries=%llu connections=%llu bytes=%llu chunks=%llu not_found=%llu failures=%llu"
                " range_requests=%llu range_bytes=%llu\n",
                (unsigned long long) st.requests, (unsigned long long) st.retries,
                (unsigned long long) st.connections, (unsigned long long) st.bytes_received,
                (unsigned long long) st.chunks, (unsigned long long) st.not_found,
                (unsigned long long) st.failures, (unsigned long long) st.range_requests,
                (unsigned long long) st.range_bytes);
}

static int report(cadu_store *s, int r, const char *what) {
        char msg[600] = "";
        const char *name = strerrorname_np(-r);
        if (s)
                cadu_store_http_last_error(s, msg, sizeof(msg));
        fprintf(stderr, "error: %s: %s%s%s\n", name ? name : "?", what, msg[0] ? ": " : "", msg);
        return 1;
}

static void *fetch_thread(void *userdata) {
        job *j = userdata;
        cadu_buf raw = CADU_BUF_INIT, out = CADU_BUF_INIT;
        uint8_t *want = NULL;
        size_t want_len = 0;

        for (unsigned round = 0; round < j->rounds && j->result == 0; round++)
                for (size_t k = 0; k < j->n && (j->step == 1 || j->start + k < j->n); k += j->step) {
                        size_t i = (j->start + k) % j->n;
                        int r = cadu_store_get_chunk(j->store, j->digest, j->ids[i], 0, 128 << 20, &raw, &out);
                        if (r == -EBADMSG) {
                                /* sha512-256 store? */
                                r = cadu_store_get_chunk(j->store, CADU_DIGEST_SHA512_256, j->ids[i], 0,
                                                         128 << 20, &raw, &out);
                                if (r == 0)
                                        j->digest = CADU_DIGEST_SHA512_256;
                        }
                        if (r < 0) {
                                j->result = r;
                                snprintf(j->what, sizeof(j->what), "chunk %s", j->files[i]);
                                goto done;
                        }
                        free(want);
                        want = NULL;
                        r = cadu_read_file(j->files[i], 256 << 20, &want, &want_len);
                        if (r < 0) {
                                j->result = r;
                                snprintf(j->what, sizeof(j->what), "reading %s", j->files[i]);
                                goto done;
                        }
                        if (want_len != raw.len || memcmp(want, raw.data, raw.len) != 0) {
                                j->result = -EBADMSG;
                                snprintf(j->what, sizeof(j->what), "chunk %s differs from the local file", j->files[i]);
                                goto done;
                        }
                }
done:
        free(want);
        cadu_buf_free(&raw);
        cadu_buf_free(&out);
        cadu_chunk_codec_release();
        return NULL;
}

/* All "<dir>/xxxx/<64 hex>.cacnk" files. */
static int list_store(const char *dir, char ***files, uint8_t (**ids)[CADU_DIGEST_SIZE], size_t *n) {
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t cap = 0;

        if (!d)
                return -errno;
        *n = 0;
        while ((e = readdir(d))) {
                if (strlen(e->d_name) != 4 || e->d_name[0] == '.')
                        continue;
                char sub[4096];
                snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
                DIR *d2 = opendir(sub);
                struct dirent *f;
                if (!d2)
                        continue;
                while ((f = readdir(d2))) {
                        size_t l = strlen(f->d_name);
                        if (l != 64 + strlen(CADU_CHUNK_SUFFIX) || strcmp(f->d_name + 64, CADU_CHUNK_SUFFIX))
                                continue;
                        if (*n == cap) {
                                cap = cap ? cap * 2 : 64;
                                *files = realloc(*files, cap * sizeof(char *));
                                *ids = realloc(*ids, cap * CADU_DIGEST_SIZE);
                                if (!*files || !*ids)
                                        abort();
                        }
                        char hex[65];
                        memcpy(hex, f->d_name, 64);
                        hex[64] = 0;
                        if (cadu_hex_decode(hex, (*ids)[*n], CADU_DIGEST_SIZE) < 0)
                                continue;
                        if (asprintf(&(*files)[*n], "%s/%s", sub, f->d_name) < 0)
                                abort();
                        (*n)++;
                }
                closedir(d2);
        }
        closedir(d);
        return 0;
}

/* Ranges from a SPEC (see the head of the file), within size bytes. */
static int parse_ranges(const char *spec, uint64_t size, cadu_range **ret, size_t *n) {
        unsigned long long seed, count, maxlen, maxgap;
        cadu_range *r = NULL;
        size_t k = 0;

        if (sscanf(spec, "random:%llu:%llu:%llu:%llu", &seed, &count, &maxlen, &maxgap) == 4) {
                uint64_t x = seed * 2 + 1, off;
                if (!maxlen || !count || size == 0)
                        return -EINVAL;
                r = calloc(count, sizeof(*r));
                if (!r)
                        return -ENOMEM;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
                off = NEXT() % (size / 4 + 1);
                for (; k < count && off < size; k++) {
                        r[k].off = off;
                        r[k].len = CADU_MIN(1 + NEXT() % maxlen, size - off);
                        off += r[k].len + NEXT() % (maxgap + 1);
                }
#undef NEXT
        } else {
                const char *p = spec;
                size_t cap = 0;
                while (*p) {
                        unsigned long long o, l;
                        int used;
                        if (sscanf(p, "%llu+%llu%n", &o, &l, &used) != 2) {
                                free(r);
                                return -EINVAL;
                        }
                        if (k == cap) {
                                cap = cap ? cap * 2 : 16;
                                r = realloc(r, cap * sizeof(*r));
                                if (!r)
                                        return -ENOMEM;
                        }
                        r[k++] = (cadu_range) { o, l };
                        p += used;
                        if (*p == ',')
                                p++;
                }
        }
        *ret = r;
        *n = k;
        return 0;
}

typedef struct range_check {
        const cadu_range *r;
        int fd;
        bool *seen;
        uint64_t bytes;
        char what[160];
        cadu_buf want;                  /* the local bytes of a range */
        unsigned slow_us;               /* SLOW_CALLER_US */
        long anon0, anon_max;           /* RssAnon (KiB) before the call, the most seen */
} range_check;

/* The process's anonymous resident memory in KiB, or -1. */
static long rss_anon(void) {
        char line[128];
        long kb = -1;
        FILE *f = fopen("/proc/self/status", "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "RssAnon: %ld", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

static int check_range(void *ud, size_t i, const uint8_t *data, size_t len) {
        range_check *c = ud;
        int r = 0;
        c->want.len = 0;
        if (cadu_buf_reserve(&c->want, len) < 0)
                return -ENOMEM;
        uint8_t *want = c->want.data;
        if (c->seen[i] || len != c->r[i].len)
                r = -EPROTO;
        else if (cadu_pread_full(c->fd, want, len, c->r[i].off) != (ssize_t) len || memcmp(want, data, len) != 0)
                r = -EILSEQ;
        if (r < 0)
                snprintf(c->what, sizeof(c->what), "range %zu (%llu+%llu) %s", i, (unsigned long long) c->r[i].off,
                         (unsigned long long) c->r[i].len, r == -EPROTO ? "delivered twice or wrong length" : "differs");
        c->seen[i] = true;
        c->bytes += len;
        if (c->slow_us) {
                c->anon_max = CADU_MAX(c->anon_max, rss_anon());
                usleep(c->slow_us);
        }
        return r;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
        cadu_store *s = NULL;
        int c, r, ret = 0;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c < CADU_STOREOPT_FIRST || c > CADU_STOREOPT_LAST)
                        return 2;
                r = cadu_storeopts_parse(&so, "http-store-tool", c, optarg);
                if (r != 0)
                        return r;
        }
        if (argc - optind < 2) {
                fprintf(stderr, "usage: http-store-tool [OPTIONS] get|has|fetch-all|fetch-split|verify|file|ranges|open URL ...\n");
                return 2;
        }
        const char *cmd = argv[optind], *url = argv[optind + 1];

        r = cadu_store_open(url, &so.opts, false, &s);
        if (r < 0)
                return report(NULL, r, "open");

        if (!strcmp(cmd, "open")) {
                /* nothing more */
        } else if ((!strcmp(cmd, "get") || !strcmp(cmd, "has")) && argc - optind >= 3) {
                uint8_t id[CADU_DIGEST_SIZE];
                uint64_t max_raw = 0;
                if (cadu_hex_decode(argv[optind + 2], id, sizeof(id)) < 0) {
                        fprintf(stderr, "bad id\n");
                        ret = 2;
                        goto out;
                }
                if (argc - optind >= 4 && cadu_parse_size(argv[optind + 3], &max_raw) < 0) {
                        fprintf(stderr, "bad size\n");
                        ret = 2;
                        goto out;
                }
                if (!strcmp(cmd, "get")) {
                        cadu_buf b = CADU_BUF_INIT;
                        r = s->ops->get(s, id, (size_t) max_raw, &b);
                        if (r < 0)
                                ret = report(s, r, "get");
                        else if (cadu_write_full(STDOUT_FILENO, b.data, b.len) < 0)
                                ret = 1;
                        cadu_buf_free(&b);
                } else {
                        r = s->ops->has(s, id);
                        if (r < 0)
                                ret = report(s, r, "has");
                        else
                                printf("%d\n", r);
                }
        } else if (!strcmp(cmd, "verify") && argc - optind == 4) {
                uint8_t id[CADU_DIGEST_SIZE];
                uint64_t tries;
                cadu_buf raw = CADU_BUF_INIT, out = CADU_BUF_INIT;
                if (cadu_hex_decode(argv[optind + 2], id, sizeof(id)) < 0 ||
                    cadu_parse_uint(argv[optind + 3], 1, 100, &tries) < 0) {
                        fprintf(stderr, "bad ID or TRIES\n");
                        ret = 2;
                        goto out;
                }
                r = -EBADMSG;
                for (uint64_t k = 1; k <= tries; k++) {
                        r = cadu_store_get_chunk(s, CADU_DIGEST_SHA256, id, 0, 128 << 20, &raw, &out);
                        fprintf(stderr, "attempt %llu: %s\n", (unsigned long long) k,
                                r < 0 ? strerrorname_np(-r) : "verified");
                        if (r != -EBADMSG)
                                break;
                }
                if (r < 0)
                        ret = report(s, r, "verify");
                cadu_buf_free(&raw);
                cadu_buf_free(&out);
        } else if (!strcmp(cmd, "file") && argc - optind == 4) {
                uint64_t max;
                cadu_buf b = CADU_BUF_INIT;
                if (cadu_parse_size(argv[optind + 3], &max) < 0) {
                        fprintf(stderr, "bad MAX\n");
                        ret = 2;
                        goto out;
                }
                r = cadu_store_get_file(s, argv[optind + 2], (size_t) max, &b);
                if (r < 0)
                        ret = report(s, r, "file");
                else if (cadu_write_full(STDOUT_FILENO, b.data, b.len) < 0)
                        ret = 1;
                cadu_buf_free(&b);
        } else if (!strcmp(cmd, "ranges") && argc - optind >= 5) {
                _cleanup_close_ int fd = open(argv[optind + 3], O_RDONLY | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0) {
                        fprintf(stderr, "cannot open %s\n", argv[optind + 3]);
                        ret = 2;
                        goto out;
                }
                for (int a = optind + 4; a < argc; a++) {
                        cadu_range *rs = NULL;
                        size_t n = 0;
                        if (parse_ranges(argv[a], (uint64_t) st.st_size, &rs, &n) < 0) {
                                fprintf(stderr, "bad SPEC %s\n", argv[a]);
                                ret = 2;
                                goto out;
                        }
                        const char *slow = getenv("SLOW_CALLER_US");
                        range_check chk = { .r = rs, .fd = fd, .seen = calloc(n ? n : 1, sizeof(bool)),
                                            .want = CADU_BUF_INIT,
                                            .slow_us = slow ? (unsigned) strtoul(slow, NULL, 10) : 0 };
                        if (!chk.seen)
                                abort();
                        chk.anon0 = chk.anon_max = rss_anon();
                        r = cadu_store_get_ranges(s, argv[optind + 2], rs, n, check_range, &chk);
                        for (size_t i = 0; i < n && r == 0; i++)
                                if (!chk.seen[i]) {
                                        snprintf(chk.what, sizeof(chk.what), "range %zu never delivered", i);
                                        r = -ENODATA;
                                }
                        if (r < 0)
                                ret = report(s, r, chk.what[0] ? chk.what : "ranges");
                        else if (chk.slow_us)
                                printf("ranges: %zu ranges, %llu bytes, %ld KiB held\n", n, (unsigned long long) chk.bytes,
                                       chk.anon_max - chk.anon0);
                        else
                                printf("ranges: %zu ranges, %llu bytes\n", n, (unsigned long long) chk.bytes);
                        free(chk.seen);
                        cadu_buf_free(&chk.want);
                        free(rs);
                }
        } else if ((!strcmp(cmd, "fetch-all") && argc - optind == 5) || (!strcmp(cmd, "fetch-split") && argc - optind == 4)) {
                bool split = !strcmp(cmd, "fetch-split");
                char **files = NULL;
                uint8_t (*ids)[CADU_DIGEST_SIZE] = NULL;
                size_t n = 0;
                uint64_t threads, rounds;
                if (cadu_parse_uint(argv[optind + 3], 1, 256, &threads) < 0 ||
                    (split ? (rounds = 1, 0) : cadu_parse_uint(argv[optind + 4], 1, 1000, &rounds)) < 0) {
                        fprintf(stderr, "bad THREADS or ROUNDS\n");
                        ret = 2;
                        goto out;
                }
                r = list_store(argv[optind + 2], &files, &ids, &n);
                if (r < 0 || n == 0) {
                        free(files);
                        free(ids);
                        fprintf(stderr, "no chunks in %s\n", argv[optind + 2]);
                        ret = 2;
                        goto out;
                }
                job *jobs = calloc(threads, sizeof(job));
                pthread_t *tids = calloc(threads, sizeof(pthread_t));
                if (!jobs || !tids)
                        abort();
                for (size_t i = 0; i < threads; i++) {
                        jobs[i] = (job) { .store = s, .ids = ids, .files = files, .n = n,
                                          .start = split ? i : i * n / threads, .step = split ? threads : 1,
                                          .rounds = (unsigned) rounds };
                        if (pthread_create(&tids[i], NULL, fetch_thread, &jobs[i]) != 0)
                                abort();
                }
                for (size_t i = 0; i < threads; i++)
                        pthread_join(tids[i], NULL);
                for (size_t i = 0; i < threads && ret == 0; i++)
                        if (jobs[i].result < 0)
                                ret = report(s, jobs[i].result, jobs[i].what);
                if (ret == 0)
                        printf("fetched %zu chunks x %llu rounds from %llu threads\n", n,
                               (unsigned long long) rounds, (unsigned long long) threads);
                for (size_t i = 0; i < n; i++)
                        free(files[i]);
                free(files);
                free(ids);
                free(jobs);
                free(tids);
        } else {
                fprintf(stderr, "bad command line\n");
                ret = 2;
        }
out:
        print_stats(s);
        cadu_store_free(s);
        cadu_chunk_codec_release();
        return ret;
}
