/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * boot-ebg.c - the A/B scheme on EFI Boot Guard's environments
 * (CADU_BOOT_EBG), through libebgenv.
 *
 * Boot Guard keeps one environment (BGENV.DAT) on each of two FAT
 * configuration partitions: revision, ustate (0 OK, 1 INSTALLED, 2 TESTING,
 * 3 FAILED), in_progress, kernelfile, kernelparams. At every boot it takes the
 * environment with the highest revision and a valid CRC ("latest"); if that
 * one is in_progress it boots the other; if it is TESTING (booted once and
 * never confirmed) it marks it FAILED with revision 0 and boots the other; if
 * it is INSTALLED it marks it TESTING and boots it.
 *
 * cadu gives each slot one environment: the one whose kernelparams name the
 * slot (cadu.slot=A, or rauc.slot=A), which is also how the booted kernel
 * tells cadu which slot runs. The scheme functions of cadu-boot.h become
 * changes of revision, ustate and in_progress (doc/bootloader.md):
 *   trial X         X: highest revision, INSTALLED, not in_progress
 *   mark-good X     X: OK, not in_progress, highest revision
 *   reset X         X: OK (the order is kept)
 *   mark-bad X      X: in_progress, FAILED, revision 0 (also while an
 *                   install writes X)
 *   rollback to Y   Y: highest revision, OK, not in_progress
 * and Boot Guard's state reads back as a cadu_boot_state: the order is by
 * revision, and a slot has 1 attempt when INSTALLED, none when TESTING,
 * FAILED, revision 0 or in_progress, and max_attempts when OK.
 *
 * cadu's own variables (cadu_boot_get/set: only those of boot_ebg_vars, the
 * rollback floor) are Boot Guard user variables, written to both
 * environments and read from the one with the higher revision that has them.
 *
 * libebgenv's ebg_env_* API opens only the latest environment (or makes
 * the oldest a copy of it), so both environments are reached through the
 * bgenv_* functions the library exports for its own tools (bg_setenv,
 * bg_printenv); ebg_env_close() writes one with its CRC.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot-private.h"

/* The rollback floor (CADU_MIN_VERSION_VAR of src/cmd.h). */
const char *const boot_ebg_vars[BOOT_EBG_N_VARS] = { "cadu_min_version" };

enum { USTATE_OK, USTATE_INSTALLED, USTATE_TESTING, USTATE_FAILED, USTATE_UNKNOWN };
static const char *const ustate_names[] = { "OK", "INSTALLED", "TESTING", "FAILED", "UNKNOWN" };

static const char *ustate_name(unsigned u) {
        return u < 5 ? ustate_names[u] : "?";
}

static boot_ebg_env *env_of(cadu_boot *b, char slot) {
        return &b->ebg[slot == 'B'];
}

/* Boot attempts Boot Guard gives the environment, in the terms of cadu_boot_state. */
static unsigned attempts(const cadu_boot *b, const boot_ebg_env *e) {
        if (e->in_progress || e->revision == 0)
                return 0;
        switch (e->ustate) {
        case USTATE_INSTALLED:
                return 1;
        case USTATE_TESTING:
        case USTATE_FAILED:
                return 0;
        default:
                return b->max_attempts;
        }
}

int boot_ebg_state(cadu_boot *b, cadu_boot_state *ret) {
        bool b_first = b->ebg[1].revision > b->ebg[0].revision;
        *ret = (cadu_boot_state){ .order = { b_first ? 'B' : 'A', b_first ? 'A' : 'B', 0 } };
        for (int i = 0; i < 2; i++)
                ret->left[i] = attempts(b, &b->ebg[i]);
        return 0;
}

static void put(boot_ebg_env *e, unsigned revision, unsigned ustate, unsigned in_progress) {
        if (e->revision == revision && e->ustate == ustate && e->in_progress == in_progress)
                return;
        e->revision = revision;
        e->ustate = ustate;
        e->in_progress = in_progress;
        e->changed = true;
}

int boot_ebg_op(cadu_boot *b, boot_op op, char slot) {
        boot_ebg_env *e = env_of(b, slot), *o = env_of(b, cadu_boot_other(slot));
        unsigned top = (e->revision > o->revision ? e->revision : o->revision) + 1;
        if (top == 0) {
                boot_detail(b, "EFI Boot Guard: the revision of config partition #%u cannot grow", e->index);
                return -EOVERFLOW;
        }
        switch (op) {
        case BOOT_OP_TRIAL:
                put(e, top, USTATE_INSTALLED, 0);
                break;
        case BOOT_OP_GOOD:
                put(e, e->revision > o->revision ? e->revision : top, USTATE_OK, 0);
                break;
        case BOOT_OP_RESET:
                put(e, e->revision, USTATE_OK, e->in_progress);
                break;
        case BOOT_OP_BAD:
                put(e, 0, USTATE_FAILED, 1);
                break;
        case BOOT_OP_ROLLBACK:
                /* slot is the booted one; the other becomes the latest. */
                put(o, top, USTATE_OK, 0);
                break;
        }
        return 0;
}

