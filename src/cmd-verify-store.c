/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-verify-store.c - cadu verify-store: every chunk of a store, decompressed and re-hashed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <sys/file.h>
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
#include "verify.h"
#include "cmd-storeops.h"

static const char verify_help[] =
        "Usage: cadu verify-store [OPTIONS] STORE [INDEX...]\n\n"
        "Check a chunk store: every chunk file (or, with INDEX, every chunk those\n"
        "indexes need) is present, decompresses and matches its id. Prints one\n"
        "line per problem on stdout:\n"
        "  missing ID             a chunk an index needs is not in the store\n"
        "  corrupt ID: REASON     a chunk file does not decode to its id\n"
        "  stray PATH: REASON     a file that is no chunk (bad name, leftover\n"
        "                         temporary file, anything else)\n"
        "  error ID: REASON       a chunk could not be read (I/O, network)\n"
        "Exit status 0 when the store is sound, 3 when a problem was found.\n"
        "An http(s) store cannot be listed: give the indexes; its chunks are\n"
        "checked for presence (HEAD) unless --download verifies them fully.\n\n"
        "Options:\n"
        "  -d, --digest NAME       without INDEX: the digest of the chunk ids,\n"
        "                          sha256 or sha512-256 (default: either)\n"
        "      --download          on an http(s) store, download and verify every\n"
        "                          chunk, not only check it is there\n"
        "  -K, --key-file FILE     the key of an encrypted store: every encrypted\n"
        "                          chunk file is authenticated, decrypted and checked\n"
        "                          against its keyed name (without it only their\n"
        "                          structure is checked; doc/encryption.md)\n"
        "  -j, --threads N         worker threads (default: CPUs, +8 for a network store)\n"
        "  -q, --quiet             no progress and no summary\n"
        "      --json              problems and statistics as JSON lines on stdout\n"
        "  -h, --help              show this help\n\n";

/* A defect in a pack or pack index: one line, like a corrupt chunk's. */
static void pack_problem(void *ud, const char *where, const char *why) {
        (void)ud;
        if (cadu_json) {
                printf("{\"event\":\"problem\",\"kind\":\"corrupt\",\"path\":");
                cadu_json_string(stdout, where);
                printf(",\"reason\":");
                cadu_json_string(stdout, why);
                printf("}\n");
        } else
                printf("corrupt %s: %s\n", where, why);
}

/* An encrypted release's packs with the key: its index decrypted, the
 * store read as an encrypted store. 0 with *r the defects (or -errno), or
 * an exit code after the error. */
static int verify_sealed_packs(const char *store_loc, const cadu_storeopts *so, const char *path,
                               const uint8_t sha[CADU_DIGEST_SIZE], const cadu_crypt_key *key, cadu_packs_stats *ps,
                               int *r) {
        cadu_index_file f;
        cadu_index_fault fault;
        cadu_store *s = NULL;
        _cleanup_free_ char *msg = NULL, *err = NULL;
        int ret = 0;
        if ((*r = cadu_index_file_read(path, key, 0, &f, &fault, &err)) < 0)
                return index_file_error(path, *r, &f, fault, err);
        if ((*r = cadu_store_open(store_loc, &so->opts, false, &s)) < 0 || (*r = cadu_store_wrap_key(&s, key)) < 0) {
                ret = cadu_error_errno(*r, "cannot open store %s", store_loc);
                goto out;
        }
        *r = cadu_packs_verify(s, f.idx, sha, pack_problem, NULL, ps, &msg);
        if (*r < 0)
                ret = cadu_error_errno(*r, "verify-store %s: %s", store_loc, msg ? msg : path);
out:
        cadu_store_free(s);
        cadu_index_file_done(&f);
        return ret;
}

