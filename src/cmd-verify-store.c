/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-verify-store.c - cadu verify-store: every chunk of a store, decompressed and re-hashed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <dirent.h>
#include <stdatomic.h>
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

enum { V_OK = 0, V_MISSING, V_CORRUPT, V_ERROR };

typedef struct vresult {
        int kind;
        int err;                        /* V_ERROR */
        char *why;                      /* V_CORRUPT, V_ERROR */
} vresult;

typedef struct stray {
        char *path;
        const char *why;
} stray;

typedef struct verifier {
        cadu_store *store;
        cadu_chunk_set set;
        vresult *res;
        bool have_digest;               /* from the indexes or --digest */
        cadu_digest_type digest;        /* --digest */
        bool head_only;
        cadu_buf *raw, *out;            /* per worker */
        progress_ctx pc;
        atomic_uint_fast64_t bytes, raw_bytes;
        bool index_mode;
        const cadu_crypt_key *key;      /* --key-file */
        /* listing a directory store */
        stray *strays;
        size_t nstrays;
        uint64_t unreferenced;
} verifier;

/* What one thread found listing prefix directories: the chunk files (when
 * no index says which to check), the stray files, and (with indexes) the
 * chunks no index names. The walk stats no chunk file; the check does. */
typedef struct found_chunk {
        uint8_t id[CADU_DIGEST_SIZE];
} found_chunk;

typedef struct lister {
        const verifier *v;
        found_chunk *chunks;
        size_t nchunks, achunks;
        stray *strays;
        size_t nstrays, astrays;
        uint64_t unreferenced;
        char *where;                    /* what could not be read */
} lister;

typedef struct listing {
        int rootfd;
        const char *root;
        cadu_store_prefix *prefixes;
        lister *listers;                /* per worker */
        cadu_store_walker *walkers;     /* per worker */
} listing;

/* An encrypted chunk file, named by its keyed name e->id: its structure,
 * and with the key its tag, content and name (doc/encryption.md). */
static int verify_sealed(verifier *v, const cadu_chunk_entry *e, vresult *res, cadu_buf *raw, cadu_buf *out,
                         size_t max) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE], got[CADU_DIGEST_SIZE], name[CADU_CRYPT_NAME_SIZE];
        char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        size_t n;
        if (cadu_crypt_chunk_check(raw->data, raw->len, key_id) < 0) {
                res->kind = V_CORRUPT;
                res->why = strdup("encrypted chunk file is truncated");
                return 0;
        }
        if (!v->key)
                return 0;
        int r = cadu_crypt_chunk_open(v->key, e->id, raw->data, raw->len, &n);
        if (r == -EKEYREJECTED) {
                res->kind = V_CORRUPT;
                cadu_crypt_key_id_hex(key_id, have);
                if (asprintf(&res->why, "encrypted under another key (%s)", have) < 0)
                        res->why = NULL;
                return 0;
        }
        if (r < 0) {
                res->kind = V_CORRUPT;
                res->why = strdup("does not authenticate under the store key (altered, truncated or moved)");
                return 0;
        }
        r = cadu_chunk_decode(raw->data, n, max, out);
        if (r == -EBADMSG || r == -EFBIG) {
                res->kind = V_CORRUPT;
                res->why = strdup("compressed data is corrupt");
                return 0;
        }
        if (r < 0)
                return r;
        v->bytes += out->len;
        bool match = false;
        for (int k = 0; k < 2 && !match; k++) {
                if ((r = cadu_digest(k == 0 ? CADU_DIGEST_SHA256 : CADU_DIGEST_SHA512_256, out->data, out->len, got)) < 0 ||
                    (r = cadu_crypt_chunk_name(v->key, got, name)) < 0)
                        return r;
                match = !memcmp(name, e->id, CADU_CRYPT_NAME_SIZE);
        }
        if (!match) {
                res->kind = V_CORRUPT;
                res->why = strdup("content does not match its keyed name");
        }
        return 0;
}

