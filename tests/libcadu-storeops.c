/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcadu-storeops - drives libcadu's store operations (include/cadu/cadu.h)
 * through the shared library for tests/libcadu-storeops.sh. Built against
 * the public header only.
 *
 *   libcadu-storeops verify [-K KEYFILE] STORE [INDEX...]
 *       each problem as cadu verify-store prints it ("missing ID",
 *       "corrupt ID: WHY", "stray PATH: WHY", "error ID: WHY") on stdout,
 *       then on stderr "chunks N sound N missing N corrupt N stray N
 *       errors N unreferenced N bytes N raw N" and the progress seen; with
 *       -K the store is opened with that key (cadu_context_set_key_file)
 *   libcadu-storeops gc [-n] [-v] STORE GRACE INDEX...
 *       prints "deleted N bytes N kept N young N temp N dirs N packfiles N
 *       missing N"; with -v through cadu_store_gc_each(), each deleted
 *       file first ("delete PATH", as cadu gc --verbose prints it)
 *   libcadu-storeops survey STORE|- INDEX...
 *       prints "bytes N chunks N distinct N distinct-bytes N present N
 *       present-bytes N stored N missing N missing-bytes N" (- for no
 *       store: those of the store "-"), and the progress seen on stderr
 *   libcadu-storeops mirror SRC DST [-x EXCEPT] INDEX...
 *       prints "chunks N bytes N present N copied N copied-bytes N
 *       repaired N missing N corrupt N errors N packs N deltas N", and the
 *       warnings logged on stderr
 *   libcadu-storeops release MANIFEST TO [EXCEPT]
 *       cadu_manifest_mirror() from the manifest's own stores; prints as
 *       mirror does
 *   libcadu-storeops errors STORE
 *       argument checks; prints "ok"
 *
 * Exit 0 when the call succeeded (verify: whatever it found), 1 when it
 * failed (the library's last error on stderr).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cadu/cadu.h>

typedef struct progress_seen {
        unsigned starts, ends, backwards;
        uint64_t last_done, last_total;
} progress_seen;

static void progress(void *userdata, const char *what, uint64_t done, uint64_t total) {
        progress_seen *p = userdata;
        if (strcmp(what, "verify-store") != 0 && strcmp(what, "info") != 0)
                p->backwards++;
        if (done == 0)
                p->starts++;
        else if (done < p->last_done)
                p->backwards++;
        if (done == total)
                p->ends++;
        if (done > total)
                p->backwards++;
        p->last_done = done;
        p->last_total = total;
}

static int fail(cadu_context *ctx, int r, const char *what) {
        const char *msg = cadu_context_last_error(ctx);
        fprintf(stderr, "libcadu-storeops: %s: %s (%s)\n", what, msg ? msg : "(no message)", strerror(-r));
        return 1;
}

static int verify(cadu_context *ctx, const char *location, char **indexes) {
        progress_seen seen = { 0 };
        cadu_store *store = NULL;
        cadu_verify_report *rep = NULL;
        cadu_context_set_progress(ctx, progress, &seen);
        int r = cadu_store_open_location(ctx, location, 0, &store);
        if (r < 0)
                return fail(ctx, r, "open");
        r = cadu_store_verify(ctx, store, indexes[0] ? (const char *const *)indexes : NULL, 0, &rep);
        if (r < 0) {
                cadu_store_close(store);
                return fail(ctx, r, "verify");
        }
        static const char *const kinds[] = { "missing", "corrupt", "stray", "error" };
        size_t n = cadu_verify_report_problems(rep);
        for (size_t i = 0; i < n; i++) {
                cadu_problem kind;
                const char *what, *why;
                if (cadu_verify_report_problem(rep, i, &kind, &what, &why) < 0)
                        return 1;
                if (why)
                        printf("%s %s: %s\n", kinds[kind], what, why);
                else
                        printf("%s %s\n", kinds[kind], what);
        }
        if (cadu_verify_report_problem(rep, n, NULL, NULL, NULL) != -ERANGE)
                return 1;
        static const char *const names[] = { "chunks", "sound", "missing", "corrupt", "stray",
                                             "errors", "unreferenced", "bytes", "raw" };
        for (int s = CADU_VERIFY_CHUNKS; s <= CADU_VERIFY_RAW_BYTES; s++) {
                uint64_t v;
                if (cadu_verify_report_get(rep, (cadu_verify_stat)s, &v) < 0)
                        return 1;
                fprintf(stderr, "%s%s %" PRIu64, s ? " " : "", names[s], v);
        }
        fprintf(stderr, "\nprogress starts %u ends %u backwards %u\n", seen.starts, seen.ends, seen.backwards);
        cadu_verify_report_free(rep);
        cadu_store_close(store);
        return 0;
}

static void gc_deleted(void *userdata, const char *path) {
        (*(unsigned *)userdata)++;
        printf("delete %s\n", path);
}

static int gc(cadu_context *ctx, int argc, char **argv) {
        unsigned flags = 0, reported = 0;
        bool verbose = false;
        if (argc > 0 && strcmp(argv[0], "-n") == 0) {
                flags |= CADU_GC_DRY_RUN;
                argc--;
                argv++;
        }
        if (argc > 0 && strcmp(argv[0], "-v") == 0) {
                verbose = true;
                argc--;
                argv++;
        }
        if (argc < 3)
                return 2;
        cadu_store *store = NULL;
        cadu_gc_report *rep = NULL;
        int r = cadu_store_open_location(ctx, argv[0], 0, &store);
        if (r < 0)
                return fail(ctx, r, "open");
        if (verbose)
                r = cadu_store_gc_each(ctx, store, (const char *const *)argv + 2, strtoull(argv[1], NULL, 10), flags,
                                       gc_deleted, &reported, &rep);
        else
                r = cadu_store_gc(ctx, store, (const char *const *)argv + 2, strtoull(argv[1], NULL, 10), flags,
                                  &rep);
        cadu_store_close(store);
        if (r < 0)
                return fail(ctx, r, "gc");
        static const char *const names[] = { "deleted", "bytes", "kept", "kept-bytes", "young",
                                             "temp", "dirs", "packfiles", "packbytes", "missing" };
        for (int s = CADU_GC_DELETED_CHUNKS; s <= CADU_GC_MISSING; s++) {
                uint64_t v;
                if (cadu_gc_report_get(rep, (cadu_gc_stat)s, &v) < 0)
                        return 1;
                printf("%s%s %" PRIu64, s ? " " : "", names[s], v);
        }
        printf("\n");
        uint64_t chunks = 0, temp = 0, packs = 0;
        cadu_gc_report_get(rep, CADU_GC_DELETED_CHUNKS, &chunks);
        cadu_gc_report_get(rep, CADU_GC_DELETED_TEMP_FILES, &temp);
        cadu_gc_report_get(rep, CADU_GC_DELETED_PACK_FILES, &packs);
        if (verbose && reported != chunks + temp + packs)
                printf("%u deletions reported, %" PRIu64 " counted\n", reported, chunks + temp + packs);
        cadu_gc_report_free(rep);
        return 0;
}

static int survey(cadu_context *ctx, const char *location, char **indexes) {
        progress_seen seen = { 0 };
        cadu_store *store = NULL;
        cadu_survey_report *rep = NULL;
        cadu_context_set_progress(ctx, progress, &seen);
        int r = strcmp(location, "-") ? cadu_store_open_location(ctx, location, 0, &store) : 0;
        if (r < 0)
                return fail(ctx, r, "open");
        r = cadu_index_survey(ctx, (const char *const *)indexes, store, 0, &rep);
        cadu_store_close(store);
        if (r < 0)
                return fail(ctx, r, "survey");
        static const char *const names[] = { "bytes", "chunks", "distinct", "distinct-bytes", "present",
                                             "present-bytes", "stored", "missing", "missing-bytes" };
        for (int s = CADU_SURVEY_BYTES; s <= CADU_SURVEY_MISSING_BYTES; s++) {
                uint64_t v;
                r = cadu_survey_report_get(rep, (cadu_survey_stat)s, &v);
                if (r == -ENODATA)
                        printf("%s%s -", s ? " " : "", names[s]);
                else if (r < 0)
                        return 1;
                else
                        printf("%s%s %" PRIu64, s ? " " : "", names[s], v);
        }
        printf("\n");
        fprintf(stderr, "progress starts %u ends %u backwards %u\n", seen.starts, seen.ends, seen.backwards);
        cadu_survey_report_free(rep);
        return 0;
}

static void log_warning(void *userdata, int level, const char *message) {
        (void)userdata;
        if (level == CADU_LOG_WARNING)
                fprintf(stderr, "%s\n", message);
}

/* A mirror report's counts on one line. */
static int print_mirror_report(cadu_mirror_report *rep) {
        static const char *const names[] = { "chunks", "bytes", "present", "copied", "copied-bytes", "repaired",
                                             "missing", "corrupt", "errors", "packs", "deltas" };
        for (int s = CADU_MIRROR_STAT_CHUNKS; s <= CADU_MIRROR_STAT_DELTAS; s++) {
                uint64_t v;
                if (cadu_mirror_report_get(rep, (cadu_mirror_stat)s, &v) < 0)
                        return 1;
                printf("%s%s %" PRIu64, s ? " " : "", names[s], v);
        }
        printf("\n");
        cadu_mirror_report_free(rep);
        return 0;
}

static int mirror(cadu_context *ctx, int argc, char **argv) {
        const char *except[2] = { NULL, NULL };
        cadu_store *src = NULL, *dst = NULL;
        cadu_mirror_report *rep = NULL;
        if (argc < 3)
                return 2;
        if (argc > 4 && strcmp(argv[2], "-x") == 0) {
                except[0] = argv[3];
                argv[3] = argv[1];
                argv[2] = argv[0];
                argv += 2;
                argc -= 2;
        }
        cadu_context_set_log(ctx, log_warning, NULL);
        int r = cadu_store_open_location(ctx, argv[0], 0, &src);
        if (r == 0)
                r = cadu_store_open_location(ctx, argv[1], CADU_STORE_CREATE, &dst);
        if (r == 0)
                r = cadu_store_mirror(ctx, src, dst, (const char *const *)argv + 2, except[0] ? except : NULL, 0, &rep);
        cadu_store_close(src);
        cadu_store_close(dst);
        if (r < 0)
                return fail(ctx, r, "mirror");
        return print_mirror_report(rep);
}

/* A signed release from its manifest's own stores, less EXCEPT's chunks. */
static int release(cadu_context *ctx, int argc, char **argv) {
        const char *except[2] = { argc > 2 ? argv[2] : NULL, NULL };
        cadu_mirror_report *rep = NULL;
        if (argc < 2)
                return 2;
        cadu_context_set_log(ctx, log_warning, NULL);
        int r = cadu_manifest_mirror(ctx, argv[0], NULL, argv[1], except[0] ? except : NULL, 0, &rep);
        if (r < 0)
                return fail(ctx, r, "release mirror");
        return print_mirror_report(rep);
}

#define CHECK(cond)                                                                   \
        do {                                                                          \
                if (!(cond)) {                                                        \
                        fprintf(stderr, "libcadu-storeops: %d: %s\n", __LINE__, #cond); \
                        return 1;                                                     \
                }                                                                     \
        } while (0)

static int errors(cadu_context *ctx, const char *location) {
        cadu_store *store = NULL;
        cadu_verify_report *vr = NULL;
        cadu_gc_report *gr = NULL;
        cadu_mirror_report *mr = NULL;
        const char *none[] = { NULL };
        const char *missing[] = { "no-such.caibx", NULL };
        uint64_t v;
        CHECK(cadu_store_open_location(ctx, location, 0, &store) == 0);
        CHECK(cadu_store_verify(NULL, store, NULL, 0, &vr) == -EINVAL);
        CHECK(cadu_store_verify(ctx, NULL, NULL, 0, &vr) == -EINVAL);
        CHECK(cadu_store_verify(ctx, store, NULL, 0, NULL) == -EINVAL);
        CHECK(cadu_store_verify(ctx, store, NULL, 0x80, &vr) == -EINVAL);
        CHECK(cadu_store_verify(ctx, store, none, 0, &vr) == -EINVAL);
        CHECK(cadu_store_verify(ctx, store, missing, 0, &vr) == -ENOENT && !vr);
        CHECK(cadu_context_last_error(ctx) && strstr(cadu_context_last_error(ctx), "no-such.caibx"));
        /* gc without a kept index would empty the store. */
        CHECK(cadu_store_gc(ctx, store, NULL, 0, 0, &gr) == -EINVAL);
        CHECK(cadu_store_gc(ctx, store, none, 0, 0, &gr) == -EINVAL);
        CHECK(cadu_store_gc(ctx, store, missing, 0, 0x80, &gr) == -EINVAL);
        CHECK(cadu_store_gc(ctx, store, missing, 0, 0, &gr) == -ENOENT && !gr);
        CHECK(cadu_verify_report_get(NULL, CADU_VERIFY_CHUNKS, &v) == -EINVAL);
        CHECK(cadu_gc_report_get(NULL, CADU_GC_MISSING, &v) == -EINVAL);
        CHECK(cadu_verify_report_problems(NULL) == 0);
        CHECK(cadu_verify_report_free(NULL) == NULL);
        CHECK(cadu_gc_report_free(NULL) == NULL);
        CHECK(cadu_index_survey(ctx, NULL, store, 0, (cadu_survey_report **)&gr) == -EINVAL);
        CHECK(cadu_index_survey(ctx, none, store, 0, (cadu_survey_report **)&gr) == -EINVAL);
        CHECK(cadu_index_survey(ctx, missing, store, 0, (cadu_survey_report **)&gr) == -ENOENT);
        CHECK(cadu_survey_report_get(NULL, CADU_SURVEY_BYTES, &v) == -EINVAL);
        CHECK(cadu_survey_report_free(NULL) == NULL);
        CHECK(cadu_store_mirror(ctx, store, store, NULL, NULL, 0, (cadu_mirror_report **)&gr) == -EINVAL);
        CHECK(cadu_store_mirror(ctx, store, store, missing, NULL, 1, (cadu_mirror_report **)&gr) == -EINVAL);
        CHECK(cadu_store_mirror(ctx, store, store, missing, NULL, 0, (cadu_mirror_report **)&gr) == -ENOENT);
        CHECK(cadu_mirror_report_get(NULL, CADU_MIRROR_STAT_CHUNKS, &v) == -EINVAL);
        CHECK(cadu_mirror_report_free(NULL) == NULL);
        CHECK(cadu_manifest_mirror(NULL, "r.manifest", NULL, "out", NULL, 0, &mr) == -EINVAL);
        CHECK(cadu_manifest_mirror(ctx, NULL, NULL, "out", NULL, 0, &mr) == -EINVAL);
        CHECK(cadu_manifest_mirror(ctx, "r.manifest", NULL, NULL, NULL, 0, &mr) == -EINVAL);
        CHECK(cadu_manifest_mirror(ctx, "r.manifest", NULL, "out", NULL, 1, &mr) == -EINVAL);
        CHECK(cadu_manifest_mirror(ctx, "r.manifest", NULL, "http://host/out", NULL, 0, &mr) == -EINVAL);
        CHECK(cadu_manifest_mirror(ctx, "no-such.manifest", NULL, "release-out", NULL, 0, &mr) == -ENOENT && !mr);
        CHECK(cadu_context_last_error(ctx) && strstr(cadu_context_last_error(ctx), "no-such.manifest"));
        /* An empty store is sound, and an unknown stat refused. */
        CHECK(cadu_store_verify(ctx, store, NULL, 0, &vr) == 0);
        CHECK(cadu_verify_report_problems(vr) == 0);
        CHECK(cadu_verify_report_get(vr, (cadu_verify_stat)99, &v) == -EINVAL);
        CHECK(cadu_verify_report_get(vr, CADU_VERIFY_CHUNKS, &v) == 0 && v == 0);
        vr = cadu_verify_report_free(vr);
        cadu_store_close(store);
        printf("ok\n");
        return 0;
}

int main(int argc, char **argv) {
        cadu_context *ctx = NULL;
        int ret = 2;
        if (argc < 3 || cadu_context_new(&ctx) < 0)
                return 2;
        if (strcmp(argv[1], "verify") == 0 && strcmp(argv[2], "-K") == 0 && argc > 4) {
                int r = cadu_context_set_key_file(ctx, argv[3]);
                ret = r < 0 ? fail(ctx, r, "key") : verify(ctx, argv[4], argv + 5);
        } else if (strcmp(argv[1], "verify") == 0)
                ret = verify(ctx, argv[2], argv + 3);
        else if (strcmp(argv[1], "gc") == 0)
                ret = gc(ctx, argc - 2, argv + 2);
        else if (strcmp(argv[1], "survey") == 0 && argc > 3)
                ret = survey(ctx, argv[2], argv + 3);
        else if (strcmp(argv[1], "mirror") == 0)
                ret = mirror(ctx, argc - 2, argv + 2);
        else if (strcmp(argv[1], "release") == 0)
                ret = release(ctx, argc - 2, argv + 2);
        else if (strcmp(argv[1], "errors") == 0)
                ret = errors(ctx, argv[2]);
        cadu_context_free(ctx);
        return ret;
}
