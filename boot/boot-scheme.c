/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * boot-scheme.c - the A/B scheme (BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT) and
 * booted-slot detection.
 *
 * The boot script (tools/uboot-boot.cmd) walks BOOT_ORDER and boots the first
 * slot whose attempt count is above zero, after decrementing it; when no slot
 * has attempts left it resets every count to 3 and starts over. The functions
 * here only ever write what that script reads: both slots in BOOT_ORDER and
 * single-digit counts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot-private.h"
#include "cadu-util.h"

/* What the boot script assumes for unset variables. */
#define SCRIPT_DEFAULT_ORDER "AB"
#define SCRIPT_DEFAULT_LEFT 3u

static const char *left_var(char slot) {
        return slot == 'A' ? "BOOT_A_LEFT" : "BOOT_B_LEFT";
}

int cadu_boot_state_get(cadu_boot *b, cadu_boot_state *ret) {
        if (!b || !ret)
                return -EINVAL;
        if (!b->loaded)
                return -ESTALE;
        b->detail[0] = 0;
        if (b->backend == CADU_BOOT_EBG)
                return boot_ebg_state(b, ret);
        cadu_boot_state s = { .order = "" };
        const char *o = cadu_boot_get(b, "BOOT_ORDER");
        if (!o || !*o)
                memcpy(s.order, SCRIPT_DEFAULT_ORDER, sizeof(SCRIPT_DEFAULT_ORDER));
        else {
                size_t n = 0;
                for (const char *p = o; *p;) {
                        if (*p == ' ' || *p == '\t') {
                                p++;
                                continue;
                        }
                        size_t w = strcspn(p, " \t");
                        char c = w == 1 ? p[0] : 0;
                        if (cadu_boot_slot_index(c) < 0) {
                                boot_detail(b, "BOOT_ORDER='%.64s' names '%.*s', not a slot (A or B)", o,
                                            (int)CADU_MIN(w, 16), p);
                                return -EBADMSG;
                        }
                        if (memchr(s.order, c, n)) {
                                boot_detail(b, "BOOT_ORDER='%.64s' names slot %c twice", o, c);
                                return -EBADMSG;
                        }
                        s.order[n++] = c;
                        s.order[n] = 0;
                        p += w;
                }
                if (n == 0)
                        memcpy(s.order, SCRIPT_DEFAULT_ORDER, sizeof(SCRIPT_DEFAULT_ORDER));
        }
        for (int i = 0; i < 2; i++) {
                const char *name = left_var(i ? 'B' : 'A');
                const char *v = cadu_boot_get(b, name);
                if (!v || !*v)
                        s.left[i] = SCRIPT_DEFAULT_LEFT;
                else if (v[0] >= '0' && v[0] <= '9' && v[1] == 0)
                        s.left[i] = (unsigned)(v[0] - '0');
                else {
                        boot_detail(b, "%s='%.64s' is not a number of attempts from 0 to 9", name, v);
                        return -EBADMSG;
                }
        }
        *ret = s;
        return 0;
}

char cadu_boot_state_next(const cadu_boot_state *s) {
        if (!s || !s->order[0])
                return 'A';
        for (const char *p = s->order; *p; p++)
                if (s->left[cadu_boot_slot_index(*p)] > 0)
                        return *p;
        return s->order[0];
}

int cadu_boot_state_rank(const cadu_boot_state *s, char slot) {
        const char *p = s && slot ? strchr(s->order, slot) : NULL;
        return p ? (int)(p - s->order) : -1;
}

/* Write BOOT_ORDER with first then the other slot, and first's attempts. */
static int put(cadu_boot *b, char first, char slot, unsigned left) {
        cadu_boot_state s;
        int r = cadu_boot_state_get(b, &s);
        if (r < 0)
                return r;
        char order[4] = { first, ' ', cadu_boot_other(first), 0 };
        char count[2] = { (char)('0' + left), 0 };
        r = cadu_boot_set(b, "BOOT_ORDER", order);
        if (r < 0)
                return r;
        return cadu_boot_set(b, left_var(slot), count);
}

static int check_slot(cadu_boot *b, char slot) {
        if (!b || cadu_boot_slot_index(slot) < 0)
                return -EINVAL;
        return b->loaded ? 0 : -ESTALE;
}

int cadu_boot_trial(cadu_boot *b, char slot) {
        int r = check_slot(b, slot);
        if (r == 0 && b->backend == CADU_BOOT_EBG)
                return boot_ebg_op(b, BOOT_OP_TRIAL, slot);
        return r < 0 ? r : put(b, slot, slot, 1);
}

