/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manifest text format (doc/manifest-format.md): a strict parser, the
 * canonical writer, value validation and the device-side policy.
 *
 * The file is read line by line. Each line is checked as a whole first
 * (length, no control characters, valid UTF-8), then classified as blank,
 * comment, [section] or key = value. A section is checked for missing keys
 * when the next one starts and at the end of the file.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cadu-manifest.h"

#define LINE_MAX_LEN 4096
#define NAME_MAX_LEN 64
#define PATH_MAX_LEN 1024
#define URL_MAX_LEN 2048
#define COMPATIBLE_MAX_LEN 255
#define DESCRIPTION_MAX_LEN 1024
#define INDEX_MAX_SIZE (UINT64_C(1) << 31)

enum {
        K_FORMAT, K_COMPATIBLE, K_VERSION, K_EXPIRES, K_DESCRIPTION,
        K_CLASS, K_SIZE, K_SHA256, K_INDEX, K_INDEX_SIZE, K_INDEX_SHA256, K_STORE,
        K_DELTA, K_DELTA_SIZE, K_DELTA_SHA256, K_DELTA_SOURCE_SHA256,
        K_STORE_KEY, K_KEY_ENVELOPE, K_KEY_ENVELOPE_SIZE, K_KEY_ENVELOPE_SHA256,
        K_FULL, K_FULL_SIZE, K_FULL_SHA256,
        K_COUNT
};

static const struct {
        const char *name;
        bool image;     /* belongs to [image NAME], else to [update] */
        bool required;
} keys[K_COUNT] = {
        [K_FORMAT]              = { "format", false, true },
        [K_COMPATIBLE]          = { "compatible", false, true },
        [K_VERSION]             = { "version", false, true },
        [K_EXPIRES]             = { "expires", false, false },
        [K_DESCRIPTION]         = { "description", false, false },
        [K_CLASS]               = { "class", true, true },
        [K_SIZE]                = { "size", true, true },
        [K_SHA256]              = { "sha256", true, true },
        [K_INDEX]               = { "index", true, true },
        [K_INDEX_SIZE]          = { "index-size", true, true },
        [K_INDEX_SHA256]        = { "index-sha256", true, true },
        [K_STORE]               = { "store", true, false },
        [K_DELTA]               = { "delta", true, false },
        [K_DELTA_SIZE]          = { "delta-size", true, false },
        [K_DELTA_SHA256]        = { "delta-sha256", true, false },
        [K_DELTA_SOURCE_SHA256] = { "delta-source-sha256", true, false },
        [K_STORE_KEY]           = { "store-key", true, false },
        [K_KEY_ENVELOPE]        = { "key-envelope", false, false },
        [K_KEY_ENVELOPE_SIZE]   = { "key-envelope-size", false, false },
        [K_KEY_ENVELOPE_SHA256] = { "key-envelope-sha256", false, false },
        [K_FULL]                = { "full", true, false },
        [K_FULL_SIZE]           = { "full-size", true, false },
        [K_FULL_SHA256]         = { "full-sha256", true, false },
};
#define DELTA_KEYS (1u << K_DELTA | 1u << K_DELTA_SIZE | 1u << K_DELTA_SHA256 | 1u << K_DELTA_SOURCE_SHA256)
#define FULL_KEYS (1u << K_FULL | 1u << K_FULL_SIZE | 1u << K_FULL_SHA256)
#define ENVELOPE_KEYS (1u << K_KEY_ENVELOPE | 1u << K_KEY_ENVELOPE_SIZE | 1u << K_KEY_ENVELOPE_SHA256)
#define ENVELOPE_MAX_SIZE (1024 * 1024)

/* ---- values ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        else if (c >= 0xc2 && c <= 0xdf)
                len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, cp = c & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return len;
}

/* NULL if s is printable UTF-8 text (no control characters), else why not. */
static const char *text_problem(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *)s;
        for (size_t i = 0; i < n;) {
                if (u[i] == '\r')
                        return "carriage return (DOS line ending?)";
                if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
                        return "control character";
                size_t k = utf8_seq(u + i, n - i);
                if (k == 0)
                        return "invalid UTF-8";
                i += k;
        }
        return NULL;
}

