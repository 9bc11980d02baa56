/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-store.c - store inspection and maintenance for publishers and
 * operators: cadu info, cadu verify-store, cadu gc and cadu mirror.
 *
 * Every chunk these commands read is decompressed with a size cap and
 * re-hashed against its id (cadu_store_get_chunk or the same steps here);
 * what they write to a store goes through the store's atomic put().
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

#define HEX_SIZE (2 * CADU_DIGEST_SIZE + 1)

/* ---- shared ---- */

static const char *hexid(const uint8_t id[CADU_DIGEST_SIZE], char buf[HEX_SIZE]) {
        cadu_hex_encode(id, CADU_DIGEST_SIZE, buf);
        return buf;
}

static double ratio(uint64_t a, uint64_t b) {
        return b ? (double)a / (double)b : 1.0;
}

typedef struct index_list {
        cadu_index **idx;               /* NULL for an encrypted index: */
        uint8_t **names;                /* then the keyed names of its chunks */
        size_t *n_names;
        char **paths;
        size_t n;
} index_list;

static void index_list_done(index_list *l) {
        for (size_t i = 0; l->idx && i < l->n; i++) {
                cadu_index_free(l->idx[i]);
                free(l->names[i]);
        }
        free(l->idx);
        free(l->names);
        free(l->n_names);
        l->idx = NULL;
        l->names = NULL;
        l->n_names = NULL;
        l->n = 0;
}

/* The keyed names an encrypted index lists in clear (doc/encryption.md):
 * what gc keeps and mirror copies, without the key. */
static int read_names(const char *path, const uint8_t *buf, size_t len, index_list *l, size_t i) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        const uint8_t *names;
        size_t n;
        if (cadu_crypt_index_header(buf, len, key_id, &names, &n) < 0) {
                cadu_error("index %s: encrypted index header is malformed", path);
                return CADU_EXIT_VERIFY;
        }
        if (!(l->names[i] = malloc(n ? n * CADU_CRYPT_NAME_SIZE : 1)))
                return cadu_error_errno(-ENOMEM, "index %s", path);
        memcpy(l->names[i], names, n * CADU_CRYPT_NAME_SIZE);
        l->n_names[i] = n;
        return 0;
}

/* Read the indexes at paths; encrypted ones, when allowed, as their lists
 * of keyed names. 0, or an exit code after printing the error. */
static int read_indexes_key(char **paths, size_t n, index_list *l, bool allow_encrypted, const cadu_crypt_key *key);
static int read_indexes(char **paths, size_t n, index_list *l, bool allow_encrypted) {
        return read_indexes_key(paths, n, l, allow_encrypted, NULL);
}

/* The same; with key, encrypted indexes are decrypted (and plain ones
 * refused, as extract does). */
static int read_indexes_key(char **paths, size_t n, index_list *l, bool allow_encrypted, const cadu_crypt_key *key) {
        l->paths = paths;
        l->n = 0;
        l->idx = calloc(n + 1, sizeof(*l->idx));
        l->names = calloc(n + 1, sizeof(*l->names));
        l->n_names = calloc(n + 1, sizeof(*l->n_names));
        if (!l->idx || !l->names || !l->n_names)
                return cadu_error_errno(-ENOMEM, "reading indexes");
        for (size_t i = 0; i < n; i++) {
                const char *why = NULL;
                _cleanup_free_ uint8_t *buf = NULL;
                size_t len;
                int r = cadu_read_file(paths[i], (size_t)2 << 30, &buf, &len);
                if (r == 0 && key) {
                        cadu_buf b = { .data = buf, .len = len, .alloc = len };
                        bool encrypted;
                        buf = NULL;
                        int c = cadu_cmd_open_index(paths[i], key, &b, &encrypted);
                        buf = b.data;
                        len = b.len;
                        if (c)
                                return c;
                } else if (r == 0 && cadu_crypt_index_is(buf, len)) {
                        if (!allow_encrypted) {
                                cadu_error("index %s is encrypted: decrypt it first (doc/encryption.md)", paths[i]);
                                return CADU_EXIT_USAGE;
                        }
                        if ((r = read_names(paths[i], buf, len, l, i)) != 0)
                                return r;
                        l->n++;
                        continue;
                }
                if (r == 0)
                        r = cadu_index_parse(buf, len, &l->idx[i], &why);
                if (r < 0) {
                        if (why) {
                                cadu_error("index %s: %s", paths[i], why);
                                return CADU_EXIT_VERIFY;
                        }
                        return cadu_error_errno(r, "cannot read index %s", paths[i]);
                }
                l->n++;
        }
        return 0;
}

/* Add the chunks of every index to s. 0, or an exit code after the error. */
static int add_indexes(cadu_chunk_set *s, const index_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                uint64_t mask = i < 64 ? UINT64_C(1) << i : 0;
                int r = 0;
                if (!l->idx[i]) {
                        /* Keyed names: sizes unknown (0). */
                        for (size_t k = 0; k < l->n_names[i] && r >= 0; k++) {
                                cadu_chunk_entry *e;
                                r = cadu_chunk_set_add(s, l->names[i] + k * CADU_CRYPT_NAME_SIZE, &e);
                                if (r >= 0) {
                                        e->refs++;
                                        e->mask |= mask;
                                }
                        }
                        if (r < 0)
                                return cadu_error_errno(r, "index %s", l->paths[i]);
                        continue;
                }
                r = cadu_chunk_set_add_index(s, l->idx[i], mask);
                if (r == -EBADMSG) {
                        cadu_error("index %s: a chunk id appears with two different sizes", l->paths[i]);
                        return CADU_EXIT_VERIFY;
                }
                if (r < 0)
                        return cadu_error_errno(r, "index %s", l->paths[i]);
        }
        return 0;
}

static int parse_threads(const char *cmd, const char *arg, unsigned *ret) {
        uint64_t v;
        if (cadu_parse_uint(arg, 1, 256, &v) < 0)
                return cadu_usage_error(cmd, "invalid --threads '%s' (1..256)", arg);
        *ret = (unsigned)v;
        return 0;
}

/* Workers: CPUs, plus some that mostly wait on a network store. */
static unsigned default_threads(unsigned threads, const cadu_store *s) {
        if (threads)
                return threads;
        return cadu_cpu_count() + (s && strcmp(s->ops->kind, "dir") != 0 ? 8 : 0);
}

/* What a failed request to store s was about, for an error message. */
static const char *store_detail(cadu_store *s, char *buf, size_t size) {
        buf[0] = 0;
        if (s && cadu_store_http_last_error(s, buf, size) == 0 && buf[0])
                return buf;
        return NULL;
}

typedef struct progress_ctx {
        cadu_progress prog;
        atomic_uint_fast64_t done;
} progress_ctx;

static void progress_show(progress_ctx *p) {
        cadu_progress_update(&p->prog, atomic_load(&p->done));
}

/* ---- cadu info ---- */

static const char info_help[] =
        "Usage: cadu info [OPTIONS] INDEX...\n\n"
        "Describe the images behind the indexes: chunk count, chunk size\n"
        "distribution, deduplication within each index and across all of them.\n"
        "With --store: which of their chunks the store holds, their compressed\n"
        "size, and which chunks it lacks. With --seed: what an update to each index\n"
        "would cost a device holding those seeds - the chunks and bytes still to\n"
        "fetch (compressed too, with a store). Nothing is written.\n\n"
        "Options:\n"
        "  -s, --store STORE       chunk store to look into: directory or http(s) URL\n"
        "  -S, --seed FILE[:INDEX] a file or block device the device already has;\n"
        "                          with :INDEX its saved index (repeatable)\n"
        "      --download          on an http(s) store, download the chunks to learn\n"
        "                          their compressed size (default: presence only)\n"
        "  -j, --threads N         worker threads (default: CPUs, +8 for a network store)\n"
        "  -K, --key-file FILE     the store key of encrypted indexes and their store\n"
        "                          (without it: chunk count, sizes and key id only;\n"
        "                          doc/encryption.md)\n"
        "      --key-envelope FILE the store key from a manifest's key envelope\n"
        "                          (OUT.keys), unwrapped with:\n"
        "      --recipient-cert CERT  a recipient's certificate (PEM)\n"
        "      --recipient-key KEY    and its private key (PEM)\n"
        "  -q, --quiet             no progress\n"
        "      --json              the report as one JSON object on stdout\n"
        "  -h, --help              show this help\n\n";

enum { CHUNK_UNKNOWN = 0, CHUNK_PRESENT, CHUNK_MISSING };

typedef struct size_dist {
        uint64_t min, p10, p50, p90, p99, max;
        double avg;
} size_dist;

typedef struct index_info {
        uint64_t bytes, chunks, distinct, distinct_bytes;
        size_dist sizes;
        bool planned;
        cadu_extract_stats st;
        uint64_t fetch_chunks, fetch_bytes, fetch_raw, fetch_absent, fetch_absent_bytes;
} index_info;

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned p) {
        size_t rank = (n * p + 99) / 100;
        return v[rank ? rank - 1 : 0];
}

static int describe_index(const cadu_index *idx, index_info *ii) {
        cadu_chunk_set set = CADU_CHUNK_SET_INIT;
        uint64_t *sizes = malloc((idx->n ? idx->n : 1) * sizeof(uint64_t));
        int r = 0;
        if (!sizes)
                return -ENOMEM;
        ii->bytes = cadu_index_size(idx);
        ii->chunks = idx->n;
        for (size_t i = 0; i < idx->n; i++) {
                cadu_chunk_entry *e;
                sizes[i] = cadu_index_chunk_size(idx, i);
                if ((r = cadu_chunk_set_add(&set, idx->items[i].id, &e)) < 0)
                        break;
                if (r > 0) {
                        ii->distinct++;
                        ii->distinct_bytes += sizes[i];
                }
                r = 0;
        }
        if (r == 0 && idx->n) {
                qsort(sizes, idx->n, sizeof(*sizes), cmp_u64);
                ii->sizes = (size_dist){
                        .min = sizes[0],
                        .p10 = percentile(sizes, idx->n, 10),
                        .p50 = percentile(sizes, idx->n, 50),
                        .p90 = percentile(sizes, idx->n, 90),
                        .p99 = percentile(sizes, idx->n, 99),
                        .max = sizes[idx->n - 1],
                        .avg = (double)ii->bytes / (double)idx->n,
                };
        }
        free(sizes);
        cadu_chunk_set_done(&set);
        return r;
}

/* A store that has nothing and notes every chunk asked of it: given to a
 * dry-run extract, it learns exactly which chunks no seed provides. */
