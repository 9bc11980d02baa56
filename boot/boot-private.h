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

/* CADU_BOOT_EBG: cadu's own variables, kept as Boot Guard user variables
 * in both environments (values up to 254 bytes). */
#define BOOT_EBG_N_VARS 1
extern const char *const boot_ebg_vars[BOOT_EBG_N_VARS];

/* CADU_BOOT_EBG: one EFI Boot Guard environment, as read and as to be written. */
typedef struct boot_ebg_env {
        unsigned index;                 /* libebgenv's config partition number */
        unsigned revision, ustate, in_progress;
        char kernelfile[256], kernelparams[256];
        char user[BOOT_EBG_N_VARS][256];/* "" when unset */
        bool changed;
} boot_ebg_env;

struct cadu_boot {
        cadu_boot_backend backend;
        char *path;
        unsigned max_attempts;
        struct uboot_ctx *ctx;  /* U-Boot: open (and locked) from load to free */
        bool loaded;
        boot_var *vars;
        size_t n_vars;
        char detail[512];
        boot_ebg_env ebg[2];            /* CADU_BOOT_EBG: the environments of A and B */
        char describe[640];
};

void boot_detail(cadu_boot *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CADU_BOOT_EBG (boot-ebg.c; without libebgenv they return -EOPNOTSUPP). */
int boot_var_add(cadu_boot *b, const char *name, const char *value);
int boot_ebg_load(cadu_boot *b);
int boot_ebg_store(cadu_boot *b);
int boot_ebg_state(cadu_boot *b, cadu_boot_state *ret);
/* The scheme operations of cadu-boot.h on Boot Guard's environments. */
typedef enum boot_op { BOOT_OP_TRIAL, BOOT_OP_GOOD, BOOT_OP_RESET, BOOT_OP_BAD, BOOT_OP_ROLLBACK } boot_op;
int boot_ebg_op(cadu_boot *b, boot_op op, char slot);

#endif
