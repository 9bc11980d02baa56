/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Store keys wrapped for recipient certificates: CMS EnvelopedData through
 * OpenSSL, with an allow-list of algorithms checked before decryption. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cadu-envelope.h"
#include "cadu-util.h"

static int fail(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error && !*ret_error) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        ERR_clear_error();
        return r;
}

static const char *ossl_reason(void) {
        const char *s = ERR_reason_error_string(ERR_peek_last_error());
        return s ? s : "unknown OpenSSL error";
}

static const char *nid_name(int nid, const ASN1_OBJECT *o, char *buf, size_t n) {
        if (nid != NID_undef)
                return OBJ_nid2ln(nid);
        if (!o || OBJ_obj2txt(buf, (int)n, o, 1) <= 0)
                snprintf(buf, n, "unknown");
        return buf;
}

static X509 *load_cert(const char *path, char **ret_error) {
        BIO *b = BIO_new_file(path, "r");
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!x)
                fail(ret_error, -EINVAL, "%s: not a readable PEM certificate (%s)", path, ossl_reason());
        return x;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u) {
        return -1;
}

/* ---- the content encryption algorithm, read from the DER ---- */

/* The next DER element in [*p, end): definite lengths only. *start is where
 * its header begins, *p moves to its contents. */
static int element(const unsigned char **p, const unsigned char *end, int want_tag, int want_class,
                   const unsigned char **start, long *len) {
        int tag, cls;
        *start = *p;
        if (*p >= end)
                return -EBADMSG;
        int f = ASN1_get_object(p, len, &tag, &cls, end - *p);
        if ((f & 0x80) || f == 0x21 || tag != want_tag || cls != want_class || *len > end - *p)
                return -EBADMSG;
        return 0;
}

/* ContentInfo { contentType, [0] EnvelopedData { version, [0] originatorInfo
 * OPTIONAL, recipientInfos SET, encryptedContentInfo { contentType,
 * contentEncryptionAlgorithm { algorithm, ... } ... } ... } } */
