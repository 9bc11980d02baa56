/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slots.c - the slots and the bootloader as the device sees them
 * (include/cadu/cadu.h, "Slots"; lib/slots.h): what `cadu status` shows,
 * the commit of a good boot (`cadu mark-good`), taking a slot out of
 * service (`cadu mark-bad`) and switching back (`cadu rollback`).
 *
 * Everything is read in one go: cadu.conf, the bootloader environment (one
 * transaction: read every variable, change, store once) and the state
 * directory. Changing anything needs the state directory's lock
 * (CADU_SLOTS_LOCK) and stores the environment at most once; when anything
 * fails before that store, no slot is switched. Failures are one line
 * logged through the context; nothing is printed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadu-util.h"
#include "context.h"
#include "slots.h"

/* A slot is good only when every class of it is good; bad when any is. */
static cadu_slot_state summarise(cadu_slot_state acc, cadu_slot_state s, bool first) {
        if (first)
                return s;
        if (acc == CADU_SLOT_BAD || s == CADU_SLOT_BAD)
                return CADU_SLOT_BAD;
        if (acc == CADU_SLOT_UNKNOWN || s == CADU_SLOT_UNKNOWN)
                return CADU_SLOT_UNKNOWN;
        if (acc == CADU_SLOT_TRIAL || s == CADU_SLOT_TRIAL)
                return CADU_SLOT_TRIAL;
        return CADU_SLOT_GOOD;
}

const char *cadu_slots_bootloader_name(const cadu_config *cfg) {
        return cfg->bootloader == CADU_BOOT_UBOOT ? "U-Boot environment"
               : cfg->bootloader == CADU_BOOT_EBG ? "EFI Boot Guard environments"
                                                  : "bootloader file";
}

const char *cadu_slots_bootloader_path(const cadu_config *cfg) {
        return cfg->bootloader == CADU_BOOT_UBOOT ? cfg->fw_env_config
               : cfg->bootloader == CADU_BOOT_EBG ? "on the configuration partitions"
                                                  : cfg->bootloader_file;
}

int cadu_slots_boot_error(cadu_slots *s, int r, const char *what) {
        const char *d = cadu_boot_detail(s->boot);
        if (d && *d)
                cadu_context_log(s->ctx, CADU_LOG_ERR, "%s: %s", what, d);
        else
                cadu_context_log(s->ctx, CADU_LOG_ERR, "%s: %s %s: %s", what, cadu_slots_bootloader_name(s->cfg),
                                 cadu_slots_bootloader_path(s->cfg), cadu_context_strerror(r));
        return r;
}

int cadu_slots_need_booted(cadu_slots *s) {
        if (s->booted)
                return 0;
        if (s->booted_r == -ENOENT) {
                cadu_context_log(s->ctx, CADU_LOG_ERR,
                                 "cannot tell which slot is running: %s names no cadu.slot= or rauc.slot=%s",
                                 s->cfg->cmdline, s->cfg->slot_variable ? " and the slot variable is unset" : "");
                return -ENOENT;
        }
        cadu_context_log(s->ctx, CADU_LOG_ERR, "finding the booted slot from %s: %s", s->cfg->cmdline,
                         cadu_context_strerror(s->booted_r));
        return s->booted_r;
}

int cadu_slots_set_state(cadu_slots *s, char slot, cadu_slot_state st) {
        int i = cadu_boot_slot_index(slot);
        if (i < 0)
                return -EINVAL;
        for (size_t k = 0; k < s->cfg->n_classes; k++) {
                int r = cadu_slot_info_set_state(s->cfg->state_dir, s->cfg->classes[k].name, slot, st);
                if (r < 0) {
                        cadu_context_log(s->ctx, CADU_LOG_ERR, "recording slot %s.%c as %s in %s: %s",
                                         s->cfg->classes[k].name, slot, cadu_slot_state_name(st), s->cfg->state_dir,
                                         cadu_context_strerror(r));
                        return r;
                }
        }
        s->state[i] = st;
        return 0;
}

int cadu_slots_store(cadu_slots *s) {
        int r = cadu_boot_store(s->boot);
        return r < 0 ? cadu_slots_boot_error(s, r, "writing the bootloader environment (nothing switched)") : 0;
}

bool cadu_slots_trial_pending(const cadu_slots *s, char slot) {
        int i = cadu_boot_slot_index(slot);
        return i >= 0 && cadu_boot_state_rank(&s->bs, slot) == 0 && s->bs.left[i] > 0 &&
               s->state[i] == CADU_SLOT_TRIAL;
}

bool cadu_slots_trial_failed(const cadu_slots *s, char slot) {
        int i = cadu_boot_slot_index(slot);
        return i >= 0 && s->booted && s->booted != slot && s->state[i] == CADU_SLOT_TRIAL && s->bs.left[i] == 0;
}

/* ---- the public functions ---- */