static bool is_alnum(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *name_problem(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > NAME_MAX_LEN)
                return "must be 1 to 64 characters";
        if (!is_alnum(s[0]))
                return "must start with a letter or digit";
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return "may contain only A-Z a-z 0-9 . _ -";
        return NULL;
}

static const char *path_problem(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > PATH_MAX_LEN)
                return "must be 1 to 1024 characters";
        if (s[0] == '/')
                return "must be a relative path (it starts with '/')";
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-' && s[i] != '/')
                        return "may contain only A-Z a-z 0-9 . _ - /";
        for (size_t i = 0; i <= n;) {
                size_t j = i;
                while (j < n && s[j] != '/')
                        j++;
                if (j - i == 2 && s[i] == '.' && s[i + 1] == '.')
                        return "must not contain '..' (a path outside the manifest's directory)";
                if (j == i)
                        return "must not contain an empty path component";
                if (j - i == 1 && s[i] == '.')
                        return "must not contain a '.' component";
                i = j + 1;
        }
        return NULL;
}

bool cadu_manifest_path_valid(const char *p) {
        return !path_problem(p);
}

bool cadu_manifest_is_url(const char *s) {
        size_t skip;
        if (!s)
                return false;
        if (!strncmp(s, "https://", 8))
                skip = 8;
        else if (!strncmp(s, "http://", 7))
                skip = 7;
        else
                return false;
        size_t n = strlen(s);
        if (n > URL_MAX_LEN || n == skip || s[skip] == '/')
                return false;
        for (size_t i = skip; i < n; i++)
                if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("\"<>\\^`{|}", s[i]))
                        return false;
        return true;
}

static const char *store_problem(const char *s) {
        if (s && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8)))
                return cadu_manifest_is_url(s) ? NULL : "is not a valid http(s) URL";
        return path_problem(s);
}

static const char *compatible_problem(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > COMPATIBLE_MAX_LEN)
                return "must be 1 to 255 characters";
        if (s[0] == ' ' || s[n - 1] == ' ')
                return "must not start or end with a space";
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return "may contain only printable ASCII characters";
        return NULL;
}

static const char *description_problem(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > DESCRIPTION_MAX_LEN)
                return "must be 1 to 1024 bytes";
        if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
                return "must not start or end with white space";
        return text_problem(s, n);
}

/* Strict decimal: digits only, no sign, no leading zeros. */
/* A decimal number in canonical form: -EINVAL for anything but digits,
 * -EDOM for a leading zero, -ERANGE for more than 19 digits. */
static int parse_dec(const char *s, uint64_t *ret) {
        size_t n = strlen(s);
        uint64_t v = 0;
        if (n == 0 || strspn(s, "0123456789") != n)
                return -EINVAL;
        if (n > 1 && s[0] == '0')
                return -EDOM;
        if (n > 19)
                return -ERANGE;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (uint64_t)(s[i] - '0');
        *ret = v;
        return 0;
}

/* What is wrong with a number parse_dec() refused. */
static const char *dec_problem(int r) {
        return r == -EDOM ? "a leading zero is not allowed" : r == -ERANGE ? "too large" : "must be a decimal number";
}

