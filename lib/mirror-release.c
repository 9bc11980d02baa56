/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mirror-release.c - the engine of cadu mirror of a release manifest
 * (mirror-release.h): its pins, files and full images, the destination's
 * lock and cleaning, and the jobs that copy chunks with lib/mirror.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cadu-chunker.h"
#include "cadu-crypt.h"
#include "cadu-util.h"
#include "context.h"
#include "mirror-release.h"
#include "storeopts.h"

/* cadu mirror's exit codes (src/cmd.h). */
enum { EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3, EXIT_NETWORK = 5 };

/* The exit code of a store's or a fetch's failure (cadu_storeopts_exit_code()). */
static int store_exit(int r) {
        return r == -EBADMSG ? EXIT_VERIFY : cadu_storeopts_network_error(r) ? EXIT_NETWORK : EXIT_FAIL;
}

static int vfail(cadu_release_mirror *rm, int r, int exit, const char *why, const char *fmt, va_list ap) {
        if (rm->error)
                return r;
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        if (msg && why) {
                char *m2 = NULL;
                if (asprintf(&m2, "%s: %s", msg, why) < 0)
                        m2 = NULL;
                free(msg);
                msg = m2;
        }
        rm->error = msg ? msg : strdup("mirror: out of memory");
        rm->exit = exit;
        return r;
}

/* Fail with the line fmt and the exit code exit; returns r. */
__attribute__((format(printf, 4, 5))) static int fail(cadu_release_mirror *rm, int r, int exit, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfail(rm, r, exit, NULL, fmt, ap);
        va_end(ap);
        return r;
}

/* Fail with "fmt: <strerror(r)>", as cadu_error_errno() words and codes it. */
__attribute__((format(printf, 3, 4))) static int fail_errno(cadu_release_mirror *rm, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfail(rm, r, r == -EBADMSG || r == -EFBIG ? EXIT_VERIFY : EXIT_FAIL, cadu_context_strerror(r), fmt, ap);
        va_end(ap);
        return r;
}

