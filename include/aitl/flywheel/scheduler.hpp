#pragma once
/// @file flywheel/scheduler.hpp
/// @brief When to run a flywheel cycle and what to retrain: count, cadence and drift triggers.
///
/// Triggers (each fires on its own; the decision runs when any fires):
///  - count: new annotations of a type since the last run >= `min_counts[type]`.
///    knowledge_relevance → encoder + reranker; preference, adoption → reward_model;
///    missing_knowledge → nothing to retrain (the cycle refreshes the knowledge-gap report).
///  - cadence: `cadence_ms` since the last run (before the first run: since the first
///    annotation observed) with at least `cadence_min_annotations` new annotations → all models.
///  - drift: adoption rate (used as-is or with edits / adoption annotations) or relevance rate
///    (relevant marks / relevance marks of shown references) of the annotations since the last
///    run fell by >= `drift_threshold` (absolute) below the baseline window's, both windows
///    holding >= `drift_min_window` judgements → all models.
/// The baseline window is the annotations seen before the first run (record_run() moves the
/// window since the last run into the baseline while the baseline is empty, or always when
/// asked to re-baseline, e.g. after a promotion).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../feedback/annotation.hpp"

namespace aitl {

/**
 * @brief Settings of the scheduler.
 *
 * @code
 * aitl::scheduler_config cfg;
 * cfg.min_counts = {{"knowledge_relevance", 100}};  // other types: no count trigger
 * cfg.cadence_ms = 24 * 3600 * 1000;                // at least daily
 * @endcode
 */
struct scheduler_config {
    /// annotation type name (preference, adoption, knowledge_relevance, missing_knowledge) →
    /// new annotations that trigger a run; a type absent or mapped to 0 has no count trigger
    std::map<std::string, std::size_t> min_counts{
        {"preference", 200}, {"adoption", 200}, {"knowledge_relevance", 200}, {"missing_knowledge", 50}};
    std::int64_t cadence_ms = 7LL * 24 * 3600 * 1000;  ///< run at least this often; 0 = no cadence trigger; >= 0
    std::size_t cadence_min_annotations = 1;         ///< cadence needs this many new annotations
    double drift_threshold = 0.10;                   ///< absolute drop of a rate, in (0, 1]
    std::size_t drift_min_window = 100;              ///< judgements per window; 0 = no drift trigger
};

/// @throws config_error: an unknown type in min_counts, a negative cadence_ms, drift_threshold
/// outside (0, 1].
inline void validate(const scheduler_config& c, const char* where = "scheduler_config") {
    for (const auto& kv : c.min_counts) {
        bool known = false;
        for (auto n : detail::enum_names<annotation_kind>::names) known = known || kv.first == n;
        if (!known)
            throw config_error(std::string(where) + ": unknown annotation type in min_counts (got '" + kv.first +
                               "', expected preference, adoption, knowledge_relevance or missing_knowledge)");
    }
    if (c.cadence_ms < 0)
        throw config_error(std::string(where) + ": cadence_ms out of range (got " + std::to_string(c.cadence_ms) +
                           ", expected >= 0; 0 turns the cadence trigger off)");
    if (!(c.drift_threshold > 0.0 && c.drift_threshold <= 1.0))
        throw config_error(std::string(where) + ": drift_threshold out of range (got " +
                           std::to_string(c.drift_threshold) + ", expected 0 < drift_threshold <= 1)");
}

inline void to_json(nlohmann::json& j, const scheduler_config& c) {
    j = nlohmann::json{{"min_counts", c.min_counts},
                       {"cadence_ms", c.cadence_ms},
                       {"cadence_min_annotations", c.cadence_min_annotations},
                       {"drift_threshold", c.drift_threshold},
                       {"drift_min_window", c.drift_min_window}};
}

/// @brief Reads the JSON form; missing keys keep their defaults. @throws config_error
inline void from_json(const nlohmann::json& j, scheduler_config& c) {
    const char* t = "scheduler_config";
    detail::config_check_keys(j, t, {"min_counts", "cadence_ms", "cadence_min_annotations", "drift_threshold",
                                     "drift_min_window"});
    scheduler_config out;
    detail::config_read_key(j, t, "min_counts", out.min_counts);
    detail::config_read_key(j, t, "cadence_ms", out.cadence_ms);
    detail::config_read_key(j, t, "cadence_min_annotations", out.cadence_min_annotations);
    detail::config_read_key(j, t, "drift_threshold", out.drift_threshold);
    detail::config_read_key(j, t, "drift_min_window", out.drift_min_window);
    validate(out, "scheduler_config::from_json");
    c = std::move(out);
}

/// @brief A rate as counts: `positive` of `n` judgements.
struct rate_window {
    std::size_t n = 0;
    std::size_t positive = 0;
    double rate() const noexcept { return n ? static_cast<double>(positive) / static_cast<double>(n) : 0.0; }
    friend bool operator==(const rate_window& a, const rate_window& b) { return a.n == b.n && a.positive == b.positive; }
};

/**
 * @brief What the scheduler knows: new annotations per type since the last run, when it ran,
 * and the adoption / relevance rates of the baseline window and of the window since the last run.
 *
 * @note Thread safety: a plain value; not synchronised.
 * @code
 * aitl::scheduler_state st;
 * for (const aitl::annotation& a : new_annotations) st.observe(a);
 * if (sched.due(st, now).run) { run_cycle(); st.record_run(now); }
 * @endcode
 */
struct scheduler_state {
    std::array<std::size_t, 4> counts{};  ///< new annotations since the last run, by annotation_kind
    std::int64_t last_run_ms = -1;        ///< when the last run happened; -1 = never
    std::int64_t window_start_ms = -1;    ///< earliest annotation timestamp since the last run; -1 = none
    rate_window baseline_adoption, baseline_relevance;  ///< the reference window
    rate_window recent_adoption, recent_relevance;      ///< since the last run

