/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-casync.c - cadu run as `casync`: the subset of casync's command line
 * that RAUC and similar tools call, for blob indexes (.caibx) only.
 *
 *   casync [OPTIONS] make BLOB_INDEX PATH     -> cadu make
 *   casync [OPTIONS] extract BLOB_INDEX PATH  -> cadu extract
 *   casync [OPTIONS] digest PATH|BLOB_INDEX   -> the content's digest
 *
 * Options are casync's (getopt permutes them, as casync's does). Those that
 * only concern directory trees or that cadu's behaviour already satisfies
 * are accepted and ignored; any other is refused, naming it. Exit status
 * as casync's: 0 on success, 1 on any failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "cadu-index.h"
#include "cadu-store.h"
#include "cmd.h"

enum {
        O_STORE = 0x100, O_EXTRA_STORE, O_CHUNK_SIZE, O_SEED, O_CACHE, O_CACHE_AUTO, O_SEED_OUTPUT,
        O_DIGEST, O_COMPRESSION, O_RATE, O_IGNORED, O_VERSION,
};

/* The O_IGNORED options concern directory trees (archives), which cadu
 * refuses anyway, or ask for what cadu does regardless (it writes files and
 * block devices in place, never into a seed). */

static int digest_of(const char *path, const char *store_loc, bool digest_given, cadu_digest_type dt);

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && !strcmp(s + n - m, suffix);
}

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...) {
        va_list ap;
        fputs("casync (cadu): ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        return 1;
}

/* casync's --chunk-size: AVG, or MIN:AVG:MAX; AVG alone means AVG/4:AVG:AVG*4. */
static int chunk_size_arg(const char *s, char *out, size_t n) {
        uint64_t avg;
        if (strchr(s, ':')) {
                snprintf(out, n, "%s", s);
                return 0;
        }
        if (cadu_parse_size(s, &avg) < 0 || avg < 4 || avg > UINT64_MAX / 4)
                return -EINVAL;
        snprintf(out, n, "%llu:%llu:%llu", (unsigned long long)(avg / 4), (unsigned long long)avg,
                 (unsigned long long)(avg * 4));
        return 0;
}

static int run(int (*cmd)(int, char **), char **v, int n) {
        v[n] = NULL;
        optind = 0;                     /* the command parses its own options afresh */
        return cmd(n, v) == CADU_EXIT_OK ? 0 : 1;
}

int cadu_casync_main(int argc, char **argv) {
        static const struct option options[] = {
                { "store", required_argument, NULL, O_STORE },
                { "extra-store", required_argument, NULL, O_EXTRA_STORE },
                { "chunk-size", required_argument, NULL, O_CHUNK_SIZE },
                { "seed", required_argument, NULL, O_SEED },
                { "cache", required_argument, NULL, O_CACHE },
                { "cache-auto", no_argument, NULL, O_CACHE_AUTO },
                { "seed-output", required_argument, NULL, O_SEED_OUTPUT },
                { "digest", required_argument, NULL, O_DIGEST },
                { "compression", required_argument, NULL, O_COMPRESSION },
                { "with", required_argument, NULL, O_IGNORED },
                { "without", required_argument, NULL, O_IGNORED },
                { "exclude-nodump", required_argument, NULL, O_IGNORED },
                { "exclude-submounts", required_argument, NULL, O_IGNORED },
                { "exclude-file", required_argument, NULL, O_IGNORED },
                { "reflink", required_argument, NULL, O_IGNORED },
                { "hardlink", required_argument, NULL, O_IGNORED },
                { "punch-holes", required_argument, NULL, O_IGNORED },
                { "delete", required_argument, NULL, O_IGNORED },
                { "undo-immutable", required_argument, NULL, O_IGNORED },
                { "recursive", required_argument, NULL, O_IGNORED },
                { "mkdir", required_argument, NULL, O_IGNORED },
                { "uid-shift", required_argument, NULL, O_IGNORED },
                { "uid-range", required_argument, NULL, O_IGNORED },
                { "rate-limit-bps", required_argument, NULL, O_RATE },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, O_VERSION },
                {}
        };
        /* Each option may add two words to the cadu command line. */
        size_t cap = 8 + 2 * (size_t)argc;
        _cleanup_free_ char **v = calloc(cap, sizeof(char *));
        char **stores = calloc((size_t)argc + 1, sizeof(char *)), **seeds = calloc((size_t)argc + 1, sizeof(char *));
        char *def_store = NULL;
        size_t nstores = 0, nseeds = 0;
        const char *cache = NULL, *chunk = NULL, *digest = NULL, *rate = NULL;
        char chunk_buf[96];
        int c, ret = 1;

        if (!v || !stores || !seeds) {
                fprintf(stderr, "casync (cadu): out of memory\n");
                goto out;
        }
        /* GNU getopt permutes: options may follow the verb and its
         * arguments, as casync's own command line allows. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "vh", options, NULL)) >= 0) {
                switch (c) {
                case O_STORE: case O_EXTRA_STORE: stores[nstores++] = optarg; break;
                case O_SEED: seeds[nseeds++] = optarg; break;
                case O_CACHE: cache = optarg; break;
                case O_CACHE_AUTO: case O_IGNORED: case 'v': break;
                case O_SEED_OUTPUT:
                        /* cadu never writes into a seed: "no" is what it does. */
                        if (strcmp(optarg, "no") && strcmp(optarg, "false") && strcmp(optarg, "0")) {
                                ret = refuse("--seed-output=%s is not supported (cadu never writes seeds)", optarg);
                                goto out;
                        }
                        break;
                case O_CHUNK_SIZE:
                        if (chunk_size_arg(optarg, chunk_buf, sizeof chunk_buf) < 0) {
                                ret = refuse("invalid --chunk-size '%s'", optarg);
                                goto out;
                        }
                        chunk = chunk_buf;
                        break;
                case O_DIGEST: digest = optarg; break;
                case O_RATE: rate = optarg; break;
                case O_COMPRESSION:
                        if (strcmp(optarg, "zstd")) {
                                ret = refuse("--compression=%s is not supported (only zstd)", optarg);
                                goto out;
                        }
                        break;
                case 'h':
                        printf("casync (cadu %s) [OPTIONS] make|extract BLOB_INDEX PATH\n"
                               "casync (cadu %s) [OPTIONS] digest PATH|BLOB_INDEX\n\n"
                               "cadu run as casync: blob indexes (.caibx) only. See cadu(1).\n",
                               PACKAGE_VERSION, PACKAGE_VERSION);
                        ret = 0;
                        goto out;
                case O_VERSION:
                        printf("casync 2 (cadu %s)\n", PACKAGE_VERSION);
                        ret = 0;
                        goto out;
                default:
                        ret = refuse("option '%s' is not supported", argv[optind - 1]);
                        goto out;
                }
        }
        char **pos = argv + optind;
        size_t npos = (size_t)(argc - optind);
        if (npos < 1) {
                ret = refuse("%s", "expected a verb: make, extract or digest");
                goto out;
        }
        const char *verb = pos[0];
        cadu_digest_type dt = CADU_DIGEST_SHA512_256;   /* casync's default */
        if (digest && cadu_digest_from_name(digest, &dt) < 0) {
                ret = refuse("unknown --digest '%s'", digest);
                goto out;
        }
        cadu_quiet = true;

        if (!strcmp(verb, "make") || !strcmp(verb, "extract")) {
                if (npos != 3) {
                        ret = refuse("%s: expected BLOB_INDEX PATH", verb);
                        goto out;
                }
                if (!has_suffix(pos[1], ".caibx")) {
                        ret = refuse("%s %s: only blob indexes (.caibx) are supported, not archives or directory trees",
                                     verb, pos[1]);
                        goto out;
                }
                /* casync's default: default.castr beside the index. */
                if (nstores == 0) {
                        if (cadu_default_store(pos[1], &def_store) < 0)
                                goto out;
                        stores[nstores++] = def_store;
                }
        }
        if (!strcmp(verb, "make")) {
                const char *index = pos[1], *image = pos[2];
                int n = 0;
                if (nstores > 1) {
                        ret = refuse("make: %s", "only one --store");
                        goto out;
                }
                v[n++] = (char *)"make";
                v[n++] = (char *)"--digest";
                v[n++] = (char *)cadu_digest_name(dt);
                if (chunk) {
                        v[n++] = (char *)"--chunk-size";
                        v[n++] = (char *)chunk;
                }
                v[n++] = (char *)"--store";
                v[n++] = stores[0];
                v[n++] = (char *)image;
                v[n++] = (char *)index;
                if ((ret = run(cadu_cmd_make, v, n)) != 0)
                        goto out;
                /* casync prints the content's digest. */
                ret = digest_of(image, NULL, true, dt);
        } else if (!strcmp(verb, "extract")) {
                const char *index = pos[1], *target = pos[2];
                int n = 0;
                v[n++] = (char *)"extract";
                for (size_t i = 0; i < nstores; i++) {
                        v[n++] = (char *)"--store";
                        v[n++] = stores[i];
                }
                for (size_t i = 0; i < nseeds; i++) {
                        v[n++] = (char *)"--seed";
                        v[n++] = seeds[i];
                }
                if (cache) {
                        v[n++] = (char *)"--cache";
                        v[n++] = (char *)cache;
                }
                if (rate) {
                        v[n++] = (char *)"--rate-limit";
                        v[n++] = (char *)rate;
                }
                if (!strcmp(target, "-")) {
                        /* The file or block device already open as standard
                         * output (RAUC passes the slot so); never a pipe. */
                        struct stat st;
                        if (fstat(STDOUT_FILENO, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
                                ret = refuse("extract %s: standard output is neither a regular file nor a block device",
                                             index);
                                goto out;
                        }
                        if (S_ISREG(st.st_mode))
                                v[n++] = (char *)"--in-place";
                        target = "/proc/self/fd/1";
                }
                v[n++] = (char *)index;
                v[n++] = (char *)target;
                ret = run(cadu_cmd_extract, v, n);
        } else if (!strcmp(verb, "digest")) {
                if (npos != 2) {
                        ret = refuse("%s", "digest: expected PATH or BLOB_INDEX");
                        goto out;
                }
                ret = digest_of(pos[1], nstores ? stores[0] : NULL, digest != NULL, dt);
        } else
                ret = refuse("'%s' is not supported: cadu runs casync's make, extract and digest of blob indexes only",
                             verb);
out:
        free(def_store);
        free(stores);
        free(seeds);
        return ret;
}

