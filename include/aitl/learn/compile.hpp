#pragma once
/// @file learn/compile.hpp
/// @brief Dataset compilers: stored annotations (since a watermark) → retrieval examples with
/// hard negatives, rerank lists, preference pairs and KTO examples, qrels; a time-based
/// train/validation split; negatives mined from a retriever.
///
/// Rules shared by every compiler:
///  - Annotations are read with `seq` in (after_seq, until_seq] (until_seq 0 = no bound);
///    annotations with weight 0 or below `min_weight` are ignored; the others count with
///    their weight (a vote of weight w).
///  - Several annotators of one impression, and for retrieval examples and qrels several
///    impressions of the same query, are merged by weighted majority per document (a tie of
///    the votes leaves the document out). A hand-selected document is a relevant vote (grade 2).
///  - Each output's `weight` is the mean weight of the annotations it merges (times the
///    strength weight for preference pairs); its `timestamp_ms` is the latest of their
///    timestamps, so `time_split` never puts feedback into training that is newer than any
///    validation item.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../concepts.hpp"
#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../eval/qrels.hpp"
#include "../feedback/annotation.hpp"
#include "../feedback/impression.hpp"
#include "../store/store_types.hpp"
#include "examples.hpp"

namespace aitl {

/**
 * @brief What the compilers read and how they weigh it.
 *
 * JSON form: `{"after_seq": 0, "until_seq": 0, "strength_weights": [1, 2, 3], "keep_ties": false,
 * "both_bad_as_kto_negatives": true, "min_weight": 0, "models": {}}` (every key optional).
 */
struct compile_options {
    std::int64_t after_seq = 0;   ///< read annotations with seq > after_seq (the watermark), >= 0
    std::int64_t until_seq = 0;   ///< and seq <= until_seq; 0 = no upper bound
    /// Pair weight per preference strength (slight, clear, strong), finite, > 0.
    std::array<double, 3> strength_weights{1.0, 2.0, 3.0};
    /// Ties become two pairs (A over B and B over A, each weight 0.5 x annotation weight, for
    /// Bradley–Terry-style learners); false: ties are dropped.
    bool keep_ties = false;
    /// A "both bad" preference gives two KTO negatives (both replies); false: nothing.
    bool both_bad_as_kto_negatives = true;
    double min_weight = 0.0;      ///< ignore annotations whose weight is below this, finite, >= 0
    /// Read only feedback on impressions served by these models: role → version, each one equal
    /// to the impression's `models[role]` (e.g. {{"retriever", "bm25+dense+ranker@v000004"}}); empty:
    /// all. Joins feedback to the exact system that produced it.
    std::map<std::string, std::string> models;
};

/// @throws config_error on after_seq < 0, until_seq < 0 or below after_seq (unless 0), a
/// strength weight not finite or <= 0, min_weight not finite or < 0.
inline void validate(const compile_options& o, const char* where = "compile_options") {
    if (o.after_seq < 0)
        throw config_error(std::string(where) + ": after_seq out of range (got " + std::to_string(o.after_seq) +
                           ", expected >= 0)");
    if (o.until_seq < 0 || (o.until_seq != 0 && o.until_seq < o.after_seq))
        throw config_error(std::string(where) + ": until_seq out of range (got " + std::to_string(o.until_seq) +
                           ", expected 0 (no bound) or >= after_seq = " + std::to_string(o.after_seq) + ")");
    static const char* names[3] = {"slight", "clear", "strong"};
    for (std::size_t i = 0; i < 3; ++i)
        if (!std::isfinite(o.strength_weights[i]) || o.strength_weights[i] <= 0)
            throw config_error(std::string(where) + ": strength_weights[" + std::to_string(i) + "] (" + names[i] +
                               ") out of range (got " + std::to_string(o.strength_weights[i]) +
                               ", expected finite > 0)");
    if (!std::isfinite(o.min_weight) || o.min_weight < 0)
        throw config_error(std::string(where) + ": min_weight out of range (got " + std::to_string(o.min_weight) +
                           ", expected finite >= 0)");
    for (const auto& [role, version] : o.models)
        if (role.empty() || version.empty())
            throw config_error(std::string(where) + ": models has an empty " + (role.empty() ? "role" : "version") +
                               " (got '" + role + "': '" + version + "', expected e.g. \"retriever\": \"bm25@v000001\")");
}

inline void to_json(nlohmann::json& j, const compile_options& o) {
    j = nlohmann::json{{"after_seq", o.after_seq},
                       {"until_seq", o.until_seq},
                       {"strength_weights", o.strength_weights},
                       {"keep_ties", o.keep_ties},
                       {"both_bad_as_kto_negatives", o.both_bad_as_kto_negatives},
                       {"min_weight", o.min_weight},
                       {"models", o.models}};
}

/// @throws config_error on an unknown key or a wrong type.
inline void from_json(const nlohmann::json& j, compile_options& o) {
    const char* t = "compile_options";
    detail::config_check_keys(j, t, {"after_seq", "until_seq", "strength_weights", "keep_ties",
                                     "both_bad_as_kto_negatives", "min_weight", "models"});
    detail::config_read_key(j, t, "after_seq", o.after_seq);
    detail::config_read_key(j, t, "until_seq", o.until_seq);
    detail::config_read_key(j, t, "strength_weights", o.strength_weights);
    detail::config_read_key(j, t, "keep_ties", o.keep_ties);
    detail::config_read_key(j, t, "both_bad_as_kto_negatives", o.both_bad_as_kto_negatives);
    detail::config_read_key(j, t, "min_weight", o.min_weight);
    detail::config_read_key(j, t, "models", o.models);
}

/**
 * @brief The prompt of a reply: the conversation context, then the query.
 *
 * Format: each context turn followed by "\n", then the query (just the query when there is no
 * context). E.g. context {"Hi", "I was charged twice"} and query "refund?" → "Hi\nI was charged
 * twice\nrefund?".
 */
inline std::string make_prompt(const impression& imp) {
    std::string p;
    for (const auto& turn : imp.context) {
        p += turn;
        p += '\n';
    }
    p += imp.query;
    return p;
}

/// @brief The annotations in a seq window and the impressions they refer to.
struct feedback_batch {
    std::vector<impression> impressions;  ///< each referenced impression once, in order of first annotation
    std::vector<annotation> annotations;  ///< seq order, all kinds, weights not yet filtered
};

namespace detail {
template <class S, class = void>
struct has_impressions_filter : std::false_type {};
template <class S>
struct has_impressions_filter<S, void_t<decltype(std::declval<const S&>().impressions(std::declval<const store_filter&>()))>>
    : std::is_convertible<decltype(std::declval<const S&>().impressions(std::declval<const store_filter&>())),
                          std::vector<impression>> {};
}  // namespace detail

/**
 * @brief Reads the annotations of the window (after_seq, until_seq] and their impressions.
 * @tparam Store the store contract (concepts.hpp); a store with `impressions(store_filter)` is
 *         read in one query when many impressions are needed, else by `get_impression`.
 * @throws config_error on invalid options; what the store throws (not_found for an annotation
 *         whose impression is missing).
 */
template <class Store>
feedback_batch load_feedback(const Store& store, const compile_options& options = {}) {
    require_store<Store>();
    validate(options, "load_feedback");
    feedback_batch out;
    out.annotations = store.annotations_since(options.after_seq, 0);
    if (options.until_seq > 0) {
        auto end = std::find_if(out.annotations.begin(), out.annotations.end(),
                                [&](const annotation& a) { return a.seq > options.until_seq; });
        out.annotations.erase(end, out.annotations.end());
    }
    std::vector<std::string> ids;
    std::set<std::string_view> seen;
    for (const auto& a : out.annotations)
        if (seen.insert(a.impression_id).second) ids.push_back(a.impression_id);
    bool bulk = false;
    if constexpr (detail::has_impressions_filter<Store>::value) {
        if (ids.size() > 64) {
            bulk = true;
            std::unordered_map<std::string, impression> all;
            for (auto& imp : store.impressions(store_filter{})) all.emplace(imp.id, std::move(imp));
            out.impressions.reserve(ids.size());
            for (const auto& id : ids) {
                auto it = all.find(id);
                out.impressions.push_back(it != all.end() ? std::move(it->second) : store.get_impression(id));
            }
        }
    }
    if (!bulk) {
        out.impressions.reserve(ids.size());
        for (const auto& id : ids) out.impressions.push_back(store.get_impression(id));
    }
    if (!options.models.empty()) {  // only feedback on impressions served by the chosen models
        auto served_by = [&](const impression& imp) {
            for (const auto& [role, version] : options.models) {
                auto it = imp.models.find(role);
                if (it == imp.models.end() || it->second != version) return false;
            }
            return true;
        };
        std::set<std::string> keep;
        std::vector<impression> kept;
        for (auto& imp : out.impressions)
            if (served_by(imp)) {
                keep.insert(imp.id);
                kept.push_back(std::move(imp));
            }
        out.impressions = std::move(kept);
        out.annotations.erase(std::remove_if(out.annotations.begin(), out.annotations.end(),
                                             [&](const annotation& a) { return !keep.count(a.impression_id); }),
                              out.annotations.end());
    }
    return out;
}

namespace detail {

// Annotations grouped by impression, weights filtered.
struct grouped_feedback {
    struct group {
        const impression* imp = nullptr;
        std::vector<const annotation*> anns;  // seq order
    };
    std::vector<group> groups;  // order of feedback_batch::impressions
};

inline grouped_feedback group_feedback(const feedback_batch& fb, const compile_options& o) {
    grouped_feedback g;
    std::unordered_map<std::string_view, std::size_t> index;
    g.groups.resize(fb.impressions.size());
    for (std::size_t i = 0; i < fb.impressions.size(); ++i) {
        g.groups[i].imp = &fb.impressions[i];
        index.emplace(fb.impressions[i].id, i);
    }
    for (const auto& a : fb.annotations) {
        if (!(a.weight > 0) || a.weight < o.min_weight) continue;
        auto it = index.find(a.impression_id);
        if (it == index.end())
            throw not_found("compile: annotation '" + a.id + "' refers to an impression not in the batch (got '" +
                            a.impression_id + "')");
        g.groups[it->second].anns.push_back(&a);
    }
    return g;
}

// Weighted relevance votes of one key (a query or an impression), per document.
struct relevance_votes {
    struct tally {
        double relevant = 0, not_relevant = 0, selected = 0;
    };
    std::vector<std::string> order;  // documents in first-seen order
    std::unordered_map<std::string, tally> docs;
    double weight_sum = 0;
    std::size_t n = 0;
    std::int64_t timestamp_ms = 0;
    std::string case_id, impression_id, query;