int cadu_slots_new(cadu_context *ctx, const char *config_path, cadu_slots **ret) {
        _cleanup_free_ char *err = NULL;
        if (!ctx || !ret)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        cadu_slots *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        int r = cadu_config_load(config_path, &s->cfg, &err);
        if (r < 0) {
                if (err)
                        cadu_context_log(ctx, CADU_LOG_ERR, "%s", err);
                else
                        cadu_context_log(ctx, CADU_LOG_ERR, "reading %s: %s",
                                         config_path ? config_path : CADU_CONFIG_DEFAULT_PATH,
                                         cadu_context_strerror(r));
                free(s);
                return r;
        }
        s->ctx = ctx;
        s->lock_fd = -1;
        *ret = s;
        return 0;
}

cadu_slots *cadu_slots_free(cadu_slots *s) {
        if (!s)
                return NULL;
        cadu_boot_free(s->boot);
        cadu_config_free(s->cfg);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s);
        return NULL;
}

int cadu_slots_load(cadu_slots *s, unsigned flags) {
        if (!s || (flags & ~CADU_SLOTS_LOCK) || s->boot)
                return -EINVAL;
        cadu_context_clear_error(s->ctx);
        int r;
        if (flags & CADU_SLOTS_LOCK) {
                r = cadu_state_lock(s->cfg->state_dir, &s->lock_fd);
                if (r == -EBUSY) {
                        cadu_context_log(s->ctx, CADU_LOG_ERR,
                                         "state directory %s is locked: another cadu (an install?) is running",
                                         s->cfg->state_dir);
                        return r;
                }
                if (r < 0) {
                        cadu_context_log(s->ctx, CADU_LOG_ERR, "locking state directory %s: %s", s->cfg->state_dir,
                                         cadu_context_strerror(r));
                        return r;
                }
        }
        cadu_boot_options bo = cadu_config_boot_options(s->cfg);
        r = cadu_boot_new(&bo, &s->boot);
        if (r < 0) {
                s->boot = NULL;
                cadu_context_log(s->ctx, CADU_LOG_ERR, "bootloader: %s", cadu_context_strerror(r));
                return r;
        }
        if ((r = cadu_boot_load(s->boot)) < 0)
                return cadu_slots_boot_error(s, r, "reading the bootloader environment");
        if ((r = cadu_boot_state_get(s->boot, &s->bs)) < 0)
                return cadu_slots_boot_error(s, r, "bootloader environment");
        r = cadu_boot_booted_slot(s->cfg->cmdline, s->boot, s->cfg->slot_variable, &s->booted, &s->booted_from);
        if (r == -EBADMSG)
                return cadu_slots_boot_error(s, r, "finding the booted slot");
        if (r < 0) {
                s->booted = 0;
                s->booted_r = r;
        }
        for (int i = 0; i < 2; i++)
                for (size_t k = 0; k < s->cfg->n_classes; k++) {
                        cadu_slot_info info;
                        r = cadu_slot_info_read(s->cfg->state_dir, s->cfg->classes[k].name, i ? 'B' : 'A', &info);
                        if (r < 0) {
                                cadu_context_log(s->ctx, CADU_LOG_ERR, "reading the state of slot %s.%c in %s: %s",
                                                 s->cfg->classes[k].name, i ? 'B' : 'A', s->cfg->state_dir,
                                                 cadu_context_strerror(r));
                                return r;
                        }
                        s->state[i] = summarise(s->state[i], info.state, k == 0);
                        cadu_slot_info_clear(&info);
                }
        return 0;
}

char cadu_slots_booted(const cadu_slots *s) {
        return s && s->boot ? s->booted : 0;
}

char cadu_slots_next_boot(const cadu_slots *s) {
        return s && s->boot ? cadu_boot_state_next(&s->bs) : 0;
}

char cadu_slots_pending_trial(const cadu_slots *s) {
        if (!s || !s->boot)
                return 0;
        for (int i = 0; i < 2; i++)
                if ((i ? 'B' : 'A') != s->booted && cadu_slots_trial_pending(s, i ? 'B' : 'A'))
                        return i ? 'B' : 'A';
        return 0;
}

char cadu_slots_failed_trial(const cadu_slots *s) {
        if (!s || !s->boot)
                return 0;
        for (int i = 0; i < 2; i++)
                if (cadu_slots_trial_failed(s, i ? 'B' : 'A'))
                        return i ? 'B' : 'A';
        return 0;
}

int cadu_slots_get(const cadu_slots *s, char slot, cadu_slot_status *ret_status, unsigned *ret_attempts_left) {
        if (!s || (slot != 'A' && slot != 'B'))
                return -EINVAL;
        if (!s->boot)
                return -ENODATA;
        static const cadu_slot_status map[] = {
                [CADU_SLOT_UNKNOWN] = CADU_SLOT_STATUS_UNKNOWN,
                [CADU_SLOT_GOOD] = CADU_SLOT_STATUS_GOOD,
                [CADU_SLOT_BAD] = CADU_SLOT_STATUS_BAD,
                [CADU_SLOT_TRIAL] = CADU_SLOT_STATUS_TRIAL,
        };
        int i = cadu_boot_slot_index(slot);
        if (ret_status)
                *ret_status = map[s->state[i]];
        if (ret_attempts_left)
                *ret_attempts_left = s->bs.left[i];
        return 0;
}

