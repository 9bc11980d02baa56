/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storewalk.h - what the store maintenance commands (info, verify-store, gc,
 * mirror) share: a set of chunk ids with what the indexes say about them,
 * the names found in a directory store, and a parallel loop.
 *
 * A directory store holds only STORE/<4 hex>/<64 hex>.cacnk, the four hex
 * digits being the first four of the id, all lower case. Writers create
 * temporary files beside the chunk and rename them into place: cadu
 * "<id>.<16 hex>.tmp", casync ".#<name><random>", desync ".tmp…"; any name
 * ending in ".tmp" or starting with ".#" or ".tmp" counts as temporary.
 * Everything else is stray.
 *
 * Functions return 0 (or a count) or a negative errno, and never log.
 */
#ifndef CADU_STOREWALK_H
#define CADU_STOREWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cadu-index.h"
#include "cadu-util.h"

/* ---- sets of chunk ids ---- */

typedef struct cadu_chunk_entry {
        uint8_t id[CADU_DIGEST_SIZE];
        cadu_digest_type digest;        /* of the first index naming it */
        uint32_t refs;                  /* occurrences in the indexes added */
        uint64_t size;                  /* uncompressed size; 0 = unknown */
        uint64_t max_size;              /* bound for decompressing it */
        uint64_t mask;                  /* OR of the masks it was added with */
        uint64_t raw_size;              /* free for the caller (e.g. chunk file size) */
        int state;                      /* free for the caller: e.g. CHUNK_* */
} cadu_chunk_entry;

/* cadu_chunk_entry.state where the store's side is looked up (info, verify). */
enum { CHUNK_UNKNOWN = 0, CHUNK_PRESENT, CHUNK_MISSING };

typedef struct cadu_chunk_set {
        cadu_chunk_entry *entries;      /* in order of first addition */
        size_t n, alloc;
        size_t *slots;                  /* open addressing: entry index + 1, 0 = empty */
        size_t cap;
} cadu_chunk_set;
#define CADU_CHUNK_SET_INIT { 0 }

/* Find or add id. Returns 1 when added (fields zeroed except id), 0 when it
 * was there; *ret points into s->entries, valid until the next addition. */
int cadu_chunk_set_add(cadu_chunk_set *s, const uint8_t id[CADU_DIGEST_SIZE], cadu_chunk_entry **ret);
/* The entry for id, or NULL. */
cadu_chunk_entry *cadu_chunk_set_find(const cadu_chunk_set *s, const uint8_t id[CADU_DIGEST_SIZE]);
/* Add every chunk of idx: refs counted, size, digest and max_size taken
 * from the index, mask ORed in. -EBADMSG when a chunk has another size than
 * the same id had before (a broken index: ids are digests of the content). */
int cadu_chunk_set_add_index(cadu_chunk_set *s, const cadu_index *idx, uint64_t mask);
/* Free and reset to CADU_CHUNK_SET_INIT. */
void cadu_chunk_set_done(cadu_chunk_set *s);

/* ---- names in a directory store ---- */

typedef enum cadu_store_name_kind {
        CADU_STORE_NAME_CHUNK,          /* a chunk file with a valid name */
        CADU_STORE_NAME_TEMP,           /* a writer's temporary file */
        CADU_STORE_NAME_BAD,            /* anything else */
} cadu_store_name_kind;

/* True for a prefix directory name: exactly 4 lower-case hex digits. */
bool cadu_store_prefix_valid(const char *name);
/* Classify name (len bytes, need not be NUL-terminated) found in the
 * prefix directory dir. For CHUNK, id receives the chunk id; for BAD, *why
 * (when given) says what is wrong in a few words. */
cadu_store_name_kind cadu_store_name_parse(const char *dir, const char *name, size_t len,
                                           uint8_t id[CADU_DIGEST_SIZE], const char **why);

typedef struct cadu_store_entry {
        const char *path;               /* relative to the store: "1a2b/1a2b….cacnk" */
        const char *name;               /* its last component */
        int dfd;                        /* the directory holding it (for unlinkat) */
        cadu_store_name_kind kind;
        const char *why;                /* BAD: what is wrong */
        uint8_t id[CADU_DIGEST_SIZE];   /* CHUNK: the id its name says */
        struct stat st;                 /* lstat() of it */
} cadu_store_entry;

typedef struct cadu_store_walker {
        /* Every file in a prefix directory, and every top-level entry that
         * is not a prefix directory (kind BAD), in path order. Returns 0 or
         * -errno (stops the walk). */
        int (*entry)(void *ud, const cadu_store_entry *e);
        /* After a prefix directory's entries (may be NULL). nentries is the
         * number of entries it had; st is its stat() from before its entries
         * were read (and the callbacks ran); dfd is the store root. */
        int (*prefix_done)(void *ud, int dfd, const char *prefix, size_t nentries, const struct stat *st);
        void *userdata;
        /* Only st.st_mode's file type is needed of the files in prefix
         * directories: taken from the directory entry where the file system
         * gives it, without a stat() per file. */
        bool types_only;
} cadu_store_walker;

/* Walk the directory store at root: its top level, then each prefix
 * directory in turn. Symbolic links are never followed (they are reported
 * as BAD). On failure *ret_path (when given) receives a malloc'ed path of
 * what could not be read. */
int cadu_store_walk(const char *root, const cadu_store_walker *w, char **ret_path);

/* The same in two steps, so that prefix directories can be walked on
 * several threads (the callbacks must then be thread-safe). */
typedef struct cadu_store_prefix {
        char name[5];
} cadu_store_prefix;
/* The top level of the store open at rootfd (root names it in messages):
 * *ret receives its prefix directories sorted by name (free() it), every
 * other entry goes to w->entry as BAD. */
int cadu_store_list_prefixes(int rootfd, const char *root, const cadu_store_walker *w, cadu_store_prefix **ret,
                             size_t *ret_n, char **ret_path);
/* The entries of one prefix directory in name order, then w->prefix_done.
 * *ret_path is set only when it is still NULL. */
int cadu_store_walk_prefix(int rootfd, const char *root, const cadu_store_prefix *p, const cadu_store_walker *w,
                           char **ret_path);

/* ---- parallel loop ---- */

/* Call fn(ud, i, worker) for every i in [0, n) on threads workers (0: the
 * number of CPUs); the calling thread is worker 0 and calls progress(ud)
 * (may be NULL) between its items. The first error a call returns stops
 * the loop and is returned. Worker threads release the chunk codec before
 * they exit; the caller releases its own. */
int cadu_parallel_for(size_t n, unsigned threads, int (*fn)(void *ud, size_t i, unsigned worker),
                      void (*progress)(void *ud), void *ud);
/* The number of CPUs online (at least 1). */
unsigned cadu_cpu_count(void);

#endif
