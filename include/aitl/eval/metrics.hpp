#pragma once
/// @file eval/metrics.hpp
/// @brief Ranking metrics with trec_eval's definitions: recall@k, precision@k, nDCG@k, MRR
/// (cut and uncut), MAP (cut and uncut) and hit rate@k, per query and averaged.
///
/// The rules, each the one trec_eval 9.x applies (form_res_rels.c and m_*.c), so that values
/// equal pytrec_eval's (PyPI pytrec-eval-terrier) to rounding:
///  - Ranking. A query's hits are ranked by score descending, ties broken by document id in
///    decreasing byte order (`strcmp`, "b" before "a"); the order the hits were given in and a
///    file's rank column are ignored. See aitl::trec_before.
///  - Duplicates. A document listed twice for one query is an error (trec_eval stops with
///    "duplicate docs"): evaluate throws config_error, read_trec_run a parse_error.
///  - Relevance. A document is relevant when its grade is >= the relevance level (1 by
///    default, trec_eval's -l); unjudged documents, grade 0 and negative grades are not.
///    num_rel counts the query's judged documents with grade >= the relevance level.
///  - Cutoffs. "@k" looks at the first k ranked documents; when fewer were retrieved the
///    rest count as non-relevant (precision@k still divides by k).
///  - precision@k = relevant in top k / k (trec_eval P.k).
///  - recall@k = relevant in top k / num_rel; 0 when num_rel is 0 (trec_eval recall.k).
///  - ndcg@k = DCG@k / IDCG@k with gain = the grade itself when > 0 (whatever the relevance
///    level; no 2^grade - 1) and discount log2(rank + 1), rank 1-based; IDCG ranks all the
///    query's positive grades, best first; 0 when IDCG is 0 (trec_eval ndcg_cut.k).
///    "ndcg" without k uses the whole ranking (trec_eval ndcg with default gains).
///  - mrr@k = 1 / rank of the first relevant document within the top k, else 0; it equals
///    trec_eval's recip_rank on the run cut to its top k. "mrr" is recip_rank, uncut.
///  - map = sum over relevant retrieved documents of (precision at their rank) / num_rel;
///    map@k the same over the top k (trec_eval map, map_cut.k); 0 when num_rel is 0.
///  - hit_rate@k = 1 if a relevant document is in the top k, else 0 (trec_eval success.k).
///  - Queries. A query is evaluated when it is in both the run and the qrels (with at least
///    one judgement, relevant or not): a query of the run absent from the qrels is skipped
///    (listed in evaluation::queries_without_qrels); a query of the qrels absent from the run
///    is skipped too (listed in queries_without_run), unless average_complete is set (trec_eval
///    -c): then it counts as 0 in every mean. A query present in the run with no hits, and a
///    query whose judgements hold no relevant document, are evaluated (every metric 0).
///  - Means are arithmetic means over the evaluated queries (or over all judged queries with
///    average_complete); 0 when no query is evaluated (then evaluation::queries is 0).
///
/// pytrec_eval names: recall@k = "recall_k" (measure "recall.k"), precision@k = "P_k"
/// ("P.k"), ndcg@k = "ndcg_cut_k" ("ndcg_cut.k"), ndcg = "ndcg", mrr = "recip_rank",
/// map = "map", map@k = "map_cut_k" ("map_cut.k"), hit_rate@k = "success_k" ("success.k").

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "qrels.hpp"
#include "trec.hpp"

namespace aitl {

/// @brief The metric families.
enum class metric_kind { recall, precision, ndcg, mrr, map, hit_rate };

/// @brief One metric: a family and a cutoff.
struct metric {
    metric_kind kind = metric_kind::map;
    std::size_t k = 0;  ///< cutoff; 0 = the whole ranking (only ndcg, mrr and map allow it)

    /// @returns The canonical name: "recall@75", "precision@8", "ndcg@10", "ndcg", "mrr@10",
    /// "mrr", "map", "map@10", "hit_rate@10".
    std::string name() const {
        static const char* const names[] = {"recall", "precision", "ndcg", "mrr", "map", "hit_rate"};
        std::string n = names[static_cast<int>(kind)];
        return k == 0 ? n : n + "@" + std::to_string(k);
    }

