#pragma once
/// @file flywheel/gaps.hpp
/// @brief The knowledge-gap report: missing-knowledge flags and "nothing relevant shown"
/// impressions read from the store, embedded, clustered and ranked by frequency and recency,
/// for the owners of the knowledge base (`collect_gap_signals`, `build_gap_report`,
/// `to_markdown`).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../concepts.hpp"
#include "../detail/clustering.hpp"
#include "../error.hpp"
#include "../feedback/annotation.hpp"
#include "../feedback/impression.hpp"
#include "../store/store_types.hpp"
#include "../text/analyzer.hpp"
#include "../text/escape.hpp"
#include "../types.hpp"
#include "gaps_types.hpp"

namespace aitl {

/**
 * @brief Reads the gap signals of a store: one per impression that has, among the annotations
 * with seq > `since`, a missing-knowledge flag (kind missing_knowledge, with the descriptions), or
 * else knowledge-relevance annotations that all mark every shown reference not relevant and
 * select none by hand (kind no_relevant, when `include_no_relevant`).
 *
 * @tparam Store the store contract (concepts.hpp), e.g. `sqlite_store`.
 * @returns The signals in the order of their first annotation, and through `watermark` (when not
 *          null) the largest annotation seq read.
 * @throws config_error when since < 0; whatever the store throws.
 * @note Thread safety: as the store's reads (the SQLite store's are thread-safe).
 */
template <class Store>
std::vector<gap_signal> collect_gap_signals(const Store& store, std::int64_t since = 0, bool include_no_relevant = true,
                                            std::int64_t* watermark = nullptr) {
    require_store<Store>();
    if (since < 0)
        throw config_error("collect_gap_signals: since out of range (got " + std::to_string(since) + ", expected >= 0)");
    struct acc {
        std::vector<const annotation*> flags;
        std::size_t relevance = 0, positive = 0;
        std::vector<std::string> selected;
        std::int64_t seq = 0;
    };
    const std::vector<annotation> anns = store.annotations_since(since, 0);  // 0: no limit
    std::vector<std::string> order;
    std::unordered_map<std::string, acc> by;
    std::int64_t top = since;
    for (const auto& a : anns) {
        top = std::max(top, a.seq);
        const bool flag = a.kind() == annotation_kind::missing_knowledge;
        if (!flag && a.kind() != annotation_kind::knowledge_relevance) continue;
        auto it = by.find(a.impression_id);
        if (it == by.end()) {
            order.push_back(a.impression_id);
            it = by.emplace(a.impression_id, acc{}).first;
        }
        acc& s = it->second;
        s.seq = std::max(s.seq, a.seq);
        if (flag) {
            s.flags.push_back(&a);
        } else {
            const auto& r = std::get<knowledge_relevance>(a.body);
            ++s.relevance;
            bool any = !r.selected.empty();
            for (const auto& l : r.labels) any = any || l.relevant;
            if (any) ++s.positive;
            for (const auto& d : r.selected)
                if (std::find(s.selected.begin(), s.selected.end(), d) == s.selected.end()) s.selected.push_back(d);
        }
    }
    if (watermark) *watermark = top;
    std::vector<gap_signal> out;
    for (const auto& id : order) {
        const acc& s = by.at(id);
        const bool is_flag = !s.flags.empty();
        if (!is_flag && !(include_no_relevant && s.relevance > 0 && s.positive == 0)) continue;
        const impression imp = store.get_impression(id);
        gap_signal g;
        g.impression_id = id;
        g.case_id = imp.case_id;
        g.query = imp.query;
        g.kind = is_flag ? gap_signal_kind::missing_knowledge : gap_signal_kind::no_relevant;
        for (const annotation* a : s.flags) {
            const auto& m = std::get<missing_knowledge>(a->body);
            g.descriptions.push_back(m.description);
            if (!m.suggested_source.empty()) g.suggested_sources.push_back(m.suggested_source);
        }
        g.selected = s.selected;
        g.timestamp_ms = imp.timestamp_ms;
        g.seq = s.seq;
        out.push_back(std::move(g));
    }
    return out;
}

namespace detail {

inline std::vector<gap_count> gap_counts(const std::map<std::string, std::size_t>& m) {
    std::vector<gap_count> v;
    for (const auto& [k, n] : m) v.push_back({k, n});
    std::stable_sort(v.begin(), v.end(), [](const gap_count& a, const gap_count& b) { return a.count > b.count; });
    return v;
}

inline bool gap_term_ok(const std::string& t) {
    if (t.size() < 2) return false;
    return std::any_of(t.begin(), t.end(), [](char c) { return !(c >= '0' && c <= '9'); });
}

}  // namespace detail

/**
 * @brief Clusters gap signals already embedded (row i of `vectors` = `signals[i].text()`) and
 * ranks the clusters.
 *
 * @param signals from `collect_gap_signals` (or made by hand).
 * @param vectors one row per signal (any dimension >= 1; rows are L2-normalised here).
 * @param config validated here.
 * @param encoder_name recorded in the report.
 * @param watermark recorded in the report (the largest annotation seq read).
 * @returns The report: the best `max_clusters` clusters of at least `min_cluster_size` signals,
 *          by score (ties: larger first, then earlier first member). Deterministic.
 * @throws config_error for invalid settings; dimension_error when `vectors` does not have one
 *         finite row per signal.
 * @note Thread safety: a pure function.
 */
inline gap_report build_gap_report(const std::vector<gap_signal>& signals, row_matrix vectors,
                                   const gap_report_config& config = {}, std::string encoder_name = "",
                                   std::int64_t watermark = 0) {
    config.validate();
    if (static_cast<std::size_t>(vectors.rows()) != signals.size() || (vectors.cols() == 0 && !signals.empty()))
        throw dimension_error("build_gap_report: vectors have the wrong shape (got " + std::to_string(vectors.rows()) +
                              " x " + std::to_string(vectors.cols()) + ", expected " + std::to_string(signals.size()) +
                              " x dim with dim >= 1)");
    if (!vectors.allFinite())
        throw dimension_error("build_gap_report: vectors hold NaN or inf (expected finite values)");
    gap_report r;
    r.config = config;
    r.encoder = std::move(encoder_name);
    r.dim = static_cast<std::size_t>(vectors.cols());
    r.signals = signals.size();
    r.watermark = std::max(watermark, config.since);
    for (const auto& s : signals) {
        (s.kind == gap_signal_kind::missing_knowledge ? r.missing_knowledge_signals : r.no_relevant_signals)++;
        r.now_ms = std::max(r.now_ms, s.timestamp_ms);
        r.watermark = std::max(r.watermark, s.seq);
    }
    if (config.now_ms > 0) r.now_ms = config.now_ms;
    if (signals.empty()) return r;

    detail::normalize_rows(vectors);
    if (config.center) detail::center_rows(vectors);
    auto groups = detail::cluster_leader_average_link(vectors, config.leader_threshold, config.similarity_threshold);

    // Terms of every signal (lower-cased, no stop words, unstemmed) for tf-idf.
    const analyzer terms_of(analyzer_config{true, true, false, "english"});
    std::vector<std::vector<std::string>> terms(signals.size());
    std::map<std::string, std::size_t> df_all;
    for (std::size_t i = 0; i < signals.size(); ++i) {
        std::set<std::string> seen;
        terms_of.for_each_term(signals[i].text(), [&](std::string_view t) {
            std::string s(t);
            if (detail::gap_term_ok(s)) seen.insert(std::move(s));
        });
        terms[i].assign(seen.begin(), seen.end());
        for (const auto& t : terms[i]) ++df_all[t];
    }

    const double half_life_ms = config.half_life_days * 86400000.0;
    const double n_all = static_cast<double>(signals.size());
    std::vector<gap_cluster> clusters;
    for (const auto& g : groups) {
        if (g.size() < config.min_cluster_size) continue;
        ++r.clusters_found;
        r.clustered_signals += g.size();
        gap_cluster c;
        c.size = g.size();
        c.share = static_cast<double>(g.size()) / n_all;
        Eigen::RowVectorXf centroid = Eigen::RowVectorXf::Zero(vectors.cols());
        for (std::size_t i : g) centroid += vectors.row(static_cast<Eigen::Index>(i));
        const float cn = centroid.norm();
        if (cn > 0.0f) centroid /= cn;
        std::vector<std::pair<double, std::size_t>> by_sim;
        std::set<std::string> cases;
        std::map<std::string, std::size_t> selected, sources, tf;
        c.first_seen_ms = signals[g.front()].timestamp_ms;
        c.last_seen_ms = c.first_seen_ms;
        double cohesion = 0.0;
        for (std::size_t i : g) {
            const gap_signal& s = signals[i];
            const double sim = static_cast<double>(vectors.row(static_cast<Eigen::Index>(i)).dot(centroid));
            cohesion += sim;
            by_sim.emplace_back(sim, i);
            (s.kind == gap_signal_kind::missing_knowledge ? c.missing_knowledge : c.no_relevant)++;
            const double w = s.kind == gap_signal_kind::missing_knowledge ? 1.0 : config.no_relevant_weight;
            const double age = static_cast<double>(std::max<std::int64_t>(0, r.now_ms - s.timestamp_ms));
            c.score += w * std::exp2(-age / half_life_ms);
            c.first_seen_ms = std::min(c.first_seen_ms, s.timestamp_ms);
            c.last_seen_ms = std::max(c.last_seen_ms, s.timestamp_ms);
            if (cases.insert(s.case_id).second && config.include_members) c.case_ids.push_back(s.case_id);
            if (config.include_members) c.impression_ids.push_back(s.impression_id);
            for (const auto& d : s.selected) ++selected[d];
            for (const auto& d : std::set<std::string>(s.suggested_sources.begin(), s.suggested_sources.end())) ++sources[d];
            for (const auto& t : terms[i]) ++tf[t];
        }
        c.distinct_cases = cases.size();
        c.cohesion = cohesion / static_cast<double>(g.size());
        c.selected_docs = detail::gap_counts(selected);
        c.suggested_sources = detail::gap_counts(sources);
        for (const auto& [t, n] : tf) {
            const double w = static_cast<double>(n) / static_cast<double>(g.size()) *
                             std::log(n_all / static_cast<double>(df_all.at(t)));
            if (w > 0.0) c.top_terms.push_back({t, w});
        }
        std::stable_sort(c.top_terms.begin(), c.top_terms.end(),
                         [](const gap_term& a, const gap_term& b) { return a.weight > b.weight; });
        if (c.top_terms.size() > config.top_terms) c.top_terms.resize(config.top_terms);
        std::stable_sort(by_sim.begin(), by_sim.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        std::set<std::string> rep_cases;
        for (const auto& [sim, i] : by_sim) {
            if (c.representatives.size() >= config.representatives) break;
            const gap_signal& s = signals[i];
            if (!rep_cases.insert(s.case_id).second) continue;  // one per case
            c.representatives.push_back({s.impression_id, s.case_id, s.query, s.kind, s.descriptions, s.timestamp_ms, sim});
        }
        clusters.push_back(std::move(c));
    }
    // groups are ordered by first member, so stable sorting keeps that as the last tie-break
    std::stable_sort(clusters.begin(), clusters.end(), [](const gap_cluster& a, const gap_cluster& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.size > b.size;
    });
    if (config.max_clusters > 0 && clusters.size() > config.max_clusters) clusters.resize(config.max_clusters);
    for (std::size_t k = 0; k < clusters.size(); ++k) clusters[k].rank = k + 1;
    r.clusters = std::move(clusters);
    return r;
}

/**
 * @brief Embeds the signals with `encoder` (batches of `config.batch_size`) and clusters them:
 * `build_gap_report(signals, vectors, ...)`.
 * @tparam Encoder an encoder (see concepts.hpp), e.g. `hashed_encoder` or `callback_encoder`.
 * @throws config_error for invalid settings; dimension_error when the encoder returns the wrong
 *         shape; whatever the encoder throws.
 */
template <class Encoder, std::enable_if_t<!std::is_base_of<Eigen::EigenBase<Encoder>, Encoder>::value, int> = 0>
gap_report build_gap_report(const std::vector<gap_signal>& signals, const Encoder& encoder,
                            const gap_report_config& config = {}, std::string encoder_name = "",
                            std::int64_t watermark = 0) {
    require_encoder<Encoder>();
    config.validate();
    const auto dim = static_cast<Eigen::Index>(encoder.dim());
    row_matrix x(static_cast<Eigen::Index>(signals.size()), dim);
    for (std::size_t start = 0; start < signals.size(); start += config.batch_size) {
        const std::size_t end = std::min(signals.size(), start + config.batch_size);
        std::vector<std::string> texts;
        for (std::size_t i = start; i < end; ++i) texts.push_back(signals[i].text());
        const row_matrix part = encoder.encode(texts);
        if (static_cast<std::size_t>(part.rows()) != texts.size() || part.cols() != dim)
            throw dimension_error("build_gap_report: the encoder returned the wrong shape (got " +
                                  std::to_string(part.rows()) + " x " + std::to_string(part.cols()) + ", expected " +
                                  std::to_string(texts.size()) + " x " + std::to_string(dim) + ")");
        x.middleRows(static_cast<Eigen::Index>(start), part.rows()) = part;
    }
    return build_gap_report(signals, std::move(x), config, std::move(encoder_name), watermark);
}

/**
 * @brief The whole report from a store: `collect_gap_signals` then `build_gap_report`.
 *
 * @code
 * aitl::sqlite_store store("feedback.db");
 * aitl::gap_report_config cfg; cfg.max_clusters = 5;
 * aitl::gap_report rep = aitl::make_gap_report(store, aitl::hashed_encoder{}, cfg, "hashed");
 * std::cout << aitl::to_markdown(rep);
 * @endcode
 */
template <class Store, class Encoder>
gap_report make_gap_report(const Store& store, const Encoder& encoder, const gap_report_config& config = {},
                           std::string encoder_name = "") {
    config.validate();
    std::int64_t watermark = 0;
    const auto signals = collect_gap_signals(store, config.since, config.include_no_relevant, &watermark);
    return build_gap_report(signals, encoder, config, std::move(encoder_name), watermark);
}

namespace detail {
inline std::string gap_time(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
#if defined(_WIN32)
    gmtime_s(&tm, &t);
#else
    gmtime_r(&t, &tm);
#endif
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}
// Untrusted text as one line of inert Markdown: line breaks become " / ", the text is cut to
// `max` bytes at a UTF-8 boundary (keeping the end when `tail`: the last turn of a conversation
// is the customer's question), escaped (escape_markdown), and marked cut with U+2026 (not
// "...": after "www" GFM would start a link).
inline std::string gap_inline(const std::string& s, std::size_t max = 160, bool tail = false) {
    std::string one;
    for (char ch : s) {
        if (ch == '\n' || ch == '\r') {
            if (!one.empty() && one.back() != ' ') one += " / ";
        } else {
            one += ch;
        }
    }
    if (one.size() > max && tail) {
        std::size_t n = one.size() - max;
        while (n < one.size() && (static_cast<unsigned char>(one[n]) & 0xC0) == 0x80) ++n;
        return "\xE2\x80\xA6" + escape_markdown(one.substr(n));
    }
    if (one.size() > max) {
        std::size_t n = max;
        while (n > 0 && (static_cast<unsigned char>(one[n]) & 0xC0) == 0x80) --n;
        return escape_markdown(one.substr(0, n)) + "\xE2\x80\xA6";
    }
    return escape_markdown(one);
}
inline std::string gap_fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}
}  // namespace detail

/// @returns The report as Markdown: a summary, a table of the clusters, then one section per
/// cluster (counts, dates in UTC, top terms, suggested sources, hand-selected documents,
/// representative cases). Every text that comes from the store or the caller (queries, flag
/// descriptions, case, impression and document ids, suggested sources, terms, the encoder name)
/// is put on one line, shortened and escaped with `escape_markdown`, so the Markdown stays inert
/// also when rendered to HTML (no HTML, link, image, heading or table break from the data).
inline std::string to_markdown(const gap_report& r) {
    using detail::gap_fixed;
    using detail::gap_inline;
    std::string md = "# Knowledge-gap report\n\n";
    md += std::to_string(r.signals) + " gap signals (" + std::to_string(r.missing_knowledge_signals) +
          " missing-knowledge flags, " + std::to_string(r.no_relevant_signals) +
          " impressions with nothing relevant shown) after annotation seq " + std::to_string(r.config.since) +
          " (watermark " + std::to_string(r.watermark) + "); " + std::to_string(r.clusters_found) + " clusters of at least " +
          std::to_string(r.config.min_cluster_size) + " signals hold " + std::to_string(r.clustered_signals) +
          "; encoder " + (r.encoder.empty() ? std::string("?") : gap_inline(r.encoder, 80)) + " (" + std::to_string(r.dim) +
          " dims); score half-life " + gap_fixed(r.config.half_life_days, 1) + " days.\n\n";
    if (r.clusters.empty()) return md + "No clusters.\n";
    md += "| # | score | signals | share | cases | flags | first seen (UTC) | last seen (UTC) | top terms |\n";
    md += "|---|---|---|---|---|---|---|---|---|\n";
    auto terms = [](const gap_cluster& c, std::size_t k) {
        std::string s;
        for (std::size_t i = 0; i < c.top_terms.size() && i < k; ++i) s += (i ? ", " : "") + c.top_terms[i].term;
        return s;
    };
    for (const auto& c : r.clusters)
        md += "| " + std::to_string(c.rank) + " | " + gap_fixed(c.score, 2) + " | " + std::to_string(c.size) + " | " +
              gap_fixed(100.0 * c.share, 1) + "% | " + std::to_string(c.distinct_cases) + " | " +
              std::to_string(c.missing_knowledge) + " | " + detail::gap_time(c.first_seen_ms) + " | " +
              detail::gap_time(c.last_seen_ms) + " | " + gap_inline(terms(c, 5)) + " |\n";
    for (const auto& c : r.clusters) {
        md += "\n## " + std::to_string(c.rank) + ". " + gap_inline(terms(c, 3)) + "\n\n";
        md += "- signals: " + std::to_string(c.size) + " (" + gap_fixed(100.0 * c.share, 1) + "%), distinct cases " +
              std::to_string(c.distinct_cases) + ", flags " + std::to_string(c.missing_knowledge) +
              ", nothing relevant shown " + std::to_string(c.no_relevant) + ", cohesion " + gap_fixed(c.cohesion, 2) + "\n";
        md += "- seen: " + detail::gap_time(c.first_seen_ms) + " to " + detail::gap_time(c.last_seen_ms) +
              " UTC; score " + gap_fixed(c.score, 2) + "\n";
        if (!c.top_terms.empty()) md += "- top terms: " + gap_inline(terms(c, c.top_terms.size()), 400) + "\n";
        auto counts = [&](const char* what, const std::vector<gap_count>& v) {
            if (v.empty()) return;
            md += std::string("- ") + what + ": ";
            for (std::size_t i = 0; i < v.size() && i < 5; ++i)
                md += (i ? ", " : "") + gap_inline(v[i].value, 80) + " (" + std::to_string(v[i].count) + ")";
            md += "\n";
        };
        counts("suggested sources", c.suggested_sources);
        counts("documents agents selected by hand", c.selected_docs);
        md += "- representative cases:\n";
        for (const auto& e : c.representatives) {
            md += "  - case " + gap_inline(e.case_id, 120) + " (" + gap_inline(e.impression_id, 120) + ", " +
                  std::string(to_string(e.kind)) + "): " + gap_inline(e.query, 200, true) + "\n";
            for (const auto& d : e.descriptions) md += "    - flag: " + gap_inline(d, 240) + "\n";
        }
    }
    return md;
}

}  // namespace aitl