const char *cadu_boot_describe(cadu_boot *b, char slot) {
        if (!b || b->backend != CADU_BOOT_EBG || !b->loaded || cadu_boot_slot_index(slot) < 0)
                return NULL;
        const boot_ebg_env *e = env_of(b, slot);
        snprintf(b->describe, sizeof(b->describe),
                 "config partition #%u: revision %u, ustate %u (%s), in_progress %u, kernel %s", e->index,
                 e->revision, e->ustate, ustate_name(e->ustate), e->in_progress,
                 e->kernelfile[0] ? e->kernelfile : "-");
        return b->describe;
}

#ifdef CADU_HAVE_EBGENV

#include <efibootguard/ebgenv.h>

/* libebgenv's functions behind ebg_env_* (exported, declared in its
 * env_api.h, which is not installed). BGENV is opaque here. */
typedef struct BGENV BGENV;
bool bgenv_init(void);
bool bgenv_finalize(void);
BGENV *bgenv_open_by_index(uint32_t index);
bool bgenv_close(BGENV *env);
int bgenv_get(BGENV *env, char *key, uint64_t *type, void *data, uint32_t maxlen);
int bgenv_set(BGENV *env, char *key, uint64_t type, void *data, uint32_t datalen);

#define EBG_PARTS 2
/* libebgenv converts its UTF-16 strings (255 units) into a buffer of this size. */
#define EBG_STRING_MAX 256

bool cadu_boot_have_ebg(void) {
        return true;
}

static int get_uint(BGENV *h, const char *key, unsigned *ret) {
        char buf[EBG_STRING_MAX] = "";
        if (bgenv_get(h, (char *)key, NULL, buf, sizeof(buf)) != 0)
                return -EIO;
        char *end;
        unsigned long v = strtoul(buf, &end, 10);
        if (end == buf || *end || v > UINT32_MAX)
                return -EIO;
        *ret = (unsigned)v;
        return 0;
}

static int get_string(BGENV *h, const char *key, char *out) {
        char buf[EBG_STRING_MAX] = "";
        if (bgenv_get(h, (char *)key, NULL, buf, sizeof(buf)) != 0)
                return -EIO;
        memcpy(out, buf, EBG_STRING_MAX);
        out[EBG_STRING_MAX - 1] = 0;
        return 0;
}

/* Read the environment of config partition idx. */
static int read_env(cadu_boot *b, unsigned idx, boot_ebg_env *e) {
        BGENV *h = bgenv_open_by_index(idx);
        if (!h)
                return -ENOMEM;
        *e = (boot_ebg_env){ .index = idx };
        int r = get_uint(h, "revision", &e->revision);
        if (r == 0)
                r = get_uint(h, "ustate", &e->ustate);
        if (r == 0)
                r = get_uint(h, "in_progress", &e->in_progress);
        if (r == 0)
                r = get_string(h, "kernelfile", e->kernelfile);
        if (r == 0)
                r = get_string(h, "kernelparams", e->kernelparams);
        ebgenv_t ctx = { .bgenv = h };
        for (size_t k = 0; r == 0 && k < BOOT_EBG_N_VARS; k++) {
                char buf[EBG_STRING_MAX + 1] = "";
                if (ebg_env_get(&ctx, (char *)boot_ebg_vars[k], buf) == 0)
                        memcpy(e->user[k], buf, EBG_STRING_MAX - 1);
        }
        bgenv_close(h);
        if (r < 0)
                boot_detail(b, "EFI Boot Guard: config partition #%u cannot be read", idx);
        return r;
}

/* Probe and read both environments into env[], by partition number. */
static int read_all(cadu_boot *b, boot_ebg_env env[EBG_PARTS]) {
        if (!bgenv_init()) {
                bgenv_finalize();
                boot_detail(b, "EFI Boot Guard: libebgenv did not find exactly %d configuration partitions "
                               "(FAT partitions holding BGENV.DAT) that it can mount", EBG_PARTS);
                return -ENODEV;
        }
        int r = 0;
        for (unsigned i = 0; i < EBG_PARTS && r == 0; i++)
                r = read_env(b, i, &env[i]);
        bgenv_finalize();
        return r;
}

/* Which slot the environment boots: cadu.slot= or rauc.slot= in its kernelparams. */
static int env_slot(cadu_boot *b, const boot_ebg_env *e, char *ret) {
        int r = cadu_boot_parse_cmdline(e->kernelparams, strlen(e->kernelparams), ret);
        if (r > 0)
                return 0;
        if (e->revision == 0 && e->ustate == 0 && !e->kernelfile[0] && !e->kernelparams[0])
                boot_detail(b, "EFI Boot Guard: config partition #%u holds no valid environment (CRC); "
                               "write it again with bg_setenv -p %u", e->index, e->index);
        else
                boot_detail(b, "EFI Boot Guard: the kernelparams of config partition #%u ('%.64s') name %s "
                               "(cadu.slot=A or cadu.slot=B)", e->index, e->kernelparams,
                            r < 0 ? "neither slot A nor B" : "no slot");
        return -EBADMSG;
}

