/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* boot-private.h - the handle shared by the files of libcaduboot. */
#ifndef CADU_BOOT_PRIVATE_H
#define CADU_BOOT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cadu-boot.h"

struct uboot_ctx;

typedef struct boot_var {
        char *name;
        char *value;            /* NULL: unset (by cadu_boot_set) */
        bool changed;           /* to be written by the next store */
} boot_var;

struct cadu_boot {
        cadu_boot_backend backend;
        char *path;
        unsigned max_attempts;
        struct uboot_ctx *ctx;  /* U-Boot: open (and locked) from load to free */
        bool loaded;
        boot_var *vars;
        size_t n_vars;
        char detail[512];
};

void boot_detail(cadu_boot *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
