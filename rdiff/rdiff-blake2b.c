/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BLAKE2b (RFC 7693), unkeyed, created with a 32-byte digest: the strong sum
 * of rdiff's BLAKE2 signatures. Note that this is not a truncated
 * BLAKE2b-512: the digest length is part of the parameter block.
 *
 * A portable one-shot version, and on x86-64 an AVX2 version that hashes four
 * equal-length messages at once, one message per 64-bit lane (signature
 * blocks are independent, so this is where signature speed comes from).
 */
#include <string.h>

#include "rdiff-private.h"

static const uint64_t blake2b_iv[8] = {
        0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
        0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

/* Parameter block word 0 for digest length 32, no key, fanout 1, depth 1. */
#define BLAKE2B_PARAM0 (0x01010000ull | RDIFF_BLAKE2_LEN)

static const uint8_t blake2b_sigma[12][16] = {
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
        { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
        { 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
        { 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
        { 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
        { 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
        { 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
        { 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
        { 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
        { 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
        { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
};

static inline uint64_t load64(const uint8_t *p) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
#else
        return cadu_le64(p);
#endif
}

static inline uint64_t rotr64(uint64_t x, unsigned n) {
        return (x >> n) | (x << (64 - n));
}

#define G(r, i, a, b, c, d)                                     \
        do {                                                    \
                a = a + b + m[blake2b_sigma[r][2 * i]];         \
                d = rotr64(d ^ a, 32);                          \
                c = c + d;                                      \
                b = rotr64(b ^ c, 24);                          \
                a = a + b + m[blake2b_sigma[r][2 * i + 1]];     \
                d = rotr64(d ^ a, 16);                          \
                c = c + d;                                      \
                b = rotr64(b ^ c, 63);                          \
        } while (0)

#define ROUND(r)                                                \
        do {                                                    \
                G(r, 0, v0, v4, v8, v12);                       \
                G(r, 1, v1, v5, v9, v13);                       \
                G(r, 2, v2, v6, v10, v14);                      \
                G(r, 3, v3, v7, v11, v15);                      \
                G(r, 4, v0, v5, v10, v15);                      \
                G(r, 5, v1, v6, v11, v12);                      \
                G(r, 6, v2, v7, v8, v13);                       \
                G(r, 7, v3, v4, v9, v14);                       \
        } while (0)

static void blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t, bool last) {
        uint64_t m[16];
        for (int i = 0; i < 16; i++)
                m[i] = load64(block + 8 * i);
        uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
        uint64_t v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
        uint64_t v8 = blake2b_iv[0], v9 = blake2b_iv[1], v10 = blake2b_iv[2], v11 = blake2b_iv[3];
        uint64_t v12 = blake2b_iv[4] ^ t, v13 = blake2b_iv[5]; /* messages < 2^64 bytes */
        uint64_t v14 = blake2b_iv[6] ^ (last ? ~0ull : 0), v15 = blake2b_iv[7];
        ROUND(0);
        ROUND(1);
        ROUND(2);
        ROUND(3);
        ROUND(4);
        ROUND(5);
        ROUND(6);
        ROUND(7);
        ROUND(8);
        ROUND(9);
        ROUND(10);
        ROUND(11);
        h[0] ^= v0 ^ v8;
        h[1] ^= v1 ^ v9;
        h[2] ^= v2 ^ v10;
        h[3] ^= v3 ^ v11;
        h[4] ^= v4 ^ v12;
        h[5] ^= v5 ^ v13;
        h[6] ^= v6 ^ v14;
        h[7] ^= v7 ^ v15;
}

static void blake2b_output(const uint64_t h[8], uint8_t out[RDIFF_BLAKE2_LEN]) {
        for (int i = 0; i < 4; i++)
                cadu_put_le64(out + 8 * i, h[i]);
}

void rdiff_blake2b256(const void *data, size_t n, uint8_t out[RDIFF_BLAKE2_LEN]) {
        const uint8_t *p = data;
        uint64_t h[8];
        uint64_t t = 0;
        memcpy(h, blake2b_iv, sizeof(h));
        h[0] ^= BLAKE2B_PARAM0;
        /* Every block but the last is compressed straight from the input;
         * the last (1..128 bytes, or none for the empty message) is padded. */
        while (n > 128) {
                t += 128;
                blake2b_compress(h, p, t, false);
                p += 128;
                n -= 128;
        }
        uint8_t last[128] = { 0 };
        if (n)
                memcpy(last, p, n);
        t += n;
        blake2b_compress(h, last, t, true);
        blake2b_output(h, out);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

static AVX2 inline __m256i rot32(__m256i x) {
        return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1));
}
static AVX2 inline __m256i rot24(__m256i x) {
        const __m256i r = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10,
                                           3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
        return _mm256_shuffle_epi8(x, r);
}
static AVX2 inline __m256i rot16(__m256i x) {
        const __m256i r = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9,
                                           2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
        return _mm256_shuffle_epi8(x, r);
}
static AVX2 inline __m256i rot63(__m256i x) {
        return _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x));
}

#define GV(r, i, a, b, c, d)                                                            \
        do {                                                                            \
                a = _mm256_add_epi64(_mm256_add_epi64(a, b), m[blake2b_sigma[r][2 * i]]); \
                d = rot32(_mm256_xor_si256(d, a));                                      \
                c = _mm256_add_epi64(c, d);                                             \
                b = rot24(_mm256_xor_si256(b, c));                                      \
                a = _mm256_add_epi64(_mm256_add_epi64(a, b), m[blake2b_sigma[r][2 * i + 1]]); \
                d = rot16(_mm256_xor_si256(d, a));                                      \
                c = _mm256_add_epi64(c, d);                                             \
                b = rot63(_mm256_xor_si256(b, c));                                      \
        } while (0)

#define ROUNDV(r)                                                       \
        do {                                                            \
                GV(r, 0, v[0], v[4], v[8], v[12]);                      \
                GV(r, 1, v[1], v[5], v[9], v[13]);                      \
                GV(r, 2, v[2], v[6], v[10], v[14]);                     \
                GV(r, 3, v[3], v[7], v[11], v[15]);                     \
                GV(r, 4, v[0], v[5], v[10], v[15]);                     \
                GV(r, 5, v[1], v[6], v[11], v[12]);                     \
                GV(r, 6, v[2], v[7], v[8], v[13]);                      \
                GV(r, 7, v[3], v[4], v[9], v[14]);                      \
        } while (0)

/* Load word group [4g, 4g+4) of four 128-byte blocks, transposed so that
 * m[4g + j] holds word 4g + j of every message, message k in lane k. */
static AVX2 inline void load_transposed(__m256i m[16], const uint8_t *const b[4], int g) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(b[0] + 32 * g));
        __m256i c = _mm256_loadu_si256((const __m256i *)(b[1] + 32 * g));
        __m256i e = _mm256_loadu_si256((const __m256i *)(b[2] + 32 * g));
        __m256i f = _mm256_loadu_si256((const __m256i *)(b[3] + 32 * g));
        __m256i ac_lo = _mm256_unpacklo_epi64(a, c);   /* a0 c0 a2 c2 */
        __m256i ac_hi = _mm256_unpackhi_epi64(a, c);   /* a1 c1 a3 c3 */
        __m256i ef_lo = _mm256_unpacklo_epi64(e, f);   /* e0 f0 e2 f2 */
        __m256i ef_hi = _mm256_unpackhi_epi64(e, f);   /* e1 f1 e3 f3 */
        m[4 * g + 0] = _mm256_permute2x128_si256(ac_lo, ef_lo, 0x20);
        m[4 * g + 1] = _mm256_permute2x128_si256(ac_hi, ef_hi, 0x20);
        m[4 * g + 2] = _mm256_permute2x128_si256(ac_lo, ef_lo, 0x31);
        m[4 * g + 3] = _mm256_permute2x128_si256(ac_hi, ef_hi, 0x31);
}

static AVX2 void blake2b_compress_x4(__m256i h[8], const uint8_t *const b[4], uint64_t t, bool last) {
        __m256i m[16], v[16];
        for (int g = 0; g < 4; g++)
                load_transposed(m, b, g);
        for (int i = 0; i < 8; i++) {
                v[i] = h[i];
                v[i + 8] = _mm256_set1_epi64x((long long)blake2b_iv[i]);
        }
        v[12] = _mm256_xor_si256(v[12], _mm256_set1_epi64x((long long)t));
        if (last)
                v[14] = _mm256_xor_si256(v[14], _mm256_set1_epi64x(-1));
        ROUNDV(0);
        ROUNDV(1);
        ROUNDV(2);
        ROUNDV(3);
        ROUNDV(4);
        ROUNDV(5);
        ROUNDV(6);
        ROUNDV(7);
        ROUNDV(8);
        ROUNDV(9);
        ROUNDV(10);
        ROUNDV(11);
        for (int i = 0; i < 8; i++)
                h[i] = _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8]));
}

static AVX2 void blake2b256_x4_avx2(const uint8_t *const data[4], size_t n, uint8_t out[4][RDIFF_BLAKE2_LEN]) {
        __m256i h[8];
        const uint8_t *p[4] = { data[0], data[1], data[2], data[3] };
        uint64_t t = 0;
        for (int i = 0; i < 8; i++)
                h[i] = _mm256_set1_epi64x((long long)(blake2b_iv[i] ^ (i == 0 ? BLAKE2B_PARAM0 : 0)));
        while (n > 128) {
                t += 128;
                blake2b_compress_x4(h, p, t, false);
                for (int k = 0; k < 4; k++)
                        p[k] += 128;
                n -= 128;
        }
        uint8_t last[4][128];
        const uint8_t *lp[4];
        for (int k = 0; k < 4; k++) {
                memset(last[k], 0, sizeof(last[k]));
                if (n)
                        memcpy(last[k], p[k], n);
                lp[k] = last[k];
        }
        t += n;
        blake2b_compress_x4(h, lp, t, true);
        uint64_t words[4][4];
        for (int i = 0; i < 4; i++) {
                uint64_t lane[4];
                _mm256_storeu_si256((__m256i *)lane, h[i]);
                for (int k = 0; k < 4; k++)
                        words[k][i] = lane[k];
        }
        for (int k = 0; k < 4; k++)
                for (int i = 0; i < 4; i++)
                        cadu_put_le64(out[k] + 8 * i, words[k][i]);
}

static bool have_avx2(void) {
        static int cached = -1;
        int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
        if (v < 0) {
                __builtin_cpu_init();
                v = __builtin_cpu_supports("avx2") ? 1 : 0;
                if (getenv("CADU_RDIFF_NO_SIMD"))
                        v = 0;
                __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
        }
        return v;
}
#endif

void rdiff_blake2b256_x4(const uint8_t *const data[4], size_t n, uint8_t out[4][RDIFF_BLAKE2_LEN]) {
#if defined(__x86_64__) && defined(__GNUC__)
        if (have_avx2()) {
                blake2b256_x4_avx2(data, n, out);
                return;
        }
#endif
        for (int k = 0; k < 4; k++)
                rdiff_blake2b256(data[k], n, out[k]);
}
