/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the manifest parser, writer, version order and policy. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadu-manifest.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

#define UPDATE "[update]\nformat = 1\ncompatible = acme,board-v2\nversion = 1.4.0\n"
#define IMAGE_KEYS_BUT_CLASS "size = 4096\nsha256 = " H1 "\nindex = rootfs.caibx\nindex-size = 144\nindex-sha256 = " H2 "\n"
#define IMAGE_KEYS "class = rootfs\n" IMAGE_KEYS_BUT_CLASS
#define IMAGE "\n[image rootfs]\n" IMAGE_KEYS

/* The canonical form of a full manifest (what the writer produces). */
static const char canonical[] =
        "[update]\n"
        "format = 1\n"
        "compatible = acme,board-v2\n"
        "version = 2.0.0-rc.1+build.7\n"
        "expires = 2027-01-01T00:00:00Z\n"
        "description = Spring release — ünïcode ok\n"
        "\n"
        "[image rootfs]\n"
        "class = rootfs\n"
        "size = 268435456\n"
        "sha256 = " H1 "\n"
        "index = releases/2.0/rootfs.caibx\n"
        "index-size = 1704\n"
        "index-sha256 = " H2 "\n"
        "store = https://cdn.example.com/store?token=a:b\n"
        "delta = rootfs.rdiff\n"
        "delta-size = 123\n"
        "delta-sha256 = " H3 "\n"
        "delta-source-sha256 = " H2 "\n"
        "\n"
        "[image kernel]\n"
        "class = kernel\n"
        "size = 1125899906842624\n"
        "sha256 = " H3 "\n"
        "index = kernel.caibx\n"
        "index-size = 104\n"
        "index-sha256 = " H1 "\n";

static cadu_manifest *parse_ok(const char *text) {
        cadu_manifest *m = NULL;
        char *err = NULL;
        int r = cadu_manifest_parse(text, strlen(text), &m, &err);
        ck_assert_msg(r == 0, "parse failed (%d): %s\n%s", r, err ? err : "", text);
        ck_assert_ptr_null(err);
        return m;
}

START_TEST(parse_full) {
        cadu_manifest *m = parse_ok(canonical);
        ck_assert_uint_eq(m->format, 1);
        ck_assert_str_eq(m->compatible, "acme,board-v2");
        ck_assert_str_eq(m->version, "2.0.0-rc.1+build.7");
        ck_assert(m->has_expires);
        ck_assert_int_eq(m->expires, 1798761600);
        ck_assert_str_eq(m->description, "Spring release — ünïcode ok");
        ck_assert_uint_eq(m->n_images, 2);
        const cadu_manifest_image *r = cadu_manifest_find_image(m, "rootfs");
        ck_assert_ptr_eq(r, &m->images[0]);
        ck_assert_str_eq(r->slot_class, "rootfs");
        ck_assert_uint_eq(r->size, 268435456);
        ck_assert_uint_eq(r->sha256[0], 0x11);
        ck_assert_str_eq(r->index, "releases/2.0/rootfs.caibx");
        ck_assert_uint_eq(r->index_size, 1704);
        ck_assert_uint_eq(r->index_sha256[31], 0x22);
        ck_assert_str_eq(r->store, "https://cdn.example.com/store?token=a:b");
        ck_assert_str_eq(r->delta, "rootfs.rdiff");
        ck_assert_uint_eq(r->delta_size, 123);
        ck_assert_uint_eq(r->delta_sha256[5], 0xaa);
        ck_assert_uint_eq(r->delta_source_sha256[5], 0x22);
        const cadu_manifest_image *k = cadu_manifest_find_image(m, "kernel");
        ck_assert_uint_eq(k->size, CADU_MANIFEST_MAX_IMAGE_SIZE);
        ck_assert_ptr_null(k->store);
        ck_assert_ptr_null(k->delta);
        ck_assert_ptr_null(cadu_manifest_find_image(m, "app"));

        /* Writer output is byte for byte the canonical text. */
        char *text = NULL, *err = NULL;
        size_t len = 0;
        ck_assert_int_eq(cadu_manifest_format(m, &text, &len, &err), 0);
        ck_assert_uint_eq(len, strlen(canonical));
        ck_assert_str_eq(text, canonical);
        free(text);
        cadu_manifest_free(m);
        ck_assert_ptr_null(cadu_manifest_free(NULL));
}
END_TEST

