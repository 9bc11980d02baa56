/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu-boot.h - the bootloader side of A/B updates.
 *
 * Two layers behind one handle:
 *
 *   1. An environment transaction. cadu_boot_load() reads every variable of
 *      the bootloader environment; cadu_boot_set() changes variables in
 *      memory; cadu_boot_store() writes all changes with ONE environment store
 *      (so a slot switch is a single atomic step on redundant U-Boot
 *      environments). Backends:
 *        - CADU_BOOT_UBOOT: the U-Boot environment through libubootenv and
 *          its fw_env.config (one or two copies; with two, libubootenv writes
 *          the older copy and bumps its flags byte, so a torn write leaves
 *          the other copy valid). The libubootenv lock is held from load to
 *          free (or cadu_boot_unlock()), so a read-modify-store is not
 *          interleaved with fw_setenv.
 *        - CADU_BOOT_FILE: a plain "NAME=VALUE" text file (one variable a
 *          line, '#' comments), replaced atomically (temporary file, fsync,
 *          rename). For tests and for devices without U-Boot.
 *        - CADU_BOOT_EBG: EFI Boot Guard's two environments (BGENV.DAT on
 *          two FAT configuration partitions that libebgenv finds by probing
 *          the block devices), when built with libebgenv. It has no
 *          variables of cadu's: the scheme functions below act on Boot
 *          Guard's revision, ustate and in_progress of the environment of
 *          each slot instead (doc/bootloader.md), and cadu_boot_store()
 *          writes each changed environment once, the one that becomes the
 *          latest last.
 *
 *   2. The A/B scheme on top of the variables (RAUC style, see
 *      doc/bootloader.md and tools/uboot-boot.cmd):
 *        BOOT_ORDER    slots in the order the boot script tries them ("A B")
 *        BOOT_A_LEFT   boot attempts left for slot A (0..9)
 *        BOOT_B_LEFT   boot attempts left for slot B (0..9)
 *      Unset variables mean what the boot script makes of them: "A B" and 3.
 *      The scheme functions only change variables in memory; the caller calls
 *      cadu_boot_store() once afterwards.
 *
 * Slots are named by the characters 'A' and 'B'. Functions return 0 or a
 * negative errno and never log; when a failure has more to say than the
 * errno (which variable is invalid, which file line is malformed),
 * cadu_boot_detail() returns that explanation.
 */
#ifndef CADU_BOOT_H
#define CADU_BOOT_H

#include <stdbool.h>
#include <stddef.h>

/* Attempts a slot gets when it is marked good, unless configured otherwise. */
#define CADU_BOOT_ATTEMPTS_DEFAULT 3u
/* The boot script computes with single digits (U-Boot's setexpr is hex). */
#define CADU_BOOT_ATTEMPTS_MAX 9u

typedef enum cadu_boot_backend {
        CADU_BOOT_UBOOT,
        CADU_BOOT_FILE,
        CADU_BOOT_EBG,
} cadu_boot_backend;

/* Whether this build has the CADU_BOOT_EBG backend (libebgenv). */
bool cadu_boot_have_ebg(void);

typedef struct cadu_boot_options {
        cadu_boot_backend backend;
        /* CADU_BOOT_UBOOT: path of fw_env.config; CADU_BOOT_FILE: the
         * variable file; CADU_BOOT_EBG: unused (may be NULL). */
        const char *path;
        /* Attempts set by mark-good, rollback and reset (1..9); 0 means 3. */
        unsigned max_attempts;
} cadu_boot_options;

typedef struct cadu_boot cadu_boot;

/* A handle for the environment described by o (strings are copied).
 * -EINVAL for a bad option, -EOPNOTSUPP for CADU_BOOT_EBG in a build
 * without libebgenv, -ENOMEM. Nothing is read yet. */
int cadu_boot_new(const cadu_boot_options *o, cadu_boot **ret);

/* Read every variable. Errors: -ENOENT (fw_env.config or the variable file is
 * missing), -EINVAL (fw_env.config is invalid or names a missing device),
 * -EBADMSG (no copy of the environment has a valid CRC, or the variable file
 * is malformed), -EIO and other read errors. Calling it again re-reads.
 * CADU_BOOT_EBG: -ENODEV when libebgenv does not find exactly two
 * configuration partitions, -EBADMSG when an environment has no valid CRC or
 * its kernelparams do not name its slot (cadu.slot=A or B). */
int cadu_boot_load(cadu_boot *b);

/* Replace the variables of b by those in data (len bytes) in the file
 * backend's format, as cadu_boot_load() of a CADU_BOOT_FILE handle would.
 * -EBADMSG (with detail) when malformed. Meant for tests and fuzzing. */
int cadu_boot_load_buffer(cadu_boot *b, const char *data, size_t len);

/* The value of a variable, or NULL when unset. Valid until the variable is
 * changed or the handle freed. */
const char *cadu_boot_get(const cadu_boot *b, const char *name);

