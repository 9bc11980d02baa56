/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cadu-store.h"
#include "storewalk.h"

/* ---- sets of chunk ids ---- */

static size_t id_hash(const uint8_t id[CADU_DIGEST_SIZE]) {
        uint64_t h;
        memcpy(&h, id, sizeof(h));      /* ids are digests: uniformly distributed */
        return (size_t)h;
}

static size_t *find_slot(size_t *slots, size_t cap, const cadu_chunk_entry *entries, const uint8_t id[CADU_DIGEST_SIZE]) {
        for (size_t i = id_hash(id) & (cap - 1);; i = (i + 1) & (cap - 1))
                if (!slots[i] || !memcmp(entries[slots[i] - 1].id, id, CADU_DIGEST_SIZE))
                        return &slots[i];
}

static int grow(cadu_chunk_set *s) {
        if (CADU_ARRAY_GROW(s->entries, s->alloc, s->n, 1024) < 0)
                return -ENOMEM;
        if (2 * (s->n + 1) <= s->cap)
                return 0;
        size_t cap = s->cap ? 2 * s->cap : 2048;
        size_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                *find_slot(slots, cap, s->entries, s->entries[i].id) = i + 1;
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
        return 0;
}

int cadu_chunk_set_add(cadu_chunk_set *s, const uint8_t id[CADU_DIGEST_SIZE], cadu_chunk_entry **ret) {
        if (s->cap) {
                size_t *slot = find_slot(s->slots, s->cap, s->entries, id);
                if (*slot) {
                        *ret = &s->entries[*slot - 1];
                        return 0;
                }
        }
        int r = grow(s);
        if (r < 0)
                return r;
        cadu_chunk_entry *e = &s->entries[s->n];
        *e = (cadu_chunk_entry){ 0 };
        memcpy(e->id, id, CADU_DIGEST_SIZE);
        *find_slot(s->slots, s->cap, s->entries, id) = ++s->n;
        *ret = e;
        return 1;
}

cadu_chunk_entry *cadu_chunk_set_find(const cadu_chunk_set *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        if (!s->cap)
                return NULL;
        size_t *slot = find_slot(s->slots, s->cap, s->entries, id);
        return *slot ? &s->entries[*slot - 1] : NULL;
}

int cadu_chunk_set_add_index(cadu_chunk_set *s, const cadu_index *idx, uint64_t mask) {
        for (size_t i = 0; i < idx->n; i++) {
                cadu_chunk_entry *e;
                uint64_t size = cadu_index_chunk_size(idx, i);
                int r = cadu_chunk_set_add(s, idx->items[i].id, &e);
                if (r < 0)
                        return r;
                if (r > 0) {
                        e->digest = idx->digest;
                        e->size = size;
                        e->max_size = idx->max;
                } else if (e->size && e->size != size)
                        return -EBADMSG;
                else if (!e->size) {
                        e->digest = idx->digest;
                        e->size = size;
                        e->max_size = idx->max;
                }
                e->refs++;
                e->mask |= mask;
        }
        return 0;
}

void cadu_chunk_set_done(cadu_chunk_set *s) {
        free(s->entries);
        free(s->slots);
        *s = (cadu_chunk_set)CADU_CHUNK_SET_INIT;
}

/* ---- names in a directory store ---- */

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

bool cadu_store_prefix_valid(const char *name) {
        for (size_t i = 0; i < 4; i++)
                if (hexval(name[i]) < 0)
                        return false;
        return name[4] == 0;
}

static bool has_prefix(const char *s, size_t len, const char *p) {
        size_t k = strlen(p);
        return len >= k && !memcmp(s, p, k);
}

static bool has_suffix(const char *s, size_t len, const char *p) {
        size_t k = strlen(p);
        return len >= k && !memcmp(s + len - k, p, k);
}

cadu_store_name_kind cadu_store_name_parse(const char *dir, const char *name, size_t len,
                                           uint8_t id[CADU_DIGEST_SIZE], const char **why) {
        const size_t hexlen = 2 * CADU_DIGEST_SIZE, suflen = strlen(CADU_CHUNK_SUFFIX);
        const char *w = NULL;

        if (len == 0 || memchr(name, 0, len) || memchr(name, '/', len))
                w = "not a valid file name";
        else if (has_prefix(name, len, ".#") || has_prefix(name, len, ".tmp") || has_suffix(name, len, ".tmp"))
                return CADU_STORE_NAME_TEMP;
        else if (!has_suffix(name, len, CADU_CHUNK_SUFFIX))
                w = "not a chunk file";
        else if (len != hexlen + suflen)
                w = "bad chunk name (not 64 hex digits)";
        else {
                for (size_t i = 0; i < hexlen && !w; i++)
                        if (hexval(name[i]) < 0)
                                w = (name[i] >= 'A' && name[i] <= 'F') ? "bad chunk name (upper-case hex)"
                                                                       : "bad chunk name (not 64 hex digits)";
                if (!w && dir && memcmp(name, dir, 4) != 0)
                        w = "chunk in the wrong prefix directory";
                if (!w) {
                        for (size_t i = 0; i < CADU_DIGEST_SIZE; i++)
                                id[i] = (uint8_t)(hexval(name[2 * i]) << 4 | hexval(name[2 * i + 1]));
                        return CADU_STORE_NAME_CHUNK;
                }
        }
        if (why)
                *why = w;
        return CADU_STORE_NAME_BAD;
}

