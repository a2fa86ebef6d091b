#pragma once
/// @file detail/hnsw_extra_tu.hpp
/// @brief `retrieval/hnsw.hpp` for a further translation unit of a binary that includes it already.
///
/// hnswlib 0.6.2 defines, in its headers, four non-inline functions (cpuid, xgetbv, AVXCapable,
/// AVX512Capable) and five global function pointers (InnerProduct*SIMD*Ext, L2SqrSIMD16Ext),
/// none of which aitl's HNSW uses (it brings its own space); a second translation unit that
/// includes them breaks the link. Define `AITL_HNSW_TU_PREFIX` (an identifier unique in the
/// binary) and include this header instead: this unit's copies get prefixed names.
///
/// @code
/// #define AITL_HNSW_TU_PREFIX aitl_bind_index_lifecycle
/// #include <aitl/detail/hnsw_extra_tu.hpp>
/// @endcode

#ifndef AITL_HNSW_TU_PREFIX
#error "define AITL_HNSW_TU_PREFIX (an identifier unique in the binary) before including detail/hnsw_extra_tu.hpp"
#endif

#define AITL_HNSW_CAT2_(a, b) a##_##b
#define AITL_HNSW_CAT_(a, b) AITL_HNSW_CAT2_(a, b)
#define cpuid AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, cpuid)
#define xgetbv AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, xgetbv)
#define AVXCapable AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, AVXCapable)
#define AVX512Capable AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, AVX512Capable)
#define InnerProductSIMD16Ext AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, InnerProductSIMD16Ext)
#define InnerProductSIMD4Ext AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, InnerProductSIMD4Ext)
#define InnerProductDistanceSIMD16Ext AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, InnerProductDistanceSIMD16Ext)
#define InnerProductDistanceSIMD4Ext AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, InnerProductDistanceSIMD4Ext)
#define L2SqrSIMD16Ext AITL_HNSW_CAT_(AITL_HNSW_TU_PREFIX, L2SqrSIMD16Ext)
#include "../retrieval/hnsw.hpp"
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable
#undef InnerProductSIMD16Ext
#undef InnerProductSIMD4Ext
#undef InnerProductDistanceSIMD16Ext
#undef InnerProductDistanceSIMD4Ext
#undef L2SqrSIMD16Ext
#undef AITL_HNSW_CAT_
#undef AITL_HNSW_CAT2_
