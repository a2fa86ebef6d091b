#pragma once
/// @file flywheel/gate.hpp
/// @brief Gated promotion: a challenger replaces the champion only when it is significantly
/// better on fresh feedback and no worse (within a tolerance) on a frozen guard set.
///
/// The rule, in order (the first that applies decides; the reason names it with numbers):
///  1. Too few queries: the fresh set, or the guard set when guard metrics are configured, has
///     fewer than `min_queries` queries → rejected.
///  2. A primary metric significantly worse on fresh (p < alpha, diff < 0) → rejected, naming
///     the metric with the largest drop.
///  3. A guard metric on the guard set fell by more than its tolerance (mean difference <
///     -tolerance; no test, a plain margin) → rejected, naming the largest excess drop.
///  4. Primary metrics significantly better on fresh (p < alpha, diff > 0): all of them
///     (`require = "all"`) or at least one (`"any"`) → promoted; otherwise rejected.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../eval/significance.hpp"
#include "../text/escape.hpp"

namespace aitl {

/**
 * @brief Settings of gate().
 *
 * @code
 * aitl::gate_config cfg;
 * cfg.primary = {"recall@75"}; cfg.alpha = 0.01; cfg.tolerances["ndcg@10"] = 0.005;
 * @endcode
 */
struct gate_config {
    std::vector<std::string> primary{"recall@75", "precision@8"};  ///< tested on fresh; not empty, no repeats
    std::string require = "all";        ///< "all" or "any" primary must be significantly better
    double alpha = 0.05;                ///< significance level, in (0, 0.5]
    std::string method = "permutation"; ///< "permutation" or "bootstrap" (see paired_test)
    std::size_t rounds = 10000;         ///< rounds of the test, in [1, 10^8]
    std::vector<std::string> guard{"ndcg@10", "mrr@10", "recall@75", "precision@8"};  ///< checked on guard; may be empty
    double tolerance = 0.01;            ///< allowed drop of a guard metric's mean (absolute), >= 0
    std::map<std::string, double> tolerances;  ///< per-metric overrides of `tolerance`, each >= 0
    std::size_t min_queries = 30;       ///< fewer fresh (or guard) queries → rejected; >= 1
    std::uint64_t seed = 0;             ///< seed of the tests

    /// @returns the tolerance of guard metric `m`
    double tolerance_of(const std::string& m) const {
        auto it = tolerances.find(m);
        return it == tolerances.end() ? tolerance : it->second;
    }
};

namespace detail {
inline void gate_check_names(const std::vector<std::string>& v, const char* where, const char* field, bool allow_empty) {
    if (!allow_empty && v.empty())
        throw config_error(std::string(where) + ": " + field + " is empty (got [], expected at least one metric name)");
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i].empty())
            throw config_error(std::string(where) + ": " + field + "[" + std::to_string(i) +
                               "] is empty (got '', expected a metric name such as 'recall@75')");
        for (std::size_t j = 0; j < i; ++j)
            if (v[j] == v[i])
                throw config_error(std::string(where) + ": " + field + " repeats a metric (got '" + v[i] +
                                   "' twice, expected each once)");
    }
}

inline std::string fmt_num(double x, int digits = 3) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, x);
    return buf;
}

inline std::string fmt_signed(double x, int digits = 3) { return (x >= 0 ? "+" : "") + fmt_num(x, digits); }

// p-values: up to 4 decimals without trailing zeros ("0.003", "0.0001"), scientific below 5e-5
inline std::string fmt_p(double p) {
    char buf[64];
    if (p < 5e-5) {
        std::snprintf(buf, sizeof buf, "%.1e", p);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.4f", p);
    std::string s = buf;
    while (s.size() > 3 && s.back() == '0') s.pop_back();
    return s;
}
}  // namespace detail

/// @throws config_error naming the field: empty/repeated primary, repeated guard names, require
/// not "all"/"any", alpha outside (0, 0.5], unknown method, rounds outside [1, 10^8], a negative
/// or non-finite tolerance, a per-metric tolerance for a metric not in `guard`, min_queries 0.
inline void validate(const gate_config& c, const char* where = "gate_config") {
    detail::gate_check_names(c.primary, where, "primary", false);
    detail::gate_check_names(c.guard, where, "guard", true);
    if (c.require != "all" && c.require != "any")
        throw config_error(std::string(where) + ": unknown require (got '" + c.require +
                           "', expected 'all' or 'any')");
    if (!(c.alpha > 0.0 && c.alpha <= 0.5))
        throw config_error(std::string(where) + ": alpha out of range (got " + std::to_string(c.alpha) +
                           ", expected 0 < alpha <= 0.5)");
    significance_config s;
    s.method = c.method;
    s.rounds = c.rounds;
    validate(s, where);
    if (!std::isfinite(c.tolerance) || c.tolerance < 0)
        throw config_error(std::string(where) + ": tolerance out of range (got " + std::to_string(c.tolerance) +
                           ", expected finite >= 0)");
    for (const auto& [m, t] : c.tolerances) {
        if (std::find(c.guard.begin(), c.guard.end(), m) == c.guard.end())
            throw config_error(std::string(where) + ": tolerances names a metric not in guard (got '" + m +
                               "', expected one of the guard metrics)");
        if (!std::isfinite(t) || t < 0)
            throw config_error(std::string(where) + ": tolerances['" + m + "'] out of range (got " +
                               std::to_string(t) + ", expected finite >= 0)");
    }
    if (c.min_queries < 1)
        throw config_error(std::string(where) + ": min_queries out of range (got 0, expected >= 1)");
}

