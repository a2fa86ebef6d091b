#pragma once
// The inner-product kernels behind detail/simd.hpp (internal): generic C++ (GCC/Clang vector
// extensions), AVX2+FMA and AVX-512F versions, compiled through function target attributes
// so that no -march flag is needed. detail/simd.hpp picks one set at run time.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define AITL_SIMD_X86 1
#include <immintrin.h>
#define AITL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define AITL_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define AITL_SIMD_X86 0
#endif

namespace aitl::detail::simd {

/// Vectors per storage panel (one AVX-512 register of floats).
inline constexpr std::size_t panel_width = 16;

// ---------------------------------------------------------------------------------------
// Generic kernels: GCC/Clang vector extensions (compiled for the baseline ISA, e.g. SSE2
// or NEON), plain loops elsewhere.
// ---------------------------------------------------------------------------------------

#if defined(__GNUC__) || defined(__clang__)
typedef float v4f __attribute__((vector_size(16)));
inline v4f load4(const float* p) noexcept {
    v4f v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store4(float* p, v4f v) noexcept { std::memcpy(p, &v, sizeof v); }

inline float dot_generic(const float* a, const float* b, std::size_t n) noexcept {
    v4f s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += load4(a + i) * load4(b + i);
        s1 += load4(a + i + 4) * load4(b + i + 4);
        s2 += load4(a + i + 8) * load4(b + i + 8);
        s3 += load4(a + i + 12) * load4(b + i + 12);
    }
    for (; i + 4 <= n; i += 4) s0 += load4(a + i) * load4(b + i);
    const v4f s = (s0 + s1) + (s2 + s3);
    float r = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; ++i) r += a[i] * b[i];
    return r;
}

// out[i] = <q, x[i]> for i < 4.
inline void dot4_generic(const float* q, const float* const* x, std::size_t n, float* out) noexcept {
    v4f s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v4f a = load4(q + i);
        s0 += a * load4(x[0] + i);
        s1 += a * load4(x[1] + i);
        s2 += a * load4(x[2] + i);
        s3 += a * load4(x[3] + i);
    }
    float r[4] = {(s0[0] + s0[1]) + (s0[2] + s0[3]), (s1[0] + s1[1]) + (s1[2] + s1[3]),
                  (s2[0] + s2[1]) + (s2[2] + s2[3]), (s3[0] + s3[1]) + (s3[2] + s3[3])};
    for (; i < n; ++i)
        for (int j = 0; j < 4; ++j) r[j] += q[i] * x[j][i];
    for (int j = 0; j < 4; ++j) out[j] = r[j];
}

// out[r * ldo + j] = <query r, vector j> for r < 4, j < 16 * npanels (queries packed [p][4]).
inline void panel_tile_generic(const float* qp, std::size_t d, const float* xp,
                               std::size_t npanels, float* out, std::size_t ldo) noexcept {
    constexpr std::size_t R = 4, W = panel_width;
    for (std::size_t c = 0; c < npanels; ++c) {
        const float* x = xp + c * W * d;
        for (std::size_t h = 0; h < W; h += 8) {
            const v4f z = {0, 0, 0, 0};
            v4f a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
            for (std::size_t p = 0; p < d; ++p) {
                const v4f x0 = load4(x + p * W + h), x1 = load4(x + p * W + h + 4);
                const float* q = qp + p * R;
                a00 += q[0] * x0; a01 += q[0] * x1;
                a10 += q[1] * x0; a11 += q[1] * x1;
                a20 += q[2] * x0; a21 += q[2] * x1;
                a30 += q[3] * x0; a31 += q[3] * x1;
            }
            float* o = out + c * W + h;
            store4(o, a00); store4(o + 4, a01); o += ldo;
            store4(o, a10); store4(o + 4, a11); o += ldo;
            store4(o, a20); store4(o + 4, a21); o += ldo;
            store4(o, a30); store4(o + 4, a31);
        }
    }
}