static int content_alg(const uint8_t *der, size_t size, int *nid) {
        const unsigned char *p = der, *end = der + size, *s;
        long l;
        if (element(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        end = p + l;
        if (element(&p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        p += l;
        if (element(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &s, &l) < 0 ||
            element(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        end = p + l;
        if (element(&p, end, V_ASN1_INTEGER, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        p += l;
        if (element(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &s, &l) == 0)
                p += l;         /* originatorInfo */
        else
                p = s;
        if (element(&p, end, V_ASN1_SET, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        p += l;
        if (element(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        end = p + l;
        if (element(&p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        p += l;
        if (element(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        end = p + l;
        if (element(&p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &s, &l) < 0)
                return -EBADMSG;
        const unsigned char *q = s;
        ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &q, p + l - s);
        if (!o)
                return -EBADMSG;
        *nid = OBJ_obj2nid(o);
        ASN1_OBJECT_free(o);
        return 0;
}

/* ---- checking ---- */

static bool kari_allowed(int nid) {
        return nid >= NID_dhSinglePass_stdDH_sha1kdf_scheme && nid <= NID_dhSinglePass_cofactorDH_sha512kdf_scheme;
}

/* Parse der (exactly, nothing after it) and check every algorithm. */
static int parse_checked(const uint8_t *der, size_t len, CMS_ContentInfo **ret, char **ret_error) {
        char buf[80];
        int nid;
        if (len > CADU_ENVELOPE_MAX_SIZE)
                return fail(ret_error, -EBADMSG, "larger than %d bytes", CADU_ENVELOPE_MAX_SIZE);
        if (content_alg(der, len, &nid) < 0)
                return fail(ret_error, -EBADMSG, "not a CMS EnvelopedData");
        if (nid != NID_aes_128_cbc && nid != NID_aes_192_cbc && nid != NID_aes_256_cbc)
                return fail(ret_error, -EPROTONOSUPPORT, "unsupported content encryption algorithm %s (want AES-CBC)",
                            nid_name(nid, NULL, buf, sizeof(buf)));
        const unsigned char *p = der;
        CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
        if (!cms || p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
                CMS_ContentInfo_free(cms);
                return fail(ret_error, -EBADMSG, "not a CMS EnvelopedData");
        }
        STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
        int r = sk_CMS_RecipientInfo_num(ris) > 0 ? 0 : fail(ret_error, -EBADMSG, "no recipients");
        for (int i = 0; r == 0 && i < sk_CMS_RecipientInfo_num(ris); i++) {
                CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
                X509_ALGOR *alg = NULL;
                ASN1_OCTET_STRING *ukm;
                const ASN1_OBJECT *o = NULL;
                switch (CMS_RecipientInfo_type(ri)) {
                case CMS_RECIPINFO_TRANS:
                        if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1 || !alg)
                                r = fail(ret_error, -EBADMSG, "recipient %d: no algorithm", i + 1);
                        else {
                                X509_ALGOR_get0(&o, NULL, NULL, alg);
                                if ((nid = OBJ_obj2nid(o)) != NID_rsaesOaep)
                                        r = fail(ret_error, -EPROTONOSUPPORT,
                                                 "recipient %d: unsupported key transport %s (want RSA-OAEP)", i + 1,
                                                 nid_name(nid, o, buf, sizeof(buf)));
                        }
                        break;
                case CMS_RECIPINFO_AGREE:
                        if (CMS_RecipientInfo_kari_get0_alg(ri, &alg, &ukm) != 1 || !alg)
                                r = fail(ret_error, -EBADMSG, "recipient %d: no algorithm", i + 1);
                        else {
                                X509_ALGOR_get0(&o, NULL, NULL, alg);
                                if (!kari_allowed(nid = OBJ_obj2nid(o)))
                                        r = fail(ret_error, -EPROTONOSUPPORT,
                                                 "recipient %d: unsupported key agreement %s (want ECDH)", i + 1,
                                                 nid_name(nid, o, buf, sizeof(buf)));
                        }
                        break;
                default:
                        r = fail(ret_error, -EPROTONOSUPPORT,
                                 "recipient %d: unsupported recipient type (want RSA-OAEP or ECDH)", i + 1);
                }
        }
        if (r < 0) {
                CMS_ContentInfo_free(cms);
                return r;
        }
        *ret = cms;
        return 0;
}

int cadu_envelope_check(const uint8_t *der, size_t len, char **ret_error) {
        CMS_ContentInfo *cms = NULL;
        if (ret_error)
                *ret_error = NULL;
        int r = parse_checked(der, len, &cms, ret_error);
        CMS_ContentInfo_free(cms);
        return r;
}

/* ---- wrapping and unwrapping ---- */

int cadu_envelope_wrap(const void *data, size_t len, const char *const *cert_paths, size_t n, uint8_t **ret,
                       size_t *ret_len, char **ret_error) {
        const unsigned flags = CMS_BINARY | CMS_PARTIAL;
        unsigned char *der = NULL;
        int r = 0;
        if (ret_error)
                *ret_error = NULL;
        if (n == 0 || len > INT_MAX)
                return -EINVAL;
        CMS_ContentInfo *cms = CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), flags);
        BIO *in = BIO_new_mem_buf(data, (int)len);
        if (!cms || !in) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                X509 *x = load_cert(cert_paths[i], ret_error);
                if (!x) {
                        r = -EINVAL;
                        break;
                }
                EVP_PKEY *pk = X509_get0_pubkey(x);
                bool rsa = pk && EVP_PKEY_is_a(pk, "RSA"), ec = pk && EVP_PKEY_is_a(pk, "EC");
                CMS_RecipientInfo *ri = rsa || ec ? CMS_add1_recipient_cert(cms, x, flags | CMS_KEY_PARAM) : NULL;
                EVP_PKEY_CTX *pctx = ri ? CMS_RecipientInfo_get0_pkey_ctx(ri) : NULL;
                if (!rsa && !ec)
                        r = fail(ret_error, -EINVAL, "%s: neither an RSA nor an EC key", cert_paths[i]);
                else if (!pctx)
                        r = fail(ret_error, -EINVAL, "%s: cannot add recipient (%s)", cert_paths[i], ossl_reason());
                else if (rsa && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
                                 EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
                                 EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0))
                        r = fail(ret_error, -EINVAL, "%s: RSA-OAEP (%s)", cert_paths[i], ossl_reason());
                X509_free(x);
        }
        if (r == 0 && CMS_final(cms, in, NULL, flags) != 1)
                r = fail(ret_error, -EIO, "wrapping the key: %s", ossl_reason());
        int k = r == 0 ? i2d_CMS_ContentInfo(cms, &der) : 0;
        if (r == 0 && k <= 0)
                r = -ENOMEM;
        if (r == 0) {
                *ret = malloc((size_t)k);
                if (!*ret)
                        r = -ENOMEM;
                else {
                        memcpy(*ret, der, (size_t)k);
                        *ret_len = (size_t)k;
                }
        }
out:
        OPENSSL_free(der);
        BIO_free(in);
        CMS_ContentInfo_free(cms);
        return r;
}

/* Is there a recipient info for the certificate x? */
static bool has_recipient(CMS_ContentInfo *cms, X509 *x) {
        STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
        for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
                CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
                if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(ri, x) == 0)
                        return true;
                if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_AGREE)
                        continue;
                STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
                for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks); j++)
                        if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j), x) == 0)
                                return true;
        }
        return false;
}

int cadu_envelope_unwrap(const uint8_t *der, size_t len, const char *cert_path, const char *key_path, size_t max,
                         uint8_t **ret, size_t *ret_len, char **ret_error) {
        CMS_ContentInfo *cms = NULL;
        EVP_PKEY *pk = NULL;
        X509 *x = NULL;
        BIO *out = NULL, *kb = NULL;
        if (ret_error)
                *ret_error = NULL;
        int r = parse_checked(der, len, &cms, ret_error);
        if (r < 0)
                return r;
        if (!(x = load_cert(cert_path, ret_error))) {
                r = -EINVAL;
                goto done;
        }
        kb = BIO_new_file(key_path, "r");
        pk = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
        if (!pk) {
                r = fail(ret_error, -EINVAL, "%s: not a readable PEM private key without passphrase", key_path);
                goto done;
        }
        out = BIO_new(BIO_s_mem());
        if (!out) {
                r = -ENOMEM;
                goto done;
        }
        if (!has_recipient(cms, x)) {
                r = fail(ret_error, -ENOKEY, "no recipient for the certificate %s", cert_path);
                goto done;
        }
        /* With the certificate given, OpenSSL decrypts only the recipient
         * info made for it (no trial decryption). */
        if (CMS_decrypt(cms, pk, x, NULL, out, CMS_BINARY) != 1) {
                r = fail(ret_error, -EBADMSG, "cannot decrypt with %s: %s", key_path, ossl_reason());
                goto done;
        }
        char *p;
        long n = BIO_get_mem_data(out, &p);
        if (n < 0 || (size_t)n > max) {
                r = fail(ret_error, -EBADMSG, "the wrapped key is larger than %zu bytes", max);
                goto done;
        }
        *ret = malloc((size_t)n + 1);
        if (!*ret) {
                r = -ENOMEM;
                goto done;
        }
        memcpy(*ret, p, (size_t)n);
        (*ret)[n] = 0;
        *ret_len = (size_t)n;
        OPENSSL_cleanse(p, (size_t)n);
done:
        BIO_free(out);
        BIO_free(kb);
        EVP_PKEY_free(pk);
        X509_free(x);
        CMS_ContentInfo_free(cms);
        return r;
}
