/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd-storeopts.c - the store and network options on the command line:
 * their help, their usage errors and the exit code of a store's error
 * (the settings themselves are lib/storeopts.c). */
#include <errno.h>

#include "cadu-util.h"
#include "cadu/cadu.h"
#include "cmd.h"
#include "storeopts.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char cadu_storeopts_help[] =
        "      --max-transfers N       transfers in flight per store (" STR(CADU_STOREOPT_MAX_TRANSFERS_MIN) ".." STR(
                CADU_STOREOPT_MAX_TRANSFERS_MAX) ", default 8)\n"
        "      --rate-limit BYTES      bytes per second for each store, K/M/G suffixes\n"
        "                              (e.g. 512K); shared by its transfers\n"
        "      --retries N             retries of a chunk after a connection error,\n"
        "                              timeout, truncated body or 5xx (" STR(CADU_STOREOPT_RETRIES_MIN) ".." STR(
                CADU_STOREOPT_RETRIES_MAX) ", default 5)\n"
        "      --connect-timeout S     seconds to establish a connection (default 15)\n"
        "      --low-speed-time S      abort a transfer receiving nothing, or less than\n"
        "                              --low-speed-limit bytes/s on average, for S\n"
        "                              seconds (default 30; it is then retried)\n"
        "      --low-speed-limit BYTES the least bytes/s a transfer must average over\n"
        "                              --low-speed-time, K/M suffixes (default 512)\n"
        "      --deadline S            fail network fetches once S seconds have passed\n"
        "                              since the start (default: none for chunks; 600\n"
        "                              for each manifest, signature, index or delta)\n"
        "      --max-redirects N       HTTP redirects followed (" STR(CADU_STOREOPT_MAX_REDIRECTS_MIN) ".." STR(
                CADU_STOREOPT_MAX_REDIRECTS_MAX) ", default 5)\n"
        "      --ca-file FILE          trust the CA certificates in FILE (PEM) instead\n"
        "                              of the system's\n"
        "      --client-cert FILE      client certificate (PEM) for mutual TLS\n"
        "      --client-key FILE       its private key (PEM; default: in --client-cert)\n"
        "      --header 'NAME: VALUE'  extra request header (e.g. a bearer token);\n"
        "                              repeatable\n"
        "      --insecure              do not verify the servers' TLS certificates\n";

int cadu_storeopts_parse(cadu_storeopts *o, const char *cmd, int opt, const char *arg) {
        const char *name = cadu_storeopts_name(opt);
        if (!name)
                return cadu_usage_error(cmd, "unknown option");
        int r = cadu_storeopts_apply(o, opt, arg);
        if (r == -ENOMEM)
                return cadu_error_errno(r, "--%s", name);
        if (r < 0 && r != -EINVAL && r != -ERANGE)
                /* a file option: say why the file cannot be used */
                return cadu_usage_error(cmd, "invalid --%s '%s': %s", name, arg ? arg : "",
                                        cadu_strerror(r));
        if (r < 0)
                return cadu_usage_error(cmd, "invalid --%s '%s': need %s", name, arg ? arg : "",
                                        cadu_storeopts_expected(opt));
        return 0;
}

int cadu_cmd_storeopt(cadu_context *ctx, const char *cmd, int opt, const char *arg) {
        const char *name = cadu_storeopts_name(opt);
        if (!name)
                return cadu_usage_error(cmd, "unknown option");
        int r = cadu_context_set_store_option(ctx, name, arg);
        if (r == -ENOMEM)
                return cadu_error_errno(r, "--%s", name);
        if (r < 0 && r != -EINVAL && r != -ERANGE)
                return cadu_usage_error(cmd, "invalid --%s '%s': %s", name, arg ? arg : "", cadu_strerror(r));
        if (r < 0)
                return cadu_usage_error(cmd, "invalid --%s '%s': need %s", name, arg ? arg : "",
                                        cadu_storeopts_expected(opt));
        return 0;
}

int cadu_storeopts_exit_code(int r) {
        return r == -EBADMSG ? CADU_EXIT_VERIFY
               : cadu_storeopts_network_error(r) ? CADU_EXIT_NETWORK
                                                 : CADU_EXIT_FAILURE;
}