static int verify_one(void *ud, size_t i, unsigned w) {
        verifier *v = ud;
        cadu_chunk_entry *e = &v->set.entries[i];
        vresult *res = &v->res[i];
        cadu_buf *raw = &v->raw[w], *out = &v->out[w];
        int r;

        /* Progress: the bytes the indexes say, or chunks of a listed store. */
        v->pc.done += v->index_mode ? e->size : 1;
        if (e->state == CHUNK_MISSING) {
                res->kind = V_MISSING;
                return 0;
        }
        if (v->head_only) {
                r = v->store->ops->has(v->store, e->id);
                if (r < 0) {
                        res->kind = V_ERROR;
                        res->err = r;
                } else
                        res->kind = r ? V_OK : V_MISSING;
                return 0;
        }
        size_t max = (size_t)(e->max_size ? e->max_size : CADU_CHUNK_SIZE_MAX_LIMIT);
        r = v->store->ops->get(v->store, e->id, cadu_chunk_max_raw(max), raw);
        if (r == -ENOENT) {
                res->kind = V_MISSING;
                return 0;
        }
        if (r == -EFBIG || r == -EBADMSG) {
                res->kind = V_CORRUPT;
                res->why = strdup(r == -EFBIG ? "chunk file larger than any chunk can compress to"
                                              : "not a regular file, or changed while read");
                return 0;
        }
        if (r < 0) {
                res->kind = V_ERROR;
                res->err = r;
                return 0;
        }
        v->raw_bytes += raw->len;
        if (raw->len >= CADU_CRYPT_MAGIC_SIZE && !memcmp(raw->data, CADU_CRYPT_CHUNK_MAGIC, CADU_CRYPT_MAGIC_SIZE))
                return verify_sealed(v, e, res, raw, out, max);
        r = cadu_chunk_decode(raw->data, raw->len, max, out);
        if (r == -EBADMSG || r == -EFBIG) {
                res->kind = V_CORRUPT;
                if (r == -EBADMSG)
                        res->why = strdup("compressed data is corrupt");
                else if (asprintf(&res->why, "decompresses to more than %zu bytes", max) < 0)
                        res->why = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        v->bytes += out->len;
        if (e->size && out->len != e->size) {
                res->kind = V_CORRUPT;
                if (asprintf(&res->why, "decompresses to %zu bytes, the index says %llu", out->len,
                             (unsigned long long)e->size) < 0)
                        res->why = NULL;
                return 0;
        }
        uint8_t got[CADU_DIGEST_SIZE];
        bool match = false;
        for (int k = 0; k < 2 && !match; k++) {
                cadu_digest_type t = v->have_digest ? (e->size ? e->digest : v->digest)
                                                    : (k == 0 ? CADU_DIGEST_SHA256 : CADU_DIGEST_SHA512_256);
                if ((r = cadu_digest(t, out->data, out->len, got)) < 0)
                        return r;
                match = !memcmp(got, e->id, CADU_DIGEST_SIZE);
                if (v->have_digest)
                        break;
        }
        if (!match) {
                res->kind = V_CORRUPT;
                res->why = strdup("content does not match its id");
        }
        return 0;
}

static void verify_progress(void *ud) {
        progress_show(&((verifier *)ud)->pc);
}

static int list_entry(void *ud, const cadu_store_entry *e) {
        lister *l = ud;
        if (e->kind == CADU_STORE_NAME_CHUNK) {
                if (l->v->index_mode) {
                        /* The set is not changed while the threads list:
                         * lookups are safe, and each entry is found by
                         * exactly one thread. */
                        cadu_chunk_entry *ce = cadu_chunk_set_find(&l->v->set, e->id);
                        if (ce) {
                                ce->state = CHUNK_PRESENT;
                                return 0;
                        }
                        l->unreferenced++;
                        return 0;
                }
                if (CADU_ARRAY_GROW(l->chunks, l->achunks, l->nchunks, 64) < 0)
                        return -ENOMEM;
                memcpy(l->chunks[l->nchunks++].id, e->id, CADU_DIGEST_SIZE);
                return 0;
        }
        if (S_ISDIR(e->st.st_mode) && !strchr(e->path, '/') && cadu_packs_known_dir(e->path))
                return 0;       /* packs, delta files, sketches: checked through the indexes */
        if (CADU_ARRAY_GROW(l->strays, l->astrays, l->nstrays, 64) < 0)
                return -ENOMEM;
        stray *st = &l->strays[l->nstrays];
        if (!(st->path = strdup(e->path)))
                return -ENOMEM;
        st->why = e->kind == CADU_STORE_NAME_TEMP ? "leftover temporary file" : e->why;
        l->nstrays++;
        return 0;
}

static int list_one(void *ud, size_t i, unsigned w) {
        listing *ls = ud;
        return cadu_store_walk_prefix(ls->rootfd, ls->root, &ls->prefixes[i], &ls->walkers[w],
                                      &ls->listers[w].where);
}

static int cmp_stray(const void *a, const void *b) {
        return strcmp(((const stray *)a)->path, ((const stray *)b)->path);
}

/* List the directory store: its prefix directories on nt threads. Every
 * chunk file found is marked present in v->set (index mode: unknown ones
 * are counted as unreferenced; otherwise they are added); everything else
 * becomes a stray, sorted by path. Returns 0 or an exit code. */
static int list_store(verifier *v, const char *root, unsigned nt) {
        listing ls = { .root = root };
        size_t nprefixes = 0;
        int ret = 0, r;
        ls.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ls.rootfd < 0)
                return cadu_error_errno(-errno, "cannot open store %s", root);
        ls.listers = calloc(nt, sizeof(lister));
        ls.walkers = calloc(nt, sizeof(cadu_store_walker));
        if (!ls.listers || !ls.walkers) {
                ret = cadu_error_errno(-ENOMEM, "verify-store");
                goto out;
        }
        for (unsigned k = 0; k < nt; k++) {
                ls.listers[k].v = v;
                ls.walkers[k] = (cadu_store_walker){ .entry = list_entry, .userdata = &ls.listers[k],
                                                     .types_only = true };
        }
        r = cadu_store_list_prefixes(ls.rootfd, root, &ls.walkers[0], &ls.prefixes, &nprefixes, &ls.listers[0].where);
        if (r >= 0)
                r = cadu_parallel_for(nprefixes, nt, list_one, NULL, &ls);
        if (r < 0) {
                const char *where = root;
                for (unsigned k = 0; k < nt; k++)
                        if (ls.listers[k].where) {
                                where = ls.listers[k].where;
                                break;
                        }
                ret = cadu_error_errno(r, "reading store %s", where);
                goto out;
        }
        /* Merge what the threads found. */
        for (unsigned k = 0; k < nt; k++) {
                lister *l = &ls.listers[k];
                v->unreferenced += l->unreferenced;
                for (size_t i = 0; i < l->nchunks; i++) {
                        cadu_chunk_entry *ce;
                        if ((r = cadu_chunk_set_add(&v->set, l->chunks[i].id, &ce)) < 0) {
                                ret = cadu_error_errno(r, "verify-store");
                                goto out;
                        }
                        ce->max_size = CADU_CHUNK_SIZE_MAX_LIMIT;
                        ce->state = CHUNK_PRESENT;
                }
                if (l->nstrays) {
                        stray *n = realloc(v->strays, (v->nstrays + l->nstrays) * sizeof(stray));
                        if (!n) {
                                ret = cadu_error_errno(-ENOMEM, "verify-store");
                                goto out;
                        }
                        v->strays = n;
                        memcpy(v->strays + v->nstrays, l->strays, l->nstrays * sizeof(stray));
                        v->nstrays += l->nstrays;
                        l->nstrays = 0;         /* the paths belong to v now */
                }
        }
        if (v->nstrays)
                qsort(v->strays, v->nstrays, sizeof(stray), cmp_stray);
        for (size_t i = 0; v->index_mode && i < v->set.n; i++)
                if (v->set.entries[i].state != CHUNK_PRESENT)
                        v->set.entries[i].state = CHUNK_MISSING;
out:
        for (unsigned k = 0; ls.listers && k < nt; k++) {
                for (size_t i = 0; i < ls.listers[k].nstrays; i++)
                        free(ls.listers[k].strays[i].path);
                free(ls.listers[k].strays);
                free(ls.listers[k].chunks);
                free(ls.listers[k].where);
        }
        free(ls.listers);
        free(ls.walkers);
        free(ls.prefixes);
        close(ls.rootfd);
        return ret;
}

