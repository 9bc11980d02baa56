/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu make: chunk an image, store the compressed chunks, write the index,
 * then the optional steps: deltas, packs, compact indexes and a manifest.
 * All through libcadu's public API (cadu_maker); this file parses the
 * options and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cadu-util.h"
#include "cadu/cadu.h"
#include "cmd.h"

/* The pack step's one line of summary. */
static void print_packs(const cadu_maker *m, const char *store_path, const char *index_path) {
        uint64_t existed = 0, packs = 0, pack_bytes = 0, packed = 0, referenced = 0, index_bytes = 0;
        cadu_maker_get(m, CADU_MAKE_STAT_PACK_INDEX_EXISTED, &existed);
        cadu_maker_get(m, CADU_MAKE_STAT_PACKS, &packs);
        cadu_maker_get(m, CADU_MAKE_STAT_PACK_BYTES, &pack_bytes);
        cadu_maker_get(m, CADU_MAKE_STAT_PACKED_CHUNKS, &packed);
        cadu_maker_get(m, CADU_MAKE_STAT_REFERENCED_CHUNKS, &referenced);
        cadu_maker_get(m, CADU_MAKE_STAT_PACK_INDEX_BYTES, &index_bytes);
        if (cadu_json)
                printf("{\"event\":\"packs\",\"command\":\"make\",\"existed\":%s,\"packs\":%llu,\"pack_bytes\":%llu,"
                       "\"packed_chunks\":%llu,\"referenced_chunks\":%llu,\"index_bytes\":%llu}\n",
                       existed ? "true" : "false", (unsigned long long)packs, (unsigned long long)pack_bytes,
                       (unsigned long long)packed, (unsigned long long)referenced, (unsigned long long)index_bytes);
        else if (!cadu_quiet && existed)
                fprintf(stderr, "%s: its pack index is in %s already\n", index_path, store_path);
        else if (!cadu_quiet) {
                char a[32], b[32];
                fprintf(stderr, "%s: %llu chunks packed into %llu packs (%s), %llu in earlier packs, pack index %s\n",
                        index_path, (unsigned long long)packed, (unsigned long long)packs,
                        cadu_format_bytes(pack_bytes, a), (unsigned long long)referenced,
                        cadu_format_bytes(index_bytes, b));
        }
}

/* The delta step's one line of summary. */
static void print_deltas(const cadu_maker *m) {
        uint64_t targets = 0, with = 0, plain = 0, best = 0, bytes = 0, sketched = 0, nsec = 0;
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_TARGETS, &targets);
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_WITH_DELTA, &with);
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_CHUNK_FILE_BYTES, &plain);
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_BEST_BYTES, &best);
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_BYTES, &bytes);
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_SKETCHED, &sketched);
        cadu_maker_get(m, CADU_MAKE_STAT_DELTA_NSEC, &nsec);
        double secs = (double)nsec / 1e9;
        if (cadu_json)
                printf("{\"event\":\"deltas\",\"command\":\"make\",\"new_chunks\":%llu,\"with_delta\":%llu,"
                       "\"chunk_file_bytes\":%llu,\"best_bytes\":%llu,\"delta_bytes\":%llu,\"sketched\":%llu,"
                       "\"seconds\":%.3f}\n",
                       (unsigned long long)targets, (unsigned long long)with, (unsigned long long)plain,
                       (unsigned long long)best, (unsigned long long)bytes, (unsigned long long)sketched, secs);
        else if (!cadu_quiet) {
                char a[32], b[32];
                fprintf(stderr, "deltas: %llu of %llu new chunks (%.0f%%), their files %s -> %s with deltas, "
                        "%llu chunks sketched, %.2f s\n",
                        (unsigned long long)with, (unsigned long long)targets,
                        targets ? 100.0 * (double)with / (double)targets : 0.0, cadu_format_bytes(plain, a),
                        cadu_format_bytes(best, b), (unsigned long long)sketched, secs);
        }
}

