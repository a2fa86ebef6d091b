#pragma once
/// @file hnsw_config.hpp
/// @brief Settings of hnsw_index, in a header of their own: code that only reads or writes
/// configurations need not include hnsw.hpp (which may be included by one translation unit
/// per binary).

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "knn.hpp"

namespace aitl {

/**
 * @brief Settings of hnsw_index (hnswlib's parameters).
 *
 * Validated by hnsw_index's constructor; round-trips through JSON.
 */
struct hnsw_config {
    std::size_t dim = 0;                          ///< vector dimension (> 0)
    aitl::similarity metric = aitl::similarity::inner_product;  ///< ip or cosine
    std::size_t M = 16;                           ///< graph degree (2..2048)
    std::size_t ef_construction = 200;            ///< candidate list size while building (>= 1)
    std::size_t ef = 100;                         ///< candidate list size while searching (>= 1); search uses max(ef, k)
    std::size_t max_elements = 1024;              ///< initial capacity (>= 1); grows automatically
    std::size_t seed = 100;                       ///< random seed of the level generator
    /// Traverse the graph with bfloat16 copies of the vectors (half the memory traffic of a
    /// search; 2 bytes x dim more memory per vector), then re-score the final ef candidates
    /// in float32, so the returned scores are exact. false: float32 throughout, as hnswlib.
    bool compact_search = true;

    /// @throws config_error naming the first invalid field.
    void validate() const {
        auto fail = [](const std::string& what, std::size_t got, const std::string& expected) {
            throw config_error("hnsw_config::validate: " + what + " (got " + std::to_string(got) +
                               ", expected " + expected + ")");
        };
        if (dim == 0) fail("dim must be positive", dim, ">= 1");
        if (M < 2 || M > 2048) fail("M out of range", M, "2..2048");
        if (ef_construction == 0) fail("ef_construction must be positive", ef_construction, ">= 1");
        if (ef == 0) fail("ef must be positive", ef, ">= 1");
        if (max_elements == 0) fail("max_elements must be positive", max_elements, ">= 1");
    }
};

inline void to_json(nlohmann::json& j, const hnsw_config& c) {
    j = nlohmann::json{{"dim", c.dim},         {"metric", c.metric},
                       {"M", c.M},             {"ef_construction", c.ef_construction},
                       {"ef", c.ef},           {"max_elements", c.max_elements},
                       {"seed", c.seed},       {"compact_search", c.compact_search}};
}

/// @throws config_error on an unknown key or a wrong type (missing keys keep their defaults).
inline void from_json(const nlohmann::json& j, hnsw_config& c) {
    const char* t = "hnsw_config";
    detail::config_check_keys(j, t, {"dim", "metric", "M", "ef_construction", "ef", "max_elements", "seed",
                                     "compact_search"});
    detail::config_read_key(j, t, "dim", c.dim);
    detail::config_read_key(j, t, "metric", c.metric);
    detail::config_read_key(j, t, "M", c.M);
    detail::config_read_key(j, t, "ef_construction", c.ef_construction);
    detail::config_read_key(j, t, "ef", c.ef);
    detail::config_read_key(j, t, "max_elements", c.max_elements);
    detail::config_read_key(j, t, "seed", c.seed);
    detail::config_read_key(j, t, "compact_search", c.compact_search);
}

}  // namespace aitl