/* Exactly 64 lower-case hex digits. */
static int parse_sha256(const char *s, uint8_t out[CADU_DIGEST_SIZE]) {
        if (strlen(s) != 2 * CADU_DIGEST_SIZE)
                return -EINVAL;
        for (const char *c = s; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return -EINVAL;
        return cadu_hex_decode(s, out, CADU_DIGEST_SIZE);
}

static bool index_size_valid(uint64_t v) {
        return v >= CADU_CAIBX_OVERHEAD && v <= INDEX_MAX_SIZE &&
               (v - CADU_CAIBX_OVERHEAD) % CADU_CAIBX_ITEM_SIZE == 0;
}

static bool image_size_valid(uint64_t v) {
        return v >= 1 && v <= CADU_MANIFEST_MAX_IMAGE_SIZE;
}

static int set_error(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(char **ret_error, const char *fmt, ...) {
        if (!ret_error)
                return 0;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return 0;
}

/* ---- objects ---- */

cadu_manifest *cadu_manifest_new(void) {
        cadu_manifest *m = calloc(1, sizeof(*m));
        if (m)
                m->format = CADU_MANIFEST_FORMAT;
        return m;
}

void cadu_manifest_image_clear(cadu_manifest_image *img) {
        if (!img)
                return;
        free(img->name);
        free(img->slot_class);
        free(img->index);
        free(img->store);
        free(img->delta);
        free(img->full);
        memset(img, 0, sizeof(*img));
}

cadu_manifest *cadu_manifest_free(cadu_manifest *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_images; i++)
                cadu_manifest_image_clear(&m->images[i]);
        free(m->images);
        free(m->compatible);
        free(m->version);
        free(m->description);
        free(m->key_envelope);
        free(m);
        return NULL;
}

const cadu_manifest_image *cadu_manifest_find_image(const cadu_manifest *m, const char *name) {
        for (size_t i = 0; m && name && i < m->n_images; i++)
                if (!strcmp(m->images[i].name, name))
                        return &m->images[i];
        return NULL;
}

const cadu_manifest_image *cadu_manifest_find_class(const cadu_manifest *m, const char *slot_class) {
        for (size_t i = 0; m && slot_class && i < m->n_images; i++)
                if (m->images[i].slot_class && !strcmp(m->images[i].slot_class, slot_class))
                        return &m->images[i];
        return NULL;
}

/* Validate an image's fields; on failure, *why names the key and problem. */
static int image_invalid(const cadu_manifest_image *img, char **ret_error) {
        const char *p, *key;
        if ((p = name_problem(img->name)))
                key = "image name";
        else if ((p = name_problem(img->slot_class)))
                key = "class";
        else if (!image_size_valid(img->size))
                key = "size", p = "must be 1 to 2^50 bytes";
        else if ((p = path_problem(img->index)))
                key = "index";
        else if (!index_size_valid(img->index_size))
                key = "index-size", p = "is not 104 + 40 * chunks bytes (at most 2 GiB)";
        else if (img->store && (p = store_problem(img->store)))
                key = "store";
        else if (img->delta && (p = path_problem(img->delta)))
                key = "delta";
        else if (img->delta && !image_size_valid(img->delta_size))
                key = "delta-size", p = "must be 1 to 2^50 bytes";
        else if (img->full && (p = path_problem(img->full)))
                key = "full";
        else if (img->full && !image_size_valid(img->full_size))
                key = "full-size", p = "must be 1 to 2^50 bytes";
        else
                return 0;
        set_error(ret_error, "image %.64s: %s %s", img->name ? img->name : "(unnamed)", key, p);
        return -EINVAL;
}

static int image_copy(cadu_manifest_image *dst, const cadu_manifest_image *src) {
        *dst = *src;
        dst->name = strdup(src->name);
        dst->slot_class = strdup(src->slot_class);
        dst->index = strdup(src->index);
        dst->store = src->store ? strdup(src->store) : NULL;
        dst->delta = src->delta ? strdup(src->delta) : NULL;
        dst->full = src->full ? strdup(src->full) : NULL;
        if (!src->full) {
                dst->full_size = 0;
                memset(dst->full_sha256, 0, sizeof(dst->full_sha256));
        }
        if (!src->delta) {
                dst->delta_size = 0;
                memset(dst->delta_sha256, 0, sizeof(dst->delta_sha256));
                memset(dst->delta_source_sha256, 0, sizeof(dst->delta_source_sha256));
        }
        if (!dst->name || !dst->slot_class || !dst->index || (src->store && !dst->store) ||
            (src->delta && !dst->delta) || (src->full && !dst->full)) {
                cadu_manifest_image_clear(dst);
                return -ENOMEM;
        }
        return 0;
}

/* Append an empty image slot to m. */
static cadu_manifest_image *images_grow(cadu_manifest *m) {
        cadu_manifest_image *n = realloc(m->images, (m->n_images + 1) * sizeof(*n));
        if (!n)
                return NULL;
        m->images = n;
        memset(&n[m->n_images], 0, sizeof(*n));
        return &n[m->n_images++];
}

int cadu_manifest_add_image(cadu_manifest *m, const cadu_manifest_image *img, char **ret_error) {
        if (!m || !img)
                return -EINVAL;
        int r = image_invalid(img, ret_error);
        if (r < 0)
                return r;
        if (cadu_manifest_find_image(m, img->name)) {
                set_error(ret_error, "image %s: named twice", img->name);
                return -EEXIST;
        }
        const cadu_manifest_image *other = cadu_manifest_find_class(m, img->slot_class);
        if (other) {
                set_error(ret_error, "image %s: slot class '%s' already has image %s (one image per class)",
                          img->name, img->slot_class, other->name);
                return -EEXIST;
        }
        if (m->n_images >= CADU_MANIFEST_MAX_IMAGES) {
                set_error(ret_error, "too many images (at most %d)", CADU_MANIFEST_MAX_IMAGES);
                return -E2BIG;
        }
        cadu_manifest_image tmp;
        r = image_copy(&tmp, img);
        if (r < 0)
                return r;
        cadu_manifest_image *slot = images_grow(m);
        if (!slot) {
                cadu_manifest_image_clear(&tmp);
                return -ENOMEM;
        }
        *slot = tmp;
        return 0;
}

/* ---- parser ---- */

typedef struct parser {
        cadu_manifest *m;
        unsigned line;
        enum { SEC_NONE, SEC_UPDATE, SEC_IMAGE } section;
        unsigned section_line;
        uint32_t seen;          /* keys seen in the current section */
        bool had_update;
        char *error;            /* first error, without the line number */
        unsigned error_line;
} parser;

static int perr(parser *p, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, unsigned line, const char *fmt, ...) {
        if (p->error)
                return -EBADMSG;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&p->error, fmt, ap);
        va_end(ap);
        if (k < 0) {
                p->error = NULL;
                return -ENOMEM;
        }
        p->error_line = line;
        return -EBADMSG;
}