/* Print the digest of a file's content, or of the content an index
 * describes (its own digest type; chunks from store_loc, default
 * default.castr beside it), as casync digest does. */
static int digest_of(const char *path, const char *store_loc, bool digest_given, cadu_digest_type dt) {
        uint8_t md[CADU_DIGEST_SIZE];
        char hex[2 * CADU_DIGEST_SIZE + 1];
        _cleanup_free_ char *def_store = NULL;
        cadu_index *idx = NULL;
        cadu_store *st = NULL;
        cadu_digest_ctx *ctx = NULL;
        cadu_buf raw = CADU_BUF_INIT, chunk = CADU_BUF_INIT;
        int r, fd = -1, ret = 1;

        if (has_suffix(path, ".caibx")) {
                const char *reason = NULL;
                if ((r = cadu_index_read(path, &idx, &reason)) < 0) {
                        fprintf(stderr, "casync (cadu): %s: %s\n", path, reason ? reason : cadu_strerror(r));
                        goto out;
                }
                if (!store_loc) {
                        if (cadu_default_store(path, &def_store) < 0)
                                goto out;
                        store_loc = def_store;
                }
                if ((r = cadu_store_open(store_loc, NULL, false, &st)) < 0) {
                        fprintf(stderr, "casync (cadu): store %s: %s\n", store_loc, cadu_strerror(r));
                        goto out;
                }
                if (!(ctx = cadu_digest_new(digest_given ? dt : idx->digest)))
                        goto out;
                for (size_t i = 0; i < idx->n; i++) {
                        r = cadu_store_get_chunk(st, idx->digest, idx->items[i].id, cadu_index_chunk_size(idx, i),
                                                 idx->max, &raw, &chunk);
                        if (r < 0) {
                                fprintf(stderr, "casync (cadu): chunk %zu of %s: %s\n", i, path, cadu_strerror(r));
                                goto out;
                        }
                        cadu_digest_update(ctx, chunk.data, chunk.len);
                }
        } else {
                static uint8_t buf[1 << 16];
                ssize_t n;
                if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
                        fprintf(stderr, "casync (cadu): %s: %s\n", path, cadu_strerror(-errno));
                        goto out;
                }
                if (!(ctx = cadu_digest_new(dt)))
                        goto out;
                while ((n = read(fd, buf, sizeof buf)) > 0)
                        cadu_digest_update(ctx, buf, (size_t)n);
                if (n < 0) {
                        fprintf(stderr, "casync (cadu): %s: %s\n", path, cadu_strerror(-errno));
                        goto out;
                }
        }
        if (cadu_digest_final(ctx, md) < 0)
                goto out;
        cadu_hex_encode(md, CADU_DIGEST_SIZE, hex);
        printf("%s\n", hex);
        ret = fflush(stdout) == 0 ? 0 : 1;
out:
        if (fd >= 0)
                close(fd);
        cadu_digest_free(ctx);
        cadu_store_free(st);
        cadu_index_free(idx);
        cadu_buf_free(&raw);
        cadu_buf_free(&chunk);
        return ret;
}