// out[j] = <q, vector j> for j < 16 * npanels (q unpacked, length d).
inline void panel_row_generic(const float* q, std::size_t d, const float* xp, std::size_t npanels,
                              float* out) noexcept {
    constexpr std::size_t W = panel_width;
    for (std::size_t c = 0; c < npanels; ++c) {
        const float* x = xp + c * W * d;
        v4f a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        for (std::size_t p = 0; p < d; ++p) {
            const float qv = q[p];
            const float* xv = x + p * W;
            a0 += qv * load4(xv); a1 += qv * load4(xv + 4);
            a2 += qv * load4(xv + 8); a3 += qv * load4(xv + 12);
        }
        store4(out + c * W, a0); store4(out + c * W + 4, a1);
        store4(out + c * W + 8, a2); store4(out + c * W + 12, a3);
    }
}
#else
inline float dot_generic(const float* a, const float* b, std::size_t n) noexcept {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (std::size_t l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

inline void dot4_generic(const float* q, const float* const* x, std::size_t n, float* out) noexcept {
    for (int j = 0; j < 4; ++j) out[j] = dot_generic(q, x[j], n);
}

inline void panel_tile_generic(const float* qp, std::size_t d, const float* xp,
                               std::size_t npanels, float* out, std::size_t ldo) noexcept {
    constexpr std::size_t R = 4, W = panel_width;
    for (std::size_t c = 0; c < npanels; ++c) {
        const float* x = xp + c * W * d;
        for (std::size_t h = 0; h < W; h += 8) {
            float acc[R][8] = {};
            for (std::size_t p = 0; p < d; ++p)
                for (std::size_t r = 0; r < R; ++r)
                    for (std::size_t l = 0; l < 8; ++l) acc[r][l] += qp[p * R + r] * x[p * W + h + l];
            for (std::size_t r = 0; r < R; ++r) std::memcpy(out + r * ldo + c * W + h, acc[r], sizeof acc[r]);
        }
    }
}

inline void panel_row_generic(const float* q, std::size_t d, const float* xp, std::size_t npanels,
                              float* out) noexcept {
    constexpr std::size_t W = panel_width;
    for (std::size_t c = 0; c < npanels; ++c) {
        const float* x = xp + c * W * d;
        float acc[W] = {};
        for (std::size_t p = 0; p < d; ++p)
            for (std::size_t l = 0; l < W; ++l) acc[l] += q[p] * x[p * W + l];
        std::memcpy(out + c * W, acc, sizeof acc);
    }
}
#endif

/// Index of the first s[i] >= thr in [0, n), or n.
inline std::size_t find_ge_generic(const float* s, std::size_t n, float thr) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        bool any = false;
        for (std::size_t l = 0; l < 8; ++l) any |= s[i + l] >= thr;
        if (any) break;
    }
    for (; i < n; ++i)
        if (s[i] >= thr) return i;
    return n;
}

/// Packs rows [0, rows) of q (row stride ldq) as [p][tile_rows], zero-padding missing rows.
inline void pack_queries(const float* q, std::size_t ldq, std::size_t rows, std::size_t d,
                         std::size_t tile_rows, float* out) noexcept {
    for (std::size_t p = 0; p < d; ++p) {
        float* o = out + p * tile_rows;
        for (std::size_t r = 0; r < tile_rows; ++r) o[r] = r < rows ? q[r * ldq + p] : 0.0f;
    }
}

// ---------------------------------------------------------------------------------------
// bfloat16 (the upper half of a float32): compact copies of vectors for graph traversal.
// ---------------------------------------------------------------------------------------

/// float32 -> bfloat16, rounded to nearest even (finite input; never rounds up to inf).
inline std::uint16_t to_bf16(float f) noexcept {
    std::uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    const std::uint32_t rounded = b + 0x7FFFu + ((b >> 16) & 1u);
    if ((rounded & 0x7F800000u) == 0x7F800000u) return static_cast<std::uint16_t>(b >> 16);
    return static_cast<std::uint16_t>(rounded >> 16);
}

