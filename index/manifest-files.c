/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files a manifest pins: checking them against their size and sha256,
 * finding them beside the manifest, and describing them for a writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "cadu-manifest.h"

static int fail(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

static int compare_digest(const uint8_t got[CADU_DIGEST_SIZE], const uint8_t want[CADU_DIGEST_SIZE],
                          char **ret_error) {
        char a[2 * CADU_DIGEST_SIZE + 1], b[2 * CADU_DIGEST_SIZE + 1];
        if (!memcmp(got, want, CADU_DIGEST_SIZE))
                return 0;
        cadu_hex_encode(got, CADU_DIGEST_SIZE, a);
        cadu_hex_encode(want, CADU_DIGEST_SIZE, b);
        return fail(ret_error, -EBADMSG, "sha256 mismatch: %s, the manifest pins %s", a, b);
}

int cadu_manifest_check_data(const void *data, size_t n, uint64_t size,
                             const uint8_t sha256[CADU_DIGEST_SIZE], char **ret_error) {
        uint8_t d[CADU_DIGEST_SIZE];
        if (ret_error)
                *ret_error = NULL;
        if ((!data && n) || !sha256)
                return -EINVAL;
        if ((uint64_t)n != size)
                return fail(ret_error, -EBADMSG, "size mismatch: %zu bytes, the manifest pins %llu",
                            n, (unsigned long long)size);
        int r = cadu_digest(CADU_DIGEST_SHA256, data, n, d);
        if (r < 0)
                return r;
        return compare_digest(d, sha256, ret_error);
}

int cadu_manifest_check_file(const char *path, uint64_t size,
                             const uint8_t sha256[CADU_DIGEST_SIZE], char **ret_error) {
        uint8_t d[CADU_DIGEST_SIZE];
        uint64_t got;
        struct stat st;
        if (ret_error)
                *ret_error = NULL;
        if (!path || !sha256)
                return -EINVAL;
        /* A wrong size is refused before anything is read (endless data). */
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != size)
                return fail(ret_error, -EBADMSG, "size mismatch: %llu bytes, the manifest pins %llu",
                            (unsigned long long)st.st_size, (unsigned long long)size);
        /* At most a byte beyond the pin is read (a device or a growing file). */
        int r = cadu_sha256_file_max(path, size, d, &got);
        if (r == -EFBIG)
                return fail(ret_error, -EBADMSG, "larger than the %llu bytes the manifest pins",
                            (unsigned long long)size);
        if (r < 0)
                return r;
        if (got != size)
                return fail(ret_error, -EBADMSG, "size mismatch: %llu bytes, the manifest pins %llu",
                            (unsigned long long)got, (unsigned long long)size);
        return compare_digest(d, sha256, ret_error);
}

int cadu_manifest_check_index_data(const cadu_manifest_image *img, const void *data, size_t n,
                                   cadu_index **ret, char **ret_error) {
        cadu_index *idx = NULL;
        const char *reason = NULL;
        if (ret_error)
                *ret_error = NULL;
        if (!img)
                return -EINVAL;
        int r = cadu_manifest_check_data(data, n, img->index_size, img->index_sha256, ret_error);
        if (r < 0)
                return r;
        r = cadu_index_parse(data, n, &idx, &reason);
        if (r < 0)
                return fail(ret_error, r, "%s", reason ? reason : "invalid index");
        if (cadu_index_size(idx) != img->size) {
                r = fail(ret_error, -EBADMSG, "index describes %llu bytes, the manifest pins an image of %llu",
                         (unsigned long long)cadu_index_size(idx), (unsigned long long)img->size);
                cadu_index_free(idx);
                return r;
        }
        if (ret)
                *ret = idx;
        else
                cadu_index_free(idx);
        return 0;
}

