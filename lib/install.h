/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * install.h - what `cadu install` reaches of the installer beyond the public
 * API (include/cadu/cadu.h, "Installation"): the extraction's own progress,
 * statistics and download plan, which the command prints as `cadu extract`
 * does and which the public API only summarises (per image and source).
 */
#ifndef CADU_INSTALL_H
#define CADU_INSTALL_H

#include "cadu/cadu.h"
#include "extract.h"

/* An image's download plan (--dry-run, or with a download limit). */
typedef struct cadu_installer_plan {
        const char *image;
        bool delta;                     /* from its rdiff delta */
        uint64_t delta_fetched;         /* its bytes over the network (0: the delta is on local media) */
        bool full;                      /* from its compressed full image */
        uint64_t full_bytes, full_requests;
        const cadu_extract_plan *chunks;        /* from chunks: their plan (zeros otherwise) */
} cadu_installer_plan;

typedef struct cadu_installer_output {
        void *userdata;
        /* An image's chunks written by cadu_extract() (what: "install NAME"):
         * begin, the extraction's and its seed's progress, end. */
        void (*extract_begin)(void *ud, const char *what, uint64_t total);
        void (*extract_progress)(void *ud, uint64_t done, uint64_t total);
        void (*seed_progress)(void *ud, const char *seed_path, uint64_t done, uint64_t total);
        void (*extract_end)(void *ud);
        /* After the chunks of an image were written. */
        void (*extract_stats)(void *ud, const cadu_extract_opts *o, const cadu_extract_stats *st);
        void (*plan)(void *ud, const cadu_installer_plan *p);
} cadu_installer_output;

/* Replaces the context's progress callback for this installer. */
void cadu_installer_set_output(cadu_installer *in, const cadu_installer_output *out);

#endif