typedef struct dname {
        char *name;
        unsigned char type;             /* d_type: DT_DIR, DT_REG, ... or DT_UNKNOWN */
} dname;

static int cmp_dname(const void *a, const void *b) {
        return strcmp(((const dname *)a)->name, ((const dname *)b)->name);
}

static void free_names(dname *names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i].name);
        free(names);
}

/* The entries of the directory open at fd (without "." and ".."), sorted
 * by name. getdents64() straight into a buffer on the stack: opendir()
 * would add an fcntl(), an fstat() and a 32 KiB allocation per directory,
 * and a store has one directory for every chunk or two. */
static int read_names(int fd, dname **ret, size_t *ret_n) {
        union {
                struct dirent64 de;
                char bytes[16384];
        } buf;
        dname *names = NULL;
        size_t n = 0, alloc = 0;
        int r = 0;
        for (;;) {
                ssize_t k = getdents64(fd, &buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : 0;
                        break;
                }
                for (size_t off = 0; off < (size_t)k && r == 0;) {
                        const struct dirent64 *de = (const struct dirent64 *)(buf.bytes + off);
                        off += de->d_reclen;
                        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                                continue;
                        if (CADU_ARRAY_GROW(names, alloc, n, 64) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        if (!(names[n].name = strdup(de->d_name))) {
                                r = -ENOMEM;
                                break;
                        }
                        names[n++].type = de->d_type;
                }
                if (r < 0)
                        break;
        }
        if (r < 0) {
                free_names(names, n);
                return r;
        }
        if (n)
                qsort(names, n, sizeof(*names), cmp_dname);
        *ret = names;
        *ret_n = n;
        return 0;
}

static void set_path(char **ret_path, const char *root, const char *a, const char *b) {
        if (ret_path && !*ret_path &&
            asprintf(ret_path, "%s%s%s%s%s", root, a ? "/" : "", a ? a : "", b ? "/" : "", b ? b : "") < 0)
                *ret_path = NULL;
}

int cadu_store_walk_prefix(int rootfd, const char *root, const cadu_store_prefix *p, const cadu_store_walker *w,
                           char **ret_path) {
        /* Not following a symbolic link. */
        _cleanup_close_ int dfd = openat(rootfd, p->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat dst = { 0 };
        if (dfd < 0) {
                if (errno == ENOENT)
                        return 0;       /* removed under us (a concurrent gc) */
                int r = -errno;
                set_path(ret_path, root, p->name, NULL);
                return r;
        }
        dname *names = NULL;
        size_t n = 0;
        int r = w->prefix_done && fstat(dfd, &dst) < 0 ? -errno : read_names(dfd, &names, &n);
        if (r < 0) {
                set_path(ret_path, root, p->name, NULL);
                return r;
        }
        char path[4 + 1 + NAME_MAX + 1];
        size_t seen = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const char *name = names[i].name;
                cadu_store_entry e = { .path = path, .name = name, .dfd = dfd };
                if (w->types_only && names[i].type != DT_UNKNOWN)
                        e.st.st_mode = DTTOIF(names[i].type);
                else if (fstatat(dfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;       /* a temporary file renamed meanwhile */
                        r = -errno;
                        set_path(ret_path, root, p->name, name);
                        break;
                }
                seen++;
                snprintf(path, sizeof(path), "%s/%s", p->name, name);
                if (S_ISDIR(e.st.st_mode)) {
                        e.kind = CADU_STORE_NAME_BAD;
                        e.why = "unexpected directory";
                } else if (!S_ISREG(e.st.st_mode)) {
                        e.kind = CADU_STORE_NAME_BAD;
                        e.why = "not a regular file";
                } else
                        e.kind = cadu_store_name_parse(p->name, name, strlen(name), e.id, &e.why);
                r = w->entry(w->userdata, &e);
        }
        free_names(names, n);
        if (r >= 0 && w->prefix_done)
                r = w->prefix_done(w->userdata, rootfd, p->name, seen, &dst);
        return r;
}

int cadu_store_list_prefixes(int rootfd, const char *root, const cadu_store_walker *w, cadu_store_prefix **ret,
                             size_t *ret_n, char **ret_path) {
        _cleanup_close_ int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                set_path(ret_path, root, NULL, NULL);
                return r;
        }
        dname *names = NULL;
        size_t n = 0, np = 0;
        int r = read_names(fd, &names, &n);
        if (r < 0) {
                set_path(ret_path, root, NULL, NULL);
                return r;
        }
        cadu_store_prefix *ps = calloc(n + 1, sizeof(*ps));
        if (!ps)
                r = -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const char *name = names[i].name;
                cadu_store_entry e = { .path = name, .name = name, .dfd = rootfd, .kind = CADU_STORE_NAME_BAD };
                /* A prefix directory is stat()ed when it is walked, on
                 * whichever thread walks it; only other entries here. */
                if (names[i].type == DT_DIR && cadu_store_prefix_valid(name)) {
                        memcpy(ps[np++].name, name, 5);
                        continue;
                }
                if (fstatat(rootfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = -errno;
                        set_path(ret_path, root, name, NULL);
                        break;
                }
                if (S_ISDIR(e.st.st_mode) && cadu_store_prefix_valid(name)) {
                        memcpy(ps[np++].name, name, 5);
                        continue;
                }
                e.why = S_ISDIR(e.st.st_mode) ? "not a chunk prefix directory"
                        : S_ISREG(e.st.st_mode) ? "not part of a chunk store"
                                                : "not a regular file or directory";
                r = w->entry(w->userdata, &e);
        }
        free_names(names, n);
        if (r < 0) {
                free(ps);
                return r;
        }
        *ret = ps;
        *ret_n = np;
        return 0;
}

int cadu_store_walk(const char *root, const cadu_store_walker *w, char **ret_path) {
        if (ret_path)
                *ret_path = NULL;
        _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                int r = -errno;
                set_path(ret_path, root, NULL, NULL);
                return r;
        }
        cadu_store_prefix *ps = NULL;
        size_t n = 0;
        int r = cadu_store_list_prefixes(rootfd, root, w, &ps, &n, ret_path);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = cadu_store_walk_prefix(rootfd, root, &ps[i], w, ret_path);
        free(ps);
        return r < 0 ? r : 0;
}

