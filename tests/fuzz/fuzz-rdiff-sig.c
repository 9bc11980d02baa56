/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the rdiff signature parser: any bytes are either rejected with a
 * reason or loaded; a loaded signature then drives a delta of a small new
 * file (lookups, continuation, short last block), and that delta must apply
 * to a basis of the signature's size.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cadu-rdiff.h"

static int fd_new = -1, fd_delta = -1, fd_basis = -1, fd_out = -1;

static void setup(void) {
        if (fd_new >= 0)
                return;
        fd_new = memfd_create("new", MFD_CLOEXEC);
        fd_delta = memfd_create("delta", MFD_CLOEXEC);
        fd_basis = memfd_create("basis", MFD_CLOEXEC);
        fd_out = memfd_create("out", MFD_CLOEXEC);
        if (fd_new < 0 || fd_delta < 0 || fd_basis < 0 || fd_out < 0)
                abort();
}

static void reset(int fd) {
        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cadu_rdiff_sig *s = NULL;
        cadu_rdiff_stats st;
        int r = cadu_rdiff_sig_load_mem(data, size, &s, &st);
        if (r < 0) {
                if (r == -EBADMSG && !st.reason[0])
                        abort(); /* a rejection always says why */
                return 0;
        }
        cadu_rdiff_sig_params p;
        uint64_t blocks;
        cadu_rdiff_sig_get_params(s, &p, &blocks);
        if (!cadu_rdiff_is_sig_magic(p.magic) || p.block_len == 0 || p.strong_len == 0)
                abort();

        /* New file: zeros, then the input itself, so that some windows may
         * pass the weak sum test. */
        setup();
        reset(fd_new);
        reset(fd_delta);
        reset(fd_out);
        uint8_t zeros[1024] = { 0 };
        if (cadu_write_full(fd_new, zeros, sizeof(zeros)) < 0 || cadu_write_full(fd_new, data, size) < 0 ||
            lseek(fd_new, 0, SEEK_SET) < 0)
                abort();
        cadu_rdiff_opts o = { .threads = 1 };
        r = cadu_rdiff_delta_fd(s, fd_new, fd_delta, &o, &st);
        cadu_rdiff_sig_free(s);
        if (r < 0)
                abort();
        /* Every copy lies inside a basis of blocks * block_len bytes. */
        uint64_t bsize = blocks * p.block_len;
        if (bsize > (1ull << 40))
                return 0;
        if (ftruncate(fd_basis, (off_t)bsize) < 0 || lseek(fd_delta, 0, SEEK_SET) < 0)
                abort();
        r = cadu_rdiff_patch_fd(fd_basis, bsize, fd_delta, fd_out, NULL, NULL, &st);
        if (r < 0 || st.out_bytes != sizeof(zeros) + size)
                abort();
        return 0;
}
