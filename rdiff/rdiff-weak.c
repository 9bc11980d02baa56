/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Weak sums (RabinKarp and rollsum) and the multi-message strong sum. */
#include <string.h>

#include "rdiff-private.h"

uint32_t rdiff_rk_pow(uint64_t n) {
        uint32_t r = 1, b = RDIFF_RK_MULT;
        while (n) {
                if (n & 1)
                        r *= b;
                b *= b;
                n >>= 1;
        }
        return r;
}

/* K * K^-1 == 1 (mod 2^32); K is odd, so the inverse exists. Checked by the
 * unit test. */
const uint32_t rdiff_rk_inv = 0x98f009adu;

/* Sum of b_i K^(n-1-i) for a whole buffer, with eight independent
 * multiply-add chains (lane j takes bytes j, j+8, ...). */
static uint32_t rk_poly_scalar(const uint8_t *p, size_t n) {
        static uint32_t kp[9];
        if (!__atomic_load_n(&kp[8], __ATOMIC_ACQUIRE)) {
                uint32_t t[9];
                for (int i = 0; i <= 8; i++)
                        t[i] = rdiff_rk_pow((uint64_t)i);
                for (int i = 0; i < 8; i++)
                        __atomic_store_n(&kp[i], t[i], __ATOMIC_RELAXED);
                __atomic_store_n(&kp[8], t[8], __ATOMIC_RELEASE);
        }
        uint32_t a[8] = { 0 };
        size_t i = 0;
        const uint32_t k8 = kp[8];
        for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++)
                        a[j] = a[j] * k8 + p[i + j];
        uint32_t h = 0;
        for (int j = 0; j < 8; j++)
                h += a[j] * kp[7 - j];
        for (; i < n; i++)
                h = h * RDIFF_RK_MULT + p[i];
        return h;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The same with four vectors of eight lanes: vector q lane j takes the bytes
 * at 8q + j (mod 32). */
__attribute__((target("avx2")))
static uint32_t rk_poly_avx2(const uint8_t *p, size_t n) {
        static uint32_t kp[33];
        if (!__atomic_load_n(&kp[32], __ATOMIC_ACQUIRE)) {
                uint32_t t[33];
                for (int i = 0; i <= 32; i++)
                        t[i] = rdiff_rk_pow((uint64_t)i);
                for (int i = 0; i < 32; i++)
                        __atomic_store_n(&kp[i], t[i], __ATOMIC_RELAXED);
                __atomic_store_n(&kp[32], t[32], __ATOMIC_RELEASE);
        }
        const __m256i k32 = _mm256_set1_epi32((int)kp[32]);
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = 0;
        for (; i + 32 <= n; i += 32) {
                __m128i lo = _mm_loadu_si128((const __m128i *)(p + i));
                __m128i hi = _mm_loadu_si128((const __m128i *)(p + i + 16));
                a0 = _mm256_add_epi32(_mm256_mullo_epi32(a0, k32), _mm256_cvtepu8_epi32(lo));
                a1 = _mm256_add_epi32(_mm256_mullo_epi32(a1, k32), _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
                a2 = _mm256_add_epi32(_mm256_mullo_epi32(a2, k32), _mm256_cvtepu8_epi32(hi));
                a3 = _mm256_add_epi32(_mm256_mullo_epi32(a3, k32), _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
        }
        uint32_t lanes[32];
        _mm256_storeu_si256((__m256i *)lanes, a0);
        _mm256_storeu_si256((__m256i *)(lanes + 8), a1);
        _mm256_storeu_si256((__m256i *)(lanes + 16), a2);
        _mm256_storeu_si256((__m256i *)(lanes + 24), a3);
        uint32_t h = 0;
        for (int j = 0; j < 32; j++)
                h += lanes[j] * kp[31 - j];
        for (; i < n; i++)
                h = h * RDIFF_RK_MULT + p[i];
        return h;
}

static bool use_avx2(void) {
        static int cached = -1;
        int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
        if (v < 0) {
                __builtin_cpu_init();
                v = __builtin_cpu_supports("avx2") && !getenv("CADU_RDIFF_NO_SIMD");
                __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
        }
        return v;
}
#endif

uint32_t rdiff_rabinkarp(const uint8_t *p, size_t n) {
        uint32_t poly;
#if defined(__x86_64__) && defined(__GNUC__)
        if (n >= 64 && use_avx2())
                poly = rk_poly_avx2(p, n);
        else
#endif
                poly = rk_poly_scalar(p, n);
        return rdiff_rk_pow(n) + poly;
}

uint32_t rdiff_rollsum(const uint8_t *p, size_t n) {
        /* s1 = sum b + 31 n; s2 = sum (n - i) b_i + 31 n (n + 1) / 2. Done
         * 16 bytes at a time: s2 += 16 s1 + sum (16 - j) b_j. */
        uint32_t s1 = 0, s2 = 0;
        size_t i = 0;
        for (; i + 16 <= n; i += 16) {
                uint32_t sum = 0, wsum = 0;
                for (int j = 0; j < 16; j++) {
                        sum += p[i + j];
                        wsum += (uint32_t)(16 - j) * p[i + j];
                }
                s2 += 16 * s1 + wsum;
                s1 += sum;
        }
        for (; i < n; i++) {
                s1 += p[i];
                s2 += s1;
        }
        s1 += (uint32_t)(n * RDIFF_RS_OFFSET);
        s2 += (uint32_t)(((uint64_t)n * (n + 1) / 2) * RDIFF_RS_OFFSET);
        return (s2 & 0xffff) << 16 | (s1 & 0xffff);
}

void rdiff_weak_init(rdiff_weak *w, bool rabinkarp, const uint8_t *p, size_t n) {
        *w = (rdiff_weak){ .rabinkarp = rabinkarp, .count = (uint32_t)n };
        if (rabinkarp) {
                w->h = rdiff_rabinkarp(p, n);
                w->kn = rdiff_rk_pow(n);
        } else {
                uint32_t d = rdiff_rollsum(p, n);
                w->s1 = d & 0xffff;
                w->s2 = d >> 16;
        }
}

void rdiff_strong_multi(bool blake2, const uint8_t *const data[4], unsigned k, size_t n,
                        uint8_t out[4][RDIFF_MAX_STRONG]) {
        if (blake2 && k >= 2) {
                const uint8_t *d[4];
                uint8_t o[4][RDIFF_BLAKE2_LEN];
                for (unsigned i = 0; i < 4; i++)
                        d[i] = data[i < k ? i : 0];
                rdiff_blake2b256_x4(d, n, o);
                for (unsigned i = 0; i < k; i++)
                        memcpy(out[i], o[i], RDIFF_BLAKE2_LEN);
                return;
        }
        for (unsigned i = 0; i < k; i++)
                rdiff_strong(blake2, data[i], n, out[i]);
}