    tally& at(const std::string& doc) {
        auto [it, fresh] = docs.try_emplace(doc);
        if (fresh) order.push_back(doc);
        return it->second;
    }
    void add(const knowledge_relevance& r, const annotation& a, const impression& imp) {
        if (n == 0) {
            case_id = imp.case_id;
            impression_id = imp.id;
            query = imp.query;
        }
        for (const auto& l : r.labels) (l.relevant ? at(l.doc_id).relevant : at(l.doc_id).not_relevant) += a.weight;
        for (const auto& d : r.selected) at(d).selected += a.weight;
        weight_sum += a.weight;
        ++n;
        timestamp_ms = std::max(timestamp_ms, a.timestamp_ms);
    }
    // -1 undecided (tie), 0 not relevant, 1 relevant, 2 relevant and hand-selected
    int grade(const std::string& doc) const {
        const tally& t = docs.at(doc);
        const double yes = t.relevant + t.selected;
        if (yes > t.not_relevant) return t.selected > 0 ? 2 : 1;
        if (t.not_relevant > yes) return 0;
        return -1;
    }
    double weight() const { return n ? weight_sum / static_cast<double>(n) : 0.0; }
};

template <class Key>
std::vector<relevance_votes> collect_relevance(const grouped_feedback& g, Key key_of) {
    std::vector<relevance_votes> out;
    std::unordered_map<std::string, std::size_t> index;
    for (const auto& grp : g.groups) {
        for (const annotation* a : grp.anns) {
            const auto* r = std::get_if<knowledge_relevance>(&a->body);
            if (!r) continue;
            auto [it, fresh] = index.try_emplace(key_of(*grp.imp), out.size());
            if (fresh) out.emplace_back();
            out[it->second].add(*r, *a, *grp.imp);
        }
    }
    return out;
}

inline std::string qrels_query_id(const impression& imp) {
    return imp.turn == 0 ? imp.case_id : imp.case_id + "#" + std::to_string(imp.turn);
}

// Keeps the first of equal items (by key), with the sum of their weights and the latest timestamp.
template <class T, class Key>
void dedup_merge(std::vector<T>& v, Key key_of) {
    std::map<decltype(key_of(v.front())), std::size_t> first;
    std::vector<T> out;
    for (auto& x : v) {
        auto [it, fresh] = first.try_emplace(key_of(x), out.size());
        if (fresh) {
            out.push_back(std::move(x));
        } else {
            T& kept = out[it->second];
            kept.weight += x.weight;
            kept.timestamp_ms = std::max(kept.timestamp_ms, x.timestamp_ms);
        }
    }
    v = std::move(out);
}
}  // namespace detail

/**
 * @brief Retrieval training examples: one per distinct query text.
 *
 * Positives: shown documents the (weighted) majority judged relevant, then documents selected
 * by hand; hard negatives: shown documents the majority judged not relevant. Impressions with
 * the same query text are merged (their votes add up), so a (query, document) pair occurs once.
 * Queries without a positive are left out.
 */
inline std::vector<retrieval_example> compile_retrieval(const feedback_batch& fb, const compile_options& options = {}) {
    validate(options, "compile_retrieval");
    auto g = detail::group_feedback(fb, options);
    auto votes = detail::collect_relevance(g, [](const impression& imp) { return imp.query; });
    std::vector<retrieval_example> out;
    for (const auto& v : votes) {
        retrieval_example ex;
        ex.case_id = v.case_id;
        ex.impression_id = v.impression_id;
        ex.query = v.query;
        std::vector<std::string> selected;
        for (const auto& d : v.order) {
            const int grade = v.grade(d);
            if (grade == 1) ex.positives.push_back(d);
            else if (grade == 2) selected.push_back(d);
            else if (grade == 0) ex.hard_negatives.push_back(d);
        }
        ex.positives.insert(ex.positives.end(), selected.begin(), selected.end());
        if (ex.positives.empty()) continue;
        ex.weight = v.weight();
        ex.timestamp_ms = v.timestamp_ms;
        out.push_back(std::move(ex));
    }
    return out;
}

/**
 * @brief Rerank lists: one per impression with relevance feedback.
 *
 * The shown candidates the majority judged (in shown order; undecided ones left out), then the
 * hand-selected documents (rank 0, score 0). Labels: 0 not relevant, 1 relevant, 2 selected by
 * hand. Lists with no candidate are left out.
 */
inline std::vector<rerank_list> compile_rerank(const feedback_batch& fb, const compile_options& options = {}) {
    validate(options, "compile_rerank");
    auto g = detail::group_feedback(fb, options);
    auto votes = detail::collect_relevance(g, [](const impression& imp) { return imp.id; });
    std::unordered_map<std::string_view, const impression*> imps;
    for (const auto& imp : fb.impressions) imps.emplace(imp.id, &imp);
    std::vector<rerank_list> out;
    for (const auto& v : votes) {
        const impression& imp = *imps.at(v.impression_id);
        rerank_list l;
        l.case_id = imp.case_id;
        l.impression_id = imp.id;
        l.query = imp.query;
        l.context = imp.context;
        auto push = [&](candidate c, int label) {
            double rs = 0;
            std::uint32_t rr = 0;
            for (const auto& r : imp.retrieved)
                if (r.doc_id == c.doc_id) {
                    rs = r.score;
                    rr = r.rank;
                    break;
                }
            l.candidates.push_back(std::move(c));
            l.labels.push_back(label);
            l.retrieval_scores.push_back(rs);
            l.retrieval_ranks.push_back(rr);
        };
        for (const auto& c : imp.shown) {
            if (!v.docs.count(c.doc_id)) continue;
            const int grade = v.grade(c.doc_id);
            if (grade >= 0) push(c, std::min(grade, 1));
        }
        for (const auto& d : v.order)
            if (!imp.find_shown(d) && v.grade(d) == 2) push(candidate{d, 0, 0.0}, 2);
        if (l.candidates.empty()) continue;
        l.weight = v.weight();
        l.timestamp_ms = v.timestamp_ms;
        out.push_back(std::move(l));
    }
    return out;
}

/// @brief Preference pairs and unpaired (KTO) examples compiled from replies' feedback.
struct preference_data {
    std::vector<preference_pair> pairs;
    std::vector<kto_example> kto;
};

/**
 * @brief Preference pairs and KTO examples from preference and adoption annotations.
 *
 * Preference (per impression, weighted majority of the choices a / b / tie / both_bad; equal
 * top weights count as a tie): a or b → pair chosen = that reply's text, rejected = the other,
 * weight = mean of annotation weight x strength weight over the winning votes; tie → dropped,
 * or with `keep_ties` two pairs (both orders, weight 0.5 x mean weight); both_bad → no pair,
 * with `both_bad_as_kto_negatives` two KTO negatives (both replies).
 * Adoption (per impression and reply slot, weighted majority of the outcome; equal top weights
 * → nothing): used_as_is → KTO positive (the suggestion); not_used → KTO negative (the
 * suggestion); used_with_edits → pair chosen = the final text (of the heaviest winning vote),
 * rejected = the suggestion (a final text equal to the suggestion counts as used_as_is).
 * Pairs whose two texts are equal are dropped. Equal pairs / KTO examples from several
 * impressions (same prompt and texts, source, label; for pairs also the same `query_id`) are
 * kept once, their weights summed (the same evidence for a weighted learner, one row for an
 * unweighted one), with the latest timestamp. A pair's `query_id` is its impression's qrels query
 * id (see `compile_qrels`); pairs of different queries stay apart so that the reward model can
 * leave each pair's own relevance judgements out of its training features.
 */
inline preference_data compile_preferences(const feedback_batch& fb, const compile_options& options = {}) {
    validate(options, "compile_preferences");
    auto g = detail::group_feedback(fb, options);
    preference_data out;
    for (const auto& grp : g.groups) {
        const impression& imp = *grp.imp;
        const std::string prompt = make_prompt(imp);
        const std::string qid = detail::qrels_query_id(imp);
        // preference
        std::array<double, 4> w{};       // vote weight per choice
        std::array<double, 4> pw{};      // sum of weight x strength weight per choice
        std::array<std::size_t, 4> n{};  // votes per choice
        std::int64_t ts = 0;
        for (const annotation* a : grp.anns) {
            const auto* p = std::get_if<preference>(&a->body);
            if (!p || imp.replies.size() != 2) continue;
            const auto c = static_cast<std::size_t>(p->choice);
            w[c] += a->weight;
            pw[c] += a->weight * options.strength_weights[static_cast<std::size_t>(p->strength)];
            ++n[c];
            ts = std::max(ts, a->timestamp_ms);
        }
        const std::size_t votes = n[0] + n[1] + n[2] + n[3];
        if (votes > 0) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < 4; ++c)
                if (w[c] > w[best]) best = c;
            bool tied = false;
            for (std::size_t c = 0; c < 4; ++c)
                if (c != best && w[c] == w[best]) tied = true;
            const auto choice = tied ? preference_choice::tie : static_cast<preference_choice>(best);
            const std::string& ta = imp.replies[0].text;
            const std::string& tb = imp.replies[1].text;
            auto pair = [&](const std::string& chosen, const std::string& rejected, double weight) {
                if (chosen == rejected) return;
                out.pairs.push_back(preference_pair{imp.id, prompt, chosen, rejected, weight, "preference", ts, qid});
            };
            if (choice == preference_choice::a) {
                pair(ta, tb, pw[0] / static_cast<double>(n[0]));
            } else if (choice == preference_choice::b) {
                pair(tb, ta, pw[1] / static_cast<double>(n[1]));
            } else if (choice == preference_choice::tie && options.keep_ties) {
                double sw = 0;
                std::size_t sn = 0;
                for (std::size_t c = 0; c < 4; ++c)
                    if (w[c] == w[best]) sw += w[c], sn += n[c];
                const double mean = sn ? sw / static_cast<double>(sn) : 1.0;
                pair(ta, tb, 0.5 * mean);
                pair(tb, ta, 0.5 * mean);
            } else if (choice == preference_choice::both_bad && options.both_bad_as_kto_negatives) {
                const double mean = w[3] / static_cast<double>(n[3]);
                out.kto.push_back(kto_example{imp.id, prompt, ta, false, mean, "preference", ts});
                out.kto.push_back(kto_example{imp.id, prompt, tb, false, mean, "preference", ts});
            }
        }
        // adoption, per reply slot
        for (std::uint32_t slot = 0; slot < imp.replies.size(); ++slot) {
            std::array<double, 3> aw{};
            std::array<std::size_t, 3> an{};
            const annotation* heaviest_edit = nullptr;
            std::int64_t ats = 0;
            for (const annotation* a : grp.anns) {
                const auto* d = std::get_if<adoption>(&a->body);
                if (!d || d->reply != slot) continue;
                auto outcome = d->outcome;
                if (outcome == adoption_outcome::used_with_edits && d->final_text == imp.replies[slot].text)
                    outcome = adoption_outcome::used_as_is;
                const auto o = static_cast<std::size_t>(outcome);
                aw[o] += a->weight;
                ++an[o];
                ats = std::max(ats, a->timestamp_ms);
                if (outcome == adoption_outcome::used_with_edits &&
                    (!heaviest_edit || a->weight > heaviest_edit->weight))
                    heaviest_edit = a;
            }
            if (an[0] + an[1] + an[2] == 0) continue;
            std::size_t best = 0;
            for (std::size_t o = 1; o < 3; ++o)
                if (aw[o] > aw[best]) best = o;
            bool tied = false;
            for (std::size_t o = 0; o < 3; ++o)
                if (o != best && aw[o] == aw[best]) tied = true;
            if (tied) continue;
            const double mean = aw[best] / static_cast<double>(an[best]);
            const std::string& suggestion = imp.replies[slot].text;
            switch (static_cast<adoption_outcome>(best)) {
                case adoption_outcome::used_as_is:
                    out.kto.push_back(kto_example{imp.id, prompt, suggestion, true, mean, "adoption", ats});
                    break;
                case adoption_outcome::not_used:
                    out.kto.push_back(kto_example{imp.id, prompt, suggestion, false, mean, "adoption", ats});
                    break;
                case adoption_outcome::used_with_edits:
                    out.pairs.push_back(preference_pair{imp.id, prompt,
                                                        std::get<adoption>(heaviest_edit->body).final_text,
                                                        suggestion, mean, "adoption", ats, qid});
                    break;
            }
        }
    }
    detail::dedup_merge(out.pairs, [](const preference_pair& p) {
        return std::make_tuple(p.query_id, p.prompt, p.chosen, p.rejected, p.source);
    });
    detail::dedup_merge(out.kto, [](const kto_example& k) {
        return std::make_tuple(k.prompt, k.completion, k.label, k.source);
    });
    return out;
}

