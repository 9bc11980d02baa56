/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The delta step of cadu make (make-deltas.h): sketch the store's chunks
 * that have no sketch yet, index every sketch, and encode the release's new
 * chunks against their best-resembling predecessors on every thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cadu-crypt.h"
#include "cadu-delta.h"
#include "make-deltas.h"
#include "storewalk.h"

/* A candidate base shares at least one uncommon feature with the target;
 * features shared by more chunks than this say nothing (zeros, padding). */
#define COMMON_MAX 48
/* Base sets tried for each target: the best 1, 2, 4 and 8 candidates. */
static const size_t trial_sets[] = { 1, 2, 4, 8 };
/* Trials run at this zstd level (or the final level when lower); only the
 * winner is encoded at the final level. */
#define TRIAL_LEVEL 3
/* A best trial smaller than this is kept as it is: on the Debian pair, two
 * thirds of the deltas are, and encoding them again at level 19 took two
 * thirds of the time to save 0.3% of the bytes. */
#define FINAL_MIN 2048
/* A delta is kept only when it is at most this fraction (in 1/64) of the
 * chunk file: smaller by a clear margin, not by noise. */
#define KEEP_64THS 58
/* The largest sketch file read back. */
#define SKETCH_FILE_MAX (256u << 20)

/* Flags in cadu_chunk_entry.mask of the store's chunk set. */
#define IN_STORE 1u
#define SKETCHED 2u

typedef struct deltas {
        const cadu_make_deltas_params *p;
        int rootfd;
        cadu_chunk_set chunks;          /* every chunk known: state = release order (0: before) */
        cadu_chunk_set names;           /* encrypted store: the keyed names of its chunk files */
        cadu_sketch *sketches;          /* parallel to chunks.entries */
        size_t asketches;
        /* Chunks to sketch (indices into chunks), then the result. */
        size_t *todo;
        size_t ntodo;
        /* The sketch index covers cand[0..ncand): indices into chunks. */
        size_t *cand;
        size_t ncand;
        cadu_sketch_index *index;
        size_t *targets;                /* indices into cand, release order */
        size_t ntargets;
        atomic_size_t next;
        atomic_int error;
        size_t failed;                  /* the chunk whose error stopped the step */
        atomic_uint_fast64_t with_delta, plain_bytes, best_bytes, delta_bytes;
        const char *phase;              /* what the pool does, for the progress callback */
        atomic_uint_fast64_t done;
} deltas;

/* *what = a followed by b, unless it is set already. */
static void set_what(char **what, const char *a, const char *b) {
        if (what && !*what && asprintf(what, "%s%s", a, b) < 0)
                *what = NULL;
}

/* Make room for a sketch at index i (the set just grew). */
static int sketch_slot(deltas *d, size_t i) {
        int r = CADU_ARRAY_GROW(d->sketches, d->asketches, i, 1024);
        if (r < 0)
                return r;
        memset(&d->sketches[i], 0, sizeof(cadu_sketch));
        return 0;
}

/* ---- loading what the store has ---- */