START_TEST(parse_lenient_layout) {
        /* Comments, blank lines, indentation, spacing and no final newline. */
        cadu_manifest *m = parse_ok(
                "# a release\n; another comment\n\n  [update]  \n"
                "format=1\n\tcompatible   =   x y z\nversion = 7\n"
                "\n[image a.b_c-d]\n  class = app \nsize = 1\nsha256 = " H1 "\n"
                "index = a\nindex-size = 184\nindex-sha256 = " H2);
        ck_assert_str_eq(m->compatible, "x y z");
        ck_assert_str_eq(m->images[0].name, "a.b_c-d");
        ck_assert_str_eq(m->images[0].slot_class, "app");
        ck_assert(!m->has_expires);
        ck_assert_ptr_null(m->description);
        cadu_manifest_free(m);
}
END_TEST

/* Each invalid manifest fails with -EBADMSG and a message containing want. */
static const struct {
        const char *text;
        const char *want;
} invalid[] = {
        { "", "no [update] section" },
        { "# only a comment\n", "no [update] section" },
        { UPDATE, "no [image NAME] section" },
        { "format = 1\n", "line 1: key 'format' outside of a section" },
        { IMAGE UPDATE, "line 2: [update] must be the first section" },
        { UPDATE "[update]\n", "line 5: duplicate section [update]" },
        { UPDATE IMAGE "[image rootfs]\n" IMAGE_KEYS, "line 13: duplicate section [image rootfs]" },
        { UPDATE "[images x]\n", "line 5: unknown section [images x]" },
        { UPDATE "[image]\n", "line 5: unknown section [image]" },
        { UPDATE "[image ../x]\n", "line 5: invalid image name '../x'" },
        { UPDATE "[image -x]\n", "must start with a letter or digit" },
        { UPDATE "[image x\n", "line 5: a section header must end with ']'" },
        { "[update]\ncompatible = x\n", "line 2: 'format' must be the first key of [update]" },
        { "[update]\nformat = 2\n", "line 2: unsupported manifest format 2" },
        { "[update]\nformat = 01\n", "line 2: invalid format '01'" },
        { "[update]\nformat = 1\nformat = 1\n", "line 3: duplicate key 'format' in [update]" },
        { UPDATE "compatible = y\n", "line 5: duplicate key 'compatible' in [update]" },
        { UPDATE "colour = blue\n", "line 5: unknown key 'colour' in [update]" },
        { UPDATE "class = rootfs\n", "line 5: unknown key 'class' in [update]" },
        { UPDATE IMAGE "version = 1\n", "line 13: unknown key 'version' in [image rootfs]" },
        { UPDATE IMAGE "class = kernel\n", "line 13: duplicate key 'class' in [image rootfs]" },
        { UPDATE IMAGE "\n[image second]\n" IMAGE_KEYS,
          "line 14: [image second]: slot class 'rootfs' already has [image rootfs] (one image per class)" },
        { UPDATE "just text\n", "line 5: expected 'key = value'" },
        { UPDATE " = x\n", "line 5: missing key before '='" },
        { UPDATE "description =\n", "line 5: empty value for 'description'" },
        { "[update]\nformat = 1\nversion = 1\n" IMAGE, "line 1: [update] lacks the key 'compatible'" },
        { "[update]\nformat = 1\ncompatible = c\n" IMAGE, "lacks the key 'version'" },
        { UPDATE "\n[image r]\nclass = rootfs\n", "line 6: [image r] lacks the key 'size'" },
        { UPDATE "version = 1.0\n", "duplicate key 'version'" },
        { "[update]\nformat = 1\ncompatible = c\nversion = 1.02\n" IMAGE, "line 4: invalid version '1.02'" },
        { "[update]\nformat = 1\ncompatible = c\nversion = v1\n" IMAGE, "line 4: invalid version 'v1'" },
        { UPDATE "expires = 2027-02-29T00:00:00Z\n" IMAGE, "line 5: invalid expires" },
        { UPDATE "expires = 2027-01-01 00:00:00\n" IMAGE, "want YYYY-MM-DDTHH:MM:SSZ" },
        { "[update]\nformat = 1\ncompatible = c\td\n", "line 3: invalid compatible" },
        { UPDATE "description = a\rb\n", "line 5: carriage return" },
        { UPDATE "description = a\x01z\n", "line 5: control character" },
        { UPDATE "description = \xff\xfe\n", "line 5: invalid UTF-8" },
        { UPDATE "description = \xc0\xaf\n", "line 5: invalid UTF-8" },
        { UPDATE "description = \xed\xa0\x80\n", "line 5: invalid UTF-8" },
        { "[update]\x00\nformat = 1\n", "line 1: control character" },
        { "\xef\xbb\xbf[update]\nformat = 1\n", "line 1: UTF-8 byte order mark (BOM) not allowed" },
        /* Values of images. */
        { UPDATE "[image r]\nclass = root fs\n", "line 6: invalid class 'root fs'" },
        { UPDATE "[image r]\nclass = r\nsize = 0\n", "line 7: invalid size 0: out of range" },
        { UPDATE "[image r]\nclass = r\nsize = 1125899906842625\n", "line 7: invalid size 1125899906842625: out of range" },
        { UPDATE "[image r]\nclass = r\nsize = 99999999999999999999999\n", "out of range" },
        { UPDATE "[image r]\nclass = r\nsize = 1e9\n", "line 7: invalid size '1e9': must be a decimal" },
        { UPDATE "[image r]\nclass = r\nsize = -1\n", "must be a decimal" },
        { UPDATE "[image r]\nclass = r\nsize = +1\n", "must be a decimal" },
        { UPDATE "[image r]\nclass = r\nsize = 007\n", "line 7: invalid size '007': a leading zero is not allowed" },
        { UPDATE "[image r]\nsha256 = " H1 "0\n", "line 6: invalid sha256" },
        { UPDATE "[image r]\nsha256 = " "ABCDEF1111111111111111111111111111111111111111111111111111111111" "\n",
          "must be 64 lower-case hex digits" },
        { UPDATE "[image r]\nsha256 = 111111111111111111111111111111111111111111111111111111111111111g\n",
          "must be 64 lower-case hex digits" },
        { UPDATE "[image r]\nindex = ../x.caibx\n", "line 6: invalid index '../x.caibx': must not contain '..'" },
        { UPDATE "[image r]\nindex = a/../../x\n", "must not contain '..'" },
        { UPDATE "[image r]\nindex = a/..\n", "must not contain '..'" },
        { UPDATE "[image r]\nindex = /etc/x\n", "line 6: invalid index '/etc/x': must be a relative path" },
        { UPDATE "[image r]\nindex = a//b\n", "empty path component" },
        { UPDATE "[image r]\nindex = a/\n", "empty path component" },
        { UPDATE "[image r]\nindex = ./a\n", "a '.' component" },
        { UPDATE "[image r]\nindex = a b\n", "may contain only" },
        { UPDATE "[image r]\nindex = a\\b\n", "may contain only" },
        { UPDATE "[image r]\nindex = ~/x\n", "may contain only" },
        { UPDATE "[image r]\nindex-size = 105\n", "line 6: invalid index-size '105'" },
        { UPDATE "[image r]\nindex-size = 64\n", "invalid index-size" },
        { UPDATE "[image r]\nindex-size = 2147483784\n", "invalid index-size" },
        { UPDATE "[image r]\nstore = ../store\n", "line 6: invalid store '../store'" },
        { UPDATE "[image r]\nstore = ftp://x/y\n", "may contain only" },
        { UPDATE "[image r]\nstore = https://\n", "not a valid http(s) URL" },
        { UPDATE "[image r]\nstore = https:///x\n", "not a valid http(s) URL" },
        { UPDATE "[image r]\nstore = http://a b/\n", "not a valid http(s) URL" },
        { UPDATE "[image r]\ndelta = /x.rdiff\n", "invalid delta" },
        { UPDATE "[image r]\ndelta-size = 0\n", "invalid delta-size 0" },
        { UPDATE "\n[image r]\n" IMAGE_KEYS "delta = r.rdiff\n",
          "line 6: [image r]: a delta needs all of delta, delta-size, delta-sha256 and delta-source-sha256" },
        { UPDATE "\n[image r]\n" IMAGE_KEYS "delta-sha256 = " H1 "\n", "a delta needs all of" },
};

