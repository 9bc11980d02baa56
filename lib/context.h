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
#include "storewalk.h"

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

/* Progress through the context's callback in phases: each phase reported
 * with done = 0 when it starts and done = total when it completes (a phase
 * left behind by the next one is completed first), nothing repeated. */
typedef struct cadu_phase {
        cadu_context *ctx;
        char *what;                     /* the current phase, or NULL */
        uint64_t done, total;
} cadu_phase;
void cadu_phase_report(cadu_phase *p, const char *what, uint64_t done, uint64_t total);
/* The end of the last phase: completed (ok) or not; p is reset. */
void cadu_phase_end(cadu_phase *p, bool ok);

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

/* Store keys and encrypted indexes (doc/encryption.md): the one
 * implementation, for the library and the commands (src/cmd-crypt.c)
 * alike, each caller choosing what a failure becomes. */

/* Load the key file at path into *ret: 0, or -errno with *why what is
 * wrong (its type or permissions, its content, else what r means in
 * cadu_context_strerror()'s words). */
int cadu_key_file_load(const char *path, cadu_crypt_key *ret, const char **why);
/* Whether the failure r of cadu_key_file_load() is the key file's fault
 * (missing, unreadable, loose permissions, bad content): a mistake of
 * configuration rather than of the system. */
bool cadu_key_file_fault(int r);
/* The context's key becomes a copy of k (NULL: none). */
void cadu_context_use_key(cadu_context *ctx, const cadu_crypt_key *k);
/* When buf holds an encrypted index, replace it by its plaintext, opened
 * with k (NULL: no key given); *encrypted tells which it was. A plain index
 * given a key is refused (-EINVAL): the key would be ignored. 0, or -errno
 * with *msg (malloc'ed; NULL only for -ENOMEM) the line that says why,
 * naming the index what: -EINVAL for that plain index, -ENOKEY for an
 * encrypted one without a key, -EKEYREJECTED for one encrypted with
 * another key, -EBADMSG for a corrupt or forged one, else
 * "decrypting index WHAT: <strerror>". */
int cadu_index_unseal(const char *what, const cadu_crypt_key *k, cadu_buf *buf, bool *encrypted, char **msg);

/* An index file as the store operations read it (cadu_index_file_read()):
 * a plain index parsed, an encrypted one opened with the key given, or,
 * without a key and with CADU_INDEX_FILE_NAMES, the keyed names it lists in
 * clear (doc/encryption.md). */
typedef struct cadu_index_file {
        cadu_index *idx;                /* NULL for those names: */
        uint8_t *names;                 /* n_names of CADU_CRYPT_NAME_SIZE bytes */
        size_t n_names;
        bool encrypted;                 /* the file was (also when it failed) */
} cadu_index_file;
#define CADU_INDEX_FILE_NAMES 1u
/* What a failure of cadu_index_file_read() is about. */
typedef enum cadu_index_fault {
        CADU_INDEX_FAULT_ERRNO,         /* the line reads "<msg>: <what r means>" */
        CADU_INDEX_FAULT_CONTENT,       /* msg says it: not an index, or a malformed one */
        CADU_INDEX_FAULT_KEY,           /* msg says it: cadu_index_unseal()'s failures, or
                                         * -ENOKEY for an encrypted index without key or names */
} cadu_index_fault;
/* Read the index file at path into *ret (see cadu_index_file; key may be
 * NULL). 0, or -errno with *fault and *msg (malloc'ed; NULL only for
 * -ENOMEM) the line that says why. */
int cadu_index_file_read(const char *path, const cadu_crypt_key *key, unsigned flags, cadu_index_file *ret,
                         cadu_index_fault *fault, char **msg);
/* Add the chunks of f to s with mask (keyed names with size 0): 0, or
 * -errno (-EBADMSG: a chunk id appears with two different sizes). */
int cadu_index_file_add(cadu_chunk_set *s, const cadu_index_file *f, uint64_t mask);
void cadu_index_file_done(cadu_index_file *f);

/* Wrap *s in an encrypted store under k (on failure *s is freed and
 * NULL). 0 or -errno. */
int cadu_store_wrap_key(cadu_store **s, const cadu_crypt_key *k);

#endif
