#pragma once
// Vectorised float32 inner-product kernels with run-time dispatch (internal).
//
// The kernels are compiled for AVX-512 and AVX2+FMA through function target attributes and
// chosen at run time from the CPU's features, so aitl is fast without -march=native and
// correct on any CPU (the generic kernels are plain C++ that the compiler vectorises for
// the baseline ISA: SSE2 on x86-64, NEON on aarch64).
//
// Families (kernels in simd_kernels.hpp):
//  - dot(a, b, n), dot4 (one query, four vectors), and their bfloat16 variants (the HNSW
//    distance and graph traversal);
//  - panel kernels: a tile of queries times a block of database vectors stored in
//    "panels" of 16 vectors, each panel laid out [dimension][16] (used by exact_index).
//    Queries are packed per tile of R rows as [dimension][R] (pack_queries);
//  - find_ge: the vectorised threshold skip of the top-k selection.
//
// The environment variable AITL_SIMD=generic|avx2|avx512 caps the level (for testing and
// benchmarking); it never raises it above what the CPU supports.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "simd_kernels.hpp"

namespace aitl::detail::simd {

/// Instruction-set levels, in increasing order.
enum class isa { generic = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(isa level) noexcept {
    switch (level) {
        case isa::avx512: return "avx512";
        case isa::avx2: return "avx2";
        default: return "generic";
    }
}

/// The best level this CPU supports, capped by AITL_SIMD when set.
inline isa detect() noexcept {
    isa level = isa::generic;
#if AITL_SIMD_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = isa::avx2;
    if (level == isa::avx2 && __builtin_cpu_supports("avx512f")) level = isa::avx512;
#endif
    if (const char* env = std::getenv("AITL_SIMD")) {
        const std::string cap(env);
        isa limit = level;
        if (cap == "generic") limit = isa::generic;
        else if (cap == "avx2") limit = isa::avx2;
        else if (cap == "avx512") limit = isa::avx512;
        if (static_cast<int>(limit) < static_cast<int>(level)) level = limit;
    }
    return level;
}

/// detect(), computed once.
inline isa best() noexcept {
    static const isa level = detect();
    return level;
}

// ---------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------

using dot_fn = float (*)(const float*, const float*, std::size_t) noexcept;
using tile_fn = void (*)(const float*, std::size_t, const float*, std::size_t, float*, std::size_t) noexcept;
using row_fn = void (*)(const float*, std::size_t, const float*, std::size_t, float*) noexcept;
using dot4_fn = void (*)(const float*, const float* const*, std::size_t, float*) noexcept;
using find_ge_fn = std::size_t (*)(const float*, std::size_t, float) noexcept;
using dot_bf16_fn = float (*)(const float*, const std::uint16_t*, std::size_t) noexcept;
using dot4_bf16_fn = void (*)(const float*, const std::uint16_t* const*, std::size_t, float*) noexcept;

/// One level's kernels. `tile` computes `rows` packed queries times 16 * npanels vectors.
struct ip_kernels {
    isa level;
    std::size_t rows;
    dot_fn dot;
    tile_fn tile;
    row_fn row;
    dot4_fn dot4;  ///< out[i] = <q, x[i]> for four vectors x[0..3]
    dot_bf16_fn dot_bf16;    ///< <q, x> with x in bfloat16
    dot4_bf16_fn dot4_bf16;  ///< dot4 with the x[i] in bfloat16
    find_ge_fn find_ge;      ///< index of the first s[i] >= thr, or n
};

/// The kernels of `level` (falls back to a lower level the build cannot provide).
inline const ip_kernels& kernels_for(isa level) noexcept {
    static const ip_kernels generic{isa::generic, 4, &dot_generic, &panel_tile_generic, &panel_row_generic,
                                      &dot4_generic, &dot_bf16_generic, &dot4_bf16_generic, &find_ge_generic};
#if AITL_SIMD_X86
    static const ip_kernels avx2{isa::avx2, 6, &dot_avx2, &panel_tile_avx2, &panel_row_avx2, &dot4_avx2,
                                   &dot_bf16_avx2, &dot4_bf16_avx2, &find_ge_avx2};
    static const ip_kernels avx512{isa::avx512, 12, &dot_avx512, &panel_tile_avx512, &panel_row_avx512,
                                     &dot4_avx512, &dot_bf16_avx512, &dot4_bf16_avx512, &find_ge_avx512};
    if (level == isa::avx512) return avx512;
    if (level == isa::avx2) return avx2;
#else
    (void)level;
#endif
    return generic;
}

/// The kernels of best().
inline const ip_kernels& kernels() noexcept {
    static const ip_kernels& k = kernels_for(best());
    return k;
}

/// Inner product of two float vectors of length n, with the best kernel.
inline float dot(const float* a, const float* b, std::size_t n) noexcept { return kernels().dot(a, b, n); }

/// Hints the CPU to fetch the cache line holding p.
inline void prefetch(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

/// Scales v[0, n) to unit L2 norm in place (a zero vector stays zero).
inline void normalize(float* v, std::size_t n) noexcept {
    double sq = dot(v, v, n);
    if (!std::isfinite(sq)) {  // float overflow: redo in double
        sq = 0.0;
        for (std::size_t i = 0; i < n; ++i) sq += static_cast<double>(v[i]) * v[i];
    }
    if (!(sq > 0.0)) return;
    const float inv = static_cast<float>(1.0 / std::sqrt(sq));
    for (std::size_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace aitl::detail::simd
