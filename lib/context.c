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
        cadu_crypt_key_clear(&ctx->key);
        ctx->have_key = false;
        if (!path)
                return 0;
        const char *why = NULL;
        int r = cadu_crypt_key_load(path, &ctx->key, &why);
        if (r < 0) {
                cadu_crypt_key_clear(&ctx->key);
                if (why) {
                        cadu_context_log(ctx, CADU_LOG_ERR, "key file %s: %s", path, why);
                        return r;
                }
                return cadu_context_fail(ctx, r, "key file %s", path);
        }
        ctx->have_key = true;
        return 0;
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