int boot_ebg_load(cadu_boot *b) {
        boot_ebg_env env[EBG_PARTS];
        int r = read_all(b, env);
        if (r < 0)
                return r;
        char s[EBG_PARTS];
        for (unsigned i = 0; i < EBG_PARTS; i++)
                if ((r = env_slot(b, &env[i], &s[i])) < 0)
                        return r;
        if (s[0] == s[1]) {
                boot_detail(b, "EFI Boot Guard: the kernelparams of both config partitions name slot %c", s[0]);
                return -EBADMSG;
        }
        for (unsigned i = 0; i < EBG_PARTS; i++)
                b->ebg[s[i] == 'B'] = env[i];
        for (size_t k = 0; k < BOOT_EBG_N_VARS; k++) {
                const boot_ebg_env *hi = &b->ebg[b->ebg[1].revision > b->ebg[0].revision];
                const boot_ebg_env *lo = hi == &b->ebg[0] ? &b->ebg[1] : &b->ebg[0];
                const char *v = hi->user[k][0] ? hi->user[k] : lo->user[k];
                if (*v && (r = boot_var_add(b, boot_ebg_vars[k], v)) < 0)
                        return r;
        }
        b->loaded = true;
        return 0;
}

static int set_uint(BGENV *h, const char *key, unsigned v) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%u", v);
        return bgenv_set(h, (char *)key, 0, buf, (uint32_t)n + 1) == 0 ? 0 : -EIO;
}

/* Write the changed fields of want to its config partition: probe again,
 * check that the partition still boots the same slot, set the three fields
 * and write the environment with its CRC (ebg_env_close). */
static int write_env(cadu_boot *b, char slot, const boot_ebg_env *want) {
        if (!bgenv_init()) {
                bgenv_finalize();
                boot_detail(b, "EFI Boot Guard: the configuration partitions are gone");
                return -ENODEV;
        }
        boot_ebg_env now;
        char s = 0;
        int r = read_env(b, want->index, &now);
        if (r == 0 && (cadu_boot_parse_cmdline(now.kernelparams, strlen(now.kernelparams), &s) <= 0 || s != slot)) {
                boot_detail(b, "EFI Boot Guard: config partition #%u no longer boots slot %c", want->index, slot);
                r = -ESTALE;
        }
        BGENV *h = r == 0 ? bgenv_open_by_index(want->index) : NULL;
        if (r == 0 && !h)
                r = -ENOMEM;
        if (r == 0 && ((r = set_uint(h, "revision", want->revision)) < 0 ||
                       (r = set_uint(h, "ustate", want->ustate)) < 0 ||
                       (r = set_uint(h, "in_progress", want->in_progress)) < 0))
                boot_detail(b, "EFI Boot Guard: config partition #%u: a value was refused", want->index);
        ebgenv_t ctx = { .bgenv = h };
        for (size_t i = 0; r == 0 && i < b->n_vars; i++) {
                boot_var *v = &b->vars[i];
                if (!v->changed)
                        continue;
                r = v->value ? ebg_env_set(&ctx, v->name, v->value)
                             : ebg_env_set_ex(&ctx, v->name, USERVAR_TYPE_DELETED, (uint8_t *)"", 1);
                if (r != 0) {
                        boot_detail(b, "EFI Boot Guard: config partition #%u: user variable %s was refused",
                                    want->index, v->name);
                        r = r < 0 ? r : -r;
                }
        }
        if (r < 0) {
                bgenv_close(h);
                bgenv_finalize();
                return r;
        }
        /* Computes the CRC, writes, closes h and finalizes the library. */
        if (ebg_env_close(&ctx) != 0) {
                boot_detail(b, "EFI Boot Guard: writing the environment of config partition #%u failed",
                            want->index);
                return -EIO;
        }
        return 0;
}

int boot_ebg_store(cadu_boot *b) {
        /* The environment that ends with the higher revision goes last: a
         * power loss in between leaves it as it was, and the first write
         * never makes a slot the latest. */
        int first = b->ebg[0].revision > b->ebg[1].revision ? 1 : 0;
        bool vars = false;
        for (size_t i = 0; i < b->n_vars; i++)
                vars = vars || b->vars[i].changed;
        for (int k = 0; k < 2; k++) {
                int i = k ? !first : first;
                if (!b->ebg[i].changed && !vars)
                        continue;
                int r = write_env(b, i ? 'B' : 'A', &b->ebg[i]);
                if (r < 0)
                        return r;
                b->ebg[i].changed = false;
        }
        return 0;
}

#else /* !CADU_HAVE_EBGENV */

bool cadu_boot_have_ebg(void) {
        return false;
}

int boot_ebg_load(cadu_boot *b) {
        boot_detail(b, "this cadu was built without EFI Boot Guard support (libebgenv)");
        return -EOPNOTSUPP;
}

int boot_ebg_store(cadu_boot *b) {
        return boot_ebg_load(b);
}

#endif
