/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-mirror.c - cadu mirror: copy releases (indexes or manifests) and their chunks between stores.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <time.h>

#include "cadu-chunker.h"
#include <openssl/crypto.h>

#include "cadu-crypt.h"
#include "cadu-envelope.h"
#include "cadu-index.h"
#include "cadu-manifest.h"
#include "cadu-store.h"
#include "cmd.h"
#include "cmd-crypt.h"
#include "extract.h"
#include "store-packs.h"
#include "storeopts.h"
#include "storewalk.h"
#include "mirror-release.h"
#include "cmd-storeops.h"

static const char mirror_help[] =
        "Usage: cadu mirror [OPTIONS] --to DIR INDEX...\n"
        "       cadu mirror [OPTIONS] --to DIR MANIFEST\n\n"
        "Copy exactly the chunks the indexes need from a store (directory or\n"
        "http(s) URL) into the directory store DIR: for local media that devices\n"
        "install from without a network. Every chunk is decompressed and checked\n"
        "against its id on the way and stored as it was compressed. Chunks DIR\n"
        "already holds intact are skipped, so an interrupted mirror resumes.\n"
        "An encrypted index (doc/encryption.md) lists its chunk files by keyed\n"
        "name: they are copied as they are, checked for structure only, and no\n"
        "key is needed.\n\n"
        "Given a MANIFEST (a path or http(s) URL ending in .manifest, or a file\n"
        "holding an [update] section), the indexes are the manifest's (checked\n"
        "against its sha256 pins) and DIR receives the manifest, its signature\n"
        "MANIFEST.sig, the indexes, deltas and full images at their relative\n"
        "paths, and the chunks in the store directory the manifest names (a\n"
        "relative store), else in DIR/default.castr. The manifest is written\n"
        "last: a DIR holding it is complete.\n\n"
        "Options:\n"
        "  -f, --from STORE        where the chunks come from (default with a manifest:\n"
        "                          the store it names, relative to it)\n"
        "  -t, --to DIR            the directory to fill (created if needed)\n"
        "  -x, --except-index OLD  leave out the chunks of OLD, e.g. the version the\n"
        "                          devices run now and will use as seed (repeatable)\n"
        "  -j, --threads N         worker threads (default: CPUs, +8 for a network store)\n"
        "  -q, --quiet             no progress and no summary\n"
        "      --json              progress and statistics as JSON on stdout\n"
        "  -h, --help              show this help\n\n";

/* Print the release mirror's failure and return its exit code. */
static int release_error(cadu_release_mirror *rm, int r) {
        if (!rm->error)
                return cadu_error_errno(r, "mirror");
        int ret = rm->exit == CADU_EXIT_USAGE ? cadu_usage_error("mirror", "%s", rm->error)
                                              : (cadu_error("%s", rm->error), rm->exit);
        free(rm->error);
        rm->error = NULL;       /* the next failure has its own line */
        return ret;
}

/* Copy the chunks of one job. Returns an exit code (printing the errors). */
static int run_mirror_job(cadu_release_mirror *rm, cadu_mirror_job *job, const cadu_chunk_set *except,
                          unsigned threads, uint64_t *ret_stats, cadu_packs_stats *ps) {
        cadu_engine_progress mp = { .what = "mirror" };
        int ret = CADU_EXIT_OK, r;
        char hex[HEX_SIZE];

        if ((r = cadu_release_mirror_open(rm, job)) < 0) {
                ret = release_error(rm, r);
                goto out;
        }
        job->m.threads = default_threads(threads, job->m.src);
        job->m.progress = cadu_engine_progress_fn;
        job->m.userdata = &mp;
        r = cadu_release_mirror_copy(rm, job, except);
        cadu_progress_end(&mp.prog);
        if (r < 0) {
                ret = release_error(rm, r);
                goto out;
        }
        const cadu_chunk_set *need = &job->need;
        for (size_t i = 0; i < need->n; i++) {
                const cadu_chunk_entry *e = &need->entries[i];
                if (e->state == CADU_MIRROR_PRESENT || e->state == CADU_MIRROR_COPIED)
                        continue;
                hexid(e->id, hex);
                const char *kind = e->state == CADU_MIRROR_MISSING   ? "missing"
                                   : e->state == CADU_MIRROR_CORRUPT ? "corrupt"
                                                                     : "error";
                if (cadu_json) {
                        printf("{\"event\":\"problem\",\"kind\":\"%s\",\"id\":\"%s\",\"reason\":", kind, hex);
                        cadu_json_string(stdout, cadu_strerror(job->m.errs[i]));
                        printf("}\n");
                } else if (e->state == CADU_MIRROR_MISSING)
                        printf("missing %s\n", hex);
                else
                        printf("%s %s: %s\n", kind, hex, cadu_strerror(job->m.errs[i]));
        }
        ret_stats[0] += need->n;
        ret_stats[1] += job->m.total;
        ret_stats[2] += job->m.present;
        ret_stats[3] += job->m.copied;
        ret_stats[4] += job->m.copied_raw;
        ret_stats[5] += job->m.repaired;
        if (job->nmissing || job->ncorrupt || job->nerror) {
                char det[256];
                const char *d = job->nerror ? store_detail(job->m.src, det, sizeof(det)) : NULL;
                cadu_error("mirror from %s: %zu chunks could not be copied (%zu missing, %zu corrupt, %zu failed%s%s)",
                           job->from, job->nmissing + job->ncorrupt + job->nerror, job->nmissing, job->ncorrupt,
                           job->nerror, d ? ": " : "", d ? d : "");
                ret = job->nerror ? cadu_storeopts_exit_code(job->first_err)
                      : job->ncorrupt ? CADU_EXIT_VERIFY
                                      : CADU_EXIT_FAILURE;
        }
        /* The releases' packs, pack indexes and delta files. */
        if (!ret && (r = cadu_release_mirror_packs(rm, job, ps)) < 0)
                ret = release_error(rm, r);
out:
        cadu_mirror_job_close(job);
        return ret;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n > k && !strcmp(s + n - k, suffix);
}

