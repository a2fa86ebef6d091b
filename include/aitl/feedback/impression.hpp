#pragma once
/// @file feedback/impression.hpp
/// @brief `impression`: the exact context one suggestion was served with, logged when shown.
///
/// Every annotation refers to an impression, so what an agent judged can always be traced to
/// what the agent saw: the query and conversation, the candidates of each stage with ranks and
/// scores, the two replies with their on-screen positions, and the version of every model.

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/record_json.hpp"
#include "../error.hpp"

namespace aitl {

/// @brief One ranked candidate of a stage (retrieval or rerank).
struct candidate {
    std::string doc_id;   ///< knowledge-base document id, non-empty
    std::uint32_t rank = 0;  ///< 1-based position in its stage's list
    double score = 0.0;   ///< the stage's score (finite)

    friend bool operator==(const candidate& a, const candidate& b) {
        return a.doc_id == b.doc_id && a.rank == b.rank && a.score == b.score;
    }
    friend bool operator!=(const candidate& a, const candidate& b) { return !(a == b); }
};

/// @brief Where a reply was shown on the agent's screen (randomised per impression).
enum class screen_position : std::uint8_t { left, right };

/// @brief One suggested reply as shown.
struct reply {
    std::string variant;  ///< generator variant that produced it (e.g. "champion", "top3"), non-empty
    std::string text;     ///< the reply as shown, non-empty
    screen_position position = screen_position::left;

    friend bool operator==(const reply& a, const reply& b) {
        return a.variant == b.variant && a.text == b.text && a.position == b.position;
    }
    friend bool operator!=(const reply& a, const reply& b) { return !(a == b); }
};

/**
 * @brief The served context of one suggestion.
 *
 * `replies[0]` is reply "A" and `replies[1]` reply "B" (annotations name them by this slot,
 * whatever side of the screen each was on). `shown` is the reranked list the agent saw (top-8 by
 * default), `retrieved` the retrieval stage's list (top-75) it was taken from.
 *
 * @code
 * aitl::impression imp;
 * imp.case_id = "case-42"; imp.query = "how do I get a refund?"; imp.timestamp_ms = 1700000000000;
 * imp.shown = {{"faq-7", 1, 12.5}, {"faq-2", 2, 9.1}};
 * imp.replies = {{"champion", "You can ask for a refund ... [faq-7]", aitl::screen_position::right},
 *                {"challenger", "Refunds are ... [faq-2]", aitl::screen_position::left}};
 * imp.models = {{"retriever", "bm25@3"}, {"generator", "extractive@1"}};
 * @endcode
 */
struct impression {
    std::int64_t seq = 0;          ///< store order, assigned by the store (0 = not stored)
    std::string id;                ///< unique; empty → the store assigns one
    std::string case_id;           ///< the support case (conversation), non-empty
    std::uint32_t turn = 0;        ///< turn of the conversation the suggestion was for
    std::int64_t timestamp_ms = 0; ///< when it was shown, Unix milliseconds, >= 0
    std::string query;             ///< the query the retriever ran, non-empty
    std::vector<std::string> context;    ///< conversation turns before the query (may be empty)
    std::vector<candidate> retrieved;    ///< retrieval stage, ranks 1..n
    std::vector<candidate> shown;        ///< reranked list shown to the agent, ranks 1..n
    std::vector<reply> replies;          ///< 0, 1 or 2 replies; two are on different sides
    std::map<std::string, std::string> models;  ///< role ("retriever", "reranker", ...) → version id

    /// @returns The shown candidate with this doc id, or nullptr.
    const candidate* find_shown(std::string_view doc_id) const {
        for (const auto& c : shown)
            if (c.doc_id == doc_id) return &c;
        return nullptr;
    }

