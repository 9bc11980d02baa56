/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-crypt.h - encrypted chunk stores and encrypted indexes
 * (doc/encryption.md is the format's reference).
 *
 * One 256-bit store key K yields, by HKDF-SHA256 with distinct labels, a
 * public key id and five subkeys: the stream key (files of any size, see
 * below), the name key (a chunk's file name is
 * HMAC-SHA256(name key, plaintext id)), the nonce key, the chunk key and
 * the index key. A chunk file is the compressed chunk sealed with
 * ChaCha20-Poly1305 under a synthetic nonce (HMAC of the id and the
 * compressed bytes), so the same chunk gives the same file in every
 * release under the same key; the authenticated data binds it to its file
 * name and key id. An encrypted index carries the sorted keyed names of its
 * chunks in clear (authenticated), so that a mirror without the key knows
 * what to copy.
 *
 * An encrypted store wraps any other store (directory, HTTP, chain): its
 * get/put/has take plaintext ids, and the inner store sees keyed names in
 * the usual <4 hex>/<64 hex>.cacnk layout. cadu_store_get_chunk() on it
 * still decompresses and verifies every chunk against its plaintext id.
 * Its ops->kind is the inner store's ("dir", "http", "chain"): it is as
 * local or remote as what it wraps.
 *
 * Functions return 0 or a negative errno and do not log: -EBADMSG for bytes
 * that are malformed or fail authentication, -EKEYREJECTED for data sealed
 * under another key, -ENOKEY where a key is needed and none was given.
 */
#ifndef CADU_CRYPT_H
#define CADU_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cadu-store.h"

#define CADU_CRYPT_KEY_SIZE 32
#define CADU_CRYPT_KEY_ID_SIZE 16
#define CADU_CRYPT_NAME_SIZE 32
#define CADU_CRYPT_NONCE_SIZE 12
#define CADU_CRYPT_TAG_SIZE 16
#define CADU_CRYPT_MAGIC_SIZE 8
/* Chunk file: magic, key id, nonce, ciphertext, tag. */
#define CADU_CRYPT_CHUNK_MAGIC "\xca\xd0" "CK\r\n\x1a\x01"
#define CADU_CRYPT_CHUNK_HEADER (CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE + CADU_CRYPT_NONCE_SIZE)
#define CADU_CRYPT_CHUNK_OVERHEAD (CADU_CRYPT_CHUNK_HEADER + CADU_CRYPT_TAG_SIZE)
/* Index file: magic, key id, LE64 name count, names, nonce, ciphertext, tag. */
#define CADU_CRYPT_INDEX_MAGIC "\xca\xd0" "IX\r\n\x1a\x01"
#define CADU_CRYPT_INDEX_FIXED (CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE + 8)
/* The longest key file accepted (64 hex digits and a line feed). */
#define CADU_CRYPT_KEY_FILE_MAX 65

typedef struct cadu_crypt_key {
        uint8_t id[CADU_CRYPT_KEY_ID_SIZE];
        uint8_t name[32], nonce[32], chunk[32], index[32];
        uint8_t stream[32];     /* files sealed with cadu_crypt_stream_* */
        uint8_t nonce_hash[32]; /* the one-time keys of a chunk's synthetic nonce */
} cadu_crypt_key;

/* Derive the key id and subkeys from the 32-byte store key. */
int cadu_crypt_key_derive(const uint8_t secret[CADU_CRYPT_KEY_SIZE], cadu_crypt_key *ret);

/* HKDF-SHA256 (RFC 5869) of n bytes into out: the one derivation behind
 * every subkey and per-file key. salt may be NULL (no salt). 0 or -errno. */
int cadu_crypt_hkdf(const uint8_t *secret, size_t secret_len, const uint8_t *salt, size_t salt_len, const void *info,
                    size_t info_len, uint8_t *out, size_t n);
/* Parse a key file's content: exactly 64 hex digits, optionally followed by
 * one line feed (what `openssl rand -hex 32` prints). 0 or -EINVAL. */
int cadu_crypt_key_parse(const uint8_t *data, size_t len, uint8_t secret[CADU_CRYPT_KEY_SIZE]);
/* Read, check and derive a key file. The file must be a regular file that
 * neither group nor others may read or write (-EPERM otherwise). *why (may
 * be NULL) receives a static description for -EPERM and -EINVAL. */
int cadu_crypt_key_load(const char *path, cadu_crypt_key *ret, const char **why);
/* The same checks, giving the 32-byte store key itself. */
int cadu_crypt_key_read(const char *path, uint8_t secret[CADU_CRYPT_KEY_SIZE], const char **why);
/* Wipe a key. */
void cadu_crypt_key_clear(cadu_crypt_key *k);
/* Lower-case hex of the key id (2 * CADU_CRYPT_KEY_ID_SIZE + 1 bytes). */
void cadu_crypt_key_id_hex(const uint8_t id[CADU_CRYPT_KEY_ID_SIZE], char *out);

/* The keyed file name of a plaintext chunk id. */
int cadu_crypt_chunk_name(const cadu_crypt_key *k, const uint8_t id[CADU_DIGEST_SIZE],
                          uint8_t name[CADU_CRYPT_NAME_SIZE]);
/* Seal raw chunk file bytes (compressed chunk) of plaintext id into *out
 * (replaced); name is its keyed name. */
int cadu_crypt_chunk_seal(const cadu_crypt_key *k, const uint8_t id[CADU_DIGEST_SIZE],
                          const uint8_t name[CADU_CRYPT_NAME_SIZE], const void *raw, size_t len, cadu_buf *out);
/* Open the sealed chunk file in buf (len bytes) stored under name, in
 * place: on success buf holds the raw chunk bytes and *ret_len their
 * length. -EBADMSG, or -EKEYREJECTED when sealed under another key id; on
 * failure the content of buf is undefined. */
int cadu_crypt_chunk_open(const cadu_crypt_key *k, const uint8_t name[CADU_CRYPT_NAME_SIZE], uint8_t *buf,
                          size_t len, size_t *ret_len);
/* Structure of a sealed chunk file without the key: 0 and its key id, or
 * -EBADMSG. */
int cadu_crypt_chunk_check(const void *file, size_t len, uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE]);

