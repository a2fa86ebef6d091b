#pragma once
/// @file generate/extractive_config.hpp
/// @brief Settings of the `extractive_generator`: its named variants and the sentence scoring.

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../text/analyzer.hpp"

namespace aitl {

/// @brief How an extractive variant picks its sentences.
enum class selection_strategy {
    relevance,  ///< the highest-scored sentences (near-duplicates skipped)
    mmr         ///< maximal marginal relevance: score minus redundancy with those already picked
};

/// @returns "relevance" or "mmr".
inline const char* to_string(selection_strategy s) noexcept { return s == selection_strategy::mmr ? "mmr" : "relevance"; }

/// @throws config_error for a name other than "relevance" or "mmr".
inline selection_strategy selection_strategy_from_string(std::string_view s) {
    if (s == "relevance") return selection_strategy::relevance;
    if (s == "mmr") return selection_strategy::mmr;
    throw config_error("selection_strategy: unknown strategy (got '" + std::string(s) + "', expected relevance or mmr)");
}

/**
 * @brief One named way of composing a reply (the generator's `variant` argument picks one).
 *
 * JSON form: `{"name": "top", "references": 2, "strategy": "relevance", "max_sentences": 2,
 * "max_words": 60, "rank_prior": 0.6, "redundancy": 0.5, "min_relevance": 0.3,
 * "new_reference_relevance": 0.9}` (all but `name` optional).
 */
struct extractive_variant {
    std::string name;                                         ///< non-empty, unique in the config
    std::size_t references = 2;                               ///< the first n references are read, >= 1
    selection_strategy strategy = selection_strategy::relevance;  ///< how sentences are picked
    std::size_t max_sentences = 2;                            ///< sentences in the reply at most, >= 1
    std::size_t max_words = 60;                               ///< words in the reply at most, >= 1
    double rank_prior = 0.6;   ///< weight of 1 / rank of a sentence's reference, added to its relevance, finite, >= 0
    double redundancy = 0.5;   ///< MMR trade-off λ: (1 − λ)·score − λ·similarity to a picked sentence, [0, 1]
    double min_relevance = 0.3;  ///< a sentence is picked only when its query relevance is at least this
                                 ///< share of the best sentence's (the first pick excepted), [0, 1]
    double new_reference_relevance = 0.9;  ///< the same for a sentence of a reference not cited yet (each
                                           ///< further citation must be well supported), [0, 1]

