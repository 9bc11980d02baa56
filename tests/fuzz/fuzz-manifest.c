/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the manifest parser, writer and version order.
 *
 * Properties checked on every input: the parser either accepts or fails
 * with -EBADMSG and a message; whatever it accepts the writer can write, the
 * written text parses back and writes identically (canonical form); every
 * accepted path resolves inside the manifest's directory; version
 * comparison is reflexive and antisymmetric.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "fuzz-manifest: %s failed\n", #x); abort(); } } while (0)

static void check_versions(const uint8_t *data, size_t size) {
        /* The input as two NUL-separated strings. */
        if (size > 600)
                return;
        char buf[602];
        memcpy(buf, data, size);
        buf[size] = 0;
        buf[size + 1] = 0;
        const char *a = buf, *b = buf + strlen(buf) + 1;
        int ab, ba, aa;
        int r1 = cadu_manifest_version_compare(a, b, &ab);
        int r2 = cadu_manifest_version_compare(b, a, &ba);
        CHECK(r1 == r2);
        CHECK(r1 == ((cadu_manifest_version_valid(a) && cadu_manifest_version_valid(b)) ? 0 : -EINVAL));
        if (r1 == 0) {
                CHECK(ab == -ba);
                CHECK(ab >= -1 && ab <= 1);
                CHECK(cadu_manifest_version_compare(a, a, &aa) == 0 && aa == 0);
        }
        int64_t t;
        char back[CADU_MANIFEST_TIME_MAX];
        if (cadu_manifest_parse_time(a, &t) == 0) {
                CHECK(cadu_manifest_format_time(t, back) == 0);
                CHECK(strcmp(back, a) == 0);
        }
}

static void check_resolves_inside(const char *name) {
        char *s = NULL;
        if (!name || cadu_manifest_is_url(name))
                return;
        CHECK(cadu_manifest_path_valid(name));
        CHECK(cadu_manifest_resolve("https://h/rel/m.txt", name, &s) == 0);
        CHECK(strncmp(s, "https://h/rel/", 14) == 0 && !strstr(s, "/../") && !strstr(s, "//h/rel//"));
        free(s);
        CHECK(cadu_manifest_resolve("/rel/m.txt", name, &s) == 0);
        CHECK(strncmp(s, "/rel/", 5) == 0 && !strstr(s, "/../") && strcmp(s + strlen(s) - 3, "/..") != 0);
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cadu_manifest *m = NULL, *m2 = NULL;
        char *err = NULL, *t1 = NULL, *t2 = NULL;
        size_t l1 = 0, l2 = 0;

        check_versions(data, size);

        int r = cadu_manifest_parse(data, size, &m, &err);
        if (r < 0) {
                CHECK(r == -EBADMSG || r == -ENOMEM);
                CHECK(m == NULL);
                CHECK(r == -ENOMEM || err != NULL);
                free(err);
                return 0;
        }
        CHECK(err == NULL && m && m->n_images >= 1 && m->n_images <= CADU_MANIFEST_MAX_IMAGES);

        CHECK(cadu_manifest_format(m, &t1, &l1, &err) == 0);
        CHECK(cadu_manifest_parse(t1, l1, &m2, &err) == 0);
        CHECK(cadu_manifest_format(m2, &t2, &l2, &err) == 0);
        CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);

        for (size_t i = 0; i < m->n_images; i++) {
                const cadu_manifest_image *img = &m->images[i];
                CHECK(img->size >= 1 && img->size <= CADU_MANIFEST_MAX_IMAGE_SIZE);
                CHECK(cadu_manifest_find_image(m, img->name) == img);
                check_resolves_inside(img->index);
                check_resolves_inside(img->delta);
                check_resolves_inside(img->store);
        }

        /* Policy: the own version is never newer than itself. */
        r = cadu_manifest_check_policy(m, m->compatible, m->version, false, 0, &err);
        CHECK(r == -EPERM);
        free(err);
        err = NULL;
        r = cadu_manifest_check_policy(m, m->compatible, NULL, false, 0, &err);
        CHECK(r == 0 || (m->has_expires && m->expires == 0 && r == -EPERM));
        free(err);

        free(t1);
        free(t2);
        cadu_manifest_free(m2);
        cadu_manifest_free(m);
        return 0;
}