    friend bool operator==(const impression& a, const impression& b) {
        return a.seq == b.seq && a.id == b.id && a.case_id == b.case_id && a.turn == b.turn &&
               a.timestamp_ms == b.timestamp_ms && a.query == b.query && a.context == b.context &&
               a.retrieved == b.retrieved && a.shown == b.shown && a.replies == b.replies &&
               a.models == b.models;
    }
    friend bool operator!=(const impression& a, const impression& b) { return !(a == b); }
};

namespace detail {
template <>
struct enum_names<screen_position> {
    static constexpr const char* type = "screen position";
    static constexpr std::array<std::string_view, 2> names{"left", "right"};
};

inline void validate_stage(const std::vector<candidate>& list, const char* name) {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& c = list[i];
        std::string f = std::string(name) + "[" + std::to_string(i) + "]";
        if (c.doc_id.empty()) record_field_error("impression::validate", f + ".doc_id", "empty (expected a document id)");
        if (c.rank != i + 1)
            record_field_error("impression::validate", f + ".rank",
                               "out of order (got " + std::to_string(c.rank) + ", expected " +
                                   std::to_string(i + 1) + ": ranks are 1..n in list order)");
        if (!std::isfinite(c.score))
            record_field_error("impression::validate", f + ".score", "not finite (expected a finite number)");
        if (!seen.insert(c.doc_id).second)
            record_field_error("impression::validate", f + ".doc_id",
                               "duplicate document (got '" + c.doc_id + "' twice in " + name + ")");
    }
}
}  // namespace detail

/// @returns "left" or "right".
inline std::string_view to_string(screen_position p) { return detail::enum_to_name(p); }

/**
 * @brief Checks an impression before it is stored.
 * @throws config_error naming the field: empty case_id/query/variant/text/doc id, negative
 *         timestamp, ranks not 1..n, non-finite score, duplicate doc id in a stage, a shown
 *         document missing from a non-empty `retrieved`, more than two replies, two replies on
 *         the same side, empty model role or version.
 */
inline void validate(const impression& imp) {
    const char* w = "impression::validate";
    if (imp.case_id.empty()) detail::record_field_error(w, "case_id", "empty (expected the support case id)");
    if (imp.query.empty()) detail::record_field_error(w, "query", "empty (expected the query text)");
    if (imp.timestamp_ms < 0)
        detail::record_field_error(w, "timestamp_ms", "negative (got " + std::to_string(imp.timestamp_ms) +
                                                          ", expected Unix milliseconds >= 0)");
    detail::validate_stage(imp.retrieved, "retrieved");
    detail::validate_stage(imp.shown, "shown");
    if (!imp.retrieved.empty()) {
        std::set<std::string_view> ret;
        for (const auto& c : imp.retrieved) ret.insert(c.doc_id);
        for (std::size_t i = 0; i < imp.shown.size(); ++i)
            if (!ret.count(imp.shown[i].doc_id))
                detail::record_field_error(w, "shown[" + std::to_string(i) + "].doc_id",
                                           "not among the retrieved candidates (got '" + imp.shown[i].doc_id +
                                               "', expected one of the " + std::to_string(imp.retrieved.size()) +
                                               " retrieved doc ids)");
    }
    if (imp.replies.size() > 2)
        detail::record_field_error(w, "replies", "too many (got " + std::to_string(imp.replies.size()) +
                                                     ", expected at most 2)");
    for (std::size_t i = 0; i < imp.replies.size(); ++i) {
        std::string f = "replies[" + std::to_string(i) + "]";
        if (imp.replies[i].variant.empty()) detail::record_field_error(w, f + ".variant", "empty (expected the generator variant)");
        if (imp.replies[i].text.empty()) detail::record_field_error(w, f + ".text", "empty (expected the reply text)");
        if (static_cast<std::size_t>(imp.replies[i].position) > 1)
            detail::record_field_error(w, f + ".position", "invalid (expected left or right)");
    }
    if (imp.replies.size() == 2 && imp.replies[0].position == imp.replies[1].position)
        detail::record_field_error(w, "replies[1].position",
                                   std::string("same side as reply A (got ") +
                                       std::string(to_string(imp.replies[1].position)) +
                                       " twice, expected one left and one right)");
    for (const auto& [role, version] : imp.models) {
        if (role.empty()) detail::record_field_error(w, "models", "empty role (expected e.g. \"retriever\")");
        if (version.empty()) detail::record_field_error(w, "models." + role, "empty version (expected a version id)");
    }
}

inline void to_json(nlohmann::json& j, const candidate& c) {
    j = nlohmann::json{{"doc_id", c.doc_id}, {"rank", c.rank}, {"score", c.score}};
}

inline void to_json(nlohmann::json& j, const reply& r) {
    j = nlohmann::json{{"variant", r.variant}, {"position", to_string(r.position)}, {"text", r.text}};
}

