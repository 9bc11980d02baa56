/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the rdiff delta parser (patch) and round-trip the delta generator:
 * 1. the input as a delta against a fixed 4 KiB basis, fed whole and in
 *    pieces: both give the same verdict, a rejection says why, a success
 *    wrote exactly what the stats say;
 * 2. the input split into a basis and a new file: signature, delta and
 *    patch must give the new file back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cadu-rdiff.h"

#define BASIS_SIZE 4096
static int fd_basis = -1, fd_delta, fd_out, fd_new, fd_sig, fd_b2;

static void setup(void) {
        if (fd_basis >= 0)
                return;
        fd_basis = memfd_create("basis", MFD_CLOEXEC);
        fd_delta = memfd_create("delta", MFD_CLOEXEC);
        fd_out = memfd_create("out", MFD_CLOEXEC);
        fd_new = memfd_create("new", MFD_CLOEXEC);
        fd_sig = memfd_create("sig", MFD_CLOEXEC);
        fd_b2 = memfd_create("b2", MFD_CLOEXEC);
        if (fd_basis < 0 || fd_delta < 0 || fd_out < 0 || fd_new < 0 || fd_sig < 0 || fd_b2 < 0)
                abort();
        /* the same basis as the corpus deltas were made against */
        uint8_t b[BASIS_SIZE];
        for (int i = 0; i < BASIS_SIZE; i++)
                b[i] = (uint8_t)(i * 31 + (i >> 8));
        if (cadu_write_full(fd_basis, b, sizeof(b)) < 0)
                abort();
}

static void put(int fd, const void *p, size_t n) {
        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 || (n && cadu_write_full(fd, p, n) < 0) ||
            lseek(fd, 0, SEEK_SET) < 0)
                abort();
}

static uint8_t *content(int fd, size_t *n) {
        uint64_t size;
        if (cadu_fd_size(fd, &size) < 0)
                abort();
        uint8_t *b = malloc(size + 1);
        if (!b || cadu_pread_full(fd, b, size, 0) != (ssize_t)size)
                abort();
        *n = size;
        return b;
}

static void patch_input(const uint8_t *data, size_t size) {
        cadu_rdiff_stats st1, st2;
        /* whole */
        put(fd_out, NULL, 0);
        put(fd_delta, data, size);
        int r1 = cadu_rdiff_patch_fd(fd_basis, BASIS_SIZE, fd_delta, fd_out, NULL, NULL, &st1);
        size_t n1;
        uint8_t *o1 = content(fd_out, &n1);
        /* in pieces whose sizes come from the data */
        put(fd_out, NULL, 0);
        cadu_rdiff_patch *p;
        if (cadu_rdiff_patch_new(fd_basis, BASIS_SIZE, fd_out, NULL, &st2, &p) < 0)
                abort();
        int r2 = 0;
        for (size_t i = 0, k; i < size && r2 == 0; i += k) {
                k = 1 + data[i] % 7;
                if (k > size - i)
                        k = size - i;
                r2 = cadu_rdiff_patch_feed(p, data + i, k);
        }
        if (r2 == 0)
                r2 = cadu_rdiff_patch_finish(p);
        cadu_rdiff_patch_free(p);
        size_t n2;
        uint8_t *o2 = content(fd_out, &n2);
        if (r1 != r2)
                abort();
        if (r1 == -EBADMSG && (strcmp(st1.reason, st2.reason) || !st1.reason[0]))
                abort();
        if (r1 == 0 && (n1 != n2 || memcmp(o1, o2, n1) || st1.out_bytes != n1 || st1.in_bytes != size))
                abort();
        free(o1);
        free(o2);
}

static void roundtrip(const uint8_t *data, size_t size) {
        size_t half = size / 2;
        const uint8_t *basis = data, *nw = data + half;
        size_t nn = size - half;
        cadu_rdiff_sig_params p;
        uint32_t magic = cadu_rdiff_sig_magic(size & 1, size & 2);
        if (cadu_rdiff_sig_params_init(&p, magic, half, 1 + (uint32_t)(size % 61), -1, NULL) < 0)
                abort();
        put(fd_b2, basis, half);
        put(fd_sig, NULL, 0);
        cadu_rdiff_opts o = { .threads = 1 };
        if (cadu_rdiff_signature_fd(fd_b2, fd_sig, &p, &o, NULL) < 0)
                abort();
        size_t sn;
        uint8_t *sig = content(fd_sig, &sn);
        cadu_rdiff_sig *s;
        if (cadu_rdiff_sig_load_mem(sig, sn, &s, NULL) < 0)
                abort();
        free(sig);
        put(fd_new, nw, nn);
        put(fd_delta, NULL, 0);
        if (cadu_rdiff_delta_fd(s, fd_new, fd_delta, &o, NULL) < 0)
                abort();
        cadu_rdiff_sig_free(s);
        put(fd_out, NULL, 0);
        if (lseek(fd_delta, 0, SEEK_SET) < 0 ||
            cadu_rdiff_patch_fd(fd_b2, half, fd_delta, fd_out, NULL, NULL, NULL) < 0)
                abort();
        size_t on;
        uint8_t *out = content(fd_out, &on);
        if (on != nn || (nn && memcmp(out, nw, nn)))
                abort();
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        setup();
        patch_input(data, size);
        if (size <= 1 << 16)
                roundtrip(data, size);
        return 0;
}