inline float from_bf16(std::uint16_t h) noexcept {
    const std::uint32_t b = static_cast<std::uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}

inline void to_bf16(const float* in, std::size_t n, std::uint16_t* out) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

inline float dot_bf16_generic(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    float acc[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (std::size_t l = 0; l < 4; ++l) acc[l] += q[i + l] * from_bf16(x[i + l]);
    float s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < n; ++i) s += q[i] * from_bf16(x[i]);
    return s;
}

inline void dot4_bf16_generic(const float* q, const std::uint16_t* const* x, std::size_t n, float* out) noexcept {
    for (int j = 0; j < 4; ++j) out[j] = dot_bf16_generic(q, x[j], n);
}

#if AITL_SIMD_X86
// ---------------------------------------------------------------------------------------
// AVX2 + FMA
// ---------------------------------------------------------------------------------------

AITL_TARGET_AVX2 inline float hsum_avx2(__m256 v) noexcept {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AITL_TARGET_AVX2 inline float dot_avx2(const float* a, const float* b, std::size_t n) noexcept {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum_avx2(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

AITL_TARGET_AVX2 inline void dot4_avx2(const float* q, const float* const* x, std::size_t n,
                                       float* out) noexcept {
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(q + i);
        s0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(x0 + i), s0);
        s1 = _mm256_fmadd_ps(a, _mm256_loadu_ps(x1 + i), s1);
        s2 = _mm256_fmadd_ps(a, _mm256_loadu_ps(x2 + i), s2);
        s3 = _mm256_fmadd_ps(a, _mm256_loadu_ps(x3 + i), s3);
    }
    float r0 = hsum_avx2(s0), r1 = hsum_avx2(s1), r2 = hsum_avx2(s2), r3 = hsum_avx2(s3);
    for (; i < n; ++i) {
        r0 += q[i] * x0[i];
        r1 += q[i] * x1[i];
        r2 += q[i] * x2[i];
        r3 += q[i] * x3[i];
    }
    out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}

AITL_TARGET_AVX2 inline __m256 load8_bf16(const std::uint16_t* p) noexcept {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AITL_TARGET_AVX2 inline float dot_bf16_avx2(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8_bf16(x + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8_bf16(x + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8_bf16(x + i), s0);
    float s = hsum_avx2(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += q[i] * from_bf16(x[i]);
    return s;
}

AITL_TARGET_AVX2 inline void dot4_bf16_avx2(const float* q, const std::uint16_t* const* x, std::size_t n,
                                            float* out) noexcept {
    const std::uint16_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(q + i);
        s0 = _mm256_fmadd_ps(a, load8_bf16(x0 + i), s0);
        s1 = _mm256_fmadd_ps(a, load8_bf16(x1 + i), s1);
        s2 = _mm256_fmadd_ps(a, load8_bf16(x2 + i), s2);
        s3 = _mm256_fmadd_ps(a, load8_bf16(x3 + i), s3);
    }
    float r0 = hsum_avx2(s0), r1 = hsum_avx2(s1), r2 = hsum_avx2(s2), r3 = hsum_avx2(s3);
    for (; i < n; ++i) {
        r0 += q[i] * from_bf16(x0[i]);
        r1 += q[i] * from_bf16(x1[i]);
        r2 += q[i] * from_bf16(x2[i]);
        r3 += q[i] * from_bf16(x3[i]);
    }
    out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}

AITL_TARGET_AVX2 inline std::size_t find_ge_avx2(const float* s, std::size_t n, float thr) noexcept {
    const __m256 t = _mm256_set1_ps(thr);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const int m0 = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + i), t, _CMP_GE_OQ));
        const int m1 = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + i + 8), t, _CMP_GE_OQ));
        if (m0 | m1) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(m0 | (m1 << 8))));
    }
    for (; i < n; ++i)
        if (s[i] >= thr) return i;
    return n;
}