/// @brief The JSON form: `{"type": "impression", "seq", "id", "case_id", "turn", "timestamp_ms",
/// "query", "context", "retrieved", "shown", "replies", "models"}`.
inline void to_json(nlohmann::json& j, const impression& imp) {
    j = nlohmann::json{{"type", "impression"},
                       {"seq", imp.seq},
                       {"id", imp.id},
                       {"case_id", imp.case_id},
                       {"turn", imp.turn},
                       {"timestamp_ms", imp.timestamp_ms},
                       {"query", imp.query},
                       {"context", imp.context},
                       {"retrieved", imp.retrieved},
                       {"shown", imp.shown},
                       {"replies", imp.replies},
                       {"models", imp.models}};
}

namespace detail {
inline std::vector<candidate> read_candidates(const nlohmann::json& j, const char* key) {
    std::vector<candidate> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    const char* w = "impression::from_json";
    if (!it->is_array())
        record_field_error(w, key, std::string("wrong type (got ") + it->type_name() + ", expected array)");
    for (std::size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        std::string p = std::string(key) + "[" + std::to_string(i) + "]";
        record_check_object(e, w, p);
        record_check_keys(e, w, p, {"doc_id", "rank", "score"});
        candidate c;
        record_read(e, w, p, "doc_id", c.doc_id, true);
        record_read(e, w, p, "rank", c.rank, true);
        record_read(e, w, p, "score", c.score, true);
        out.push_back(std::move(c));
    }
    return out;
}
}  // namespace detail

/// @brief Reads the JSON form; optional keys: seq, id, turn, context, retrieved, shown, replies, models.
/// @throws config_error naming the field on a wrong type, a missing required key or an unknown key.
inline void from_json(const nlohmann::json& j, impression& imp) {
    const char* w = "impression::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"type", "seq", "id", "case_id", "turn", "timestamp_ms", "query",
                                         "context", "retrieved", "shown", "replies", "models"});
    if (j.contains("type") && j.at("type") != "impression")
        detail::record_field_error(w, "type", "wrong record type (got " + j.at("type").dump() +
                                                  ", expected \"impression\")");
    impression out;
    detail::record_read(j, w, "", "seq", out.seq, false);
    detail::record_read(j, w, "", "id", out.id, false);
    detail::record_read(j, w, "", "case_id", out.case_id, true);
    detail::record_read(j, w, "", "turn", out.turn, false);
    detail::record_read(j, w, "", "timestamp_ms", out.timestamp_ms, true);
    detail::record_read(j, w, "", "query", out.query, true);
    if (auto it = j.find("context"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) detail::record_field_error(w, "context", std::string("wrong type (got ") + it->type_name() + ", expected array of strings)");
        for (std::size_t i = 0; i < it->size(); ++i) {
            if (!(*it)[i].is_string())
                detail::record_field_error(w, "context[" + std::to_string(i) + "]",
                                           std::string("wrong type (got ") + (*it)[i].type_name() + ", expected string)");
            out.context.push_back((*it)[i].get<std::string>());
        }
    }
    out.retrieved = detail::read_candidates(j, "retrieved");
    out.shown = detail::read_candidates(j, "shown");
    if (auto it = j.find("replies"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) detail::record_field_error(w, "replies", std::string("wrong type (got ") + it->type_name() + ", expected array)");
        for (std::size_t i = 0; i < it->size(); ++i) {
            const auto& e = (*it)[i];
            std::string p = "replies[" + std::to_string(i) + "]";
            detail::record_check_object(e, w, p);
            detail::record_check_keys(e, w, p, {"variant", "position", "text"});
            reply r;
            detail::record_read(e, w, p, "variant", r.variant, true);
            detail::record_read(e, w, p, "text", r.text, true);
            detail::record_read_enum(e, w, p, "position", r.position, true);
            out.replies.push_back(std::move(r));
        }
    }
    if (auto it = j.find("models"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) detail::record_field_error(w, "models", std::string("wrong type (got ") + it->type_name() + ", expected object of role: version)");
        for (auto m = it->begin(); m != it->end(); ++m) {
            if (!m->is_string())
                detail::record_field_error(w, "models." + m.key(), std::string("wrong type (got ") + m->type_name() + ", expected string)");
            out.models[m.key()] = m->get<std::string>();
        }
    }
    imp = std::move(out);
}

}  // namespace aitl
