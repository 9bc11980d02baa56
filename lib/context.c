/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* context.c - libcadu's context: callbacks, settings, the last error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-index.h"
#include "cadu-util.h"
#include "context.h"

const char *cadu_library_version(void) {
        return PACKAGE_VERSION;
}

int cadu_context_new(cadu_context **ret) {
        if (!ret)
                return -EINVAL;
        cadu_context *ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->storeopts = (cadu_storeopts)CADU_STOREOPTS_INIT;
        *ret = ctx;
        return 0;
}

cadu_context *cadu_context_free(cadu_context *ctx) {
        if (!ctx)
                return NULL;
        cadu_storeopts_done(&ctx->storeopts);
        cadu_crypt_key_clear(&ctx->key);
        free(ctx->last_error);
        free(ctx);
        return NULL;
}

void cadu_context_set_log(cadu_context *ctx, cadu_log_fn fn, void *userdata) {
        if (!ctx)
                return;
        ctx->log = fn;
        ctx->log_userdata = userdata;
}

void cadu_phase_report(cadu_phase *p, const char *what, uint64_t done, uint64_t total) {
        cadu_context *ctx = p->ctx;
        if (!ctx->progress)
                return;
        if (!p->what || strcmp(p->what, what) != 0) {
                if (p->what && p->done != p->total)
                        ctx->progress(ctx->progress_userdata, p->what, p->total, p->total);
                free(p->what);
                if (!(p->what = strdup(what)))
                        return;
                p->done = 0;
                p->total = total;
                ctx->progress(ctx->progress_userdata, p->what, 0, total);
                if (done == 0)
                        return;
        }
        if (done == p->done && total == p->total)
                return;         /* nothing new */
        p->done = done;
        p->total = total;
        ctx->progress(ctx->progress_userdata, p->what, done, total);
}

void cadu_phase_end(cadu_phase *p, bool ok) {
        if (p->what && ok && p->done != p->total)
                p->ctx->progress(p->ctx->progress_userdata, p->what, p->total, p->total);
        free(p->what);
        p->what = NULL;
}

void cadu_context_set_progress(cadu_context *ctx, cadu_progress_fn fn, void *userdata) {
        if (!ctx)
                return;
        ctx->progress = fn;
        ctx->progress_userdata = userdata;
}

int cadu_context_set_threads(cadu_context *ctx, unsigned threads) {
        if (!ctx || threads > 256)
                return -EINVAL;
        ctx->threads = threads;
        return 0;
}

int cadu_context_set_store_option(cadu_context *ctx, const char *key, const char *value) {
        if (!ctx || !key)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        int r = cadu_storeopts_set(&ctx->storeopts, key, value);
        if (r == -ENOKEY)
                return cadu_context_fail(ctx, r, "unknown store option '%s'", key);
        if (r < 0)
                return cadu_context_fail(ctx, r, "store option %s '%s'", key, value ? value : "");
        return 0;
}

int cadu_context_set_key_file(cadu_context *ctx, const char *path) {
        if (!ctx)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        cadu_context_use_key(ctx, NULL);
        if (!path)
                return 0;
        cadu_crypt_key k;
        const char *why = NULL;
        int r = cadu_key_file_load(path, &k, &why);
        if (r < 0)
                cadu_context_log(ctx, CADU_LOG_ERR, "key file %s: %s", path, why);
        else
                cadu_context_use_key(ctx, &k);
        cadu_crypt_key_clear(&k);
        return r;
}

void cadu_context_use_key(cadu_context *ctx, const cadu_crypt_key *k) {
        cadu_crypt_key_clear(&ctx->key);
        ctx->have_key = k != NULL;
        if (k)
                ctx->key = *k;
}

int cadu_key_file_load(const char *path, cadu_crypt_key *ret, const char **why) {
        *why = NULL;
        int r = cadu_crypt_key_load(path, ret, why);
        if (r < 0 && !*why)
                *why = cadu_context_strerror(r);
        return r;
}

bool cadu_key_file_fault(int r) {
        return r == -EPERM || r == -EINVAL || r == -ENOENT || r == -EACCES;
}

/* *msg becomes the line fmt says: returns r, or -ENOMEM (*msg NULL). */
__attribute__((format(printf, 3, 4)))
static int say(char **msg, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(msg, fmt, ap) < 0) {
                *msg = NULL;
                r = -ENOMEM;
        }
        va_end(ap);
        return r;
}

int cadu_index_unseal(const char *what, const cadu_crypt_key *k, cadu_buf *buf, bool *encrypted, char **msg) {
        char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1], want[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE] = { 0 };
        const uint8_t *names;
        size_t n;
        cadu_buf plain = CADU_BUF_INIT;

        *msg = NULL;
        *encrypted = cadu_crypt_index_is(buf->data, buf->len);
        if (!*encrypted)
                return k ? say(msg, -EINVAL, "index %s is not encrypted, but a store key was given", what) : 0;
        int r = cadu_crypt_index_header(buf->data, buf->len, key_id, &names, &n);
        if (r == 0)
                r = cadu_crypt_index_open(k, buf->data, buf->len, &plain);
        if (r == 0) {
                cadu_buf_free(buf);
                *buf = plain;
                return 0;
        }
        cadu_buf_free(&plain);
        cadu_crypt_key_id_hex(key_id, want);
        switch (r) {
        case -ENOKEY:
                return say(msg, r, "index %s is encrypted (key %s): give the store key", what, want);
        case -EKEYREJECTED:
                cadu_crypt_key_id_hex(k->id, have);
                return say(msg, r, "index %s is encrypted with key %s, not with the given key %s", what, want, have);
        case -EBADMSG:
                return say(msg, r, "index %s: encrypted index is corrupt or forged (authentication failed)", what);
        default:
                return say(msg, r, "decrypting index %s: %s", what, cadu_context_strerror(r));
        }
}

