/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd-crypt.c - key files and encrypted indexes for the commands. */
#include <errno.h>

#include "cmd-crypt.h"
#include "cmd.h"

int cadu_cmd_load_key(const char *option, const char *path, cadu_crypt_key *ret) {
        const char *why = NULL;
        int r = cadu_crypt_key_load(path, ret, &why);
        if (r == 0)
                return CADU_EXIT_OK;
        if (why) {
                cadu_error("%s %s: %s", option, path, why);
                return CADU_EXIT_USAGE;
        }
        cadu_error_errno(r, "%s %s", option, path);
        return r == -ENOENT || r == -EACCES ? CADU_EXIT_USAGE : CADU_EXIT_FAILURE;
}

int cadu_cmd_open_index(const char *what, const cadu_crypt_key *k, cadu_buf *buf, bool *encrypted) {
        char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1], want[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        uint8_t key_id[CADU_CRYPT_KEY_ID_SIZE] = { 0 };
        const uint8_t *names;
        size_t n;
        cadu_buf plain = CADU_BUF_INIT;

        *encrypted = cadu_crypt_index_is(buf->data, buf->len);
        if (!*encrypted) {
                if (k) {
                        cadu_error("index %s is not encrypted, but a store key was given", what);
                        return CADU_EXIT_USAGE;
                }
                return CADU_EXIT_OK;
        }
        int r = cadu_crypt_index_header(buf->data, buf->len, key_id, &names, &n);
        if (r == 0)
                r = cadu_crypt_index_open(k, buf->data, buf->len, &plain);
        cadu_crypt_key_id_hex(key_id, want);
        switch (r) {
        case 0:
                cadu_buf_free(buf);
                *buf = plain;
                return CADU_EXIT_OK;
        case -ENOKEY:
                cadu_error("index %s is encrypted (key %s): give the store key (--key-file)", what, want);
                return CADU_EXIT_USAGE;
        case -EKEYREJECTED:
                cadu_crypt_key_id_hex(k->id, have);
                cadu_error("index %s is encrypted with key %s, not with the given key %s", what, want, have);
                return CADU_EXIT_REFUSED;
        case -EBADMSG:
                cadu_buf_free(&plain);
                cadu_error("index %s: encrypted index is corrupt or forged (authentication failed)", what);
                return CADU_EXIT_VERIFY;
        default:
                cadu_buf_free(&plain);
                return cadu_error_errno(r, "decrypting index %s", what);
        }
}

int cadu_cmd_wrap_store(cadu_store **s, const cadu_crypt_key *k) {
        cadu_store *inner = *s;
        *s = NULL;
        return cadu_store_crypt_new(inner, k, s);
}