START_TEST(parse_invalid) {
        const char *text = invalid[_i].text;
        size_t len = strlen(text);
        if (!strncmp(text, "[update]\x00", 9))
                len = 20;       /* the embedded NUL */
        cadu_manifest *m = NULL;
        char *err = NULL;
        int r = cadu_manifest_parse(text, len, &m, &err);
        ck_assert_msg(r == -EBADMSG, "case %d: r=%d\n%s", _i, r, text);
        ck_assert_ptr_null(m);
        ck_assert_msg(err && strstr(err, invalid[_i].want), "case %d: got '%s', want '%s'", _i,
                      err ? err : "(null)", invalid[_i].want);
        free(err);
}
END_TEST

START_TEST(parse_limits) {
        /* Larger than the maximum manifest. */
        size_t big = CADU_MANIFEST_MAX_SIZE + 1;
        char *buf = malloc(big);
        ck_assert_ptr_nonnull(buf);
        memset(buf, '#', big);
        cadu_manifest *m = NULL;
        char *err = NULL;
        ck_assert_int_eq(cadu_manifest_parse(buf, big, &m, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "larger than"));
        free(err);
        /* A line longer than 4096 bytes. */
        memcpy(buf, "[update]\n", 9);
        buf[9 + 5000] = '\n';
        ck_assert_int_eq(cadu_manifest_parse(buf, 9 + 5001, &m, &err), -EBADMSG);
        ck_assert_str_eq(err, "line 2: line longer than 4096 bytes");
        free(err);
        free(buf);

        /* 64 images are fine, 65 are not. */
        FILE *f;
        char *text = NULL;
        size_t len = 0;
        for (int n = 64; n <= 65; n++) {
                f = open_memstream(&text, &len);
                fputs(UPDATE, f);
                for (int i = 0; i < n; i++)
                        fprintf(f, "[image i%d]\nclass = c%d\n" IMAGE_KEYS_BUT_CLASS, i, i);
                fclose(f);
                int r = cadu_manifest_parse(text, len, &m, &err);
                if (n == 64) {
                        ck_assert_int_eq(r, 0);
                        ck_assert_uint_eq(m->n_images, 64);
                        m = cadu_manifest_free(m);
                } else {
                        ck_assert_int_eq(r, -EBADMSG);
                        ck_assert_ptr_nonnull(strstr(err, "too many images"));
                        free(err);
                }
                free(text);
        }
        /* Error output is optional. */
        ck_assert_int_eq(cadu_manifest_parse("x", 1, &m, NULL), -EBADMSG);
        ck_assert_int_eq(cadu_manifest_parse(NULL, 1, &m, NULL), -EINVAL);
}
END_TEST