/// @brief Judgements compiled from relevance feedback, with the text of each judged query.
struct feedback_qrels {
    qrels judgements;                             ///< query id → doc id → grade (0 or 1)
    std::map<std::string, std::string> queries;   ///< query id → query text (its first impression's)
};

/**
 * @brief Qrels from relevance annotations, for evaluation on fresh traffic.
 *
 * Query id: the impression's case id (`case_id + "#" + turn` for turns after 0); impressions of
 * one query id are merged. Grade 1 when the weighted majority judged the document relevant or
 * someone selected it by hand (and the majority did not judge it not relevant), 0 when the
 * majority judged it not relevant; ties are left out.
 */
inline feedback_qrels compile_qrels(const feedback_batch& fb, const compile_options& options = {}) {
    validate(options, "compile_qrels");
    auto g = detail::group_feedback(fb, options);
    auto votes = detail::collect_relevance(g, [](const impression& imp) { return detail::qrels_query_id(imp); });
    feedback_qrels out;
    std::unordered_map<std::string_view, const impression*> imps;
    for (const auto& imp : fb.impressions) imps.emplace(imp.id, &imp);
    for (const auto& v : votes) {
        const std::string qid = detail::qrels_query_id(*imps.at(v.impression_id));
        std::map<std::string, int> judged;
        for (const auto& d : v.order) {
            const int grade = v.grade(d);
            if (grade >= 0) judged[d] = std::min(grade, 1);
        }
        if (judged.empty()) continue;
        out.judgements[qid] = std::move(judged);
        out.queries[qid] = v.query;
    }
    return out;
}