static int load_sketch_file(deltas *d, int dfd, const char *name, uint64_t *ignored) {
        uint8_t sha[CADU_DIGEST_SIZE];
        if (cadu_sketch_file_name_parse(name, sha) < 0)
                return 0;       /* a writer's temporary file, or stray */
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        _cleanup_free_ uint8_t *raw = NULL;
        _cleanup_free_ cadu_sketch_entry *e = NULL;
        size_t len, n;
        int r = cadu_read_fd(fd, SKETCH_FILE_MAX, &raw, &len);
        size_t off = 0;
        const cadu_crypt_key *k = d->p->key;
        /* A store may hold releases under several keys (rotation) and plain
         * ones: only the sketches of this release's kind and key are read. */
        uint8_t kid[CADU_CRYPT_KEY_ID_SIZE];
        bool sealed = r >= 0 && cadu_crypt_sealed_check(CADU_CRYPT_SKETCH_MAGIC, 0, raw, len, kid) == 0;
        if (r >= 0 && (sealed != (k != NULL) || (k && memcmp(kid, k->id, sizeof(kid)) != 0)))
                return 0;
        if (r >= 0 && k) {
                /* Sealed: named by the sha256 of the sealed bytes; the
                 * sketches inside are checked against their own. */
                uint8_t got[CADU_DIGEST_SIZE];
                if ((r = cadu_digest(CADU_DIGEST_SHA256, raw, len, got)) < 0)
                        return r;
                r = memcmp(got, sha, CADU_DIGEST_SIZE) ? -EBADMSG
                                                       : cadu_crypt_open(k, CADU_CRYPT_SKETCH_MAGIC, 0, NULL, 0, raw, len,
                                                                         &off, &len);
                if (r == -EKEYREJECTED)
                        r = -EBADMSG;
                if (r == 0)
                        r = cadu_digest(CADU_DIGEST_SHA256, raw + off, len, sha);
        }
        if (r == -EFBIG || r == -EBADMSG ||
            (r >= 0 && (r = cadu_sketch_file_parse(raw + off, len, sha, &e, &n)) == -EBADMSG)) {
                (*ignored)++;
                return 0;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                cadu_chunk_entry *c;
                if ((r = cadu_chunk_set_add(&d->chunks, e[i].id, &c)) < 0)
                        return r;
                if (r > 0 && (r = sketch_slot(d, (size_t)(c - d->chunks.entries))) < 0)
                        return r;
                c->mask |= SKETCHED;
                c->size = e[i].size;
                d->sketches[c - d->chunks.entries] = e[i].sketch;
        }
        return 0;
}

static int load_sketches(deltas *d, uint64_t *ignored, char **what) {
        _cleanup_close_ int dfd = openat(d->rootfd, "sketches", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int r = -errno;
                if (r != -ENOENT)
                        set_what(what, d->p->store_path, "/sketches");
                return r == -ENOENT ? 0 : r;
        }
        int dup_fd = dup(dfd);
        DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (!dir) {
                int r = -errno;
                if (dup_fd >= 0)
                        close(dup_fd);
                set_what(what, d->p->store_path, "/sketches");
                return r;
        }
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (errno = 0, de = readdir(dir)))
                r = load_sketch_file(d, dfd, de->d_name, ignored);
        if (r >= 0 && errno)
                r = -errno;
        closedir(dir);
        if (r < 0)
                set_what(what, d->p->store_path, "/sketches");
        return r;
}

static int on_store_entry(void *ud, const cadu_store_entry *e) {
        deltas *d = ud;
        if (e->kind != CADU_STORE_NAME_CHUNK || !S_ISREG(e->st.st_mode))
                return 0;
        cadu_chunk_entry *c;
        /* Encrypted: file names are keyed; the chunks are those the
         * sketches name (their plaintext ids), found here by name. */
        if (d->p->key)
                return cadu_chunk_set_add(&d->names, e->id, &c) < 0 ? -ENOMEM : 0;
        int r = cadu_chunk_set_add(&d->chunks, e->id, &c);
        if (r > 0)
                r = sketch_slot(d, (size_t)(c - d->chunks.entries));
        if (r < 0)
                return r;
        c->mask |= IN_STORE;
        return 0;
}

/* ---- worker threads ---- */

typedef struct worker {
        deltas *d;
        cadu_buf raw, target, trial, best;
        cadu_buf bases[CADU_DELTA_MAX_BASES];
} worker;

static void worker_done(worker *w) {
        cadu_buf_free(&w->raw);
        cadu_buf_free(&w->target);
        cadu_buf_free(&w->trial);
        cadu_buf_free(&w->best);
        for (size_t i = 0; i < CADU_DELTA_MAX_BASES; i++)
                cadu_buf_free(&w->bases[i]);
}

/* Read one chunk of the store, decoded (and verified when verify). Its
 * chunk file's size into *file_size (when given). */
