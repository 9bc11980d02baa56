/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make.c - chunk an image into a store and build its index (make.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cadu-caibz.h"
#include "cadu-manifest.h"
#include "cadu-util.h"
#include "make.h"

static bool zero_done(cadu_make_job *m, const uint8_t id[CADU_DIGEST_SIZE], bool add) {
        bool found = false;
        pthread_mutex_lock(&m->zlock);
        for (size_t i = 0; i < m->nzdone && !found; i++)
                found = !memcmp(m->zdone[i], id, CADU_DIGEST_SIZE);
        if (!found && add && m->nzdone < CADU_ELEMENTSOF(m->zdone))
                memcpy(m->zdone[m->nzdone++], id, CADU_DIGEST_SIZE);
        pthread_mutex_unlock(&m->zlock);
        return found;
}

/* Worker: store the chunk unless the store has it already. */
static int store_chunk(void *ud, cadu_chunk_info *c, void *scratch) {
        cadu_make_job *m = ud;
        cadu_buf *out = scratch;
        if (c->zero && zero_done(m, c->id, false))
                return 0;
        int r = m->store->ops->has(m->store, c->id);
        if (r < 0)
                return r;
        /* Present: refresh it so that a concurrent gc (which spares chunks
         * younger than its grace period) cannot delete it under this index.
         * Gone in between: store it after all. */
        if (r > 0 && (r = cadu_store_touch(m->store, c->id)) != -ENOENT) {
                if (r == 0 && c->zero)
                        zero_done(m, c->id, true);
                return r;
        }
        r = cadu_chunk_compress(m->level, c->data, c->len, out);
        if (r < 0)
                return r;
        r = m->store->ops->put(m->store, c->id, out->data, out->len);
        if (r < 0)
                return r;
        m->new_chunks++;
        m->new_bytes += c->len;
        m->new_compressed += out->len;
        c->user = 1;
        if (c->zero)
                zero_done(m, c->id, true);
        return 0;
}

static int append_chunk(void *ud, const cadu_chunk_info *c) {
        cadu_make_job *m = ud;
        if (m->collect_new && c->user) {
                if (CADU_ARRAY_GROW(m->new_ids, m->a_new, m->n_new, 1024) < 0)
                        return -ENOMEM;
                memcpy(m->new_ids[m->n_new++], c->id, CADU_DIGEST_SIZE);
        }
        if (m->afps) {
                if (m->idx->n == m->afps) {
                        cadu_fp *f = realloc(m->fps, 2 * m->afps * sizeof(cadu_fp));
                        if (!f)
                                return -ENOMEM;
                        m->fps = f;
                        m->afps *= 2;
                }
                m->fps[m->idx->n] = c->fp;
        }
        return cadu_index_append(m->idx, c->end, c->id);
}

int cadu_make_write_index(cadu_make_job *m, const char *path) {
        _cleanup_free_ uint8_t *b = NULL;
        _cleanup_free_ char *fp_path = NULL;
        uint8_t sha[CADU_DIGEST_SIZE];
        size_t len;
        int r = cadu_index_serialize(m->idx, &b, &len);
        if (r == 0 && m->key) {
                cadu_buf sealed = CADU_BUF_INIT;
                r = cadu_crypt_index_seal(m->key, b, len, m->idx->n ? m->idx->items[0].id : NULL, sizeof(cadu_index_item), m->idx->n,
                                          &sealed);
                if (r == 0)
                        r = cadu_write_file_atomic(path, sealed.data, sealed.len);
                cadu_buf_free(&sealed);
                if (r == 0) {
                        m->plain_index = b;
                        m->plain_len = len;
                        b = NULL;
                }
                return r;
        }
        if (r < 0 || (r = cadu_write_file_atomic(path, b, len)) < 0 || !m->afps)
                return r;
        if ((r = cadu_digest(CADU_DIGEST_SHA256, b, len, sha)) < 0 || (r = cadu_fp_path(path, &fp_path)) < 0)
                return r;
        return cadu_fp_write(fp_path, sha, m->fps, m->idx->n);
}

static void progress(void *ud, uint64_t done) {
        cadu_make_job *j = ud;
        j->params->progress(j->params->userdata, done);
}

int cadu_make_chunk_fd(cadu_make_job *j, int fd, const cadu_make_params *p, uint64_t *ret_size,
                       cadu_chunk_info *ret_failed) {
        if (!j->store || !j->store->ops->put)
                return -EROFS;
        if (j->fingerprints) {
                if (!(j->fps = malloc(1024 * sizeof(cadu_fp))))
                        return -ENOMEM;
                j->afps = 1024;
        }
        int r = cadu_index_new(p->digest, p->min, p->avg, p->max, &j->idx);
        if (r < 0)
                return r;
        cadu_chunkfile_params cp = {
                .min = p->min, .avg = p->avg, .max = p->max,
                .digest = p->digest,
                .threads = p->threads,
                .fingerprints = j->fingerprints,
                .work = store_chunk,
                .ordered = append_chunk,
                .progress = p->progress ? progress : NULL,
                .userdata = j,
        };
        j->params = p;
        j->nzdone = 0;
        pthread_mutex_init(&j->zlock, NULL);
        r = cadu_chunk_fd(fd, &cp, ret_size, ret_failed);
        pthread_mutex_destroy(&j->zlock);
        j->params = NULL;
        cadu_chunk_codec_release();
        return r;
}

void cadu_make_job_done(cadu_make_job *j) {
        j->idx = cadu_index_free(j->idx);
        free(j->fps);
        free(j->new_ids);
        free(j->plain_index);
        j->fps = NULL;
        j->new_ids = NULL;
        j->plain_index = NULL;
        j->afps = j->n_new = j->a_new = j->plain_len = 0;
}

int cadu_make_write_caibz(const char *store_dir, const char *index_path, const cadu_index *idx,
                          char *const *bases, size_t nbases, char **errmsg) {
        uint8_t sha[CADU_DIGEST_SIZE], bsha[CADU_DIGEST_SIZE];
        int r = cadu_sha256_file(index_path, sha, NULL);
        if (r < 0) {
                if (asprintf(errmsg, "reading index %s: %s", index_path, cadu_errstr(r)) < 0)
                        *errmsg = NULL;
                return r;
        }
        for (size_t i = 0; i <= nbases; i++) {
                cadu_index *base = NULL;
                cadu_buf z = CADU_BUF_INIT;
                char rel[CADU_CAIBZ_PATH_MAX];
                _cleanup_free_ char *path = NULL;
                if (i < nbases) {
                        const char *reason = NULL;
                        if ((r = cadu_index_read(bases[i], &base, &reason)) < 0 ||
                            (r = cadu_sha256_file(bases[i], bsha, NULL)) < 0) {
                                cadu_index_free(base);
                                if (asprintf(errmsg, "index base %s: %s", bases[i], reason ? reason : cadu_errstr(r)) < 0)
                                        *errmsg = NULL;
                                return r;
                        }
                }
                cadu_caibz_path(sha, i < nbases ? bsha : NULL, rel);
                if (asprintf(&path, "%s/%s", store_dir, rel) < 0) {
                        cadu_index_free(base);
                        return -ENOMEM;
                }
                struct stat st;
                if (lstat(path, &st) == 0) {
                        cadu_index_free(base);
                        continue;
                }
                r = cadu_caibz_encode(idx, base, 19, &z);
                if (r == 0)
                        r = cadu_write_file_atomic(path, z.data, z.len);
                cadu_index_free(base);
                cadu_buf_free(&z);
                if (r < 0) {
                        if (asprintf(errmsg, "writing the compact index %s/%s: %s", store_dir, rel, cadu_errstr(r)) < 0)
                                *errmsg = NULL;
                        return r;
                }
        }
        return 0;
}

int cadu_make_write_manifest(const cadu_make_job *j, const char *path, const char *compatible,
                             const char *version, const char *name, const char *slot_class, const char *image,
                             const char *index_path, const char *store, char **errmsg) {
        _cleanup_free_ char *err = NULL, *text = NULL, *base = NULL;
        cadu_manifest_image img = { 0 };
        size_t len;
        cadu_manifest *m = cadu_manifest_new();
        if (!m)
                return -ENOMEM;
        if (!name) {
                const char *b = strrchr(index_path, '/');
                base = strdup(b ? b + 1 : index_path);
                if (!base) {
                        cadu_manifest_free(m);
                        return -ENOMEM;
                }
                char *dot = strrchr(base, '.');
                if (dot && dot != base)
                        *dot = 0;
                name = base;
        }
        m->compatible = strdup(compatible);
        m->version = strdup(version);
        int r = !m->compatible || !m->version ? -ENOMEM : 0;
        if (r == 0 && j->key) {
                /* Pinned by its plaintext; the manifest names the key. */
                _Static_assert(CADU_MANIFEST_KEY_ID_SIZE == CADU_CRYPT_KEY_ID_SIZE, "key id sizes");
                r = cadu_manifest_image_from_data(&img, path, name, slot_class, image, index_path, j->plain_index,
                                                  j->plain_len, store, &err);
                img.encrypted = true;
                memcpy(img.store_key, j->key->id, CADU_CRYPT_KEY_ID_SIZE);
        } else if (r == 0)
                r = cadu_manifest_image_from_files(&img, path, name, slot_class, image, index_path, store, &err);
        if (r == 0)
                r = cadu_manifest_add_image(m, &img, &err);
        if (r == 0)
                r = cadu_manifest_format(m, &text, &len, &err);
        if (r == 0)
                r = cadu_write_file_atomic(path, text, len);
        cadu_manifest_image_clear(&img);
        cadu_manifest_free(m);
        if (r < 0 && asprintf(errmsg, err ? "manifest %s: %s" : "writing manifest %s: %s", path,
                              err ? err : cadu_errstr(r)) < 0)
                *errmsg = NULL;
        return r;
}