    /// @brief Counts one annotation (and its adoption outcome or relevance marks).
    void observe(const annotation& a) {
        counts[static_cast<std::size_t>(a.kind())] += 1;
        if (window_start_ms < 0 || a.timestamp_ms < window_start_ms) window_start_ms = a.timestamp_ms;
        if (const auto* d = std::get_if<adoption>(&a.body)) {
            recent_adoption.n += 1;
            recent_adoption.positive += d->outcome != adoption_outcome::not_used ? 1 : 0;
        } else if (const auto* r = std::get_if<knowledge_relevance>(&a.body)) {
            for (const auto& l : r->labels) {
                recent_relevance.n += 1;
                recent_relevance.positive += l.relevant ? 1 : 0;
            }
        }
    }

    /**
     * @brief Records that a cycle ran at `now_ms`: clears the counts and the window since the
     * last run. That window becomes the baseline when `rebaseline` is set or no baseline exists yet.
     */
    void record_run(std::int64_t now_ms, bool rebaseline = false) {
        if (rebaseline || baseline_adoption.n == 0) baseline_adoption = recent_adoption;
        if (rebaseline || baseline_relevance.n == 0) baseline_relevance = recent_relevance;
        recent_adoption = {};
        recent_relevance = {};
        counts = {};
        last_run_ms = now_ms;
        window_start_ms = -1;
    }

    /// @returns the new annotations of type `k` since the last run
    std::size_t count(annotation_kind k) const { return counts[static_cast<std::size_t>(k)]; }