static int cmp_entry_id(const void *a, const void *b) {
        return memcmp(((const cadu_chunk_entry *)a)->id, ((const cadu_chunk_entry *)b)->id, CADU_DIGEST_SIZE);
}

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
        cadu_buf b = CADU_BUF_INIT;
        cadu_index *idx = NULL;
        cadu_store *s = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *why = NULL;
        bool encrypted;
        int ret = 0;
        if ((*r = cadu_fetch(path, NULL, CADU_INDEX_FILE_MAX, &b, NULL)) < 0)
                return cadu_error_errno(*r, "cannot read index %s", path);
        if ((ret = cadu_cmd_open_index(path, key, &b, &encrypted)))
                goto out;
        if ((*r = cadu_index_parse(b.data, b.len, &idx, &why)) < 0) {
                cadu_error("index %s: %s", path, why ? why : cadu_strerror(*r));
                ret = CADU_EXIT_VERIFY;
                goto out;
        }
        if ((*r = cadu_store_open(store_loc, &so->opts, false, &s)) < 0 || (*r = cadu_cmd_wrap_store(&s, key)) < 0) {
                ret = cadu_error_errno(*r, "cannot open store %s", store_loc);
                goto out;
        }
        *r = cadu_packs_verify(s, idx, sha, pack_problem, NULL, ps, &msg);
        if (*r < 0)
                ret = cadu_error_errno(*r, "verify-store %s: %s", store_loc, msg ? msg : path);