/* Wrap inner (ownership passes to the new store, also on failure) in an
 * encrypted store under k (copied). */
int cadu_store_crypt_new(cadu_store *inner, const cadu_crypt_key *k, cadu_store **ret);
/* When s is an encrypted store: 1, its inner store and the keyed name of
 * id. Else 0. */
int cadu_store_crypt_map(cadu_store *s, const uint8_t id[CADU_DIGEST_SIZE], cadu_store **inner,
                         uint8_t name[CADU_CRYPT_NAME_SIZE]);

/* The largest encrypted index of a plaintext index of plain_size bytes (at
 * most one name per chunk entry of 40 bytes). */
static inline uint64_t cadu_crypt_index_max_size(uint64_t plain_size) {
        return plain_size + CADU_CRYPT_INDEX_FIXED + CADU_CRYPT_NONCE_SIZE + CADU_CRYPT_TAG_SIZE +
               CADU_CRYPT_NAME_SIZE * (plain_size / 40);
}
/* True when data starts like an encrypted index. */
bool cadu_crypt_index_is(const void *data, size_t len);
/* Seal a plaintext index (the .caibx bytes) whose n chunk ids are at ids,
 * ids + stride, ... into *out (replaced); the keyed names are sorted and
 * deduplicated. */
int cadu_crypt_index_seal(const cadu_crypt_key *k, const void *plain, size_t len, const uint8_t *ids,
                          size_t stride, size_t n, cadu_buf *out);
/* The header without the key: key id and the names (pointing into data).
 * -EBADMSG when malformed. */
int cadu_crypt_index_header(const uint8_t *data, size_t len, uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE],
                            const uint8_t **names, size_t *n_names);
/* Open an encrypted index into *out (replaced): -ENOKEY when k is NULL,
 * -EKEYREJECTED for another key id, -EBADMSG when malformed or forged. */
int cadu_crypt_index_open(const cadu_crypt_key *k, const uint8_t *data, size_t len, cadu_buf *out);

/* ---- sealed streams: files of any size (rdiff deltas, full images) ----
 *
 * STREAM (Hoang, Reyhanitabar, Rogaway, Vizar 2015) over ChaCha20-Poly1305:
 * a 40-byte header (magic, key id, 16 random salt bytes), then the
 * plaintext in segments of CADU_CRYPT_STREAM_SEGMENT bytes (the last one
 * shorter, and empty only for an empty file), each followed by its tag.
 * The file key is HKDF-SHA256(the stream subkey, salt, "cadu v1 stream
 * file" 0x00 role); segment i is sealed with the nonce LE64(i) 00 00 00
 * last (last 1 for the final segment, else 0) and the header as
 * authenticated data. A role names what the file is ("rdiff:rootfs:<sha256
 * of the image it gives>"):
 * a file opened under another role, truncated at any point (also at a
 * segment boundary), extended, with segments reordered or bits flipped,
 * fails to open. Memory is bounded by one segment whatever the size.
 *
 * Both directions are push-based: cadu_crypt_stream_push() takes any
 * number of bytes and hands complete output (the header, then whole
 * sealed or opened segments) to out, which returns 0 or a negative errno
 * that aborts the call; cadu_crypt_stream_finish() handles the final
 * segment. When opening, out only ever sees authenticated plaintext. After
 * a failure every further call fails with the same error. */
