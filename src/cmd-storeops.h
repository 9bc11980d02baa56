/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-storeops.h - what the store commands (src/cmd-info.c,
 * src/cmd-verify-store.c, src/cmd-gc.c, src/cmd-mirror.c) share.
 *
 * Every chunk these commands read is decompressed with a size cap and
 * re-hashed against its id (cadu_store_get_chunk or the same steps there);
 * what they write to a store goes through the store's atomic put().
 */
#ifndef CADU_CMD_STOREOPS_H
#define CADU_CMD_STOREOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-crypt.h"
#include "cadu-store.h"
#include "cmd.h"
#include "context.h"
#include "storewalk.h"

#define HEX_SIZE (2 * CADU_DIGEST_SIZE + 1)

const char *hexid(const uint8_t id[CADU_DIGEST_SIZE], char buf[HEX_SIZE]);
double ratio(uint64_t a, uint64_t b);

typedef struct index_list {
        cadu_index **idx;               /* NULL for an encrypted index: */
        uint8_t **names;                /* then the keyed names of its chunks */
        size_t *n_names;
        char **paths;
        size_t n;
} index_list;
void index_list_done(index_list *l);
/* Read the indexes at paths; encrypted ones, when allowed, as their lists
 * of keyed names. 0, or an exit code after printing the error. */
int read_indexes(char **paths, size_t n, index_list *l, bool allow_encrypted);
/* The same; with key, encrypted indexes are decrypted (and plain ones
 * refused, as extract does). */
int read_indexes_key(char **paths, size_t n, index_list *l, bool allow_encrypted, const cadu_crypt_key *key);
/* Print the failure r of cadu_index_file_read() (lib/context.h) of path
 * and return its exit code. */
int index_file_error(const char *path, int r, const cadu_index_file *f, cadu_index_fault fault, const char *msg);
/* Add the chunks of every index to s. 0, or an exit code after the error. */
int add_indexes(cadu_chunk_set *s, const index_list *l);

/* --threads of command cmd: 0, or the usage error's exit code. */
int parse_threads(const char *cmd, const char *arg, unsigned *ret);
/* Workers: CPUs, plus some that mostly wait on a network store. */
unsigned default_threads(unsigned threads, const cadu_store *s);
/* What a failed request to store s was about, for an error message. */
const char *store_detail(cadu_store *s, char *buf, size_t size);

#endif