inline void to_json(nlohmann::json& j, const gate_config& c) {
    j = nlohmann::json{{"primary", c.primary},     {"require", c.require},         {"alpha", c.alpha},
                       {"method", c.method},       {"rounds", c.rounds},           {"guard", c.guard},
                       {"tolerance", c.tolerance}, {"tolerances", c.tolerances},   {"min_queries", c.min_queries},
                       {"seed", c.seed}};
}

/// @brief Reads the JSON form; missing keys keep their defaults. @throws config_error
inline void from_json(const nlohmann::json& j, gate_config& c) {
    const char* t = "gate_config";
    detail::config_check_keys(j, t, {"primary", "require", "alpha", "method", "rounds", "guard", "tolerance",
                                     "tolerances", "min_queries", "seed"});
    gate_config out;
    detail::config_read_key(j, t, "primary", out.primary);
    detail::config_read_key(j, t, "require", out.require);
    detail::config_read_key(j, t, "alpha", out.alpha);
    detail::config_read_key(j, t, "method", out.method);
    detail::config_read_key(j, t, "rounds", out.rounds);
    detail::config_read_key(j, t, "guard", out.guard);
    detail::config_read_key(j, t, "tolerance", out.tolerance);
    detail::config_read_key(j, t, "tolerances", out.tolerances);
    detail::config_read_key(j, t, "min_queries", out.min_queries);
    detail::config_read_key(j, t, "seed", out.seed);
    validate(out, "gate_config::from_json");
    c = std::move(out);
}

/// @brief Per-query scores of one system: metric name → one score per query, on the fresh
/// set (feedback the challenger was not trained on) and on the frozen guard set. Within a set
/// every metric lists the same queries in the same order, for both systems.
struct gate_scores {
    std::map<std::string, std::vector<double>> fresh;
    std::map<std::string, std::vector<double>> guard;
};

/// @brief One metric's comparison in a gate decision.
struct gate_check {
    std::string metric;
    std::string set;          ///< "fresh" or "guard"
    paired_result result;     ///< the paired test (diff = challenger - champion)
    bool better = false;      ///< p < alpha and diff > 0
    bool worse = false;       ///< p < alpha and diff < 0
    double tolerance = 0;     ///< guard checks: the allowed drop
    bool regression = false;  ///< guard checks: diff < -tolerance
};

/**
 * @brief The outcome of gate(): promote or not, why, and every comparison.
 * @note Thread safety: a plain value.
 */
struct gate_decision {
    bool promote = false;
    std::string reason;            ///< one line naming the deciding metric(s) and numbers
    std::string deciding_metric;   ///< "" when no metric decided (too few queries)
    std::string deciding_set;      ///< "fresh", "guard" or ""
    std::size_t fresh_queries = 0;
    std::size_t guard_queries = 0;
    std::vector<gate_check> fresh;  ///< primary metrics on the fresh set
    std::vector<gate_check> guard;  ///< guard metrics on the guard set
    std::vector<std::string> guard_regressions;  ///< guard metrics that fell beyond tolerance
    gate_config config;