START_TEST(writer_validates) {
        cadu_manifest *m = cadu_manifest_new();
        char *text = NULL, *err = NULL;
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(cadu_manifest_format(m, &text, NULL, &err), -EINVAL);
        ck_assert_str_eq(err, "compatible: must be 1 to 255 characters");
        free(err);
        m->compatible = strdup("c");
        m->version = strdup("1.0");
        ck_assert_int_eq(cadu_manifest_format(m, &text, NULL, &err), -EINVAL);
        ck_assert_str_eq(err, "a manifest needs 1 to 64 images");
        free(err);

        cadu_manifest_image img = {
                .name = "rootfs", .slot_class = "rootfs", .size = 10, .index = "r.caibx", .index_size = 144,
        };
        ck_assert_int_eq(cadu_manifest_add_image(m, &img, &err), 0);
        ck_assert_int_eq(cadu_manifest_add_image(m, &img, &err), -EEXIST);
        ck_assert_str_eq(err, "image rootfs: named twice");
        free(err);
        img.name = "second";
        ck_assert_int_eq(cadu_manifest_add_image(m, &img, &err), -EEXIST);
        ck_assert_str_eq(err, "image second: slot class 'rootfs' already has image rootfs (one image per class)");
        free(err);
        img.name = "other";
        img.index = "../r.caibx";
        ck_assert_int_eq(cadu_manifest_add_image(m, &img, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "image other: index must not contain '..'"));
        free(err);
        img.index = "r.caibx";
        img.size = CADU_MANIFEST_MAX_IMAGE_SIZE + 1;
        ck_assert_int_eq(cadu_manifest_add_image(m, &img, &err), -EINVAL);
        ck_assert_str_eq(err, "image other: size must be 1 to 2^50 bytes");
        free(err);
        img.size = 1;
        img.delta = "d";
        img.delta_size = 0;
        ck_assert_int_eq(cadu_manifest_add_image(m, &img, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "delta-size"));
        free(err);

        /* A value that would inject a line is refused, not written. */
        m->description = strdup("x\n[image evil]");
        ck_assert_int_eq(cadu_manifest_format(m, &text, NULL, &err), -EINVAL);
        ck_assert_str_eq(err, "description: control character");
        free(err);
        free(m->description);
        m->description = NULL;
        free(m->version);
        m->version = strdup("1.0-");
        ck_assert_int_eq(cadu_manifest_format(m, &text, NULL, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "version '1.0-' is not a version"));
        free(err);
        free(m->version);
        m->version = strdup("1.0");
        m->has_expires = true;
        m->expires = -1;
        ck_assert_int_eq(cadu_manifest_format(m, &text, NULL, &err), -EINVAL);
        free(err);
        m->expires = 0;

        /* A valid one reads back equal. */
        size_t len;
        ck_assert_int_eq(cadu_manifest_format(m, &text, &len, &err), 0);
        cadu_manifest *back = parse_ok(text);
        ck_assert_str_eq(back->images[0].index, "r.caibx");
        ck_assert(back->has_expires);
        ck_assert_int_eq(back->expires, 0);
        ck_assert_ptr_null(back->images[0].delta);
        cadu_manifest_free(back);
        free(text);
        cadu_manifest_free(m);
}
END_TEST