out:
        cadu_store_free(s);
        cadu_index_free(idx);
        cadu_buf_free(&b);
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
        verifier v = { .set = CADU_CHUNK_SET_INIT };
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
        unsigned nt = 0;
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
        nt = default_threads(threads, v.store);
        /* List the store: chunks, and everything that is not one. */
        if (!is_url && (ret = list_store(&v, store_loc, nt)))
                goto out;
        /* Report in id order whatever the threads did. */
        if (v.set.n)
                qsort(v.set.entries, v.set.n, sizeof(*v.set.entries), cmp_entry_id);
        free(v.set.slots);      /* the order changed; no more lookups */
        v.set.slots = NULL;
        v.set.cap = 0;

        v.res = calloc(v.set.n + 1, sizeof(*v.res));
        v.raw = calloc(nt, sizeof(cadu_buf));
        v.out = calloc(nt, sizeof(cadu_buf));
        if (!v.res || !v.raw || !v.out) {
                ret = cadu_error_errno(-ENOMEM, "verify-store");
                goto out;
        }
        /* Progress: the uncompressed bytes the indexes name, or (a whole
         * store, whose listing stats no file) chunks. */
        if (v.index_mode) {
                uint64_t total = 0;
                for (size_t i = 0; i < v.set.n; i++)
                        total += v.set.entries[i].size;
                cadu_progress_begin(&v.pc.prog, "verify-store", total);
        } else
                cadu_progress_begin_count(&v.pc.prog, "verify-store", v.set.n, "chunks");
        r = cadu_parallel_for(v.set.n, nt, verify_one, verify_progress, &v);
        cadu_progress_end(&v.pc.prog);
        if (r < 0) {
                ret = cadu_error_errno(r, "verify-store %s", store_loc);
                goto out;
        }

        size_t nmissing = 0, ncorrupt = 0, nerror = 0, nok = 0;
        int first_err = 0;
        char hex[HEX_SIZE];
        for (size_t i = 0; i < v.set.n; i++) {
                const vresult *res = &v.res[i];
                const char *kind = res->kind == V_MISSING ? "missing" : res->kind == V_CORRUPT ? "corrupt" : "error";
                const char *why = res->kind == V_ERROR ? cadu_strerror(res->err) : res->why ? res->why : "out of memory";
                if (res->kind == V_OK) {
                        nok++;
                        continue;
                }
                nmissing += res->kind == V_MISSING;
                ncorrupt += res->kind == V_CORRUPT;
                if (res->kind == V_ERROR) {
                        nerror++;
                        if (!first_err)
                                first_err = res->err;
                }
                hexid(v.set.entries[i].id, hex);
                if (cadu_json) {
                        printf("{\"event\":\"problem\",\"kind\":\"%s\",\"id\":\"%s\"", kind, hex);
                        if (res->kind != V_MISSING) {
                                printf(",\"reason\":");
                                cadu_json_string(stdout, why);
                        }
                        printf("}\n");
                } else if (res->kind == V_MISSING)
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
        for (size_t i = 0; v.res && i < v.set.n; i++)
                free(v.res[i].why);
        for (size_t i = 0; i < v.nstrays; i++)
                free(v.strays[i].path);
        for (unsigned k = 0; k < nt && v.raw && v.out; k++) {
                cadu_buf_free(&v.raw[k]);
                cadu_buf_free(&v.out[k]);
        }
        free(v.raw);
        free(v.out);
        free(v.res);
        free(v.strays);
        cadu_store_free(v.store);
        cadu_chunk_set_done(&v.set);
        index_list_done(&l);
        cadu_chunk_codec_release();
        return ret;
}
