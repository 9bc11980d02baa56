/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealed streams (store/crypt-stream.c) and compressed full images
 * (store/fullimage.c): round trips at every segment boundary, fed whole or
 * byte by byte; a wrong key, role, truncation anywhere, extension,
 * reordered segments and bit flips each refused, with nothing but
 * authenticated plaintext handed out; a zstd frame that wants a larger
 * window than allowed, more or less data than the image size, refused. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "cadu-crypt.h"
#include "cadu-fullimage.h"

#define SEG CADU_CRYPT_STREAM_SEGMENT
#define SSEG (SEG + CADU_CRYPT_TAG_SIZE)
#define HDR CADU_CRYPT_STREAM_HEADER

static cadu_crypt_key k1, k2;

static void keys(void) {
        uint8_t s[CADU_CRYPT_KEY_SIZE];
        memset(s, 0x22, sizeof(s));
        ck_assert_int_eq(cadu_crypt_key_derive(s, &k1), 0);
        s[0] ^= 1;
        ck_assert_int_eq(cadu_crypt_key_derive(s, &k2), 0);
}

static int collect(void *ud, const uint8_t *data, size_t len) {
        return cadu_buf_append(ud, data, len);
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void seal(const cadu_crypt_key *k, const char *role, const uint8_t *p, size_t n, cadu_buf *out) {
        cadu_crypt_stream *s;
        out->len = 0;
        ck_assert_int_eq(cadu_crypt_stream_new(k, role, true, &s), 0);
        ck_assert_int_eq(cadu_crypt_stream_push(s, p, n, collect, out), 0);
        ck_assert_int_eq(cadu_crypt_stream_finish(s, collect, out), 0);
        cadu_crypt_stream_free(s);
        ck_assert_uint_eq(out->len, cadu_crypt_stream_size(n));
}

/* Open data (len bytes), fed in pieces of step bytes: the result, plaintext in *out. */
static int open_stream(const cadu_crypt_key *k, const char *role, const uint8_t *data, size_t len, size_t step,
                       cadu_buf *out) {
        cadu_crypt_stream *s;
        out->len = 0;
        ck_assert_int_eq(cadu_crypt_stream_new(k, role, false, &s), 0);
        int r = 0;
        for (size_t off = 0; r == 0 && off < len; off += step)
                r = cadu_crypt_stream_push(s, data + off, len - off < step ? len - off : step, collect, out);
        if (r == 0)
                r = cadu_crypt_stream_finish(s, collect, out);
        cadu_crypt_stream_free(s);
        return r;
}

START_TEST(round_trips) {
        static const size_t sizes[] = { 0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 17 };
        size_t max = 3 * SEG + 17;
        uint8_t *p = malloc(max);
        cadu_buf c = CADU_BUF_INIT, c2 = CADU_BUF_INIT, o = CADU_BUF_INIT;
        keys();
        fill(p, max, 7);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
                size_t n = sizes[i];
                seal(&k1, "rdiff:rootfs", p, n, &c);
                ck_assert(cadu_crypt_stream_is(c.data, c.len));
                ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len ? c.len : 1, &o), 0);
                ck_assert_uint_eq(o.len, n);
                ck_assert(n == 0 || !memcmp(o.data, p, n));
                /* In odd pieces, and byte by byte for the small ones. */
                ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, 4099, &o), 0);
                ck_assert(o.len == n && (n == 0 || !memcmp(o.data, p, n)));
                if (n <= SEG + 1) {
                        ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, 1, &o), 0);
                        ck_assert(o.len == n && (n == 0 || !memcmp(o.data, p, n)));
                }
                /* A random salt: the same plaintext seals differently. */
                seal(&k1, "rdiff:rootfs", p, n, &c2);
                ck_assert(memcmp(c.data, c2.data, c.len) != 0);
        }
        /* Sealing by the byte gives a file of the same shape. */
        cadu_crypt_stream *s;
        c.len = 0;
        ck_assert_int_eq(cadu_crypt_stream_new(&k1, "full:kernel", true, &s), 0);
        for (size_t i = 0; i < SEG + 5; i++)
                ck_assert_int_eq(cadu_crypt_stream_push(s, p + i, 1, collect, &c), 0);
        ck_assert_int_eq(cadu_crypt_stream_finish(s, collect, &c), 0);
        ck_assert_int_eq(cadu_crypt_stream_finish(s, collect, &c), -EALREADY);
        cadu_crypt_stream_free(s);
        ck_assert_int_eq(open_stream(&k1, "full:kernel", c.data, c.len, 1000, &o), 0);
        ck_assert(o.len == SEG + 5 && !memcmp(o.data, p, SEG + 5));
        ck_assert_int_eq(cadu_crypt_stream_new(&k1, "", true, &s), -EINVAL);
        cadu_buf_free(&c);
        cadu_buf_free(&c2);
        cadu_buf_free(&o);
        free(p);
}
END_TEST