/* Change a variable in memory; value NULL unsets it. Setting a variable to
 * its current value changes nothing. -EINVAL for an empty name, a name with
 * '=' or white space, or a value with a newline. */
int cadu_boot_set(cadu_boot *b, const char *name, const char *value);

/* True when cadu_boot_set() changed something not yet stored. */
bool cadu_boot_dirty(const cadu_boot *b);

/* Write every change with a single environment store; nothing is written
 * when nothing changed. -ENOSPC when the variables do not fit the U-Boot
 * environment; write errors otherwise (the previous environment stays valid). */
int cadu_boot_store(cadu_boot *b);

/* Release the libubootenv lock (fw_printenv, fw_setenv and other cadu
 * commands wait for it) while keeping the variables readable. Storing then
 * needs a new cadu_boot_load() first (cadu_boot_store() is -ESTALE), which
 * takes the lock again and re-reads what others may have changed. Long
 * operations (an install's downloads and writes) call this between their
 * environment transactions. No-op for the file backend. */
void cadu_boot_unlock(cadu_boot *b);

/* The bootloader's own view of slot's boot state, one line, for status:
 * for CADU_BOOT_EBG "config partition #1: revision 7, ustate 2 (TESTING),
 * in_progress 0, kernel C:BOOT1:linux.efi"; NULL for the other backends,
 * whose state is the variables. Valid until the next call on b. */
const char *cadu_boot_describe(cadu_boot *b, char slot);

/* Explanation of the last failure of load, store or the scheme functions
 * ("" when there is none). Valid until the next call on b. */
const char *cadu_boot_detail(const cadu_boot *b);

/* Release the handle (and the libubootenv lock). NULL-safe; returns NULL. */
cadu_boot *cadu_boot_free(cadu_boot *b);

/* ---- the A/B scheme ---- */

typedef struct cadu_boot_state {
        char order[3];          /* BOOT_ORDER as slot characters, e.g. "BA" */
        unsigned left[2];       /* attempts left of A ([0]) and B ([1]) */
} cadu_boot_state;

/* Index 0 for 'A', 1 for 'B', -1 otherwise. */
static inline int cadu_boot_slot_index(char slot) {
        return slot == 'A' ? 0 : slot == 'B' ? 1 : -1;
}
/* The other slot of an A/B pair ('B' for 'A' and vice versa). */
static inline char cadu_boot_other(char slot) {
        return slot == 'A' ? 'B' : 'A';
}

/* Parse BOOT_ORDER and BOOT_x_LEFT. -EBADMSG (with detail) when a value is
 * not what the boot script understands: BOOT_ORDER naming anything but A and
 * B or naming one twice, an attempt count that is not a number from 0 to 9. */
int cadu_boot_state_get(cadu_boot *b, cadu_boot_state *ret);

/* The slot the boot script boots next: the first in the order with attempts
 * left, else (after it resets every count) the first in the order. */
char cadu_boot_state_next(const cadu_boot_state *s);

/* Position of slot in the order, or -1 when the order does not name it. */
int cadu_boot_state_rank(const cadu_boot_state *s, char slot);

/* Arrange one trial boot of slot: first in BOOT_ORDER with exactly one
 * attempt left; the other slot keeps its attempts so that the boot script
 * falls back to it when the trial does not come up. */
int cadu_boot_trial(cadu_boot *b, char slot);

/* Commit slot (normally the booted one): first in BOOT_ORDER, attempts reset
 * to max_attempts. */
int cadu_boot_mark_good(cadu_boot *b, char slot);

/* Reset the attempts of slot without changing the order (used to commit the
 * booted slot while a trial of the other slot is pending). */
int cadu_boot_reset_attempts(cadu_boot *b, char slot);

/* Take slot out of service: no attempts left, last in BOOT_ORDER. */
int cadu_boot_mark_bad(cadu_boot *b, char slot);

/* Switch back to the slot other than booted: first with attempts reset.
 * Whether that slot holds a good image is the caller's question. */
int cadu_boot_rollback(cadu_boot *b, char booted);

/* Which slot is running. The kernel command line in cmdline_path is searched
 * for "cadu.slot=X" then "rauc.slot=X"; when it names none (or cannot be
 * read because it does not exist) and var is not NULL, the environment
 * variable var of b is used (b then must be loaded). *ret_source (optional)
 * is set to "cmdline" or "variable". -ENOENT when nothing names the booted
 * slot, -EBADMSG when the value is not A or B (detail set on b when b is not
 * NULL), other errors from reading cmdline_path. */
int cadu_boot_booted_slot(const char *cmdline_path, cadu_boot *b, const char *var,
                          char *ret, const char **ret_source);

/* The slot a kernel command line names (as above), from a buffer of len
 * bytes (need not be NUL-terminated). 1 and *ret set when found, 0 when the
 * line names none, -EBADMSG for a value other than A or B. */
int cadu_boot_parse_cmdline(const char *cmdline, size_t len, char *ret);

#endif