static int read_chunk(worker *w, const cadu_chunk_entry *c, bool verify, cadu_buf *out, uint64_t *file_size) {
        cadu_store *s = w->d->p->store;
        size_t max = c->size ? c->size : CADU_DELTA_SIZE_MAX;
        int r = s->ops->get(s, c->id, cadu_chunk_max_raw(max), &w->raw);
        if (r < 0)
                return r;
        if (file_size)
                *file_size = w->raw.len;
        if ((r = cadu_chunk_decode(w->raw.data, w->raw.len, max, out)) < 0)
                return r;
        if (c->size && out->len != c->size)
                return -EBADMSG;
        if (!verify)
                return 0;
        uint8_t got[CADU_DIGEST_SIZE];
        if ((r = cadu_digest(w->d->p->digest, out->data, out->len, got)) < 0)
                return r;
        return memcmp(got, c->id, CADU_DIGEST_SIZE) ? -EBADMSG : 0;
}

static int sketch_one(worker *w, size_t i) {
        deltas *d = w->d;
        cadu_chunk_entry *c = &d->chunks.entries[d->todo[i]];
        int r = read_chunk(w, c, false, &w->target, NULL);
        /* Gone (gc), corrupt, empty or too large: not a base, never a target. */
        if (r == -ENOENT || r == -EBADMSG || r == -EFBIG || (r == 0 && (!w->target.len ||
                                                                         w->target.len > CADU_DELTA_SIZE_MAX))) {
                c->mask &= ~IN_STORE;
                return 0;
        }
        if (r < 0)
                return r;
        c->size = w->target.len;
        cadu_sketch_compute(w->target.data, w->target.len, &d->sketches[d->todo[i]]);
        c->mask |= SKETCHED;
        return 0;
}

typedef struct accept_ctx {
        const deltas *d;
        int order;
} accept_ctx;

/* Bases: chunks the store had before, and targets earlier in the release. */
static bool accept_base(void *ud, size_t i) {
        accept_ctx *a = ud;
        int o = a->d->chunks.entries[a->d->cand[i]].state;
        return o < a->order;
}

static int write_delta(deltas *d, const char *rel, const cadu_buf *b) {
        char dir[CADU_DELTA_PATH_MAX], tmp[CADU_DELTA_PATH_MAX + 32];
        uint64_t rnd;
        memcpy(dir, rel, 11);           /* "deltas/<4 hex>" */
        dir[11] = 0;
        if ((mkdirat(d->rootfd, "deltas", 0755) < 0 && errno != EEXIST) ||
            (mkdirat(d->rootfd, dir, 0755) < 0 && errno != EEXIST))
                return -errno;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -errno;
        /* Like chunk files: "<name>.<random>.tmp" beside it, renamed over
         * the final name, so that no reader sees a partial delta. */
        snprintf(tmp, sizeof(tmp), "%s.%016llx.tmp", rel, (unsigned long long)rnd);
        int slot, fd = cadu_tmp_openat(d->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644, &slot);
        if (fd < 0)
                return fd;
        int r = cadu_write_full(fd, b->data, b->len);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(d->rootfd, tmp, d->rootfd, rel) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(d->rootfd, tmp, 0);
        cadu_tmp_unregister(slot);
        return r;
}

/* Encrypted: the delta file's name and sealed bytes. */
static int seal_delta(deltas *d, const uint8_t *id, const uint8_t (*set_ids)[CADU_DIGEST_SIZE], size_t k, char *rel,
                      cadu_buf *b) {
        cadu_buf sealed = CADU_BUF_INIT;
        int r = cadu_crypt_delta_seal(d->p->key, id, set_ids, k, b->data, b->len, rel, &sealed);
        if (r == 0) {
                cadu_buf_free(b);
                *b = sealed;
        } else
                cadu_buf_free(&sealed);
        return r;
}

