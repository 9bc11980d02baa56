/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Local directory store: STORE/<4 hex>/<64 hex>.cacnk, written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cadu-crypt.h"
#include "cadu-store.h"

typedef struct dir_store {
        cadu_store base;
        int dfd;
} dir_store;

static int dir_get(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], size_t max_raw, cadu_buf *out) {
        dir_store *d = (dir_store *)s;
        char path[CADU_CHUNK_PATH_MAX];
        struct stat st;
        cadu_chunk_path(id, path);
        /* Only a regular file is a chunk: a FIFO would block, a device feed
         * endless bytes, a symlink squatting the name point anywhere. */
        _cleanup_close_ int fd = cadu_open_untrusted_at(d->dfd, path, CADU_OPEN_NOFOLLOW);
        if (fd == -CADU_ENOTREG || fd == -EISDIR)
                return -EBADMSG;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t)st.st_size > max_raw)
                return -EFBIG;
        out->len = 0;
        int r = cadu_buf_reserve(out, (size_t)st.st_size + 1);
        if (r < 0)
                return r;
        /* One read() asking for a byte more than fstat() said normally
         * returns the whole file at once; only a short one needs the loop
         * (a second read() just to see the end costs a system call per
         * chunk, measurable in verify-store). */
        size_t want = (size_t)st.st_size + 1;
        ssize_t k;
        do
                k = read(fd, out->data, want);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if (k > 0 && (size_t)k < (size_t)st.st_size) {
                ssize_t more = cadu_read_full(fd, out->data + k, want - (size_t)k);
                if (more < 0)
                        return (int)more;
                k += more;
        }
        if ((size_t)k != (size_t)st.st_size)
                return -EBADMSG;   /* changed under us */
        out->len = (size_t)k;
        return 0;
}

static int dir_has(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        dir_store *d = (dir_store *)s;
        char path[CADU_CHUNK_PATH_MAX];
        cadu_chunk_path(id, path);
        struct stat st;
        /* Anything but a regular file under the name (a symlink, a FIFO) is
         * not the chunk: a put() replaces it. */
        if (fstatat(d->dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return S_ISREG(st.st_mode);
        return errno == ENOENT ? 0 : -errno;
}

static int dir_put(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], const void *raw, size_t len) {
        dir_store *d = (dir_store *)s;
        char path[CADU_CHUNK_PATH_MAX], tmp[CADU_CHUNK_PATH_MAX + 32];
        uint64_t rnd;
        cadu_chunk_path(id, path);
        path[4] = 0;
        if (mkdirat(d->dfd, path, 0755) < 0 && errno != EEXIST)
                return -errno;
        path[4] = '/';
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -errno;
        /* <4 hex>/<id>.<random>.tmp, renamed over the final name. */
        snprintf(tmp, sizeof(tmp), "%.*s.%016llx.tmp", 69, path, (unsigned long long)rnd);
        int slot, fd = cadu_tmp_openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644, &slot);
        if (fd == -ENOENT) {
                /* A concurrent gc removed the (empty) prefix directory. */
                path[4] = 0;
                if (mkdirat(d->dfd, path, 0755) < 0 && errno != EEXIST)
                        return -errno;
                path[4] = '/';
                fd = cadu_tmp_openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644, &slot);
        }
        if (fd < 0)
                return fd;
        int r = cadu_write_full(fd, raw, len);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(d->dfd, tmp, d->dfd, path) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(d->dfd, tmp, 0);
        cadu_tmp_unregister(slot);
        return r;
}

/* Open a file below the store for reading: a regular file, never a FIFO or
 * device that could block or feed endless bytes (cadu_open_untrusted_at),
 * its size in *size. */
static int dir_open_file(dir_store *d, const char *relpath, uint64_t *size) {
        struct stat st;
        int fd = cadu_open_untrusted_at(d->dfd, relpath, 0);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return -ENOENT;
        if (fd == -CADU_ENOTREG || fd == -EISDIR)
                return -EBADMSG;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *size = (uint64_t)st.st_size;
        return fd;
}