    /// @returns `{promote, reason, deciding_metric, deciding_set, fresh_queries, guard_queries,
    /// fresh: [{metric, set, better, worse, tolerance, regression, result}], guard: [...],
    /// guard_regressions, config}`
    nlohmann::json to_json() const {
        auto checks = [](const std::vector<gate_check>& v) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& c : v)
                a.push_back({{"metric", c.metric}, {"set", c.set}, {"better", c.better}, {"worse", c.worse},
                             {"tolerance", c.tolerance}, {"regression", c.regression}, {"result", c.result}});
            return a;
        };
        return {{"promote", promote},
                {"reason", reason},
                {"deciding_metric", deciding_metric},
                {"deciding_set", deciding_set},
                {"fresh_queries", fresh_queries},
                {"guard_queries", guard_queries},
                {"fresh", checks(fresh)},
                {"guard", checks(guard)},
                {"guard_regressions", guard_regressions},
                {"config", config}};
    }

    /// @returns a Markdown table: set, metric, champion, challenger, diff, CI, p, verdict,
    /// preceded by the decision and reason. The reason, set and metric names (which may come
    /// from a config file) are escaped with `escape_markdown`.
    std::string to_markdown() const {
        using detail::fmt_num;
        using detail::fmt_signed;
        const std::size_t colon = reason.find(": ");  // the reason starts with "promoted: " or "rejected: "
        std::string s = std::string("**") + (promote ? "promoted" : "rejected") +
                        "**: " + escape_markdown(colon == std::string::npos ? reason : reason.substr(colon + 2)) + "\n\n";
        char level[32];
        std::snprintf(level, sizeof level, "%g", 100 * (1 - config.alpha));
        s += "| set | metric | n | champion | challenger | diff | " + std::string(level) +
             "% CI | p | verdict |\n|---|---|---:|---:|---:|---:|---|---:|---|\n";
        auto row = [&](const gate_check& c) {
            const auto& r = c.result;
            std::string verdict;
            if (c.set == "fresh") verdict = c.better ? "better" : c.worse ? "worse" : "no significant change";
            else verdict = c.regression ? "regression (tolerance " + fmt_num(c.tolerance) + ")" : "ok";
            s += "| " + escape_markdown(c.set) + " | " + escape_markdown(c.metric) + " | " + std::to_string(r.n) + " | " + fmt_num(r.mean_base, 4) +
                 " | " + fmt_num(r.mean_challenger, 4) + " | " + fmt_signed(r.mean_diff, 4) + " | [" +
                 fmt_signed(r.ci_low, 4) + ", " + fmt_signed(r.ci_high, 4) + "] | " + detail::fmt_p(r.p_value) +
                 " | " + verdict + " |\n";
        };
        for (const auto& c : fresh) row(c);
        for (const auto& c : guard) row(c);
        return s;
    }
};

namespace detail {
inline std::size_t gate_set_size(const std::map<std::string, std::vector<double>>& champ,
                                 const std::map<std::string, std::vector<double>>& chall,
                                 const std::vector<std::string>& metrics, const char* set) {
    std::size_t n = 0;
    bool first = true;
    for (const std::string& m : metrics) {
        auto a = champ.find(m), b = chall.find(m);
        if (a == champ.end() || b == chall.end())
            throw config_error(std::string("gate: no per-query scores for '") + m + "' on the " + set + " set (got none for the " +
                               (a == champ.end() ? "champion" : "challenger") + ", expected a list per " +
                               (std::string(set) == "fresh" ? "primary" : "guard") + " metric)");
        for (const auto* v : {&a->second, &b->second}) {
            if (first) {
                n = v->size();
                first = false;
            } else if (v->size() != n) {
                throw dimension_error(std::string("gate: per-query scores differ in length on the ") + set + " set (got " +
                                      std::to_string(v->size()) + " for '" + m + "' of the " +
                                      (v == &a->second ? "champion" : "challenger") + ", expected " +
                                      std::to_string(n) + ", the same queries for every metric and both systems)");
            }
        }
    }
    return n;
}
}  // namespace detail

/**
 * @brief Decides whether `challenger` replaces `champion` (see the file comment for the rule).
 *
 * @param champion    per-query scores of the serving model
 * @param challenger  per-query scores of the candidate, same queries
 * @param config      validated
 * @returns the decision; a rejection is a normal result, not an exception
 * @throws config_error on an invalid config, or a primary (guard) metric with no scores on the
 *         fresh (guard) set
 * @throws dimension_error when score lists of a set differ in length, or a score is not finite
 * @note Thread safety: a pure function.
 *
 * @code
 * aitl::gate_scores champ{{{"recall@75", r0}, {"precision@8", p0}}, {{"ndcg@10", g0}}};
 * aitl::gate_scores chall{{{"recall@75", r1}, {"precision@8", p1}}, {{"ndcg@10", g1}}};
 * aitl::gate_config cfg; cfg.guard = {"ndcg@10"};
 * aitl::gate_decision d = aitl::gate(champ, chall, cfg);
 * std::cout << d.reason << "\n" << d.to_markdown();
 * @endcode
 */
