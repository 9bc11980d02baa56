/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * context.h - the inside of libcadu's public context (include/cadu/cadu.h):
 * its callbacks and settings, and how the public functions report.
 */
#ifndef CADU_CONTEXT_H
#define CADU_CONTEXT_H

#include "cadu/cadu.h"
#include "cadu-crypt.h"
#include "storeopts.h"

struct cadu_context {
        cadu_log_fn log;
        void *log_userdata;
        cadu_progress_fn progress;
        void *progress_userdata;
        unsigned threads;
        cadu_storeopts storeopts;
        char *last_error;
        bool have_key;                  /* cadu_context_set_key_file() */
        cadu_crypt_key key;
};

/* Log a line at level through the callback (nothing without one). */
void cadu_context_log(cadu_context *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record the failure r (a negative errno) of what: the last error becomes
 * "<what>: <strerror>" and is logged at CADU_LOG_ERR. Returns r. */
int cadu_context_fail(cadu_context *ctx, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Forget the last error (at the start of every public call that can fail). */
void cadu_context_clear_error(cadu_context *ctx);
/* What r (a negative errno) means, in the words of the command's messages
 * (cadu_strerror(): "corrupt, or does not match its digest" for -EBADMSG,
 * "not found" for -ENOENT, ...), for engine messages that must read the
 * same through the library. */
const char *cadu_context_strerror(int r);

#endif