/* Versions in strictly increasing order (entries in one group are equal). */
static const char *const version_order[][3] = {
        { "0" },
        { "0.0.1" },
        { "0.9.99" },
        { "1.0.0-0" },
        { "1.0.0-1" },
        { "1.0.0-2" },
        { "1.0.0-10" },
        { "1.0.0-alpha" },
        { "1.0.0-alpha.1" },
        { "1.0.0-alpha.beta" },
        { "1.0.0-beta" },
        { "1.0.0-beta.2" },
        { "1.0.0-beta.11" },
        { "1.0.0-rc.1", "1-rc.1", "1.0.0-rc.1+b" },
        { "1", "1.0", "1.0.0+build.5" },
        { "1.0.0.1" },
        { "1.2" },
        { "1.10" },
        { "2.0.0-rc-1" },
        { "2.0.0" },
        { "10.0.0" },
        { "2024.5" },
        { "20240501" },
        { "99999999999999999999" },
        { "99999999999999999999.1" },
};

START_TEST(version_ordering) {
        size_t n = CADU_ELEMENTSOF(version_order);
        for (size_t i = 0; i < n; i++)
                for (size_t a = 0; a < 3 && version_order[i][a]; a++)
                        for (size_t j = 0; j < n; j++)
                                for (size_t b = 0; b < 3 && version_order[j][b]; b++) {
                                        const char *x = version_order[i][a], *y = version_order[j][b];
                                        int c = 99;
                                        ck_assert_msg(cadu_manifest_version_compare(x, y, &c) == 0, "%s %s", x, y);
                                        int want = i < j ? -1 : i > j ? 1 : 0;
                                        ck_assert_msg(c == want, "compare(%s, %s) = %d, want %d", x, y, c, want);
                                }
}
END_TEST

