/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slotstate.h - what the device remembers about its slots, in the state
 * directory (cadu.conf: [system] state-dir, default /var/lib/cadu):
 *
 *   STATE/CLASS.SLOT.info     per slot of each class: state, version, image
 *                             and index sha256, install time ("key=value" lines)
 *   STATE/CLASS.SLOT.caibx    the index of the image in that slot, saved by
 *                             install and used as the cheapest seed next time
 *   STATE/install.journal     the record of the last (or running) install
 *   STATE/lock                flock()ed by whoever changes slots or state
 *
 * SLOT is "A" or "B". Every file is replaced atomically (temporary file,
 * fsync, rename, fsync of the directory), so after a power loss each holds
 * either its old or its new content. Readers ignore keys and records they do
 * not know, so that an older cadu (after a rollback) reads what a newer one
 * wrote. Functions return 0 or a negative errno and never log.
 */
#ifndef CADU_SLOTSTATE_H
#define CADU_SLOTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cadu_slot_state {
        CADU_SLOT_UNKNOWN,      /* nothing known: never installed by cadu, or being rewritten */
        CADU_SLOT_GOOD,         /* holds a verified image that booted and was committed */
        CADU_SLOT_BAD,          /* marked bad, or its trial boot failed */
        CADU_SLOT_TRIAL,        /* holds a verified image set up for (or in) a trial boot */
} cadu_slot_state;

/* "unknown", "good", "bad", "trial". */
const char *cadu_slot_state_name(cadu_slot_state s);
/* 0 and *ret set, or -EINVAL for another name. */
int cadu_slot_state_from_name(const char *name, cadu_slot_state *ret);

typedef struct cadu_slot_info {
        cadu_slot_state state;
        char *version;          /* NULL when unknown */
        char *image_sha256;     /* 64 lower-case hex digits, or NULL */
        char *index_sha256;     /* 64 lower-case hex digits, or NULL */
        uint64_t installed;     /* seconds since the epoch, 0 when unknown */
} cadu_slot_info;
#define CADU_SLOT_INFO_INIT { .state = CADU_SLOT_UNKNOWN }

/* Free the strings and reset to CADU_SLOT_INFO_INIT. */
void cadu_slot_info_clear(cadu_slot_info *i);

/* Class names are those of cadu.conf: letters, digits, '-' and '_'. */
bool cadu_slot_class_valid(const char *cls);

/* malloc'ed "STATE/CLASS.SLOT.info" and "STATE/CLASS.SLOT.caibx".
 * -EINVAL for an invalid class or slot. */
int cadu_slot_info_path(const char *state_dir, const char *cls, char slot, char **ret);
int cadu_slot_seed_index_path(const char *state_dir, const char *cls, char slot, char **ret);

/* Read the info of a slot; a missing file gives CADU_SLOT_INFO_INIT (state
 * unknown) and 0. -EBADMSG when the file is malformed. *ret is overwritten
 * (clear it afterwards with cadu_slot_info_clear()). */
int cadu_slot_info_read(const char *state_dir, const char *cls, char slot, cadu_slot_info *ret);
/* The same from len bytes of file content. */
int cadu_slot_info_parse(const char *data, size_t len, cadu_slot_info *ret);

/* Replace the info of a slot atomically (creating the state directory).
 * -EINVAL when a string has a newline or a digest is not 64 hex digits. */
int cadu_slot_info_write(const char *state_dir, const char *cls, char slot, const cadu_slot_info *i);

/* Read, change the state only, write. */
int cadu_slot_info_set_state(const char *state_dir, const char *cls, char slot, cadu_slot_state s);

/* Take the state directory's lock (creating the directory), without
 * waiting: -EBUSY when another process holds it. *ret_fd is the lock;
 * close it to release. */
int cadu_state_lock(const char *state_dir, int *ret_fd);

/* ---- install journal ----
 *
 * STATE/install.journal, rewritten atomically at every record:
 *   cadu-journal 1
 *   start MANIFEST-SHA256 SLOT TIME VERSION
 *   phase NAME IMAGE VALUE          ("-" for no image or no value)
 *   ...
 *   done TIME
 * An install starts a journal, records each step after the step's effects
 * are on stable storage (e.g. "written rootfs", "verified rootfs SHA256",
 * "seed-saved rootfs", "switched"), and ends with done. After a power loss
 * the journal says which steps completed, so a re-run resumes; a journal
 * without "done" means the install was interrupted. Names, images and values
 * are words of printable characters without blanks (at most 256 bytes). */

typedef struct cadu_journal_record {
        char *phase;
        char *image;            /* NULL for "-" */
        char *value;            /* NULL for "-" */
} cadu_journal_record;

typedef struct cadu_journal {
        char *manifest_sha256;  /* 64 hex digits */
        char slot;              /* target slot, 'A' or 'B' */
        uint64_t started;       /* seconds since the epoch */
        char *version;
        cadu_journal_record *records;
        size_t n_records;
        bool done;
        uint64_t finished;      /* when done */
} cadu_journal;

/* Begin a new journal (replacing any previous one). */
int cadu_journal_start(const char *state_dir, const char *manifest_sha256, char slot, const char *version);
/* Append a record; image and value may be NULL. -ENOENT without a journal,
 * -EALREADY when it is done. */
int cadu_journal_record_phase(const char *state_dir, const char *phase, const char *image, const char *value);
/* Mark the journal done. */
int cadu_journal_done(const char *state_dir);
/* Read the journal: -ENOENT when there is none, -EBADMSG when malformed. */
int cadu_journal_read(const char *state_dir, cadu_journal **ret);
int cadu_journal_parse(const char *data, size_t len, cadu_journal **ret);
/* Remove the journal (fine when there is none). */
int cadu_journal_remove(const char *state_dir);
/* The last record with this phase (and image, unless NULL), or NULL. */
const cadu_journal_record *cadu_journal_find(const cadu_journal *j, const char *phase, const char *image);
/* NULL-safe; returns NULL. */
cadu_journal *cadu_journal_free(cadu_journal *j);

/* ---- the device's rollback floor ----
 *
 * doc/bootloader.md, "Rollback protection": the bootloader variable
 * cadu_min_version, raised by mark-good to the committed version and never
 * lowered by cadu. *ret is NULL when unset; -EBADMSG when it is not a
 * version. */
#define CADU_MIN_VERSION_VAR "cadu_min_version"
struct cadu_boot;
int cadu_min_version_get(const struct cadu_boot *b, const char **ret);
/* Raise the floor to version when version is newer (in memory; the caller
 * stores). NULL or an invalid version changes nothing. */
int cadu_min_version_raise(struct cadu_boot *b, const char *version);

#endif
