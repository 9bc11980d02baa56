/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manifest signatures: detached CMS SignedData in DER (RFC 5652) through
 * OpenSSL 3, interoperable with `openssl cms -sign/-verify -binary`.
 *
 * Verification does in separate steps what CMS_verify() would do at once,
 * so that each failure has its own message: parse the DER strictly, find
 * the one signer and its certificate in the signature, build its chain to
 * the trust anchors (intermediates from the signature), check the signer's
 * key usage, extended key usage and name, and finally check the signature
 * over the manifest bytes. The OpenSSL error queue is always left empty.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cadu-manifest.h"

#define PEM_MAX_SIZE (1024 * 1024)

static int fail(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error && !*ret_error) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* The reason of the most recent OpenSSL error, for messages. */
static const char *ossl_reason(char *buf, size_t n) {
        unsigned long e = ERR_peek_last_error();
        const char *s = e ? ERR_reason_error_string(e) : NULL;
        if (s)
                snprintf(buf, n, "%s", s);
        else if (e)
                ERR_error_string_n(e, buf, n);
        else
                snprintf(buf, n, "unknown OpenSSL error");
        return buf;
}

/* RFC 2253 subject of x (malloc'ed), never NULL unless out of memory. */
static char *subject_of(X509 *x) {
        BIO *b = BIO_new(BIO_s_mem());
        char *s = NULL, *p;
        if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
                long n = BIO_get_mem_data(b, &p);
                s = n > 0 ? strndup(p, (size_t)CADU_MIN(n, 512)) : strdup("(empty subject)");
        }
        BIO_free(b);
        return s;
}

/* First common name of x as UTF-8 (malloc'ed), or NULL. */
static char *common_name_of(X509 *x) {
        X509_NAME *name = X509_get_subject_name(x);
        int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
        unsigned char *u = NULL;
        char *s = NULL;
        if (i < 0)
                return NULL;
        int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        if (n > 0 && !memchr(u, 0, (size_t)n))
                s = strndup((char *)u, (size_t)n);
        OPENSSL_free(u);
        return s;
}

static bool bytes_equal(const unsigned char *a, int an, const char *b) {
        return an >= 0 && (size_t)an == strlen(b) && !memcmp(a, b, (size_t)an);
}

/* Does name equal a common name or a DNS, email or URI subject alternative
 * name of x (exactly, byte for byte)? */
static bool has_name(X509 *x, const char *want) {
        X509_NAME *name = X509_get_subject_name(x);
        bool found = false;
        for (int i = -1; !found && (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;) {
                unsigned char *u = NULL;
                int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
                found = n >= 0 && bytes_equal(u, n, want);
                OPENSSL_free(u);
        }
        GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        for (int i = 0; !found && i < sk_GENERAL_NAME_num(gens); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
                const ASN1_IA5STRING *s = g->type == GEN_DNS ? g->d.dNSName :
                                          g->type == GEN_EMAIL ? g->d.rfc822Name :
                                          g->type == GEN_URI ? g->d.uniformResourceIdentifier : NULL;
                if (s)
                        found = bytes_equal(ASN1_STRING_get0_data(s), ASN1_STRING_length(s), want);
        }
        GENERAL_NAMES_free(gens);
        return found;
}

static int read_pem(const char *path, BIO **ret, char **ret_error) {
        uint8_t *buf = NULL;
        size_t n;
        int r = cadu_read_file(path, PEM_MAX_SIZE, &buf, &n);
        if (r < 0)
                return fail(ret_error, r, "%s: %s", path, cadu_errstr(r));
        BIO *b = BIO_new(BIO_s_mem());
        if (!b || BIO_write(b, buf, (int)n) != (int)n) {
                BIO_free(b);
                free(buf);
                return -ENOMEM;
        }
        free(buf);
        *ret = b;
        return 0;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u) {
        *(bool *)u = true;
        return -1;
}

static int load_key(const char *path, EVP_PKEY **ret, char **ret_error) {
        BIO *b = NULL;
        bool asked = false;
        char why[256];
        int r = read_pem(path, &b, ret_error);
        if (r < 0)
                return r;
        *ret = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, &asked);
        BIO_free(b);
        if (!*ret && asked)
                return fail(ret_error, -EINVAL, "%s: the key is passphrase-protected (not supported)", path);
        if (!*ret)
                return fail(ret_error, -EINVAL, "%s: not a PEM private key (%s)", path,
                            ossl_reason(why, sizeof(why)));
        return 0;
}