static cadu_manifest_image *current_image(parser *p) {
        return &p->m->images[p->m->n_images - 1];
}

/* Section title for messages. */
static void section_title(parser *p, char *buf, size_t n) {
        if (p->section == SEC_IMAGE)
                snprintf(buf, n, "[image %s]", current_image(p)->name);
        else
                snprintf(buf, n, "[update]");
}

static int end_section(parser *p) {
        char title[NAME_MAX_LEN + 16];
        if (p->section == SEC_NONE)
                return 0;
        section_title(p, title, sizeof(title));
        for (int k = 0; k < K_COUNT; k++)
                if (keys[k].required && keys[k].image == (p->section == SEC_IMAGE) &&
                    !(p->seen & (1u << k)))
                        return perr(p, p->section_line, "%s lacks the key '%s'", title, keys[k].name);
        if (p->section != SEC_IMAGE && (p->seen & ENVELOPE_KEYS) && (p->seen & ENVELOPE_KEYS) != ENVELOPE_KEYS)
                return perr(p, p->section_line,
                            "%s: a key envelope needs all of key-envelope, key-envelope-size and key-envelope-sha256",
                            title);
        if (p->section == SEC_IMAGE && (p->seen & DELTA_KEYS) && (p->seen & DELTA_KEYS) != DELTA_KEYS)
                return perr(p, p->section_line,
                            "%s: a delta needs all of delta, delta-size, delta-sha256 and delta-source-sha256",
                            title);
        if (p->section == SEC_IMAGE && (p->seen & FULL_KEYS) && (p->seen & FULL_KEYS) != FULL_KEYS)
                return perr(p, p->section_line, "%s: a full image needs all of full, full-size and full-sha256",
                            title);
        if (p->section == SEC_IMAGE) {
                const cadu_manifest_image *img = current_image(p);
                for (size_t i = 0; i + 1 < p->m->n_images; i++)
                        if (!strcmp(p->m->images[i].slot_class, img->slot_class))
                                return perr(p, p->section_line,
                                            "%s: slot class '%s' already has [image %s] (one image per class)",
                                            title, img->slot_class, p->m->images[i].name);
        }
        p->section = SEC_NONE;
        p->seen = 0;
        return 0;
}