int cadu_manifest_check_index_file(const cadu_manifest_image *img, const char *path,
                                   cadu_index **ret, char **ret_error) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n;
        struct stat st;
        if (ret_error)
                *ret_error = NULL;
        if (!img || !path)
                return -EINVAL;
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != img->index_size)
                return fail(ret_error, -EBADMSG, "size mismatch: %llu bytes, the manifest pins %llu",
                            (unsigned long long)st.st_size, (unsigned long long)img->index_size);
        /* Read at most one byte more than pinned, so a growing file is caught. */
        int r = cadu_read_file(path, (size_t)img->index_size + 1, &buf, &n);
        if (r == -EFBIG)
                return fail(ret_error, -EBADMSG, "larger than the %llu bytes the manifest pins",
                            (unsigned long long)img->index_size);
        if (r < 0)
                return r;
        return cadu_manifest_check_index_data(img, buf, n, ret, ret_error);
}

int cadu_manifest_resolve(const char *location, const char *name, char **ret) {
        if (!location || !name || !ret)
                return -EINVAL;
        if (cadu_manifest_is_url(name)) {
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        size_t base;
        const char *sep = strstr(location, "://");
        if (sep && cadu_manifest_is_url(location)) {
                /* The directory of the URL's path (before any query or fragment). */
                const char *host = sep + 3;
                size_t end = strcspn(host, "?#");
                const char *slash = NULL;
                for (size_t i = 0; i < end; i++)
                        if (host[i] == '/')
                                slash = host + i;
                if (!slash) {
                        if (asprintf(ret, "%.*s/%s", (int)(host + end - location), location, name) < 0)
                                return -ENOMEM;
                        return 0;
                }
                base = (size_t)(slash - location) + 1;
        } else {
                const char *slash = strrchr(location, '/');
                base = slash ? (size_t)(slash - location) + 1 : 0;
        }
        if (asprintf(ret, "%.*s%s", (int)base, location, name) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- for writers ---- */

/* The path of file relative to the directory that holds manifest_path; the
 * file must exist inside that directory. */
static int relative_to_manifest(const char *manifest_path, const char *file, char **ret,
                                char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        char rdir[PATH_MAX], rfile[PATH_MAX];
        if (cadu_dirname(manifest_path, &dir) < 0)
                return -ENOMEM;
        if (!realpath(dir, rdir))
                return fail(ret_error, -errno, "%s: %s", dir, strerror(errno));
        if (!realpath(file, rfile))
                return fail(ret_error, -errno, "%s: %s", file, strerror(errno));
        size_t dl = strlen(rdir);
        if (dl == 1)    /* "/" */
                dl = 0;
        if (strncmp(rfile, rdir, dl) != 0 || rfile[dl] != '/' || rfile[dl + 1] == 0)
                return fail(ret_error, -EXDEV, "%s is not inside %s, the manifest's directory", file, rdir);
        const char *rel = rfile + dl + 1;
        if (!cadu_manifest_path_valid(rel))
                return fail(ret_error, -EINVAL,
                            "%s: the name '%s' is not allowed in a manifest (only A-Z a-z 0-9 . _ - /)", file, rel);
        *ret = strdup(rel);
        return *ret ? 0 : -ENOMEM;
}

static int hash_file(const char *path, uint8_t d[CADU_DIGEST_SIZE], uint64_t *size, char **ret_error) {
        int r = cadu_sha256_file(path, d, size);
        if (r < 0)
                return fail(ret_error, r, "%s: %s", path, cadu_errstr(r));
        return 0;
}

int cadu_manifest_image_from_files(cadu_manifest_image *img, const char *manifest_path,
                                   const char *name, const char *slot_class,
                                   const char *image_path, const char *index_path,
                                   const char *store, char **ret_error) {
        uint8_t *buf = NULL;
        size_t len;
        if (ret_error)
                *ret_error = NULL;
        if (!img || !manifest_path || !name || !slot_class || !image_path || !index_path)
                return -EINVAL;
        int r = cadu_read_file(index_path, (size_t)1 << 31, &buf, &len);
        if (r < 0)
                return fail(ret_error, r, "%s: %s", index_path, cadu_errstr(r));
        r = cadu_manifest_image_from_data(img, manifest_path, name, slot_class, image_path, index_path, buf, len,
                                          store, ret_error);
        free(buf);
        return r;
}

int cadu_manifest_image_from_data(cadu_manifest_image *img, const char *manifest_path,
                                  const char *name, const char *slot_class,
                                  const char *image_path, const char *index_path,
                                  const uint8_t *buf, size_t len, const char *store, char **ret_error) {
        cadu_manifest_image n = { .size = 0 };
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!img || !manifest_path || !name || !slot_class || !image_path || !index_path || (!buf && len))
                return -EINVAL;
        n.name = strdup(name);
        n.slot_class = strdup(slot_class);
        if (!n.name || !n.slot_class) {
                r = -ENOMEM;
                goto fail;
        }
        r = relative_to_manifest(manifest_path, index_path, &n.index, ret_error);
        if (r < 0)
                goto fail;
        if (store && cadu_manifest_is_url(store))
                n.store = strdup(store);
        else if (store) {
                r = relative_to_manifest(manifest_path, store, &n.store, ret_error);
                if (r < 0)
                        goto fail;
        }
        if (store && !n.store) {
                r = -ENOMEM;
                goto fail;
        }
        r = hash_file(image_path, n.sha256, &n.size, ret_error);
        if (r < 0)
                goto fail;
        if (n.size == 0 || n.size > CADU_MANIFEST_MAX_IMAGE_SIZE) {
                r = fail(ret_error, -EINVAL, "%s: an image must be 1 byte to 1 PiB", image_path);
                goto fail;
        }
        n.index_size = len;
        r = cadu_digest(CADU_DIGEST_SHA256, buf, len, n.index_sha256);
        if (r < 0)
                goto fail;
        /* The index must be one of this image. */
        char *why = NULL;
        r = cadu_manifest_check_index_data(&n, buf, len, NULL, &why);
        if (r < 0) {
                r = fail(ret_error, -EINVAL, "%s: %s", index_path, why ? why : strerror(-r));
                free(why);
                goto fail;
        }
        *img = n;
        return 0;
fail:
        cadu_manifest_image_clear(&n);
        return r;
}

int cadu_manifest_image_set_delta(cadu_manifest_image *img, const char *manifest_path,
                                  const char *delta_path, const char *source_image_path,
                                  char **ret_error) {
        uint8_t d[CADU_DIGEST_SIZE], src[CADU_DIGEST_SIZE];
        uint64_t size, src_size;
        char *rel = NULL;
        if (ret_error)
                *ret_error = NULL;
        if (!img || !manifest_path || !delta_path || !source_image_path)
                return -EINVAL;
        int r = relative_to_manifest(manifest_path, delta_path, &rel, ret_error);
        if (r < 0)
                return r;
        r = hash_file(delta_path, d, &size, ret_error);
        if (r >= 0)
                r = hash_file(source_image_path, src, &src_size, ret_error);
        if (r >= 0 && (size == 0 || size > CADU_MANIFEST_MAX_IMAGE_SIZE))
                r = fail(ret_error, -EINVAL, "%s: a delta must be 1 byte to 1 PiB", delta_path);
        if (r < 0) {
                free(rel);
                return r;
        }
        free(img->delta);
        img->delta = rel;
        img->delta_size = size;
        memcpy(img->delta_sha256, d, sizeof(d));
        memcpy(img->delta_source_sha256, src, sizeof(src));
        return 0;
}

int cadu_manifest_image_set_full(cadu_manifest_image *img, const char *manifest_path, const char *full_path,
                                 char **ret_error) {
        uint8_t d[CADU_DIGEST_SIZE];
        uint64_t size;
        char *rel = NULL;
        if (ret_error)
                *ret_error = NULL;
        if (!img || !manifest_path || !full_path)
                return -EINVAL;
        int r = relative_to_manifest(manifest_path, full_path, &rel, ret_error);
        if (r < 0)
                return r;
        r = hash_file(full_path, d, &size, ret_error);
        if (r >= 0 && (size == 0 || size > CADU_MANIFEST_MAX_IMAGE_SIZE))
                r = fail(ret_error, -EINVAL, "%s: a full image must be 1 byte to 1 PiB", full_path);
        if (r < 0) {
                free(rel);
                return r;
        }
        free(img->full);
        img->full = rel;
        img->full_size = size;
        memcpy(img->full_sha256, d, sizeof(d));
        return 0;
}