START_TEST(version_invalid) {
        static const char *const bad[] = {
                "", "v1", "1.", ".1", "1..2", "01", "1.02", "1.0.0-", "1.0.0+", "1.0.0-01",
                "1.0.0-a..b", "1.0.0-a.", "1.0.0+a..b", "1 .0", "1.0 ", "1.0.0-ä", "1_0",
                "1.2.3.4.5.6.7.8.9", "123456789012345678901", "1.0.0-a+b+c", "-1", "+1", "1+a+b",
                NULL,
        };
        int c;
        for (size_t i = 0; bad[i]; i++) {
                ck_assert_msg(!cadu_manifest_version_valid(bad[i]), "'%s' accepted", bad[i]);
                ck_assert_int_eq(cadu_manifest_version_compare(bad[i], "1", &c), -EINVAL);
                ck_assert_int_eq(cadu_manifest_version_compare("1", bad[i], &c), -EINVAL);
        }
        ck_assert(!cadu_manifest_version_valid(NULL));
        char longv[200];
        memset(longv, 0, sizeof(longv));
        strcpy(longv, "1.0.0-");
        memset(longv + 6, 'a', 122);
        ck_assert(cadu_manifest_version_valid(longv));  /* 128 bytes */
        longv[128] = 'a';
        ck_assert(!cadu_manifest_version_valid(longv));
        ck_assert(cadu_manifest_version_valid("1.2.3.4.5.6.7.8"));
        ck_assert(cadu_manifest_version_valid("1.0.0-x-y.0.a0+001.-"));
}
END_TEST

START_TEST(times) {
        static const struct { const char *s; int64_t t; } good[] = {
                { "1970-01-01T00:00:00Z", 0 },
                { "2000-02-29T12:34:56Z", 951827696 },
                { "2027-01-01T00:00:00Z", 1798761600 },
                { "2038-01-19T03:14:08Z", INT64_C(2147483648) },
                { "9999-12-31T23:59:59Z", INT64_C(253402300799) },
        };
        char buf[CADU_MANIFEST_TIME_MAX];
        for (size_t i = 0; i < CADU_ELEMENTSOF(good); i++) {
                int64_t t = -1;
                ck_assert_int_eq(cadu_manifest_parse_time(good[i].s, &t), 0);
                ck_assert_int_eq(t, good[i].t);
                ck_assert_int_eq(cadu_manifest_format_time(t, buf), 0);
                ck_assert_str_eq(buf, good[i].s);
        }
        static const char *const bad[] = {
                "1969-12-31T23:59:59Z", "2027-13-01T00:00:00Z", "2027-00-01T00:00:00Z",
                "2027-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2027-04-31T00:00:00Z",
                "2027-01-01T24:00:00Z", "2027-01-01T00:60:00Z", "2027-01-01T00:00:60Z",
                "2027-01-01T00:00:00", "2027-01-01t00:00:00Z", "2027-01-01T00:00:00+00:00",
                "2027-1-01T00:00:00Z", "+027-01-01T00:00:00Z", "2027-01-01T00:00:00Zx", "", NULL,
        };
        int64_t t;
        for (size_t i = 0; bad[i]; i++)
                ck_assert_msg(cadu_manifest_parse_time(bad[i], &t) == -EINVAL, "'%s' accepted", bad[i]);
        ck_assert_int_eq(cadu_manifest_format_time(-1, buf), -ERANGE);
        ck_assert_int_eq(cadu_manifest_format_time(INT64_C(253402300800), buf), -ERANGE);
}
END_TEST

START_TEST(paths_and_urls) {
        ck_assert(cadu_manifest_path_valid("a"));
        ck_assert(cadu_manifest_path_valid("a/b.c/..d/e..f/.g"));
        ck_assert(!cadu_manifest_path_valid(".."));
        ck_assert(!cadu_manifest_path_valid("a/../b"));
        ck_assert(!cadu_manifest_path_valid("/a"));
        ck_assert(!cadu_manifest_path_valid(""));
        ck_assert(!cadu_manifest_path_valid(NULL));
        ck_assert(!cadu_manifest_path_valid("a:b"));
        ck_assert(cadu_manifest_is_url("https://h/p?q=1#f"));
        ck_assert(cadu_manifest_is_url("http://[::1]:8080/s"));
        ck_assert(!cadu_manifest_is_url("https://"));
        ck_assert(!cadu_manifest_is_url("HTTPS://h/"));
        ck_assert(!cadu_manifest_is_url("file:///etc"));
        ck_assert(!cadu_manifest_is_url("https://h/a\"b"));

        static const struct { const char *loc, *name, *want; } res[] = {
                { "m.txt", "r.caibx", "r.caibx" },
                { "/rel/m.txt", "r.caibx", "/rel/r.caibx" },
                { "a/b/m.txt", "x/r.caibx", "a/b/x/r.caibx" },
                { "a/b/m.txt", "https://cdn/s", "https://cdn/s" },
                { "https://h/r/m.txt", "r.caibx", "https://h/r/r.caibx" },
                { "https://h/r/m.txt?sig=a/b", "r.caibx", "https://h/r/r.caibx" },
                { "https://h", "r.caibx", "https://h/r.caibx" },
                { "https://h?x=/y", "r.caibx", "https://h/r.caibx" },
        };
        for (size_t i = 0; i < CADU_ELEMENTSOF(res); i++) {
                char *s = NULL;
                ck_assert_int_eq(cadu_manifest_resolve(res[i].loc, res[i].name, &s), 0);
                ck_assert_str_eq(s, res[i].want);
                free(s);
        }
}
END_TEST

