/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd.h - what the cadu subcommands share: the command table entry, exit
 * codes, the single error message, progress and JSON output.
 *
 * Library code never logs. A command reports one error, once, where it gives
 * up, with the context of every layer ("extracting v2.caibx: chunk 1a2b…:
 * digest mismatch").
 */
#ifndef CADU_CMD_H
#define CADU_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes. Documented in cadu(1); only ever appended to. */
enum {
        CADU_EXIT_OK = 0,
        CADU_EXIT_FAILURE = 1,     /* the operation failed (I/O, missing data, ...) */
        CADU_EXIT_USAGE = 2,       /* bad command line or configuration */
        CADU_EXIT_VERIFY = 3,      /* verification failed: digest, signature, corrupt input */
        CADU_EXIT_REFUSED = 4,     /* policy refused: compatible, downgrade, expired */
        CADU_EXIT_NETWORK = 5,     /* a network store could not deliver */
};

typedef struct cadu_command {
        const char *name;
        int (*run)(int argc, char **argv);  /* returns an exit code */
        const char *summary;
} cadu_command;

/* Global options (set by main before the subcommand runs). */
extern bool cadu_quiet;    /* --quiet: no progress, no summary */
extern bool cadu_json;     /* --json: machine-readable events on stdout */

/* Print "cadu: <message>\n" to stderr. Returns CADU_EXIT_FAILURE for convenience. */
int cadu_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": <strerror(-r)>" appended; maps r to an exit code
 * (-EBADMSG, -EFBIG -> CADU_EXIT_VERIFY, else CADU_EXIT_FAILURE). */
int cadu_error_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print usage error plus "Try 'cadu CMD --help'." and return CADU_EXIT_USAGE. */
int cadu_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A human-readable error string for r (negative errno), with cadu's
 * meanings for EBADMSG ("corrupt or does not match its digest") etc.: the
 * library's cadu_context_strerror() (lib/context.h). */
const char *cadu_strerror(int r);

/* Progress on a terminal (stderr, at most 5 updates a second), and JSON
 * progress events with --json. */
typedef struct cadu_progress {
        const char *what;
        const char *unit;               /* NULL: bytes */
        uint64_t total, done;
        uint64_t start_ns, last_ns;
        bool tty, shown;
} cadu_progress;
void cadu_progress_begin(cadu_progress *p, const char *what, uint64_t total);
/* The same counting things (unit: "chunks") rather than bytes. */
void cadu_progress_begin_count(cadu_progress *p, const char *what, uint64_t total, const char *unit);
void cadu_progress_update(cadu_progress *p, uint64_t done);
void cadu_progress_end(cadu_progress *p);
/* An engine's progress callback (userdata: a cadu_engine_progress with
 * what, and unit as for cadu_progress_begin_count(), NULL: bytes): its
 * first call gives the total and begins the line, later ones update it;
 * cadu_progress_end(&p->prog) ends it (nothing when it never began). */
typedef struct cadu_engine_progress {
        cadu_progress prog;
        const char *what, *unit;
        bool begun;
} cadu_engine_progress;
void cadu_engine_progress_fn(void *ud, uint64_t done, uint64_t total);

/* Progress of cadu_extract(): the output ("extract", "install NAME"), and
 * before it, on a line of its own, each seed read to learn its chunks
 * ("scanning seed PATH"; with --json its last event has done = total). Set
 * cadu_extract_opts.progress, .seed_progress and .userdata to these. */
typedef struct cadu_extract_progress {
        cadu_progress prog;
        const char *what;
        uint64_t total;
        const char *seed;               /* the seed being scanned, or NULL */
        char label[300];
} cadu_extract_progress;
void cadu_extract_progress_begin(cadu_extract_progress *p, const char *what, uint64_t total);
void cadu_extract_progress_out(void *ud, uint64_t done, uint64_t total);
void cadu_extract_progress_seed(void *ud, const char *seed_path, uint64_t done, uint64_t total);
void cadu_extract_progress_end(cadu_extract_progress *p);

/* libcadu (cadu/cadu.h) on the command line. */
struct cadu_context;
/* Print the one line of a failed libcadu call (the context's last error,
 * else "what: <strerror>") and return the exit code cadu_error_errno()
 * gives r. */
int cadu_error_lib(const struct cadu_context *ctx, int r, const char *what);
/* The key file at path, loaded with the messages and exit codes of
 * cmd-crypt.h's cadu_cmd_load_key() (option names it: "--key-file"),
 * becomes the context's key (src/cmd-crypt.c). */
int cadu_cmd_set_key_file(struct cadu_context *ctx, const char *option, const char *path);
/* A store option of the command line (storeopts.h's CADU_STOREOPT_FIRST ..
 * LAST) set on the context with the messages of cadu_storeopts_parse():
 * 0, or prints one usage error for command cmd and returns CADU_EXIT_USAGE
 * (src/cmd-storeopts.c). */
int cadu_cmd_storeopt(struct cadu_context *ctx, const char *cmd, int opt, const char *arg);
/* The context's log callback of a command: warnings as "cadu: warning:
 * ..." on stderr; errors are printed by the command where it gives up
 * (cadu_error_lib()). */
void cadu_cmd_log(void *userdata, int level, const char *message);
/* The context's progress callback of a command (userdata: a
 * cadu_cmd_progress): a progress line per phase ("make", "extract",
 * "scanning seed PATH", ...; count_phases names those that count chunks),
 * ended when it completes (a seed's scan with a last event at done =
 * total, as cadu_extract_progress_seed()). */
typedef struct cadu_cmd_progress {
        cadu_progress prog;
        char what[300];
        bool open;
        const char *const *count_phases;        /* NULL-terminated, or NULL */
} cadu_cmd_progress;
void cadu_cmd_progress_fn(void *userdata, const char *what, uint64_t done, uint64_t total);
void cadu_cmd_progress_end(cadu_cmd_progress *p);

/* casync's default store for an index: default.castr beside it (malloc'ed). */
int cadu_default_store(const char *index_path, char **ret);

/* "1.5 GiB" style. buf of at least 32 bytes. */
const char *cadu_format_bytes(uint64_t n, char *buf);

/* Print a JSON string literal (with quotes, escaped) to f. Bytes that are
 * not well-formed UTF-8 (file names may hold any) become \ufffd. */
void cadu_json_string(FILE *f, const char *s);

/* The statistics of an extraction (text on stderr, or a JSON "done" event),
 * shared by extract, install and info (src/cmd-extract-stats.c): filled
 * from libcadu's public API (extract) or from lib/extract.h's structs
 * (cadu_print_extract_stats(), cadu_print_extract_plan()). */
typedef struct cadu_cmd_source {
        const char *json_name, *text_name;      /* "seed", "seed" */
        const char *location;                   /* or NULL */
        uint64_t chunks, bytes, raw_bytes, rejected;
        bool http;                              /* an HTTP(S) store: */
        uint64_t requests, retries, connections, bytes_received, range_requests, range_bytes;
} cadu_cmd_source;
typedef struct cadu_cmd_plan {
        bool pack_index;
        uint64_t index_bytes, pack_chunks, pack_bytes, delta_chunks, delta_bytes, range_requests;
        uint64_t file_chunks, file_bytes;
        bool files_bound;
        uint64_t total_bytes, requests;
} cadu_cmd_plan;
typedef struct cadu_cmd_extract_report {
        const char *command, *out_path;         /* out_path NULL: a plan */
        uint64_t total_bytes, total_chunks, bytes_written, bytes_copied, bytes_cloned, downloaded;
        double seconds;
        const cadu_cmd_source *sources;         /* in the order printed */
        size_t nsources;
        cadu_cmd_plan plan;
} cadu_cmd_extract_report;
/* The download plan: JSON object (no newline) or text lines on stderr. */
void cadu_print_plan(const cadu_cmd_plan *p);
void cadu_print_extract_report(const cadu_cmd_extract_report *r);
struct cadu_extract_opts;
struct cadu_extract_stats;
struct cadu_extract_plan;
void cadu_print_extract_plan(const struct cadu_extract_plan *p);
void cadu_print_extract_stats(const char *command, const struct cadu_extract_opts *o,
                              const struct cadu_extract_stats *st);

/* Subcommands. */
int cadu_cmd_make(int argc, char **argv);
int cadu_cmd_extract(int argc, char **argv);
int cadu_cmd_install(int argc, char **argv);
int cadu_cmd_info(int argc, char **argv);
int cadu_cmd_verify_store(int argc, char **argv);
int cadu_cmd_gc(int argc, char **argv);
int cadu_cmd_mirror(int argc, char **argv);
int cadu_cmd_rdiff(int argc, char **argv);
int cadu_cmd_manifest(int argc, char **argv);
int cadu_cmd_sign(int argc, char **argv);
int cadu_cmd_verify(int argc, char **argv);
int cadu_cmd_status(int argc, char **argv);
int cadu_cmd_mark_good(int argc, char **argv);
int cadu_cmd_mark_bad(int argc, char **argv);
int cadu_cmd_rollback(int argc, char **argv);
int cadu_cmd_hawkbit(int argc, char **argv);
/* cadu run as `casync` (src/cmd-casync.c): casync's exit codes, 0 or 1. */
int cadu_casync_main(int argc, char **argv);

#endif
