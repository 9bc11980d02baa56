/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * delta-tool: decode delta files of a directory store from their bases, as
 * a device would, for the shell tests.
 *
 *   delta-tool verify STORE            every delta file below STORE/deltas:
 *                                      bases read from the store (verified),
 *                                      the result checked against the target
 *                                      id; prints "N deltas verified"
 *   delta-tool decode STORE FILE       one delta file; prints "ok" or the
 *                                      error's name (EBADMSG, ENOENT, ...)
 *
 * Chunk ids are SHA-256 (cadu make's default). Exit 0 when every delta
 * decoded and verified, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cadu-delta.h"
#include "cadu-store.h"

static const char *errname(int r) {
        switch (-r) {
        case EBADMSG: return "EBADMSG";
        case ENOENT: return "ENOENT";
        case EFBIG: return "EFBIG";
        case EINVAL: return "EINVAL";
        case ENOMEM: return "ENOMEM";
        default: return strerror(-r);
        }
}

/* Decode the delta file at path with bases from s and verify it. */
static int decode_one(cadu_store *s, const char *path) {
        _cleanup_free_ uint8_t *raw = NULL;
        size_t len;
        cadu_delta_info info;
        cadu_buf bases[CADU_DELTA_MAX_BASES] = { 0 }, scratch = CADU_BUF_INIT, out = CADU_BUF_INIT;
        cadu_delta_base b[CADU_DELTA_MAX_BASES];
        uint8_t got[CADU_DIGEST_SIZE];
        size_t nb = 0;
        int r = cadu_read_file(path, 64u << 20, &raw, &len);
        if (r >= 0)
                r = cadu_delta_parse(raw, len, &info);
        for (; r >= 0 && nb < info.nbases; nb++) {
                r = cadu_store_get_chunk(s, CADU_DIGEST_SHA256, info.base_ids[nb], info.base_sizes[nb],
                                         info.base_sizes[nb], &scratch, &bases[nb]);
                b[nb] = (cadu_delta_base){ bases[nb].data, bases[nb].len };
        }
        if (r >= 0)
                r = cadu_delta_decode(raw, len, b, info.nbases, info.target_size, &out);
        if (r >= 0)
                r = cadu_digest(CADU_DIGEST_SHA256, out.data, out.len, got);
        if (r >= 0 && memcmp(got, info.target_id, CADU_DIGEST_SIZE) != 0)
                r = -EBADMSG;
        for (size_t i = 0; i < CADU_DELTA_MAX_BASES; i++)
                cadu_buf_free(&bases[i]);
        cadu_buf_free(&scratch);
        cadu_buf_free(&out);
        return r;
}

int main(int argc, char **argv) {
        cadu_store *s = NULL;
        int r;
        if (argc < 3 || (strcmp(argv[1], "verify") && strcmp(argv[1], "decode")) ||
            (!strcmp(argv[1], "decode") && argc != 4)) {
                fprintf(stderr, "usage: delta-tool verify STORE | decode STORE FILE\n");
                return 2;
        }
        if ((r = cadu_store_open_dir(argv[2], false, &s)) < 0) {
                fprintf(stderr, "delta-tool: %s: %s\n", argv[2], strerror(-r));
                return 1;
        }
        int ret = 0;
        if (!strcmp(argv[1], "decode")) {
                r = decode_one(s, argv[3]);
                puts(r < 0 ? errname(r) : "ok");
                ret = r < 0;
        } else {
                char top[4096];
                size_t n = 0;
                snprintf(top, sizeof(top), "%s/deltas", argv[2]);
                DIR *d = opendir(top);
                struct dirent *p, *f;
                while (d && (p = readdir(d))) {
                        if (p->d_name[0] == '.')
                                continue;
                        char sub[4096 + 300];
                        snprintf(sub, sizeof(sub), "%s/%s", top, p->d_name);
                        DIR *e = opendir(sub);
                        while (e && (f = readdir(e))) {
                                if (f->d_name[0] == '.')
                                        continue;
                                char path[8192];
                                snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
                                if ((r = decode_one(s, path)) < 0) {
                                        printf("%s: %s\n", path, errname(r));
                                        ret = 1;
                                } else
                                        n++;
                        }
                        if (e)
                                closedir(e);
                }
                if (d)
                        closedir(d);
                printf("%zu deltas verified\n", n);
        }
        cadu_delta_codec_release();
        cadu_chunk_codec_release();
        cadu_store_free(s);
        return ret;
}