// 6 queries x 16 vectors per step (12 accumulators).
AITL_TARGET_AVX2 inline void panel_tile_avx2(const float* qp, std::size_t d, const float* xp,
                                             std::size_t npanels, float* out,
                                             std::size_t ldo) noexcept {
    constexpr std::size_t R = 6, W = panel_width;
    for (std::size_t c = 0; c < npanels; ++c) {
        const float* x = xp + c * W * d;
        __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(),
               a11 = _mm256_setzero_ps(), a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(),
               a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps(), a40 = _mm256_setzero_ps(),
               a41 = _mm256_setzero_ps(), a50 = _mm256_setzero_ps(), a51 = _mm256_setzero_ps();
        for (std::size_t p = 0; p < d; ++p) {
            const __m256 x0 = _mm256_load_ps(x + p * W), x1 = _mm256_load_ps(x + p * W + 8);
            const float* q = qp + p * R;
            __m256 b = _mm256_broadcast_ss(q + 0);
            a00 = _mm256_fmadd_ps(b, x0, a00); a01 = _mm256_fmadd_ps(b, x1, a01);
            b = _mm256_broadcast_ss(q + 1);
            a10 = _mm256_fmadd_ps(b, x0, a10); a11 = _mm256_fmadd_ps(b, x1, a11);
            b = _mm256_broadcast_ss(q + 2);
            a20 = _mm256_fmadd_ps(b, x0, a20); a21 = _mm256_fmadd_ps(b, x1, a21);
            b = _mm256_broadcast_ss(q + 3);
            a30 = _mm256_fmadd_ps(b, x0, a30); a31 = _mm256_fmadd_ps(b, x1, a31);
            b = _mm256_broadcast_ss(q + 4);
            a40 = _mm256_fmadd_ps(b, x0, a40); a41 = _mm256_fmadd_ps(b, x1, a41);
            b = _mm256_broadcast_ss(q + 5);
            a50 = _mm256_fmadd_ps(b, x0, a50); a51 = _mm256_fmadd_ps(b, x1, a51);
        }
        float* o = out + c * W;
        _mm256_storeu_ps(o, a00); _mm256_storeu_ps(o + 8, a01); o += ldo;
        _mm256_storeu_ps(o, a10); _mm256_storeu_ps(o + 8, a11); o += ldo;
        _mm256_storeu_ps(o, a20); _mm256_storeu_ps(o + 8, a21); o += ldo;
        _mm256_storeu_ps(o, a30); _mm256_storeu_ps(o + 8, a31); o += ldo;
        _mm256_storeu_ps(o, a40); _mm256_storeu_ps(o + 8, a41); o += ldo;
        _mm256_storeu_ps(o, a50); _mm256_storeu_ps(o + 8, a51);
    }
}

AITL_TARGET_AVX2 inline void panel_row_avx2(const float* q, std::size_t d, const float* xp,
                                            std::size_t npanels, float* out) noexcept {
    constexpr std::size_t W = panel_width;
    std::size_t c = 0;
    for (; c + 2 <= npanels; c += 2) {
        const float* x = xp + c * W * d;
        const float* y = x + W * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
               a3 = _mm256_setzero_ps();
        for (std::size_t p = 0; p < d; ++p) {
            const __m256 b = _mm256_broadcast_ss(q + p);
            a0 = _mm256_fmadd_ps(b, _mm256_load_ps(x + p * W), a0);
            a1 = _mm256_fmadd_ps(b, _mm256_load_ps(x + p * W + 8), a1);
            a2 = _mm256_fmadd_ps(b, _mm256_load_ps(y + p * W), a2);
            a3 = _mm256_fmadd_ps(b, _mm256_load_ps(y + p * W + 8), a3);
        }
        _mm256_storeu_ps(out + c * W, a0); _mm256_storeu_ps(out + c * W + 8, a1);
        _mm256_storeu_ps(out + c * W + 16, a2); _mm256_storeu_ps(out + c * W + 24, a3);
    }
    if (c < npanels) {
        const float* x = xp + c * W * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (std::size_t p = 0; p < d; ++p) {
            const __m256 b = _mm256_broadcast_ss(q + p);
            a0 = _mm256_fmadd_ps(b, _mm256_load_ps(x + p * W), a0);
            a1 = _mm256_fmadd_ps(b, _mm256_load_ps(x + p * W + 8), a1);
        }
        _mm256_storeu_ps(out + c * W, a0); _mm256_storeu_ps(out + c * W + 8, a1);
    }
}