/// @brief compile_retrieval on the store's feedback (see load_feedback).
template <class Store, class = std::enable_if_t<!std::is_same_v<Store, feedback_batch>>>
std::vector<retrieval_example> compile_retrieval(const Store& store, const compile_options& options = {}) {
    return compile_retrieval(load_feedback(store, options), options);
}
/// @brief compile_rerank on the store's feedback (see load_feedback).
template <class Store, class = std::enable_if_t<!std::is_same_v<Store, feedback_batch>>>
std::vector<rerank_list> compile_rerank(const Store& store, const compile_options& options = {}) {
    return compile_rerank(load_feedback(store, options), options);
}
/// @brief compile_preferences on the store's feedback (see load_feedback).
template <class Store, class = std::enable_if_t<!std::is_same_v<Store, feedback_batch>>>
preference_data compile_preferences(const Store& store, const compile_options& options = {}) {
    return compile_preferences(load_feedback(store, options), options);
}
/// @brief compile_qrels on the store's feedback (see load_feedback).
template <class Store, class = std::enable_if_t<!std::is_same_v<Store, feedback_batch>>>
feedback_qrels compile_qrels(const Store& store, const compile_options& options = {}) {
    return compile_qrels(load_feedback(store, options), options);
}

/// @brief A train / validation split by time.
template <class T>
struct time_split_result {
    std::vector<T> train;       ///< every timestamp < the earliest validation timestamp
    std::vector<T> validation;  ///< the latest items
};