START_TEST(classes) {
        cadu_manifest *m = parse_ok(canonical);   /* rootfs and kernel */
        char *err = NULL;
        const char *both[] = { "kernel", "rootfs" }, *more[] = { "rootfs", "kernel", "app" };
        ck_assert_ptr_eq(cadu_manifest_find_class(m, "kernel"), &m->images[1]);
        ck_assert_ptr_null(cadu_manifest_find_class(m, "app"));
        ck_assert_int_eq(cadu_manifest_check_classes(m, both, 2, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_classes(m, more, 3, &err), -EPERM);
        ck_assert_str_eq(err, "no image for slot class 'app': a release must name every slot class of the device");
        free(err);
        ck_assert_int_eq(cadu_manifest_check_classes(m, both + 1, 1, &err), -EPERM);
        ck_assert_str_eq(err, "image kernel is for slot class 'kernel', which this device does not have");
        free(err);
        cadu_manifest_free(m);
}
END_TEST

START_TEST(policy) {
        cadu_manifest *m = parse_ok(canonical);   /* 2.0.0-rc.1, expires 1798761600 */
        char *err = NULL;
        int64_t now = 1700000000;
        ck_assert_int_eq(cadu_manifest_check_policy(m, "acme,board-v2", "1.9", false, now, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, NULL, false, now, &err), 0);

        ck_assert_int_eq(cadu_manifest_check_policy(m, "acme,board-v3", NULL, false, now, &err), -EPERM);
        ck_assert_str_eq(err, "manifest is for 'acme,board-v2', not for this device ('acme,board-v3')");
        free(err);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, "2.0.0", false, now, &err), -EPERM);
        ck_assert_str_eq(err, "version 2.0.0-rc.1+build.7 is older than the installed version 2.0.0 (rollback refused)");
        free(err);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, "2.0.0-rc.1", false, now, &err), -EPERM);
        ck_assert_ptr_nonnull(strstr(err, "is the same as the installed version"));
        free(err);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, "2.0.0-rc.0", false, now, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, "3", true, now, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, "x", false, now, &err), -EINVAL);
        ck_assert_str_eq(err, "installed version 'x' is not a valid version");
        free(err);

        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, NULL, false, 1798761599, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_policy(m, NULL, NULL, false, 1798761600, &err), -EPERM);
        ck_assert_str_eq(err, "manifest expired at 2027-01-01T00:00:00Z");
        free(err);
        ck_assert_int_eq(cadu_manifest_check_policy(NULL, NULL, NULL, false, 0, NULL), -EINVAL);
        cadu_manifest_free(m);
}
END_TEST

