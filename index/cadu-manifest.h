/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-manifest.h - the signed release manifest (doc/manifest-format.md)
 * and its chain of trust.
 *
 * A manifest is a small INI-like text file:
 *
 *   [update]                       first section, exactly once
 *   format = 1                     first key of [update]
 *   compatible = acme,board-v2     must equal the device's string
 *   version = 1.4.0-rc.1           ordered (cadu_manifest_version_compare)
 *   expires = 2027-01-01T00:00:00Z optional, UTC
 *   description = ...              optional, UTF-8
 *   key-envelope = update.keys     optional, with key-envelope-size and
 *   key-envelope-sha256 = <64 hex> -sha256: the wrapped store key (CMS)
 *
 *   [image rootfs]                 one per image, at least one
 *   class = rootfs                 slot class the image is written to
 *   size = 268435456               image size in bytes (1 .. 2^50)
 *   sha256 = <64 hex>              of the whole image
 *   index = rootfs.caibx           file beside the manifest
 *   index-size = 1704
 *   index-sha256 = <64 hex>
 *   store = store                  optional: relative directory or http(s) URL
 *   delta = rootfs.rdiff           optional rdiff delta, all four keys or none
 *   delta-size = 123
 *   delta-sha256 = <64 hex>
 *   delta-source-sha256 = <64 hex> sha256 of the image the delta applies to
 *   full = rootfs.img.zst          optional zstd-compressed image, all three keys or none
 *   full-size = 123
 *   full-sha256 = <64 hex>         of the file as published
 *   store-key = <32 hex>           optional: id of the key the index and store
 *                                  are encrypted with (doc/encryption.md)
 *
 * The signature is a detached CMS SignedData (DER) over the manifest bytes,
 * the same as `openssl cms -sign -binary -outform DER -nosmimecap`.
 *
 * Trust flows: signature -> manifest -> index sha256 -> chunk ids -> image
 * sha256. Verify the signature (cadu_manifest_verify) before parsing the
 * manifest; cadu_manifest_parse_verified() does both in that order.
 *
 * Functions return 0 or a negative errno and never log. Where a function
 * takes char **ret_error, it stores a malloc'ed one-line explanation there
 * on failure (free() it); ret_error may be NULL. Error codes:
 *   -EBADMSG  malformed manifest, bad signature, untrusted signer, digest
 *             or size mismatch: anything that failed verification;
 *   -EPERM    refused by policy: compatible, version (rollback), expires;
 *   -EINVAL   bad argument (an invalid value given to the writer, no trust
 *             anchors, an unreadable key or certificate);
 *   -ENOMEM, or the -errno of a failed file access.
 */
#ifndef CADU_MANIFEST_H
#define CADU_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-util.h"

#define CADU_MANIFEST_FORMAT 1
/* Largest manifest and signature accepted, in bytes. */
#define CADU_MANIFEST_MAX_SIZE (1024 * 1024)
#define CADU_MANIFEST_MAX_SIGNATURE_SIZE (1024 * 1024)
/* Largest image (and delta) size a manifest may name: 1 PiB. */
#define CADU_MANIFEST_MAX_IMAGE_SIZE (UINT64_C(1) << 50)
#define CADU_MANIFEST_MAX_IMAGES 64
/* The id of a store key (doc/encryption.md), 32 hex digits in a manifest. */
#define CADU_MANIFEST_KEY_ID_SIZE 16

/* Every string is malloc'ed and owned by the manifest. Optional strings are
 * NULL when absent; when delta is NULL the other delta fields are zero. */
typedef struct cadu_manifest_image {
        char *name;             /* [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 */
        char *slot_class;       /* same syntax */
        uint64_t size;
        uint8_t sha256[CADU_DIGEST_SIZE];
        char *index;            /* relative path, no ".." */
        uint64_t index_size;
        uint8_t index_sha256[CADU_DIGEST_SIZE];
        char *store;            /* relative path or http(s) URL, or NULL */
        char *delta;            /* relative path, or NULL */
        uint64_t delta_size;
        uint8_t delta_sha256[CADU_DIGEST_SIZE];
        uint8_t delta_source_sha256[CADU_DIGEST_SIZE];
        /* A zstd-compressed full image (cadu-fullimage.h), or NULL; size and
         * sha256 of the file as published (sealed when encrypted). */
        char *full;
        uint64_t full_size;
        uint8_t full_sha256[CADU_DIGEST_SIZE];
        /* store-key: the index and the store are encrypted under the store
         * key with this id (doc/encryption.md); index-size and index-sha256
         * pin the plaintext index. */
        bool encrypted;
        uint8_t store_key[CADU_MANIFEST_KEY_ID_SIZE];
} cadu_manifest_image;

