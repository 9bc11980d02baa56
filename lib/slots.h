/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slots.h - the inside of libcadu's public cadu_slots (include/cadu/cadu.h,
 * "Slots"): the device's configuration, bootloader environment and slot
 * states, as `cadu status`, `mark-good`, `mark-bad` and `rollback` read and
 * change them (src/cmd-slot.c prints from these fields).
 */
#ifndef CADU_SLOTS_H
#define CADU_SLOTS_H

#include "cadu/cadu.h"
#include "cadu-boot.h"
#include "config.h"
#include "slotstate.h"

struct cadu_slots {
        cadu_context *ctx;
        cadu_config *cfg;
        cadu_boot *boot;                /* NULL before cadu_slots_load() */
        cadu_boot_state bs;
        char booted;                    /* 0 when unknown */
        const char *booted_from;        /* "cmdline" or "variable" */
        int booted_r;                   /* why booted is unknown */
        int lock_fd;
        /* per slot (0 = A, 1 = B), summarised over the classes */
        cadu_slot_state state[2];
};

/* "U-Boot environment", ... and where it is, for messages. */
const char *cadu_slots_bootloader_name(const cadu_config *cfg);
const char *cadu_slots_bootloader_path(const cadu_config *cfg);

/* A trial of slot is set up and not yet booted / used up its attempts
 * without being committed. */
bool cadu_slots_trial_pending(const cadu_slots *s, char slot);
bool cadu_slots_trial_failed(const cadu_slots *s, char slot);

/* The failure r of the boot library at what, logged (its detail when it has
 * one). Returns r. */
int cadu_slots_boot_error(cadu_slots *s, int r, const char *what);
/* Record every class of slot as st in the state directory. 0 or -errno (logged). */
int cadu_slots_set_state(cadu_slots *s, char slot, cadu_slot_state st);
/* Store the environment. 0 or -errno (logged: nothing switched). */
int cadu_slots_store(cadu_slots *s);
/* 0, or -errno with the line saying why the running slot is unknown logged. */
int cadu_slots_need_booted(cadu_slots *s);

#endif