// ---------------------------------------------------------------------------------------
// AVX-512F
// ---------------------------------------------------------------------------------------

// GCC 12's AVX-512 headers trip -Wuninitialized (their _mm512_undefined_* idiom) when the
// intrinsics are used under a target attribute rather than -mavx512f.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
AITL_TARGET_AVX512 inline float dot_avx512(const float* a, const float* b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(),
           s3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    const __m512 s = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
    const __m512 h = _mm512_add_ps(s, _mm512_shuffle_f32x4(s, s, 0x4E));  // + other 256-bit half
    return hsum_avx2(_mm512_castps512_ps256(h));
}

AITL_TARGET_AVX512 inline float hsum_avx512(__m512 s) noexcept {
    const __m512 h = _mm512_add_ps(s, _mm512_shuffle_f32x4(s, s, 0x4E));
    return hsum_avx2(_mm512_castps512_ps256(h));
}

AITL_TARGET_AVX512 inline std::size_t find_ge_avx512(const float* s, std::size_t n, float thr) noexcept {
    const __m512 t = _mm512_set1_ps(thr);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const unsigned m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + i), t, _CMP_GE_OQ);
        const unsigned m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + i + 16), t, _CMP_GE_OQ);
        if (m0 | m1) return i + static_cast<std::size_t>(__builtin_ctz(m0 | (m1 << 16)));
    }
    for (; i < n; ++i)
        if (s[i] >= thr) return i;
    return n;
}

AITL_TARGET_AVX512 inline void dot4_avx512(const float* q, const float* const* x, std::size_t n,
                                           float* out) noexcept {
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(),
           s3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 a = _mm512_loadu_ps(q + i);
        s0 = _mm512_fmadd_ps(a, _mm512_loadu_ps(x0 + i), s0);
        s1 = _mm512_fmadd_ps(a, _mm512_loadu_ps(x1 + i), s1);
        s2 = _mm512_fmadd_ps(a, _mm512_loadu_ps(x2 + i), s2);
        s3 = _mm512_fmadd_ps(a, _mm512_loadu_ps(x3 + i), s3);
    }
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
        const __m512 a = _mm512_maskz_loadu_ps(m, q + i);
        s0 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x0 + i), s0);
        s1 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x1 + i), s1);
        s2 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x2 + i), s2);
        s3 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x3 + i), s3);
    }
    out[0] = hsum_avx512(s0);
    out[1] = hsum_avx512(s1);
    out[2] = hsum_avx512(s2);
    out[3] = hsum_avx512(s3);
}
AITL_TARGET_AVX512 inline __m512 load16_bf16(const std::uint16_t* p) noexcept {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AITL_TARGET_AVX512 inline float dot_bf16_avx512(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16_bf16(x + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), load16_bf16(x + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16_bf16(x + i), s0);
    float s = hsum_avx512(_mm512_add_ps(s0, s1));
    for (; i < n; ++i) s += q[i] * from_bf16(x[i]);
    return s;
}

AITL_TARGET_AVX512 inline void dot4_bf16_avx512(const float* q, const std::uint16_t* const* x, std::size_t n,
                                                float* out) noexcept {
    const std::uint16_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(),
           s3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 a = _mm512_loadu_ps(q + i);
        s0 = _mm512_fmadd_ps(a, load16_bf16(x0 + i), s0);
        s1 = _mm512_fmadd_ps(a, load16_bf16(x1 + i), s1);
        s2 = _mm512_fmadd_ps(a, load16_bf16(x2 + i), s2);
        s3 = _mm512_fmadd_ps(a, load16_bf16(x3 + i), s3);
    }
    float r0 = hsum_avx512(s0), r1 = hsum_avx512(s1), r2 = hsum_avx512(s2), r3 = hsum_avx512(s3);
    for (; i < n; ++i) {
        r0 += q[i] * from_bf16(x0[i]);
        r1 += q[i] * from_bf16(x1[i]);
        r2 += q[i] * from_bf16(x2[i]);
        r3 += q[i] * from_bf16(x3[i]);
    }
    out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// 12 queries x 2 panels (32 vectors) per step: 24 accumulators.
template <std::size_t P>
AITL_TARGET_AVX512 inline void panel_tile_avx512_step(const float* qp, std::size_t d,
                                                      const float* x, float* out,
                                                      std::size_t ldo) noexcept {
    constexpr std::size_t R = 12, W = panel_width;
    __m512 acc[R * P];
    for (std::size_t i = 0; i < R * P; ++i) acc[i] = _mm512_setzero_ps();
    for (std::size_t p = 0; p < d; ++p) {
        __m512 xv[P];
        for (std::size_t c = 0; c < P; ++c) xv[c] = _mm512_load_ps(x + c * W * d + p * W);
        const float* q = qp + p * R;
        for (std::size_t r = 0; r < R; ++r) {
            const __m512 b = _mm512_set1_ps(q[r]);
            for (std::size_t c = 0; c < P; ++c) acc[r * P + c] = _mm512_fmadd_ps(b, xv[c], acc[r * P + c]);
        }
    }
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < P; ++c) _mm512_storeu_ps(out + r * ldo + c * W, acc[r * P + c]);
}

