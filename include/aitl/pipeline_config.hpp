#pragma once
/// @file pipeline_config.hpp
/// @brief Settings of the pipeline (`pipeline_config`) and its input (`support_case`).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detail/config_json.hpp"
#include "error.hpp"

namespace aitl {

/**
 * @brief Settings of `basic_pipeline`.
 *
 * JSON form: `{"k": 75, "n": 8, "champion_variant": "top", "challenger_variant": "coverage",
 * "seed": 0, "randomise_positions": true, "models": {"retriever": "bm25@1", ...}}` (every key
 * optional).
 *
 * @code
 * aitl::pipeline_config cfg;
 * cfg.models = {{"retriever", "bm25@1"}, {"reranker", "trees@3"}, {"generator", "extractive@1"}};
 * cfg.seed = 7;
 * @endcode
 */
struct pipeline_config {
    std::size_t k = 75;                        ///< candidates retrieved (logged as `retrieved`), >= 1
    std::size_t n = 8;                         ///< candidates shown after reranking, 1..k
    std::string champion_variant = "top";      ///< generator variant of reply A, non-empty
    std::string challenger_variant = "coverage";  ///< generator variant of reply B, non-empty, != champion
    std::uint64_t seed = 0;                    ///< impression ids and screen positions
    bool randomise_positions = true;           ///< false: reply A always left
    std::map<std::string, std::string> models; ///< role → version id, copied into every impression

    friend bool operator==(const pipeline_config& a, const pipeline_config& b) {
        return a.k == b.k && a.n == b.n && a.champion_variant == b.champion_variant &&
               a.challenger_variant == b.challenger_variant && a.seed == b.seed &&
               a.randomise_positions == b.randomise_positions && a.models == b.models;
    }
    friend bool operator!=(const pipeline_config& a, const pipeline_config& b) { return !(a == b); }
};

/**
 * @brief Checks the settings.
 * @throws config_error naming the field: k == 0, n == 0 or n > k, an empty variant, champion and
 *         challenger variants equal, an empty model role or version.
 */
inline void validate(const pipeline_config& c, const char* where = "pipeline_config::validate") {
    const std::string w(where);
    if (c.k == 0) throw config_error(w + ": k out of range (got 0, expected >= 1)");
    if (c.n == 0 || c.n > c.k)
        throw config_error(w + ": n out of range (got " + std::to_string(c.n) + ", expected 1.." + std::to_string(c.k) +
                           " (k))");
    if (c.champion_variant.empty()) throw config_error(w + ": champion_variant empty (expected a generator variant)");
    if (c.challenger_variant.empty())
        throw config_error(w + ": challenger_variant empty (expected a generator variant)");
    if (c.champion_variant == c.challenger_variant)
        throw config_error(w + ": challenger_variant equals champion_variant (got '" + c.challenger_variant +
                           "' twice, expected two different variants)");
    for (const auto& [role, version] : c.models) {
        if (role.empty()) throw config_error(w + ": models has an empty role (expected e.g. \"retriever\")");
        if (version.empty())
            throw config_error(w + ": models." + role + " empty version (expected a version id such as \"bm25@1\")");
    }
}

inline void to_json(nlohmann::json& j, const pipeline_config& c) {
    j = nlohmann::json{{"k", c.k},
                       {"n", c.n},
                       {"champion_variant", c.champion_variant},
                       {"challenger_variant", c.challenger_variant},
                       {"seed", c.seed},
                       {"randomise_positions", c.randomise_positions},
                       {"models", c.models}};
}

/// @brief Reads the JSON form (missing keys keep their defaults; not validated here).
/// @throws config_error on an unknown key or a wrong type.
inline void from_json(const nlohmann::json& j, pipeline_config& c) {
    const char* t = "pipeline_config";
    detail::config_check_keys(j, t, {"k", "n", "champion_variant", "challenger_variant", "seed",
                                     "randomise_positions", "models"});
    detail::config_read_key(j, t, "k", c.k);
    detail::config_read_key(j, t, "n", c.n);
    detail::config_read_key(j, t, "champion_variant", c.champion_variant);
    detail::config_read_key(j, t, "challenger_variant", c.challenger_variant);
    detail::config_read_key(j, t, "seed", c.seed);
    detail::config_read_key(j, t, "randomise_positions", c.randomise_positions);
    detail::config_read_key(j, t, "models", c.models);
}

/**
 * @brief One request for a suggestion: the support case and the turn the agent is on.
 *
 * JSON form: `{"case_id", "query", "context": [..], "turn": 0, "timestamp_ms": 0,
 * "impression_id": ""}` (case_id and query required).
 *
 * @code
 * aitl::support_case c{"case-42", "my card was declined", {"Hi, I tried to pay twice"}, 1};
 * @endcode
 */
struct support_case {
    support_case() = default;
    /// @brief A case from its fields (so `{"case-1", "refund?"}` names the two that matter).
    support_case(std::string case_id_, std::string query_, std::vector<std::string> context_ = {},
                 std::uint32_t turn_ = 0, std::int64_t timestamp_ms_ = 0, std::string impression_id_ = {})
        : case_id(std::move(case_id_)),
          query(std::move(query_)),
          context(std::move(context_)),
          turn(turn_),
          timestamp_ms(timestamp_ms_),
          impression_id(std::move(impression_id_)) {}

    std::string case_id;               ///< the conversation, non-empty
    std::string query;                 ///< what the retriever runs, non-empty
    std::vector<std::string> context;  ///< conversation turns before the query (logged)
    std::uint32_t turn = 0;            ///< turn of the conversation
    std::int64_t timestamp_ms = 0;     ///< when shown, Unix ms; 0 = now; >= 0
    std::string impression_id;         ///< empty: the pipeline derives one (see basic_pipeline)
};

/// @throws config_error naming the field: empty case_id or query, negative timestamp_ms.
inline void validate(const support_case& c, const char* where = "support_case::validate") {
    const std::string w(where);
    if (c.case_id.empty()) throw config_error(w + ": case_id empty (expected the support case id)");
    if (c.query.empty()) throw config_error(w + ": query empty (expected the customer's question)");
    if (c.timestamp_ms < 0)
        throw config_error(w + ": timestamp_ms negative (got " + std::to_string(c.timestamp_ms) +
                           ", expected Unix milliseconds >= 0, or 0 for now)");
}

inline void to_json(nlohmann::json& j, const support_case& c) {
    j = nlohmann::json{{"case_id", c.case_id},   {"query", c.query},
                       {"context", c.context},   {"turn", c.turn},
                       {"timestamp_ms", c.timestamp_ms}, {"impression_id", c.impression_id}};
}

/// @throws config_error on an unknown key, a wrong type, or a missing case_id or query.
inline void from_json(const nlohmann::json& j, support_case& c) {
    const char* t = "support_case";
    detail::config_check_keys(j, t, {"case_id", "query", "context", "turn", "timestamp_ms", "impression_id"});
    for (const char* key : {"case_id", "query"})
        if (!j.contains(key))
            throw config_error(std::string(t) + "::from_json: missing key '" + key + "' (expected a string)");
    support_case out;
    detail::config_read_key(j, t, "case_id", out.case_id);
    detail::config_read_key(j, t, "query", out.query);
    detail::config_read_key(j, t, "context", out.context);
    detail::config_read_key(j, t, "turn", out.turn);
    detail::config_read_key(j, t, "timestamp_ms", out.timestamp_ms);
    detail::config_read_key(j, t, "impression_id", out.impression_id);
    c = std::move(out);
}

}  // namespace aitl