static int delta_one(worker *w, size_t t) {
        deltas *d = w->d;
        const cadu_make_deltas_params *p = d->p;
        size_t ci = d->cand[d->targets[t]];
        cadu_chunk_entry *c = &d->chunks.entries[ci];
        uint64_t plain;
        int r = read_chunk(w, c, true, &w->target, &plain);
        if (r < 0)
                return r;
        d->plain_bytes += plain;

        size_t cand[CADU_DELTA_MAX_BASES], nb = 0;
        accept_ctx a = { d, c->state };
        ssize_t n = cadu_sketch_index_query(d->index, &d->sketches[ci], accept_base, &a, cand, NULL,
                                            CADU_DELTA_MAX_BASES);
        if (n < 0)
                return (int)n;
        /* The new chunk before it in the release is a candidate too: often
         * a part of the same file or package (its structure, its strings),
         * and the device has it by then. For a chunk of a new file it is
         * what makes a delta at all. */
        if (t > 0 && n < CADU_DELTA_MAX_BASES) {
                ssize_t i = 0;
                while (i < n && cand[i] != d->targets[t - 1])
                        i++;
                if (i == n)
                        cand[n++] = d->targets[t - 1];
        }
        /* The candidates' content, best first; a candidate gone from the
         * store or corrupt is passed over. */
        uint8_t ids[CADU_DELTA_MAX_BASES][CADU_DIGEST_SIZE];
        for (ssize_t i = 0; i < n; i++) {
                const cadu_chunk_entry *b = &d->chunks.entries[d->cand[cand[i]]];
                r = read_chunk(w, b, true, &w->bases[nb], NULL);
                if (r == -ENOENT || r == -EBADMSG || r == -EFBIG)
                        continue;
                if (r < 0)
                        return r;
                memcpy(ids[nb++], b->id, CADU_DIGEST_SIZE);
        }

        /* Try the best 1, 2, 4 and 8 bases at the trial level; the best
         * candidate goes last in the prefix, closest to the target, where
         * offsets are cheapest. */
        size_t best_k = 0, best_len = SIZE_MAX;
        int trial_level = CADU_MIN(TRIAL_LEVEL, p->level);
        cadu_delta_base bases[CADU_DELTA_MAX_BASES];
        uint8_t set_ids[CADU_DELTA_MAX_BASES][CADU_DIGEST_SIZE];
        for (size_t s = 0; s < CADU_ELEMENTSOF(trial_sets) && nb; s++) {
                size_t k = CADU_MIN(trial_sets[s], nb);
                if (s > 0 && k == CADU_MIN(trial_sets[s - 1], nb))
                        break;
                for (size_t i = 0; i < k; i++) {
                        bases[i] = (cadu_delta_base){ w->bases[k - 1 - i].data, w->bases[k - 1 - i].len };
                        memcpy(set_ids[i], ids[k - 1 - i], CADU_DIGEST_SIZE);
                }
                r = cadu_delta_encode(trial_level, c->id, w->target.data, w->target.len,
                                      (const uint8_t (*)[CADU_DIGEST_SIZE])set_ids, bases, k, &w->trial);
                if (r < 0)
                        return r;
                if (w->trial.len < best_len) {
                        /* Keep the best trial's bytes: at the final level
                         * they are the delta. */
                        cadu_buf swap = w->best;
                        w->best = w->trial;
                        w->trial = swap;
                        best_len = w->best.len;
                        best_k = k;
                }
        }
        uint64_t best = plain;
        if (best_k) {
                for (size_t i = 0; i < best_k; i++) {
                        bases[i] = (cadu_delta_base){ w->bases[best_k - 1 - i].data, w->bases[best_k - 1 - i].len };
                        memcpy(set_ids[i], ids[best_k - 1 - i], CADU_DIGEST_SIZE);
                }
                if (trial_level != p->level && best_len >= FINAL_MIN &&
                    (r = cadu_delta_encode(p->level, c->id, w->target.data, w->target.len,
                                           (const uint8_t (*)[CADU_DIGEST_SIZE])set_ids, bases, best_k, &w->best)) < 0)
                        return r;
                /* Sealing adds the same to a delta as to a chunk file. */
                if (w->best.len * 64 <= plain * KEEP_64THS) {
                        char rel[CADU_DELTA_PATH_MAX];
                        if ((r = p->key ? seal_delta(d, c->id, (const uint8_t (*)[CADU_DIGEST_SIZE])set_ids, best_k, rel,
                                                     &w->best)
                                        : cadu_delta_path(c->id, (const uint8_t (*)[CADU_DIGEST_SIZE])set_ids, best_k,
                                                          rel)) < 0 ||
                            (r = write_delta(d, rel, &w->best)) < 0)
                                return r;
                        best = w->best.len;
                        d->with_delta++;
                        d->delta_bytes += w->best.len;
                }
        }
        d->best_bytes += best;
        return 0;
}

