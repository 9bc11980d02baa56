/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-pack.h - pack files, pack indexes and pack catalogs (doc/pack-format.md).
 *
 * A pack (STORE/packs/<sha256>.capack) concatenates chunk files and delta
 * files, byte-identical to the per-file ones. A release's pack index
 * (STORE/packs/<sha256 of the .caibx>.capx) says, for each chunk of that
 * index in index order, where its chunk file and its delta files lie:
 *
 *   capx    := header frame
 *   header  := "CADUPX1\n" version:u32=1 flags:u32=0 index_sha[32]
 *              nchunks:u64 payload_len:u64                     (64 B, LE)
 *   frame   := one zstd frame of exactly payload_len bytes:
 *   payload := npacks:v (pack_sha[32] pack_size:v){npacks} chunk{nchunks}
 *   chunk   := nentries:v (pack:v gap:v len:v nbases:v base{nbases}){nentries}
 *   base    := 0:v id[32] | k:v (k >= 1: id of chunk k-1 of the index)
 *   v       := unsigned LEB128, at most 10 bytes
 *
 * gap is the offset minus the end of the previous entry of the same pack,
 * signed, in zigzag form (0, -1, 1, -2 ... as 0, 1, 2, 3 ...).
 * A pack catalog (STORE/packs/<sha256 of the pack>.capcat), read only on the
 * publishing side, lists what every entry of one pack is:
 *
 *   capcat  := "CADUPC1\n" version:u32=1 flags:u32=0 pack_sha[32] n:u64
 *              (off:u64 len:u64 id[32] nbases:u32 base_id[32]{nbases}){n}
 *
 * Parsers are bounded by what the caller trusts (the index) and reject any
 * malformed input with -EBADMSG and a static reason. Nothing here logs.
 */
#ifndef CADU_PACK_H
#define CADU_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-store.h"

#define CADU_PACK_DIR "packs"
#define CADU_PACK_SUFFIX ".capack"
#define CADU_PACKIDX_SUFFIX ".capx"
#define CADU_PACKCAT_SUFFIX ".capcat"
#define CADU_PACKIDX_MAGIC "CADUPX1\n"
#define CADU_PACKCAT_MAGIC "CADUPC1\n"
#define CADU_PACKIDX_VERSION 1
#define CADU_PACKIDX_HEADER_SIZE 64
#define CADU_PACKCAT_HEADER_SIZE 56
#define CADU_PACK_MAX_ENTRIES 4         /* per chunk in a pack index */
#define CADU_PACK_MAX_BASES 8           /* per delta */
#define CADU_PACK_MAX_SIZE (UINT64_C(1) << 48)
#define CADU_PACK_DELTA_OVERHEAD 4096   /* a delta file beyond a chunk file's bound, plus 32 B per base */

/* "packs/<64 hex><suffix>" (buffer of at least CADU_PACK_PATH_MAX). */
#define CADU_PACK_PATH_MAX (sizeof(CADU_PACK_DIR) + 64 + 8)
void cadu_pack_path(const uint8_t sha[CADU_DIGEST_SIZE], const char *suffix, char *out);
/* Is the file name (no directory) "<64 hex><suffix>"? Then its digest goes to sha. */
bool cadu_pack_name_parse(const char *name, const char *suffix, uint8_t sha[CADU_DIGEST_SIZE]);

/* One entry: bytes [off, off+len) of pack `pack` are the chunk file of chunk
 * `chunk` (nbases 0) or a delta file of it against base_ids[bases..bases+nbases). */
typedef struct cadu_pack_entry {
        size_t chunk;                   /* position in the index */
        uint32_t pack;
        uint32_t nbases;
        size_t bases;
        uint64_t off, len;
} cadu_pack_entry;

typedef struct cadu_pack_ref {
        uint8_t id[CADU_DIGEST_SIZE];   /* the pack's sha256 (its name) */
        uint64_t size;
} cadu_pack_ref;

