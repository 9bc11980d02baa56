/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu manifest, cadu sign, cadu verify: write, sign and verify the release
 * manifest (doc/manifest-format.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cadu-envelope.h"
#include "cadu-fullimage.h"
#include "cadu-manifest.h"
#include "cadu-util.h"
#include "cmd-crypt.h"
#include "cmd.h"

/* Map a library result to an exit code: verification failures, policy
 * refusals and everything else. */
static int exit_code(int r) {
        return r == -EBADMSG ? CADU_EXIT_VERIFY : r == -EPERM ? CADU_EXIT_REFUSED : CADU_EXIT_FAILURE;
}

/* Report a library error: its message when there is one, else strerror. */
static int report(int r, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int report(int r, const char *msg, const char *fmt, ...) {
        va_list ap;
        fputs("cadu: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", msg ? msg : cadu_strerror(r));
        return exit_code(r);
}

/* Read a small input file; a too large one is a verification failure. */
static int read_input(const char *what, const char *path, size_t max, uint8_t **ret, size_t *ret_len) {
        int r = cadu_read_file(path, max, ret, ret_len);
        if (r == -EFBIG) {
                cadu_error("%s %s is larger than %zu bytes", what, path, max);
                return CADU_EXIT_VERIFY;
        }
        if (r < 0)
                return cadu_error_errno(r, "cannot read %s %s", what, path);
        return 0;
}

/* ---- cadu manifest ---- */

/* An envelope made elsewhere, beside OUT: its algorithms checked, pinned. */
static int pin_envelope(cadu_manifest *m, const char *out, const char *path) {
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ uint8_t *env = NULL;
        size_t len;
        int r = cadu_read_file(path, CADU_ENVELOPE_MAX_SIZE, &env, &len);
        if (r < 0)
                return cadu_error_errno(r, "key envelope %s", path);
        if ((r = cadu_envelope_check(env, len, &err)) < 0) {
                cadu_error("key envelope %s: %s", path, err ? err : cadu_strerror(r));
                return CADU_EXIT_VERIFY;
        }
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        /* It must lie beside OUT: the manifest names it relative to itself. */
        _cleanup_free_ char *a = NULL, *b = NULL;
        if (cadu_dirname(out, &a) < 0 || cadu_dirname(path, &b) < 0)
                return cadu_error_errno(-ENOMEM, "manifest");
        char ra[PATH_MAX], rb[PATH_MAX];
        if (!realpath(a, ra) || !realpath(b, rb) || strcmp(ra, rb) != 0)
                return cadu_usage_error("manifest", "--key-envelope %s must lie in the directory of %s", path, out);
        m->key_envelope = strdup(base);
        if (!m->key_envelope)
                return cadu_error_errno(-ENOMEM, "manifest");
        m->key_envelope_size = len;
        if ((r = cadu_digest(CADU_DIGEST_SHA256, env, len, m->key_envelope_sha256)) < 0)
                return cadu_error_errno(r, "manifest");
        return CADU_EXIT_OK;
}

/* The store key in key_path wrapped for the recipients into OUT.keys, and
 * pinned by m. 0 or an exit code. */
static int write_envelope(cadu_manifest *m, const char *out, const char *key_path, const char *const *recipients,
                          size_t n) {
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        char text[2 * CADU_CRYPT_KEY_SIZE + 2];
        _cleanup_free_ char *path = NULL, *err = NULL;
        _cleanup_free_ uint8_t *env = NULL;
        const char *why = NULL;
        size_t len = 0;
        int r = cadu_crypt_key_read(key_path, secret, &why);
        if (r < 0)
                return cadu_cmd_load_key("--key-file", key_path, &(cadu_crypt_key){ 0 });
        /* The envelope holds a key file: `openssl cms -decrypt` gives one. */
        cadu_hex_encode(secret, sizeof(secret), text);
        OPENSSL_cleanse(secret, sizeof(secret));
        text[2 * CADU_CRYPT_KEY_SIZE] = '\n';
        r = cadu_envelope_wrap(text, sizeof(text) - 1, recipients, n, &env, &len, &err);
        OPENSSL_cleanse(text, sizeof(text));
        if (r < 0)
                return report(r, err, "wrapping the store key");
        if (asprintf(&path, "%s.keys", out) < 0)
                return cadu_error_errno(-ENOMEM, "manifest");
        if ((r = cadu_write_file_atomic(path, env, len)) < 0)
                return cadu_error_errno(r, "writing %s", path);
        const char *base = strrchr(path, '/');
        m->key_envelope = strdup(base ? base + 1 : path);
        if (!m->key_envelope)
                return cadu_error_errno(-ENOMEM, "manifest");
        m->key_envelope_size = len;
        if ((r = cadu_digest(CADU_DIGEST_SHA256, env, len, m->key_envelope_sha256)) < 0)
                return cadu_error_errno(r, "manifest");
        return CADU_EXIT_OK;
}

/* Write path atomically: the image at image_path compressed into a full
 * image (delta_path NULL), or the rdiff delta at delta_path sealed; sealed
 * under k for role when k is not NULL. 0 or an exit code. */
static int write_file(const char *path, const char *image_path, const char *delta_path, const cadu_crypt_key *k,
                      const char *role, int level) {
        _cleanup_free_ char *tmp = NULL;
        const char *in_path = delta_path ? delta_path : image_path;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return cadu_error_errno(-ENOMEM, "manifest");
        _cleanup_close_ int in = open(in_path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return cadu_error_errno(-errno, "%s", in_path);
        int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0)
                return cadu_error_errno(-errno, "writing %s", tmp);
        int r = delta_path ? cadu_crypt_stream_fd(k, role, true, in, out)
                           : cadu_full_write(in, out, level, k, role, NULL);
        if (r == 0 && fsync(out) < 0)
                r = -errno;
        if (close(out) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return cadu_error_errno(r, "writing %s", path);
        }
        return 0;
}

static const char manifest_help[] =
        "Usage: cadu manifest [OPTIONS] OUT\n\n"
        "Write the release manifest OUT for one or more images. Sizes and sha256\n"
        "digests are computed from the files; index, store and delta must lie in\n"
        "OUT's directory and are recorded relative to it.\n\n"
        "Options:\n"
        "      --compatible STRING    product/hardware string devices must match (required)\n"
        "      --version VERSION      release version, e.g. 1.4.0 or 2.0.0-rc.1 (required)\n"
        "      --expires TIME         refuse the manifest from this UTC time on\n"
        "                             (YYYY-MM-DDTHH:MM:SSZ)\n"
        "      --description TEXT     one line of free text\n"
        "      --image NAME:CLASS:IMAGE:INDEX[:STORE]\n"
        "                             an image for slot class CLASS, its index and\n"
        "                             optional store (directory or URL); repeatable\n"
        "      --delta NAME:DELTA:SOURCE_IMAGE\n"
        "                             an rdiff delta turning SOURCE_IMAGE into image\n"
        "                             NAME; repeatable. For an encrypted image it is\n"
        "                             sealed into DELTA.enc, which the manifest names\n"
        "      --full NAME:FILE       write image NAME zstd-compressed (sealed when\n"
        "                             encrypted) to FILE and name it; repeatable\n"
        "      --full-level LEVEL     zstd level of --full, 1 to 19 (default 19)\n"
        "      --key-file FILE        the store key of encrypted indexes: they are\n"
        "                             pinned by their plaintext and the manifest names\n"
        "                             the key (doc/encryption.md)\n"
        "      --recipient CERT       also wrap that key for the device certificate\n"
        "                             CERT (PEM, RSA or EC) into OUT.keys, pinned by\n"
        "                             the manifest; repeatable\n"
        "      --key-envelope FILE    pin FILE, a key envelope made elsewhere (e.g.\n"
        "                             openssl cms -encrypt), inside OUT's directory\n"
        "  -q, --quiet                no summary\n"
        "      --json                 the result as JSON on stdout\n"
        "  -h, --help                 show this help\n";

int cadu_cmd_manifest(int argc, char **argv) {
        enum { O_COMPATIBLE = 0x100, O_VERSION, O_EXPIRES, O_DESCRIPTION, O_IMAGE, O_DELTA, O_KEY_FILE, O_RECIPIENT, O_KEY_ENVELOPE, O_FULL, O_FULL_LEVEL };
        static const struct option options[] = {
                { "compatible", required_argument, NULL, O_COMPATIBLE },
                { "version", required_argument, NULL, O_VERSION },
                { "expires", required_argument, NULL, O_EXPIRES },
                { "description", required_argument, NULL, O_DESCRIPTION },
                { "image", required_argument, NULL, O_IMAGE },
                { "delta", required_argument, NULL, O_DELTA },
                { "key-file", required_argument, NULL, O_KEY_FILE },
                { "recipient", required_argument, NULL, O_RECIPIENT },
                { "key-envelope", required_argument, NULL, O_KEY_ENVELOPE },
                { "full", required_argument, NULL, O_FULL },
                { "full-level", required_argument, NULL, O_FULL_LEVEL },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_free_ char **full_specs = calloc((size_t)argc, sizeof(char *));
        _cleanup_free_ char **image_paths = calloc((size_t)argc, sizeof(char *));
        size_t n_fulls = 0;
        int full_level = CADU_FULL_LEVEL;
        _cleanup_free_ const char **recipients = calloc((size_t)argc, sizeof(char *));
        size_t n_recipients = 0;
        const char *compatible = NULL, *version = NULL, *description = NULL, *key_path = NULL, *envelope = NULL;
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        _cleanup_free_ char **image_specs = calloc((size_t)argc, sizeof(char *));
        _cleanup_free_ char **delta_specs = calloc((size_t)argc, sizeof(char *));
        size_t n_images = 0, n_deltas = 0;
        int64_t expires = 0;
        bool has_expires = false;
        int c;

        if (!image_specs || !delta_specs || !full_specs || !image_paths)
                return cadu_error_errno(-ENOMEM, "manifest");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case O_COMPATIBLE: compatible = optarg; break;
                case O_VERSION:
                        if (!cadu_manifest_version_valid(optarg))
                                return cadu_usage_error("manifest", "invalid --version '%s' (see cadu-manifest(1))", optarg);
                        version = optarg;
                        break;
                case O_EXPIRES:
                        if (cadu_manifest_parse_time(optarg, &expires) < 0)
                                return cadu_usage_error("manifest", "invalid --expires '%s': want YYYY-MM-DDTHH:MM:SSZ", optarg);
                        has_expires = true;
                        break;
                case O_DESCRIPTION: description = optarg; break;
                case O_IMAGE: image_specs[n_images++] = optarg; break;
                case O_DELTA: delta_specs[n_deltas++] = optarg; break;
                case O_FULL: full_specs[n_fulls++] = optarg; break;
                case O_FULL_LEVEL: {
                        char *end;
                        long l = strtol(optarg, &end, 10);
                        if (*end || end == optarg || l < 1 || l > 19)
                                return cadu_usage_error("manifest", "invalid --full-level '%s': want 1 to 19", optarg);
                        full_level = (int)l;
                        break;
                }
                case O_KEY_FILE: key_path = optarg; break;
                case O_RECIPIENT: recipients[n_recipients++] = optarg; break;
                case O_KEY_ENVELOPE: envelope = optarg; break;
                case 'h':
                        fputs(manifest_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("manifest", "invalid option");
                }
        }
        if (argc - optind != 1)
                return cadu_usage_error("manifest", "expected OUT, the manifest to write");
        if (!compatible)
                return cadu_usage_error("manifest", "--compatible is required");
        if (!version)
                return cadu_usage_error("manifest", "--version is required");
        if (n_images == 0)
                return cadu_usage_error("manifest", "at least one --image is required");
        if (n_images > CADU_MANIFEST_MAX_IMAGES)
                return cadu_usage_error("manifest", "at most %d images", CADU_MANIFEST_MAX_IMAGES);
        const char *out = argv[optind];
        if (!recipients)
                return cadu_error_errno(-ENOMEM, "manifest");
        if (n_recipients && !key_path)
                return cadu_usage_error("manifest", "--recipient needs --key-file, the key to wrap");
        if (n_recipients && envelope)
                return cadu_usage_error("manifest", "--recipient and --key-envelope: one envelope per release");
        if (key_path && (c = cadu_cmd_load_key("--key-file", key_path, &key)) != 0)
                return c;

        cadu_manifest *m = cadu_manifest_new();
        cadu_manifest_image *imgs = calloc(n_images, sizeof(*imgs));
        _cleanup_free_ char *err = NULL, *text = NULL;
        size_t len = 0;
        int ret = CADU_EXIT_OK, r;
        if (!m || !imgs) {
                ret = cadu_error_errno(-ENOMEM, "manifest");
                goto finish;
        }
        m->compatible = strdup(compatible);
        m->version = strdup(version);
        m->description = description ? strdup(description) : NULL;
        m->has_expires = has_expires;
        m->expires = expires;
        if (!m->compatible || !m->version || (description && !m->description)) {
                ret = cadu_error_errno(-ENOMEM, "manifest");
                goto finish;
        }

        for (size_t i = 0; i < n_images; i++) {
                /* NAME:CLASS:IMAGE:INDEX[:STORE]; STORE may itself contain ':' (URL). */
                _cleanup_free_ char *s = strdup(image_specs[i]);
                char *f[5] = {};
                if (!s) {
                        ret = cadu_error_errno(-ENOMEM, "manifest");
                        goto finish;
                }
                f[0] = s;
                for (int k = 1; k < 5 && f[k - 1]; k++) {
                        char *colon = strchr(f[k - 1], ':');
                        if (colon)
                                *colon = 0;
                        f[k] = colon ? colon + 1 : NULL;
                }
                if (!f[3] || !*f[0] || !*f[1] || !*f[2] || !*f[3] || (f[4] && !*f[4])) {
                        ret = cadu_usage_error("manifest", "invalid --image '%s': want NAME:CLASS:IMAGE:INDEX[:STORE]",
                                               image_specs[i]);
                        goto finish;
                }
                if (key_path) {
                        /* Encrypted indexes are pinned by their plaintext. */
                        cadu_buf ib = CADU_BUF_INIT;
                        bool encrypted = false;
                        r = cadu_fetch(f[3], NULL, (size_t)1 << 31, &ib, NULL);
                        if (r < 0) {
                                cadu_buf_free(&ib);
                                ret = cadu_error_errno(r, "image %s: %s", f[0], f[3]);
                                goto finish;
                        }
                        if (cadu_crypt_index_is(ib.data, ib.len) &&
                            (ret = cadu_cmd_open_index(f[3], &key, &ib, &encrypted)) != 0) {
                                cadu_buf_free(&ib);
                                goto finish;
                        }
                        r = cadu_manifest_image_from_data(&imgs[i], out, f[0], f[1], f[2], f[3], ib.data, ib.len, f[4],
                                                          &err);
                        cadu_buf_free(&ib);
                        if (r == 0 && encrypted) {
                                imgs[i].encrypted = true;
                                memcpy(imgs[i].store_key, key.id, CADU_MANIFEST_KEY_ID_SIZE);
                        }
                } else
                        r = cadu_manifest_image_from_files(&imgs[i], out, f[0], f[1], f[2], f[3], f[4], &err);
                if (r < 0) {
                        ret = report(r, err, "image %s", f[0]);
                        goto finish;
                }
                if (!(image_paths[i] = strdup(f[2]))) {
                        ret = cadu_error_errno(-ENOMEM, "manifest");
                        goto finish;
                }
        }
        for (size_t i = 0; i < n_deltas; i++) {
                _cleanup_free_ char *s = strdup(delta_specs[i]);
                char *delta = s ? strchr(s, ':') : NULL, *source = delta ? strchr(delta + 1, ':') : NULL;
                if (!s) {
                        ret = cadu_error_errno(-ENOMEM, "manifest");
                        goto finish;
                }
                if (!source || delta == s || source == delta + 1 || !source[1]) {
                        ret = cadu_usage_error("manifest", "invalid --delta '%s': want NAME:DELTA:SOURCE_IMAGE",
                                               delta_specs[i]);
                        goto finish;
                }
                *delta++ = 0;
                *source++ = 0;
                size_t k;
                for (k = 0; k < n_images && strcmp(imgs[k].name, s) != 0; k++)
                        ;
                if (k == n_images) {
                        ret = cadu_usage_error("manifest", "--delta for '%s', which no --image names", s);
                        goto finish;
                }
                _cleanup_free_ char *sealed = NULL, *role = NULL;
                if (imgs[k].encrypted) {
                        /* A plaintext delta would give the image away: it
                         * is sealed with the store key. */
                        char hex[2 * CADU_DIGEST_SIZE + 1];
                        cadu_hex_encode(imgs[k].sha256, CADU_DIGEST_SIZE, hex);
                        if (asprintf(&sealed, "%s.enc", delta) < 0 || asprintf(&role, "rdiff:%s:%s", s, hex) < 0) {
                                ret = cadu_error_errno(-ENOMEM, "manifest");
                                goto finish;
                        }
                        if ((ret = write_file(sealed, NULL, delta, &key, role, 0)) != 0)
                                goto finish;
                }
                r = cadu_manifest_image_set_delta(&imgs[k], out, sealed ? sealed : delta, source, &err);
                if (r < 0) {
                        ret = report(r, err, "image %s: delta %s", s, delta);
                        goto finish;
                }
        }
        for (size_t i = 0; i < n_fulls; i++) {
                char *file = strchr(full_specs[i], ':');
                _cleanup_free_ char *name = file ? strndup(full_specs[i], (size_t)(file - full_specs[i])) : NULL;
                _cleanup_free_ char *role = NULL;
                if (!file || file == full_specs[i] || !file[1]) {
                        ret = cadu_usage_error("manifest", "invalid --full '%s': want NAME:FILE", full_specs[i]);
                        goto finish;
                }
                size_t k;
                for (k = 0; name && k < n_images && strcmp(imgs[k].name, name) != 0; k++)
                        ;
                if (!name) {
                        ret = cadu_error_errno(-ENOMEM, "manifest");
                        goto finish;
                }
                if (k == n_images) {
                        ret = cadu_usage_error("manifest", "--full for '%s', which no --image names", name);
                        goto finish;
                }
                char hex[2 * CADU_DIGEST_SIZE + 1];
                cadu_hex_encode(imgs[k].sha256, CADU_DIGEST_SIZE, hex);
                if (asprintf(&role, "full:%s:%s", name, hex) < 0) {
                        ret = cadu_error_errno(-ENOMEM, "manifest");
                        goto finish;
                }
                if ((ret = write_file(file + 1, image_paths[k], NULL, imgs[k].encrypted ? &key : NULL, role,
                                      full_level)) != 0)
                        goto finish;
                r = cadu_manifest_image_set_full(&imgs[k], out, file + 1, &err);
                if (r < 0) {
                        ret = report(r, err, "image %s: full image %s", name, file + 1);
                        goto finish;
                }
        }
        for (size_t i = 0; i < n_images; i++) {
                r = cadu_manifest_add_image(m, &imgs[i], &err);
                if (r < 0) {
                        ret = report(r, err, "manifest %s", out);
                        goto finish;
                }
        }
        if (n_recipients && (ret = write_envelope(m, out, key_path, recipients, n_recipients)) != 0)
                goto finish;
        if (envelope && (ret = pin_envelope(m, out, envelope)) != 0)
                goto finish;
        r = cadu_manifest_format(m, &text, &len, &err);
        if (r < 0) {
                ret = report(r, err, "manifest %s", out);
                goto finish;
        }
        r = cadu_write_file_atomic(out, text, len);
        if (r < 0) {
                ret = cadu_error_errno(r, "writing manifest %s", out);
                goto finish;
        }
        if (cadu_json) {
                printf("{\"event\":\"done\",\"command\":\"manifest\",\"manifest\":");
                cadu_json_string(stdout, out);
                printf(",\"version\":");
                cadu_json_string(stdout, m->version);
                printf(",\"images\":%zu}\n", m->n_images);
        } else if (!cadu_quiet)
                fprintf(stderr, "%s: version %s for %s, %zu image%s\n", out, m->version, m->compatible,
                        m->n_images, m->n_images == 1 ? "" : "s");
finish:
        for (size_t i = 0; imgs && i < n_images; i++)
                cadu_manifest_image_clear(&imgs[i]);
        for (size_t i = 0; i < n_images; i++)
                free(image_paths[i]);
        free(imgs);
        cadu_manifest_free(m);
        return ret;
}

/* ---- cadu sign ---- */

static const char sign_help[] =
        "Usage: cadu sign [OPTIONS] MANIFEST [SIGNATURE]\n\n"
        "Sign MANIFEST: write a detached CMS signature in DER to SIGNATURE\n"
        "(default MANIFEST.sig), as `openssl cms -sign -binary -outform DER\n"
        "-nosmimecap` would. The manifest is checked before it is signed.\n\n"
        "Options:\n"
        "      --key FILE       signer's private key, PEM (required)\n"
        "      --cert FILE      signer's certificate, PEM (required); further\n"
        "                       certificates in the file join the chain\n"
        "      --chain FILE     intermediate CA certificates to include, PEM\n"
        "      --raw            sign the file as it is, without checking that it\n"
        "                       is a manifest (e.g. SWUpdate's sw-description)\n"
        "  -q, --quiet          no summary\n"
        "      --json           the result as JSON on stdout\n"
        "  -h, --help           show this help\n";

int cadu_cmd_sign(int argc, char **argv) {
        enum { O_KEY = 0x100, O_CERT, O_CHAIN, O_RAW };
        static const struct option options[] = {
                { "key", required_argument, NULL, O_KEY },
                { "cert", required_argument, NULL, O_CERT },
                { "chain", required_argument, NULL, O_CHAIN },
                { "raw", no_argument, NULL, O_RAW },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *key = NULL, *cert = NULL, *chain = NULL;
        bool raw = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case O_KEY: key = optarg; break;
                case O_CERT: cert = optarg; break;
                case O_CHAIN: chain = optarg; break;
                case O_RAW: raw = true; break;
                case 'h':
                        fputs(sign_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("sign", "invalid option");
                }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return cadu_usage_error("sign", "expected MANIFEST [SIGNATURE]");
        if (!key || !cert)
                return cadu_usage_error("sign", "--key and --cert are required");
        const char *path = argv[optind];
        _cleanup_free_ char *sig_path = NULL;
        if (optind + 1 < argc)
                sig_path = strdup(argv[optind + 1]);
        else if (asprintf(&sig_path, "%s.sig", path) < 0)
                sig_path = NULL;
        if (!sig_path)
                return cadu_error_errno(-ENOMEM, "sign");

        _cleanup_free_ uint8_t *data = NULL, *sig = NULL;
        _cleanup_free_ char *err = NULL;
        size_t len, sig_len;
        int r = read_input(raw ? "file" : "manifest", path, CADU_MANIFEST_MAX_SIZE, &data, &len);
        if (r != 0)
                return r;
        if (!raw) {
                cadu_manifest *m = NULL;
                r = cadu_manifest_parse(data, len, &m, &err);
                if (r < 0)
                        return report(r, err, "refusing to sign %s", path);
                cadu_manifest_free(m);
        }

        r = cadu_manifest_sign(data, len, key, cert, chain, &sig, &sig_len, &err);
        if (r < 0)
                return report(r, err, "signing %s", path);
        r = cadu_write_file_atomic(sig_path, sig, sig_len);
        if (r < 0)
                return cadu_error_errno(r, "writing signature %s", sig_path);
        if (cadu_json) {
                printf("{\"event\":\"done\",\"command\":\"sign\",\"signature\":");
                cadu_json_string(stdout, sig_path);
                printf(",\"bytes\":%zu}\n", sig_len);
        } else if (!cadu_quiet)
                fprintf(stderr, "%s: signed, %s\n", path, sig_path);
        return CADU_EXIT_OK;
}

/* ---- cadu verify ---- */

/* The index of an image with store-key: decrypted with the key named, then
 * checked against the pins of its plaintext. 0 or an exit code. */
static int verify_encrypted_index(const cadu_manifest_image *img, const char *index, const cadu_crypt_key *k,
                                  char **err) {
        char want[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        cadu_buf ib = CADU_BUF_INIT;
        bool encrypted;
        cadu_crypt_key_id_hex(img->store_key, want);
        if (!k) {
                cadu_error("image %s: index %s is encrypted (store key %s): give --key-file", img->name, index, want);
                return CADU_EXIT_USAGE;
        }
        /* The plaintext pins bound the file: names and overhead at most
         * double it. */
        int r = cadu_fetch(index, NULL, (size_t)2 * img->index_size + 4096, &ib, NULL);
        if (r < 0) {
                cadu_buf_free(&ib);
                return report(r, NULL, "image %s: index %s", img->name, index);
        }
        int ret = cadu_crypt_index_is(ib.data, ib.len) ? cadu_cmd_open_index(index, k, &ib, &encrypted)
                                                        : (cadu_error("image %s: index %s is not encrypted, but the manifest names store key %s",
                                                                      img->name, index, want), CADU_EXIT_VERIFY);
        if (ret == 0 && (r = cadu_manifest_check_index_data(img, ib.data, ib.len, NULL, err)) < 0)
                ret = report(r, *err, "image %s: index %s", img->name, index);
        cadu_buf_free(&ib);
        return ret;
}

static const char verify_help[] =
        "Usage: cadu verify [OPTIONS] MANIFEST [SIGNATURE]\n\n"
        "Verify MANIFEST and its detached CMS signature (default MANIFEST.sig):\n"
        "the signer must chain to a trust anchor, the manifest must be well-formed\n"
        "and acceptable by the given policy, and every index, delta and full image\n"
        "it names must exist beside it with the pinned size and sha256. Prints one\n"
        "OK line.\n\n"
        "Options:\n"
        "      --ca PATH                trust anchors: PEM file or hashed certificate\n"
        "                               directory (required; repeatable)\n"
        "      --signer NAME            require this signer common name or subject\n"
        "                               alternative name (DNS, email, URI)\n"
        "      --require-codesign       require the codeSigning extended key usage\n"
        "      --compatible STRING      require this compatible string\n"
        "      --installed-version VERSION\n"
        "                               require a version newer than this one\n"
        "      --allow-downgrade        accept a version that is not newer\n"
        "      --class CLASS            the device's slot classes (repeatable): require\n"
        "                               exactly one image for each and no other\n"
        "      --key-file FILE          the store key of encrypted images: their indexes\n"
        "                               are decrypted and checked (doc/encryption.md)\n"
        "  -q, --quiet                  no OK line\n"
        "      --json                   the result as JSON on stdout\n"
        "  -h, --help                   show this help\n\n"
        "Exit status: 0 verified, 3 signature or digest failure, 4 refused by policy.\n";

int cadu_cmd_verify(int argc, char **argv) {
        enum { O_CA = 0x100, O_SIGNER, O_CODESIGN, O_COMPATIBLE, O_INSTALLED, O_DOWNGRADE, O_CLASS, O_KEY_FILE };
        static const struct option options[] = {
                { "ca", required_argument, NULL, O_CA },
                { "signer", required_argument, NULL, O_SIGNER },
                { "require-codesign", no_argument, NULL, O_CODESIGN },
                { "compatible", required_argument, NULL, O_COMPATIBLE },
                { "installed-version", required_argument, NULL, O_INSTALLED },
                { "allow-downgrade", no_argument, NULL, O_DOWNGRADE },
                { "class", required_argument, NULL, O_CLASS },
                { "key-file", required_argument, NULL, O_KEY_FILE },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *key_path = NULL;
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        _cleanup_free_ const char **cas = calloc((size_t)argc, sizeof(char *));
        _cleanup_free_ const char **classes = calloc((size_t)argc, sizeof(char *));
        size_t n_classes = 0;
        cadu_trust trust = CADU_TRUST_INIT;
        const char *compatible = NULL, *installed = NULL;
        bool allow_downgrade = false;
        int c;

        if (!cas || !classes)
                return cadu_error_errno(-ENOMEM, "verify");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case O_CA: cas[trust.n_ca_paths++] = optarg; break;
                case O_SIGNER: trust.signer_name = optarg; break;
                case O_CODESIGN: trust.require_codesign = true; break;
                case O_COMPATIBLE: compatible = optarg; break;
                case O_INSTALLED:
                        if (!cadu_manifest_version_valid(optarg))
                                return cadu_usage_error("verify", "invalid --installed-version '%s'", optarg);
                        installed = optarg;
                        break;
                case O_DOWNGRADE: allow_downgrade = true; break;
                case O_CLASS: classes[n_classes++] = optarg; break;
                case O_KEY_FILE: key_path = optarg; break;
                case 'h':
                        fputs(verify_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("verify", "invalid option");
                }
        }
        trust.ca_paths = cas;
        if (argc - optind < 1 || argc - optind > 2)
                return cadu_usage_error("verify", "expected MANIFEST [SIGNATURE]");
        if (trust.n_ca_paths == 0)
                return cadu_usage_error("verify", "--ca is required");
        const char *path = argv[optind];
        _cleanup_free_ char *sig_path = NULL;
        if (optind + 1 < argc)
                sig_path = strdup(argv[optind + 1]);
        else if (asprintf(&sig_path, "%s.sig", path) < 0)
                sig_path = NULL;
        if (!sig_path)
                return cadu_error_errno(-ENOMEM, "verify");
        if (key_path && (c = cadu_cmd_load_key("--key-file", key_path, &key)) != 0)
                return c;

        _cleanup_free_ uint8_t *data = NULL, *sig = NULL;
        _cleanup_free_ char *err = NULL, *signer = NULL;
        size_t len, sig_len;
        int r = read_input("manifest", path, CADU_MANIFEST_MAX_SIZE, &data, &len);
        if (r == 0)
                r = read_input("signature", sig_path, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &sig, &sig_len);
        if (r != 0)
                return r;

        /* Signature first: nothing in the manifest is looked at before. */
        cadu_manifest *m = NULL;
        r = cadu_manifest_parse_verified(data, len, sig, sig_len, &trust, &m, &signer, &err);
        if (r < 0)
                return report(r, err, "%s", path);
        int ret = CADU_EXIT_OK;
        r = cadu_manifest_check_policy(m, compatible, installed, allow_downgrade, (int64_t)time(NULL), &err);
        if (r == 0 && n_classes > 0) {
                free(err);
                err = NULL;
                r = cadu_manifest_check_classes(m, classes, n_classes, &err);
        }
        if (r < 0) {
                ret = report(r, err, "%s", path);
                goto finish;
        }
        for (size_t i = 0; i < m->n_images; i++) {
                const cadu_manifest_image *img = &m->images[i];
                _cleanup_free_ char *index = NULL, *delta = NULL;
                r = cadu_manifest_resolve(path, img->index, &index);
                if (r >= 0 && img->encrypted) {
                        if ((ret = verify_encrypted_index(img, index, key_path ? &key : NULL, &err)) != 0)
                                goto finish;
                } else if (r >= 0)
                        r = cadu_manifest_check_index_file(img, index, NULL, &err);
                if (r < 0) {
                        ret = report(r, err, "%s: image %s: index %s", path, img->name, index ? index : img->index);
                        goto finish;
                }
                if (img->full) {
                        _cleanup_free_ char *full = NULL;
                        r = cadu_manifest_resolve(path, img->full, &full);
                        if (r >= 0)
                                r = cadu_manifest_check_file(full, img->full_size, img->full_sha256, &err);
                        if (r < 0) {
                                ret = report(r, err, "%s: image %s: full image %s", path, img->name,
                                             full ? full : img->full);
                                goto finish;
                        }
                }
                if (!img->delta)
                        continue;
                r = cadu_manifest_resolve(path, img->delta, &delta);
                if (r >= 0)
                        r = cadu_manifest_check_file(delta, img->delta_size, img->delta_sha256, &err);
                if (r < 0) {
                        ret = report(r, err, "%s: image %s: delta %s", path, img->name, delta ? delta : img->delta);
                        goto finish;
                }
        }

        char when[CADU_MANIFEST_TIME_MAX] = "";
        if (m->has_expires)
                (void)cadu_manifest_format_time(m->expires, when);
        if (cadu_json) {
                printf("{\"event\":\"done\",\"command\":\"verify\",\"manifest\":");
                cadu_json_string(stdout, path);
                printf(",\"version\":");
                cadu_json_string(stdout, m->version);
                printf(",\"compatible\":");
                cadu_json_string(stdout, m->compatible);
                printf(",\"signer\":");
                cadu_json_string(stdout, signer);
                printf(",\"expires\":");
                if (m->has_expires)
                        cadu_json_string(stdout, when);
                else
                        printf("null");
                printf(",\"images\":[");
                for (size_t i = 0; i < m->n_images; i++) {
                        printf("%s{\"name\":", i ? "," : "");
                        cadu_json_string(stdout, m->images[i].name);
                        printf(",\"class\":");
                        cadu_json_string(stdout, m->images[i].slot_class);
                        printf(",\"size\":%llu}", (unsigned long long)m->images[i].size);
                }
                printf("]}\n");
        } else if (!cadu_quiet) {
                printf("%s: OK, version %s for %s, signed by %s, %zu image%s:", path, m->version,
                       m->compatible, signer, m->n_images, m->n_images == 1 ? "" : "s");
                for (size_t i = 0; i < m->n_images; i++)
                        printf(" %s(%s)", m->images[i].name, m->images[i].slot_class);
                if (m->has_expires)
                        printf(", expires %s", when);
                printf("\n");
        }
finish:
        cadu_manifest_free(m);
        return ret;
}
