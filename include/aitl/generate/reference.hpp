#pragma once
/// @file generate/reference.hpp
/// @brief What a generator reads (`reference`) and returns (`generated_reply`).

#include <string>
#include <vector>

namespace aitl {

/// @brief One knowledge-base document handed to a generator, in rank order.
struct reference {
    std::string doc_id;  ///< knowledge-base document id (cited as `[doc_id]`)
    std::string title;   ///< may be empty
    std::string text;    ///< the document body
    double score = 0.0;  ///< the ranking stage's score (higher = more relevant)
};

/// @brief A reply produced by a generator.
struct generated_reply {
    std::string text;                    ///< the reply, with citation markers `[doc_id]`
    std::vector<std::string> citations;  ///< the doc ids cited in `text`, in order of first use
    std::string variant;                 ///< the variant that produced it (e.g. "top", "coverage")
};

}  // namespace aitl
