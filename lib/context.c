/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* context.c - libcadu's context: callbacks, settings, the last error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

int cadu_index_unseal(const char *what, const cadu_crypt_key *k, cadu_buf *buf, bool *encrypted, char **msg) {
        char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1], want[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE] = { 0 };
        const uint8_t *names;
        size_t n;
        cadu_buf plain = CADU_BUF_INIT;
        int m;

        *msg = NULL;
        *encrypted = cadu_crypt_index_is(buf->data, buf->len);
        if (!*encrypted) {
                if (!k)
                        return 0;
                m = asprintf(msg, "index %s is not encrypted, but a store key was given", what);
                return m < 0 ? -ENOMEM : -EINVAL;
        }
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
                m = asprintf(msg, "index %s is encrypted (key %s): give the store key", what, want);
                break;
        case -EKEYREJECTED:
                cadu_crypt_key_id_hex(k->id, have);
                m = asprintf(msg, "index %s is encrypted with key %s, not with the given key %s", what, want, have);
                break;
        case -EBADMSG:
                m = asprintf(msg, "index %s: encrypted index is corrupt or forged (authentication failed)", what);
                break;
        default:
                m = asprintf(msg, "decrypting index %s: %s", what, cadu_context_strerror(r));
                break;
        }
        return m < 0 ? -ENOMEM : r;
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
