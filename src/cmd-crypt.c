/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd-crypt.c - key files and encrypted indexes for the commands: the
 * library's (lib/context.h), with the commands' messages and exit codes. */
#include <errno.h>

#include "cmd-crypt.h"
#include "cmd.h"

int cadu_cmd_load_key(const char *option, const char *path, cadu_crypt_key *ret) {
        const char *why = NULL;
        int r = cadu_key_file_load(path, ret, &why);
        if (r == 0)
                return CADU_EXIT_OK;
        cadu_error("%s %s: %s", option, path, why);
        return cadu_key_file_fault(r) ? CADU_EXIT_USAGE : CADU_EXIT_FAILURE;
}

int cadu_cmd_index_key_error(int r, bool encrypted, const char *msg) {
        cadu_error("%s%s", msg, r == -ENOKEY ? " (--key-file)" : "");
        return !encrypted || r == -ENOKEY       ? CADU_EXIT_USAGE
               : r == -EKEYREJECTED             ? CADU_EXIT_REFUSED
               : r == -EBADMSG || r == -EFBIG   ? CADU_EXIT_VERIFY
                                                : CADU_EXIT_FAILURE;
}

int cadu_cmd_open_index(const char *what, const cadu_crypt_key *k, cadu_buf *buf, bool *encrypted) {
        _cleanup_free_ char *msg = NULL;
        int r = cadu_index_unseal(what, k, buf, encrypted, &msg);
        if (r == 0)
                return CADU_EXIT_OK;
        if (!msg)
                return cadu_error_errno(r, "decrypting index %s", what);
        return cadu_cmd_index_key_error(r, *encrypted, msg);
}

int cadu_cmd_set_key_file(cadu_context *ctx, const char *option, const char *path) {
        cadu_crypt_key k;
        int r = cadu_cmd_load_key(option, path, &k);
        if (r == 0)
                cadu_context_use_key(ctx, &k);
        cadu_crypt_key_clear(&k);
        return r;
}