/* All PEM certificates of a file, at least one. */
static int load_certs(const char *path, STACK_OF(X509) **ret, char **ret_error) {
        BIO *b = NULL;
        char why[256];
        int r = read_pem(path, &b, ret_error);
        if (r < 0)
                return r;
        STACK_OF(X509) *certs = sk_X509_new_null();
        X509 *x;
        while (certs && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
                if (!sk_X509_push(certs, x)) {
                        X509_free(x);
                        break;
                }
        BIO_free(b);
        if (sk_X509_num(certs) <= 0) {
                sk_X509_pop_free(certs, X509_free);
                return fail(ret_error, -EINVAL, "%s: no PEM certificate (%s)", path, ossl_reason(why, sizeof(why)));
        }
        ERR_clear_error();      /* the end of the file is an error for PEM_read */
        *ret = certs;
        return 0;
}

/* The default purpose check (as RAUC's): a certificate without an extended
 * key usage may sign, one with an extended key usage only when it names
 * codeSigning or anyExtendedKeyUsage. A TLS server certificate from the same
 * CA cannot sign releases. */
static bool eku_allows_signing(X509 *c) {
        if (!(X509_get_extension_flags(c) & EXFLAG_XKUSAGE))
                return true;
        return (X509_get_extended_key_usage(c) & (XKU_CODE_SIGN | XKU_ANYEKU)) != 0;
}

int cadu_manifest_sign(const void *data, size_t len, const char *key_path,
                       const char *cert_path, const char *chain_path,
                       uint8_t **ret_sig, size_t *ret_sig_len, char **ret_error) {
        EVP_PKEY *key = NULL;
        STACK_OF(X509) *certs = NULL, *chain = NULL;
        CMS_ContentInfo *cms = NULL;
        BIO *in = NULL;
        unsigned char *der = NULL;
        char why[256];
        int r;

        if (ret_error)
                *ret_error = NULL;
        if ((!data && len) || len > INT_MAX || !key_path || !cert_path || !ret_sig || !ret_sig_len)
                return -EINVAL;
        ERR_clear_error();

        r = load_key(key_path, &key, ret_error);
        if (r >= 0)
                r = load_certs(cert_path, &certs, ret_error);
        if (r >= 0 && chain_path)
                r = load_certs(chain_path, &chain, ret_error);
        if (r < 0)
                goto finish;

        /* The first certificate signs; any further ones join the chain. */
        X509 *cert = sk_X509_value(certs, 0);
        if (!chain)
                chain = sk_X509_new_null();
        for (int i = 1; chain && i < sk_X509_num(certs); i++)
                if (X509_add_cert(chain, sk_X509_value(certs, i), X509_ADD_FLAG_UP_REF) != 1) {
                        r = -ENOMEM;
                        goto finish;
                }
        if (!chain) {
                r = -ENOMEM;
                goto finish;
        }
        if (X509_check_private_key(cert, key) != 1) {
                r = fail(ret_error, -EINVAL, "key %s does not match certificate %s", key_path, cert_path);
                goto finish;
        }
        if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
                r = fail(ret_error, -EINVAL, "certificate %s is not valid yet", cert_path);
                goto finish;
        }
        if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
                r = fail(ret_error, -EINVAL, "certificate %s has expired", cert_path);
                goto finish;
        }
        if (!eku_allows_signing(cert)) {
                r = fail(ret_error, -EINVAL,
                         "certificate %s: its extended key usage allows neither codeSigning nor any purpose "
                         "(devices refuse such a signer)", cert_path);
                goto finish;
        }

        in = BIO_new_mem_buf(len ? data : "", (int)len);
        if (!in) {
                r = -ENOMEM;
                goto finish;
        }
        cms = CMS_sign(cert, key, chain, in, CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP);
        if (!cms) {
                r = fail(ret_error, -EINVAL, "signing failed: %s", ossl_reason(why, sizeof(why)));
                goto finish;
        }
        int n = i2d_CMS_ContentInfo(cms, &der);
        if (n <= 0) {
                r = fail(ret_error, -EINVAL, "encoding the signature failed: %s", ossl_reason(why, sizeof(why)));
                goto finish;
        }
        *ret_sig = malloc((size_t)n);
        if (!*ret_sig) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(*ret_sig, der, (size_t)n);
        *ret_sig_len = (size_t)n;
        r = 0;