/* ---- parallel loop ---- */

unsigned cadu_cpu_count(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)n : 1;
}

typedef struct ploop {
        size_t n;
        atomic_size_t next;
        atomic_int error;
        int (*fn)(void *ud, size_t i, unsigned worker);
        void (*progress)(void *ud);
        void *ud;
} ploop;

typedef struct pworker {
        ploop *p;
        unsigned id;
} pworker;

static void run_loop(ploop *p, unsigned id) {
        while (!atomic_load(&p->error)) {
                size_t i = atomic_fetch_add(&p->next, 1);
                if (i >= p->n)
                        break;
                int r = p->fn(p->ud, i, id);
                if (r < 0) {
                        int zero = 0;
                        atomic_compare_exchange_strong(&p->error, &zero, r);
                        break;
                }
                if (id == 0 && p->progress)
                        p->progress(p->ud);
        }
}

static void *loop_thread(void *arg) {
        pworker *w = arg;
        run_loop(w->p, w->id);
        cadu_chunk_codec_release();
        return NULL;
}

int cadu_parallel_for(size_t n, unsigned threads, int (*fn)(void *ud, size_t i, unsigned worker),
                      void (*progress)(void *ud), void *ud) {
        ploop p = { .n = n, .fn = fn, .progress = progress, .ud = ud };
        if (!threads)
                threads = cadu_cpu_count();
        if (threads > n)
                threads = n ? (unsigned)CADU_MIN(n, (size_t)threads) : 1;
        _cleanup_free_ pthread_t *tids = calloc(threads, sizeof(*tids));
        _cleanup_free_ pworker *ws = calloc(threads, sizeof(*ws));
        if (!tids || !ws)
                return -ENOMEM;
        unsigned started = 1;
        for (; started < threads; started++) {
                ws[started] = (pworker){ &p, started };
                int r = pthread_create(&tids[started], NULL, loop_thread, &ws[started]);
                if (r) {
                        int zero = 0;
                        atomic_compare_exchange_strong(&p.error, &zero, -r);
                        break;
                }
        }
        run_loop(&p, 0);
        for (unsigned i = 1; i < started; i++)
                pthread_join(tids[i], NULL);
        if (progress)
                progress(ud);
        return atomic_load(&p.error);
}
