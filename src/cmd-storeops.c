/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-storeops.c - what cadu info, verify-store, gc and mirror share:
 * reading the indexes they are given (the library's cadu_index_file_read(),
 * lib/context.h, with the commands' messages), threads, error details.
 */
#include <errno.h>

#include "cadu-crypt.h"
#include "cadu-index.h"
#include "cadu-store.h"
#include "cmd.h"
#include "cmd-crypt.h"
#include "cmd-storeops.h"

const char *hexid(const uint8_t id[CADU_DIGEST_SIZE], char buf[HEX_SIZE]) {
        cadu_hex_encode(id, CADU_DIGEST_SIZE, buf);
        return buf;
}

double ratio(uint64_t a, uint64_t b) {
        return b ? (double)a / (double)b : 1.0;
}

void index_list_done(index_list *l) {
        for (size_t i = 0; l->idx && i < l->n; i++) {
                cadu_index_free(l->idx[i]);
                free(l->names[i]);
        }
        free(l->idx);
        free(l->names);
        free(l->n_names);
        l->idx = NULL;
        l->names = NULL;
        l->n_names = NULL;
        l->n = 0;
}

int index_file_error(const char *path, int r, const cadu_index_file *f, cadu_index_fault fault, const char *msg) {
        if (!msg)
                return cadu_error_errno(r, "index %s", path);
        if (fault == CADU_INDEX_FAULT_KEY)
                return cadu_cmd_index_key_error(r, f->encrypted, msg);
        if (fault == CADU_INDEX_FAULT_CONTENT) {
                cadu_error("%s", msg);
                return CADU_EXIT_VERIFY;
        }
        return cadu_error_errno(r, "%s", msg);
}

/* Read the indexes at paths; encrypted ones, when allowed, as their lists
 * of keyed names. 0, or an exit code after printing the error. */
int read_indexes(char **paths, size_t n, index_list *l, bool allow_encrypted) {
        return read_indexes_key(paths, n, l, allow_encrypted, NULL);
}

/* The same; with key, encrypted indexes are decrypted (and plain ones
 * refused, as extract does). */
int read_indexes_key(char **paths, size_t n, index_list *l, bool allow_encrypted, const cadu_crypt_key *key) {
        l->paths = paths;
        l->n = 0;
        l->idx = calloc(n + 1, sizeof(*l->idx));
        l->names = calloc(n + 1, sizeof(*l->names));
        l->n_names = calloc(n + 1, sizeof(*l->n_names));
        if (!l->idx || !l->names || !l->n_names)
                return cadu_error_errno(-ENOMEM, "reading indexes");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *msg = NULL;
                cadu_index_fault fault;
                cadu_index_file f;
                int r = cadu_index_file_read(paths[i], key, allow_encrypted ? CADU_INDEX_FILE_NAMES : 0, &f, &fault, &msg);
                if (r == -ENOKEY && !key) {
                        cadu_error("index %s is encrypted: decrypt it first (doc/encryption.md)", paths[i]);
                        return CADU_EXIT_USAGE;
                }
                if (r < 0)
                        return index_file_error(paths[i], r, &f, fault, msg);
                l->idx[i] = f.idx;
                l->names[i] = f.names;
                l->n_names[i] = f.n_names;
                l->n++;
        }
        return 0;
}

/* Add the chunks of every index to s. 0, or an exit code after the error. */
int add_indexes(cadu_chunk_set *s, const index_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                cadu_index_file f = { .idx = l->idx[i], .names = l->names[i], .n_names = l->n_names[i] };
                int r = cadu_index_file_add(s, &f, i < 64 ? UINT64_C(1) << i : 0);
                if (r == -EBADMSG && f.idx) {
                        cadu_error("index %s: a chunk id appears with two different sizes", l->paths[i]);
                        return CADU_EXIT_VERIFY;
                }
                if (r < 0)
                        return cadu_error_errno(r, "index %s", l->paths[i]);
        }
        return 0;
}

int parse_threads(const char *cmd, const char *arg, unsigned *ret) {
        uint64_t v;
        if (cadu_parse_uint(arg, 1, 256, &v) < 0)
                return cadu_usage_error(cmd, "invalid --threads '%s' (1..256)", arg);
        *ret = (unsigned)v;
        return 0;
}

/* Workers: CPUs, plus some that mostly wait on a network store. */
unsigned default_threads(unsigned threads, const cadu_store *s) {
        if (threads)
                return threads;
        return cadu_cpu_count() + (s && strcmp(s->ops->kind, "dir") != 0 ? 8 : 0);
}

/* What a failed request to store s was about, for an error message. */
const char *store_detail(cadu_store *s, char *buf, size_t size) {
        buf[0] = 0;
        if (s && cadu_store_http_last_error(s, buf, size) == 0 && buf[0])
                return buf;
        return NULL;
}