static int dir_get_ranges(cadu_store *s, const char *relpath, const cadu_range *r, size_t n,
                          cadu_range_cb cb, void *ud) {
        dir_store *d = (dir_store *)s;
        cadu_buf b = CADU_BUF_INIT;
        uint64_t size;
        int ret = 0;
        _cleanup_close_ int fd = dir_open_file(d, relpath, &size);
        if (fd < 0)
                return fd;
        /* The store's file does not match whoever computed the ranges. */
        if (r[n - 1].off + r[n - 1].len > size)
                return -EBADMSG;
        for (size_t i = 0; i < n && ret == 0; i++) {
                /* One buffer, grown to the largest range. */
                b.len = 0;
                ret = cadu_buf_reserve(&b, (size_t)r[i].len);
                if (ret < 0)
                        break;
                ssize_t k = cadu_pread_full(fd, b.data, (size_t)r[i].len, r[i].off);
                if (k < 0)
                        ret = (int)k;
                else if ((uint64_t)k != r[i].len)
                        ret = -EBADMSG;         /* truncated under us */
                else
                        ret = cb(ud, i, b.data, (size_t)r[i].len);
        }
        cadu_buf_free(&b);
        return ret;
}

static int dir_get_file(cadu_store *s, const char *relpath, size_t max, cadu_buf *out) {
        dir_store *d = (dir_store *)s;
        uint64_t size;
        _cleanup_close_ int fd = dir_open_file(d, relpath, &size);
        if (fd < 0)
                return fd;
        if (size > max)
                return -EFBIG;
        out->len = 0;
        int r = cadu_buf_reserve(out, (size_t)size + 1);
        if (r < 0)
                return r;
        /* A byte more than fstat() said: a file grown under us is too big. */
        ssize_t k = cadu_read_full(fd, out->data, (size_t)size + 1);
        if (k < 0)
                return (int)k;
        if ((uint64_t)k != size)
                return (uint64_t)k > max ? -EFBIG : -EBADMSG;
        out->len = (size_t)k;
        return 0;
}

static void dir_free(cadu_store *s) {
        dir_store *d = (dir_store *)s;
        if (d->dfd >= 0)
                close(d->dfd);
        free(d->base.location);
        free(d);
}

static const cadu_store_ops dir_ops = {
        .version = 1,
        .kind = "dir",
        .get = dir_get,
        .put = dir_put,
        .has = dir_has,
        .free = dir_free,
        .get_ranges = dir_get_ranges,
        .get_file = dir_get_file,
};

int cadu_store_open_dir(const char *path, bool create, cadu_store **ret) {
        if (create) {
                int r = cadu_mkdir_p(path);
                if (r < 0)
                        return r;
        }
        dir_store *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->base.ops = &dir_ops;
        d->base.location = strdup(path);
        d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->dfd < 0 || !d->base.location) {
                int r = d->dfd < 0 ? -errno : -ENOMEM;
                dir_free(&d->base);
                return r;
        }
        *ret = &d->base;
        return 0;
}

/* An encrypted store's chunk is its inner store's file under the keyed
 * name: *s and *id are replaced by those. */
static int unwrap(cadu_store **s, const uint8_t **id, uint8_t name[CADU_CRYPT_NAME_SIZE]) {
        cadu_store *inner;
        int r = cadu_store_crypt_map(*s, *id, &inner, name);
        if (r > 0) {
                *s = inner;
                *id = name;
        }
        return r < 0 ? r : 0;
}

int cadu_store_touch(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE]) {
        char path[CADU_CHUNK_PATH_MAX];
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        int r = unwrap(&s, &id, name);
        if (r < 0)
                return r;
        if (s->ops != &dir_ops)
                return 0;
        cadu_chunk_path(id, path);
        if (utimensat(((dir_store *)s)->dfd, path, NULL, 0) < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        return 0;
}

int cadu_store_dir_path(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], char **ret) {
        char path[CADU_CHUNK_PATH_MAX];
        uint8_t name[CADU_CRYPT_NAME_SIZE];
        int r = unwrap(&s, &id, name);
        if (r < 0)
                return r;
        if (s->ops != &dir_ops)
                return -EOPNOTSUPP;
        cadu_chunk_path(id, path);
        if (asprintf(ret, "%s/%s", s->location, path) < 0)
                return -ENOMEM;
        return 0;
}