finish:
        OPENSSL_free(der);
        CMS_ContentInfo_free(cms);
        BIO_free(in);
        sk_X509_pop_free(chain, X509_free);
        sk_X509_pop_free(certs, X509_free);
        EVP_PKEY_free(key);
        ERR_clear_error();
        return r;
}

static int build_store(const cadu_trust *trust, X509_STORE **ret, char **ret_error) {
        char why[256];
        if (trust->n_ca_paths == 0)
                return fail(ret_error, -EINVAL, "no trust anchors configured");
        X509_STORE *store = X509_STORE_new();
        if (!store)
                return -ENOMEM;
        for (size_t i = 0; i < trust->n_ca_paths; i++) {
                const char *p = trust->ca_paths[i];
                struct stat st;
                int ok;
                if (stat(p, &st) < 0) {
                        int r = -errno;
                        X509_STORE_free(store);
                        return fail(ret_error, r, "trust anchors %s: %s", p, cadu_errstr(r));
                }
                if (S_ISDIR(st.st_mode))
                        ok = X509_STORE_load_path(store, p);
                else
                        ok = X509_STORE_load_file(store, p);
                if (ok != 1) {
                        X509_STORE_free(store);
                        return fail(ret_error, -EINVAL, "trust anchors %s: %s", p, ossl_reason(why, sizeof(why)));
                }
        }
        *ret = store;
        return 0;
}