#define CADU_CRYPT_STREAM_MAGIC "\xca\xd0" "SG\r\n\x1a\x01"
#define CADU_CRYPT_STREAM_SALT_SIZE 16
#define CADU_CRYPT_STREAM_HEADER (CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE + CADU_CRYPT_STREAM_SALT_SIZE)
#define CADU_CRYPT_STREAM_SEGMENT 65536
/* The longest role. */
#define CADU_CRYPT_STREAM_ROLE_MAX 255

typedef struct cadu_crypt_stream cadu_crypt_stream;
typedef int (*cadu_crypt_stream_out)(void *ud, const uint8_t *data, size_t len);

/* A sealing (seal true) or opening stream under k (copied) for role (1 to
 * CADU_CRYPT_STREAM_ROLE_MAX bytes, else -EINVAL). */
int cadu_crypt_stream_new(const cadu_crypt_key *k, const char *role, bool seal, cadu_crypt_stream **ret);
/* Feed len bytes (plaintext when sealing, the file when opening). Opening:
 * -EBADMSG for a malformed or forged file, -EKEYREJECTED for one sealed
 * under another key id. */
int cadu_crypt_stream_push(cadu_crypt_stream *s, const void *data, size_t len, cadu_crypt_stream_out out,
                           void *ud);
/* End of input: seal or open the final segment. Opening: -EBADMSG when the
 * file ends early (truncated) or was extended. */
int cadu_crypt_stream_finish(cadu_crypt_stream *s, cadu_crypt_stream_out out, void *ud);
/* NULL-safe; wipes the keys; returns NULL. */
cadu_crypt_stream *cadu_crypt_stream_free(cadu_crypt_stream *s);
/* The size of the sealed file of a plaintext of plain bytes. */
static inline uint64_t cadu_crypt_stream_size(uint64_t plain) {
        uint64_t segs = plain ? (plain + CADU_CRYPT_STREAM_SEGMENT - 1) / CADU_CRYPT_STREAM_SEGMENT : 1;
        return CADU_CRYPT_STREAM_HEADER + plain + segs * CADU_CRYPT_TAG_SIZE;
}
/* True when data starts like a sealed stream. */
bool cadu_crypt_stream_is(const void *data, size_t len);
/* Seal (seal true) or open the whole of in_fd into out_fd (written from
 * its current offset). Opening: out_fd receives only authenticated bytes,
 * but a failure may come after some were written. */
int cadu_crypt_stream_fd(const cadu_crypt_key *k, const char *role, bool seal, int in_fd, int out_fd);

/* ---- sealed files: delta files, pack indexes, pack catalogs, sketches ----
 *
 * magic[8] key_id[16] clear[clear_len] nonce[12] ciphertext tag[16], with
 * ChaCha20-Poly1305 under the chunk key; the authenticated data is
 * magic || key id || clear || bind, where bind ties the file to its name.
 * The nonce is synthetic: HMAC-SHA256(nonce key, magic || key id || clear ||
 * bind || SHA-256(plaintext)), first 12 bytes, so sealing is deterministic
 * per key. */
#define CADU_CRYPT_DELTA_MAGIC "\xca\xd0" "DL\r\n\x1a\x01"
#define CADU_CRYPT_PACKIDX_MAGIC "\xca\xd0" "PX\r\n\x1a\x01"
#define CADU_CRYPT_PACKCAT_MAGIC "\xca\xd0" "PC\r\n\x1a\x01"
#define CADU_CRYPT_SKETCH_MAGIC "\xca\xd0" "SK\r\n\x1a\x01"
#define CADU_CRYPT_SEALED_HEADER (CADU_CRYPT_MAGIC_SIZE + CADU_CRYPT_KEY_ID_SIZE)
#define CADU_CRYPT_SEALED_OVERHEAD (CADU_CRYPT_SEALED_HEADER + CADU_CRYPT_NONCE_SIZE + CADU_CRYPT_TAG_SIZE)
#define CADU_CRYPT_BIND_MAX 64
/* A delta file's bind: the target's keyed name and the base set's tag. */
#define CADU_CRYPT_DELTA_TAG_SIZE 8
#define CADU_CRYPT_DELTA_BIND (CADU_CRYPT_NAME_SIZE + CADU_CRYPT_DELTA_TAG_SIZE)

/* Seal plain (len bytes) into *out (replaced). clear (clear_len bytes) goes
 * in clear after the key id; bind (at most CADU_CRYPT_BIND_MAX bytes) is
 * authenticated but not stored. */
int cadu_crypt_seal(const cadu_crypt_key *k, const char *magic, const void *clear, size_t clear_len, const void *bind,
                    size_t bind_len, const void *plain, size_t len, cadu_buf *out);
