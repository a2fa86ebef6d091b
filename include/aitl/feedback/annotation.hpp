#pragma once
/// @file feedback/annotation.hpp
/// @brief The four agent annotations (preference, adoption, knowledge relevance, missing
/// knowledge), each tied to an impression, and their validation.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/record_json.hpp"
#include "../error.hpp"
#include "impression.hpp"

namespace aitl {

/// @brief Which reply the agent preferred: slot A (`replies[0]`), slot B, equal, or neither usable.
enum class preference_choice : std::uint8_t { a, b, tie, both_bad };
/// @brief How strongly (ignored for tie and both_bad, but stored).
enum class preference_strength : std::uint8_t { slight, clear, strong };
/// @brief What the agent did with the suggestion.
enum class adoption_outcome : std::uint8_t { used_as_is, used_with_edits, not_used };
/**
 * @brief Why a suggestion was edited or not used (the fixed list agents pick from).
 *
 * | reason | meaning |
 * |---|---|
 * | wrong_policy | states a policy that does not apply or is wrong |
 * | missing_information | leaves out what the customer needs |
 * | not_applicable | answers a different question than the case |
 * | tone | wording or tone not right for the customer |
 * | too_long | longer than needed |
 * | hallucinated_detail | states something no reference supports |
 * | wrong_reference | cites a reference that does not back it |
 * | other | see the free-text rationale |
 */
enum class adoption_reason : std::uint8_t {
    wrong_policy,
    missing_information,
    not_applicable,
    tone,
    too_long,
    hallucinated_detail,
    wrong_reference,
    other
};
/// @brief The four annotation types.
enum class annotation_kind : std::uint8_t { preference, adoption, knowledge_relevance, missing_knowledge };

namespace detail {
template <>
struct enum_names<preference_choice> {
    static constexpr const char* type = "preference choice";
    static constexpr std::array<std::string_view, 4> names{"a", "b", "tie", "both_bad"};
};
template <>
struct enum_names<preference_strength> {
    static constexpr const char* type = "preference strength";
    static constexpr std::array<std::string_view, 3> names{"slight", "clear", "strong"};
};
template <>
struct enum_names<adoption_outcome> {
    static constexpr const char* type = "adoption outcome";
    static constexpr std::array<std::string_view, 3> names{"used_as_is", "used_with_edits", "not_used"};
};
template <>
struct enum_names<adoption_reason> {
    static constexpr const char* type = "adoption reason";
    static constexpr std::array<std::string_view, 8> names{
        "wrong_policy", "missing_information", "not_applicable", "tone",
        "too_long",     "hallucinated_detail", "wrong_reference", "other"};
};
template <>
struct enum_names<annotation_kind> {
    static constexpr const char* type = "annotation type";
    static constexpr std::array<std::string_view, 4> names{"preference", "adoption", "knowledge_relevance",
                                                           "missing_knowledge"};
};
}  // namespace detail

inline std::string_view to_string(preference_choice e) { return detail::enum_to_name(e); }
inline std::string_view to_string(preference_strength e) { return detail::enum_to_name(e); }
inline std::string_view to_string(adoption_outcome e) { return detail::enum_to_name(e); }
inline std::string_view to_string(adoption_reason e) { return detail::enum_to_name(e); }
inline std::string_view to_string(annotation_kind e) { return detail::enum_to_name(e); }

/// @brief Parses an enum from its name. @throws config_error naming `field` and the valid names.
template <class E>
E parse_enum(std::string_view name, std::string_view field = "value") {
    return detail::enum_from_name<E>(name, "aitl::parse_enum", field);
}

/// @brief Pairwise preference between reply A and reply B.
struct preference {
    preference_choice choice = preference_choice::tie;
    preference_strength strength = preference_strength::slight;
    std::string rationale;  ///< optional free text

    friend bool operator==(const preference& a, const preference& b) {
        return a.choice == b.choice && a.strength == b.strength && a.rationale == b.rationale;
    }
};

/// @brief Whether the agent used a suggestion, and the text actually sent.
struct adoption {
    adoption_outcome outcome = adoption_outcome::not_used;
    std::uint32_t reply = 0;           ///< slot used (0 = A, 1 = B); for not_used, the slot judged
    std::string final_text;            ///< the text sent; required for used_with_edits
    /// From the fixed list, no repeats. A set: compared without regard to order, and the store
    /// returns it in the list's order.
    std::vector<adoption_reason> reasons;
    std::string rationale;             ///< optional free text