static const char make_help[] =
        "Usage: cadu make [OPTIONS] IMAGE INDEX\n\n"
        "Split IMAGE (a file or block device) into content-defined chunks, store\n"
        "them zstd-compressed in the chunk store and write the casync index INDEX.\n\n"
        "Options:\n"
        "  -s, --store DIR             chunk store directory (default: default.castr\n"
        "                              beside INDEX, as casync does)\n"
        "  -c, --chunk-size MIN:AVG:MAX  chunk sizes in bytes, K/M suffixes allowed\n"
        "                              (default 16K:64K:256K; MIN=AVG=MAX: fixed size)\n"
        "  -d, --digest NAME           sha256 (default) or sha512-256 (casync's default)\n"
        "  -l, --compression-level N   zstd level 1..19 (default 3)\n"
        "  -j, --threads N             worker threads (default: number of CPUs)\n"
        "  -E, --encrypt-key FILE      encrypt the chunks and the index with the store\n"
        "                              key in FILE (doc/encryption.md)\n"
        "  -f, --fingerprints          also write INDEX.fp: XXH3-128 per chunk, so that\n"
        "                              seeding from IMAGE with INDEX checks at memory speed\n"
        "      --packs                 also pack the chunks no pack of the store holds\n"
        "      --index-base OLD.caibx  with --packs: also write the index compressed\n"
        "                              against OLD (a release devices run); repeatable\n"
        "                              yet and write the release's pack index, so that\n"
        "                              devices fetch ranges of a few files\n"
        "                              (doc/pack-format.md)\n"
        "      --deltas                also store zstd deltas of the new chunks against\n"
        "                              resembling chunks of the store or of the release\n"
        "                              (STORE/deltas/, sketches kept in STORE/sketches/)\n"
        "      --delta-level N         zstd level of the deltas, 1..19 (default 19)\n"
        "  -m, --manifest FILE         also write a (unsigned) single-image release\n"
        "                              manifest; needs --compatible and --version\n"
        "      --compatible STRING     the manifest's product/hardware string\n"
        "      --version VERSION       the manifest's release version\n"
        "      --image-name NAME       the image's name (default: INDEX's base name)\n"
        "      --slot-class CLASS      the slot class it installs to (default rootfs)\n"
        "  -q, --quiet                 no progress and no summary\n"
        "      --json                  statistics as JSON on stdout\n"
        "  -h, --help                  show this help\n";

/* Progress: the delta step's phases are not shown with --quiet (the make
 * phase is, as JSON events with --json). */
static void make_progress(void *userdata, const char *what, uint64_t done, uint64_t total) {
        if (cadu_quiet && (!strcmp(what, "sketches") || !strcmp(what, "deltas")))
                return;
        cadu_cmd_progress_fn(userdata, what, done, total);
}