AITL_TARGET_AVX512 inline void panel_tile_avx512(const float* qp, std::size_t d, const float* xp,
                                                 std::size_t npanels, float* out,
                                                 std::size_t ldo) noexcept {
    constexpr std::size_t W = panel_width;
    std::size_t c = 0;
    for (; c + 2 <= npanels; c += 2) panel_tile_avx512_step<2>(qp, d, xp + c * W * d, out + c * W, ldo);
    if (c < npanels) panel_tile_avx512_step<1>(qp, d, xp + c * W * d, out + c * W, ldo);
}

AITL_TARGET_AVX512 inline void panel_row_avx512(const float* q, std::size_t d, const float* xp,
                                                std::size_t npanels, float* out) noexcept {
    constexpr std::size_t W = panel_width;
    std::size_t c = 0;
    for (; c + 4 <= npanels; c += 4) {
        const float* x = xp + c * W * d;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
               a3 = _mm512_setzero_ps();
        for (std::size_t p = 0; p < d; ++p) {
            const __m512 b = _mm512_set1_ps(q[p]);
            a0 = _mm512_fmadd_ps(b, _mm512_load_ps(x + p * W), a0);
            a1 = _mm512_fmadd_ps(b, _mm512_load_ps(x + W * d + p * W), a1);
            a2 = _mm512_fmadd_ps(b, _mm512_load_ps(x + 2 * W * d + p * W), a2);
            a3 = _mm512_fmadd_ps(b, _mm512_load_ps(x + 3 * W * d + p * W), a3);
        }
        _mm512_storeu_ps(out + c * W, a0); _mm512_storeu_ps(out + c * W + 16, a1);
        _mm512_storeu_ps(out + c * W + 32, a2); _mm512_storeu_ps(out + c * W + 48, a3);
    }
    for (; c < npanels; ++c) {
        const float* x = xp + c * W * d;
        __m512 a0 = _mm512_setzero_ps();
        for (std::size_t p = 0; p < d; ++p) a0 = _mm512_fmadd_ps(_mm512_set1_ps(q[p]), _mm512_load_ps(x + p * W), a0);
        _mm512_storeu_ps(out + c * W, a0);
    }
}
#endif  // AITL_SIMD_X86

}  // namespace aitl::detail::simd