    friend bool operator==(const scheduler_state& a, const scheduler_state& b) {
        return a.counts == b.counts && a.last_run_ms == b.last_run_ms && a.window_start_ms == b.window_start_ms &&
               a.baseline_adoption == b.baseline_adoption && a.baseline_relevance == b.baseline_relevance &&
               a.recent_adoption == b.recent_adoption && a.recent_relevance == b.recent_relevance;
    }
};

inline void to_json(nlohmann::json& j, const rate_window& w) {
    j = nlohmann::json{{"n", w.n}, {"positive", w.positive}, {"rate", w.rate()}};
}

inline void from_json(const nlohmann::json& j, rate_window& w) {
    const char* t = "rate_window";
    detail::config_check_keys(j, t, {"n", "positive", "rate"});
    rate_window out;
    detail::config_read_key(j, t, "n", out.n);
    detail::config_read_key(j, t, "positive", out.positive);
    if (out.positive > out.n)
        throw config_error("rate_window::from_json: positive exceeds n (got " + std::to_string(out.positive) + " of " +
                           std::to_string(out.n) + ", expected positive <= n)");
    w = out;
}

/// @brief JSON form: `{counts: {type: n}, last_run_ms, window_start_ms, baseline: {adoption:
/// {n, positive, rate}, relevance: {...}}, recent: {...}}` ("rate" is informative on input).
inline void to_json(nlohmann::json& j, const scheduler_state& s) {
    nlohmann::json counts = nlohmann::json::object();
    for (std::size_t k = 0; k < 4; ++k)
        counts[std::string(detail::enum_names<annotation_kind>::names[k])] = s.counts[k];
    j = nlohmann::json{{"counts", counts},
                       {"last_run_ms", s.last_run_ms},
                       {"window_start_ms", s.window_start_ms},
                       {"baseline", {{"adoption", s.baseline_adoption}, {"relevance", s.baseline_relevance}}},
                       {"recent", {{"adoption", s.recent_adoption}, {"relevance", s.recent_relevance}}}};
}

/// @brief Reads the JSON form; missing keys keep their defaults. @throws config_error
inline void from_json(const nlohmann::json& j, scheduler_state& s) {
    const char* t = "scheduler_state";
    detail::config_check_keys(j, t, {"counts", "last_run_ms", "window_start_ms", "baseline", "recent"});
    scheduler_state out;
    if (auto it = j.find("counts"); it != j.end()) {
        std::map<std::string, std::size_t> m;
        detail::config_read_key(j, t, "counts", m);
        for (const auto& [name, n] : m)
            out.counts[static_cast<std::size_t>(detail::enum_from_name<annotation_kind>(name, "scheduler_state::from_json", "counts"))] = n;
    }
    detail::config_read_key(j, t, "last_run_ms", out.last_run_ms);
    detail::config_read_key(j, t, "window_start_ms", out.window_start_ms);
    for (const char* w : {"baseline", "recent"}) {
        auto it = j.find(w);
        if (it == j.end()) continue;
        detail::config_check_keys(*it, t, {"adoption", "relevance"});
        rate_window& ad = std::string(w) == "baseline" ? out.baseline_adoption : out.recent_adoption;
        rate_window& re = std::string(w) == "baseline" ? out.baseline_relevance : out.recent_relevance;
        if (it->contains("adoption")) from_json(it->at("adoption"), ad);
        if (it->contains("relevance")) from_json(it->at("relevance"), re);
    }
    s = std::move(out);
}

/// @brief The answer of scheduler::due().
struct schedule_decision {
    bool run = false;                   ///< a trigger fired
    std::vector<std::string> retrain;   ///< subset of "encoder", "reranker", "reward_model", in that order
    std::vector<std::string> reasons;   ///< what fired (or, when nothing did, how far each trigger is), with numbers

    /// @returns `{run, retrain, reasons}`
    nlohmann::json to_json() const { return {{"run", run}, {"retrain", retrain}, {"reasons", reasons}}; }
};

namespace detail {
inline std::string fmt_duration(std::int64_t ms) {
    char buf[64];
    const double x = static_cast<double>(ms);
    if (ms >= 86400000) std::snprintf(buf, sizeof buf, "%.1f d", x / 86400000.0);
    else if (ms >= 3600000) std::snprintf(buf, sizeof buf, "%.1f h", x / 3600000.0);
    else if (ms >= 60000) std::snprintf(buf, sizeof buf, "%.1f min", x / 60000.0);
    else if (ms >= 1000) std::snprintf(buf, sizeof buf, "%.1f s", x / 1000.0);
    else std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
    return buf;
}
inline std::string fmt_rate(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", x);
    return buf;
}
}  // namespace detail

/**
 * @brief Decides when a flywheel cycle runs and which models it retrains (see the file comment).
 *
 * @note Thread safety: immutable after construction; due() may be called concurrently.
 * @code
 * aitl::scheduler sched(aitl::scheduler_config{});
 * aitl::schedule_decision d = sched.due(state, now_ms);
 * if (d.run) for (auto& r : d.reasons) std::cout << r << "\n";
 * @endcode
 */
class scheduler {
public:
    /// @throws config_error when the config is invalid
    explicit scheduler(scheduler_config config = {}) : config_(std::move(config)) { validate(config_, "scheduler"); }