/* The keyed names an encrypted index lists in clear: what gc keeps and
 * mirror copies without the key. */
static int read_names(const char *path, const cadu_buf *b, cadu_index_file *f, cadu_index_fault *fault, char **msg) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        const uint8_t *names;
        size_t n;
        if (cadu_crypt_index_header(b->data, b->len, key_id, &names, &n) < 0) {
                *fault = CADU_INDEX_FAULT_CONTENT;
                return say(msg, -EBADMSG, "index %s: encrypted index header is malformed", path);
        }
        if (!(f->names = malloc(n ? n * CADU_CRYPT_NAME_SIZE : 1)))
                return say(msg, -ENOMEM, "index %s", path);
        memcpy(f->names, names, n * CADU_CRYPT_NAME_SIZE);
        f->n_names = n;
        return 0;
}

int cadu_index_file_read(const char *path, const cadu_crypt_key *key, unsigned flags, cadu_index_file *ret,
                         cadu_index_fault *fault, char **msg) {
        cadu_buf b = CADU_BUF_INIT;
        const char *why = NULL;
        size_t len;
        int r;

        *ret = (cadu_index_file){ 0 };
        *fault = CADU_INDEX_FAULT_ERRNO;
        *msg = NULL;
        if ((r = cadu_read_file(path, CADU_INDEX_FILE_MAX, &b.data, &len)) < 0)
                return say(msg, r, "cannot read index %s", path);
        b.len = b.alloc = len;
        if (key) {
                if ((r = cadu_index_unseal(path, key, &b, &ret->encrypted, msg)) < 0)
                        *fault = CADU_INDEX_FAULT_KEY;
        } else if ((ret->encrypted = cadu_crypt_index_is(b.data, b.len))) {
                if (!(flags & CADU_INDEX_FILE_NAMES)) {
                        *fault = CADU_INDEX_FAULT_KEY;
                        r = say(msg, -ENOKEY, "index %s is encrypted", path);
                } else
                        r = read_names(path, &b, ret, fault, msg);
                goto out;
        }
        if (r == 0 && (r = cadu_index_parse(b.data, b.len, &ret->idx, &why)) < 0) {
                if (why) {
                        *fault = CADU_INDEX_FAULT_CONTENT;
                        r = say(msg, r, "index %s: %s", path, why);
                } else
                        r = say(msg, r, "cannot read index %s", path);
        }
out:
        cadu_buf_free(&b);
        if (r < 0) {
                bool encrypted = ret->encrypted;
                cadu_index_file_done(ret);
                ret->encrypted = encrypted;
        }
        return r;
}

int cadu_index_file_add(cadu_chunk_set *s, const cadu_index_file *f, uint64_t mask) {
        if (f->idx)
                return cadu_chunk_set_add_index(s, f->idx, mask);
        for (size_t k = 0; k < f->n_names; k++) {
                cadu_chunk_entry *e;
                int r = cadu_chunk_set_add(s, f->names + k * CADU_CRYPT_NAME_SIZE, &e);
                if (r < 0)
                        return r;
                e->refs++;
                e->mask |= mask;
        }
        return 0;
}

void cadu_index_file_done(cadu_index_file *f) {
        cadu_index_free(f->idx);
        free(f->names);
        *f = (cadu_index_file){ 0 };
}

int cadu_store_wrap_key(cadu_store **s, const cadu_crypt_key *k) {
        cadu_store *inner = *s;
        *s = NULL;
        return cadu_store_crypt_new(inner, k, s);
}

const char *cadu_context_last_error(const cadu_context *ctx) {
        return ctx ? ctx->last_error : NULL;
}

void cadu_context_clear_error(cadu_context *ctx) {
        free(ctx->last_error);
        ctx->last_error = NULL;
}

__attribute__((format(printf, 3, 0)))
static void vlog(cadu_context *ctx, int level, const char *fmt, va_list ap) {
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        if (level == CADU_LOG_ERR) {
                free(ctx->last_error);
                ctx->last_error = msg;
        }
        if (ctx->log)
                ctx->log(ctx->log_userdata, level, msg);
        if (level != CADU_LOG_ERR)
                free(msg);
}

void cadu_context_log(cadu_context *ctx, int level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog(ctx, level, fmt, ap);
        va_end(ap);
}

int cadu_context_fail(cadu_context *ctx, int r, const char *fmt, ...) {
        char *what = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (n < 0) {
                cadu_context_clear_error(ctx);
                return r;
        }
        cadu_context_log(ctx, CADU_LOG_ERR, "%s: %s", what, cadu_context_strerror(r));
        free(what);
        return r;
}

/* The command line's words (src/cmd-util.c's cadu_strerror() calls this)
 * for the errors the header gives a meaning. */
const char *cadu_context_strerror(int r) {
        switch (-r) {
        case EBADMSG: return "corrupt, or does not match its digest";
        case EFBIG: return "larger than allowed";
        case ENOENT: return "not found";
        default: return cadu_errstr(r);
        }
}