typedef struct plan_store {
        cadu_store base;
        pthread_mutex_t lock;
        uint8_t (*ids)[CADU_DIGEST_SIZE];
        size_t n, alloc;
} plan_store;

static int plan_get(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out) {
        plan_store *p = (plan_store *)s;
        int r = -ENOENT;
        pthread_mutex_lock(&p->lock);
        if (CADU_ARRAY_GROW(p->ids, p->alloc, p->n, 256) < 0)
                r = -ENOMEM;
        if (r == -ENOENT)
                memcpy(p->ids[p->n++], id, CADU_DIGEST_SIZE);
        pthread_mutex_unlock(&p->lock);
        return r;
}

static int plan_has(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        return 0;
}

static void plan_free(cadu_store *s) {
}

static const cadu_store_ops plan_ops = {
        .version = 1,
        .kind = "plan",
        .get = plan_get,
        .has = plan_has,
        .free = plan_free,
};

typedef struct survey {
        cadu_store *store;
        cadu_chunk_set *set;
        int rootfd;                     /* directory store: its root */
        const cadu_crypt_key *key;      /* an encrypted store: files by keyed names */
        bool download;
        cadu_buf *raw;                  /* per worker */
        progress_ctx pc;
        atomic_size_t failed;           /* entry index + 1 of the first failure */
} survey;