static int parse_section(parser *p, const char *s, size_t n) {
        /* s is the trimmed line, starting with '[' */
        if (n < 2 || s[n - 1] != ']')
                return perr(p, p->line, "a section header must end with ']'");
        const char *in = s + 1;
        size_t len = n - 2;
        int r = end_section(p);
        if (r < 0)
                return r;
        p->section_line = p->line;
        if (len == 6 && !memcmp(in, "update", 6)) {
                if (p->had_update)
                        return perr(p, p->line, "duplicate section [update]");
                if (p->m->n_images > 0)
                        return perr(p, p->line, "[update] must be the first section");
                p->had_update = true;
                p->section = SEC_UPDATE;
                return 0;
        }
        if (len > 6 && !memcmp(in, "image ", 6)) {
                _cleanup_free_ char *name = strndup(in + 6, len - 6);
                if (!name)
                        return -ENOMEM;
                const char *why = name_problem(name);
                if (why)
                        return perr(p, p->line, "invalid image name '%.64s': %s", name, why);
                if (!p->had_update)
                        return perr(p, p->line, "[update] must be the first section");
                if (cadu_manifest_find_image(p->m, name))
                        return perr(p, p->line, "duplicate section [image %s]", name);
                if (p->m->n_images >= CADU_MANIFEST_MAX_IMAGES)
                        return perr(p, p->line, "too many images (at most %d)", CADU_MANIFEST_MAX_IMAGES);
                cadu_manifest_image *img = images_grow(p->m);
                if (!img)
                        return -ENOMEM;
                img->name = name;
                name = NULL;
                p->section = SEC_IMAGE;
                return 0;
        }
        return perr(p, p->line, "unknown section [%.*s]", (int)CADU_MIN(len, 64), in);
}

static int set_string(parser *p, char **field, const char *key, const char *v, const char *why) {
        if (why)
                return perr(p, p->line, "invalid %s '%.80s': %s", key, v, why);
        *field = strdup(v);
        return *field ? 0 : -ENOMEM;
}

static int set_sha256(parser *p, uint8_t out[CADU_DIGEST_SIZE], const char *key, const char *v) {
        if (parse_sha256(v, out) < 0)
                return perr(p, p->line, "invalid %s '%.80s': must be 64 lower-case hex digits", key, v);
        return 0;
}