START_TEST(pinned_data) {
        /* sha256("abc") */
        uint8_t abc[CADU_DIGEST_SIZE];
        ck_assert_int_eq(cadu_hex_decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                                         abc, sizeof(abc)), 0);
        char *err = NULL;
        ck_assert_int_eq(cadu_manifest_check_data("abc", 3, 3, abc, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_data("abd", 3, 3, abc, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "sha256 mismatch: "));
        ck_assert_ptr_nonnull(strstr(err, "the manifest pins ba7816bf"));
        free(err);
        ck_assert_int_eq(cadu_manifest_check_data("abcd", 4, 3, abc, &err), -EBADMSG);
        ck_assert_str_eq(err, "size mismatch: 4 bytes, the manifest pins 3");
        free(err);

        char path[] = "/tmp/cadu-manifest-unit.XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "abc", 3), 3);
        close(fd);
        ck_assert_int_eq(cadu_manifest_check_file(path, 3, abc, &err), 0);
        ck_assert_int_eq(cadu_manifest_check_file(path, 2, abc, &err), -EBADMSG);
        ck_assert_str_eq(err, "size mismatch: 3 bytes, the manifest pins 2");
        free(err);
        abc[0] ^= 1;
        ck_assert_int_eq(cadu_manifest_check_file(path, 3, abc, &err), -EBADMSG);
        free(err);
        unlink(path);
        ck_assert_int_eq(cadu_manifest_check_file(path, 3, abc, &err), -ENOENT);
}
END_TEST

START_TEST(pinned_index) {
        /* A real index of 2 chunks describing 300 bytes. */
        cadu_index *idx = NULL, *got = NULL;
        uint8_t id[CADU_DIGEST_SIZE] = { 7 }, *buf = NULL;
        size_t len;
        ck_assert_int_eq(cadu_index_new(CADU_DIGEST_SHA256, 64, 256, 1024, &idx), 0);
        ck_assert_int_eq(cadu_index_append(idx, 100, id), 0);
        ck_assert_int_eq(cadu_index_append(idx, 300, id), 0);
        ck_assert_int_eq(cadu_index_serialize(idx, &buf, &len), 0);
        cadu_index_free(idx);

        cadu_manifest_image img = { .name = "r", .size = 300, .index_size = len };
        ck_assert_int_eq(cadu_digest(CADU_DIGEST_SHA256, buf, len, img.index_sha256), 0);
        char *err = NULL;
        ck_assert_int_eq(cadu_manifest_check_index_data(&img, buf, len, &got, &err), 0);
        ck_assert_uint_eq(got->n, 2);
        cadu_index_free(got);
        img.size = 301;
        ck_assert_int_eq(cadu_manifest_check_index_data(&img, buf, len, NULL, &err), -EBADMSG);
        ck_assert_str_eq(err, "index describes 300 bytes, the manifest pins an image of 301");
        free(err);
        img.size = 300;
        buf[60] ^= 1;
        ck_assert_int_eq(cadu_manifest_check_index_data(&img, buf, len, NULL, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "sha256 mismatch"));
        free(err);
        free(buf);
}
END_TEST

START_TEST(verify_arguments) {
        cadu_trust trust = CADU_TRUST_INIT;
        char *err = NULL;
        const uint8_t garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
        ck_assert_int_eq(cadu_manifest_verify("m", 1, garbage, 0, &trust, NULL, &err), -EBADMSG);
        ck_assert_str_eq(err, "signature is empty");
        free(err);
        ck_assert_int_eq(cadu_manifest_verify("m", 1, garbage, sizeof(garbage), &trust, NULL, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "signature is not a DER CMS message"));
        free(err);
        ck_assert_int_eq(cadu_manifest_verify("m", 1, garbage, 1, NULL, NULL, &err), -EINVAL);
        uint8_t *sig = NULL;
        size_t n;
        ck_assert_int_eq(cadu_manifest_sign("m", 1, "/nonexistent/key", "/nonexistent/cert", NULL, &sig, &n, &err),
                         -ENOENT);
        ck_assert_str_eq(err, "/nonexistent/key: No such file or directory");
        free(err);
}
END_TEST

int main(void) {
        Suite *s = suite_create("manifest");
        TCase *tc = tcase_create("manifest");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, parse_full);
        tcase_add_test(tc, parse_lenient_layout);
        tcase_add_loop_test(tc, parse_invalid, 0, (int)CADU_ELEMENTSOF(invalid));
        tcase_add_test(tc, parse_limits);
        tcase_add_test(tc, writer_validates);
        tcase_add_test(tc, version_ordering);
        tcase_add_test(tc, version_invalid);
        tcase_add_test(tc, times);
        tcase_add_test(tc, paths_and_urls);
        tcase_add_test(tc, classes);
        tcase_add_test(tc, policy);
        tcase_add_test(tc, pinned_data);
        tcase_add_test(tc, pinned_index);
        tcase_add_test(tc, verify_arguments);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