typedef struct cadu_manifest {
        unsigned format;
        char *compatible;
        char *version;
        bool has_expires;
        int64_t expires;        /* seconds since the epoch, UTC */
        char *description;      /* or NULL */
        /* key-envelope: the store key wrapped for the devices' certificates
         * (doc/encryption.md); NULL when absent, then size and sha256 are 0. */
        char *key_envelope;
        uint64_t key_envelope_size;
        uint8_t key_envelope_sha256[CADU_DIGEST_SIZE];
        size_t n_images;
        cadu_manifest_image *images;
} cadu_manifest;

/* A new, empty manifest of the current format (fill in compatible and
 * version, add images). NULL on allocation failure. */
cadu_manifest *cadu_manifest_new(void);
/* NULL-safe; returns NULL. */
cadu_manifest *cadu_manifest_free(cadu_manifest *m);

/* Parse manifest text strictly: unknown sections or keys, duplicates,
 * missing keys and invalid values are errors (-EBADMSG), and the message
 * names the line ("line 7: unknown key 'foo' in [image rootfs]"). Does not
 * check any signature: see cadu_manifest_parse_verified(). */
int cadu_manifest_parse(const void *buf, size_t len, cadu_manifest **ret, char **ret_error);

/* Serialise in canonical form (the parser reads it back to an equal
 * manifest). Every field is validated first: -EINVAL names the bad one. */
int cadu_manifest_format(const cadu_manifest *m, char **ret, size_t *ret_len, char **ret_error);

/* Deep-copy *img into m after validating it (-EINVAL; a duplicate image
 * name is -EEXIST). */
int cadu_manifest_add_image(cadu_manifest *m, const cadu_manifest_image *img, char **ret_error);
/* The image called name, or NULL. */
const cadu_manifest_image *cadu_manifest_find_image(const cadu_manifest *m, const char *name);
/* The image for slot class slot_class, or NULL (a manifest has at most one:
 * the parser refuses a second image of a class, -EBADMSG, and
 * cadu_manifest_add_image() -EEXIST). */
const cadu_manifest_image *cadu_manifest_find_class(const cadu_manifest *m, const char *slot_class);

/* ---- values ---- */

/* Version ordering (doc/manifest-format.md): dotted numeric release of 1 to
 * 8 components compared numerically, missing components count as 0; an
 * optional "-pre.release" sorts before the release and is compared like
 * SemVer 2.0 pre-release identifiers; "+build" metadata is ignored. */
bool cadu_manifest_version_valid(const char *v);
/* *ret < 0, 0, > 0 as a is older than, equal to, newer than b. -EINVAL when
 * either is not a valid version. */
int cadu_manifest_version_compare(const char *a, const char *b, int *ret);

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC, years 1970-9999) <-> seconds since epoch. */
int cadu_manifest_parse_time(const char *s, int64_t *ret);
#define CADU_MANIFEST_TIME_MAX 21
int cadu_manifest_format_time(int64_t t, char buf[CADU_MANIFEST_TIME_MAX]);

/* A relative file name a manifest may carry: 1..1024 bytes of
 * [A-Za-z0-9._/-], no leading "/", no empty, "." or ".." component. */
bool cadu_manifest_path_valid(const char *p);
/* An http:// or https:// URL without spaces or control characters. */
bool cadu_manifest_is_url(const char *s);

/* ---- device-side policy ---- */

/* Check m against the device: compatible (when non-NULL) must be equal;
 * version must be newer than installed_version (when non-NULL) unless
 * allow_downgrade; the manifest must not have expired at time now (an
 * expires time is the first second at which it is no longer valid).
 * -EPERM with the reason, or -EINVAL for an invalid installed version. */
int cadu_manifest_check_policy(const cadu_manifest *m, const char *compatible,
                               const char *installed_version, bool allow_downgrade,
                               int64_t now, char **ret_error);

/* Check that m has exactly one image for each of the n slot classes of the
 * device and none for a class the device lacks (doc/manifest-format.md,
 * "Slot classes"): the A/B switch is for the whole device, so a class a
 * release does not name would boot from whatever its target slot holds.
 * -EPERM with the reason. */
int cadu_manifest_check_classes(const cadu_manifest *m, const char *const *classes, size_t n,
                                char **ret_error);

/* ---- pinned files ---- */

/* Check that data (or the file at path) has exactly the pinned size and
 * sha256: -EBADMSG on mismatch. The file is not read when its size
 * already differs. */
