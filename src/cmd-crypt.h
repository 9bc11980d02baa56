/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-crypt.h - what the commands share for encrypted stores and indexes
 * (doc/encryption.md): loading a key file and opening a fetched index that
 * may be encrypted, each printing its one error line. The work is the
 * library's (lib/context.h: cadu_key_file_load(), cadu_index_unseal(),
 * cadu_store_wrap_key()); here are the messages' framing and exit codes.
 *
 * Exit codes: a missing key is CADU_EXIT_USAGE, a key that is not the one
 * the data was sealed with CADU_EXIT_REFUSED, a key file with loose
 * permissions or bad content CADU_EXIT_USAGE, a forged or corrupt encrypted
 * index CADU_EXIT_VERIFY.
 */
#ifndef CADU_CMD_CRYPT_H
#define CADU_CMD_CRYPT_H

#include "cadu-crypt.h"
#include "cadu-store.h"
#include "context.h"

/* Load the key file at path (option names it in messages, e.g.
 * "--key-file"). Returns 0 or prints and returns an exit code. */
int cadu_cmd_load_key(const char *option, const char *path, cadu_crypt_key *ret);

/* When buf holds an encrypted index, replace it by the plaintext (k may be
 * NULL: then a missing key is an error). *encrypted tells which it was.
 * A plain index given a key is refused too: the key would be ignored.
 * Returns 0 or prints and returns an exit code; what names the index. */
int cadu_cmd_open_index(const char *what, const cadu_crypt_key *k, cadu_buf *buf, bool *encrypted);

/* Print msg, the failure r of cadu_index_unseal() (of an index that was
 * encrypted or not), and return its exit code. */
int cadu_cmd_index_key_error(int r, bool encrypted, const char *msg);

#endif