    friend bool operator==(const extractive_variant& a, const extractive_variant& b) {
        return a.name == b.name && a.references == b.references && a.strategy == b.strategy &&
               a.max_sentences == b.max_sentences && a.max_words == b.max_words && a.rank_prior == b.rank_prior &&
               a.redundancy == b.redundancy && a.min_relevance == b.min_relevance &&
               a.new_reference_relevance == b.new_reference_relevance;
    }
    friend bool operator!=(const extractive_variant& a, const extractive_variant& b) { return !(a == b); }
};

/// @returns The shipped variants: "top" (sentences from the first 2 references, by relevance)
/// and "coverage" (the first 4 references, MMR).
inline std::vector<extractive_variant> default_extractive_variants() {
    extractive_variant top{"top"};
    extractive_variant coverage{"coverage", 4, selection_strategy::mmr, 4, 100, 0.3, 0.5, 0.2, 0.4};
    return {top, coverage};
}

/**
 * @brief Settings of an `extractive_generator`.
 *
 * JSON form: `{"variants": [{"name": "top", ...}, ...], "context_weight": 0.3,
 * "title_weight": 1, "question_penalty": 0.5, "k1": 1.2, "b": 0.75, "max_sentences_per_reference": 64,
 * "fallback": "...", "analyzer": {...}}` (every key optional; `variants` replaces the default
 * list as a whole).
 */
struct extractive_config {
    std::vector<extractive_variant> variants = default_extractive_variants();  ///< non-empty, in `variants()` order
    double context_weight = 0.3;    ///< weight of query terms only found in the lines before the last (the
                                    ///< conversation; the last line is the question), [0, 1]
    double title_weight = 1.0;      ///< weight of the query terms found in a sentence's reference title (e.g. the
                                    ///< entity a review is about), added to the sentence's relevance, finite, >= 0
    double question_penalty = 0.5;  ///< score share taken from sentences ending in '?' (e.g. an FAQ's question), [0, 1]
    double k1 = 1.2;                ///< BM25 term-frequency saturation over sentences, finite, >= 0
    double b = 0.75;                ///< BM25 length normalisation over sentences, [0, 1]
    std::size_t max_sentences_per_reference = 64;  ///< long texts: only their first n sentences compete, >= 1
    std::string fallback = "Sorry, I could not find a reference that answers this question.";  ///< the reply
                                    ///< when there is nothing to quote (no references), non-empty
    analyzer_config analyzer;       ///< how query and sentences become terms (stems, no stop words)
};

/// @throws config_error naming the setting and its range.
inline void validate(const extractive_config& c, const char* where = "extractive_config") {
    auto bad = [&](const std::string& what, double got, const char* expected) {
        throw config_error(std::string(where) + ": " + what + " out of range (got " + std::to_string(got) +
                           ", expected " + expected + ")");
    };
    if (c.variants.empty()) throw config_error(std::string(where) + ": no variants (got 0, expected at least 1)");
    for (std::size_t i = 0; i < c.variants.size(); ++i) {
        const auto& v = c.variants[i];
        const std::string p = "variants[" + std::to_string(i) + "].";
        if (v.name.empty())
            throw config_error(std::string(where) + ": " + p + "name is empty (got '', expected a name such as 'top')");
        for (std::size_t j = 0; j < i; ++j)
            if (c.variants[j].name == v.name)
                throw config_error(std::string(where) + ": duplicate variant name (got '" + v.name + "' at " +
                                   std::to_string(j) + " and " + std::to_string(i) + ", expected unique names)");
        if (v.references < 1) bad(p + "references", 0, ">= 1");
        if (v.max_sentences < 1) bad(p + "max_sentences", 0, ">= 1");
        if (v.max_words < 1) bad(p + "max_words", 0, ">= 1");
        if (!std::isfinite(v.rank_prior) || v.rank_prior < 0) bad(p + "rank_prior", v.rank_prior, "finite, >= 0");
        if (!(v.redundancy >= 0 && v.redundancy <= 1)) bad(p + "redundancy", v.redundancy, "0 <= redundancy <= 1");
        if (!(v.min_relevance >= 0 && v.min_relevance <= 1))
            bad(p + "min_relevance", v.min_relevance, "0 <= min_relevance <= 1");
        if (!(v.new_reference_relevance >= 0 && v.new_reference_relevance <= 1))
            bad(p + "new_reference_relevance", v.new_reference_relevance, "0 <= new_reference_relevance <= 1");
    }
    if (!(c.context_weight >= 0 && c.context_weight <= 1)) bad("context_weight", c.context_weight, "0 <= context_weight <= 1");
    if (!(c.question_penalty >= 0 && c.question_penalty <= 1))
        bad("question_penalty", c.question_penalty, "0 <= question_penalty <= 1");
    if (!std::isfinite(c.title_weight) || c.title_weight < 0) bad("title_weight", c.title_weight, "finite, >= 0");
    if (!std::isfinite(c.k1) || c.k1 < 0) bad("k1", c.k1, "finite, >= 0");
    if (!(c.b >= 0 && c.b <= 1)) bad("b", c.b, "0 <= b <= 1");
    if (c.max_sentences_per_reference < 1) bad("max_sentences_per_reference", 0, ">= 1");
    if (c.fallback.find_first_not_of(" \t\r\n") == std::string::npos)
        throw config_error(std::string(where) + ": fallback is empty (got '" + c.fallback + "', expected a reply text)");
    if (c.analyzer.stopwords && c.analyzer.language != "english")
        throw config_error(std::string(where) + ": analyzer stop words are only shipped for English (got language '" +
                           c.analyzer.language + "', expected 'english')");
}

inline void to_json(nlohmann::json& j, const extractive_variant& v) {
    j = nlohmann::json{{"name", v.name},
                       {"references", v.references},
                       {"strategy", to_string(v.strategy)},
                       {"max_sentences", v.max_sentences},
                       {"max_words", v.max_words},
                       {"rank_prior", v.rank_prior},
                       {"redundancy", v.redundancy},
                       {"min_relevance", v.min_relevance},
                       {"new_reference_relevance", v.new_reference_relevance}};
}

/// @throws config_error on unknown keys, wrong types or an unknown strategy (range checks are
/// `validate`'s, run by the config's from_json).
inline void from_json(const nlohmann::json& j, extractive_variant& v) {
    const char* t = "extractive_variant";
    detail::config_check_keys(j, t, {"name", "references", "strategy", "max_sentences", "max_words", "rank_prior",
                                     "redundancy", "min_relevance", "new_reference_relevance"});
    detail::config_read_key(j, t, "name", v.name);
    detail::config_read_key(j, t, "references", v.references);
    std::string strategy = to_string(v.strategy);
    detail::config_read_key(j, t, "strategy", strategy);
    v.strategy = selection_strategy_from_string(strategy);
    detail::config_read_key(j, t, "max_sentences", v.max_sentences);
    detail::config_read_key(j, t, "max_words", v.max_words);
    detail::config_read_key(j, t, "rank_prior", v.rank_prior);
    detail::config_read_key(j, t, "redundancy", v.redundancy);
    detail::config_read_key(j, t, "min_relevance", v.min_relevance);
    detail::config_read_key(j, t, "new_reference_relevance", v.new_reference_relevance);
}

inline void to_json(nlohmann::json& j, const extractive_config& c) {
    j = nlohmann::json{{"variants", c.variants},
                       {"context_weight", c.context_weight},
                       {"title_weight", c.title_weight},
                       {"question_penalty", c.question_penalty},
                       {"k1", c.k1},
                       {"b", c.b},
                       {"max_sentences_per_reference", c.max_sentences_per_reference},
                       {"fallback", c.fallback},
                       {"analyzer", c.analyzer}};
}

/// @throws config_error on unknown keys or wrong types (missing keys keep their defaults), and
/// for values out of range.
inline void from_json(const nlohmann::json& j, extractive_config& c) {
    const char* t = "extractive_config";
    detail::config_check_keys(j, t, {"variants", "context_weight", "title_weight", "question_penalty", "k1", "b",
                                     "max_sentences_per_reference", "fallback", "analyzer"});
    if (auto it = j.find("variants"); it != j.end()) {
        if (!it->is_array())
            throw config_error(std::string(t) + "::from_json: wrong type for 'variants' (got " + it->type_name() +
                               ", expected array)");
        std::vector<extractive_variant> vs;
        for (const auto& e : *it) {
            extractive_variant v;
            from_json(e, v);
            vs.push_back(std::move(v));
        }
        c.variants = std::move(vs);
    }
    detail::config_read_key(j, t, "context_weight", c.context_weight);
    detail::config_read_key(j, t, "title_weight", c.title_weight);
    detail::config_read_key(j, t, "question_penalty", c.question_penalty);
    detail::config_read_key(j, t, "k1", c.k1);
    detail::config_read_key(j, t, "b", c.b);
    detail::config_read_key(j, t, "max_sentences_per_reference", c.max_sentences_per_reference);
    detail::config_read_key(j, t, "fallback", c.fallback);
    if (auto it = j.find("analyzer"); it != j.end()) from_json(*it, c.analyzer);
    validate(c, "extractive_config::from_json");
}

}  // namespace aitl