    const scheduler_config& config() const noexcept { return config_; }

    /// @brief Whether a cycle is due at `now_ms` and what it retrains. Not due is a normal result.
    schedule_decision due(const scheduler_state& s, std::int64_t now_ms) const {
        using detail::fmt_rate;
        schedule_decision d;
        bool enc = false, rew = false, all = false;
        std::vector<std::string> waiting;
        // count
        for (std::size_t k = 0; k < 4; ++k) {
            const std::string name(detail::enum_names<annotation_kind>::names[k]);
            auto it = config_.min_counts.find(name);
            if (it == config_.min_counts.end() || it->second == 0) continue;
            const std::string nums = std::to_string(s.counts[k]) + " new " + name + " annotations since the last run";
            if (s.counts[k] >= it->second) {
                d.run = true;
                const auto kind = static_cast<annotation_kind>(k);
                std::string what;
                if (kind == annotation_kind::knowledge_relevance) enc = true, what = "encoder, reranker";
                else if (kind == annotation_kind::missing_knowledge) what = "knowledge-gap report only";
                else rew = true, what = "reward_model";
                d.reasons.push_back("count: " + nums + " (threshold " + std::to_string(it->second) + ") -> " + what);
            } else {
                waiting.push_back("count: " + nums + " (threshold " + std::to_string(it->second) + ")");
            }
        }
        // cadence
        std::size_t total = 0;
        for (auto c : s.counts) total += c;
        if (config_.cadence_ms > 0) {
            const std::int64_t since = s.last_run_ms >= 0 ? s.last_run_ms : s.window_start_ms;
            const char* from = s.last_run_ms >= 0 ? "the last run" : "the first annotation";
            if (since < 0) {
                waiting.push_back("cadence: no run and no annotation yet");
            } else {
                const std::int64_t age = now_ms - since;
                const std::string nums = detail::fmt_duration(std::max<std::int64_t>(age, 0)) + " since " + from +
                                         " (cadence " + detail::fmt_duration(config_.cadence_ms) + ")";
                if (age >= config_.cadence_ms && total >= config_.cadence_min_annotations) {
                    d.run = all = true;
                    d.reasons.push_back("cadence: " + nums + " with " + std::to_string(total) +
                                        " new annotations -> all models");
                } else if (age >= config_.cadence_ms) {
                    waiting.push_back("cadence: " + nums + " but only " + std::to_string(total) +
                                      " new annotations (expected at least " +
                                      std::to_string(config_.cadence_min_annotations) + ")");
                } else {
                    waiting.push_back("cadence: " + nums);
                }
            }
        }
        // drift
        if (config_.drift_min_window > 0) {
            auto check = [&](const char* what, const rate_window& base, const rate_window& rec) {
                const std::size_t w = config_.drift_min_window;
                if (base.n < w || rec.n < w) {
                    waiting.push_back(std::string("drift: ") + what + " windows too small (baseline " +
                                      std::to_string(base.n) + ", recent " + std::to_string(rec.n) +
                                      " judgements, expected at least " + std::to_string(w) + " each)");
                    return;
                }
                const double drop = base.rate() - rec.rate();
                const std::string nums = std::string(what) + " " + fmt_rate(base.rate()) + " -> " + fmt_rate(rec.rate()) +
                                         " (drop " + fmt_rate(drop) + ", threshold " + fmt_rate(config_.drift_threshold) +
                                         "; baseline " + std::to_string(base.n) + ", recent " + std::to_string(rec.n) +
                                         " judgements)";
                if (drop >= config_.drift_threshold - 1e-12) {
                    d.run = all = true;
                    d.reasons.push_back("drift: " + nums + " -> all models");
                } else {
                    waiting.push_back("drift: " + nums);
                }
            };
            check("adoption rate", s.baseline_adoption, s.recent_adoption);
            check("relevance rate", s.baseline_relevance, s.recent_relevance);
        }
        if (all || enc) {
            d.retrain.push_back("encoder");
            d.retrain.push_back("reranker");
        }
        if (all || rew) d.retrain.push_back("reward_model");
        if (!d.run) d.reasons = std::move(waiting);
        return d;
    }

private:
    scheduler_config config_;
};

}  // namespace aitl