/* Open a sealed file in place: on success the plaintext is buf[*ret_off,
 * *ret_off + *ret_len). -EBADMSG for another magic, a short file or a
 * failed tag; -EKEYREJECTED for another key id. */
int cadu_crypt_open(const cadu_crypt_key *k, const char *magic, size_t clear_len, const void *bind, size_t bind_len,
                    uint8_t *buf, size_t len, size_t *ret_off, size_t *ret_len);
/* Structure without the key: magic and length (at least the overhead and
 * clear_len). 0 and the key id, or -EBADMSG. */
int cadu_crypt_sealed_check(const char *magic, size_t clear_len, const void *file, size_t len,
                            uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE]);

/* The path of a delta file of target_id against base_ids[0..nbases) in an
 * encrypted store, "deltas/<4 hex T>/<64 hex T>-<16 hex B>.cadelta" where
 * T is the target's keyed name and B = HMAC-SHA256(name key, "cadu v1
 * delta bases" || base ids), first 8 bytes; bind receives T || B. out has
 * room for CADU_DELTA_PATH_MAX (cadu-delta.h) bytes. */
int cadu_crypt_delta_path(const cadu_crypt_key *k, const uint8_t target_id[CADU_DIGEST_SIZE],
                          const uint8_t (*base_ids)[CADU_DIGEST_SIZE], size_t nbases, char *out,
                          uint8_t bind[CADU_CRYPT_DELTA_BIND]);
/* A sealed delta file: clear = nbases:u32 LE and the keyed names of its
 * bases (32 bytes each, in the delta's order), so that gc keeps it only
 * with its bases, without the key; bind = T || B of its path. */
#define CADU_CRYPT_DELTA_MAX_BASES 8
int cadu_crypt_delta_seal(const cadu_crypt_key *k, const uint8_t target_id[CADU_DIGEST_SIZE],
                          const uint8_t (*base_ids)[CADU_DIGEST_SIZE], size_t nbases, const void *plain, size_t len,
                          char *path, cadu_buf *out);
/* The clear header of an untrusted sealed delta file: 0, the number of
 * bases (1..8) and their keyed names (pointing into data), or -EBADMSG. */
int cadu_crypt_delta_header(const uint8_t *data, size_t len, size_t *nbases, const uint8_t **names);
/* Open a sealed delta file stored under bind (T || B) in place. */
int cadu_crypt_delta_open(const cadu_crypt_key *k, const uint8_t bind[CADU_CRYPT_DELTA_BIND], uint8_t *buf, size_t len,
                          size_t *ret_off, size_t *ret_len);
/* Parse "<64 hex T>-<16 hex B>.cadelta" (a file name, no directory) into
 * bind. 0 or -EINVAL. */
int cadu_crypt_delta_name_parse(const char *name, uint8_t bind[CADU_CRYPT_DELTA_BIND]);

/* An encrypted pack index: clear = npacks:u64 (pack_sha[32] size:u64){npacks}
 * ndeltas:u64 (T[32] B[8]){ndeltas}, all little-endian, so that mirror and
 * gc know without the key which packs and delta files a release uses; bind
 * = the sha256 of the encrypted index file (its name). */
#define CADU_CRYPT_PACKIDX_PACK 40
/* The largest sealed pack index read without knowing its index (mirror). */
#define CADU_CRYPT_PACKIDX_MAX ((size_t)64 << 20)
typedef struct cadu_crypt_packidx_header {
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE];
        size_t npacks, ndeltas;
        const uint8_t *packs;           /* npacks x (sha[32], le64 size) */
        const uint8_t *deltas;          /* ndeltas x (T[32], B[8]) */
        size_t clear_len;
} cadu_crypt_packidx_header;
/* Parse the header of an untrusted encrypted pack index, bounded by len.
 * 0 or -EBADMSG. */
int cadu_crypt_packidx_header_parse(const uint8_t *data, size_t len, cadu_crypt_packidx_header *h);
/* Seal the plain pack index plain with its clear header into *out. */
int cadu_crypt_packidx_seal(const cadu_crypt_key *k, const uint8_t index_sha[CADU_DIGEST_SIZE],
                            const uint8_t *packs, size_t npacks, const uint8_t *deltas, size_t ndeltas,
                            const void *plain, size_t len, cadu_buf *out);
/* Open an encrypted pack index in place (plaintext at buf + *ret_off). */
int cadu_crypt_packidx_open(const cadu_crypt_key *k, const uint8_t index_sha[CADU_DIGEST_SIZE], uint8_t *buf,
                            size_t len, size_t *ret_off, size_t *ret_len);

/* The key of an encrypted store and the store it wraps, or NULL / s. */
const cadu_crypt_key *cadu_store_crypt_key(cadu_store *s);
cadu_store *cadu_store_crypt_inner(cadu_store *s);

#endif