static int set_value(parser *p, int k, const char *v) {
        cadu_manifest *m = p->m;
        cadu_manifest_image *img = p->section == SEC_IMAGE ? current_image(p) : NULL;
        const char *key = keys[k].name;
        uint64_t u;
        int r;

        switch (k) {
        case K_FORMAT:
                if ((r = parse_dec(v, &u)) < 0)
                        return perr(p, p->line, "invalid format '%.80s': %s", v, dec_problem(r));
                if (u != CADU_MANIFEST_FORMAT)
                        return perr(p, p->line, "unsupported manifest format %.20s (this cadu reads format %d)",
                                    v, CADU_MANIFEST_FORMAT);
                m->format = (unsigned)u;
                return 0;
        case K_COMPATIBLE:
                return set_string(p, &m->compatible, key, v, compatible_problem(v));
        case K_VERSION:
                return set_string(p, &m->version, key, v,
                                  cadu_manifest_version_valid(v) ? NULL :
                                  "not a version (see \"Versions\" in manifest-format.md)");
        case K_EXPIRES:
                if (cadu_manifest_parse_time(v, &m->expires) < 0)
                        return perr(p, p->line, "invalid expires '%.80s': want YYYY-MM-DDTHH:MM:SSZ (UTC)", v);
                m->has_expires = true;
                return 0;
        case K_DESCRIPTION:
                return set_string(p, &m->description, key, v, description_problem(v));
        case K_KEY_ENVELOPE:
                return set_string(p, &m->key_envelope, key, v, path_problem(v));
        case K_KEY_ENVELOPE_SIZE:
                if ((r = parse_dec(v, &u)) < 0)
                        return perr(p, p->line, "invalid key-envelope-size '%.80s': %s", v, dec_problem(r));
                if (u < 1 || u > ENVELOPE_MAX_SIZE)
                        return perr(p, p->line, "invalid key-envelope-size '%.80s': 1 to 1048576 bytes", v);
                m->key_envelope_size = u;
                return 0;
        case K_KEY_ENVELOPE_SHA256:
                return set_sha256(p, m->key_envelope_sha256, key, v);
        case K_CLASS:
                return set_string(p, &img->slot_class, key, v, name_problem(v));
        case K_INDEX:
                return set_string(p, &img->index, key, v, path_problem(v));
        case K_DELTA:
                return set_string(p, &img->delta, key, v, path_problem(v));
        case K_FULL:
                return set_string(p, &img->full, key, v, path_problem(v));
        case K_STORE:
                return set_string(p, &img->store, key, v, store_problem(v));
        case K_SIZE:
        case K_DELTA_SIZE:
        case K_FULL_SIZE:
                if ((r = parse_dec(v, &u)) == -EINVAL || r == -EDOM)
                        return perr(p, p->line, "invalid %s '%.80s': %s", key, v,
                                    r == -EDOM ? dec_problem(r) : "must be a decimal number of bytes");
                if (r < 0 || !image_size_valid(u))
                        return perr(p, p->line, "invalid %s %.80s: out of range (1 to 2^50 bytes)", key, v);
                *(k == K_SIZE ? &img->size : k == K_DELTA_SIZE ? &img->delta_size : &img->full_size) = u;
                return 0;
        case K_INDEX_SIZE:
                if ((r = parse_dec(v, &u)) < 0)
                        return perr(p, p->line, "invalid index-size '%.80s': %s", v, dec_problem(r));
                if (!index_size_valid(u))
                        return perr(p, p->line, "invalid index-size '%.80s': not 104 + 40 * chunks bytes (at most 2 GiB)", v);
                img->index_size = u;
                return 0;
        case K_SHA256:
                return set_sha256(p, img->sha256, key, v);
        case K_INDEX_SHA256:
                return set_sha256(p, img->index_sha256, key, v);
        case K_DELTA_SHA256:
                return set_sha256(p, img->delta_sha256, key, v);
        case K_DELTA_SOURCE_SHA256:
                return set_sha256(p, img->delta_source_sha256, key, v);
        case K_FULL_SHA256:
                return set_sha256(p, img->full_sha256, key, v);
        case K_STORE_KEY:
                if (strlen(v) != 2 * CADU_MANIFEST_KEY_ID_SIZE || strspn(v, "0123456789abcdef") != strlen(v) ||
                    cadu_hex_decode(v, img->store_key, CADU_MANIFEST_KEY_ID_SIZE) < 0)
                        return perr(p, p->line, "invalid store-key '%.80s': must be 32 lower-case hex digits", v);
                img->encrypted = true;
                return 0;
        }
        return -EINVAL;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static int parse_key_value(parser *p, const char *s, size_t n) {
        const char *eq = memchr(s, '=', n);
        if (!eq)
                return perr(p, p->line, "expected 'key = value', a [section] or a # comment");
        size_t kl = (size_t)(eq - s);
        while (kl > 0 && is_blank(s[kl - 1]))
                kl--;
        const char *v = eq + 1;
        size_t vl = n - (size_t)(v - s);
        while (vl > 0 && is_blank(*v))
                v++, vl--;
        if (kl == 0)
                return perr(p, p->line, "missing key before '='");
        if (p->section == SEC_NONE)
                return perr(p, p->line, "key '%.*s' outside of a section", (int)CADU_MIN(kl, 64), s);

        int k;
        for (k = 0; k < K_COUNT; k++)
                if (keys[k].image == (p->section == SEC_IMAGE) && strlen(keys[k].name) == kl &&
                    !memcmp(keys[k].name, s, kl))
                        break;
        char title[NAME_MAX_LEN + 16];
        section_title(p, title, sizeof(title));
        if (k == K_COUNT)
                return perr(p, p->line, "unknown key '%.*s' in %s", (int)CADU_MIN(kl, 64), s, title);
        if (p->seen & (1u << k))
                return perr(p, p->line, "duplicate key '%s' in %s", keys[k].name, title);
        if (p->section == SEC_UPDATE && k != K_FORMAT && !(p->seen & (1u << K_FORMAT)))
                return perr(p, p->line, "'format' must be the first key of [update]");
        if (vl == 0)
                return perr(p, p->line, "empty value for '%s'", keys[k].name);
        p->seen |= 1u << k;

        _cleanup_free_ char *value = strndup(v, vl);
        if (!value)
                return -ENOMEM;
        return set_value(p, k, value);
}

static int parse_line(parser *p, const char *s, size_t n) {
        if (n > LINE_MAX_LEN)
                return perr(p, p->line, "line longer than %d bytes", LINE_MAX_LEN);
        const char *why = text_problem(s, n);
        if (why)
                return perr(p, p->line, "%s", why);
        while (n > 0 && is_blank(*s))
                s++, n--;
        while (n > 0 && is_blank(s[n - 1]))
                n--;
        if (n == 0 || s[0] == '#' || s[0] == ';')
                return 0;
        if (s[0] == '[')
                return parse_section(p, s, n);
        return parse_key_value(p, s, n);
}

int cadu_manifest_parse(const void *buf, size_t len, cadu_manifest **ret, char **ret_error) {
        parser p = { .line = 0 };
        int r = 0;

        if (ret_error)
                *ret_error = NULL;
        if (!ret || (!buf && len))
                return -EINVAL;
        if (len > CADU_MANIFEST_MAX_SIZE) {
                set_error(ret_error, "manifest larger than %d bytes", CADU_MANIFEST_MAX_SIZE);
                return -EBADMSG;
        }
        p.m = cadu_manifest_new();
        if (!p.m)
                return -ENOMEM;

        const char *s = buf;
        size_t pos = 0;
        if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
                r = perr(&p, 1, "UTF-8 byte order mark (BOM) not allowed");
        while (r == 0 && pos < len) {
                const char *nl = memchr(s + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - s) : len;
                p.line++;
                r = parse_line(&p, s + pos, end - pos);
                pos = end + 1;
        }
        if (r == 0)
                r = end_section(&p);
        if (r == 0 && !p.had_update)
                r = perr(&p, 0, "no [update] section (not a cadu manifest)");
        if (r == 0 && p.m->n_images == 0)
                r = perr(&p, 0, "no [image NAME] section");

        if (r < 0) {
                if (ret_error && p.error) {
                        if (p.error_line > 0)
                                set_error(ret_error, "line %u: %s", p.error_line, p.error);
                        else {
                                *ret_error = p.error;
                                p.error = NULL;
                        }
                }
                free(p.error);
                cadu_manifest_free(p.m);
                return r;
        }
        *ret = p.m;
        return 0;
}

/* ---- writer ---- */

static void put_sha256(FILE *f, const char *key, const uint8_t d[CADU_DIGEST_SIZE]) {
        char hex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(d, CADU_DIGEST_SIZE, hex);
        fprintf(f, "%s = %s\n", key, hex);
}

int cadu_manifest_format(const cadu_manifest *m, char **ret, size_t *ret_len, char **ret_error) {
        const char *why;
        char when[CADU_MANIFEST_TIME_MAX];
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!m || !ret)
                return -EINVAL;
        if (m->format != CADU_MANIFEST_FORMAT)
                return set_error(ret_error, "unsupported manifest format %u", m->format), -EINVAL;
        if ((why = compatible_problem(m->compatible)))
                return set_error(ret_error, "compatible: %s", why), -EINVAL;
        if (!cadu_manifest_version_valid(m->version))
                return set_error(ret_error, "version '%.80s' is not a version (see \"Versions\" in manifest-format.md)",
                                 m->version ? m->version : ""), -EINVAL;
        if (m->has_expires && cadu_manifest_format_time(m->expires, when) < 0)
                return set_error(ret_error, "expires is out of range"), -EINVAL;
        if (m->description && (why = description_problem(m->description)))
                return set_error(ret_error, "description: %s", why), -EINVAL;
        if (m->key_envelope && (why = path_problem(m->key_envelope)))
                return set_error(ret_error, "key-envelope %s", why), -EINVAL;
        if (m->key_envelope && (m->key_envelope_size < 1 || m->key_envelope_size > ENVELOPE_MAX_SIZE))
                return set_error(ret_error, "key-envelope-size must be 1 to 1048576 bytes"), -EINVAL;
        if (m->n_images == 0 || m->n_images > CADU_MANIFEST_MAX_IMAGES)
                return set_error(ret_error, "a manifest needs 1 to %d images", CADU_MANIFEST_MAX_IMAGES), -EINVAL;
        for (size_t i = 0; i < m->n_images; i++) {
                if ((r = image_invalid(&m->images[i], ret_error)) < 0)
                        return r;
                for (size_t j = 0; j < i; j++) {
                        if (!strcmp(m->images[i].name, m->images[j].name))
                                return set_error(ret_error, "image %s: named twice", m->images[i].name), -EINVAL;
                        if (!strcmp(m->images[i].slot_class, m->images[j].slot_class))
                                return set_error(ret_error, "image %s: slot class '%s' already has image %s",
                                                 m->images[i].name, m->images[i].slot_class, m->images[j].name),
                                       -EINVAL;
                }
        }

        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "[update]\nformat = %u\ncompatible = %s\nversion = %s\n",
                m->format, m->compatible, m->version);
        if (m->has_expires)
                fprintf(f, "expires = %s\n", when);
        if (m->description)
                fprintf(f, "description = %s\n", m->description);
        if (m->key_envelope) {
                fprintf(f, "key-envelope = %s\nkey-envelope-size = %llu\n", m->key_envelope,
                        (unsigned long long)m->key_envelope_size);
                put_sha256(f, "key-envelope-sha256", m->key_envelope_sha256);
        }
        for (size_t i = 0; i < m->n_images; i++) {
                const cadu_manifest_image *img = &m->images[i];
                fprintf(f, "\n[image %s]\nclass = %s\nsize = %llu\n", img->name, img->slot_class,
                        (unsigned long long)img->size);
                put_sha256(f, "sha256", img->sha256);
                fprintf(f, "index = %s\nindex-size = %llu\n", img->index, (unsigned long long)img->index_size);
                put_sha256(f, "index-sha256", img->index_sha256);
                if (img->store)
                        fprintf(f, "store = %s\n", img->store);
                if (img->encrypted) {
                        char hex[2 * CADU_MANIFEST_KEY_ID_SIZE + 1];
                        cadu_hex_encode(img->store_key, CADU_MANIFEST_KEY_ID_SIZE, hex);
                        fprintf(f, "store-key = %s\n", hex);
                }
                if (img->delta) {
                        fprintf(f, "delta = %s\ndelta-size = %llu\n", img->delta,
                                (unsigned long long)img->delta_size);
                        put_sha256(f, "delta-sha256", img->delta_sha256);
                        put_sha256(f, "delta-source-sha256", img->delta_source_sha256);
                }
                if (img->full) {
                        fprintf(f, "full = %s\nfull-size = %llu\n", img->full, (unsigned long long)img->full_size);
                        put_sha256(f, "full-sha256", img->full_sha256);
                }
        }
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* ---- policy ---- */

