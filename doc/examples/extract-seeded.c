/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * extract-seeded - rebuild an image from its index through libcadu, taking
 * what it can from a seed (e.g. the running slot) and the rest from a store.
 *
 *   cc -o extract-seeded extract-seeded.c $(pkg-config --cflags --libs cadu)
 *   extract-seeded INDEX STORE OUTPUT [SEED [SEED_INDEX]]
 *
 * Prints where the chunks came from ("seeds 123 chunks 8060928 bytes", one
 * line per source that delivered any, then "downloaded N bytes"), on stdout.
 * Exit status 0 on success, 1 on failure (with the library's message).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cadu/cadu.h>

/* Warnings as they come; an error is printed once where the program gives
 * up, from cadu_context_last_error(). */
static void log_line(void *userdata, int level, const char *message) {
        (void)userdata;
        if (level != CADU_LOG_ERR)
                fprintf(stderr, "extract-seeded: %s\n", message);
}

/* Count the progress callbacks: a phase starts at 0 and ends at total. */
static void progress(void *userdata, const char *what, uint64_t done, uint64_t total) {
        unsigned *ends = userdata;
        (void)what;
        if (done == total)
                (*ends)++;
}

static int fail(cadu_context *ctx, int r, const char *what) {
        const char *msg = cadu_context_last_error(ctx);
        if (msg)
                fprintf(stderr, "extract-seeded: %s\n", msg);
        else
                fprintf(stderr, "extract-seeded: %s: %s\n", what, strerror(-r));
        return 1;
}

int main(int argc, char **argv) {
        static const struct {
                cadu_source source;
                const char *name;
        } sources[] = {
                { CADU_SOURCE_IN_PLACE, "in-place" }, { CADU_SOURCE_ZERO, "zero" },
                { CADU_SOURCE_DUPLICATE, "duplicate" }, { CADU_SOURCE_SEEDS, "seeds" },
                { CADU_SOURCE_CACHE, "cache" }, { CADU_SOURCE_STORES, "stores" },
                { CADU_SOURCE_PACKS, "packs" }, { CADU_SOURCE_DELTAS, "deltas" },
        };
        cadu_context *ctx = NULL;
        cadu_store *store = NULL;
        cadu_extraction *x = NULL;
        unsigned phases_done = 0;
        int r, ret = 1;

        if (argc < 4 || argc > 6) {
                fprintf(stderr, "usage: extract-seeded INDEX STORE OUTPUT [SEED [SEED_INDEX]]\n");
                return 2;
        }
        if ((r = cadu_context_new(&ctx)) < 0) {
                fprintf(stderr, "extract-seeded: %s\n", strerror(-r));
                return 1;
        }
        cadu_context_set_log(ctx, log_line, NULL);
        cadu_context_set_progress(ctx, progress, &phases_done);

        if ((r = cadu_store_open_location(ctx, argv[2], 0, &store)) < 0) {
                ret = fail(ctx, r, argv[2]);
                goto out;
        }
        if ((r = cadu_extraction_new(ctx, argv[1], &x)) < 0) {
                ret = fail(ctx, r, argv[1]);
                goto out;
        }
        if ((r = cadu_extraction_add_store(x, store)) < 0 ||
            (argc >= 5 && (r = cadu_extraction_add_seed(x, argv[4], argc == 6 ? argv[5] : NULL)) < 0)) {
                ret = fail(ctx, r, "extraction");
                goto out;
        }
        if ((r = cadu_extraction_run(x, argv[3], 0)) < 0) {
                ret = fail(ctx, r, argv[3]);
                goto out;
        }
        printf("image %llu bytes in %llu chunks, %u progress phases completed\n",
               (unsigned long long)cadu_extraction_image_size(x), (unsigned long long)cadu_extraction_chunk_count(x),
               phases_done);
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
                uint64_t chunks, bytes;
                if ((r = cadu_extraction_get_source(x, sources[i].source, &chunks, &bytes)) < 0) {
                        ret = fail(ctx, r, "statistics");
                        goto out;
                }
                if (chunks)
                        printf("%s %llu chunks %llu bytes\n", sources[i].name, (unsigned long long)chunks,
                               (unsigned long long)bytes);
        }
        printf("downloaded %llu bytes\n", (unsigned long long)cadu_extraction_downloaded(x));
        ret = 0;
out:
        cadu_extraction_free(x);
        cadu_store_close(store);
        cadu_context_free(ctx);
        return ret;
}
