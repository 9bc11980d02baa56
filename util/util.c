/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "cadu-util.h"

#define IO_ALIGN 64

void *cadu_malloc_io(size_t n) {
        void *p;
        return posix_memalign(&p, IO_ALIGN, n ? n : 1) == 0 ? p : NULL;
}

int cadu_realloc_io(void **p, size_t len, size_t n) {
        void *q = cadu_malloc_io(n);
        if (!q)
                return -ENOMEM;
        if (*p && len)
                memcpy(q, *p, CADU_MIN(len, n));
        free(*p);
        *p = q;
        return 0;
}

ssize_t cadu_read_full(int fd, void *buf, size_t n) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = read(fd, (uint8_t *)buf + done, n - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                done += (size_t)k;
        }
        return (ssize_t)done;
}

ssize_t cadu_pread_full(int fd, void *buf, size_t n, uint64_t off) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = pread(fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                done += (size_t)k;
        }
        return (ssize_t)done;
}

int cadu_write_full(int fd, const void *buf, size_t n) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = write(fd, (const uint8_t *)buf + done, n - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                done += (size_t)k;
        }
        return 0;
}

int cadu_pwrite_full(int fd, const void *buf, size_t n, uint64_t off) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = pwrite(fd, (const uint8_t *)buf + done, n - done, (off_t)(off + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                done += (size_t)k;
        }
        return 0;
}

int cadu_fd_size(int fd, uint64_t *ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                *ret = (uint64_t)st.st_size;
                return 0;
        }
        if (S_ISBLK(st.st_mode)) {
                uint64_t sz;
                if (ioctl(fd, BLKGETSIZE64, &sz) < 0)
                        return -errno;
                *ret = sz;
                return 0;
        }
        return -ENOTSUP;
}

const char *cadu_errstr(int r) {
        switch (-r) {
        case CADU_ENOTREG: return "not a regular file";
        case CADU_ENOTREGBLK: return "not a regular file or block device";
        default: return strerror(-r);
        }
}