START_TEST(forgeries) {
        size_t n = 3 * SEG + 100;
        uint8_t *p = malloc(n);
        cadu_buf c = CADU_BUF_INIT, o = CADU_BUF_INIT, other = CADU_BUF_INIT;
        keys();
        fill(p, n, 3);
        seal(&k1, "rdiff:rootfs", p, n, &c);
        /* Wrong key, wrong role. */
        ck_assert_int_eq(open_stream(&k2, "rdiff:rootfs", c.data, c.len, c.len, &o), -EKEYREJECTED);
        ck_assert_uint_eq(o.len, 0);
        ck_assert_int_eq(open_stream(&k1, "full:rootfs", c.data, c.len, c.len, &o), -EBADMSG);
        ck_assert_uint_eq(o.len, 0);
        ck_assert_int_eq(open_stream(&k1, "rdiff:kernel", c.data, c.len, c.len, &o), -EBADMSG);
        /* Truncated anywhere: in the header, at and around every segment
         * boundary, by one byte. Only whole authenticated segments come out. */
        size_t cuts[] = { 0, 5, HDR, HDR + 1, HDR + SSEG - 1, HDR + SSEG, HDR + SSEG + 1, HDR + 2 * SSEG,
                          HDR + 3 * SSEG, c.len - 1 };
        for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
                ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, cuts[i], 1000, &o), -EBADMSG);
                ck_assert_uint_eq(o.len % SEG, 0);
                ck_assert(o.len == 0 || !memcmp(o.data, p, o.len));
        }
        /* Extended by a byte, or by a segment of another file. */
        ck_assert_int_eq(cadu_buf_append(&c, "x", 1), 0);
        ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len, &o), -EBADMSG);
        c.len--;
        /* Two segments swapped. */
        uint8_t *t = malloc(SSEG);
        memcpy(t, c.data + HDR, SSEG);
        memmove(c.data + HDR, c.data + HDR + SSEG, SSEG);
        memcpy(c.data + HDR + SSEG, t, SSEG);
        ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len, &o), -EBADMSG);
        ck_assert_uint_eq(o.len, 0);
        memcpy(c.data + HDR + SSEG, c.data + HDR, SSEG);
        memcpy(c.data + HDR, t, SSEG);
        ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len, &o), 0);
        /* A segment from another file under the same key and role. */
        seal(&k1, "rdiff:rootfs", p, n, &other);
        memcpy(t, c.data + HDR + SSEG, SSEG);
        memcpy(c.data + HDR + SSEG, other.data + HDR + SSEG, SSEG);
        ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len, &o), -EBADMSG);
        ck_assert_uint_eq(o.len, SEG);
        memcpy(c.data + HDR + SSEG, t, SSEG);
        /* A bit flipped in the magic, key id, salt, a segment, a tag. */
        size_t flips[] = { 0, 9, 30, HDR + 3, HDR + SEG + 2, c.len - 1 };
        for (size_t i = 0; i < sizeof(flips) / sizeof(*flips); i++) {
                c.data[flips[i]] ^= 0x10;
                int r = open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len, &o);
                ck_assert_int_eq(r, i == 1 ? -EKEYREJECTED : -EBADMSG);
                /* Only the segments before the damaged one. */
                ck_assert_uint_eq(o.len, flips[i] < HDR ? 0 : (flips[i] - HDR) / SSEG * SEG);
                c.data[flips[i]] ^= 0x10;
        }
        ck_assert_int_eq(open_stream(&k1, "rdiff:rootfs", c.data, c.len, c.len, &o), 0);
        free(t);
        cadu_buf_free(&c);
        cadu_buf_free(&o);
        cadu_buf_free(&other);
        free(p);
}
END_TEST

static int collect_at(void *ud, uint64_t off, const uint8_t *data, size_t len) {
        cadu_buf *b = ud;
        ck_assert_uint_eq(off, b->len);
        return cadu_buf_append(b, data, len);
}

static int read_full(uint64_t size, const cadu_crypt_key *k, const uint8_t *file, size_t len, cadu_buf *out) {
        cadu_full_reader *r;
        out->len = 0;
        ck_assert_int_eq(cadu_full_reader_new(size, k, "full:rootfs", &r), 0);
        int e = 0;
        for (size_t off = 0; e == 0 && off < len; off += 7777)
                e = cadu_full_reader_push(r, file + off, len - off < 7777 ? len - off : 7777, collect_at, out);
        if (e == 0)
                e = cadu_full_reader_finish(r, collect_at, out);
        cadu_full_reader_free(r);
        return e;
}