/**
 * @brief Splits items by `timestamp_ms`: the latest ~`validation_fraction` go to validation,
 * the rest to training, and every training item is strictly earlier than every validation item
 * (items sharing the boundary timestamp all go to validation, so it may hold a little more
 * than the fraction). Order within each side: by timestamp, then input order.
 * @throws config_error when validation_fraction is not in [0, 1].
 */
template <class T>
time_split_result<T> time_split(std::vector<T> items, double validation_fraction) {
    if (!(validation_fraction >= 0.0 && validation_fraction <= 1.0))
        throw config_error("time_split: validation_fraction out of range (got " + std::to_string(validation_fraction) +
                           ", expected 0 <= validation_fraction <= 1)");
    std::stable_sort(items.begin(), items.end(),
                     [](const T& a, const T& b) { return a.timestamp_ms < b.timestamp_ms; });
    const auto n = items.size();
    const auto n_val = static_cast<std::size_t>(std::llround(validation_fraction * static_cast<double>(n)));
    time_split_result<T> out;
    std::size_t cut = n - std::min(n_val, n);
    if (cut < n) {
        const auto boundary = items[cut].timestamp_ms;
        while (cut > 0 && items[cut - 1].timestamp_ms == boundary) --cut;
    }
    out.train.assign(std::make_move_iterator(items.begin()), std::make_move_iterator(items.begin() + cut));
    out.validation.assign(std::make_move_iterator(items.begin() + cut), std::make_move_iterator(items.end()));
    return out;
}

/**
 * @brief Adds up to `n` mined negatives per example: the retriever's top-`k` hits for the query
 * that are neither a positive nor already a hard negative (best first), into `mined_negatives`.
 * Mined negatives may be unjudged relevant documents; keep k small relative to the corpus.
 * @throws config_error when k == 0.
 */
template <class Retriever>
void mine_negatives(std::vector<retrieval_example>& examples, const Retriever& retriever, std::size_t k, std::size_t n) {
    require_retriever<Retriever>();
    if (k == 0) throw config_error("mine_negatives: k out of range (got 0, expected >= 1)");
    for (auto& ex : examples) {
        ex.mined_negatives.clear();
        if (n == 0) continue;
        std::set<std::string_view> skip(ex.positives.begin(), ex.positives.end());
        skip.insert(ex.hard_negatives.begin(), ex.hard_negatives.end());
        for (const auto& h : retriever.search(ex.query, k)) {
            if (skip.count(h.id)) continue;
            ex.mined_negatives.push_back(h.id);
            if (ex.mined_negatives.size() >= n) break;
        }
    }
}

}  // namespace aitl