typedef struct pool {
        deltas *d;
        size_t n;
        int (*fn)(worker *w, size_t i);
        bool progress;                  /* the calling thread reports progress */
} pool;

static void run(pool *pl, worker *w, bool main_thread) {
        deltas *d = pl->d;
        for (;;) {
                if (atomic_load(&d->error))
                        break;
                size_t i = atomic_fetch_add(&d->next, 1);
                if (i >= pl->n)
                        break;
                int r = pl->fn(w, i);
                if (r < 0) {
                        int zero = 0;
                        if (atomic_compare_exchange_strong(&d->error, &zero, r))
                                d->failed = i;
                        break;
                }
                d->done++;
                if (main_thread && pl->progress)
                        d->p->progress(d->p->userdata, d->phase, d->done, pl->n);
        }
}

typedef struct thread_arg {
        pool *pl;
        worker w;
} thread_arg;

static void *thread_main(void *arg) {
        thread_arg *t = arg;
        run(t->pl, &t->w, false);
        worker_done(&t->w);
        cadu_delta_codec_release();
        cadu_chunk_codec_release();
        return NULL;
}

/* fn(w, i) for i in [0, n) on the threads; the first error stops all. */
static int run_pool(deltas *d, size_t n, int (*fn)(worker *w, size_t i), const char *what) {
        pool pl = { d, n, fn, d->p->progress != NULL };
        unsigned threads = d->p->threads ? d->p->threads : cadu_cpu_count();
        if (threads > n)
                threads = n ? (unsigned)n : 1;
        _cleanup_free_ pthread_t *tids = calloc(threads, sizeof(*tids));
        _cleanup_free_ thread_arg *args = calloc(threads, sizeof(*args));
        if (!tids || !args)
                return -ENOMEM;
        atomic_store(&d->next, 0);
        atomic_store(&d->error, 0);
        d->done = 0;
        d->phase = what;
        if (pl.progress)
                d->p->progress(d->p->userdata, what, 0, n);
        unsigned started = 1;
        for (; started < threads; started++) {
                args[started] = (thread_arg){ .pl = &pl, .w = { .d = d } };
                int r = pthread_create(&tids[started], NULL, thread_main, &args[started]);
                if (r) {
                        int zero = 0;
                        atomic_compare_exchange_strong(&d->error, &zero, -r);
                        break;
                }
        }
        args[0] = (thread_arg){ .pl = &pl, .w = { .d = d } };
        run(&pl, &args[0].w, true);
        worker_done(&args[0].w);
        for (unsigned i = 1; i < started; i++)
                pthread_join(tids[i], NULL);
        if (pl.progress)
                d->p->progress(d->p->userdata, what, d->done, n);
        return atomic_load(&d->error);
}

static int sketch_entry_cmp(const void *a, const void *b) {
        return memcmp(((const cadu_sketch_entry *)a)->id, ((const cadu_sketch_entry *)b)->id, CADU_DIGEST_SIZE);
}

