/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MD4 (RFC 1320): the strong sum of rdiff's MD4 signatures. */
#include <string.h>

#include "rdiff-private.h"

static inline uint32_t load32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t rotl32(uint32_t x, unsigned n) {
        return (x << n) | (x >> (32 - n));
}

#define F(x, y, z) (((y ^ z) & x) ^ z)
#define G(x, y, z) ((x & y) | (x & z) | (y & z))
#define H(x, y, z) (x ^ y ^ z)
#define R1(a, b, c, d, k, s) a = rotl32(a + F(b, c, d) + x[k], s)
#define R2(a, b, c, d, k, s) a = rotl32(a + G(b, c, d) + x[k] + 0x5A827999u, s)
#define R3(a, b, c, d, k, s) a = rotl32(a + H(b, c, d) + x[k] + 0x6ED9EBA1u, s)

static void md4_block(uint32_t st[4], const uint8_t *p) {
        uint32_t x[16];
        for (int i = 0; i < 16; i++)
                x[i] = load32(p + 4 * i);
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];

        R1(a, b, c, d, 0, 3); R1(d, a, b, c, 1, 7); R1(c, d, a, b, 2, 11); R1(b, c, d, a, 3, 19);
        R1(a, b, c, d, 4, 3); R1(d, a, b, c, 5, 7); R1(c, d, a, b, 6, 11); R1(b, c, d, a, 7, 19);
        R1(a, b, c, d, 8, 3); R1(d, a, b, c, 9, 7); R1(c, d, a, b, 10, 11); R1(b, c, d, a, 11, 19);
        R1(a, b, c, d, 12, 3); R1(d, a, b, c, 13, 7); R1(c, d, a, b, 14, 11); R1(b, c, d, a, 15, 19);

        R2(a, b, c, d, 0, 3); R2(d, a, b, c, 4, 5); R2(c, d, a, b, 8, 9); R2(b, c, d, a, 12, 13);
        R2(a, b, c, d, 1, 3); R2(d, a, b, c, 5, 5); R2(c, d, a, b, 9, 9); R2(b, c, d, a, 13, 13);
        R2(a, b, c, d, 2, 3); R2(d, a, b, c, 6, 5); R2(c, d, a, b, 10, 9); R2(b, c, d, a, 14, 13);
        R2(a, b, c, d, 3, 3); R2(d, a, b, c, 7, 5); R2(c, d, a, b, 11, 9); R2(b, c, d, a, 15, 13);

        R3(a, b, c, d, 0, 3); R3(d, a, b, c, 8, 9); R3(c, d, a, b, 4, 11); R3(b, c, d, a, 12, 15);
        R3(a, b, c, d, 2, 3); R3(d, a, b, c, 10, 9); R3(c, d, a, b, 6, 11); R3(b, c, d, a, 14, 15);
        R3(a, b, c, d, 1, 3); R3(d, a, b, c, 9, 9); R3(c, d, a, b, 5, 11); R3(b, c, d, a, 13, 15);
        R3(a, b, c, d, 3, 3); R3(d, a, b, c, 11, 9); R3(c, d, a, b, 7, 11); R3(b, c, d, a, 15, 15);

        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
}

void rdiff_md4(const void *data, size_t n, uint8_t out[RDIFF_MD4_LEN]) {
        const uint8_t *p = data;
        uint32_t st[4] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u };
        uint64_t bits = (uint64_t)n * 8;
        while (n >= 64) {
                md4_block(st, p);
                p += 64;
                n -= 64;
        }
        /* Padding: 0x80, zeros to 56 mod 64, then the bit length (LE). */
        uint8_t tail[128] = { 0 };
        memcpy(tail, p, n);
        tail[n] = 0x80;
        size_t tlen = n < 56 ? 64 : 128;
        for (int i = 0; i < 8; i++)
                tail[tlen - 8 + i] = (uint8_t)(bits >> (8 * i));
        md4_block(st, tail);
        if (tlen == 128)
                md4_block(st, tail + 64);
        for (int i = 0; i < 4; i++) {
                out[4 * i] = (uint8_t)st[i];
                out[4 * i + 1] = (uint8_t)(st[i] >> 8);
                out[4 * i + 2] = (uint8_t)(st[i] >> 16);
                out[4 * i + 3] = (uint8_t)(st[i] >> 24);
        }
}
