/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cadu-util.h"
#include "ddi.h"

bool ddi_safe_name(const char *s) {
        if (!s || !*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) >= DDI_NAME_MAX)
                return false;
        for (; *s; s++)
                if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static json_object *member(json_object *o, const char *key, json_type t) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t) ? v : NULL;
}

/* Copy a string member into buf (size n); "" when absent, not a string, or
 * too long. */
static void copy_str(json_object *o, const char *key, char *buf, size_t n) {
        json_object *v = member(o, key, json_type_string);
        const char *s = v ? json_object_get_string(v) : NULL;
        size_t l = v ? (size_t)json_object_get_string_len(v) : 0;
        buf[0] = 0;
        if (s && l < n && strlen(s) == l)       /* no NUL inside */
                memcpy(buf, s, l + 1);
}

static void copy_href(json_object *links, const char *rel, char *buf) {
        copy_str(member(links, rel, json_type_object), "href", buf, DDI_HREF_MAX);
}

static json_object *parse(const char *text, size_t len) {
        if (len > INT_MAX)
                return NULL;
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return NULL;
        json_object *o = json_tokener_parse_ex(tok, text, (int)len);
        /* The whole answer must be one JSON value. */
        if (o && (json_tokener_get_error(tok) != json_tokener_success ||
                  (size_t)json_tokener_get_parse_end(tok) != len)) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        if (o && !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                o = NULL;
        }
        return o;
}

int ddi_parse_base(const char *text, size_t len, ddi_base *ret) {
        memset(ret, 0, sizeof *ret);
        json_object *o = parse(text, len);
        if (!o)
                return -EBADMSG;
        char sleep[32];
        unsigned h, m, s;
        char extra;
        copy_str(member(member(o, "config", json_type_object), "polling", json_type_object), "sleep", sleep,
                 sizeof sleep);
        if (sscanf(sleep, "%u:%u:%u%c", &h, &m, &s, &extra) == 3 && h < 10000 && m < 60 && s < 60) {
                ret->sleep_s = h * 3600 + m * 60 + s;
                ret->has_sleep = true;
        }
        json_object *links = member(o, "_links", json_type_object);
        copy_href(links, "configData", ret->config);
        copy_href(links, "cancelAction", ret->cancel);
        copy_href(links, "deploymentBase", ret->deployment);
        json_object_put(o);
        return 0;
}

static void artifact(json_object *a, ddi_artifact *out) {
        json_object *hashes = member(a, "hashes", json_type_object), *size = member(a, "size", json_type_int);
        json_object *links = member(a, "_links", json_type_object);
        char sha[65];
        memset(out, 0, sizeof *out);
        copy_str(a, "filename", out->filename, sizeof out->filename);
        if (!ddi_safe_name(out->filename))
                out->filename[0] = 0;
        copy_str(hashes, "sha256", sha, sizeof sha);
        copy_href(links, "download-http", out->href);
        if (!out->href[0])
                copy_href(links, "download", out->href);
        int64_t sz = size ? json_object_get_int64(size) : -1;
        out->usable = out->filename[0] && strlen(sha) == 64 && cadu_hex_decode(sha, out->sha256, 32) == 0 &&
                      out->href[0] && sz >= 0 && sz <= (int64_t)DDI_ARTIFACT_SIZE_MAX;
        out->size = out->usable ? (uint64_t)sz : 0;
}

int ddi_parse_deployment(const char *text, size_t len, ddi_deployment *ret) {
        memset(ret, 0, sizeof *ret);
        json_object *o = parse(text, len);
        if (!o)
                return -EBADMSG;
        int r = 0;
        json_object *d = member(o, "deployment", json_type_object);
        json_object *chunks = member(d, "chunks", json_type_array);
        copy_str(o, "id", ret->id, sizeof ret->id);
        copy_str(d, "download", ret->download, sizeof ret->download);
        copy_str(d, "update", ret->update, sizeof ret->update);
        copy_str(d, "maintenanceWindow", ret->window, sizeof ret->window);
        if (!ddi_safe_name(ret->id) || !chunks) {
                r = -EBADMSG;
                goto out;
        }
        for (size_t i = 0; i < json_object_array_length(chunks); i++) {
                json_object *arts = member(json_object_array_get_idx(chunks, i), "artifacts", json_type_array);
                for (size_t k = 0; arts && k < json_object_array_length(arts); k++) {
                        if (ret->n_artifacts == DDI_ARTIFACTS_MAX) {
                                r = -EBADMSG;
                                goto out;
                        }
                        artifact(json_object_array_get_idx(arts, k), &ret->artifacts[ret->n_artifacts++]);
                }
        }
out:
        json_object_put(o);
        return r;
}

int ddi_parse_cancel(const char *text, size_t len, ddi_cancel *ret) {
        memset(ret, 0, sizeof *ret);
        json_object *o = parse(text, len);
        if (!o)
                return -EBADMSG;
        copy_str(o, "id", ret->id, sizeof ret->id);
        copy_str(member(o, "cancelAction", json_type_object), "stopId", ret->stop_id, sizeof ret->stop_id);
        json_object_put(o);
        if (!ddi_safe_name(ret->id))
                return -EBADMSG;
        if (!ddi_safe_name(ret->stop_id))
                memcpy(ret->stop_id, ret->id, sizeof ret->id);
        return 0;
}