/* The version recorded for slot (of the first class that has one), or NULL. */
static char *slot_version(const cadu_config *cfg, char slot) {
        for (size_t k = 0; k < cfg->n_classes; k++) {
                cadu_slot_info info;
                if (cadu_slot_info_read(cfg->state_dir, cfg->classes[k].name, slot, &info) < 0)
                        continue;
                char *v = info.version;
                info.version = NULL;
                cadu_slot_info_clear(&info);
                if (v)
                        return v;
        }
        return NULL;
}

/* The start of a change: loaded with CADU_SLOTS_LOCK (-EPERM otherwise). */
static int begin_change(cadu_slots *s) {
        if (!s->boot || s->lock_fd < 0)
                return -EPERM;
        cadu_context_clear_error(s->ctx);
        return 0;
}

int cadu_slots_mark_good(cadu_slots *s) {
        if (!s)
                return -EINVAL;
        int r = begin_change(s);
        if (r == 0)
                r = cadu_slots_need_booted(s);
        if (r < 0)
                return r;
        char booted = s->booted, other = cadu_boot_other(booted);
        bool keep_trial = cadu_slots_trial_pending(s, other);
        bool failed = cadu_slots_trial_failed(s, other);
        r = keep_trial ? cadu_boot_reset_attempts(s->boot, booted) : cadu_boot_mark_good(s->boot, booted);
        if (r < 0)
                return cadu_slots_boot_error(s, r, "bootloader environment");
        /* The committed version becomes the device's rollback floor, kept in
         * the environment so that it survives a wiped state directory. */
        _cleanup_free_ char *version = slot_version(s->cfg, booted);
        if ((r = cadu_min_version_raise(s->boot, version)) == -EBADMSG) {
                cadu_context_log(s->ctx, CADU_LOG_ERR, "bootloader environment: %s='%.64s' is not a version",
                                 CADU_MIN_VERSION_VAR, cadu_boot_get(s->boot, CADU_MIN_VERSION_VAR));
                return r;
        }
        if (r < 0)
                return cadu_slots_boot_error(s, r, "bootloader environment");
        if ((r = cadu_slots_store(s)) < 0)
                return r;
        /* The environment first: a slot recorded good must not be left with
         * the attempt count of its trial. */
        if ((r = cadu_slots_set_state(s, booted, CADU_SLOT_GOOD)) < 0)
                return r;
        if (failed && (r = cadu_slots_set_state(s, other, CADU_SLOT_BAD)) < 0)
                return r;
        cadu_boot_state_get(s->boot, &s->bs);
        return 0;
}

int cadu_slots_mark_bad(cadu_slots *s, char slot, unsigned flags) {
        if (!s || (slot && slot != 'A' && slot != 'B') || (flags & ~CADU_SLOTS_FORCE))
                return -EINVAL;
        int r = begin_change(s);
        if (r < 0)
                return r;
        if (!slot) {
                if ((r = cadu_slots_need_booted(s)) < 0)
                        return r;
                slot = s->booted;
        }
        char other = cadu_boot_other(slot);
        cadu_slot_state other_state = s->state[cadu_boot_slot_index(other)];
        if ((slot == s->booted || !s->booted) && !(flags & CADU_SLOTS_FORCE) && other_state != CADU_SLOT_GOOD) {
                cadu_context_log(s->ctx, CADU_LOG_ERR,
                                 "refusing to mark slot %c bad: %s, and slot %c does not hold a good image "
                                 "(state %s); use --force to do it anyway",
                                 slot, s->booted ? "it is running" : "the running slot is unknown", other,
                                 cadu_slot_state_name(other_state));
                return -ENOTRECOVERABLE;
        }
        /* The state first: "bad" only ever restricts what is offered later. */
        if ((r = cadu_slots_set_state(s, slot, CADU_SLOT_BAD)) < 0)
                return r;
        if ((r = cadu_boot_mark_bad(s->boot, slot)) < 0)
                return cadu_slots_boot_error(s, r, "bootloader environment");
        if ((r = cadu_slots_store(s)) < 0)
                return r;
        cadu_boot_state_get(s->boot, &s->bs);
        return 0;
}

int cadu_slots_rollback(cadu_slots *s) {
        if (!s)
                return -EINVAL;
        int r = begin_change(s);
        if (r == 0)
                r = cadu_slots_need_booted(s);
        if (r < 0)
                return r;
        char other = cadu_boot_other(s->booted);
        cadu_slot_state other_state = s->state[cadu_boot_slot_index(other)];
        if (other_state != CADU_SLOT_GOOD) {
                cadu_context_log(s->ctx, CADU_LOG_ERR,
                                 "refusing to roll back to slot %c: it does not hold a good image (state %s)", other,
                                 cadu_slot_state_name(other_state));
                return -ENOTRECOVERABLE;
        }
        if ((r = cadu_boot_rollback(s->boot, s->booted)) < 0)
                return cadu_slots_boot_error(s, r, "bootloader environment");
        if ((r = cadu_slots_store(s)) < 0)
                return r;
        cadu_boot_state_get(s->boot, &s->bs);
        return 0;
}