    friend bool operator==(const adoption& a, const adoption& b) {
        auto sorted = [](std::vector<adoption_reason> v) {
            std::sort(v.begin(), v.end());
            return v;
        };
        return a.outcome == b.outcome && a.reply == b.reply && a.final_text == b.final_text &&
               sorted(a.reasons) == sorted(b.reasons) && a.rationale == b.rationale;
    }
};

/// @brief The agent's judgement of one shown reference.
struct relevance_label {
    std::string doc_id;
    bool relevant = false;

    friend bool operator==(const relevance_label& a, const relevance_label& b) {
        return a.doc_id == b.doc_id && a.relevant == b.relevant;
    }
};

/// @brief Relevance of shown references, plus references the agent found by hand in the KB.
struct knowledge_relevance {
    std::vector<relevance_label> labels;  ///< each a shown doc id, at most once
    std::vector<std::string> selected;    ///< relevant doc ids picked by hand, none of them shown

    friend bool operator==(const knowledge_relevance& a, const knowledge_relevance& b) {
        return a.labels == b.labels && a.selected == b.selected;
    }
};

/// @brief "The knowledge base lacks what this case needs."
struct missing_knowledge {
    std::string description;       ///< what is missing, non-empty
    std::string suggested_source;  ///< optional: where the knowledge could come from

    friend bool operator==(const missing_knowledge& a, const missing_knowledge& b) {
        return a.description == b.description && a.suggested_source == b.suggested_source;
    }
};

/// @brief The body of an annotation: one of the four types (index = `annotation_kind`).
using annotation_body = std::variant<preference, adoption, knowledge_relevance, missing_knowledge>;

/**
 * @brief One agent annotation of one impression.
 *
 * @code
 * aitl::annotation a;
 * a.impression_id = imp_id; a.annotator = "agent-07"; a.timestamp_ms = 1700000004200;
 * a.time_to_annotate_ms = 4200;
 * a.body = aitl::preference{aitl::preference_choice::b, aitl::preference_strength::clear, "cites the policy"};
 * @endcode
 */
struct annotation {
    std::int64_t seq = 0;                 ///< store order, assigned by the store (0 = not stored)
    std::string id;                       ///< unique; empty → the store assigns one
    std::string impression_id;            ///< the impression judged, non-empty and stored
    std::string annotator;                ///< agent id, non-empty
    std::int64_t timestamp_ms = 0;        ///< when it was made, Unix milliseconds, >= 0
    std::int64_t time_to_annotate_ms = 0; ///< time the agent spent, >= 0
    double weight = 1.0;                  ///< quality weight for training, finite, >= 0
    annotation_body body;

    annotation_kind kind() const noexcept { return static_cast<annotation_kind>(body.index()); }