int cadu_open_untrusted_at(int dirfd, const char *path, unsigned flags) {
        int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        if (flags & CADU_OPEN_NOFOLLOW)
                oflags |= O_NOFOLLOW;
        int refuse = flags & CADU_OPEN_BLOCK ? -CADU_ENOTREGBLK : -CADU_ENOTREG;
        int fd = openat(dirfd, path, oflags);
        if (fd < 0) {
                if (errno == ELOOP && (flags & CADU_OPEN_NOFOLLOW)) {
                        /* ELOOP is also a loop of symlinks further up the
                         * path: only a symlink right here is not a file. */
                        struct stat st;
                        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                                return refuse;
                        errno = ELOOP;
                }
                return -errno;
        }
        struct stat st;
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r == 0 && S_ISDIR(st.st_mode))
                r = -EISDIR;
        else if (r == 0 && !S_ISREG(st.st_mode) && !(S_ISBLK(st.st_mode) && (flags & CADU_OPEN_BLOCK)))
                r = refuse;
        if (r == 0 && fcntl(fd, F_SETFL, O_RDONLY) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int cadu_read_fd(int fd, size_t max, uint8_t **ret, size_t *ret_len) {
        /* The buffer grows by doubling up to max + 1 bytes (the one that
         * tells a file of exactly max bytes from a larger one); a regular
         * file's size picks the first allocation. */
        size_t limit = max < SIZE_MAX - 1 ? max + 1 : SIZE_MAX - 1;
        size_t cap = 4096, len = 0;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
                cap = (size_t)CADU_MIN((uint64_t)st.st_size + 1, (uint64_t)limit);
        cap = CADU_MIN(cap, limit);
        uint8_t *buf = cadu_malloc_io(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap >= limit)
                                break;
                        size_t ncap = cap <= limit / 2 ? 2 * cap : limit;
                        void *nb = buf;
                        if (cadu_realloc_io(&nb, len, ncap + 1) < 0) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                        cap = ncap;
                }
                ssize_t k = cadu_read_full(fd, buf + len, cap - len);
                if (k < 0) {
                        free(buf);
                        return (int)k;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        if (len > max) {
                free(buf);
                return -EFBIG;
        }
        buf[len] = 0;
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int cadu_read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len) {
        _cleanup_close_ int fd = cadu_open_untrusted(path, 0);
        if (fd < 0)
                return fd;
        return cadu_read_fd(fd, max, ret, ret_len);
}

void cadu_hex_encode(const uint8_t *in, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int cadu_hex_decode(const char *in, uint8_t *out, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int hi = unhex(in[2 * i]), lo;
                if (hi < 0)
                        return -EINVAL;
                lo = unhex(in[2 * i + 1]);
                if (lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return in[2 * n] == 0 ? 0 : -EINVAL;
}

int cadu_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int cadu_parse_size(const char *s, uint64_t *ret) {
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        unsigned shift = 0;
        switch (*end) {
        case 0: break;
        case 'K': case 'k': shift = 10; end++; break;
        case 'M': case 'm': shift = 20; end++; break;
        case 'G': case 'g': shift = 30; end++; break;
        case 'T': case 't': shift = 40; end++; break;
        default: return -EINVAL;
        }
        if (shift && (*end == 'i' || *end == 'I'))
                end++;
        if (shift && (*end == 'B' || *end == 'b'))
                end++;
        if (*end)
                return -EINVAL;
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t)v << shift;
        return 0;
}

/* ---- digests ---- */

const char *cadu_digest_name(cadu_digest_type t) {
        switch (t) {
        case CADU_DIGEST_SHA256: return "sha256";
        case CADU_DIGEST_SHA512_256: return "sha512-256";
        }
        return NULL;
}

int cadu_digest_from_name(const char *name, cadu_digest_type *ret) {
        if (!strcmp(name, "sha256"))
                *ret = CADU_DIGEST_SHA256;
        else if (!strcmp(name, "sha512-256"))
                *ret = CADU_DIGEST_SHA512_256;
        else
                return -EINVAL;
        return 0;
}

static const EVP_MD *evp_md(cadu_digest_type t) {
        /* Fetched once; the implementations are thread-safe to share. */
        static EVP_MD *sha256, *sha512_256;
        switch (t) {
        case CADU_DIGEST_SHA256:
                if (!__atomic_load_n(&sha256, __ATOMIC_ACQUIRE)) {
                        EVP_MD *m = EVP_MD_fetch(NULL, "SHA256", NULL), *expected = NULL;
                        if (m && !__atomic_compare_exchange_n(&sha256, &expected, m, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                                EVP_MD_free(m);
                }
                return sha256;
        case CADU_DIGEST_SHA512_256:
                if (!__atomic_load_n(&sha512_256, __ATOMIC_ACQUIRE)) {
                        EVP_MD *m = EVP_MD_fetch(NULL, "SHA512-256", NULL), *expected = NULL;
                        if (m && !__atomic_compare_exchange_n(&sha512_256, &expected, m, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                                EVP_MD_free(m);
                }
                return sha512_256;
        }
        return NULL;
}

int cadu_digest(cadu_digest_type t, const void *data, size_t n, uint8_t out[CADU_DIGEST_SIZE]) {
        const EVP_MD *md = evp_md(t);
        unsigned len = 0;
        if (!md)
                return -EOPNOTSUPP;
        if (!EVP_Digest(data, n, out, &len, md, NULL) || len != CADU_DIGEST_SIZE)
                return -EIO;
        return 0;
}

struct cadu_digest_ctx {
        EVP_MD_CTX *ctx;
        const EVP_MD *md;
};

cadu_digest_ctx *cadu_digest_new(cadu_digest_type t) {
        cadu_digest_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->md = evp_md(t);
        c->ctx = EVP_MD_CTX_new();
        if (!c->md || !c->ctx || !EVP_DigestInit_ex(c->ctx, c->md, NULL))
                return cadu_digest_free(c);
        return c;
}

int cadu_digest_update(cadu_digest_ctx *c, const void *data, size_t n) {
        return EVP_DigestUpdate(c->ctx, data, n) ? 0 : -EIO;
}

int cadu_digest_final(cadu_digest_ctx *c, uint8_t out[CADU_DIGEST_SIZE]) {
        unsigned len = 0;
        if (!EVP_DigestFinal_ex(c->ctx, out, &len) || len != CADU_DIGEST_SIZE)
                return -EIO;
        return EVP_DigestInit_ex(c->ctx, c->md, NULL) ? 0 : -EIO;
}

cadu_digest_ctx *cadu_digest_free(cadu_digest_ctx *c) {
        if (c) {
                EVP_MD_CTX_free(c->ctx);
                free(c);
        }
        return NULL;
}

int cadu_sha256_file(const char *path, uint8_t out[CADU_DIGEST_SIZE], uint64_t *ret_size) {
        return cadu_sha256_file_max(path, UINT64_MAX, out, ret_size);
}

int cadu_sha256_file_max(const char *path, uint64_t max, uint8_t out[CADU_DIGEST_SIZE], uint64_t *ret_size) {
        _cleanup_close_ int fd = cadu_open_untrusted(path, CADU_OPEN_BLOCK);
        if (fd < 0)
                return fd;
        cadu_digest_ctx *c = cadu_digest_new(CADU_DIGEST_SHA256);
        if (!c)
                return -ENOMEM;
        const size_t bufsz = 1 << 20;
        uint8_t *buf = cadu_malloc_io(bufsz);
        uint64_t total = 0;
        int r = buf ? 0 : -ENOMEM;
        while (r == 0) {
                size_t want = max - total < bufsz ? (size_t)(max - total) + 1 : bufsz;
                ssize_t k = cadu_read_full(fd, buf, want);
                if (k < 0) {
                        r = (int)k;
                        break;
                }
                if (k == 0)
                        break;
                total += (uint64_t)k;
                if (total > max) {
                        r = -EFBIG;
                        break;
                }
                r = cadu_digest_update(c, buf, (size_t)k);
        }
        if (r == 0)
                r = cadu_digest_final(c, out);
        free(buf);
        cadu_digest_free(c);
        if (r == 0 && ret_size)
                *ret_size = total;
        return r;
}

/* ---- temporary files removed on SIGTERM, SIGINT and SIGHUP ---- */

/* A fixed table, so that the signal handler needs no allocation and no lock:
 * a slot is free (0), being filled (1) or names a temporary file (2). With
 * every slot taken a file is simply not registered: it is then left behind
 * as after kill -9, which every writer already tolerates. */
#define TMP_SLOTS 256
static struct tmp_slot {
        atomic_int state;
        int dirfd;
        char name[PATH_MAX];
} tmp_slots[TMP_SLOTS];

/* Set by the handler: no temporary file is created any more. Counted:
 * writers between registering a name and creating its file. */
static atomic_int tmp_dying, tmp_creating;

static int tmp_register(int dirfd, const char *name) {
        size_t n = strlen(name);
        if (n >= PATH_MAX)
                return -1;
        for (int i = 0; i < TMP_SLOTS; i++) {
                int expect = 0;
                if (!atomic_compare_exchange_strong(&tmp_slots[i].state, &expect, 1))
                        continue;
                tmp_slots[i].dirfd = dirfd;
                memcpy(tmp_slots[i].name, name, n + 1);
                atomic_store(&tmp_slots[i].state, 2);
                return i;
        }
        return -1;
}

int cadu_tmp_openat(int dirfd, const char *name, int flags, mode_t mode, int *ret_slot) {
        *ret_slot = -1;
        atomic_fetch_add(&tmp_creating, 1);
        if (atomic_load(&tmp_dying)) {
                atomic_fetch_sub(&tmp_creating, 1);
                return -EINTR;
        }
        int slot = tmp_register(dirfd, name);
        int fd = openat(dirfd, name, flags, mode);
        int r = fd < 0 ? -errno : fd;
        atomic_fetch_sub(&tmp_creating, 1);
        if (r < 0)
                cadu_tmp_unregister(slot);
        else
                *ret_slot = slot;
        return r;
}

void cadu_tmp_unregister(int slot) {
        if (slot >= 0 && slot < TMP_SLOTS)
                atomic_store(&tmp_slots[slot].state, 0);
}

static void on_fatal_signal(int sig) {
        int saved = errno;
        /* Other threads go on running until the signal ends the process:
         * from now on they create no temporary file, and one between
         * registering a name and creating its file finishes that step first
         * (microseconds; the wait is bounded, for a signal taken by that
         * very thread), so that every file that will exist is in the
         * table when it is read. */
        atomic_store(&tmp_dying, 1);
        for (int i = 0; i < 100 && atomic_load(&tmp_creating) > 0; i++)
                (void)nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
        /* unlinkat() is async-signal-safe; a name renamed into place
         * meanwhile is simply not found. */
        for (int i = 0; i < TMP_SLOTS; i++)
                if (atomic_load(&tmp_slots[i].state) == 2)
                        (void)unlinkat(tmp_slots[i].dirfd, tmp_slots[i].name, 0);
        errno = saved;
        /* The handler was reset (SA_RESETHAND): die of the signal as before. */
        raise(sig);
}

void cadu_tmp_cleanup_on_signals(void) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
        struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < CADU_ELEMENTSOF(sigs); i++)
                sigaddset(&sa.sa_mask, sigs[i]);
        for (size_t i = 0; i < CADU_ELEMENTSOF(sigs); i++) {
                struct sigaction old;
                /* An ignored signal (nohup) stays ignored. */
                if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
                        continue;
                (void)sigaction(sigs[i], &sa, NULL);
        }
}

/* ---- output files ---- */

static int make_tmp_name(const char *path, char **ret) {
        uint64_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -errno;
        if (asprintf(ret, "%s.%016llx.tmp", path, (unsigned long long)rnd) < 0)
                return -ENOMEM;
        return 0;
}

int cadu_outfile_open(cadu_outfile *o, const char *path, bool in_place) {
        struct stat st;
        *o = (cadu_outfile)CADU_OUTFILE_INIT;
        o->path = strdup(path);
        if (!o->path)
                return -ENOMEM;
        if (stat(path, &st) == 0 && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode) ||
                                     (in_place && S_ISREG(st.st_mode)))) {
                o->is_dev = !S_ISREG(st.st_mode);
                o->fd = open(path, O_RDWR | O_CLOEXEC);
                if (o->fd < 0) {
                        int r = -errno;
                        cadu_outfile_abort(o);
                        return r;
                }
                return 0;
        }
        int r = make_tmp_name(path, &o->tmp);
        if (r < 0) {
                cadu_outfile_abort(o);
                return r;
        }
        r = cadu_tmp_openat(AT_FDCWD, o->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644, &o->tmp_slot);
        o->fd = r < 0 ? -1 : r;
        if (r < 0) {
                free(o->tmp);
                o->tmp = NULL;
                cadu_outfile_abort(o);
                return r;
        }
        return 0;
}

int cadu_dirname(const char *path, char **ret) {
        const char *slash = strrchr(path, '/');
        char *d = !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *dir = NULL;
        if (cadu_dirname(path, &dir) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

int cadu_outfile_commit(cadu_outfile *o) {
        int r = 0;
        if (fsync(o->fd) < 0 && errno != EINVAL)
                r = -errno;
        if (close(o->fd) < 0 && r == 0)
                r = -errno;
        o->fd = -1;
        if (r == 0 && o->tmp) {
                if (rename(o->tmp, o->path) < 0)
                        r = -errno;
                else {
                        cadu_tmp_unregister(o->tmp_slot);
                        o->tmp_slot = -1;
                        free(o->tmp);
                        o->tmp = NULL;
                        r = fsync_parent_dir(o->path);
                }
        }
        cadu_outfile_abort(o);
        return r;
}

void cadu_outfile_abort(cadu_outfile *o) {
        if (o->fd >= 0)
                close(o->fd);
        o->fd = -1;
        if (o->tmp) {
                unlink(o->tmp);
                cadu_tmp_unregister(o->tmp_slot);
        }
        o->tmp_slot = -1;
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
}

int cadu_write_file_atomic(const char *path, const void *data, size_t n) {
        cadu_outfile o;
        int r = cadu_outfile_open(&o, path, false);
        if (r < 0)
                return r;
        if (o.is_dev) {
                cadu_outfile_abort(&o);
                return -EISDIR;
        }
        r = cadu_write_full(o.fd, data, n);
        if (r < 0) {
                cadu_outfile_abort(&o);
                return r;
        }
        return cadu_outfile_commit(&o);
}

int cadu_mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

uint64_t cadu_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