static bool digest_accepted(const X509_ALGOR *alg) {
        int nid = alg ? OBJ_obj2nid(alg->algorithm) : NID_undef;
        return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

int cadu_manifest_verify(const void *data, size_t len, const uint8_t *sig, size_t sig_len,
                         const cadu_trust *trust, char **ret_signer, char **ret_error) {
        CMS_ContentInfo *cms = NULL;
        X509_STORE *store = NULL;
        X509_STORE_CTX *ctx = NULL;
        STACK_OF(X509) *certs = NULL;
        BIO *content = NULL;
        char *subject = NULL;
        char why[256];
        int r;

        if (ret_error)
                *ret_error = NULL;
        if ((!data && len) || len > INT_MAX || (!sig && sig_len) || !trust)
                return -EINVAL;
        if (sig_len == 0)
                return fail(ret_error, -EBADMSG, "signature is empty");
        if (sig_len > CADU_MANIFEST_MAX_SIGNATURE_SIZE)
                return fail(ret_error, -EBADMSG, "signature is larger than %d bytes", CADU_MANIFEST_MAX_SIGNATURE_SIZE);
        ERR_clear_error();

        const unsigned char *p = sig;
        cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
        if (!cms) {
                r = fail(ret_error, -EBADMSG, "signature is not a DER CMS message (truncated or garbage): %s",
                         ossl_reason(why, sizeof(why)));
                goto finish;
        }
        if (p != sig + sig_len) {
                size_t extra = (size_t)(sig + sig_len - p);
                r = fail(ret_error, -EBADMSG, "signature has %zu byte%s of trailing garbage", extra,
                         extra == 1 ? "" : "s");
                goto finish;
        }
        if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
                r = fail(ret_error, -EBADMSG, "signature is not a CMS SignedData");
                goto finish;
        }
        if (CMS_is_detached(cms) != 1) {
                r = fail(ret_error, -EBADMSG, "signature embeds its content; a detached signature is required");
                goto finish;
        }
        STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
        if (sk_CMS_SignerInfo_num(sis) != 1) {
                r = fail(ret_error, -EBADMSG, "signature has %d signers, exactly one is required",
                         sk_CMS_SignerInfo_num(sis));
                goto finish;
        }
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);

        r = build_store(trust, &store, ret_error);
        if (r < 0)
                goto finish;

        /* The signer's certificate and any intermediates travel in the signature. */
        certs = CMS_get1_certs(cms);
        (void)CMS_set1_signers_certs(cms, NULL, 0);
        X509 *signer = NULL;
        X509_ALGOR *dig = NULL, *sigalg = NULL;
        CMS_SignerInfo_get0_algs(si, NULL, &signer, &dig, &sigalg);
        if (!signer) {
                r = fail(ret_error, -EBADMSG, "signature carries no signer certificate");
                goto finish;
        }
        subject = subject_of(signer);
        if (!subject) {
                r = -ENOMEM;
                goto finish;
        }
        if (!digest_accepted(dig)) {
                r = fail(ret_error, -EBADMSG, "signature digest algorithm is not SHA-256, SHA-384 or SHA-512");
                goto finish;
        }

        /* Chain of trust. */
        ctx = X509_STORE_CTX_new();
        if (!ctx || X509_STORE_CTX_init(ctx, store, signer, certs) != 1 ||
            X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY) != 1) {
                r = -ENOMEM;
                goto finish;
        }
        if (trust->at)
                X509_STORE_CTX_set_time(ctx, 0, (time_t)trust->at);
        if (X509_verify_cert(ctx) != 1) {
                int e = X509_STORE_CTX_get_error(ctx);
                int depth = X509_STORE_CTX_get_error_depth(ctx);
                X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
                if (depth > 0 && bad) {
                        _cleanup_free_ char *bs = subject_of(bad);
                        r = fail(ret_error, -EBADMSG, "signer certificate '%s': issuer '%s': %s", subject,
                                 bs ? bs : "?", X509_verify_cert_error_string(e));
                } else
                        r = fail(ret_error, -EBADMSG, "signer certificate '%s': %s", subject,
                                 X509_verify_cert_error_string(e));
                goto finish;
        }

        /* What the signer's certificate allows. */
        uint32_t ku = X509_get_key_usage(signer);
        if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
                r = fail(ret_error, -EBADMSG, "signer certificate '%s': key usage does not allow digital signatures",
                         subject);
                goto finish;
        }
        if (trust->require_codesign &&
            (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
             !(X509_get_extended_key_usage(signer) & XKU_CODE_SIGN))) {
                r = fail(ret_error, -EBADMSG, "signer certificate '%s' lacks the codeSigning extended key usage",
                         subject);
                goto finish;
        }
        if (!eku_allows_signing(signer)) {
                r = fail(ret_error, -EBADMSG,
                         "signer certificate '%s': its extended key usage allows neither codeSigning nor any "
                         "purpose (a certificate for another purpose, e.g. a TLS server, cannot sign releases)",
                         subject);
                goto finish;
        }
        if (trust->signer_name && !has_name(signer, trust->signer_name)) {
                r = fail(ret_error, -EBADMSG, "signer certificate '%s' is not for the required signer '%s'",
                         subject, trust->signer_name);
                goto finish;
        }

        /* Finally the signature over the manifest bytes. */
        content = BIO_new_mem_buf(len ? data : "", (int)len);
        if (!content) {
                r = -ENOMEM;
                goto finish;
        }
        if (CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
                r = fail(ret_error, -EBADMSG, "signature does not match the manifest (%s)",
                         ossl_reason(why, sizeof(why)));
                goto finish;
        }

        if (ret_signer) {
                *ret_signer = common_name_of(signer);
                if (!*ret_signer) {
                        *ret_signer = subject;
                        subject = NULL;
                }
        }
        r = 0;
finish:
        free(subject);
        BIO_free(content);
        X509_STORE_CTX_free(ctx);
        sk_X509_pop_free(certs, X509_free);
        X509_STORE_free(store);
        CMS_ContentInfo_free(cms);
        ERR_clear_error();
        return r;
}

int cadu_manifest_parse_verified(const void *data, size_t len, const uint8_t *sig, size_t sig_len,
                                 const cadu_trust *trust, cadu_manifest **ret,
                                 char **ret_signer, char **ret_error) {
        char *signer = NULL;
        int r = cadu_manifest_verify(data, len, sig, sig_len, trust, &signer, ret_error);
        if (r < 0)
                return r;
        r = cadu_manifest_parse(data, len, ret, ret_error);
        if (r < 0) {
                free(signer);
                return r;
        }
        if (ret_signer)
                *ret_signer = signer;
        else
                free(signer);
        return 0;
}