int cadu_cmd_verify_store(int argc, char **argv) {
        enum { OPT_DOWNLOAD = 0x100 };
        static const struct option options[] = {
                { "digest", required_argument, NULL, 'd' },
                { "download", no_argument, NULL, OPT_DOWNLOAD },
                { "threads", required_argument, NULL, 'j' },
                { "key-file", required_argument, NULL, 'K' },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        const char *key_path = NULL;
        cadu_verify v = { .set = CADU_CHUNK_SET_INIT };
        bool download = false;
        unsigned threads = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "d:j:K:h", options, NULL)) >= 0) {
                switch (c) {
                case 'K': key_path = optarg; break;
                case 'd':
                        if (cadu_digest_from_name(optarg, &v.digest) < 0)
                                return cadu_usage_error("verify-store", "unknown digest '%s' (use sha256 or sha512-256)",
                                                        optarg);
                        v.have_digest = true;
                        break;
                case OPT_DOWNLOAD: download = true; break;
                case 'j':
                        if ((r = parse_threads("verify-store", optarg, &threads)) != 0)
                                return r;
                        break;
                case 'h':
                        fputs(verify_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        return CADU_EXIT_OK;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        if ((r = cadu_storeopts_parse(&so, "verify-store", c, optarg)) != 0)
                                return r;
                        break;
                default:
                        return cadu_usage_error("verify-store", "invalid option");
                }
        }
        if (optind >= argc)
                return cadu_usage_error("verify-store", "expected STORE");
        if (key_path && (r = cadu_cmd_load_key("--key-file", key_path, &key)) != 0)
                return r;
        v.key = key_path ? &key : NULL;
        const char *store_loc = argv[optind++];
        bool is_url = cadu_location_is_url(store_loc);
        v.index_mode = optind < argc;
        if (v.index_mode && v.have_digest)
                return cadu_usage_error("verify-store", "--digest is for a store checked without INDEX "
                                                        "(the indexes name their digest)");
        if (is_url && !v.index_mode)
                return cadu_usage_error("verify-store", "an http(s) store cannot be listed: give the INDEX files "
                                                        "whose chunks to check");

        index_list l = { 0 };
        uint64_t start = cadu_now_ns();
        int ret = CADU_EXIT_OK;
        if (v.index_mode) {
                if ((ret = read_indexes(argv + optind, (size_t)(argc - optind), &l, true)))
                        goto out;
                if ((ret = add_indexes(&v.set, &l)))
                        goto out;
                v.have_digest = true;
        }
        r = cadu_store_open(store_loc, &so.opts, false, &v.store);
        if (r < 0) {
                ret = cadu_error_errno(r, "cannot open store %s", store_loc);
                goto out;
        }
        v.head_only = is_url && !download;
        v.threads = default_threads(threads, v.store);
        v.root = is_url ? NULL : store_loc;
        /* Bytes the indexes name, or chunks of a listed store. */
        cadu_engine_progress vp = { .what = "verify-store", .unit = v.index_mode ? NULL : "chunks" };
        v.progress = cadu_engine_progress_fn;
        v.userdata = &vp;
        r = cadu_verify_run(&v);
        cadu_progress_end(&vp.prog);
        if (r < 0) {
                ret = cadu_error_errno(r, "%s", v.error ? v.error : "verify-store");
                goto out;
        }

        size_t nmissing = 0, ncorrupt = 0, nerror = 0, nok = 0;
        int first_err = 0;
        char hex[HEX_SIZE];
        for (size_t i = 0; i < v.set.n; i++) {
                const cadu_verify_result *res = &v.res[i];
                const char *kind = res->kind == CADU_CHECK_MISSING ? "missing" : res->kind == CADU_CHECK_CORRUPT ? "corrupt" : "error";
                const char *why = res->kind == CADU_CHECK_ERROR ? cadu_strerror(res->err) : res->why ? res->why : "out of memory";
                if (res->kind == CADU_CHECK_OK) {
                        nok++;
                        continue;
                }
                nmissing += res->kind == CADU_CHECK_MISSING;
                ncorrupt += res->kind == CADU_CHECK_CORRUPT;
                if (res->kind == CADU_CHECK_ERROR) {
                        nerror++;
                        if (!first_err)
                                first_err = res->err;
                }
                hexid(v.set.entries[i].id, hex);
                if (cadu_json) {
                        printf("{\"event\":\"problem\",\"kind\":\"%s\",\"id\":\"%s\"", kind, hex);
                        if (res->kind != CADU_CHECK_MISSING) {
                                printf(",\"reason\":");
                                cadu_json_string(stdout, why);
                        }
                        printf("}\n");
                } else if (res->kind == CADU_CHECK_MISSING)
                        printf("missing %s\n", hex);
                else
                        printf("%s %s: %s\n", kind, hex, why);
        }
        for (size_t i = 0; i < v.nstrays; i++) {
                if (cadu_json) {
                        printf("{\"event\":\"problem\",\"kind\":\"stray\",\"path\":");
                        cadu_json_string(stdout, v.strays[i].path);
                        printf(",\"reason\":");
                        cadu_json_string(stdout, v.strays[i].why);
                        printf("}\n");
                } else
                        printf("stray %s: %s\n", v.strays[i].path, v.strays[i].why);
        }
        /* The releases' packs and delta files. */
        cadu_packs_stats ps = { 0 };
        for (size_t i = 0; i < l.n; i++) {
                uint8_t sha[CADU_DIGEST_SIZE];
                _cleanup_free_ char *msg = NULL;
                /* Encrypted: the sealed pack index named by the file's
                 * sha256; with the key, everything in it. */
                if ((r = cadu_sha256_file(l.paths[i], sha, NULL)) == 0 && l.idx[i])
                        r = cadu_packs_verify(v.store, l.idx[i], sha, pack_problem, NULL, &ps, &msg);
                else if (r == 0 && !v.key)
                        r = cadu_packs_verify_sealed(v.store, sha, pack_problem, NULL, &ps, &msg);
                else if (r == 0 && (ret = verify_sealed_packs(store_loc, &so, l.paths[i], sha, v.key, &ps, &r)))
                        goto out;
                if (r < 0) {
                        ret = cadu_error_errno(r, "verify-store %s: %s", store_loc, msg ? msg : l.paths[i]);
                        goto out;
                }
                ncorrupt += (size_t)r;
        }
        bool sound = !nmissing && !ncorrupt && !v.nstrays && !nerror;
        double secs = (double)(cadu_now_ns() - start) / 1e9;
        if (cadu_json)
                printf("{\"event\":\"done\",\"command\":\"verify-store\",\"sound\":%s,\"chunks\":%zu,"
                       "\"verified\":%zu,\"missing\":%zu,\"corrupt\":%zu,\"stray\":%zu,\"errors\":%zu,"
                       "\"unreferenced\":%llu,\"bytes\":%llu,\"raw_bytes\":%llu,\"presence_only\":%s,"
                       "\"pack_indexes\":%llu,\"packs\":%llu,\"decoded_deltas\":%llu,\"seconds\":%.3f}\n",
                       sound ? "true" : "false", v.set.n, nok, nmissing, ncorrupt, v.nstrays, nerror,
                       (unsigned long long)v.unreferenced, (unsigned long long)v.bytes,
                       (unsigned long long)v.raw_bytes, v.head_only ? "true" : "false",
                       (unsigned long long)ps.pack_indexes, (unsigned long long)ps.packs,
                       (unsigned long long)ps.deltas, secs);
        else if (!cadu_quiet) {
                char a[32], b[32];
                fprintf(stderr, "%s: %zu chunks %s in %.2f s", store_loc, nok,
                        v.head_only ? "present (not downloaded: presence only)" : "verified", secs);
                if (!v.head_only)
                        fprintf(stderr, " (%s, %s compressed)", cadu_format_bytes(v.bytes, a),
                                cadu_format_bytes(v.raw_bytes, b));
                if (v.index_mode && !is_url)
                        fprintf(stderr, ", %llu chunks no index needs", (unsigned long long)v.unreferenced);
                if (ps.pack_indexes)
                        fprintf(stderr, "; %llu pack indexes, %llu packs (%s) checked entry by entry, %llu deltas decoded",
                                (unsigned long long)ps.pack_indexes, (unsigned long long)ps.packs,
                                cadu_format_bytes(ps.pack_bytes, a), (unsigned long long)ps.deltas);
                fputc('\n', stderr);
        }
        fflush(stdout);
        if (!sound) {
                cadu_error("store %s is not sound: %zu missing, %zu corrupt, %zu stray%s", store_loc, nmissing,
                           ncorrupt, v.nstrays, nerror ? ", some chunks could not be read" : "");
                ret = (nmissing || ncorrupt || v.nstrays) ? CADU_EXIT_VERIFY : cadu_storeopts_exit_code(first_err);
        }
out:
        cadu_verify_done(&v);
        cadu_store_free(v.store);
        index_list_done(&l);
        return ret;
}