int cadu_manifest_check_policy(const cadu_manifest *m, const char *compatible,
                               const char *installed_version, bool allow_downgrade,
                               int64_t now, char **ret_error) {
        if (ret_error)
                *ret_error = NULL;
        if (!m)
                return -EINVAL;
        if (compatible && strcmp(m->compatible, compatible) != 0) {
                set_error(ret_error, "manifest is for '%s', not for this device ('%s')", m->compatible, compatible);
                return -EPERM;
        }
        if (installed_version && !allow_downgrade) {
                int c;
                if (cadu_manifest_version_compare(m->version, installed_version, &c) < 0) {
                        set_error(ret_error, "installed version '%.80s' is not a valid version", installed_version);
                        return -EINVAL;
                }
                if (c <= 0) {
                        set_error(ret_error, "version %s is %s the installed version %s (rollback refused)",
                                  m->version, c < 0 ? "older than" : "the same as", installed_version);
                        return -EPERM;
                }
        }
        if (m->has_expires && now >= m->expires) {
                char when[CADU_MANIFEST_TIME_MAX] = "?";
                (void)cadu_manifest_format_time(m->expires, when);
                set_error(ret_error, "manifest expired at %s", when);
                return -EPERM;
        }
        return 0;
}

int cadu_manifest_check_classes(const cadu_manifest *m, const char *const *classes, size_t n,
                                char **ret_error) {
        if (ret_error)
                *ret_error = NULL;
        if (!m || (!classes && n))
                return -EINVAL;
        for (size_t i = 0; i < m->n_images; i++) {
                size_t k = 0;
                while (k < n && strcmp(classes[k], m->images[i].slot_class) != 0)
                        k++;
                if (k == n) {
                        set_error(ret_error, "image %s is for slot class '%s', which this device does not have",
                                  m->images[i].name, m->images[i].slot_class);
                        return -EPERM;
                }
        }
        for (size_t k = 0; k < n; k++)
                if (!cadu_manifest_find_class(m, classes[k])) {
                        set_error(ret_error,
                                  "no image for slot class '%s': a release must name every slot class of the device",
                                  classes[k]);
                        return -EPERM;
                }
        return 0;
}