/* Is chunk i in the store, and how large is its file? */
static int survey_one(void *ud, size_t i, unsigned w) {
        survey *sv = ud;
        cadu_chunk_entry *e = &sv->set->entries[i];
        int r;
        if (sv->rootfd >= 0) {
                char path[CADU_CHUNK_PATH_MAX];
                uint8_t name[CADU_CRYPT_NAME_SIZE];
                struct stat st;
                if (sv->key && (r = cadu_crypt_chunk_name(sv->key, e->id, name)) < 0)
                        return r;
                cadu_chunk_path(sv->key ? name : e->id, path);
                /* A symlink or FIFO squatting the name is not the chunk. */
                if (fstatat(sv->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        r = errno == ENOENT ? 0 : -errno;
                else if (!S_ISREG(st.st_mode))
                        r = 0;
                else {
                        e->raw_size = (uint64_t)st.st_size;
                        r = 1;
                }
        } else if (sv->download) {
                r = sv->store->ops->get(sv->store, e->id, cadu_chunk_max_raw(CADU_CHUNK_SIZE_MAX_LIMIT), &sv->raw[w]);
                if (r == 0) {
                        e->raw_size = sv->raw[w].len;
                        r = 1;
                } else if (r == -ENOENT)
                        r = 0;
        } else
                r = sv->store->ops->has(sv->store, e->id);
        if (r < 0) {
                size_t zero = 0;
                atomic_compare_exchange_strong(&sv->failed, &zero, i + 1);
                return r;
        }
        e->state = r ? CHUNK_PRESENT : CHUNK_MISSING;
        sv->pc.done += e->size;
        return 0;
}

static void survey_progress(void *ud) {
        progress_show(&((survey *)ud)->pc);
}

static void json_dist(const size_dist *d) {
        printf("{\"min\":%llu,\"p10\":%llu,\"p50\":%llu,\"avg\":%.1f,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}",
               (unsigned long long)d->min, (unsigned long long)d->p10, (unsigned long long)d->p50, d->avg,
               (unsigned long long)d->p90, (unsigned long long)d->p99, (unsigned long long)d->max);
}

static void json_count(const char *name, uint64_t chunks, uint64_t bytes) {
        printf("\"%s\":{\"chunks\":%llu,\"bytes\":%llu}", name, (unsigned long long)chunks, (unsigned long long)bytes);
}

static void print_info_json(const index_list *l, const index_info *ii, const cadu_seed *seeds, size_t nseeds,
                            const cadu_chunk_set *all, uint64_t total_bytes, uint64_t total_chunks,
                            uint64_t all_bytes, const cadu_store *store, bool sizes_known) {
        char hex[HEX_SIZE];
        printf("{\"event\":\"done\",\"command\":\"info\",\"indexes\":[");
        for (size_t i = 0; i < l->n; i++) {
                const cadu_index *idx = l->idx[i];
                const index_info *x = &ii[i];
                printf("%s{\"path\":", i ? "," : "");
                cadu_json_string(stdout, l->paths[i]);
                printf(",\"digest\":\"%s\",\"chunk_size_min\":%llu,\"chunk_size_avg\":%llu,\"chunk_size_max\":%llu,"
                       "\"bytes\":%llu,\"chunks\":%llu,\"distinct_chunks\":%llu,\"distinct_bytes\":%llu,"
                       "\"dedup_ratio\":%.4f,\"sizes\":",
                       cadu_digest_name(idx->digest), (unsigned long long)idx->min, (unsigned long long)idx->avg,
                       (unsigned long long)idx->max, (unsigned long long)x->bytes, (unsigned long long)x->chunks,
                       (unsigned long long)x->distinct, (unsigned long long)x->distinct_bytes,
                       ratio(x->bytes, x->distinct_bytes));
                json_dist(&x->sizes);
                if (x->planned) {
                        printf(",\"update\":{\"seeds\":[");
                        for (size_t k = 0; k < nseeds; k++) {
                                printf("%s{\"path\":", k ? "," : "");
                                cadu_json_string(stdout, seeds[k].path);
                                printf(",\"index\":");
                                if (seeds[k].index_path)
                                        cadu_json_string(stdout, seeds[k].index_path);
                                else
                                        printf("null");
                                printf(",\"chunks\":%llu,\"bytes\":%llu}", (unsigned long long)x->st.seeds[k].chunks,
                                       (unsigned long long)x->st.seeds[k].bytes);
                        }
                        printf("],");
                        json_count("zero", x->st.zero.chunks, x->st.zero.bytes);
                        printf(",");
                        json_count("duplicate", x->st.duplicate.chunks, x->st.duplicate.bytes);
                        printf(",\"fetch\":{\"chunks\":%llu,\"bytes\":%llu,\"compressed_bytes\":",
                               (unsigned long long)x->fetch_chunks, (unsigned long long)x->fetch_bytes);
                        if (store && sizes_known)
                                printf("%llu", (unsigned long long)x->fetch_raw);
                        else
                                printf("null");
                        if (store)
                                printf(",\"missing_from_store\":{\"chunks\":%llu,\"bytes\":%llu}",
                                       (unsigned long long)x->fetch_absent, (unsigned long long)x->fetch_absent_bytes);
                        printf("}}");
                }
                printf("}");
        }
        printf("],\"total\":{\"indexes\":%zu,\"bytes\":%llu,\"chunks\":%llu,\"distinct_chunks\":%zu,"
               "\"distinct_bytes\":%llu,\"dedup_ratio\":%.4f}",
               l->n, (unsigned long long)total_bytes, (unsigned long long)total_chunks, all->n,
               (unsigned long long)all_bytes, ratio(total_bytes, all_bytes));
        if (store) {
                uint64_t present = 0, present_bytes = 0, raw = 0, missing = 0, missing_bytes = 0;
                for (size_t i = 0; i < all->n; i++) {
                        const cadu_chunk_entry *e = &all->entries[i];
                        if (e->state == CHUNK_PRESENT) {
                                present++;
                                present_bytes += e->size;
                                raw += e->raw_size;
                        } else {
                                missing++;
                                missing_bytes += e->size;
                        }
                }
                printf(",\"store\":{\"location\":");
                cadu_json_string(stdout, store->location);
                printf(",\"present_chunks\":%llu,\"present_bytes\":%llu,\"compressed_bytes\":",
                       (unsigned long long)present, (unsigned long long)present_bytes);
                if (sizes_known)
                        printf("%llu", (unsigned long long)raw);
                else
                        printf("null");
                printf(",\"missing_chunks\":%llu,\"missing_bytes\":%llu,\"missing\":[", (unsigned long long)missing,
                       (unsigned long long)missing_bytes);
                bool first = true;
                for (size_t i = 0; i < all->n; i++)
                        if (all->entries[i].state != CHUNK_PRESENT) {
                                printf("%s\"%s\"", first ? "" : ",", hexid(all->entries[i].id, hex));
                                first = false;
                        }
                printf("]}");
        }
        printf("}\n");
}

static void print_info_text(const index_list *l, const index_info *ii, const cadu_seed *seeds, size_t nseeds,
                            const cadu_chunk_set *all, uint64_t total_bytes, uint64_t total_chunks,
                            uint64_t all_bytes, const cadu_store *store, bool sizes_known) {
        char a[32], b[32], hex[HEX_SIZE];
        for (size_t i = 0; i < l->n; i++) {
                const cadu_index *idx = l->idx[i];
                const index_info *x = &ii[i];
                printf("%s: %s (%llu bytes) in %llu chunks, %llu distinct (%s, dedup %.2fx)\n", l->paths[i],
                       cadu_format_bytes(x->bytes, a), (unsigned long long)x->bytes, (unsigned long long)x->chunks,
                       (unsigned long long)x->distinct, cadu_format_bytes(x->distinct_bytes, b),
                       ratio(x->bytes, x->distinct_bytes));
                printf("  %s, chunker %llu:%llu:%llu\n", cadu_digest_name(idx->digest), (unsigned long long)idx->min,
                       (unsigned long long)idx->avg, (unsigned long long)idx->max);
                if (x->chunks)
                        printf("  chunk sizes: min %llu, p10 %llu, median %llu, avg %.0f, p90 %llu, p99 %llu, max %llu\n",
                               (unsigned long long)x->sizes.min, (unsigned long long)x->sizes.p10,
                               (unsigned long long)x->sizes.p50, x->sizes.avg, (unsigned long long)x->sizes.p90,
                               (unsigned long long)x->sizes.p99, (unsigned long long)x->sizes.max);
                if (!x->planned)
                        continue;
                printf("  update with %zu seed%s: fetch %llu chunks, %s (%llu bytes)", nseeds, nseeds == 1 ? "" : "s",
                       (unsigned long long)x->fetch_chunks, cadu_format_bytes(x->fetch_bytes, a),
                       (unsigned long long)x->fetch_bytes);
                if (store && sizes_known)
                        printf(", %s (%llu bytes) compressed", cadu_format_bytes(x->fetch_raw, b),
                               (unsigned long long)x->fetch_raw);
                printf("\n");
                for (size_t k = 0; k < nseeds; k++)
                        printf("    from seed %s: %llu chunks, %s\n", seeds[k].path,
                               (unsigned long long)x->st.seeds[k].chunks, cadu_format_bytes(x->st.seeds[k].bytes, a));
                if (x->st.zero.chunks)
                        printf("    zeros: %llu chunks, %s\n", (unsigned long long)x->st.zero.chunks,
                               cadu_format_bytes(x->st.zero.bytes, a));
                if (x->st.duplicate.chunks)
                        printf("    repeats within the image: %llu chunks, %s\n",
                               (unsigned long long)x->st.duplicate.chunks, cadu_format_bytes(x->st.duplicate.bytes, a));
                if (store && x->fetch_absent)
                        printf("    %llu of the chunks to fetch (%s) are missing from the store\n",
                               (unsigned long long)x->fetch_absent, cadu_format_bytes(x->fetch_absent_bytes, a));
        }
        if (l->n > 1)
                printf("all %zu indexes: %s in %llu chunks, %zu distinct (%s, dedup %.2fx)\n", l->n,
                       cadu_format_bytes(total_bytes, a), (unsigned long long)total_chunks, all->n,
                       cadu_format_bytes(all_bytes, b), ratio(total_bytes, all_bytes));
        if (!store)
                return;
        uint64_t present = 0, present_bytes = 0, raw = 0, missing = 0, missing_bytes = 0;
        for (size_t i = 0; i < all->n; i++) {
                const cadu_chunk_entry *e = &all->entries[i];
                if (e->state == CHUNK_PRESENT) {
                        present++;
                        present_bytes += e->size;
                        raw += e->raw_size;
                } else {
                        missing++;
                        missing_bytes += e->size;
                }
        }
        printf("store %s: %llu of %zu distinct chunks present", store->location, (unsigned long long)present, all->n);
        if (sizes_known)
                printf(", %s (%llu bytes) compressed from %s (%.1f%%)", cadu_format_bytes(raw, a),
                       (unsigned long long)raw, cadu_format_bytes(present_bytes, b),
                       present_bytes ? 100.0 * (double)raw / (double)present_bytes : 0.0);
        else
                printf(" (compressed sizes: use --download)");
        printf("\n");
        if (missing) {
                printf("  missing %llu chunks (%s):\n", (unsigned long long)missing, cadu_format_bytes(missing_bytes, a));
                for (size_t i = 0; i < all->n; i++)
                        if (all->entries[i].state != CHUNK_PRESENT)
                                printf("    %s\n", hexid(all->entries[i].id, hex));
        }
}

/* An encrypted index without the key: its size, chunk count, keyed names
 * and key id, and how many of its chunk files the store has. -ENOENT when
 * path is no encrypted index (the usual path reads it), 0 when described,
 * else an exit code after the error. */
static int info_encrypted(const char *path, const char *store_loc, const cadu_storeopts *so) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        char kid[2 * CADU_CRYPT_KEY_ID_SIZE + 1], a[32];
        const uint8_t *names;
        size_t len, n;
        int r = cadu_read_file(path, (size_t)2 << 30, &buf, &len);
        if (r < 0 || !cadu_crypt_index_is(buf, len))
                return -ENOENT;         /* read (and reported) as usual */
        if (cadu_crypt_index_header(buf, len, key_id, &names, &n) < 0) {
                cadu_error("index %s: encrypted index header is malformed", path);
                return CADU_EXIT_VERIFY;
        }
        /* The plaintext .caibx: header, table head, 40 bytes a chunk, tail. */
        uint64_t plain = len - CADU_CRYPT_INDEX_FIXED - n * CADU_CRYPT_NAME_SIZE - CADU_CRYPT_NONCE_SIZE -
                         CADU_CRYPT_TAG_SIZE;
        uint64_t fixed = CADU_CAIBX_HEADER_SIZE + 16 + 40;
        uint64_t chunks = plain >= fixed ? (plain - fixed) / CADU_CAIBX_ITEM_SIZE : 0;
        cadu_crypt_key_id_hex(key_id, kid);
        long long present = -1;
        if (store_loc) {
                cadu_store *s = NULL;
                if ((r = cadu_store_open(store_loc, &so->opts, false, &s)) < 0)
                        return cadu_error_errno(r, "cannot open store %s", store_loc);
                present = 0;
                for (size_t i = 0; i < n && r >= 0; i++)
                        if ((r = s->ops->has(s, names + i * CADU_CRYPT_NAME_SIZE)) > 0)
                                present++;
                cadu_store_free(s);
                if (r < 0)
                        return cadu_error_errno(r, "store %s", store_loc);
        }
        if (cadu_json) {
                printf("{\"event\":\"encrypted-index\",\"path\":");
                cadu_json_string(stdout, path);
                printf(",\"key_id\":\"%s\",\"index_bytes\":%zu,\"chunks\":%llu,\"distinct_chunk_files\":%zu", kid,
                       len, (unsigned long long)chunks, n);
                if (present >= 0)
                        printf(",\"present_in_store\":%lld", present);
                printf(",\"key_needed\":true}\n");
        } else {
                printf("%s: encrypted with key %s: %llu chunks, %zu distinct chunk files, index %s", path, kid,
                       (unsigned long long)chunks, n, cadu_format_bytes(len, a));
                if (present >= 0)
                        printf(", %lld of them in %s", present, store_loc);
                printf("\n%s: image size, chunk sizes, deduplication and update plans need the store key (--key-file)\n",
                       path);
        }
        return 0;
}

/* The store key wrapped in a key envelope (a manifest's OUT.keys) for the
 * certificate rcert, unwrapped with its private key rkey. 0 or an exit code
 * after the error. */
static int info_unwrap(const char *envelope, const char *rcert, const char *rkey, cadu_crypt_key *key) {
        _cleanup_free_ uint8_t *der = NULL, *text = NULL;
        _cleanup_free_ char *err = NULL;
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        size_t len = 0, tlen = 0;
        int r = cadu_read_file(envelope, (size_t)1 << 20, &der, &len);
        if (r < 0)
                return cadu_error_errno(r, "key envelope %s", envelope);
        r = cadu_envelope_check(der, len, &err);
        if (r == 0)
                r = cadu_envelope_unwrap(der, len, rcert, rkey, CADU_CRYPT_KEY_FILE_MAX, &text, &tlen, &err);
        if (r < 0) {
                cadu_error("key envelope %s: %s", envelope, err ? err : cadu_strerror(r));
                return r == -ENOKEY ? CADU_EXIT_REFUSED : r == -EINVAL ? CADU_EXIT_USAGE : CADU_EXIT_VERIFY;
        }
        r = cadu_crypt_key_parse(text, tlen, secret);
        OPENSSL_cleanse(text, tlen);
        if (r == 0)
                r = cadu_crypt_key_derive(secret, key);
        OPENSSL_cleanse(secret, sizeof(secret));
        if (r < 0) {
                cadu_error("key envelope %s: the wrapped content is not a store key", envelope);
                return CADU_EXIT_VERIFY;
        }
        return 0;
}

int cadu_cmd_info(int argc, char **argv) {
        enum { OPT_DOWNLOAD = 0x100, OPT_ENVELOPE, OPT_RCERT, OPT_RKEY };
        static const struct option options[] = {
                { "store", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "download", no_argument, NULL, OPT_DOWNLOAD },
                { "threads", required_argument, NULL, 'j' },
                { "key-file", required_argument, NULL, 'K' },
                { "key-envelope", required_argument, NULL, OPT_ENVELOPE },
                { "recipient-cert", required_argument, NULL, OPT_RCERT },
                { "recipient-key", required_argument, NULL, OPT_RKEY },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        const char *envelope = NULL, *rcert = NULL, *rkey = NULL;
        _cleanup_free_ cadu_seed *seeds = calloc((size_t)argc, sizeof(cadu_seed));
        _cleanup_free_ char **paths = calloc((size_t)argc + 1, sizeof(char *));
        const char *store_loc = NULL, *key_path = NULL;
        size_t nseeds = 0;
        bool download = false;
        unsigned threads = 0;
        int c, r;

        if (!seeds || !paths)
                return cadu_error_errno(-ENOMEM, "info");
        while ((c = getopt_long(argc, argv, "s:S:j:K:h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        if (store_loc)
                                return cadu_usage_error("info", "only one --store");
                        store_loc = optarg;
                        break;
                case 'S': cadu_seed_parse(optarg, &seeds[nseeds++]); break;
                case OPT_DOWNLOAD: download = true; break;
                case 'K': key_path = optarg; break;
                case OPT_ENVELOPE: envelope = optarg; break;
                case OPT_RCERT: rcert = optarg; break;
                case OPT_RKEY: rkey = optarg; break;
                case 'j':
                        if ((r = parse_threads("info", optarg, &threads)) != 0)
                                return r;
                        break;
                case 'h':
                        fputs(info_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        return CADU_EXIT_OK;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        if ((r = cadu_storeopts_parse(&so, "info", c, optarg)) != 0)
                                return r;
                        break;
                default:
                        return cadu_usage_error("info", "invalid option");
                }
        }
        if (optind >= argc)
                return cadu_usage_error("info", "expected at least one INDEX");
        if (envelope && (key_path || !rcert || !rkey))
                return cadu_usage_error("info", "--key-envelope needs --recipient-cert and --recipient-key, "
                                                "and not --key-file");
        if ((rcert || rkey) && !envelope)
                return cadu_usage_error("info", "--recipient-cert and --recipient-key go with --key-envelope");
        if (key_path && (r = cadu_cmd_load_key("--key-file", key_path, &key)) != 0)
                return r;
        if (envelope) {
                if ((r = info_unwrap(envelope, rcert, rkey, &key)) != 0)
                        return r;
                key_path = envelope;    /* a key is at hand */
        }
        /* Without the key, an encrypted index shows what its header and
         * size tell, and is left out of the rest. */
        size_t npaths = 0;
        for (int i = optind; i < argc; i++) {
                r = key_path ? -ENOENT : info_encrypted(argv[i], store_loc, &so);
                if (r == 0)
                        continue;
                if (r > 0)
                        return r;
                paths[npaths++] = argv[i];
        }
        if (!npaths)
                return CADU_EXIT_OK;

        index_list l = { 0 };
        cadu_chunk_set all = CADU_CHUNK_SET_INIT;
        index_info *ii = NULL;
        cadu_store *store = NULL;
        survey sv = { .rootfd = -1 };
        int ret = read_indexes_key(paths, npaths, &l, false, key_path ? &key : NULL);
        if (ret)
                goto out;
        if ((ret = add_indexes(&all, &l)))
                goto out;
        ii = calloc(l.n, sizeof(*ii));
        if (!ii) {
                ret = cadu_error_errno(-ENOMEM, "info");
                goto out;
        }
        uint64_t total_bytes = 0, total_chunks = 0, all_bytes = 0;
        for (size_t i = 0; i < l.n; i++) {
                if ((r = describe_index(l.idx[i], &ii[i])) < 0) {
                        ret = cadu_error_errno(r, "index %s", l.paths[i]);
                        goto out;
                }
                total_bytes += ii[i].bytes;
                total_chunks += ii[i].chunks;
        }
        for (size_t i = 0; i < all.n; i++)
                all_bytes += all.entries[i].size;

        /* What the store holds of them. */
        bool sizes_known = false;
        if (store_loc) {
                r = cadu_store_open(store_loc, &so.opts, false, &store);
                if (r == 0 && key_path)
                        r = cadu_cmd_wrap_store(&store, &key);
                if (r < 0) {
                        ret = cadu_error_errno(r, "cannot open store %s", store_loc);
                        goto out;
                }
                unsigned nt = default_threads(threads, store);
                sv.store = store;
                sv.key = key_path ? &key : NULL;
                sv.set = &all;
                sv.download = download;
                if (!strcmp(store->ops->kind, "dir")) {
                        sv.rootfd = open(store_loc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (sv.rootfd < 0) {
                                ret = cadu_error_errno(-errno, "cannot open store %s", store_loc);
                                goto out;
                        }
                }
                sizes_known = sv.rootfd >= 0 || download;
                sv.raw = calloc(nt, sizeof(cadu_buf));
                if (!sv.raw) {
                        ret = cadu_error_errno(-ENOMEM, "info");
                        goto out;
                }
                cadu_progress_begin(&sv.pc.prog, "info", all_bytes);
                r = cadu_parallel_for(all.n, nt, survey_one, survey_progress, &sv);
                cadu_progress_end(&sv.pc.prog);
                for (unsigned k = 0; k < nt; k++)
                        cadu_buf_free(&sv.raw[k]);
                if (r < 0) {
                        char hex[HEX_SIZE], det[256];
                        size_t f = atomic_load(&sv.failed);
                        const char *d = store_detail(store, det, sizeof(det));
                        if (f)
                                hexid(all.entries[f - 1].id, hex);
                        cadu_error("store %s: chunk %s: %s", store_loc, f ? hex : "?", d ? d : cadu_strerror(r));
                        ret = cadu_storeopts_exit_code(r);
                        goto out;
                }
        }

        /* What an update to each index would fetch, given the seeds: a dry
         * run of the extraction engine with a store that has nothing. */
        for (size_t i = 0; nseeds && i < l.n; i++) {
                plan_store ps = { .base = { .ops = &plan_ops, .location = (char *)"(fetch)" },
                                  .lock = PTHREAD_MUTEX_INITIALIZER };
                cadu_store *stores[1] = { &ps.base };
                cadu_extract_progress xp;
                cadu_extract_opts o = {
                        .index = l.idx[i],
                        .seeds = seeds,
                        .nseeds = nseeds,
                        .stores = stores,
                        .nstores = 1,
                        .dry_run = true,
                        .threads = threads ? threads : cadu_cpu_count(),
                        .seed_progress = cadu_extract_progress_seed,   /* only seeds take time */
                        .userdata = &xp,
                };
                _cleanup_free_ char *msg = NULL;
                cadu_extract_progress_begin(&xp, "info", cadu_index_size(l.idx[i]));
                r = cadu_extract(&o, &ii[i].st, &msg);
                cadu_extract_progress_end(&xp);
                if (r < 0) {
                        free(ps.ids);
                        ret = cadu_error_errno(r, "planning the update to %s: %s", l.paths[i], msg ? msg : "failed");
                        goto out;
                }
                ii[i].planned = true;
                for (size_t k = 0; k < ps.n; k++) {
                        const cadu_chunk_entry *e = cadu_chunk_set_find(&all, ps.ids[k]);
                        if (!e)
                                continue;       /* cannot happen: every id comes from the index */
                        ii[i].fetch_chunks++;
                        ii[i].fetch_bytes += e->size;
                        ii[i].fetch_raw += e->raw_size;
                        if (store && e->state != CHUNK_PRESENT) {
                                ii[i].fetch_absent++;
                                ii[i].fetch_absent_bytes += e->size;
                        }
                }
                free(ps.ids);
        }

        /* With the store: the download plan of each update, packs included
         * (doc/pack-format.md): bytes and requests by source. */
        for (size_t i = 0; nseeds && store && i < l.n; i++) {
                uint8_t sha[CADU_DIGEST_SIZE];
                cadu_extract_stats pst;
                _cleanup_free_ char *msg = NULL;
                if (!l.idx[i] || cadu_sha256_file(l.paths[i], sha, NULL) < 0)
                        continue;
                cadu_extract_opts o = {
                        .index = l.idx[i],
                        .seeds = seeds,
                        .nseeds = nseeds,
                        .stores = &store,
                        .nstores = 1,
                        .plan_only = true,
                        .index_sha = sha,
                        .threads = threads ? threads : cadu_cpu_count(),
                };
                r = cadu_extract(&o, &pst, &msg);
                if (r == 0 && cadu_json) {
                        printf("{\"event\":\"plan\",\"index\":");
                        cadu_json_string(stdout, l.paths[i]);
                        printf(",\"plan\":");
                        cadu_print_extract_plan(&pst.plan);
                        printf("}\n");
                } else if (r == 0 && !cadu_quiet) {
                        fprintf(stderr, "plan for %s from %s:\n", l.paths[i], store_loc);
                        cadu_print_extract_plan(&pst.plan);
                }
                cadu_extract_stats_free(&pst);
                if (r < 0) {
                        ret = cadu_error_errno(r, "planning the download of %s: %s", l.paths[i], msg ? msg : "failed");
                        goto out;
                }
        }
        if (cadu_json)
                print_info_json(&l, ii, seeds, nseeds, &all, total_bytes, total_chunks, all_bytes, store, sizes_known);
        else
                print_info_text(&l, ii, seeds, nseeds, &all, total_bytes, total_chunks, all_bytes, store, sizes_known);
        ret = CADU_EXIT_OK;
out:
        for (size_t i = 0; ii && i < l.n; i++)
                cadu_extract_stats_free(&ii[i].st);
        free(ii);
        free(sv.raw);
        if (sv.rootfd >= 0)
                close(sv.rootfd);
        cadu_store_free(store);
        cadu_chunk_set_done(&all);
        index_list_done(&l);
        cadu_chunk_codec_release();
        return ret;
}

/* ---- cadu verify-store ---- */

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

/* ---- cadu gc ---- */

static const char gc_help[] =
        "Usage: cadu gc [OPTIONS] STORE INDEX...\n\n"
        "Delete the chunks of the directory store STORE that none of the indexes\n"
        "references, and report how many bytes that frees. Files younger than\n"
        "the grace period are kept, so that a cadu make writing into the store\n"
        "meanwhile is safe: list every index that is still in use, including\n"
        "those being made. Leftover temporary files older than the grace period\n"
        "are deleted too, and prefix directories left empty are removed. Other\n"
        "files are left alone (cadu verify-store lists them).\n\n"
        "Options:\n"
        "  -n, --dry-run           report what would be deleted, delete nothing\n"
        "  -g, --grace SECONDS     keep files modified less than SECONDS ago\n"
        "                          (default 3600; 0 deletes regardless of age)\n"
        "  -v, --verbose           print each deleted file (\"delete PATH\") on stdout\n"
        "  -q, --quiet             no summary\n"
        "      --json              statistics as JSON on stdout\n"
        "  -h, --help              show this help\n";

typedef struct gc_ctx {
        cadu_chunk_set set;
        bool dry_run, verbose;
        int64_t cutoff;                 /* files modified at or after this are young */
        size_t cur_deleted;             /* in the current prefix directory */
        uint64_t deleted, deleted_bytes, kept, kept_bytes, young, young_bytes;
        uint64_t temp_deleted, temp_bytes, temp_young, other, dirs_removed;
        char *failed;                   /* path that could not be deleted */
        const char *root;
} gc_ctx;

static int gc_delete(gc_ctx *g, const cadu_store_entry *e) {
        if (!g->dry_run && unlinkat(e->dfd, e->name, 0) < 0) {
                if (errno == ENOENT)
                        return 0;       /* gone already */
                int r = -errno;
                g->failed = strdup(e->path);
                return r;
        }
        g->cur_deleted++;
        if (g->verbose) {
                if (cadu_json) {
                        printf("{\"event\":\"delete\",\"path\":");
                        cadu_json_string(stdout, e->path);
                        printf("}\n");
                } else
                        printf("delete %s\n", e->path);
        }
        return 1;
}

static int gc_entry(void *ud, const cadu_store_entry *e) {
        gc_ctx *g = ud;
        uint64_t size = (uint64_t)e->st.st_size;
        bool young = (int64_t)e->st.st_mtime >= g->cutoff;
        cadu_chunk_entry *ref;
        int r;
        switch (e->kind) {
        case CADU_STORE_NAME_CHUNK:
                if ((ref = cadu_chunk_set_find(&g->set, e->id))) {
                        ref->state = CHUNK_PRESENT;
                        g->kept++;
                        g->kept_bytes += size;
                } else if (young) {
                        g->young++;
                        g->young_bytes += size;
                } else {
                        if ((r = gc_delete(g, e)) < 0)
                                return r;
                        if (r > 0) {
                                g->deleted++;
                                g->deleted_bytes += size;
                        }
                }
                return 0;
        case CADU_STORE_NAME_TEMP:
                if (young) {
                        g->temp_young++;
                        return 0;
                }
                if ((r = gc_delete(g, e)) < 0)
                        return r;
                if (r > 0) {
                        g->temp_deleted++;
                        g->temp_bytes += size;
                }
                return 0;
        default:
                g->other++;
                return 0;
        }
}

/* Is chunk id still in the store after this gc: referenced, or a file
 * younger than the grace period? (For the delta files of packs.) */
static bool gc_chunk_kept(void *ud, const uint8_t id[CADU_DIGEST_SIZE]) {
        gc_ctx *g = ud;
        char rel[CADU_CHUNK_PATH_MAX];
        _cleanup_free_ char *path = NULL;
        struct stat st;
        if (cadu_chunk_set_find(&g->set, id))
                return true;
        cadu_chunk_path(id, rel);
        return asprintf(&path, "%s/%s", g->root, rel) >= 0 && stat(path, &st) == 0 && (int64_t)st.st_mtime >= g->cutoff;
}

static void gc_deleted(void *ud, const char *path) {
        gc_ctx *g = ud;
        if (!g->verbose)
                return;
        if (cadu_json) {
                printf("{\"event\":\"delete\",\"path\":");
                cadu_json_string(stdout, path);
                printf("}\n");
        } else
                printf("delete %s\n", path);
}

static int gc_prefix_done(void *ud, int dfd, const char *prefix, size_t nentries, const struct stat *st) {
        gc_ctx *g = ud;
        size_t deleted = g->cur_deleted;
        g->cur_deleted = 0;
        /* Remove a directory we emptied, or found empty, unless it changed
         * within the grace period before we looked (a writer may be about
         * to create a chunk in it). */
        if (deleted != nentries || (int64_t)st->st_mtime >= g->cutoff)
                return 0;
        if (!g->dry_run && unlinkat(dfd, prefix, AT_REMOVEDIR) < 0)
                return 0;       /* not empty after all (a writer), or gone */
        g->dirs_removed++;
        return 0;
}

int cadu_cmd_gc(int argc, char **argv) {
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, 'n' },
                { "grace", required_argument, NULL, 'g' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        gc_ctx g = { .set = CADU_CHUNK_SET_INIT };
        _cleanup_free_ char *where = NULL;
        uint64_t grace = 3600;
        int c, r;

        while ((c = getopt_long(argc, argv, "ng:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'n': g.dry_run = true; break;
                case 'g':
                        if (cadu_parse_uint(optarg, 0, UINT64_C(1) << 40, &grace) < 0)
                                return cadu_usage_error("gc", "invalid --grace '%s' (seconds, 0 or more)", optarg);
                        break;
                case 'v': g.verbose = true; break;
                case 'h':
                        fputs(gc_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("gc", "invalid option");
                }
        }
        if (optind >= argc)
                return cadu_usage_error("gc", "expected STORE and at least one INDEX");
        const char *store_loc = argv[optind++];
        if (optind >= argc)
                return cadu_usage_error("gc", "refusing to run without an INDEX: every chunk of %s would be deleted",
                                        store_loc);
        if (cadu_location_is_url(store_loc) || strstr(store_loc, "://"))
                return cadu_usage_error("gc", "%s: gc works on a local directory store (run it where the files are)",
                                        store_loc);
        struct stat st;
        if (stat(store_loc, &st) < 0)
                return cadu_error_errno(-errno, "store %s", store_loc);
        if (!S_ISDIR(st.st_mode))
                return cadu_error("store %s is not a directory", store_loc);

        index_list l = { 0 };
        int ret = read_indexes(argv + optind, (size_t)(argc - optind), &l, true);
        if (ret)
                goto out;
        if ((ret = add_indexes(&g.set, &l)))
                goto out;
        g.cutoff = (int64_t)time(NULL) - (int64_t)grace;
        if (grace == 0)
                g.cutoff = INT64_MAX;
        uint64_t start = cadu_now_ns();
        cadu_store_walker w = { .entry = gc_entry, .prefix_done = gc_prefix_done, .userdata = &g };
        r = cadu_store_walk(store_loc, &w, &where);
        if (r < 0) {
                if (g.failed)
                        ret = cadu_error_errno(r, "gc %s: cannot delete %s", store_loc, g.failed);
                else
                        ret = cadu_error_errno(r, "gc: reading store %s", where ? where : store_loc);
                goto out;
        }
        /* Then the packs, pack indexes and delta files. */
        g.root = store_loc;
        cadu_packs_gc_stats pg = { 0 };
        {
                _cleanup_free_ uint8_t(*shas)[CADU_DIGEST_SIZE] = calloc(l.n + 1, CADU_DIGEST_SIZE);
                _cleanup_free_ uint8_t(*sealed)[CADU_DIGEST_SIZE] = calloc(l.n + 1, CADU_DIGEST_SIZE);
                _cleanup_free_ cadu_index **plain = calloc(l.n + 1, sizeof(*plain));
                _cleanup_free_ char *msg = NULL;
                size_t np = 0, ns = 0;
                r = shas && sealed && plain ? 0 : -ENOMEM;
                /* Encrypted indexes name sealed pack indexes by their own sha256. */
                for (size_t i = 0; r == 0 && i < l.n; i++)
                        if (!l.idx[i])
                                r = cadu_sha256_file(l.paths[i], sealed[ns++], NULL);
                        else if ((r = cadu_sha256_file(l.paths[i], shas[np], NULL)) == 0)
                                plain[np++] = l.idx[i];
                if (r == 0)
                        r = cadu_packs_gc(store_loc, (const uint8_t(*)[CADU_DIGEST_SIZE])shas, plain, np,
                                          (const uint8_t(*)[CADU_DIGEST_SIZE])sealed, ns, gc_chunk_kept, gc_deleted, &g, g.cutoff, g.dry_run, &pg, &msg);
                if (r < 0) {
                        ret = cadu_error_errno(r, "gc %s: %s", store_loc, msg ? msg : "packs");
                        goto out;
                }
        }
        uint64_t missing = 0;
        for (size_t i = 0; i < g.set.n; i++)
                missing += g.set.entries[i].state != CHUNK_PRESENT;
        double secs = (double)(cadu_now_ns() - start) / 1e9;
        if (cadu_json)
                printf("{\"event\":\"done\",\"command\":\"gc\",\"dry_run\":%s,\"deleted_chunks\":%llu,"
                       "\"deleted_bytes\":%llu,\"kept_chunks\":%llu,\"kept_bytes\":%llu,\"young_chunks\":%llu,"
                       "\"young_bytes\":%llu,\"deleted_temp_files\":%llu,\"deleted_temp_bytes\":%llu,"
                       "\"young_temp_files\":%llu,\"other_files\":%llu,\"removed_directories\":%llu,"
                       "\"missing_referenced\":%llu,\"deleted_pack_files\":%llu,\"deleted_pack_bytes\":%llu,"
                       "\"deleted_pack_indexes\":%llu,\"deleted_packs\":%llu,\"deleted_deltas\":%llu,"
                       "\"kept_packs\":%llu,\"kept_deltas\":%llu,\"grace\":%llu,\"seconds\":%.3f}\n",
                       g.dry_run ? "true" : "false", (unsigned long long)g.deleted,
                       (unsigned long long)g.deleted_bytes, (unsigned long long)g.kept,
                       (unsigned long long)g.kept_bytes, (unsigned long long)g.young, (unsigned long long)g.young_bytes,
                       (unsigned long long)g.temp_deleted, (unsigned long long)g.temp_bytes,
                       (unsigned long long)g.temp_young, (unsigned long long)g.other,
                       (unsigned long long)g.dirs_removed, (unsigned long long)missing,
                       (unsigned long long)pg.files, (unsigned long long)pg.bytes,
                       (unsigned long long)pg.pack_indexes, (unsigned long long)pg.packs,
                       (unsigned long long)pg.deltas, (unsigned long long)pg.kept_packs,
                       (unsigned long long)pg.kept_deltas, (unsigned long long)grace, secs);
        else if (!cadu_quiet) {
                char a[32], b[32], cc[32];
                fprintf(stderr, "%s: %s %llu chunks (%s), kept %llu referenced (%s) and %llu younger than %llu s (%s)\n",
                        store_loc, g.dry_run ? "would delete" : "deleted", (unsigned long long)g.deleted,
                        cadu_format_bytes(g.deleted_bytes, a), (unsigned long long)g.kept,
                        cadu_format_bytes(g.kept_bytes, b), (unsigned long long)g.young, (unsigned long long)grace,
                        cadu_format_bytes(g.young_bytes, cc));
                if (g.temp_deleted || g.temp_young || g.dirs_removed || g.other)
                        fprintf(stderr, "  temporary files: %llu %s, %llu young kept; %llu empty directories %s; "
                                        "%llu other files left alone\n",
                                (unsigned long long)g.temp_deleted, g.dry_run ? "to delete" : "deleted",
                                (unsigned long long)g.temp_young, (unsigned long long)g.dirs_removed,
                                g.dry_run ? "to remove" : "removed", (unsigned long long)g.other);
                if (pg.files || pg.kept_packs || pg.kept_deltas)
                        fprintf(stderr, "  packs: %s %llu pack indexes, %llu packs and %llu delta files (%s); "
                                        "kept %llu packs and %llu delta files\n",
                                g.dry_run ? "would delete" : "deleted", (unsigned long long)pg.pack_indexes,
                                (unsigned long long)pg.packs, (unsigned long long)pg.deltas,
                                cadu_format_bytes(pg.bytes, a), (unsigned long long)pg.kept_packs,
                                (unsigned long long)pg.kept_deltas);
        }
        if (missing && !cadu_quiet)
                fprintf(stderr, "cadu: warning: %llu chunks the indexes reference are not in %s "
                                "(run cadu verify-store)\n", (unsigned long long)missing, store_loc);
        ret = CADU_EXIT_OK;
out:
        free(g.failed);
        cadu_chunk_set_done(&g.set);
        index_list_done(&l);
        return ret;
}

/* ---- cadu mirror ---- */

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

enum { M_PRESENT = 1, M_COPIED, M_MISSING, M_CORRUPT, M_ERROR };

typedef struct mirror_job {
        char *from;                     /* source store location */
        char *to;                       /* destination directory store */
        cadu_chunk_set set;
        cadu_index **rels;              /* the indexes, for their packs */
        uint8_t (*rel_shas)[CADU_DIGEST_SIZE];
        size_t nrels;
} mirror_job;

/* Remember a release (idx, owned from now on) of the job for its packs. */
static int job_add_release(mirror_job *j, cadu_index *idx, const uint8_t sha[CADU_DIGEST_SIZE]) {
        cadu_index **ri = realloc(j->rels, (j->nrels + 1) * sizeof(*ri));
        if (ri)
                j->rels = ri;
        uint8_t(*rs)[CADU_DIGEST_SIZE] = ri ? realloc(j->rel_shas, (j->nrels + 1) * sizeof(*rs)) : NULL;
        if (!rs) {
                cadu_index_free(idx);
                return -ENOMEM;
        }
        j->rel_shas = rs;
        j->rels[j->nrels] = idx;
        memcpy(j->rel_shas[j->nrels++], sha, CADU_DIGEST_SIZE);
        return 0;
}

typedef struct mirrorer {
        cadu_store *src, *dst;
        cadu_chunk_set *set;
        int *errs;                      /* per entry, for M_ERROR */
        cadu_buf *raw, *out;            /* per worker */
        progress_ctx pc;
        atomic_uint_fast64_t present, copied, copied_raw, repaired;
        pthread_mutex_t lock;
        int fatal;
        size_t fatal_entry;
} mirrorer;

/* A chunk file of an encrypted store, by its keyed name (no key): copied
 * as it is when its structure is sound; the devices authenticate it. */
static int get_sealed(cadu_store *s, const uint8_t name[CADU_CRYPT_NAME_SIZE], cadu_buf *raw) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        int r = s->ops->get(s, name, cadu_chunk_max_raw(CADU_CHUNK_SIZE_MAX_LIMIT) + CADU_CRYPT_CHUNK_OVERHEAD, raw);
        if (r < 0)
                return r;
        return cadu_crypt_chunk_check(raw->data, raw->len, key_id);
}

static int mirror_one(void *ud, size_t i, unsigned w) {
        mirrorer *m = ud;
        cadu_chunk_entry *e = &m->set->entries[i];
        cadu_buf *raw = &m->raw[w], *out = &m->out[w];
        size_t max = (size_t)e->max_size;
        /* No size bound: a keyed name from an encrypted index. */
        bool sealed = max == 0;

        /* Resume: a chunk already there and intact is kept. */
        int r = sealed ? get_sealed(m->dst, e->id, raw)
                       : cadu_store_get_chunk(m->dst, e->digest, e->id, (size_t)e->size, max, raw, out);
        if (r == 0) {
                e->state = M_PRESENT;
                m->present++;
                m->pc.done += e->size;
                return 0;
        }
        if (r != -ENOENT && r != -EBADMSG && r != -EFBIG)
                goto fatal;
        if (r != -ENOENT)
                m->repaired++;          /* a damaged copy: replaced below */
        r = sealed ? get_sealed(m->src, e->id, raw)
                   : cadu_store_get_chunk(m->src, e->digest, e->id, (size_t)e->size, max, raw, out);
        if (r < 0) {
                e->state = r == -ENOENT ? M_MISSING : (r == -EBADMSG || r == -EFBIG) ? M_CORRUPT : M_ERROR;
                m->errs[i] = r;
                m->pc.done += e->size;
                return 0;
        }
        r = m->dst->ops->put(m->dst, e->id, raw->data, raw->len);
        if (r < 0)
                goto fatal;
        e->state = M_COPIED;
        m->copied++;
        m->copied_raw += raw->len;
        m->pc.done += e->size;
        return 0;
fatal:
        pthread_mutex_lock(&m->lock);
        if (!m->fatal) {
                m->fatal = r;
                m->fatal_entry = i;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

static void mirror_progress(void *ud) {
        progress_show(&((mirrorer *)ud)->pc);
}

/* Copy a file atomically (streamed: deltas can be large). */
static int copy_file(const char *from, const char *to) {
        _cleanup_close_ int in = cadu_open_untrusted(from, 0);
        if (in < 0)
                return in;
        _cleanup_free_ char *dir = NULL;
        int r = cadu_dirname(to, &dir);
        if (r < 0 || (r = cadu_mkdir_p(dir)) < 0)
                return r;
        cadu_outfile o = CADU_OUTFILE_INIT;
        if ((r = cadu_outfile_open(&o, to, false)) < 0)
                return r;
        static const size_t bufsize = 1 << 20;
        _cleanup_free_ uint8_t *buf = cadu_malloc_io(bufsize);
        if (!buf)
                r = -ENOMEM;
        while (r == 0) {
                ssize_t k = cadu_read_full(in, buf, bufsize);
                if (k <= 0) {
                        r = (int)k;
                        break;
                }
                r = cadu_write_full(o.fd, buf, (size_t)k);
        }
        if (r == 0)
                r = cadu_outfile_commit(&o);
        if (r < 0)
                cadu_outfile_abort(&o);
        return r;
}

/* Copy the chunks of one job. Returns an exit code (printing the errors). */
static int run_mirror_job(mirror_job *job, const cadu_chunk_set *except, const cadu_storeopts *so, unsigned threads,
                          uint64_t *ret_stats, cadu_packs_stats *ps) {
        mirrorer m = { .lock = PTHREAD_MUTEX_INITIALIZER };
        int ret = CADU_EXIT_OK, r;
        unsigned nt = 0;
        char hex[HEX_SIZE];

        /* Minus what the devices already have. */
        cadu_chunk_set need = CADU_CHUNK_SET_INIT;
        for (size_t i = 0; i < job->set.n; i++) {
                cadu_chunk_entry *e;
                if (except && cadu_chunk_set_find(except, job->set.entries[i].id))
                        continue;
                if ((r = cadu_chunk_set_add(&need, job->set.entries[i].id, &e)) < 0) {
                        ret = cadu_error_errno(r, "mirror");
                        goto out;
                }
                *e = job->set.entries[i];
        }
        r = cadu_store_open(job->from, &so->opts, false, &m.src);
        if (r < 0) {
                ret = cadu_error_errno(r, "cannot open store %s", job->from);
                goto out;
        }
        r = cadu_store_open_dir(job->to, true, &m.dst);
        if (r < 0) {
                ret = cadu_error_errno(r, "cannot create store %s", job->to);
                goto out;
        }
        nt = default_threads(threads, m.src);
        m.set = &need;
        m.errs = calloc(need.n + 1, sizeof(int));
        m.raw = calloc(nt, sizeof(cadu_buf));
        m.out = calloc(nt, sizeof(cadu_buf));
        if (!m.errs || !m.raw || !m.out) {
                ret = cadu_error_errno(-ENOMEM, "mirror");
                goto out;
        }
        uint64_t total = 0;
        for (size_t i = 0; i < need.n; i++)
                total += need.entries[i].size;
        cadu_progress_begin(&m.pc.prog, "mirror", total);
        r = cadu_parallel_for(need.n, nt, mirror_one, mirror_progress, &m);
        cadu_progress_end(&m.pc.prog);
        if (r < 0) {
                hexid(need.entries[m.fatal_entry].id, hex);
                ret = cadu_error_errno(m.fatal ? m.fatal : r, "mirror into %s: chunk %s", job->to, hex);
                goto out;
        }
        size_t nmissing = 0, ncorrupt = 0, nerror = 0;
        int first_err = 0;
        for (size_t i = 0; i < need.n; i++) {
                const cadu_chunk_entry *e = &need.entries[i];
                if (e->state == M_PRESENT || e->state == M_COPIED)
                        continue;
                hexid(e->id, hex);
                const char *kind = e->state == M_MISSING ? "missing" : e->state == M_CORRUPT ? "corrupt" : "error";
                nmissing += e->state == M_MISSING;
                ncorrupt += e->state == M_CORRUPT;
                if (e->state == M_ERROR) {
                        nerror++;
                        if (!first_err)
                                first_err = m.errs[i];
                }
                if (cadu_json) {
                        printf("{\"event\":\"problem\",\"kind\":\"%s\",\"id\":\"%s\",\"reason\":", kind, hex);
                        cadu_json_string(stdout, cadu_strerror(m.errs[i]));
                        printf("}\n");
                } else if (e->state == M_MISSING)
                        printf("missing %s\n", hex);
                else
                        printf("%s %s: %s\n", kind, hex, cadu_strerror(m.errs[i]));
        }
        ret_stats[0] += need.n;
        ret_stats[1] += total;
        ret_stats[2] += m.present;
        ret_stats[3] += m.copied;
        ret_stats[4] += m.copied_raw;
        ret_stats[5] += m.repaired;
        if (nmissing || ncorrupt || nerror) {
                char det[256];
                const char *d = nerror ? store_detail(m.src, det, sizeof(det)) : NULL;
                cadu_error("mirror from %s: %zu chunks could not be copied (%zu missing, %zu corrupt, %zu failed%s%s)",
                           job->from, nmissing + ncorrupt + nerror, nmissing, ncorrupt, nerror, d ? ": " : "",
                           d ? d : "");
                ret = nerror ? cadu_storeopts_exit_code(first_err) : ncorrupt ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
        }
        /* The releases' packs, pack indexes and delta files. */
        for (size_t k = 0; !ret && k < job->nrels; k++) {
                _cleanup_free_ char *msg = NULL;
                if ((r = cadu_packs_mirror(m.src, job->to, job->rels[k], job->rel_shas[k], ps, &msg)) < 0)
                        ret = r == -EBADMSG ? (cadu_error("mirror: %s", msg ? msg : cadu_strerror(r)), CADU_EXIT_VERIFY)
                                            : cadu_error_errno(r, "mirror: %s", msg ? msg : "packs");
        }
out:
        for (unsigned k = 0; k < nt && m.raw && m.out; k++) {
                cadu_buf_free(&m.raw[k]);
                cadu_buf_free(&m.out[k]);
        }
        free(m.raw);
        free(m.out);
        free(m.errs);
        cadu_store_free(m.src);
        cadu_store_free(m.dst);
        cadu_chunk_set_done(&need);
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

static char *path_join(const char *a, const char *b) {
        char *p;
        return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* The manifest and the files it names, fetched and checked against its
 * pins before anything is written. */
typedef struct manifest_plan {
        cadu_manifest *m;
        cadu_buf text, sig;
        cadu_buf *indexes;              /* per image: the bytes checked */
        char **delta_paths;             /* per image: local delta to copy, or NULL */
        cadu_buf *deltas;               /* per image: a fetched delta (URL manifest) */
        char **fulls;                   /* per image: its full image (path checked, or URL), or NULL */
} manifest_plan;

static void manifest_plan_done(manifest_plan *p) {
        for (size_t i = 0; p->m && i < p->m->n_images; i++) {
                if (p->indexes)
                        cadu_buf_free(&p->indexes[i]);
                if (p->deltas)
                        cadu_buf_free(&p->deltas[i]);
                free(p->delta_paths ? p->delta_paths[i] : NULL);
                free(p->fulls ? p->fulls[i] : NULL);
        }
        free(p->fulls);
        free(p->indexes);
        free(p->deltas);
        free(p->delta_paths);
        cadu_buf_free(&p->text);
        cadu_buf_free(&p->sig);
        cadu_manifest_free(p->m);
}

/* ---- the destination: locked, and cleaned of an interrupted run ---- */

/* mirror owns DIR while it runs: an flock on the directory itself (no lock
 * file to show up as a stray) keeps a second mirror from interleaving
 * another release into it. */
static int lock_destination(const char *to, int *ret_fd) {
        int r = cadu_mkdir_p(to);
        if (r < 0)
                return cadu_error_errno(r, "mirror: creating %s", to);
        int fd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return cadu_error_errno(-errno, "mirror: %s", to);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno;
                close(fd);
                if (r == EWOULDBLOCK)
                        return cadu_error("mirror: %s is being filled by another cadu mirror", to);
                return cadu_error_errno(-r, "mirror: locking %s", to);
        }
        *ret_fd = fd;
        return 0;
}

static bool all_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* "<prefix>.<16 hex>.tmp": the temporary name of cadu's atomic writes (a
 * chunk of a directory store, or a file replaced by cadu_outfile). */
static bool is_tmp_of(const char *name, const char *prefix) {
        size_t pl = strlen(prefix), n = strlen(name);
        return n == pl + 21 && !memcmp(name, prefix, pl) && name[pl] == '.' && all_hex(name + pl + 1, 16) &&
               !strcmp(name + pl + 17, ".tmp");
}

/* Remove from directory dir the temporary files named like those of
 * accept(name); *n counts them. */
static int remove_tmps(const char *dir, bool (*accept)(const char *name, const void *arg), const void *arg,
                       size_t *n) {
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        int r = 0;
        struct dirent *e;
        while ((e = readdir(d)))
                if (accept(e->d_name, arg)) {
                        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
                                (*n)++;
                        else if (errno != ENOENT && r == 0)
                                r = -errno;
                }
        closedir(d);
        return r;
}

static bool is_file_tmp(const char *name, const void *arg) {
        return is_tmp_of(name, arg);
}

/* <64 hex>.cacnk.<16 hex>.tmp */
static bool is_chunk_tmp(const char *name, const void *arg) {
        char chunk[64 + 6 + 1];
        (void)arg;
        if (strlen(name) != 64 + 6 + 21 || !all_hex(name, 64) || strncmp(name + 64, ".cacnk", 6) != 0)
                return false;
        memcpy(chunk, name, 70);
        chunk[70] = 0;
        return is_tmp_of(name, chunk);
}

/* Remove the temporary files of an atomic write of DIR/rel. */
static int remove_file_tmps(const char *to, const char *rel, size_t *n) {
        _cleanup_free_ char *path = path_join(to, rel), *dir = NULL;
        if (!path || cadu_dirname(path, &dir) < 0)
                return -ENOMEM;
        int r = remove_tmps(dir, is_file_tmp, strrchr(path, '/') + 1, n);
        if (r < 0)
                cadu_error_errno(r, "mirror: cleaning %s", dir);
        return r;
}

/* A run killed mid-write leaves its temporary files: chunks being stored in
 * each destination store, and the manifest's files being replaced. Remove
 * exactly those names (nothing else in DIR is touched). */
static int clean_destination(const mirror_job *jobs, size_t njobs, const char *mloc, const manifest_plan *p,
                             const char *to) {
        size_t n = 0;
        int r = 0;
        for (size_t j = 0; j < njobs && r == 0; j++) {
                DIR *d = opendir(jobs[j].to);
                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        return cadu_error_errno(-errno, "mirror: %s", jobs[j].to);
                }
                struct dirent *e;
                while (r == 0 && (e = readdir(d)))
                        if (strlen(e->d_name) == 4 && all_hex(e->d_name, 4)) {
                                _cleanup_free_ char *sub = path_join(jobs[j].to, e->d_name);
                                r = sub ? remove_tmps(sub, is_chunk_tmp, NULL, &n) : -ENOMEM;
                                if (r < 0)
                                        cadu_error_errno(r, "mirror: cleaning %s", sub ? sub : jobs[j].to);
                        }
                closedir(d);
        }
        if (p && p->m) {
                /* The indexes, the deltas, the manifest and its signature. */
                const char *base = strrchr(mloc, '/');
                _cleanup_free_ char *sig = NULL;
                base = base ? base + 1 : mloc;
                if (asprintf(&sig, "%s.sig", base) < 0)
                        return cadu_error_errno(-ENOMEM, "mirror");
                for (size_t i = 0; r == 0 && i < p->m->n_images; i++) {
                        r = remove_file_tmps(to, p->m->images[i].index, &n);
                        if (r == 0 && p->m->images[i].delta)
                                r = remove_file_tmps(to, p->m->images[i].delta, &n);
                        if (r == 0 && p->fulls && p->fulls[i])
                                r = remove_file_tmps(to, p->m->images[i].full, &n);
                }
                if (r == 0)
                        r = remove_file_tmps(to, base, &n);
                if (r == 0)
                        r = remove_file_tmps(to, sig, &n);
        }
        if (r < 0)
                return CADU_EXIT_FAILURE;
        if (n && !cadu_quiet && !cadu_json)
                fprintf(stderr, "%s: removed %zu temporary file%s of an interrupted mirror\n", to, n,
                        n == 1 ? "" : "s");
        return 0;
}

/* Find or create the job for (from, to). */
static mirror_job *get_job(mirror_job **jobs, size_t *njobs, const char *from, const char *to) {
        for (size_t i = 0; i < *njobs; i++)
                if (!strcmp((*jobs)[i].from, from) && !strcmp((*jobs)[i].to, to))
                        return &(*jobs)[i];
        mirror_job *n = realloc(*jobs, (*njobs + 1) * sizeof(*n));
        if (!n)
                return NULL;
        *jobs = n;
        mirror_job *j = &n[*njobs];
        *j = (mirror_job){ .from = strdup(from), .to = strdup(to), .set = CADU_CHUNK_SET_INIT };
        if (!j->from || !j->to) {
                free(j->from);
                free(j->to);
                return NULL;
        }
        (*njobs)++;
        return j;
}

/* Fetch location (path or URL) into out. Returns an exit code. */
static int fetch(const char *what, const char *location, const cadu_storeopts *so, size_t max, cadu_buf *out) {
        _cleanup_free_ char *msg = NULL;
        int r = cadu_fetch(location, &so->opts, max, out, &msg);
        if (r >= 0)
                return 0;
        if (msg)
                cadu_error("cannot fetch %s %s: %s", what, location, msg);
        else
                cadu_error_errno(r, "cannot read %s %s", what, location);
        return cadu_storeopts_exit_code(r);
}

/* Fetch and check a manifest (path or URL), its signature and its indexes
 * and deltas, and set up one job per (source, destination) pair. Returns
 * an exit code. */
static int plan_manifest(const char *mloc, const char *from, const char *to, const cadu_storeopts *so,
                         manifest_plan *p, mirror_job **jobs, size_t *njobs) {
        _cleanup_free_ char *err = NULL, *sig_loc = NULL;
        bool remote = cadu_location_is_url(mloc);
        int r = fetch("manifest", mloc, so, CADU_MANIFEST_MAX_SIZE, &p->text);
        if (r)
                return r;
        if ((r = cadu_manifest_parse(p->text.data, p->text.len, &p->m, &err)) < 0) {
                cadu_error("manifest %s: %s", mloc, err ? err : cadu_strerror(r));
                return r == -EBADMSG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
        }
        /* The signature is copied, not checked: mirror holds no trust
         * anchors; the device (or cadu verify) checks it. */
        if (asprintf(&sig_loc, "%s.sig", mloc) < 0)
                return cadu_error_errno(-ENOMEM, "mirror");
        r = cadu_fetch(sig_loc, &so->opts, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &p->sig, NULL);
        if (r == -ENOENT)
                return cadu_error_errno(r, "signature %s of manifest %s (sign it first: cadu sign)", sig_loc, mloc);
        if (r < 0 && (r = fetch("signature", sig_loc, so, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &p->sig)))
                return r;
        size_t n = p->m->n_images;
        p->indexes = calloc(n + 1, sizeof(cadu_buf));
        p->deltas = calloc(n + 1, sizeof(cadu_buf));
        p->delta_paths = calloc(n + 1, sizeof(char *));
        p->fulls = calloc(n + 1, sizeof(char *));
        if (!p->indexes || !p->deltas || !p->delta_paths || !p->fulls)
                return cadu_error_errno(-ENOMEM, "mirror");
        for (size_t i = 0; i < n; i++) {
                const cadu_manifest_image *img = &p->m->images[i];
                cadu_index *idx = NULL;
                _cleanup_free_ char *src = NULL, *dst = NULL, *e2 = NULL, *iloc = NULL, *dloc = NULL;
                if ((r = cadu_manifest_resolve(mloc, img->index, &iloc)) < 0)
                        return cadu_error_errno(r, "manifest %s: image %s: index %s", mloc, img->name, img->index);
                /* An encrypted index is pinned by its plaintext, which a
                 * mirror without the key cannot check: its header's keyed
                 * names say which chunk files to copy; devices check all. */
                size_t imax = img->encrypted ? 2 * (size_t)img->index_size + 4096 : (size_t)img->index_size;
                if ((r = fetch("index", iloc, so, imax, &p->indexes[i])))
                        return r;
                uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
                const uint8_t *names = NULL;
                size_t n_names = 0;
                if (img->encrypted &&
                    cadu_crypt_index_header(p->indexes[i].data, p->indexes[i].len, key_id, &names, &n_names) < 0) {
                        cadu_error("manifest %s: image %s: index %s: not an encrypted index", mloc, img->name, iloc);
                        return CADU_EXIT_VERIFY;
                }
                if (!img->encrypted &&
                    (r = cadu_manifest_check_index_data(img, p->indexes[i].data, p->indexes[i].len, &idx, &e2)) < 0) {
                        cadu_error("manifest %s: image %s: index %s: %s", mloc, img->name, iloc,
                                   e2 ? e2 : cadu_strerror(r));
                        return r == -EBADMSG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
                }
                if (img->delta) {
                        free(e2);
                        e2 = NULL;
                        if ((r = cadu_manifest_resolve(mloc, img->delta, &dloc)) < 0) {
                                cadu_index_free(idx);
                                return cadu_error_errno(r, "manifest %s: image %s: delta %s", mloc, img->name,
                                                        img->delta);
                        }
                        if (remote) {
                                if ((r = fetch("delta", dloc, so, (size_t)img->delta_size, &p->deltas[i]))) {
                                        cadu_index_free(idx);
                                        return r;
                                }
                                r = cadu_manifest_check_data(p->deltas[i].data, p->deltas[i].len, img->delta_size,
                                                             img->delta_sha256, &e2);
                        } else {
                                r = cadu_manifest_check_file(dloc, img->delta_size, img->delta_sha256, &e2);
                                p->delta_paths[i] = dloc;
                                dloc = NULL;
                        }
                        if (r < 0) {
                                cadu_index_free(idx);
                                cadu_error("manifest %s: image %s: delta %s: %s", mloc, img->name, img->delta,
                                           e2 ? e2 : cadu_strerror(r));
                                return r == -EBADMSG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
                        }
                }
                /* A full image is optional: one on local media that is
                 * absent is left out, one present is checked now; one over
                 * the network is checked while it is copied. */
                if (img->full && cadu_store_relpath_valid(img->full)) {
                        free(e2);
                        e2 = NULL;
                        if ((r = cadu_manifest_resolve(mloc, img->full, &p->fulls[i])) < 0) {
                                cadu_index_free(idx);
                                return cadu_error_errno(r, "manifest %s: image %s: full image %s", mloc, img->name,
                                                        img->full);
                        }
                        if (!remote && access(p->fulls[i], F_OK) < 0) {
                                free(p->fulls[i]);
                                p->fulls[i] = NULL;
                        } else if (!remote && (r = cadu_manifest_check_file(p->fulls[i], img->full_size,
                                                                            img->full_sha256, &e2)) < 0) {
                                cadu_index_free(idx);
                                cadu_error("manifest %s: image %s: full image %s: %s", mloc, img->name, img->full,
                                           e2 ? e2 : cadu_strerror(r));
                                return r == -EBADMSG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
                        }
                }
                if (from)
                        src = strdup(from);
                else if (img->store)
                        r = cadu_manifest_resolve(mloc, img->store, &src);
                else {
                        cadu_index_free(idx);
                        return cadu_usage_error("mirror", "manifest %s names no store for image %s: give --from",
                                                mloc, img->name);
                }
                if (img->store && !cadu_manifest_is_url(img->store))
                        dst = path_join(to, img->store);
                else
                        dst = path_join(to, "default.castr");
                mirror_job *j = src && dst && r >= 0 ? get_job(jobs, njobs, src, dst) : NULL;
                for (size_t k = 0; j && r >= 0 && k < n_names; k++) {
                        cadu_chunk_entry *e;
                        if ((r = cadu_chunk_set_add(&j->set, names + k * CADU_CRYPT_NAME_SIZE, &e)) >= 0)
                                e->refs++;
                }
                if (!j || r < 0 || (idx && (r = cadu_chunk_set_add_index(&j->set, idx, 0)) < 0)) {
                        cadu_index_free(idx);
                        return cadu_error_errno(r < 0 ? r : -ENOMEM, "manifest %s: image %s", mloc, img->name);
                }
                /* An encrypted release's sealed pack index is named by the
                 * sha256 of its encrypted index file. */
                uint8_t esha[CADU_DIGEST_SIZE];
                if (img->encrypted) {
                        cadu_index_free(idx);
                        idx = NULL;
                        r = cadu_digest(CADU_DIGEST_SHA256, p->indexes[i].data, p->indexes[i].len, esha);
                }
                if (r >= 0)
                        r = job_add_release(j, idx, img->encrypted ? esha : img->index_sha256);
                if (r < 0)
                        return cadu_error_errno(r, "manifest %s: image %s", mloc, img->name);
        }
        return 0;
}

/* Write data to path atomically, creating its directory. */
static int write_file(const char *path, const void *data, size_t len) {
        _cleanup_free_ char *dir = NULL;
        int r = cadu_dirname(path, &dir);
        if (r < 0 || (r = cadu_mkdir_p(dir)) < 0)
                return r;
        return cadu_write_file_atomic(path, data, len);
}

typedef struct full_copy {
        int fd;
        cadu_digest_ctx *h;
} full_copy;

static int full_copy_range(void *ud, size_t i, const uint8_t *data, size_t len) {
        full_copy *c = ud;
        (void)i;
        int r = cadu_digest_update(c->h, data, len);
        return r < 0 ? r : cadu_write_full(c->fd, data, len);
}

/* Stream the full image of img at url (pinned) into path, in ranges of
 * 2 MiB: bounded memory whatever its size, not a byte beyond the pin read,
 * and the file committed only when it matches its pins. -ENOENT when the
 * server lacks it, -EBADMSG when it differs from the pins. */
static int copy_full_url(const cadu_storeopts *so, const char *url, const cadu_manifest_image *img, const char *path) {
        const uint64_t piece = (uint64_t)2 << 20;
        _cleanup_free_ char *base = strndup(url, strlen(url) - strlen(img->full) - 1), *dir = NULL;
        cadu_outfile o = CADU_OUTFILE_INIT;
        cadu_store *s = NULL;
        full_copy c = { .h = cadu_digest_new(CADU_DIGEST_SHA256) };
        uint8_t got[CADU_DIGEST_SIZE];
        int r = base && c.h ? cadu_dirname(path, &dir) : -ENOMEM;
        if (r == 0 && (r = cadu_mkdir_p(dir)) == 0 && (r = cadu_store_open(base, &so->opts, false, &s)) == 0)
                r = cadu_outfile_open(&o, path, false);
        c.fd = o.fd;
        for (uint64_t off = 0; r == 0 && off < img->full_size; off += piece) {
                cadu_range rg = { off, CADU_MIN(img->full_size - off, piece) };
                r = cadu_store_get_ranges(s, img->full, &rg, 1, full_copy_range, &c);
        }
        if (r == 0 && (cadu_digest_final(c.h, got) < 0 || memcmp(got, img->full_sha256, CADU_DIGEST_SIZE)))
                r = -EBADMSG;
        if (r == 0)
                r = cadu_outfile_commit(&o);
        else if (o.fd >= 0)
                cadu_outfile_abort(&o);
        cadu_digest_free(c.h);
        cadu_store_free(s);
        return r;
}

/* Put the indexes, deltas, full images, signature and manifest into DIR,
 * the manifest last, each exactly as checked. Returns an exit code. */
static int copy_manifest_files(const char *mloc, const manifest_plan *p, const char *to, const cadu_storeopts *so) {
        int r = 0;
        for (size_t i = 0; i < p->m->n_images; i++) {
                const cadu_manifest_image *img = &p->m->images[i];
                _cleanup_free_ char *idst = path_join(to, img->index);
                if (!idst || (r = write_file(idst, p->indexes[i].data, p->indexes[i].len)) < 0)
                        return cadu_error_errno(idst ? r : -ENOMEM, "writing %s", idst ? idst : to);
                if (!img->delta)
                        continue;
                _cleanup_free_ char *ddst = path_join(to, img->delta);
                if (!ddst)
                        return cadu_error_errno(-ENOMEM, "mirror");
                if (p->delta_paths[i])
                        r = copy_file(p->delta_paths[i], ddst);
                else
                        r = write_file(ddst, p->deltas[i].data, p->deltas[i].len);
                if (r < 0)
                        return cadu_error_errno(r, "writing %s", ddst);
        }
        for (size_t i = 0; i < p->m->n_images; i++) {
                const cadu_manifest_image *img = &p->m->images[i];
                if (!p->fulls[i])
                        continue;
                _cleanup_free_ char *fdst = path_join(to, img->full);
                if (!fdst)
                        return cadu_error_errno(-ENOMEM, "mirror");
                r = cadu_location_is_url(p->fulls[i]) ? copy_full_url(so, p->fulls[i], img, fdst)
                                                      : copy_file(p->fulls[i], fdst);
                if (r == -ENOENT && cadu_location_is_url(p->fulls[i]))
                        continue;       /* optional: devices take the chunks */
                if (r == -EBADMSG) {
                        cadu_error("manifest %s: image %s: full image %s: does not match the manifest's pins", mloc,
                                   img->name, p->fulls[i]);
                        return CADU_EXIT_VERIFY;
                }
                if (r < 0)
                        return cadu_error_errno(r, "writing %s", fdst);
        }
        const char *base = strrchr(mloc, '/');
        base = base ? base + 1 : mloc;
        _cleanup_free_ char *mdst = path_join(to, base), *sdst = NULL;
        if (!mdst || asprintf(&sdst, "%s.sig", mdst) < 0)
                return cadu_error_errno(-ENOMEM, "mirror");
        if ((r = write_file(sdst, p->sig.data, p->sig.len)) < 0)
                return cadu_error_errno(r, "writing %s", sdst);
        if ((r = write_file(mdst, p->text.data, p->text.len)) < 0)
                return cadu_error_errno(r, "writing %s", mdst);
        return 0;
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
        manifest_plan mp = { 0 };
        mirror_job *jobs = NULL;
        size_t njobs = 0;
        uint64_t stats[6] = { 0 };
        cadu_packs_stats ps = { 0 };
        uint64_t start = cadu_now_ns();
        int ret = CADU_EXIT_OK, lock_fd = -1;

        if ((ret = lock_destination(to, &lock_fd)))
                goto out;
        if ((ret = read_indexes(except_paths, nexcept, &ex, true)))
                goto out;
        if ((ret = add_indexes(&except, &ex)))
                goto out;
        if (manifest) {
                if ((ret = plan_manifest(argv[optind], from, to, &so, &mp, &jobs, &njobs)))
                        goto out;
        } else {
                if ((ret = read_indexes(argv + optind, (size_t)(argc - optind), &l, true)))
                        goto out;
                mirror_job *j = get_job(&jobs, &njobs, from, to);
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
                            (r = job_add_release(j, idx, sha)) < 0) {
                                ret = cadu_error_errno(r, "index %s", l.paths[i]);
                                goto out;
                        }
                }
        }
        if ((ret = clean_destination(jobs, njobs, argv[optind], manifest ? &mp : NULL, to)))
                goto out;
        for (size_t i = 0; i < njobs; i++) {
                int k = run_mirror_job(&jobs[i], &except, &so, threads, stats, &ps);
                if (k && !ret)
                        ret = k;
        }
        if (ret)
                goto out;
        if (manifest && (ret = copy_manifest_files(argv[optind], &mp, to, &so)))
                goto out;

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
        for (size_t i = 0; i < njobs; i++) {
                free(jobs[i].from);
                free(jobs[i].to);
                cadu_chunk_set_done(&jobs[i].set);
                for (size_t k = 0; k < jobs[i].nrels; k++)
                        cadu_index_free(jobs[i].rels[k]);
                free(jobs[i].rels);
                free(jobs[i].rel_shas);
        }
        free(jobs);
        manifest_plan_done(&mp);
        cadu_chunk_set_done(&except);
        index_list_done(&l);
        index_list_done(&ex);
        cadu_chunk_codec_release();
        if (lock_fd >= 0)
                close(lock_fd);
        return ret;
}
