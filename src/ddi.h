/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ddi.h - what cadu hawkbit reads of hawkBit's Direct Device Integration
 * API answers, parsed from untrusted bytes into bounded C values.
 *
 * The JSON itself is parsed by json-c; these functions walk it with a type
 * check at every step, copy strings into fixed buffers (a longer one makes
 * its field absent, never truncated), and return -EBADMSG for an answer that
 * is not a JSON object or lacks what the resource must have. Unknown
 * properties are ignored, as hawkBit's clients must.
 */
#ifndef CADU_DDI_H
#define CADU_DDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDI_HREF_MAX 1024
#define DDI_ID_MAX 64
#define DDI_NAME_MAX 201
#define DDI_ARTIFACTS_MAX 64
#define DDI_ARTIFACT_SIZE_MAX (64u << 20)       /* a manifest, signature, index or delta */

/* GET {base}: polling sleep and the links present ("" when absent). */
typedef struct ddi_base {
        unsigned sleep_s;
        bool has_sleep;
        char config[DDI_HREF_MAX], cancel[DDI_HREF_MAX], deployment[DDI_HREF_MAX];
} ddi_base;

typedef struct ddi_artifact {
        char filename[DDI_NAME_MAX];    /* "" when missing or not a plain file name */
        char href[DDI_HREF_MAX];        /* download-http, else download */
        uint8_t sha256[32];
        uint64_t size;
        bool usable;                    /* name, sha256, size (<= DDI_ARTIFACT_SIZE_MAX) and link all valid */
} ddi_artifact;

/* GET deploymentBase/{id}. download/update: "skip", "attempt", "forced" or
 * "" (absent: forced); window: "available", "unavailable" or "" (none). */
typedef struct ddi_deployment {
        char id[DDI_ID_MAX];
        char download[16], update[16], window[16];
        size_t n_artifacts;             /* over all chunks, at most DDI_ARTIFACTS_MAX */
        ddi_artifact artifacts[DDI_ARTIFACTS_MAX];
} ddi_deployment;

/* GET cancelAction/{id}. */
typedef struct ddi_cancel {
        char id[DDI_ID_MAX], stop_id[DDI_ID_MAX];       /* stop_id defaults to id */
} ddi_cancel;

int ddi_parse_base(const char *text, size_t len, ddi_base *ret);
/* -EBADMSG also without an id (a plain name), without chunks, or with more
 * than DDI_ARTIFACTS_MAX artifacts. */
int ddi_parse_deployment(const char *text, size_t len, ddi_deployment *ret);
int ddi_parse_cancel(const char *text, size_t len, ddi_cancel *ret);

/* A string usable as one path component: not empty, ".", "..", no '/' or
 * control characters, shorter than DDI_NAME_MAX. */
bool ddi_safe_name(const char *s);

#endif