inline gate_decision gate(const gate_scores& champion, const gate_scores& challenger, const gate_config& config = {}) {
    using detail::fmt_num;
    using detail::fmt_p;
    using detail::fmt_signed;
    validate(config, "gate");
    gate_decision d;
    d.config = config;
    d.fresh_queries = detail::gate_set_size(champion.fresh, challenger.fresh, config.primary, "fresh");
    d.guard_queries = detail::gate_set_size(champion.guard, challenger.guard, config.guard, "guard");

    significance_config sc;
    sc.method = config.method;
    sc.rounds = config.rounds;
    sc.seed = config.seed;
    sc.confidence = 1.0 - config.alpha;
    for (const std::string& m : config.primary) {
        gate_check c;
        c.metric = m;
        c.set = "fresh";
        c.result = paired_test(champion.fresh.at(m), challenger.fresh.at(m), sc);
        c.better = c.result.n > 0 && c.result.p_value < config.alpha && c.result.mean_diff > 0;
        c.worse = c.result.n > 0 && c.result.p_value < config.alpha && c.result.mean_diff < 0;
        d.fresh.push_back(std::move(c));
    }
    for (const std::string& m : config.guard) {
        gate_check c;
        c.metric = m;
        c.set = "guard";
        c.result = paired_test(champion.guard.at(m), challenger.guard.at(m), sc);
        c.better = c.result.n > 0 && c.result.p_value < config.alpha && c.result.mean_diff > 0;
        c.worse = c.result.n > 0 && c.result.p_value < config.alpha && c.result.mean_diff < 0;
        c.tolerance = config.tolerance_of(m);
        c.regression = c.result.mean_diff < -c.tolerance;
        if (c.regression) d.guard_regressions.push_back(m);
        d.guard.push_back(std::move(c));
    }

    // 1. too few queries
    if (d.fresh_queries < config.min_queries) {
        d.reason = "rejected: too few fresh queries (got " + std::to_string(d.fresh_queries) + ", expected at least " +
                   std::to_string(config.min_queries) + ")";
        d.deciding_set = "fresh";
        return d;
    }
    if (!config.guard.empty() && d.guard_queries < config.min_queries) {
        d.reason = "rejected: too few guard queries (got " + std::to_string(d.guard_queries) + ", expected at least " +
                   std::to_string(config.min_queries) + ")";
        d.deciding_set = "guard";
        return d;
    }
    // 2. a primary significantly worse on fresh
    const gate_check* worst = nullptr;
    for (const auto& c : d.fresh)
        if (c.worse && (!worst || c.result.mean_diff < worst->result.mean_diff)) worst = &c;
    if (worst) {
        const auto& r = worst->result;
        d.reason = "rejected: " + worst->metric + " on fresh fell " + fmt_num(r.mean_base) + " -> " +
                   fmt_num(r.mean_challenger) + " (diff " + fmt_signed(r.mean_diff) + ", p=" + fmt_p(r.p_value) + ")";
        d.deciding_metric = worst->metric;
        d.deciding_set = "fresh";
        return d;
    }
    // 3. guard regression
    const gate_check* reg = nullptr;
    for (const auto& c : d.guard)
        if (c.regression && (!reg || c.result.mean_diff + c.tolerance < reg->result.mean_diff + reg->tolerance)) reg = &c;
    if (reg) {
        const auto& r = reg->result;
        d.reason = "rejected: guard regression: " + reg->metric + " on guard fell " + fmt_num(r.mean_base) + " -> " +
                   fmt_num(r.mean_challenger) + " (diff " + fmt_signed(r.mean_diff) + ", tolerance " +
                   fmt_num(reg->tolerance) + ", p=" + fmt_p(r.p_value) + ")";
        d.deciding_metric = reg->metric;
        d.deciding_set = "guard";
        return d;
    }
    // 4. significant gains
    std::size_t better = 0;
    std::string list;
    const gate_check* weakest = nullptr;  // the primary that failed (largest p)
    for (const auto& c : d.fresh) {
        better += c.better ? 1 : 0;
        if (!list.empty()) list += ", ";
        list += c.metric + " " + fmt_signed(c.result.mean_diff) + " (p=" + fmt_p(c.result.p_value) + ")";
        if (!c.better && (!weakest || c.result.p_value > weakest->result.p_value)) weakest = &c;
    }
    const bool ok = config.require == "all" ? better == d.fresh.size() : better > 0;
    std::string guard_note;
    if (config.guard.empty()) {
        guard_note = "no guard metric configured";
    } else {
        double max_tol = config.tolerance;
        for (const auto& c : d.guard) max_tol = std::max(max_tol, c.tolerance);
        guard_note = "no guard regression beyond " + fmt_num(max_tol, max_tol < 0.01 && max_tol > 0 ? 4 : 2) + " (" +
                     std::to_string(d.guard_queries) + " guard queries)";
    }
    if (ok) {
        d.promote = true;
        d.reason = "promoted: " + list + " on fresh (" + std::to_string(d.fresh_queries) + " queries); " + guard_note;
        for (const auto& c : d.fresh)
            if (c.better) {
                d.deciding_metric = c.metric;
                break;
            }
        d.deciding_set = "fresh";
        return d;
    }
    d.reason = "rejected: no significant gain on fresh (require " + config.require + " at alpha " +
               fmt_num(config.alpha, 3) + "): " + list;
    d.deciding_metric = weakest ? weakest->metric : "";
    d.deciding_set = "fresh";
    return d;
}

}  // namespace aitl