/* The full image of p (n bytes) through cadu_full_write into *out. */
static void write_full(const uint8_t *p, size_t n, const cadu_crypt_key *k, cadu_buf *out) {
        char in[] = "/tmp/cadu-full-unit.XXXXXX", of[] = "/tmp/cadu-full-unit.XXXXXX";
        int ifd = mkstemp(in), ofd = mkstemp(of);
        uint64_t size;
        uint8_t *data;
        size_t len;
        ck_assert(ifd >= 0 && ofd >= 0);
        unlink(in);
        unlink(of);
        ck_assert_int_eq(cadu_write_full(ifd, p, n), 0);
        ck_assert(lseek(ifd, 0, SEEK_SET) == 0);
        ck_assert_int_eq(cadu_full_write(ifd, ofd, 3, k, "full:rootfs", &size), 0);
        ck_assert(lseek(ofd, 0, SEEK_SET) == 0);
        ck_assert_int_eq(cadu_read_fd(ofd, SIZE_MAX, &data, &len), 0);
        ck_assert_uint_eq(len, size);
        out->len = 0;
        ck_assert_int_eq(cadu_buf_append(out, data, len), 0);
        free(data);
        close(ifd);
        close(ofd);
}

START_TEST(full_images) {
        size_t n = (3 << 20) + 12345;
        uint8_t *p = malloc(n);
        cadu_buf f = CADU_BUF_INIT, o = CADU_BUF_INIT;
        keys();
        fill(p, n, 11);
        memset(p + 100000, 0, 500000);
        for (int enc = 0; enc < 2; enc++) {
                const cadu_crypt_key *k = enc ? &k1 : NULL;
                write_full(p, n, k, &f);
                ck_assert_uint_lt(f.len, n);
                ck_assert_int_eq(read_full(n, k, f.data, f.len, &o), 0);
                ck_assert(o.len == n && !memcmp(o.data, p, n));
                /* The image is one byte longer or shorter than the file's. */
                ck_assert_int_eq(read_full(n - 1, k, f.data, f.len, &o), -EFBIG);
                ck_assert_int_eq(read_full(n + 1, k, f.data, f.len, &o), -EBADMSG);
                /* Truncated, extended, a bit flipped. */
                ck_assert_int_eq(read_full(n, k, f.data, f.len - 1, &o), -EBADMSG);
                ck_assert_int_eq(cadu_buf_append(&f, "\0\0\0\0\0\0\0\0", 8), 0);
                ck_assert_int_eq(read_full(n, k, f.data, f.len, &o), -EBADMSG);
                f.len -= 8;
                f.data[f.len / 2] ^= 4;
                int r = read_full(n, k, f.data, f.len, &o);
                ck_assert(r == -EBADMSG || (!enc && r == -EFBIG));
                f.data[f.len / 2] ^= 4;
        }
        /* Sealed under another key, or plain where sealed is expected. */
        ck_assert_int_eq(read_full(n, &k2, f.data, f.len, &o), -EKEYREJECTED);
        write_full(p, n, NULL, &f);
        ck_assert_int_eq(read_full(n, &k1, f.data, f.len, &o), -EBADMSG);
        free(p);
        cadu_buf_free(&f);
        cadu_buf_free(&o);
}
END_TEST

START_TEST(full_window_limit) {
        /* A frame that declares a 2^(limit + 1) window is refused before it
         * makes the reader allocate it; the same data within the limit is
         * fine. */
        size_t n = (size_t)1 << (CADU_FULL_WINDOW_LOG + 2);
        uint8_t *p = malloc(n), *z = malloc(ZSTD_compressBound(n));
        cadu_buf o = CADU_BUF_INIT;
        fill(p, n, 5);
        for (int wlog = CADU_FULL_WINDOW_LOG; wlog <= CADU_FULL_WINDOW_LOG + 1; wlog++) {
                ZSTD_CCtx *c = ZSTD_createCCtx();
                ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog)));
                ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1)));
                /* Streamed without a pledged size: the header names the window. */
                ZSTD_outBuffer ob = { z, ZSTD_compressBound(n), 0 };
                ZSTD_inBuffer ib = { p, n / 2, 0 };
                ck_assert(!ZSTD_isError(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue)));
                ib = (ZSTD_inBuffer){ p + n / 2, n - n / 2, 0 };
                ck_assert_uint_eq(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end), 0);
                ZSTD_freeCCtx(c);
                ck_assert_int_eq(read_full(n, NULL, z, ob.pos, &o), wlog > CADU_FULL_WINDOW_LOG ? -EBADMSG : 0);
                if (wlog > CADU_FULL_WINDOW_LOG)
                        ck_assert_uint_eq(o.len, 0);
        }
        free(p);
        free(z);
        cadu_buf_free(&o);
}
END_TEST

int main(void) {
        Suite *s = suite_create("crypt-stream");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, round_trips);
        tcase_add_test(tc, forgeries);
        tcase_add_test(tc, full_images);
        tcase_add_test(tc, full_window_limit);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        cadu_chunk_codec_release();
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