static int write_sketch_file(deltas *d) {
        size_t n = 0;
        _cleanup_free_ cadu_sketch_entry *e = calloc(d->ntodo ? d->ntodo : 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < d->ntodo; i++) {
                const cadu_chunk_entry *c = &d->chunks.entries[d->todo[i]];
                if (!(c->mask & SKETCHED))
                        continue;
                memcpy(e[n].id, c->id, CADU_DIGEST_SIZE);
                e[n].size = c->size;
                e[n++].sketch = d->sketches[d->todo[i]];
        }
        if (!n)
                return 0;
        /* By id: the order of the chunks here follows which of a repeated
         * chunk's occurrences make stored first; the file must not. */
        qsort(e, n, sizeof(*e), sketch_entry_cmp);
        cadu_buf b = CADU_BUF_INIT;
        char name[9 + CADU_SKETCH_NAME_MAX];
        memcpy(name, "sketches/", 9);
        int r = cadu_sketch_file_serialize(e, n, &b);
        if (r >= 0 && d->p->key) {
                cadu_buf sealed = CADU_BUF_INIT;
                r = cadu_crypt_seal(d->p->key, CADU_CRYPT_SKETCH_MAGIC, NULL, 0, NULL, 0, b.data, b.len, &sealed);
                cadu_buf_free(&b);
                b = sealed;
        }
        if (r >= 0)
                r = cadu_sketch_file_name(b.data, b.len, name + 9);
        if (r >= 0 && mkdirat(d->rootfd, "sketches", 0755) < 0 && errno != EEXIST)
                r = -errno;
        if (r >= 0) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", d->p->store_path, name) < 0)
                        r = -ENOMEM;
                else
                        r = cadu_write_file_atomic(path, b.data, b.len);
        }
        cadu_buf_free(&b);
        return r;
}

/* Encrypted: a chunk is in the store when its keyed name is; the new
 * chunks are (make just stored them). Chunks of the store that no sketch
 * names cannot be bases: their plaintext ids are not known. */
static int match_names(deltas *d, const uint8_t (*new_ids)[CADU_DIGEST_SIZE], size_t n_new) {
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        cadu_chunk_entry *c;
        int r;
        for (size_t j = 0; j < n_new; j++) {
                if ((r = cadu_chunk_set_add(&d->chunks, new_ids[j], &c)) < 0)
                        return r;
                if (r > 0 && (r = sketch_slot(d, (size_t)(c - d->chunks.entries))) < 0)
                        return r;
        }
        for (size_t i = 0; i < d->chunks.n; i++) {
                if ((r = cadu_crypt_chunk_name(d->p->key, d->chunks.entries[i].id, name)) < 0)
                        return r;
                if (cadu_chunk_set_find(&d->names, name))
                        d->chunks.entries[i].mask |= IN_STORE;
        }
        return 0;
}

static int target_cmp(const void *a, const void *b, void *ud) {
        const deltas *d = ud;
        int x = d->chunks.entries[d->cand[*(const size_t *)a]].state,
            y = d->chunks.entries[d->cand[*(const size_t *)b]].state;
        return (x > y) - (x < y);
}

