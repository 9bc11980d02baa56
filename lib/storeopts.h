/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storeopts.h - the store and network options every command that reads
 * stores accepts (extract, install, mirror), and the same settings as
 * "key = value" lines of a configuration file.
 *
 * In a command:
 *
 *     static const struct option options[] = {
 *             { "store", required_argument, NULL, 's' },
 *             CADU_STOREOPTS_LONG_OPTIONS,
 *             {}
 *     };
 *     _cleanup_(cadu_storeopts_done) cadu_storeopts so = CADU_STOREOPTS_INIT;
 *     ...
 *     case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
 *             r = cadu_storeopts_parse(&so, "extract", c, optarg);
 *             if (r != 0)
 *                     return r;
 *             break;
 *     ...
 *     cadu_store_open(url, &so.opts, false, &store);
 *
 * and print cadu_storeopts_help under a heading in the command's --help.
 */
#ifndef CADU_STOREOPTS_H
#define CADU_STOREOPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "cadu-store.h"

typedef struct cadu_storeopts {
        cadu_store_options opts;        /* pass &opts to cadu_store_open() */
        /* Owned copies the pointers in opts refer to. */
        char **headers;                 /* NULL-terminated */
        size_t n_headers;
        char *ca_file, *client_cert, *client_key;
} cadu_storeopts;
#define CADU_STOREOPTS_INIT { 0 }

/* The ranges of the numeric options: one table for the command line, the
 * configuration file (cadu.conf(5) [store]) and the help texts. */
#define CADU_STOREOPT_MAX_TRANSFERS_MIN 1
#define CADU_STOREOPT_MAX_TRANSFERS_MAX 256
#define CADU_STOREOPT_RETRIES_MIN 0
#define CADU_STOREOPT_RETRIES_MAX 100
#define CADU_STOREOPT_SECONDS_MIN 1             /* connect-timeout, low-speed-time */
#define CADU_STOREOPT_SECONDS_MAX 3600
#define CADU_STOREOPT_DEADLINE_MAX (UINT64_C(100) * 365 * 86400)
#define CADU_STOREOPT_MAX_REDIRECTS_MIN 1
#define CADU_STOREOPT_MAX_REDIRECTS_MAX 50

/* getopt_long() values; a command keeps its own values below 0x5300. */
enum {
        CADU_STOREOPT_FIRST = 0x5300,
        CADU_STOREOPT_MAX_TRANSFERS = CADU_STOREOPT_FIRST,
        CADU_STOREOPT_RATE_LIMIT,
        CADU_STOREOPT_RETRIES,
        CADU_STOREOPT_CONNECT_TIMEOUT,
        CADU_STOREOPT_LOW_SPEED_TIME,
        CADU_STOREOPT_LOW_SPEED_LIMIT,
        CADU_STOREOPT_DEADLINE,
        CADU_STOREOPT_MAX_REDIRECTS,
        CADU_STOREOPT_CA_FILE,
        CADU_STOREOPT_CLIENT_CERT,
        CADU_STOREOPT_CLIENT_KEY,
        CADU_STOREOPT_HEADER,
        CADU_STOREOPT_INSECURE,
        CADU_STOREOPT_LAST = CADU_STOREOPT_INSECURE,
};

/* Entries for a command's struct option array (no terminator). */
#define CADU_STOREOPTS_LONG_OPTIONS \
        { "max-transfers", required_argument, NULL, CADU_STOREOPT_MAX_TRANSFERS }, \
        { "rate-limit", required_argument, NULL, CADU_STOREOPT_RATE_LIMIT }, \
        { "retries", required_argument, NULL, CADU_STOREOPT_RETRIES }, \
        { "connect-timeout", required_argument, NULL, CADU_STOREOPT_CONNECT_TIMEOUT }, \
        { "low-speed-time", required_argument, NULL, CADU_STOREOPT_LOW_SPEED_TIME }, \
        { "low-speed-limit", required_argument, NULL, CADU_STOREOPT_LOW_SPEED_LIMIT }, \
        { "deadline", required_argument, NULL, CADU_STOREOPT_DEADLINE }, \
        { "max-redirects", required_argument, NULL, CADU_STOREOPT_MAX_REDIRECTS }, \
        { "ca-file", required_argument, NULL, CADU_STOREOPT_CA_FILE }, \
        { "client-cert", required_argument, NULL, CADU_STOREOPT_CLIENT_CERT }, \
        { "client-key", required_argument, NULL, CADU_STOREOPT_CLIENT_KEY }, \
        { "header", required_argument, NULL, CADU_STOREOPT_HEADER }, \
        { "insecure", no_argument, NULL, CADU_STOREOPT_INSECURE }

/* Apply one getopt_long() result opt (CADU_STOREOPT_FIRST..LAST) with its
 * argument: 0, -ENOKEY for another opt, or as cadu_storeopts_set(). */
int cadu_storeopts_apply(cadu_storeopts *o, int opt, const char *arg);
/* The option's name without "--", and what its value must be (for an
 * error message); NULL for another opt. */
const char *cadu_storeopts_name(int opt);
const char *cadu_storeopts_expected(int opt);

/* Apply a setting by its option name without "--" ("rate-limit", "header",
 * ...), as a configuration file gives it. Flags take yes/no, true/false,
 * on/off or 1/0 (NULL means yes). "header" adds one header each time.
 * Returns 0, -ENOKEY for an unknown key, -EINVAL or -ERANGE for a bad value,
 * or -errno (e.g. -ENOENT) when a named file cannot be read. */
int cadu_storeopts_set(cadu_storeopts *o, const char *key, const char *value);

/* Free what o owns and reset it to CADU_STOREOPTS_INIT. */
void cadu_storeopts_done(cadu_storeopts *o);

/* The rest is the command's (src/cmd-storeopts.c), which prints. */

/* The options' --help lines (indented like the commands' own options),
 * to print under a heading such as "Network store options:". */
extern const char cadu_storeopts_help[];

/* Apply one getopt_long() result opt (CADU_STOREOPT_FIRST..LAST) with its
 * argument. Returns 0, or prints one usage error for command cmd and returns
 * CADU_EXIT_USAGE. */
int cadu_storeopts_parse(cadu_storeopts *o, const char *cmd, int opt, const char *arg);

/* Whether r (a negative errno from a store or a fetch) is a failure to reach
 * or be served by a network store. */
bool cadu_storeopts_network_error(int r);

/* The exit code for an error from a store: CADU_EXIT_NETWORK for a network
 * error (above), CADU_EXIT_VERIFY for -EBADMSG, else CADU_EXIT_FAILURE. */
int cadu_storeopts_exit_code(int r);

#endif
