/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mirror-release.c - the engine of cadu mirror of a release manifest
 * (mirror-release.h): its pins, files and full images, the destination's
 * lock and cleaning, and the jobs that copy chunks with lib/mirror.c.
 */
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