int cadu_boot_mark_good(cadu_boot *b, char slot) {
        int r = check_slot(b, slot);
        if (r == 0 && b->backend == CADU_BOOT_EBG)
                return boot_ebg_op(b, BOOT_OP_GOOD, slot);
        return r < 0 ? r : put(b, slot, slot, b->max_attempts);
}

int cadu_boot_reset_attempts(cadu_boot *b, char slot) {
        int r = check_slot(b, slot);
        if (r < 0)
                return r;
        if (b->backend == CADU_BOOT_EBG)
                return boot_ebg_op(b, BOOT_OP_RESET, slot);
        cadu_boot_state s;
        r = cadu_boot_state_get(b, &s);
        if (r < 0)
                return r;
        char count[2] = { (char)('0' + b->max_attempts), 0 };
        return cadu_boot_set(b, left_var(slot), count);
}

int cadu_boot_mark_bad(cadu_boot *b, char slot) {
        int r = check_slot(b, slot);
        if (r == 0 && b->backend == CADU_BOOT_EBG)
                return boot_ebg_op(b, BOOT_OP_BAD, slot);
        return r < 0 ? r : put(b, cadu_boot_other(slot), slot, 0);
}

int cadu_boot_rollback(cadu_boot *b, char booted) {
        int r = check_slot(b, booted);
        if (r < 0)
                return r;
        if (b->backend == CADU_BOOT_EBG)
                return boot_ebg_op(b, BOOT_OP_ROLLBACK, booted);
        char other = cadu_boot_other(booted);
        return put(b, other, other, b->max_attempts);
}

/* ---- which slot is running ---- */

static int slot_value(const char *v, size_t n, char *ret) {
        if (n == 1 && (v[0] == 'A' || v[0] == 'a'))
                *ret = 'A';
        else if (n == 1 && (v[0] == 'B' || v[0] == 'b'))
                *ret = 'B';
        else
                return -EBADMSG;
        return 0;
}

int cadu_boot_parse_cmdline(const char *cmdline, size_t len, char *ret) {
        static const char *const keys[] = { "cadu.slot=", "rauc.slot=" };
        if (!ret || (!cmdline && len))
                return -EINVAL;
        for (size_t k = 0; k < CADU_ELEMENTSOF(keys); k++) {
                size_t kl = strlen(keys[k]);
                const char *val = NULL;
                size_t val_len = 0;
                /* Words are separated by white space (or NUL, as in
                 * /proc/PID/cmdline); the last occurrence wins, as for the
                 * kernel's own parameters. */
                for (size_t i = 0; i < len;) {
                        while (i < len && (cmdline[i] == ' ' || cmdline[i] == '\t' || cmdline[i] == '\n' ||
                                           cmdline[i] == 0))
                                i++;
                        size_t start = i;
                        while (i < len && cmdline[i] != ' ' && cmdline[i] != '\t' && cmdline[i] != '\n' &&
                               cmdline[i] != 0)
                                i++;
                        if (i - start >= kl && !memcmp(cmdline + start, keys[k], kl)) {
                                val = cmdline + start + kl;
                                val_len = i - start - kl;
                        }
                }
                if (val)
                        return slot_value(val, val_len, ret) < 0 ? -EBADMSG : 1;
        }
        return 0;
}

int cadu_boot_booted_slot(const char *cmdline_path, cadu_boot *b, const char *var, char *ret,
                          const char **ret_source) {
        if (!ret)
                return -EINVAL;
        if (b)
                b->detail[0] = 0;
        if (cmdline_path) {
                _cleanup_free_ uint8_t *data = NULL;
                size_t len = 0;
                int r = cadu_read_file(cmdline_path, 64 * 1024, &data, &len);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (r >= 0) {
                        r = cadu_boot_parse_cmdline((const char *)data, len, ret);
                        if (r < 0) {
                                if (b)
                                        boot_detail(b, "%s: cadu.slot= or rauc.slot= names neither A nor B",
                                                    cmdline_path);
                                return r;
                        }
                        if (r > 0) {
                                if (ret_source)
                                        *ret_source = "cmdline";
                                return 0;
                        }
                }
        }
        if (var && b) {
                if (!b->loaded)
                        return -ESTALE;
                const char *v = cadu_boot_get(b, var);
                if (v && *v) {
                        if (slot_value(v, strlen(v), ret) < 0) {
                                boot_detail(b, "bootloader variable %s='%.64s' names neither A nor B", var, v);
                                return -EBADMSG;
                        }
                        if (ret_source)
                                *ret_source = "variable";
                        return 0;
                }
        }
        return -ENOENT;
}
