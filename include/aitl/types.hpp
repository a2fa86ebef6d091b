#pragma once
/// @file types.hpp
/// @brief Vocabulary types shared by every component: documents, hits, vector matrices.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

namespace aitl {

/// @brief Row-major float32 matrix: one vector per row (the layout numpy and faiss use).
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// @brief One knowledge-base document.
struct document {
    std::string id;               ///< unique, non-empty
    std::string title;            ///< may be empty
    std::string text;             ///< body
    nlohmann::json metadata = nlohmann::json::object();  ///< free-form, always an object
    std::uint64_t version = 1;    ///< bumped by knowledge_base::update

    /// @returns The text retrievers index: title and body joined by a newline.
    std::string indexed_text() const { return title.empty() ? text : title + "\n" + text; }
};

/// @brief One search result: a document id and its score (higher is better).
struct hit {
    std::string id;
    float score = 0.0f;

    friend bool operator==(const hit& a, const hit& b) { return a.id == b.id && a.score == b.score; }
};

/// @brief Ranked results, best first.
using hits = std::vector<hit>;

}  // namespace aitl