static bool same_file(const char *a, const char *b) {
        struct stat sa, sb;
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int parse_chunk_size(cadu_maker *m, const char *arg) {
        _cleanup_free_ char *s = strdup(arg);
        uint64_t min, avg, max;
        if (!s)
                return -ENOMEM;
        char *a = s, *b = strchr(a, ':'), *c;
        if (!b || !(c = strchr(b + 1, ':')))
                return -EINVAL;
        *b++ = 0;
        *c++ = 0;
        if (cadu_parse_size(a, &min) < 0 || cadu_parse_size(b, &avg) < 0 || cadu_parse_size(c, &max) < 0)
                return -EINVAL;
        return cadu_maker_set_chunk_size(m, min, avg, max);
}

static int make(cadu_context *ctx, cadu_maker *m, int argc, char **argv) {
        static const struct option options[] = {
                { "store", required_argument, NULL, 's' },
                { "chunk-size", required_argument, NULL, 'c' },
                { "digest", required_argument, NULL, 'd' },
                { "compression-level", required_argument, NULL, 'l' },
                { "threads", required_argument, NULL, 'j' },
                { "manifest", required_argument, NULL, 'm' },
                { "fingerprints", no_argument, NULL, 'f' },
                { "deltas", no_argument, NULL, 'D' },
                { "delta-level", required_argument, NULL, 'L' },
                { "compatible", required_argument, NULL, 'C' },
                { "version", required_argument, NULL, 'V' },
                { "image-name", required_argument, NULL, 'N' },
                { "slot-class", required_argument, NULL, 'K' },
                { "packs", no_argument, NULL, 'P' },
                { "index-base", required_argument, NULL, 'I' },
                { "encrypt-key", required_argument, NULL, 'E' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *store_path = NULL, *manifest_path = NULL, *compatible = NULL, *version = NULL,
                   *image_name = NULL, *slot_class = "rootfs", *key_path = NULL;
        uint64_t level = 3, threads = 0, delta_level = 19;
        bool fingerprints = false, packs = false, deltas = false;
        size_t n_index_bases = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "s:c:d:l:j:m:fE:h", options, NULL)) >= 0) {
                switch (c) {
                case 'm': manifest_path = optarg; break;
                case 'f': fingerprints = true; break;
                case 'P': packs = true; break;
                case 'I':
                        if ((r = cadu_maker_add_index_base(m, optarg)) == -E2BIG)
                                return cadu_usage_error("make", "at most %d --index-base", 16);
                        if (r < 0)
                                return cadu_error_errno(r, "make");
                        n_index_bases++;
                        break;
                case 'D': deltas = true; break;
                case 'L':
                        if (cadu_parse_uint(optarg, 1, 19, &delta_level) < 0)
                                return cadu_usage_error("make", "invalid --delta-level '%s' (1..19)", optarg);
                        break;
                case 'C': compatible = optarg; break;
                case 'V': version = optarg; break;
                case 'N': image_name = optarg; break;
                case 'K': slot_class = optarg; break;
                case 's': store_path = optarg; break;
                case 'E': key_path = optarg; break;
                case 'c':
                        if (parse_chunk_size(m, optarg) < 0)
                                return cadu_usage_error("make", "invalid --chunk-size '%s': need MIN:AVG:MAX with 1 <= MIN <= AVG <= MAX <= 128M, and MAX >= 48 unless MIN == MAX", optarg);
                        break;
                case 'd':
                        if (cadu_maker_set_digest(m, optarg) < 0)
                                return cadu_usage_error("make", "unknown digest '%s' (use sha256 or sha512-256)", optarg);
                        break;
                case 'l':
                        if (cadu_parse_uint(optarg, 1, 19, &level) < 0)
                                return cadu_usage_error("make", "invalid --compression-level '%s' (1..19)", optarg);
                        break;
                case 'j':
                        if (cadu_parse_uint(optarg, 1, 256, &threads) < 0)
                                return cadu_usage_error("make", "invalid --threads '%s' (1..256)", optarg);
                        break;
                case 'h':
                        fputs(make_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("make", "invalid option");
                }
        }
        if (argc - optind != 2)
                return cadu_usage_error("make", "expected IMAGE and INDEX");
        const char *image = argv[optind], *index_path = argv[optind + 1];
        if (manifest_path && (!compatible || !version))
                return cadu_usage_error("make", "--manifest needs --compatible and --version");
        if (!manifest_path && (compatible || version || image_name))
                return cadu_usage_error("make", "--compatible, --version and --image-name go with --manifest");
        if (key_path && n_index_bases)
                return cadu_usage_error("make", "--index-base: compact indexes hold plaintext chunk ids; not with --encrypt-key");
        if (key_path && fingerprints)
                return cadu_usage_error("make", "--fingerprints writes plaintext chunk hashes: not with --encrypt-key");
        if (key_path && (r = cadu_cmd_set_key_file(ctx, "--encrypt-key", key_path)) != 0)
                return r;

        _cleanup_free_ char *default_store = NULL;
        if (!store_path) {
                if (cadu_default_store(index_path, &default_store) < 0)
                        return cadu_error_errno(-ENOMEM, "make");
                store_path = default_store;
        }
        bool url = !strncmp(store_path, "http://", 7) || !strncmp(store_path, "https://", 8);
        if (deltas && url)
                return cadu_error("make --deltas needs a directory store, not %s", store_path);

        /* The outputs must not be the image itself (also through a hard or
         * symbolic link): writing them would destroy the input. */
        const char *outputs[] = { index_path, manifest_path };
        for (size_t i = 0; i < CADU_ELEMENTSOF(outputs); i++)
                if (outputs[i] && same_file(outputs[i], image))
                        return cadu_usage_error("make", "%s %s is the image %s itself (it would be overwritten)",
                                                i ? "manifest" : "index", outputs[i], image);
        if (manifest_path && same_file(manifest_path, index_path))
                return cadu_usage_error("make", "manifest %s is the index %s itself", manifest_path, index_path);

        if ((r = cadu_context_set_threads(ctx, (unsigned)threads)) < 0 ||
            (r = cadu_maker_set_compression_level(m, (int)level)) < 0 ||
            (r = cadu_maker_set_fingerprints(m, fingerprints)) < 0 ||
            (r = cadu_maker_set_deltas(m, deltas, (int)delta_level)) < 0 || (r = cadu_maker_set_packs(m, packs)) < 0 ||
            (manifest_path &&
             (r = cadu_maker_set_manifest(m, manifest_path, compatible, version, image_name, slot_class)) < 0))
                return cadu_error_errno(r, "make");

        cadu_store *store = NULL;
        r = cadu_store_open_location(ctx, store_path, url ? 0 : CADU_STORE_CREATE, &store);
        if (r < 0)
                return cadu_error_lib(ctx, r, "cannot open store");

        static const char *const count_phases[] = { "sketches", "deltas", NULL };
        cadu_cmd_progress prog = { .count_phases = count_phases };
        cadu_context_set_progress(ctx, make_progress, &prog);
        uint64_t start = cadu_now_ns();
        r = cadu_maker_run(m, image, store, index_path);
        cadu_cmd_progress_end(&prog);
        cadu_store_close(store);
        if (r < 0)
                return cadu_error_lib(ctx, r, "make");
        if (deltas)
                print_deltas(m);
        if (packs)
                print_packs(m, store_path, index_path);
        uint64_t total = 0, chunks = 0, new_chunks = 0, new_bytes = 0, new_compressed = 0;
        cadu_maker_get(m, CADU_MAKE_STAT_IMAGE_BYTES, &total);
        cadu_maker_get_stats(m, &chunks, &new_chunks, &new_bytes, &new_compressed);
        double secs = (double)(cadu_now_ns() - start) / 1e9;
        if (cadu_json)
                printf("{\"event\":\"done\",\"command\":\"make\",\"bytes\":%llu,\"chunks\":%llu,"
                       "\"new_chunks\":%llu,\"new_bytes\":%llu,\"new_compressed_bytes\":%llu,\"seconds\":%.3f}\n",
                       (unsigned long long)total, (unsigned long long)chunks, (unsigned long long)new_chunks,
                       (unsigned long long)new_bytes, (unsigned long long)new_compressed, secs);
        else if (!cadu_quiet) {
                char a[32], b[32], cc[32];
                fprintf(stderr, "%s: %s in %llu chunks, %llu new in %s (%s -> %s), %.2f s\n", index_path,
                        cadu_format_bytes(total, a), (unsigned long long)chunks, (unsigned long long)new_chunks,
                        store_path, cadu_format_bytes(new_bytes, b), cadu_format_bytes(new_compressed, cc), secs);
        }
        return CADU_EXIT_OK;
}

int cadu_cmd_make(int argc, char **argv) {
        cadu_context *ctx = NULL;
        cadu_maker *m = NULL;
        int r = cadu_context_new(&ctx);
        if (r == 0 && (r = cadu_maker_new(ctx, &m)) < 0)
                cadu_context_free(ctx);
        if (r < 0)
                return cadu_error_errno(r, "make");
        cadu_context_set_log(ctx, cadu_cmd_log, NULL);
        int ret = make(ctx, m, argc, argv);
        cadu_maker_free(m);
        cadu_context_free(ctx);
        return ret;
}
