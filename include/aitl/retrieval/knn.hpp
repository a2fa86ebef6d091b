#pragma once
/// @file knn.hpp
/// @brief Vocabulary of the vector indexes (exact_index, hnsw_index): labels, similarity
/// metrics, neighbours and batch results.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../types.hpp"

namespace aitl {

/// @brief The label of a stored vector. Labels must be below 2^63 so that they survive the
/// int64 results (`knn_result::labels`, numpy's int64) unchanged.
using label_t = std::uint64_t;

/// @brief Largest valid label (2^63 - 1).
inline constexpr label_t max_label = static_cast<label_t>(std::numeric_limits<std::int64_t>::max());

/// @brief Similarity metric of a vector index (the indexes' `metric()`): higher scores are
/// better in both. (Named `similarity` because `aitl::metric` is an evaluation metric.)
enum class similarity {
    inner_product,  ///< score = <q, x>
    cosine          ///< score = <q/|q|, x/|x|>; stored and query vectors are L2-normalised
                    ///< (a zero vector stays zero and scores 0)
};

/// @returns "ip" or "cosine".
inline std::string similarity_name(similarity m) { return m == similarity::cosine ? "cosine" : "ip"; }

/// @brief Parses "ip" / "inner_product" / "cosine".
/// @throws config_error for any other name.
inline similarity parse_similarity(const std::string& name) {
    if (name == "ip" || name == "inner_product") return similarity::inner_product;
    if (name == "cosine") return similarity::cosine;
    throw config_error("aitl::parse_similarity: unknown metric (got \"" + name +
                       "\", expected \"ip\", \"inner_product\" or \"cosine\")");
}

inline void to_json(nlohmann::json& j, similarity m) { j = similarity_name(m); }
inline void from_json(const nlohmann::json& j, similarity& m) { m = parse_similarity(j.get<std::string>()); }

/// @brief One search result of a vector index.
struct neighbor {
    label_t label = 0;
    float score = 0.0f;  ///< higher is better

    friend bool operator==(const neighbor& a, const neighbor& b) {
        return a.label == b.label && a.score == b.score;
    }
};

/// @brief Row-major int64 matrix (labels of a batch search).
using label_matrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// @brief Results of a batch search, faiss-style: row i holds query i's k best, best first.
/// When fewer than k vectors can be returned the row is padded with label -1 and score -inf.
struct knn_result {
    label_matrix labels;  ///< (queries x k)
    row_matrix scores;    ///< (queries x k)
};

/// @brief Padding label of knn_result.
inline constexpr std::int64_t no_label = -1;

}  // namespace aitl