    friend bool operator==(const metric& a, const metric& b) { return a.kind == b.kind && a.k == b.k; }
    friend bool operator!=(const metric& a, const metric& b) { return !(a == b); }
};

/**
 * @brief Parses a metric name: "recall@k", "precision@k", "ndcg@k", "ndcg", "mrr@k", "mrr",
 * "map", "map@k", "hit_rate@k" (lower case, k a positive decimal integer).
 * @throws config_error on an unknown name, a missing cutoff, or k <= 0, naming the accepted forms
 */
inline metric parse_metric(std::string_view name) {
    static constexpr const char* accepted =
        "recall@k, precision@k, ndcg@k, ndcg, mrr@k, mrr, map, map@k, hit_rate@k with k a "
        "positive integer";
    struct family {
        const char* word;
        metric_kind kind;
        bool uncut_ok;
    };
    static const family families[] = {{"recall", metric_kind::recall, false},
                                      {"precision", metric_kind::precision, false},
                                      {"ndcg", metric_kind::ndcg, true},
                                      {"mrr", metric_kind::mrr, true},
                                      {"map", metric_kind::map, true},
                                      {"hit_rate", metric_kind::hit_rate, false}};
    const std::size_t at = name.find('@');
    const std::string_view word = name.substr(0, at);
    for (const family& f : families) {
        if (word != f.word) continue;
        if (at == std::string_view::npos) {
            if (f.uncut_ok) return metric{f.kind, 0};
            throw config_error("parse_metric: metric needs a cutoff (got '" + std::string(name) +
                               "', expected " + f.word + "@k with k a positive integer)");
        }
        const std::string_view cut = name.substr(at + 1);
        bool digits = !cut.empty();
        for (char c : cut) digits = digits && c >= '0' && c <= '9';
        unsigned long long k = 0;
        if (!digits || !detail::eval_text::parse_int(cut, k) || k == 0 ||
            k > static_cast<unsigned long long>(std::numeric_limits<long>::max())) {
            throw config_error("parse_metric: bad cutoff (got '" + std::string(name) + "', expected " +
                               f.word + "@k with k a positive integer)");
        }
        return metric{f.kind, static_cast<std::size_t>(k)};
    }
    throw config_error("parse_metric: unknown metric (got '" + std::string(name) + "', expected one of " +
                       accepted + ")");
}

/// @returns The default metrics: recall@8, recall@10, recall@75, precision@8, precision@10,
/// precision@75, ndcg@10, mrr@10, map, hit_rate@10 (the paper's recall@75 and precision@8
/// plus the usual BEIR cutoffs).
inline std::vector<std::string> default_metrics() {
    return {"recall@8",     "recall@10", "recall@75", "precision@8", "precision@10",
            "precision@75", "ndcg@10",   "mrr@10",    "map",         "hit_rate@10"};
}

/**
 * @brief Settings of evaluate().
 *
 * @code
 * aitl::eval_config cfg;
 * cfg.metrics = {"recall@75", "precision@8"};
 * aitl::evaluation e = aitl::evaluate(judgements, run, cfg);
 * @endcode
 */
struct eval_config {
    std::vector<std::string> metrics = default_metrics();  ///< names, see parse_metric; not empty
    int relevance_level = 1;        ///< a grade >= this is relevant (trec_eval -l); >= 1
    bool average_complete = false;  ///< average over every judged query, missing ones as 0 (-c)
};

namespace detail {

inline std::vector<metric> validate_eval_config(const eval_config& cfg) {
    if (cfg.metrics.empty()) {
        throw config_error("evaluate: no metric requested (got an empty list, expected at least one name)");
    }
    if (cfg.relevance_level < 1) {
        throw config_error("evaluate: relevance_level out of range (got " +
                           std::to_string(cfg.relevance_level) + ", expected >= 1)");
    }
    std::vector<metric> parsed;
    for (const std::string& n : cfg.metrics) {
        metric m = parse_metric(n);
        if (std::find(parsed.begin(), parsed.end(), m) == parsed.end()) parsed.push_back(m);
    }
    return parsed;
}

}  // namespace detail

/// @brief JSON form of eval_config: `{"metrics": [...], "relevance_level": 1, "average_complete": false}`.
inline void to_json(nlohmann::json& j, const eval_config& cfg) {
    j = nlohmann::json{{"metrics", cfg.metrics},
                       {"relevance_level", cfg.relevance_level},
                       {"average_complete", cfg.average_complete}};
}

/// @brief Reads eval_config from JSON; missing keys keep their defaults.
/// @throws config_error on a wrong type or an invalid value
inline void from_json(const nlohmann::json& j, eval_config& cfg) {
    eval_config out;
    try {
        if (!j.is_object()) throw config_error("eval_config::from_json: not an object (got " +
                                               std::string(j.type_name()) + ", expected object)");
        if (j.contains("metrics")) out.metrics = j.at("metrics").get<std::vector<std::string>>();
        if (j.contains("relevance_level"))
            out.relevance_level = detail::json_integer<int>(j.at("relevance_level"), "eval_config::from_json: relevance_level");
        if (j.contains("average_complete")) out.average_complete = j.at("average_complete").get<bool>();
    } catch (const nlohmann::json::exception& e) {
        throw config_error(std::string("eval_config::from_json: wrong type (got ") + e.what() +
                           ", expected metrics: [string], relevance_level: int, average_complete: bool)");
    }
    detail::validate_eval_config(out);
    cfg = std::move(out);
}

/**
 * @brief The result of evaluate(): per-query values and means, keyed by canonical metric name.
 * @note Thread safety: a plain value.
 */
struct evaluation {
    std::vector<std::string> metrics;  ///< canonical names, in request order, no repeats
    std::map<std::string, std::map<std::string, double>> per_query;  ///< query -> metric -> value
    std::map<std::string, double> mean;  ///< metric -> mean over the evaluated queries
    std::size_t queries = 0;             ///< number of evaluated queries (per_query.size())
    std::vector<std::string> queries_without_qrels;  ///< in the run, not judged: skipped
    std::vector<std::string> queries_without_run;    ///< judged, not in the run
};

/// @brief JSON form of evaluation (same member names).
inline void to_json(nlohmann::json& j, const evaluation& e) {
    j = nlohmann::json{{"metrics", e.metrics},
                       {"mean", e.mean},
                       {"per_query", e.per_query},
                       {"queries", e.queries},
                       {"queries_without_qrels", e.queries_without_qrels},
                       {"queries_without_run", e.queries_without_run}};
}

/// @brief Reads an evaluation back from its JSON form.
inline void from_json(const nlohmann::json& j, evaluation& e) {
    try {
        e.metrics = j.at("metrics").get<std::vector<std::string>>();
        e.mean = j.at("mean").get<std::map<std::string, double>>();
        e.per_query = j.at("per_query").get<std::map<std::string, std::map<std::string, double>>>();
        e.queries = detail::json_integer<std::size_t>(j.at("queries"), "evaluation::from_json: queries");
        e.queries_without_qrels = j.value("queries_without_qrels", std::vector<std::string>{});
        e.queries_without_run = j.value("queries_without_run", std::vector<std::string>{});
    } catch (const nlohmann::json::exception& ex) {
        throw config_error(std::string("evaluation::from_json: bad JSON (got ") + ex.what() +
                           ", expected the object written by to_json)");
    }
}

namespace detail {

// One query, ready for the metric formulas. Only the ranks of the retrieved documents that
// the qrels judge matter (the others only occupy ranks), so the full ranking is never sorted:
// rank(d) = 1 + the number of retrieved documents that trec_eval ranks before d.
struct judged_ranking {
    std::vector<std::pair<std::size_t, int>> judged;  // (1-based rank, grade), rank ascending
    std::vector<int> ideal;   // every positive grade of the query's judgements, best first
    std::size_t retrieved = 0;
    std::size_t num_rel = 0;  // judged documents with grade >= relevance level
};

inline std::string duplicate_message(std::string_view qid, std::string_view docid) {
    return "evaluate: duplicate document " + eval_text::quote(docid) + " for query " +
           eval_text::quote(qid) +
           " (got it twice, expected each document once per query, as trec_eval requires)";
}

inline std::string nan_message(std::string_view qid, std::string_view docid) {
    return "evaluate: NaN score for document " + eval_text::quote(docid) + " of query " +
           eval_text::quote(qid) + " (got NaN, expected a number)";
}

using ranked_entry = std::pair<std::string_view, double>;  // (document id, score)

// Throws config_error when a document id repeats (trec_eval: "duplicate docs").
inline void check_unique(std::string_view qid, const std::vector<ranked_entry>& entries) {
    std::vector<std::string_view> ids;
    ids.reserve(entries.size());
    for (const auto& e : entries) ids.push_back(e.first);
    std::sort(ids.begin(), ids.end());
    auto dup = std::adjacent_find(ids.begin(), ids.end());
    if (dup != ids.end()) throw config_error(duplicate_message(qid, *dup));
}

// entries: (document id, score) in any order, ids unique; checked for NaN here.
inline judged_ranking judge(std::string_view qid, const std::vector<ranked_entry>& entries,
                            const std::map<std::string, int>& judgements, int level) {
    judged_ranking r;
    r.retrieved = entries.size();
    // The judgements in id order (std::map's order) for allocation-free binary search.
    std::vector<std::pair<std::string_view, int>> table;
    table.reserve(judgements.size());
    for (const auto& [docid, grade] : judgements) {
        table.emplace_back(docid, grade);
        if (grade >= level) ++r.num_rel;
        if (grade > 0) r.ideal.push_back(grade);
    }
    std::sort(r.ideal.begin(), r.ideal.end(), [](int a, int b) { return a > b; });

    struct found {
        const ranked_entry* entry;
        int grade;
    };
    std::vector<found> hits;  // retrieved and judged
    for (const ranked_entry& e : entries) {
        if (e.second != e.second) throw config_error(nan_message(qid, e.first));
        auto it = std::lower_bound(table.begin(), table.end(), e.first,
                                   [](const auto& row, std::string_view id) { return row.first < id; });
        if (it != table.end() && it->first == e.first) hits.push_back({&e, it->second});
    }
    auto before = [](const ranked_entry& a, const ranked_entry& b) {
        return trec_before(a.first, a.second, b.first, b.second);
    };
    std::sort(hits.begin(), hits.end(), [&](const found& a, const found& b) { return before(*a.entry, *b.entry); });
    // ahead[i]: retrieved documents ranked after hits[i-1] and before hits[i] (hits excluded).
    std::vector<std::size_t> ahead(hits.size() + 1, 0);
    for (const ranked_entry& e : entries) {
        auto pos = std::partition_point(hits.begin(), hits.end(), [&](const found& h) { return before(*h.entry, e); });
        if (pos != hits.end() && pos->entry == &e) continue;  // a judged hit itself
        ++ahead[static_cast<std::size_t>(pos - hits.begin())];
    }
    r.judged.reserve(hits.size());
    std::size_t rank = 0;
    for (std::size_t i = 0; i < hits.size(); ++i) {
        rank += ahead[i] + 1;
        r.judged.emplace_back(rank, hits[i].grade);
    }
    return r;
}

inline double metric_value(const metric& m, const judged_ranking& r, int level) {
    // Cut at k; uncut metrics (k == 0) see every retrieved document.
    const std::size_t depth = m.k == 0 ? r.retrieved : std::min(m.k, r.retrieved);
    switch (m.kind) {
        case metric_kind::precision:
        case metric_kind::recall:
        case metric_kind::hit_rate: {
            std::size_t rel = 0;
            for (const auto& [rank, grade] : r.judged) {
                if (rank > depth) break;
                rel += grade >= level ? 1 : 0;
            }
            if (m.kind == metric_kind::precision) return static_cast<double>(rel) / static_cast<double>(m.k);
            if (m.kind == metric_kind::hit_rate) return rel > 0 ? 1.0 : 0.0;
            return r.num_rel == 0 ? 0.0 : static_cast<double>(rel) / static_cast<double>(r.num_rel);
        }
        case metric_kind::ndcg: {
            double dcg = 0.0, ideal = 0.0;
            for (const auto& [rank, grade] : r.judged) {
                if (rank > depth) break;
                if (grade > 0) dcg += static_cast<double>(grade) / std::log2(static_cast<double>(rank + 1));
            }
            const std::size_t ideal_depth = m.k == 0 ? r.ideal.size() : std::min(m.k, r.ideal.size());
            for (std::size_t i = 0; i < ideal_depth; ++i) {
                ideal += static_cast<double>(r.ideal[i]) / std::log2(static_cast<double>(i + 2));
            }
            return ideal > 0.0 ? dcg / ideal : 0.0;
        }
        case metric_kind::mrr: {
            for (const auto& [rank, grade] : r.judged) {
                if (rank > depth) break;
                if (grade >= level) return 1.0 / static_cast<double>(rank);
            }
            return 0.0;
        }
        case metric_kind::map: {
            if (r.num_rel == 0) return 0.0;
            double sum = 0.0;
            std::size_t rel = 0;
            for (const auto& [rank, grade] : r.judged) {
                if (rank > depth) break;
                if (grade >= level) {
                    ++rel;
                    sum += static_cast<double>(rel) / static_cast<double>(rank);
                }
            }
            return sum / static_cast<double>(r.num_rel);
        }
    }
    return 0.0;
}

// Shared driver: `entries_of(list, out)` fills (id, score) pairs for one query of the run.
template <class Run, class EntriesOf>
evaluation evaluate_run(const qrels& judgements, const Run& r, const eval_config& cfg,
                        EntriesOf entries_of) {
    const std::vector<metric> metrics = validate_eval_config(cfg);
    evaluation out;
    for (const metric& m : metrics) out.metrics.push_back(m.name());
    std::map<std::string, double> sums;
    for (const std::string& name : out.metrics) sums[name] = 0.0;
    std::vector<ranked_entry> entries;
    for (const auto& [qid, list] : r) {
        auto jq = judgements.find(qid);
        if (jq == judgements.end() || jq->second.empty()) {
            out.queries_without_qrels.push_back(qid);
            continue;
        }
        entries.clear();
        entries_of(qid, list, entries);
        const judged_ranking ranking = judge(qid, entries, jq->second, cfg.relevance_level);
        auto& values = out.per_query[qid];
        for (std::size_t i = 0; i < metrics.size(); ++i) {
            const double v = metric_value(metrics[i], ranking, cfg.relevance_level);
            values[out.metrics[i]] = v;
            sums[out.metrics[i]] += v;
        }
    }
    std::size_t judged_queries = 0;
    for (const auto& [qid, judged] : judgements) {
        if (judged.empty()) continue;
        ++judged_queries;
        if (r.find(qid) == r.end()) out.queries_without_run.push_back(qid);
    }
    out.queries = out.per_query.size();
    const std::size_t denominator = cfg.average_complete ? judged_queries : out.queries;
    for (const std::string& name : out.metrics) {
        out.mean[name] = denominator == 0 ? 0.0 : sums[name] / static_cast<double>(denominator);
    }
    return out;
}

}  // namespace detail

/**
 * @brief Evaluates a run against qrels with trec_eval's definitions (see the file comment).
 *
 * @param judgements the qrels
 * @param r query id -> hits, in any order (they are ranked by score as trec_eval ranks them)
 * @param cfg metrics, relevance level, averaging
 * @returns per-query values and means, keyed by canonical metric name
 * @throws config_error on an unknown metric name, k <= 0, an empty metric list, a relevance
 *         level < 1, a NaN score, or a document listed twice for one query
 * @note Thread safety: a free function with no shared state.
 *
 * @code
 * aitl::evaluation e = aitl::evaluate(aitl::read_qrels("qrels/test.tsv"),
 *                                     aitl::read_trec_run("bm25.trec"), {"recall@75", "ndcg@10"});
 * double r75 = e.mean.at("recall@75");
 * @endcode
 */
inline evaluation evaluate(const qrels& judgements, const run& r, const eval_config& cfg = {}) {
    return detail::evaluate_run(
        judgements, r, cfg,
        [](const std::string& qid, const hits& list, std::vector<detail::ranked_entry>& out) {
            for (const hit& h : list) out.emplace_back(h.id, static_cast<double>(h.score));
            detail::check_unique(qid, out);
        });
}

/// @brief evaluate() for a pytrec_eval-shaped run (query -> document -> score, double precision).
inline evaluation evaluate(const qrels& judgements, const scored_run& r, const eval_config& cfg = {}) {
    return detail::evaluate_run(
        judgements, r, cfg,
        [](const std::string&, const std::map<std::string, double>& docs,
           std::vector<detail::ranked_entry>& out) {
            for (const auto& [docid, score] : docs) out.emplace_back(docid, score);
        });
}

/// @brief evaluate() with the given metric names and the other settings at their defaults.
inline evaluation evaluate(const qrels& judgements, const run& r, const std::vector<std::string>& metrics) {
    eval_config cfg;
    cfg.metrics = metrics;
    return evaluate(judgements, r, cfg);
}

/// @brief evaluate() with the given metric names and the other settings at their defaults.
inline evaluation evaluate(const qrels& judgements, const scored_run& r,
                           const std::vector<std::string>& metrics) {
    eval_config cfg;
    cfg.metrics = metrics;
    return evaluate(judgements, r, cfg);
}

}  // namespace aitl
