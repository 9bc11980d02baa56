/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-envelope.h - a store key wrapped for each recipient certificate in a
 * CMS EnvelopedData (DER), as `openssl cms -encrypt -binary -outform DER
 * -aes256 -recip CERT -keyopt rsa_padding_mode:oaep` writes it and
 * `openssl cms -decrypt` reads it (doc/encryption.md, "Key envelopes").
 *
 * Accepted: key transport RSA-OAEP and key agreement ECDH (the
 * dhSinglePass stdDH/cofactorDH schemes), content encryption AES-128/192/256
 * in CBC mode. Anything else (RSA PKCS #1 v1.5, 3DES, RC2, password or KEK
 * recipients) is refused before any decryption.
 *
 * Functions return 0 or a negative errno and do not log; *ret_error (may be
 * NULL) receives a malloc'ed one-line explanation on failure:
 *   -EBADMSG          not a well-formed EnvelopedData, or decryption failed;
 *   -EPROTONOSUPPORT  an algorithm outside the list above;
 *   -ENOKEY           no recipient for the given certificate;
 *   -EINVAL           unusable certificate or key file.
 */
#ifndef CADU_ENVELOPE_H
#define CADU_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

/* Largest envelope accepted (about 2,000 RSA-4096 recipients). */
#define CADU_ENVELOPE_MAX_SIZE (1024 * 1024)

/* Wrap len bytes for the certificates in the PEM files cert_paths[0..n):
 * RSA keys get RSA-OAEP with SHA-256, EC keys ECDH; content AES-256-CBC. */
int cadu_envelope_wrap(const void *data, size_t len, const char *const *cert_paths, size_t n, uint8_t **ret,
                       size_t *ret_len, char **ret_error);

/* Check the algorithms of an envelope without decrypting it. */
int cadu_envelope_check(const uint8_t *der, size_t len, char **ret_error);

/* Unwrap with the recipient's certificate and private key (PEM files) into
 * a malloc'ed buffer of at most max bytes (-EBADMSG beyond). */
int cadu_envelope_unwrap(const uint8_t *der, size_t len, const char *cert_path, const char *key_path, size_t max,
                         uint8_t **ret, size_t *ret_len, char **ret_error);

#endif
