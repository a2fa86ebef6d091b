#pragma once
/// @file learn/examples.hpp
/// @brief The compiled training data: `retrieval_example` (query, positives, hard negatives),
/// `rerank_list` (shown candidates with graded labels), `preference_pair` (chosen vs rejected
/// reply) and `kto_example` (one reply with a good/bad label). learn/compile.hpp builds them
/// from a store; python/aitl/export.py writes them in the formats trainers read.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../feedback/impression.hpp"

namespace aitl {

/**
 * @brief One query with the documents an agent judged relevant and the ones judged not.
 *
 * Built from knowledge-relevance annotations (several annotators of one impression merged by
 * weighted majority; repeated query texts merged into one example). Document ids only: texts
 * come from the knowledge base.
 *
 * @code
 * for (const auto& ex : examples)
 *     for (const auto& pos : ex.positives) train_pair(ex.query, kb.get(pos).text, ex.hard_negatives, ex.weight);
 * @endcode
 */
struct retrieval_example {
    std::string case_id;        ///< support case of the (first) impression
    std::string impression_id;  ///< the (first) impression the example comes from
    std::string query;          ///< the query the retriever ran
    std::vector<std::string> positives;       ///< shown and judged relevant, then hand-selected; no repeats
    std::vector<std::string> hard_negatives;  ///< shown and judged not relevant; never a positive
    std::vector<std::string> mined_negatives; ///< retriever hits that are no positive (mine_negatives)
    double weight = 1.0;        ///< training weight, > 0 (annotation weights, merged)
    std::int64_t timestamp_ms = 0;  ///< latest annotation that contributed (time_split key)

    /// @returns hard_negatives followed by mined_negatives.
    std::vector<std::string> negatives() const {
        std::vector<std::string> all = hard_negatives;
        all.insert(all.end(), mined_negatives.begin(), mined_negatives.end());
        return all;
    }
};

/**
 * @brief One impression's shown list with graded labels, for learning to rerank.
 *
 * `candidates[i]` is the shown candidate (rank and score of the stage that produced the shown
 * list), `labels[i]` its grade: 0 judged not relevant, 1 relevant, 2 selected by hand. Shown
 * candidates no annotator judged (or with a tied vote) are left out. A hand-selected document
 * is appended with `rank` 0 (not shown) and `score` 0. `retrieval_scores[i]` /
 * `retrieval_ranks[i]` are the retrieval stage's score and rank of the same document (0 and 0
 * when it was not in `impression::retrieved`).
 */
struct rerank_list {
    std::string case_id;
    std::string impression_id;
    std::string query;
    std::vector<std::string> context;          ///< conversation turns before the query
    std::vector<candidate> candidates;         ///< shown candidates (+ hand-selected, rank 0)
    std::vector<int> labels;                   ///< 0, 1 or 2, parallel to candidates
    std::vector<double> retrieval_scores;      ///< parallel to candidates
    std::vector<std::uint32_t> retrieval_ranks;  ///< parallel to candidates, 0 = not retrieved
    double weight = 1.0;
    std::int64_t timestamp_ms = 0;             ///< latest annotation that contributed
};

/**
 * @brief A preferred and a dispreferred reply to the same prompt (DPO / reward model data).
 *
 * `prompt` is the conversation context and the query, see `make_prompt` in learn/compile.hpp.
 * `source` is "preference" (A/B choice; weight = strength weight x annotation weight) or
 * "adoption" (chosen = the text the agent sent after editing, rejected = the suggestion).
 * `query_id` names the pair's case the way `compile_qrels` keys its judgements (the case id,
 * `+ "#" + turn` after turn 0): `reward_model::train` leaves that query's own relevance
 * judgements out of the pair's `cited_prior` feature, so a pair never sees its own labels.
 */
struct preference_pair {
    std::string impression_id;
    std::string prompt;
    std::string chosen;
    std::string rejected;
    double weight = 1.0;
    std::string source;  ///< "preference" or "adoption"
    std::int64_t timestamp_ms = 0;
    std::string query_id;  ///< relevance-feedback query id of the impression's case ("": none)
};

/// @brief One reply with a desirable (true) / undesirable (false) label (KTO data).
struct kto_example {
    std::string impression_id;
    std::string prompt;
    std::string completion;
    bool label = false;
    double weight = 1.0;
    std::string source;  ///< "preference" (both_bad) or "adoption"
    std::int64_t timestamp_ms = 0;
};

/// @brief JSON: `{"case_id", "impression_id", "query", "positives", "hard_negatives",
/// "mined_negatives", "weight", "timestamp_ms"}`.
inline void to_json(nlohmann::json& j, const retrieval_example& e) {
    j = nlohmann::json{{"case_id", e.case_id},          {"impression_id", e.impression_id},
                       {"query", e.query},              {"positives", e.positives},
                       {"hard_negatives", e.hard_negatives}, {"mined_negatives", e.mined_negatives},
                       {"weight", e.weight},            {"timestamp_ms", e.timestamp_ms}};
}

/// @brief JSON: `{"case_id", "impression_id", "query", "context", "candidates" (doc_id, rank,
/// score), "labels", "retrieval_scores", "retrieval_ranks", "weight", "timestamp_ms"}`.
inline void to_json(nlohmann::json& j, const rerank_list& l) {
    j = nlohmann::json{{"case_id", l.case_id},
                       {"impression_id", l.impression_id},
                       {"query", l.query},
                       {"context", l.context},
                       {"candidates", l.candidates},
                       {"labels", l.labels},
                       {"retrieval_scores", l.retrieval_scores},
                       {"retrieval_ranks", l.retrieval_ranks},
                       {"weight", l.weight},
                       {"timestamp_ms", l.timestamp_ms}};
}

/// @brief JSON: `{"impression_id", "prompt", "chosen", "rejected", "weight", "source", "timestamp_ms",
/// "query_id"}`.
inline void to_json(nlohmann::json& j, const preference_pair& p) {
    j = nlohmann::json{{"impression_id", p.impression_id}, {"prompt", p.prompt}, {"chosen", p.chosen},
                       {"rejected", p.rejected},           {"weight", p.weight}, {"source", p.source},
                       {"timestamp_ms", p.timestamp_ms},   {"query_id", p.query_id}};
}

/// @brief JSON: `{"impression_id", "prompt", "completion", "label", "weight", "source", "timestamp_ms"}`.
inline void to_json(nlohmann::json& j, const kto_example& k) {
    j = nlohmann::json{{"impression_id", k.impression_id}, {"prompt", k.prompt}, {"completion", k.completion},
                       {"label", k.label},                 {"weight", k.weight}, {"source", k.source},
                       {"timestamp_ms", k.timestamp_ms}};
}

}  // namespace aitl