typedef struct cadu_pack_index {
        uint8_t index_sha[CADU_DIGEST_SIZE];
        size_t nchunks;
        size_t npacks, apacks;
        cadu_pack_ref *packs;
        size_t nentries, aentries;
        cadu_pack_entry *entries;       /* by chunk, ascending */
        size_t *first;                  /* after parse: entries of chunk i are [first[i], first[i+1]) */
        size_t nbases, abases;
        uint8_t (*base_ids)[CADU_DIGEST_SIZE];
} cadu_pack_index;

/* The largest pack index file that can describe idx. */
size_t cadu_pack_index_max_size(const cadu_index *idx);
/* Largest valid entry length for a chunk file (nbases 0) or a delta. */
uint64_t cadu_pack_entry_max_len(const cadu_index *idx, uint32_t nbases);

/* Parse a pack index of the index idx whose file has sha256 index_sha.
 * -EBADMSG with *reason (static) on any malformed or foreign input. */
int cadu_pack_index_parse(const uint8_t *raw, size_t len, const cadu_index *idx,
                          const uint8_t index_sha[CADU_DIGEST_SIZE], cadu_pack_index **ret, const char **reason);
cadu_pack_index *cadu_pack_index_free(cadu_pack_index *pi);

/* Building: an empty pack index for idx; packs and entries are added, the
 * entries in ascending chunk order. */
int cadu_pack_index_new(const cadu_index *idx, const uint8_t index_sha[CADU_DIGEST_SIZE], cadu_pack_index **ret);
/* The position of pack id in the list, added if new. */
int cadu_pack_index_add_pack(cadu_pack_index *pi, const uint8_t id[CADU_DIGEST_SIZE], uint64_t size, uint32_t *ret);
int cadu_pack_index_add_entry(cadu_pack_index *pi, size_t chunk, uint32_t pack, uint64_t off, uint64_t len,
                              const uint8_t (*base_ids)[CADU_DIGEST_SIZE], uint32_t nbases);
/* Serialise (zstd level 19) into *out (replaced). -E2BIG when it would
 * exceed the limits a reader enforces. */
int cadu_pack_index_serialize(const cadu_pack_index *pi, const cadu_index *idx, cadu_buf *out);

/* ---- pack catalogs ---- */

typedef struct cadu_pack_catalog_entry {
        uint8_t id[CADU_DIGEST_SIZE];   /* the chunk, or the delta's target */
        uint32_t nbases;                /* 0: a chunk file */
        size_t bases;                   /* first of its base ids in base_ids */
        uint64_t off, len;
} cadu_pack_catalog_entry;

typedef struct cadu_pack_catalog {
        uint8_t pack_id[CADU_DIGEST_SIZE];
        size_t n, alloc;
        cadu_pack_catalog_entry *entries;
        size_t nbases, abases;
        uint8_t (*base_ids)[CADU_DIGEST_SIZE];
} cadu_pack_catalog;

/* Parse a catalog; pack_id (may be NULL) must match. Entries must be
 * contiguous from 0. -EBADMSG with *reason. */
int cadu_pack_catalog_parse(const uint8_t *raw, size_t len, const uint8_t *pack_id, cadu_pack_catalog **ret,
                            const char **reason);
int cadu_pack_catalog_new(cadu_pack_catalog **ret);
/* Append the next entry (at the end of the previous one). */
int cadu_pack_catalog_add(cadu_pack_catalog *c, const uint8_t id[CADU_DIGEST_SIZE], uint64_t len,
                          const uint8_t (*base_ids)[CADU_DIGEST_SIZE], uint32_t nbases);
/* The pack's size: the end of the last entry. */
uint64_t cadu_pack_catalog_size(const cadu_pack_catalog *c);
int cadu_pack_catalog_serialize(const cadu_pack_catalog *c, cadu_buf *out);
cadu_pack_catalog *cadu_pack_catalog_free(cadu_pack_catalog *c);

#endif