/* A manifest by name (*.manifest), or a local file with an [update] section. */
static bool looks_like_manifest(const char *path) {
        if (has_suffix(path, ".manifest"))
                return true;
        if (cadu_location_is_url(path))
                return false;
        uint8_t *buf = NULL;
        size_t len = 0;
        if (cadu_read_file(path, CADU_MANIFEST_MAX_SIZE, &buf, &len) < 0)
                return false;
        bool yes = memmem(buf, len, "[update]", 8) != NULL;
        free(buf);
        return yes;
}

int cadu_cmd_mirror(int argc, char **argv) {
        static const struct option options[] = {
                { "from", required_argument, NULL, 'f' },
                { "to", required_argument, NULL, 't' },
                { "except-index", required_argument, NULL, 'x' },
                { "threads", required_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
        _cleanup_free_ char **except_paths = calloc((size_t)argc, sizeof(char *));
        const char *from = NULL, *to = NULL;
        size_t nexcept = 0;
        unsigned threads = 0;
        int c, r;

        if (!except_paths)
                return cadu_error_errno(-ENOMEM, "mirror");
        while ((c = getopt_long(argc, argv, "f:t:x:j:h", options, NULL)) >= 0) {
                switch (c) {
                case 'f': from = optarg; break;
                case 't': to = optarg; break;
                case 'x': except_paths[nexcept++] = optarg; break;
                case 'j':
                        if ((r = parse_threads("mirror", optarg, &threads)) != 0)
                                return r;
                        break;
                case 'h':
                        fputs(mirror_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        return CADU_EXIT_OK;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        if ((r = cadu_storeopts_parse(&so, "mirror", c, optarg)) != 0)
                                return r;
                        break;
                default:
                        return cadu_usage_error("mirror", "invalid option");
                }
        }
        if (!to)
                return cadu_usage_error("mirror", "--to DIR is required");
        if (optind >= argc)
                return cadu_usage_error("mirror", "expected INDEX... or a MANIFEST");
        if (cadu_location_is_url(to) || strstr(to, "://"))
                return cadu_usage_error("mirror", "--to must be a local directory, not %s", to);
        bool manifest = argc - optind == 1 && looks_like_manifest(argv[optind]);
        for (int i = optind; !manifest && i < argc; i++)
                if (cadu_location_is_url(argv[i]))
                        return cadu_usage_error("mirror", "%s: INDEX must be a local file (a MANIFEST, named "
                                                          "*.manifest, may be a URL)", argv[i]);
        if (!manifest && !from)
                return cadu_usage_error("mirror", "--from STORE is required with INDEX files");

        index_list l = { 0 }, ex = { 0 };
        cadu_chunk_set except = CADU_CHUNK_SET_INIT;
        cadu_release_mirror rm = CADU_RELEASE_MIRROR_INIT;
        uint64_t stats[6] = { 0 };
        cadu_packs_stats ps = { 0 };
        uint64_t start = cadu_now_ns();
        int ret = CADU_EXIT_OK;

        rm.to = to;
        rm.opts = &so.opts;
        if ((r = cadu_release_mirror_lock(&rm)) < 0) {
                ret = release_error(&rm, r);
                goto out;
        }
        if ((ret = read_indexes(except_paths, nexcept, &ex, true)))
                goto out;
        if ((ret = add_indexes(&except, &ex)))
                goto out;
        if (manifest) {
                if ((r = cadu_release_mirror_plan(&rm, argv[optind], from)) < 0) {
                        ret = release_error(&rm, r);
                        goto out;
                }
        } else {
                if ((ret = read_indexes(argv + optind, (size_t)(argc - optind), &l, true)))
                        goto out;
                cadu_mirror_job *j = cadu_release_mirror_job(&rm, from, to);
                if (!j) {
                        ret = cadu_error_errno(-ENOMEM, "mirror");
                        goto out;
                }
                if ((ret = add_indexes(&j->set, &l)))
                        goto out;
                for (size_t i = 0; i < l.n; i++) {
                        uint8_t sha[CADU_DIGEST_SIZE];
                        cadu_index *idx = NULL;
                        /* Encrypted: its sealed pack index, by the file's sha256. */
                        if ((r = cadu_sha256_file(l.paths[i], sha, NULL)) < 0 ||
                            (l.idx[i] && (r = cadu_index_read(l.paths[i], &idx, NULL)) < 0) ||
                            (r = cadu_mirror_job_add_release(j, idx, sha)) < 0) {
                                ret = cadu_error_errno(r, "index %s", l.paths[i]);
                                goto out;
                        }
                }
        }
        if ((r = cadu_release_mirror_clean(&rm)) < 0) {
                ret = release_error(&rm, r);
                goto out;
        }
        if (rm.removed && !cadu_quiet && !cadu_json)
                fprintf(stderr, "%s: removed %zu temporary file%s of an interrupted mirror\n", to, rm.removed,
                        rm.removed == 1 ? "" : "s");
        for (size_t i = 0; i < rm.njobs; i++) {
                int k = run_mirror_job(&rm, &rm.jobs[i], &except, threads, stats, &ps);
                if (k && !ret)
                        ret = k;
        }
        if (ret)
                goto out;
        if (manifest && (r = cadu_release_mirror_files(&rm)) < 0) {
                ret = release_error(&rm, r);
                goto out;
        }

        double secs = (double)(cadu_now_ns() - start) / 1e9;
        if (cadu_json)
                printf("{\"event\":\"done\",\"command\":\"mirror\",\"chunks\":%llu,\"bytes\":%llu,"
                       "\"present_chunks\":%llu,\"copied_chunks\":%llu,\"copied_raw_bytes\":%llu,"
                       "\"repaired_chunks\":%llu,\"pack_indexes\":%llu,\"copied_packs\":%llu,"
                       "\"copied_pack_bytes\":%llu,\"present_packs\":%llu,\"copied_deltas\":%llu,"
                       "\"copied_delta_bytes\":%llu,\"seconds\":%.3f}\n",
                       (unsigned long long)stats[0], (unsigned long long)stats[1], (unsigned long long)stats[2],
                       (unsigned long long)stats[3], (unsigned long long)stats[4], (unsigned long long)stats[5],
                       (unsigned long long)ps.pack_indexes, (unsigned long long)ps.packs,
                       (unsigned long long)ps.pack_bytes, (unsigned long long)ps.present,
                       (unsigned long long)ps.deltas, (unsigned long long)ps.delta_bytes, secs);
        else if (!cadu_quiet) {
                char a[32], b[32];
                fprintf(stderr, "%s: %llu chunks needed (%s): %llu were there, %llu copied (%s compressed)",
                        to, (unsigned long long)stats[0], cadu_format_bytes(stats[1], a),
                        (unsigned long long)stats[2], (unsigned long long)stats[3], cadu_format_bytes(stats[4], b));
                if (stats[5])
                        fprintf(stderr, ", %llu damaged copies replaced", (unsigned long long)stats[5]);
                fprintf(stderr, ", %.2f s\n", secs);
                if (ps.pack_indexes)
                        fprintf(stderr, "  %llu pack indexes: %llu packs copied (%s), %llu were there; %llu delta files copied\n",
                                (unsigned long long)ps.pack_indexes, (unsigned long long)ps.packs,
                                cadu_format_bytes(ps.pack_bytes, a), (unsigned long long)ps.present,
                                (unsigned long long)ps.deltas);
        }
out:
        cadu_release_mirror_done(&rm);
        cadu_chunk_set_done(&except);
        index_list_done(&l);
        index_list_done(&ex);
        cadu_chunk_codec_release();
        return ret;
}