int cadu_manifest_check_data(const void *data, size_t n, uint64_t size,
                             const uint8_t sha256[CADU_DIGEST_SIZE], char **ret_error);
int cadu_manifest_check_file(const char *path, uint64_t size,
                             const uint8_t sha256[CADU_DIGEST_SIZE], char **ret_error);

/* Check an index against the image's pins (size and sha256), parse it and
 * check that it describes exactly the image's size. On success *ret (when
 * non-NULL) receives the parsed index. A swapped, modified or mismatched
 * index is -EBADMSG. */
int cadu_manifest_check_index_data(const cadu_manifest_image *img, const void *data, size_t n,
                                   cadu_index **ret, char **ret_error);
int cadu_manifest_check_index_file(const cadu_manifest_image *img, const char *path,
                                   cadu_index **ret, char **ret_error);

/* Resolve a name from the manifest (index, delta, store) against the
 * location of the manifest itself (a path or URL): its directory is the
 * base. A URL name is returned unchanged. */
int cadu_manifest_resolve(const char *manifest_location, const char *name, char **ret);

/* For writers (cadu manifest, cadu make): fill *img from files. index and
 * store (a directory; or a URL, kept as is; or NULL) must lie inside the
 * directory of manifest_path and are recorded relative to it; image and
 * index are hashed and the index must describe exactly the image's size.
 * Strings in *img are malloc'ed (release with cadu_manifest_image_clear). */
int cadu_manifest_image_from_files(cadu_manifest_image *img, const char *manifest_path,
                                   const char *name, const char *slot_class,
                                   const char *image_path, const char *index_path,
                                   const char *store, char **ret_error);
/* The same with the index's content given (index_path is what the manifest
 * names): an encrypted index is pinned by its plaintext. */
int cadu_manifest_image_from_data(cadu_manifest_image *img, const char *manifest_path,
                                  const char *name, const char *slot_class,
                                  const char *image_path, const char *index_path,
                                  const uint8_t *index_data, size_t index_len,
                                  const char *store, char **ret_error);
/* Add an rdiff delta (inside the manifest's directory) that turns the image
 * source_image_path into img's image. */
int cadu_manifest_image_set_delta(cadu_manifest_image *img, const char *manifest_path,
                                  const char *delta_path, const char *source_image_path,
                                  char **ret_error);
/* Pin a file inside the manifest's directory that the caller wrote as img's
 * full image (its sha256 and size are taken from the file). */
int cadu_manifest_image_set_full(cadu_manifest_image *img, const char *manifest_path, const char *full_path,
                                 char **ret_error);
void cadu_manifest_image_clear(cadu_manifest_image *img);

/* ---- signatures ---- */

/* Sign data with the PEM private key and certificate; chain_path (PEM, may
 * be NULL) adds intermediate certificates to the signature. Refuses a key
 * that does not match the certificate and a certificate that is not valid
 * now. *ret_sig is a malloc'ed DER CMS SignedData, detached, binary, no
 * S/MIME capabilities. */
int cadu_manifest_sign(const void *data, size_t len, const char *key_path,
                       const char *cert_path, const char *chain_path,
                       uint8_t **ret_sig, size_t *ret_sig_len, char **ret_error);

/* What the device trusts. */
typedef struct cadu_trust {
        const char *const *ca_paths;    /* PEM files of trust anchors, or hashed
                                         * certificate directories (c_rehash) */
        size_t n_ca_paths;
        const char *signer_name;        /* required subject CN or SAN (DNS, email,
                                         * URI), compared exactly; NULL = any */
        bool require_codesign;          /* signer must carry EKU codeSigning */
        int64_t at;                     /* validity time; 0 = now */
} cadu_trust;
#define CADU_TRUST_INIT { .ca_paths = NULL }

/* Verify a detached DER CMS signature over data: exactly one signer, a
 * digest of SHA-256 or stronger, the signer certificate chained to a trust
 * anchor (intermediates from the signature), every certificate valid at
 * trust->at, keyUsage (if present) allowing signatures, and the optional
 * name and codeSigning requirements. *ret_signer (optional) receives the
 * signer's common name (or subject). -EBADMSG when not verified. */
int cadu_manifest_verify(const void *data, size_t len, const uint8_t *sig, size_t sig_len,
                         const cadu_trust *trust, char **ret_signer, char **ret_error);

/* Verify, then parse: the manifest is never parsed before its signature
 * has been checked. */
int cadu_manifest_parse_verified(const void *data, size_t len, const uint8_t *sig, size_t sig_len,
                                 const cadu_trust *trust, cadu_manifest **ret,
                                 char **ret_signer, char **ret_error);

#endif
