/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-storeops.c - what cadu info, verify-store, gc and mirror share:
 * reading the indexes they are given, threads, error details.
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

/* The keyed names an encrypted index lists in clear (doc/encryption.md):
 * what gc keeps and mirror copies, without the key. */
static int read_names(const char *path, const uint8_t *buf, size_t len, index_list *l, size_t i) {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        const uint8_t *names;
        size_t n;
        if (cadu_crypt_index_header(buf, len, key_id, &names, &n) < 0) {
                cadu_error("index %s: encrypted index header is malformed", path);
                return CADU_EXIT_VERIFY;
        }
        if (!(l->names[i] = malloc(n ? n * CADU_CRYPT_NAME_SIZE : 1)))
                return cadu_error_errno(-ENOMEM, "index %s", path);
        memcpy(l->names[i], names, n * CADU_CRYPT_NAME_SIZE);
        l->n_names[i] = n;
        return 0;
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
                const char *why = NULL;
                _cleanup_free_ uint8_t *buf = NULL;
                size_t len;
                int r = cadu_read_file(paths[i], (size_t)2 << 30, &buf, &len);
                if (r == 0 && key) {
                        cadu_buf b = { .data = buf, .len = len, .alloc = len };
                        bool encrypted;
                        buf = NULL;
                        int c = cadu_cmd_open_index(paths[i], key, &b, &encrypted);
                        buf = b.data;
                        len = b.len;
                        if (c)
                                return c;
                } else if (r == 0 && cadu_crypt_index_is(buf, len)) {
                        if (!allow_encrypted) {
                                cadu_error("index %s is encrypted: decrypt it first (doc/encryption.md)", paths[i]);
                                return CADU_EXIT_USAGE;
                        }
                        if ((r = read_names(paths[i], buf, len, l, i)) != 0)
                                return r;
                        l->n++;
                        continue;
                }
                if (r == 0)
                        r = cadu_index_parse(buf, len, &l->idx[i], &why);
                if (r < 0) {
                        if (why) {
                                cadu_error("index %s: %s", paths[i], why);
                                return CADU_EXIT_VERIFY;
                        }
                        return cadu_error_errno(r, "cannot read index %s", paths[i]);
                }
                l->n++;
        }
        return 0;
}

/* Add the chunks of every index to s. 0, or an exit code after the error. */
int add_indexes(cadu_chunk_set *s, const index_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                uint64_t mask = i < 64 ? UINT64_C(1) << i : 0;
                int r = 0;
                if (!l->idx[i]) {
                        /* Keyed names: sizes unknown (0). */
                        for (size_t k = 0; k < l->n_names[i] && r >= 0; k++) {
                                cadu_chunk_entry *e;
                                r = cadu_chunk_set_add(s, l->names[i] + k * CADU_CRYPT_NAME_SIZE, &e);
                                if (r >= 0) {
                                        e->refs++;
                                        e->mask |= mask;
                                }
                        }
                        if (r < 0)
                                return cadu_error_errno(r, "index %s", l->paths[i]);
                        continue;
                }
                r = cadu_chunk_set_add_index(s, l->idx[i], mask);
                if (r == -EBADMSG) {
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