    friend bool operator==(const annotation& a, const annotation& b) {
        return a.seq == b.seq && a.id == b.id && a.impression_id == b.impression_id &&
               a.annotator == b.annotator && a.timestamp_ms == b.timestamp_ms &&
               a.time_to_annotate_ms == b.time_to_annotate_ms && a.weight == b.weight && a.body == b.body;
    }
    friend bool operator!=(const annotation& a, const annotation& b) { return !(a == b); }
};

namespace detail {
// Strings seen so far, for the duplicate checks of validate(): a linear scan while there are
// few of them (no allocation), a set beyond.
class seen_set {
public:
    // false when `v` was already inserted
    bool insert(std::string_view v) {
        if (n_ < few_.size()) {
            if (contains(v)) return false;
            few_[n_++] = v;
            return true;
        }
        if (many_.empty()) many_.insert(few_.begin(), few_.end());
        return many_.insert(v).second;
    }
    bool contains(std::string_view v) const {
        if (!many_.empty()) return many_.count(v) > 0;
        return std::find(few_.begin(), few_.begin() + static_cast<std::ptrdiff_t>(n_), v) !=
               few_.begin() + static_cast<std::ptrdiff_t>(n_);
    }

private:
    std::array<std::string_view, 16> few_{};
    std::size_t n_ = 0;
    std::set<std::string_view> many_;
};
}  // namespace detail

/**
 * @brief Checks the fields of an annotation on their own (no impression needed).
 * @throws config_error naming the field: empty impression_id/annotator, negative times, weight
 *         not finite or negative, adoption slot > 1, used_with_edits without final_text,
 *         repeated reasons, relevance with no label and no selection, empty or repeated doc ids,
 *         a hand-selected doc also labelled, empty missing-knowledge description.
 */
inline void validate(const annotation& a) {
    const char* w = "annotation::validate";
    using detail::record_field_error;
    if (a.impression_id.empty()) record_field_error(w, "impression_id", "empty (expected the id of a stored impression)");
    if (a.annotator.empty()) record_field_error(w, "annotator", "empty (expected the agent's id)");
    if (a.timestamp_ms < 0)
        record_field_error(w, "timestamp_ms", "negative (got " + std::to_string(a.timestamp_ms) + ", expected >= 0)");
    if (a.time_to_annotate_ms < 0)
        record_field_error(w, "time_to_annotate_ms",
                           "negative (got " + std::to_string(a.time_to_annotate_ms) + ", expected >= 0)");
    if (!std::isfinite(a.weight) || a.weight < 0)
        record_field_error(w, "weight", "out of range (got " + std::to_string(a.weight) + ", expected finite >= 0)");
    if (a.body.valueless_by_exception()) record_field_error(w, "type", "no annotation body");
    if (const auto* p = std::get_if<preference>(&a.body)) {
        if (static_cast<std::size_t>(p->choice) > 3) record_field_error(w, "choice", "invalid enum value");
        if (static_cast<std::size_t>(p->strength) > 2) record_field_error(w, "strength", "invalid enum value");
    } else if (const auto* d = std::get_if<adoption>(&a.body)) {
        if (static_cast<std::size_t>(d->outcome) > 2) record_field_error(w, "outcome", "invalid enum value");
        if (d->reply > 1)
            record_field_error(w, "reply", "out of range (got " + std::to_string(d->reply) + ", expected 0 for A or 1 for B)");
        if (d->outcome == adoption_outcome::used_with_edits && d->final_text.empty())
            record_field_error(w, "final_text", "empty for used_with_edits (expected the text the agent sent)");
        unsigned seen = 0;  // bit r: reason r occurred
        for (std::size_t i = 0; i < d->reasons.size(); ++i) {
            const auto r = static_cast<std::size_t>(d->reasons[i]);
            if (r > 7) record_field_error(w, "reasons[" + std::to_string(i) + "]", "invalid enum value");
            if (seen & (1u << r))
                record_field_error(w, "reasons[" + std::to_string(i) + "]",
                                   "repeated (got '" + std::string(to_string(d->reasons[i])) + "' twice)");
            seen |= 1u << r;
        }
    } else if (const auto* r = std::get_if<knowledge_relevance>(&a.body)) {
        if (r->labels.empty() && r->selected.empty())
            record_field_error(w, "labels", "empty (expected at least one label or one selected reference)");
        auto label_field = [](std::size_t i) { return "labels[" + std::to_string(i) + "].doc_id"; };
        auto selected_field = [](std::size_t i) { return "selected[" + std::to_string(i) + "]"; };
        detail::seen_set labelled;
        for (std::size_t i = 0; i < r->labels.size(); ++i) {
            if (r->labels[i].doc_id.empty()) record_field_error(w, label_field(i), "empty (expected a shown doc id)");
            if (!labelled.insert(r->labels[i].doc_id))
                record_field_error(w, label_field(i), "labelled twice (got '" + r->labels[i].doc_id + "')");
        }
        detail::seen_set sel;
        for (std::size_t i = 0; i < r->selected.size(); ++i) {
            if (r->selected[i].empty()) record_field_error(w, selected_field(i), "empty (expected a document id)");
            if (labelled.contains(r->selected[i]))
                record_field_error(w, selected_field(i), "also labelled (got '" + r->selected[i] +
                                                             "', expected a reference that was not shown)");
            if (!sel.insert(r->selected[i]))
                record_field_error(w, selected_field(i), "selected twice (got '" + r->selected[i] + "')");
        }
    } else if (const auto* m = std::get_if<missing_knowledge>(&a.body)) {
        if (m->description.empty())
            record_field_error(w, "description", "empty (expected what the knowledge base lacks)");
    }
}

namespace detail {
// The checks of validate(annotation, impression) that need the impression, on what they read of
// it: its id, number of replies and of shown references, and whether a doc id was shown
// (`is_shown(std::string_view) -> bool`). The store runs them on the outline it keeps per
// impression; validate(a, imp) on the impression itself.
template <class IsShown>
void validate_against_impression(const annotation& a, const std::string& imp_id, std::size_t n_replies,
                                 std::size_t n_shown, IsShown&& is_shown) {
    const char* w = "annotation::validate";
    if (!imp_id.empty() && a.impression_id != imp_id)
        record_field_error(w, "impression_id", "does not match (got '" + a.impression_id + "', expected '" + imp_id + "')");
    if (std::holds_alternative<preference>(a.body) && n_replies != 2)
        record_field_error(w, "choice", "a preference needs two replies (impression '" + imp_id + "' showed " +
                                            std::to_string(n_replies) + ")");
    if (const auto* d = std::get_if<adoption>(&a.body)) {
        if (d->reply >= n_replies)
            record_field_error(w, "reply", "not shown (got slot " + std::to_string(d->reply) + ", impression '" +
                                               imp_id + "' showed " + std::to_string(n_replies) + " replies)");
    }
    if (const auto* r = std::get_if<knowledge_relevance>(&a.body)) {
        for (std::size_t i = 0; i < r->labels.size(); ++i)
            if (!is_shown(std::string_view(r->labels[i].doc_id)))
                record_field_error(w, "labels[" + std::to_string(i) + "].doc_id",
                                   "reference was not shown (got '" + r->labels[i].doc_id + "', expected one of the " +
                                       std::to_string(n_shown) + " shown doc ids; put references found by "
                                       "hand in 'selected')");
        for (std::size_t i = 0; i < r->selected.size(); ++i)
            if (is_shown(std::string_view(r->selected[i])))
                record_field_error(w, "selected[" + std::to_string(i) + "]",
                                   "was shown (got '" + r->selected[i] + "', expected a reference that was not "
                                   "shown; label shown references in 'labels')");
    }
}
}  // namespace detail

/**
 * @brief Checks an annotation against the impression it refers to (after `validate(a)`).
 * @throws config_error naming the field: impression id differs, a preference or adoption on an
 *         impression without two (resp. any) replies, an adoption slot not shown, a relevance label
 *         for a reference that was not shown, a hand-selected reference that was shown.
 */
inline void validate(const annotation& a, const impression& imp) {
    validate(a);
    detail::validate_against_impression(a, imp.id, imp.replies.size(), imp.shown.size(),
                                        [&imp](std::string_view doc_id) { return imp.find_shown(doc_id) != nullptr; });
}

inline void to_json(nlohmann::json& j, const relevance_label& l) {
    j = nlohmann::json{{"doc_id", l.doc_id}, {"relevant", l.relevant}};
}

/// @brief The JSON form: common keys `type, seq, id, impression_id, annotator, timestamp_ms,
/// time_to_annotate_ms, weight` plus the body's keys (see the README's feedback section).
inline void to_json(nlohmann::json& j, const annotation& a) {
    j = nlohmann::json{{"type", to_string(a.kind())},
                       {"seq", a.seq},
                       {"id", a.id},
                       {"impression_id", a.impression_id},
                       {"annotator", a.annotator},
                       {"timestamp_ms", a.timestamp_ms},
                       {"time_to_annotate_ms", a.time_to_annotate_ms},
                       {"weight", a.weight}};
    if (const auto* p = std::get_if<preference>(&a.body)) {
        j["choice"] = to_string(p->choice);
        j["strength"] = to_string(p->strength);
        j["rationale"] = p->rationale;
    } else if (const auto* d = std::get_if<adoption>(&a.body)) {
        j["outcome"] = to_string(d->outcome);
        j["reply"] = d->reply;
        j["final_text"] = d->final_text;
        auto& rs = j["reasons"] = nlohmann::json::array();
        for (auto r : d->reasons) rs.push_back(to_string(r));
        j["rationale"] = d->rationale;
    } else if (const auto* r = std::get_if<knowledge_relevance>(&a.body)) {
        j["labels"] = r->labels;
        j["selected"] = r->selected;
    } else if (const auto* m = std::get_if<missing_knowledge>(&a.body)) {
        j["description"] = m->description;
        j["suggested_source"] = m->suggested_source;
    }
}

/// @brief Reads the JSON form. Optional keys: seq, id, time_to_annotate_ms, weight, rationale,
/// final_text, reasons, selected, suggested_source, strength (slight).
/// @throws config_error naming the field on a wrong type, bad enum, missing or unknown key.
inline void from_json(const nlohmann::json& j, annotation& a) {
    const char* w = "annotation::from_json";
    using namespace detail;
    record_check_object(j, w, "");
    annotation_kind kind{};
    record_read_enum(j, w, "", "type", kind, true);
    switch (kind) {
        case annotation_kind::preference:
            record_check_keys(j, w, "", {"type", "seq", "id", "impression_id", "annotator", "timestamp_ms",
                                         "time_to_annotate_ms", "weight", "choice", "strength", "rationale"});
            break;
        case annotation_kind::adoption:
            record_check_keys(j, w, "", {"type", "seq", "id", "impression_id", "annotator", "timestamp_ms",
                                         "time_to_annotate_ms", "weight", "outcome", "reply", "final_text",
                                         "reasons", "rationale"});
            break;
        case annotation_kind::knowledge_relevance:
            record_check_keys(j, w, "", {"type", "seq", "id", "impression_id", "annotator", "timestamp_ms",
                                         "time_to_annotate_ms", "weight", "labels", "selected"});
            break;
        case annotation_kind::missing_knowledge:
            record_check_keys(j, w, "", {"type", "seq", "id", "impression_id", "annotator", "timestamp_ms",
                                         "time_to_annotate_ms", "weight", "description", "suggested_source"});
            break;
    }
    annotation out;
    record_read(j, w, "", "seq", out.seq, false);
    record_read(j, w, "", "id", out.id, false);
    record_read(j, w, "", "impression_id", out.impression_id, true);
    record_read(j, w, "", "annotator", out.annotator, true);
    record_read(j, w, "", "timestamp_ms", out.timestamp_ms, true);
    record_read(j, w, "", "time_to_annotate_ms", out.time_to_annotate_ms, false);
    record_read(j, w, "", "weight", out.weight, false);
    auto read_strings = [&](const char* key, std::vector<std::string>& v) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return;
        if (!it->is_array()) record_field_error(w, key, std::string("wrong type (got ") + it->type_name() + ", expected array of strings)");
        for (std::size_t i = 0; i < it->size(); ++i) {
            if (!(*it)[i].is_string())
                record_field_error(w, std::string(key) + "[" + std::to_string(i) + "]",
                                   std::string("wrong type (got ") + (*it)[i].type_name() + ", expected string)");
            v.push_back((*it)[i].get<std::string>());
        }
    };
    switch (kind) {
        case annotation_kind::preference: {
            preference p;
            record_read_enum(j, w, "", "choice", p.choice, true);
            record_read_enum(j, w, "", "strength", p.strength, false);
            record_read(j, w, "", "rationale", p.rationale, false);
            out.body = std::move(p);
            break;
        }
        case annotation_kind::adoption: {
            adoption d;
            record_read_enum(j, w, "", "outcome", d.outcome, true);
            record_read(j, w, "", "reply", d.reply, false);
            record_read(j, w, "", "final_text", d.final_text, false);
            std::vector<std::string> names;
            read_strings("reasons", names);
            for (std::size_t i = 0; i < names.size(); ++i)
                d.reasons.push_back(enum_from_name<adoption_reason>(names[i], w, "reasons[" + std::to_string(i) + "]"));
            record_read(j, w, "", "rationale", d.rationale, false);
            out.body = std::move(d);
            break;
        }
        case annotation_kind::knowledge_relevance: {
            knowledge_relevance r;
            if (auto it = j.find("labels"); it != j.end() && !it->is_null()) {
                if (!it->is_array()) record_field_error(w, "labels", std::string("wrong type (got ") + it->type_name() + ", expected array)");
                for (std::size_t i = 0; i < it->size(); ++i) {
                    std::string p = "labels[" + std::to_string(i) + "]";
                    const auto& e = (*it)[i];
                    record_check_object(e, w, p);
                    record_check_keys(e, w, p, {"doc_id", "relevant"});
                    relevance_label l;
                    record_read(e, w, p, "doc_id", l.doc_id, true);
                    record_read(e, w, p, "relevant", l.relevant, true);
                    r.labels.push_back(std::move(l));
                }
            }
            read_strings("selected", r.selected);
            out.body = std::move(r);
            break;
        }
        case annotation_kind::missing_knowledge: {
            missing_knowledge m;
            record_read(j, w, "", "description", m.description, true);
            record_read(j, w, "", "suggested_source", m.suggested_source, false);
            out.body = std::move(m);
            break;
        }
    }
    a = std::move(out);
}

}  // namespace aitl