int cadu_make_deltas(const cadu_make_deltas_params *p, const cadu_index *idx, const uint8_t (*new_ids)[CADU_DIGEST_SIZE],
                     size_t n_new, cadu_make_deltas_stats *stats, char **what) {
        deltas d = { .p = p, .rootfd = -1 };
        cadu_chunk_set new_set = CADU_CHUNK_SET_INIT;
        uint64_t start = cadu_now_ns();
        cadu_chunk_entry *c;
        _cleanup_free_ char *walk_path = NULL;
        /* Declared here: every goto out below must find it initialised. */
        _cleanup_free_ cadu_sketch *sk = NULL;
        int r;
        if (what)
                *what = NULL;
        memset(stats, 0, sizeof(*stats));
        d.rootfd = open(p->store_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d.rootfd < 0) {
                r = -errno;
                set_what(what, p->store_path, "");
                goto out;
        }

        /* What the store has: sketches kept, then the chunk files. */
        if ((r = load_sketches(&d, &stats->sketch_files_ignored, what)) < 0)
                goto out;
        cadu_store_walker walker = { .entry = on_store_entry, .userdata = &d, .types_only = true };
        if ((r = cadu_store_walk(p->store_path, &walker, &walk_path)) < 0) {
                set_what(what, walk_path ? walk_path : p->store_path, "");
                goto out;
        }
        if (p->key && (r = match_names(&d, new_ids, n_new)) < 0)
                goto out;
        /* The targets in release order: state = 1 + rank. */
        for (size_t j = 0; j < n_new; j++)
                if ((r = cadu_chunk_set_add(&new_set, new_ids[j], &c)) < 0)
                        goto out;
        int order = 0;
        for (size_t i = 0; i < idx->n; i++) {
                cadu_chunk_entry *e = cadu_chunk_set_find(&d.chunks, idx->items[i].id);
                if (e && !e->state && (e->mask & IN_STORE) && cadu_chunk_set_find(&new_set, e->id))
                        e->state = ++order;
        }

        /* Sketch the chunks in the store without one (the new ones, and
         * once those of releases made without --deltas), and keep them. */
        if (!(d.todo = malloc((d.chunks.n ? d.chunks.n : 1) * sizeof(size_t)))) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < d.chunks.n; i++)
                if ((d.chunks.entries[i].mask & (IN_STORE | SKETCHED)) == IN_STORE)
                        d.todo[d.ntodo++] = i;
        if ((r = run_pool(&d, d.ntodo, sketch_one, "sketches")) < 0) {
                set_what(what, "sketching chunks of ", p->store_path);
                goto out;
        }
        stats->sketched = d.ntodo;
        if ((r = write_sketch_file(&d)) < 0) {
                set_what(what, "writing a sketch file into ", p->store_path);
                goto out;
        }

        /* Index the sketches of every chunk in the store. */
        if (!(d.cand = malloc((d.chunks.n ? d.chunks.n : 1) * sizeof(size_t))) ||
            !(d.targets = malloc((d.chunks.n ? d.chunks.n : 1) * sizeof(size_t)))) {
                r = -ENOMEM;
                goto out;
        }
        if (!(sk = malloc((d.chunks.n ? d.chunks.n : 1) * sizeof(cadu_sketch)))) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < d.chunks.n; i++) {
                c = &d.chunks.entries[i];
                if ((c->mask & (IN_STORE | SKETCHED)) != (IN_STORE | SKETCHED))
                        continue;
                sk[d.ncand] = d.sketches[i];
                if (c->state)
                        d.targets[d.ntargets++] = d.ncand;
                d.cand[d.ncand++] = i;
        }
        if ((r = cadu_sketch_index_new(sk, d.ncand, COMMON_MAX, &d.index)) < 0)
                goto out;
        qsort_r(d.targets, d.ntargets, sizeof(size_t), target_cmp, &d);

        if ((r = run_pool(&d, d.ntargets, delta_one, "deltas")) < 0) {
                char hex[2 * CADU_DIGEST_SIZE + 1];
                cadu_hex_encode(d.chunks.entries[d.cand[d.targets[d.failed]]].id, CADU_DIGEST_SIZE, hex);
                if (what && !*what && asprintf(what, "delta of chunk %s in %s", hex, p->store_path) < 0)
                        *what = NULL;
                goto out;
        }
        stats->targets = d.ntargets;
        stats->with_delta = d.with_delta;
        stats->plain_bytes = d.plain_bytes;
        stats->best_bytes = d.best_bytes;
        stats->delta_bytes = d.delta_bytes;
out:
        stats->seconds = (double)(cadu_now_ns() - start) / 1e9;
        cadu_delta_codec_release();
        cadu_chunk_codec_release();
        cadu_sketch_index_free(d.index);
        cadu_chunk_set_done(&new_set);
        cadu_chunk_set_done(&d.chunks);
        cadu_chunk_set_done(&d.names);
        free(d.sketches);
        free(d.todo);
        free(d.cand);
        free(d.targets);
        if (d.rootfd >= 0)
                close(d.rootfd);
        return r;
}
