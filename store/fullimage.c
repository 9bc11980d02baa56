/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Compressed (and sealed) full images: streaming zstd with a bounded
 * window (cadu-fullimage.h). */
#include <errno.h>
#include <unistd.h>

#include <zstd.h>

#include "cadu-fullimage.h"

/* ---- writer ---- */

struct sink {
        int fd;
        uint64_t written;
        cadu_crypt_stream *seal;
};

static int sink_raw(void *ud, const uint8_t *data, size_t len) {
        struct sink *s = ud;
        int r = cadu_write_full(s->fd, data, len);
        if (r == 0)
                s->written += len;
        return r;
}

static int sink_put(struct sink *s, const uint8_t *data, size_t len) {
        return s->seal ? cadu_crypt_stream_push(s->seal, data, len, sink_raw, s) : sink_raw(s, data, len);
}

int cadu_full_write(int image_fd, int out_fd, int level, const cadu_crypt_key *k, const char *role,
                    uint64_t *ret_size) {
        if (image_fd < 0 || out_fd < 0 || level < 1 || level > 19 || (k && !role))
                return -EINVAL;
        struct sink sk = { .fd = out_fd };
        ZSTD_CCtx *c = ZSTD_createCCtx();
        size_t in_cap = ZSTD_CStreamInSize(), out_cap = ZSTD_CStreamOutSize();
        uint8_t *in = malloc(in_cap), *out = malloc(out_cap);
        int r = c && in && out ? 0 : -ENOMEM;
        if (r == 0 && k)
                r = cadu_crypt_stream_new(k, role, true, &sk.seal);
        if (r == 0 && (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
                       ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, CADU_FULL_WINDOW_LOG)) ||
                       ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1))))
                r = -EINVAL;
        if (r == 0) {
                /* Every core, where libzstd was built with threads. */
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                if (n > 1)
                        (void)ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, (int)CADU_MIN(n, 64));
        }
        bool done = false;
        while (r == 0 && !done) {
                ssize_t n = read(image_fd, in, in_cap);
                if (n < 0) {
                        if (errno != EINTR)
                                r = -errno;
                        continue;
                }
                ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
                ZSTD_inBuffer ib = { in, (size_t)n, 0 };
                bool finished;
                do {
                        ZSTD_outBuffer ob = { out, out_cap, 0 };
                        size_t left = ZSTD_compressStream2(c, &ob, &ib, mode);
                        if (ZSTD_isError(left)) {
                                r = -EIO;
                                break;
                        }
                        if (ob.pos && (r = sink_put(&sk, out, ob.pos)) < 0)
                                break;
                        finished = mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size;
                } while (!finished);
                done = n == 0;
        }
        if (r == 0 && sk.seal)
                r = cadu_crypt_stream_finish(sk.seal, sink_raw, &sk);
        if (r == 0 && ret_size)
                *ret_size = sk.written;
        cadu_crypt_stream_free(sk.seal);
        ZSTD_freeCCtx(c);
        free(in);
        free(out);
        return r;
}

/* ---- reader ---- */

struct cadu_full_reader {
        uint64_t size, off;
        int error;
        bool frame_open;                /* inside a frame: more input is due */
        ZSTD_DCtx *d;
        cadu_crypt_stream *open;
        uint8_t *out;
        size_t out_cap;
        cadu_full_out cb;               /* during a push or finish */
        void *ud;
};

int cadu_full_reader_new(uint64_t image_size, const cadu_crypt_key *k, const char *role, cadu_full_reader **ret) {
        if (!ret || (k && !role))
                return -EINVAL;
        cadu_full_reader *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->size = image_size;
        r->out_cap = ZSTD_DStreamOutSize();
        r->d = ZSTD_createDCtx();
        r->out = malloc(r->out_cap);
        int e = r->d && r->out ? 0 : -ENOMEM;
        if (e == 0 && ZSTD_isError(ZSTD_DCtx_setParameter(r->d, ZSTD_d_windowLogMax, CADU_FULL_WINDOW_LOG)))
                e = -EINVAL;
        if (e == 0 && k)
                e = cadu_crypt_stream_new(k, role, false, &r->open);
        if (e < 0) {
                cadu_full_reader_free(r);
                return e;
        }
        *ret = r;
        return 0;
}

cadu_full_reader *cadu_full_reader_free(cadu_full_reader *r) {
        if (!r)
                return NULL;
        ZSTD_freeDCtx(r->d);
        cadu_crypt_stream_free(r->open);
        free(r->out);
        free(r);
        return NULL;
}

/* Decompress len bytes of zstd stream. */
static int inflate(void *ud, const uint8_t *data, size_t len) {
        cadu_full_reader *r = ud;
        ZSTD_inBuffer ib = { data, len, 0 };
        /* A full output buffer may hide more output: go on even when the
         * input is used up. */
        for (bool more = true; ib.pos < ib.size || more;) {
                ZSTD_outBuffer ob = { r->out, r->out_cap, 0 };
                size_t before = ib.pos;
                size_t left = ZSTD_decompressStream(r->d, &ob, &ib);
                if (ZSTD_isError(left))
                        return -EBADMSG;        /* corrupt, or a window beyond the limit */
                /* A call that took and gave nothing (after a frame's end,
                 * it would announce the next frame) says nothing. */
                if (ib.pos != before || ob.pos)
                        r->frame_open = left != 0;
                if (ob.pos > r->size - r->off)
                        return -EFBIG;
                int e = ob.pos ? r->cb(r->ud, r->off, r->out, ob.pos) : 0;
                if (e < 0)
                        return e;
                r->off += ob.pos;
                more = ob.pos == ob.size;
        }
        return 0;
}

int cadu_full_reader_push(cadu_full_reader *r, const void *data, size_t len, cadu_full_out out, void *ud) {
        if (!r || (!data && len) || !out)
                return -EINVAL;
        if (r->error)
                return r->error;
        r->cb = out, r->ud = ud;
        int e = r->open ? cadu_crypt_stream_push(r->open, data, len, inflate, r) : inflate(r, data, len);
        if (e < 0)
                r->error = e;
        return e;
}

int cadu_full_reader_finish(cadu_full_reader *r, cadu_full_out out, void *ud) {
        if (!r || !out)
                return -EINVAL;
        if (r->error)
                return r->error;
        r->cb = out, r->ud = ud;
        int e = r->open ? cadu_crypt_stream_finish(r->open, inflate, r) : 0;
        if (e == 0 && (r->frame_open || r->off != r->size))
                e = -EBADMSG;
        r->error = e < 0 ? e : -EALREADY;
        return e;
}
