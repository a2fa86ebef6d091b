#pragma once
/// @file retrieval/bm25_config.hpp
/// @brief Settings of the BM25 retriever (`bm25_config`) and its index statistics.

#include <cmath>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../text/analyzer.hpp"

namespace aitl {

/**
 * @brief Settings of `basic_bm25`.
 *
 * Scoring is Xapian's BM25Weight (k2 = 0): a query term t contributes to document d
 * `idf(t) * (k1 + 1) * tf / (tf + k1 * ((1 - b) + b * max(len(d) / avg_len, 0.5)))` with
 * `idf = log(r)`, `r = (N - df + 0.5) / (df + 0.5)`, and `r` replaced by `r / 2 + 1` when it
 * is below 2 (so common terms keep a small positive weight). With k1 = 1, b = 0.5,
 * `unique_query_terms = false` and `analyzer.stopwords = false` the ranking is Xapian's
 * default BM25 over an OR query.
 *
 * Defaults (k1 = 0.5, b = 0.75, each distinct query word once, Snowball's English stop
 * list, Porter2 stems), chosen on DSTC11 Track 5 (2,129 three-turn dialogue queries over
 * 10,882 FAQ and review snippets). recall@75 / precision@8 of the defaults: 0.650 / 0.104;
 * Xapian's settings: 0.405 / 0.037. Each default in turn (the others kept):
 *  - no stop list: 0.474 / 0.057. Dialogue histories are full of "would you like me to",
 *    which then dominates the OR query;
 *  - repeated query words counted again: 0.629 / 0.087 (repeats are chit-chat, not emphasis);
 *  - no stemming: 0.568 / 0.086;
 *  - k1 = 1, b = 0.5: 0.631 / 0.088. Snippets are short and repeat the entity name of their
 *    title, so a lower k1 (term frequency saturates quickly) and full length normalisation
 *    help; Anserini's k1 = 0.9, b = 0.4 gives 0.629 and the classic k1 = 1.2, b = 0.75 0.625.
 */
struct bm25_config {
    float k1 = 0.5f;                  ///< term-frequency saturation, >= 0
    float b = 0.75f;                  ///< length normalisation, in [0, 1]
    bool unique_query_terms = true;   ///< a word repeated in the query counts once
    bool dynamic_pruning = true;      ///< exact MaxScore-style pruning (same hits; see basic_bm25)
    analyzer_config analyzer{};       ///< tokenize → lower case → stop words → stem
};

/// @throws config_error when k1 < 0, b outside [0, 1], or either is not finite.
inline void validate(const bm25_config& c, const char* where = "bm25_config") {
    if (!std::isfinite(c.k1) || c.k1 < 0.0f || c.k1 > 1000.0f)
        throw config_error(std::string(where) + ": k1 out of range (got " + std::to_string(c.k1) +
                           ", expected 0 <= k1 <= 1000)");
    if (!std::isfinite(c.b) || c.b < 0.0f || c.b > 1.0f)
        throw config_error(std::string(where) + ": b out of range (got " + std::to_string(c.b) +
                           ", expected 0 <= b <= 1)");
}

inline void to_json(nlohmann::json& j, const bm25_config& c) {
    j = nlohmann::json{{"k1", c.k1},
                       {"b", c.b},
                       {"unique_query_terms", c.unique_query_terms},
                       {"dynamic_pruning", c.dynamic_pruning},
                       {"analyzer", c.analyzer}};
}

inline void from_json(const nlohmann::json& j, bm25_config& c) {
    const char* t = "bm25_config";
    detail::config_check_keys(j, t, {"k1", "b", "unique_query_terms", "dynamic_pruning", "analyzer"});
    detail::config_read_key(j, t, "k1", c.k1);
    detail::config_read_key(j, t, "b", c.b);
    detail::config_read_key(j, t, "unique_query_terms", c.unique_query_terms);
    detail::config_read_key(j, t, "dynamic_pruning", c.dynamic_pruning);
    if (j.contains("analyzer")) from_json(j.at("analyzer"), c.analyzer);
}

/// @brief Index statistics (live documents only).
struct bm25_stats {
    std::size_t documents = 0;   ///< live documents
    std::size_t terms = 0;       ///< distinct terms in at least one live document
    std::size_t postings = 0;    ///< (term, document) pairs of live documents
    double average_length = 0;   ///< mean number of indexed tokens per document
};

}  // namespace aitl