int cadu_mirror_job_add_release(cadu_mirror_job *j, cadu_index *idx, const uint8_t sha[CADU_DIGEST_SIZE]) {
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

static char *path_join(const char *a, const char *b) {
        char *p;
        return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

void cadu_release_mirror_done(cadu_release_mirror *rm) {
        for (size_t i = 0; rm->m && i < rm->m->n_images; i++) {
                if (rm->indexes)
                        cadu_buf_free(&rm->indexes[i]);
                if (rm->deltas)
                        cadu_buf_free(&rm->deltas[i]);
                free(rm->delta_paths ? rm->delta_paths[i] : NULL);
                free(rm->fulls ? rm->fulls[i] : NULL);
        }
        free(rm->fulls);
        free(rm->indexes);
        free(rm->deltas);
        free(rm->delta_paths);
        cadu_buf_free(&rm->text);
        cadu_buf_free(&rm->sig);
        cadu_manifest_free(rm->m);
        for (size_t i = 0; i < rm->njobs; i++) {
                cadu_mirror_job *j = &rm->jobs[i];
                free(j->from);
                free(j->to);
                cadu_chunk_set_done(&j->set);
                for (size_t k = 0; k < j->nrels; k++)
                        cadu_index_free(j->rels[k]);
                free(j->rels);
                free(j->rel_shas);
                cadu_mirror_job_close(j);
        }
        free(rm->jobs);
        if (rm->lock_fd >= 0)
                close(rm->lock_fd);
        free(rm->error);
        *rm = (cadu_release_mirror)CADU_RELEASE_MIRROR_INIT;
}

/* ---- the destination: locked, and cleaned of an interrupted run ---- */

/* mirror owns DIR while it runs: an flock on the directory itself (no lock
 * file to show up as a stray) keeps a second mirror from interleaving
 * another release into it. */
int cadu_release_mirror_lock(cadu_release_mirror *rm) {
        const char *to = rm->to;
        int r = cadu_mkdir_p(to);
        if (r < 0)
                return fail_errno(rm, r, "mirror: creating %s", to);
        int fd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fail_errno(rm, -errno, "mirror: %s", to);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno;
                close(fd);
                if (r == EWOULDBLOCK)
                        return fail(rm, -r, EXIT_FAIL, "mirror: %s is being filled by another cadu mirror", to);
                return fail_errno(rm, -r, "mirror: locking %s", to);
        }
        rm->lock_fd = fd;
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
static int remove_file_tmps(cadu_release_mirror *rm, const char *rel) {
        _cleanup_free_ char *path = path_join(rm->to, rel), *dir = NULL;
        if (!path || cadu_dirname(path, &dir) < 0)
                return fail_errno(rm, -ENOMEM, "mirror");
        int r = remove_tmps(dir, is_file_tmp, strrchr(path, '/') + 1, &rm->removed);
        if (r < 0)
                fail_errno(rm, r, "mirror: cleaning %s", dir);
        return r;
}

/* A run killed mid-write leaves its temporary files: chunks being stored in
 * each destination store, and the manifest's files being replaced. Remove
 * exactly those names (nothing else in DIR is touched). */
int cadu_release_mirror_clean(cadu_release_mirror *rm) {
        int r = 0;
        for (size_t j = 0; j < rm->njobs && r == 0; j++) {
                const char *to = rm->jobs[j].to;
                DIR *d = opendir(to);
                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        return fail_errno(rm, -errno, "mirror: %s", to);
                }
                struct dirent *e;
                while (r == 0 && (e = readdir(d)))
                        if (strlen(e->d_name) == 4 && all_hex(e->d_name, 4)) {
                                _cleanup_free_ char *sub = path_join(to, e->d_name);
                                r = sub ? remove_tmps(sub, is_chunk_tmp, NULL, &rm->removed) : -ENOMEM;
                                if (r < 0)
                                        fail_errno(rm, r, "mirror: cleaning %s", sub ? sub : to);
                        }
                closedir(d);
        }
        if (r == 0 && rm->m) {
                /* The indexes, the deltas, the manifest and its signature. */
                const char *base = strrchr(rm->manifest, '/');
                _cleanup_free_ char *sig = NULL;
                base = base ? base + 1 : rm->manifest;
                if (asprintf(&sig, "%s.sig", base) < 0)
                        return fail_errno(rm, -ENOMEM, "mirror");
                for (size_t i = 0; r == 0 && i < rm->m->n_images; i++) {
                        r = remove_file_tmps(rm, rm->m->images[i].index);
                        if (r == 0 && rm->m->images[i].delta)
                                r = remove_file_tmps(rm, rm->m->images[i].delta);
                        if (r == 0 && rm->fulls && rm->fulls[i])
                                r = remove_file_tmps(rm, rm->m->images[i].full);
                }
                if (r == 0)
                        r = remove_file_tmps(rm, base);
                if (r == 0)
                        r = remove_file_tmps(rm, sig);
        }
        return r;
}

cadu_mirror_job *cadu_release_mirror_job(cadu_release_mirror *rm, const char *from, const char *to) {
        for (size_t i = 0; i < rm->njobs; i++)
                if (!strcmp(rm->jobs[i].from, from) && !strcmp(rm->jobs[i].to, to))
                        return &rm->jobs[i];
        cadu_mirror_job *n = realloc(rm->jobs, (rm->njobs + 1) * sizeof(*n));
        if (!n)
                return NULL;
        rm->jobs = n;
        cadu_mirror_job *j = &n[rm->njobs];
        *j = (cadu_mirror_job){ .from = strdup(from), .to = strdup(to), .set = CADU_CHUNK_SET_INIT,
                                .need = CADU_CHUNK_SET_INIT };
        if (!j->from || !j->to) {
                free(j->from);
                free(j->to);
                return NULL;
        }
        rm->njobs++;
        return j;
}

/* Fetch location (path or URL) into out. */
static int fetch(cadu_release_mirror *rm, const char *what, const char *location, size_t max, cadu_buf *out) {
        _cleanup_free_ char *msg = NULL;
        int r = cadu_fetch(location, rm->opts, max, out, &msg);
        if (r >= 0)
                return 0;
        if (msg)
                return fail(rm, r, store_exit(r), "cannot fetch %s %s: %s", what, location, msg);
        return fail(rm, r, store_exit(r), "cannot read %s %s: %s", what, location,
                    cadu_context_strerror(r));
}

/* The failure of a check of the manifest's pins (e2: its words). */
static int fail_check(cadu_release_mirror *rm, int r, const char *what, const char *name, const char *e2) {
        return fail(rm, r, r == -EBADMSG ? EXIT_VERIFY : EXIT_FAIL, "manifest %s: image %s: %s: %s", rm->manifest,
                    name, what, e2 ? e2 : cadu_context_strerror(r));
}

int cadu_release_mirror_plan(cadu_release_mirror *rm, const char *mloc, const char *from) {
        _cleanup_free_ char *err = NULL, *sig_loc = NULL;
        bool remote = cadu_location_is_url(mloc);
        const char *to = rm->to;
        rm->manifest = mloc;
        int r = fetch(rm, "manifest", mloc, CADU_MANIFEST_MAX_SIZE, &rm->text);
        if (r < 0)
                return r;
        if ((r = cadu_manifest_parse(rm->text.data, rm->text.len, &rm->m, &err)) < 0)
                return fail(rm, r, r == -EBADMSG ? EXIT_VERIFY : EXIT_FAIL, "manifest %s: %s", mloc,
                            err ? err : cadu_context_strerror(r));
        /* The signature is copied, not checked: mirror holds no trust
         * anchors; the device (or cadu verify) checks it. */
        if (asprintf(&sig_loc, "%s.sig", mloc) < 0)
                return fail_errno(rm, -ENOMEM, "mirror");
        r = cadu_fetch(sig_loc, rm->opts, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &rm->sig, NULL);
        if (r == -ENOENT)
                return fail_errno(rm, r, "signature %s of manifest %s (sign it first: cadu sign)", sig_loc, mloc);
        if (r < 0 && (r = fetch(rm, "signature", sig_loc, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &rm->sig)) < 0)
                return r;
        size_t n = rm->m->n_images;
        rm->indexes = calloc(n + 1, sizeof(cadu_buf));
        rm->deltas = calloc(n + 1, sizeof(cadu_buf));
        rm->delta_paths = calloc(n + 1, sizeof(char *));
        rm->fulls = calloc(n + 1, sizeof(char *));
        if (!rm->indexes || !rm->deltas || !rm->delta_paths || !rm->fulls)
                return fail_errno(rm, -ENOMEM, "mirror");
        for (size_t i = 0; i < n; i++) {
                const cadu_manifest_image *img = &rm->m->images[i];
                cadu_index *idx = NULL;
                _cleanup_free_ char *src = NULL, *dst = NULL, *e2 = NULL, *iloc = NULL, *dloc = NULL, *what = NULL;
                if ((r = cadu_manifest_resolve(mloc, img->index, &iloc)) < 0)
                        return fail_errno(rm, r, "manifest %s: image %s: index %s", mloc, img->name, img->index);
                /* An encrypted index is pinned by its plaintext, which a
                 * mirror without the key cannot check: its header's keyed
                 * names say which chunk files to copy; devices check all. */
                size_t imax = img->encrypted ? 2 * (size_t)img->index_size + 4096 : (size_t)img->index_size;
                if ((r = fetch(rm, "index", iloc, imax, &rm->indexes[i])) < 0)
                        return r;
                uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
                const uint8_t *names = NULL;
                size_t n_names = 0;
                if (img->encrypted &&
                    cadu_crypt_index_header(rm->indexes[i].data, rm->indexes[i].len, key_id, &names, &n_names) < 0)
                        return fail(rm, -EBADMSG, EXIT_VERIFY, "manifest %s: image %s: index %s: not an encrypted index",
                                    mloc, img->name, iloc);
                if (!img->encrypted &&
                    (r = cadu_manifest_check_index_data(img, rm->indexes[i].data, rm->indexes[i].len, &idx, &e2)) < 0) {
                        if (asprintf(&what, "index %s", iloc) < 0)
                                what = NULL;
                        return fail_check(rm, r, what ? what : "index", img->name, e2);
                }
                if (img->delta) {
                        free(e2);
                        e2 = NULL;
                        if ((r = cadu_manifest_resolve(mloc, img->delta, &dloc)) < 0) {
                                cadu_index_free(idx);
                                return fail_errno(rm, r, "manifest %s: image %s: delta %s", mloc, img->name,
                                                  img->delta);
                        }
                        if (remote) {
                                if ((r = fetch(rm, "delta", dloc, (size_t)img->delta_size, &rm->deltas[i])) < 0) {
                                        cadu_index_free(idx);
                                        return r;
                                }
                                r = cadu_manifest_check_data(rm->deltas[i].data, rm->deltas[i].len, img->delta_size,
                                                             img->delta_sha256, &e2);
                        } else {
                                r = cadu_manifest_check_file(dloc, img->delta_size, img->delta_sha256, &e2);
                                rm->delta_paths[i] = dloc;
                                dloc = NULL;
                        }
                        if (r < 0) {
                                cadu_index_free(idx);
                                if (asprintf(&what, "delta %s", img->delta) < 0)
                                        what = NULL;
                                return fail_check(rm, r, what ? what : "delta", img->name, e2);
                        }
                }
                /* A full image is optional: one on local media that is
                 * absent is left out, one present is checked now; one over
                 * the network is checked while it is copied. */
                if (img->full && cadu_store_relpath_valid(img->full)) {
                        free(e2);
                        e2 = NULL;
                        if ((r = cadu_manifest_resolve(mloc, img->full, &rm->fulls[i])) < 0) {
                                cadu_index_free(idx);
                                return fail_errno(rm, r, "manifest %s: image %s: full image %s", mloc, img->name,
                                                  img->full);
                        }
                        if (!remote && access(rm->fulls[i], F_OK) < 0) {
                                free(rm->fulls[i]);
                                rm->fulls[i] = NULL;
                        } else if (!remote && (r = cadu_manifest_check_file(rm->fulls[i], img->full_size,
                                                                            img->full_sha256, &e2)) < 0) {
                                cadu_index_free(idx);
                                if (asprintf(&what, "full image %s", img->full) < 0)
                                        what = NULL;
                                return fail_check(rm, r, what ? what : "full image", img->name, e2);
                        }
                }
                if (from)
                        src = strdup(from);
                else if (img->store)
                        r = cadu_manifest_resolve(mloc, img->store, &src);
                else {
                        cadu_index_free(idx);
                        return fail(rm, -EINVAL, EXIT_USAGE, "manifest %s names no store for image %s: give --from",
                                    mloc, img->name);
                }
                if (img->store && !cadu_manifest_is_url(img->store))
                        dst = path_join(to, img->store);
                else
                        dst = path_join(to, "default.castr");
                cadu_mirror_job *j = src && dst && r >= 0 ? cadu_release_mirror_job(rm, src, dst) : NULL;
                for (size_t k = 0; j && r >= 0 && k < n_names; k++) {
                        cadu_chunk_entry *e;
                        if ((r = cadu_chunk_set_add(&j->set, names + k * CADU_CRYPT_NAME_SIZE, &e)) >= 0)
                                e->refs++;
                }
                if (!j || r < 0 || (idx && (r = cadu_chunk_set_add_index(&j->set, idx, 0)) < 0)) {
                        cadu_index_free(idx);
                        return fail_errno(rm, r < 0 ? r : -ENOMEM, "manifest %s: image %s", mloc, img->name);
                }
                /* An encrypted release's sealed pack index is named by the
                 * sha256 of its encrypted index file. */
                uint8_t esha[CADU_DIGEST_SIZE];
                if (img->encrypted) {
                        cadu_index_free(idx);
                        idx = NULL;
                        r = cadu_digest(CADU_DIGEST_SHA256, rm->indexes[i].data, rm->indexes[i].len, esha);
                }
                if (r >= 0)
                        r = cadu_mirror_job_add_release(j, idx, img->encrypted ? esha : img->index_sha256);
                if (r < 0)
                        return fail_errno(rm, r, "manifest %s: image %s", mloc, img->name);
        }
        return 0;
}

int cadu_release_mirror_open(cadu_release_mirror *rm, cadu_mirror_job *j) {
        int r = cadu_store_open(j->from, rm->opts, false, &j->m.src);
        if (r < 0)
                return fail_errno(rm, r, "cannot open store %s", j->from);
        r = cadu_store_open_dir(j->to, true, &j->m.dst);
        if (r < 0)
                return fail_errno(rm, r, "cannot create store %s", j->to);
        return 0;
}

int cadu_release_mirror_copy(cadu_release_mirror *rm, cadu_mirror_job *j, const cadu_chunk_set *except) {
        int r;
        /* Minus what the devices already have. */
        for (size_t i = 0; i < j->set.n; i++) {
                cadu_chunk_entry *e;
                if (except && cadu_chunk_set_find(except, j->set.entries[i].id))
                        continue;
                if ((r = cadu_chunk_set_add(&j->need, j->set.entries[i].id, &e)) < 0)
                        return fail_errno(rm, r, "mirror");
                *e = j->set.entries[i];
        }
        j->m.set = &j->need;
        r = cadu_mirror_run(&j->m);
        if (r < 0 && !j->m.fatal)
                return fail_errno(rm, r, "mirror");
        if (r < 0) {
                char hex[2 * CADU_DIGEST_SIZE + 1];
                cadu_hex_encode(j->need.entries[j->m.fatal_entry].id, CADU_DIGEST_SIZE, hex);
                return fail_errno(rm, r, "mirror into %s: chunk %s", j->to, hex);
        }
        for (size_t i = 0; i < j->need.n; i++) {
                int state = j->need.entries[i].state;
                j->nmissing += state == CADU_MIRROR_MISSING;
                j->ncorrupt += state == CADU_MIRROR_CORRUPT;
                if (state == CADU_MIRROR_ERROR && !j->nerror++)
                        j->first_err = j->m.errs[i];
        }
        return 0;
}

void cadu_mirror_job_close(cadu_mirror_job *j) {
        cadu_mirror_done(&j->m);
        cadu_store_free(j->m.src);
        cadu_store_free(j->m.dst);
        j->m.src = j->m.dst = NULL;
        cadu_chunk_set_done(&j->need);
}

int cadu_release_mirror_packs(cadu_release_mirror *rm, cadu_mirror_job *j, cadu_packs_stats *ps) {
        for (size_t k = 0; k < j->nrels; k++) {
                _cleanup_free_ char *msg = NULL;
                int r = cadu_packs_mirror(j->m.src, j->to, j->rels[k], j->rel_shas[k], ps, &msg);
                if (r == -EBADMSG)
                        return fail(rm, r, EXIT_VERIFY, "mirror: %s", msg ? msg : cadu_context_strerror(r));
                if (r < 0)
                        return fail_errno(rm, r, "mirror: %s", msg ? msg : "packs");
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
static int copy_full_url(const cadu_store_options *opts, const char *url, const cadu_manifest_image *img,
                         const char *path) {
        const uint64_t piece = (uint64_t)2 << 20;
        _cleanup_free_ char *base = strndup(url, strlen(url) - strlen(img->full) - 1), *dir = NULL;
        cadu_outfile o = CADU_OUTFILE_INIT;
        cadu_store *s = NULL;
        full_copy c = { .h = cadu_digest_new(CADU_DIGEST_SHA256) };
        uint8_t got[CADU_DIGEST_SIZE];
        int r = base && c.h ? cadu_dirname(path, &dir) : -ENOMEM;
        if (r == 0 && (r = cadu_mkdir_p(dir)) == 0 && (r = cadu_store_open(base, opts, false, &s)) == 0)
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

int cadu_release_mirror_files(cadu_release_mirror *rm) {
        const char *to = rm->to, *mloc = rm->manifest;
        int r = 0;
        for (size_t i = 0; i < rm->m->n_images; i++) {
                const cadu_manifest_image *img = &rm->m->images[i];
                _cleanup_free_ char *idst = path_join(to, img->index);
                if (!idst || (r = write_file(idst, rm->indexes[i].data, rm->indexes[i].len)) < 0)
                        return fail_errno(rm, idst ? r : -ENOMEM, "writing %s", idst ? idst : to);
                if (!img->delta)
                        continue;
                _cleanup_free_ char *ddst = path_join(to, img->delta);
                if (!ddst)
                        return fail_errno(rm, -ENOMEM, "mirror");
                if (rm->delta_paths[i])
                        r = copy_file(rm->delta_paths[i], ddst);
                else
                        r = write_file(ddst, rm->deltas[i].data, rm->deltas[i].len);
                if (r < 0)
                        return fail_errno(rm, r, "writing %s", ddst);
        }
        for (size_t i = 0; i < rm->m->n_images; i++) {
                const cadu_manifest_image *img = &rm->m->images[i];
                if (!rm->fulls[i])
                        continue;
                _cleanup_free_ char *fdst = path_join(to, img->full);
                if (!fdst)
                        return fail_errno(rm, -ENOMEM, "mirror");
                r = cadu_location_is_url(rm->fulls[i]) ? copy_full_url(rm->opts, rm->fulls[i], img, fdst)
                                                       : copy_file(rm->fulls[i], fdst);
                if (r == -ENOENT && cadu_location_is_url(rm->fulls[i]))
                        continue;       /* optional: devices take the chunks */
                if (r == -EBADMSG)
                        return fail(rm, r, EXIT_VERIFY,
                                    "manifest %s: image %s: full image %s: does not match the manifest's pins", mloc,
                                    img->name, rm->fulls[i]);
                if (r < 0)
                        return fail_errno(rm, r, "writing %s", fdst);
        }
        const char *base = strrchr(mloc, '/');
        base = base ? base + 1 : mloc;
        _cleanup_free_ char *mdst = path_join(to, base), *sdst = NULL;
        if (!mdst || asprintf(&sdst, "%s.sig", mdst) < 0)
                return fail_errno(rm, -ENOMEM, "mirror");
        if ((r = write_file(sdst, rm->sig.data, rm->sig.len)) < 0)
                return fail_errno(rm, r, "writing %s", sdst);
        if ((r = write_file(mdst, rm->text.data, rm->text.len)) < 0)
                return fail_errno(rm, r, "writing %s", mdst);
        return 0;
}
